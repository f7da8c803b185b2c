"""DICOM dataset skeletons shared by the demo writers (patient, study, series modules)."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from imncohort.demo.plan import PatientPlan


@dataclass(frozen=True)
class StudyInfo:
    """One study of a demo patient."""

    study_instance_uid: str
    modality: str
    study_date: str
    accession: str
    description: str
    study_id: str


def new_dataset(
    plan: PatientPlan,
    study: StudyInfo,
    *,
    sop_class_uid: str,
    sop_instance_uid: str,
    modality: str,
    series_instance_uid: str,
    series_number: int,
    series_description: str,
    transfer_syntax_uid: str = ExplicitVRLittleEndian,
) -> Dataset:
    """Return a dataset with file meta, patient, study and series modules filled.

    All dates are the study date and all times ``100000``; nothing reads the clock.
    """
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = UID(transfer_syntax_uid)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "IMNCOHORT_DEMO"
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate = study.study_date
    ds.InstanceCreationTime = "100000"
    ds.StudyDate = study.study_date
    ds.SeriesDate = study.study_date
    ds.ContentDate = study.study_date
    ds.StudyTime = "100000"
    ds.SeriesTime = "100000"
    ds.ContentTime = "100000"
    ds.AccessionNumber = study.accession
    ds.Modality = modality
    ds.Manufacturer = "imncohort demo"
    ds.InstitutionName = "Demo Hospital"
    ds.ReferringPhysicianName = "Demo^Referrer"
    ds.StudyDescription = study.description
    ds.SeriesDescription = series_description
    ds.PatientName = plan.patient_name
    ds.PatientID = plan.patient_id
    ds.PatientBirthDate = f"{1950 + plan.index % 30}0101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study.study_instance_uid
    ds.SeriesInstanceUID = series_instance_uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series_number
    return ds
