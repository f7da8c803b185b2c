"""Records and column lists of the index (see docs/ARCHITECTURE.md, "index tables")."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from imncohort.dicom.sop import (
    PDF_SOP_CLASS,
    RTSTRUCT_SOP_CLASS,
    SEG_SOP_CLASS_PREFIX,
    SR_SOP_CLASS_PREFIX,
    seg_sop_classes,
)

# The index tables' columns are defined once, in imncohort.schemas.index.
from imncohort.schemas.index import (  # noqa: F401 (re-exported)
    FILE_COLUMNS,
    FLOAT_COLUMNS,
    IDENTITY_COLUMNS,
    INSTANCE_COLUMNS,
    INT_COLUMNS,
    MANIFEST_COLUMNS,
    SERIES_COLUMNS,
    STUDY_COLUMNS,
)

STAGE = "index"


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
    from pydicom.uid import UID  # pydicom only once a file is read

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
