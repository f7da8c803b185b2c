"""Records and column lists of the index (see docs/ARCHITECTURE.md, "index tables")."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydicom.uid import UID

from imncohort.dicom.sop import (
    PDF_SOP_CLASS,
    RTSTRUCT_SOP_CLASS,
    SEG_SOP_CLASS_PREFIX,
    SR_SOP_CLASS_PREFIX,
    seg_sop_classes,
)

STAGE = "index"

INSTANCE_COLUMNS = [
    "path",
    "size",
    "mtime_ns",
    "sop_class_uid",
    "sop_instance_uid",
    "modality",
    "kind",
    "patient_key",
    "study_key",
    "study_instance_uid",
    "series_instance_uid",
    "frame_of_reference_uid",
    "study_date",
    "study_description",
    "series_description",
    "series_number",
    "instance_number",
    "rows",
    "columns",
    "pixel_spacing_row",
    "pixel_spacing_col",
    "slice_thickness",
    "ipp_x",
    "ipp_y",
    "ipp_z",
    "iop",
    "patient_position",
    "specific_character_set",
    "transfer_syntax_uid",
]
INT_COLUMNS = ["series_number", "instance_number", "rows", "columns"]
FLOAT_COLUMNS = [
    "pixel_spacing_row",
    "pixel_spacing_col",
    "slice_thickness",
    "ipp_x",
    "ipp_y",
    "ipp_z",
]
SERIES_COLUMNS = [
    "series_key",
    "series_instance_uid",
    "study_instance_uid",
    "study_key",
    "patient_key",
    "modality",
    "kind",
    "frame_of_reference_uid",
    "n_instances",
    "rows",
    "columns",
    "pixel_spacing_row",
    "pixel_spacing_col",
    "slice_thickness",
    "slice_spacing",
    "iop",
    "normal_x",
    "normal_y",
    "normal_z",
    "position_min",
    "position_max",
    "regular_spacing",
    "has_geometry",
    "paths",
    "patient_position",
]
STUDY_COLUMNS = [
    "study_instance_uid",
    "study_key",
    "patient_key",
    "study_date",
    "study_description",
    "modalities",
    "n_series",
    "n_instances",
    "n_reports",
]
FILE_COLUMNS = ["path", "size", "mtime_ns", "kind"]
IDENTITY_COLUMNS = [
    "patient_key",
    "study_key",
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "AccessionNumber",
    "StudyInstanceUID",
]
MANIFEST_COLUMNS = ["path", "size", "mtime_ns", "shard"]

# Reasons shown in errors.csv.
REASON_NOT_DICOM = "not a DICOM file (no DICM marker and not parseable)"
REASON_EMPTY = "empty file (0 bytes)"
REASON_PERMISSION = "permission denied"
REASON_VANISHED = "file vanished between walk and read"
REASON_TRUNCATED = "truncated DICOM: {detail}"
REASON_DICOMDIR_MISSING = "DICOMDIR entry points at a missing file"

AUX_SUFFIXES = {
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".json": "json",
    ".csv": "table",
    ".xlsx": "table",
    ".pdf": "pdf",
}


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One walked file: ``path`` (POSIX, relative to the export), ``size`` (bytes), ``mtime_ns``."""

    path: str
    size: int
    mtime_ns: int


@functools.lru_cache(maxsize=256)
def kind_of_sop_class(sop_class_uid: str) -> str:
    """Return the index ``kind`` of a SOP Class UID.

    ``rtstruct``, ``seg`` (every segmentation storage class,
    :func:`imncohort.dicom.sop.seg_sop_classes`),
    ``sr`` (every SR storage class), ``pdf`` (Encapsulated PDF),
    ``image`` (every storage class whose registered name holds "Image Storage"),
    else ``other``.
    """
    if sop_class_uid == RTSTRUCT_SOP_CLASS:
        return "rtstruct"
    if sop_class_uid.startswith(SEG_SOP_CLASS_PREFIX) and sop_class_uid in seg_sop_classes():
        return "seg"
    if sop_class_uid.startswith(SR_SOP_CLASS_PREFIX):
        return "sr"
    if sop_class_uid == PDF_SOP_CLASS:
        return "pdf"
    name = UID(sop_class_uid).name if sop_class_uid else ""
    return "image" if "Image Storage" in name else "other"


def aux_kind(name: str) -> str | None:
    """Return the ``files.parquet`` kind of a file name, or None when it is not an aux file."""
    dot = name.rfind(".")
    if dot < 0:
        return "dicomdir" if name.upper() == "DICOMDIR" else None
    suffix = name[dot:].lower()
    if suffix == ".gz":
        return "nifti" if name.lower().endswith(".nii.gz") else None
    return AUX_SUFFIXES.get(suffix)


def forced_parse_allowed(name: str) -> bool:
    """Whether a file without the DICM marker is worth a forced parse.

    Only extension-less names, ``.dcm`` and names whose last dot-part is a number (UID-like
    PACS file names such as ``1.2.840.113619.2.55.3.12``).
    """
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return True
    return suffix.lower() in ("dcm", "dicom", "ima") or suffix.isdigit()
