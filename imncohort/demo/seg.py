"""The demo DICOM SEG (highdicom, BINARY): one segment per ROI, labels are the names."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from imncohort.demo.dataset import TIME, StudyInfo
from imncohort.demo.dicom_builder import SegmentInfo, segmentation
from imncohort.demo.masks import roi_mask
from imncohort.demo.phantom import Phantom, Roi

PROPERTY = {
    "node": (codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.LymphNode),
    "vessel": (codes.SCT.AnatomicalStructure, codes.SCT.BloodVessel),
    "ctv": (codes.SCT.Tissue, codes.SCT.ClinicalTargetVolume),
    "rib": (codes.SCT.AnatomicalStructure, codes.SCT.Rib),
    "sternum": (codes.SCT.AnatomicalStructure, codes.SCT.Sternum),
    "cartilage": (codes.SCT.AnatomicalStructure, codes.SCT.CostalCartilage),
}


def seg_dataset(
    phantom: Phantom,
    rois: list[Roi],
    study: StudyInfo,
    ct_datasets: list[Dataset],
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
) -> Dataset:
    """Build a BINARY Segmentation of ``rois`` on the CT slices (``ct_datasets`` ascending z).

    Dates and times are set to the study's (highdicom would use the clock).
    """
    pixels = np.stack([roi_mask(phantom, roi) for roi in rois], axis=-1)
    segments = [SegmentInfo(roi.name, *PROPERTY[roi.kind]) for roi in rois]
    return segmentation(
        ct_datasets,
        pixels,
        segments,
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=series_instance_uid,
        series_number=91,
        manufacturer="imncohort demo",
        model_name="phantom",
        device_serial_number="0",
        series_description="IMN SEGMENTATION",
        date=study.study_date,
        time=TIME,
    )
