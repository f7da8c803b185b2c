"""The SOP classes the pipeline recognises, from pydicom's and highdicom's constants.

The segmentation classes form one list (:func:`seg_sop_classes`): highdicom's pixel
segmentation classes (Segmentation, Label Map Segmentation) plus the segmentation
classes without a voxel grid (:data:`NON_PIXEL_SEG_SOP_CLASSES`), which the index keeps
as ``seg`` so that the measure stage lists them in ``errors.csv`` instead of dropping
them as ``other``.
"""

from __future__ import annotations

import functools

# The UIDs are written out (PS3.6 annex A; the values of pydicom.uid's constants, checked
# by tests/dicom) so that planning an index does not import pydicom.
RTSTRUCT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"  # RT Structure Set Storage
PDF_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.104.1"  # Encapsulated PDF Storage
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"  # Segmentation Storage
SURFACE_SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.5"  # Surface Segmentation Storage
# Not named in pydicom 3.0.2's UID dictionary (a DICOM 2024 addition); Label Map
# Segmentation (...66.7) comes from highdicom's list below.
HEIGHTMAP_SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.8"
# Every segmentation storage class shares this root (PS3.4 annex B.5).
SEG_SOP_CLASS_PREFIX = SEGMENTATION_SOP_CLASS.rsplit(".", 1)[0] + "."
SR_SOP_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."

NON_PIXEL_SEG_SOP_CLASSES: dict[str, str] = {
    SURFACE_SEG_SOP_CLASS: "Surface Segmentation",
    HEIGHTMAP_SEG_SOP_CLASS: "Heightmap Segmentation",
}


@functools.lru_cache(maxsize=1)
def seg_sop_classes() -> frozenset[str]:
    """Every SOP Class UID indexed as ``seg``.

    highdicom's ``highdicom.seg.SOP_CLASS_UIDS`` (Segmentation and Label Map
    Segmentation in highdicom 0.28) plus :data:`NON_PIXEL_SEG_SOP_CLASSES`. highdicom is
    imported on the first call only (the index meets a SEG rarely).
    """
    from highdicom.seg import SOP_CLASS_UIDS

    return frozenset(SOP_CLASS_UIDS) | frozenset(NON_PIXEL_SEG_SOP_CLASSES)
