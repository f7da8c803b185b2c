"""The demo Basic Text SR: CONTAINER root with TEXT items named History/Findings/Impression."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage

from imncohort.demo.dataset import StudyInfo, new_dataset
from imncohort.demo.plan import PatientPlan
from imncohort.demo.reports import Report

#: DICOM (DCM) codes of the section concept names.
SECTION_CODES = {
    "Indication": "121109",
    "History": "121060",
    "Findings": "121070",
    "Impression": "121073",
}
#: Study descriptions whose keywords give the modality of a report-only study.
STUDY_DESCRIPTIONS = {
    "CT": "CT CHEST WITH CONTRAST",
    "MR": "MRI BREAST BILATERAL",
    "US": "US BREAST AND AXILLA",
    "PT": "PET-CT WHOLE BODY",
}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def sr_dataset(
    plan: PatientPlan,
    study: StudyInfo,
    report: Report,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    character_set: str,
) -> Dataset:
    """Build a Basic Text SR holding ``report``.

    Parameters
    ----------
    character_set : str
        Specific Character Set, e.g. ``ISO_IR 100``, ``ISO_IR 192`` or ``GB18030``.
    """
    ds = new_dataset(
        plan,
        study,
        sop_class_uid=BasicTextSRStorage,
        sop_instance_uid=sop_instance_uid,
        modality="SR",
        series_instance_uid=series_instance_uid,
        series_number=900,
        series_description="REPORT",
    )
    ds.SpecificCharacterSet = character_set
    ds.InstanceNumber = 1
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    items = []
    for name, text in report.section_texts():
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.ConceptNameCodeSequence = Sequence([_code(SECTION_CODES[name], "DCM", name)])
        item.TextValue = text
        items.append(item)
    ds.ContentSequence = Sequence(items)
    return ds
