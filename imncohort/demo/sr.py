"""The demo Basic Text SR: CONTAINER root with TEXT items named History/Findings/Impression."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import BasicTextSRStorage

from imncohort.demo.dataset import StudyInfo, new_dataset
from imncohort.demo.dicom_builder import code_item, sr_document, text_item
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
        character_set=character_set,
    )
    ds.InstanceNumber = 1
    items = [
        text_item(code_item(SECTION_CODES[name], "DCM", name), text)
        for name, text in report.section_texts()
    ]
    title = code_item("18748-4", "LN", "Diagnostic Imaging Report")
    return sr_document(ds, title, items, procedure_sequences=True)
