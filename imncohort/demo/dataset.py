"""DICOM dataset skeletons shared by the demo writers (patient, study, series modules)."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from imncohort.demo.dicom_builder import PatientInfo, SeriesInfo, StudyHeader, new_instance
from imncohort.demo.plan import PatientPlan

#: Time of every demo date-time element (nothing reads the clock).
TIME = "100000"
MANUFACTURER = "imncohort demo"
IMPLEMENTATION_VERSION_NAME = "IMNCOHORT_DEMO"


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
    character_set: str = "ISO_IR 100",
) -> Dataset:
    """Return a dataset with file meta, patient, study and series modules filled.

    All dates are the study date and all times ``100000``; nothing reads the clock.
    """
    ds = new_instance(
        sop_class_uid,
        sop_instance_uid,
        patient_info(plan),
        study_header(study),
        SeriesInfo(series_instance_uid, modality, series_number, series_description),
        transfer_syntax_uid=transfer_syntax_uid,
        character_set=character_set,
        implementation_class_uid=PYDICOM_IMPLEMENTATION_UID,
        implementation_version_name=IMPLEMENTATION_VERSION_NAME,
    )
    add_demo_elements(ds, study)
    return ds


def add_demo_elements(ds: Dataset, study: StudyInfo) -> None:
    """Instance, series and content dates and times of the study; manufacturer, institution."""
    for keyword in ("InstanceCreationDate", "SeriesDate", "ContentDate"):
        setattr(ds, keyword, study.study_date)
    for keyword in ("InstanceCreationTime", "SeriesTime", "ContentTime"):
        setattr(ds, keyword, TIME)
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = "Demo Hospital"


def patient_info(plan: PatientPlan) -> PatientInfo:
    """The patient module values of a demo patient."""
    return PatientInfo(plan.patient_name, plan.patient_id, f"{1950 + plan.index % 30}0101", "F")


def study_header(study: StudyInfo) -> StudyHeader:
    """The general study module values of a demo study."""
    return StudyHeader(
        study.study_instance_uid,
        study.study_date,
        TIME,
        study.accession,
        study.study_id,
        study.description,
        "Demo^Referrer",
    )
