"""The demo DICOM SEG (highdicom, BINARY): one segment per ROI, labels are the names."""

from __future__ import annotations

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from imncohort.demo.dataset import StudyInfo
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
    pixels = np.stack([roi_mask(phantom, roi) for roi in rois], axis=-1).astype(np.uint8)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=roi.name,
            segmented_property_category=PROPERTY[roi.kind][0],
            segmented_property_type=PROPERTY[roi.kind][1],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, roi in enumerate(rois, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=ct_datasets,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_instance_uid,
        series_number=91,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer="imncohort demo",
        manufacturer_model_name="phantom",
        software_versions="1",
        device_serial_number="0",
        series_description="IMN SEGMENTATION",
    )
    for keyword in ("ContentDate", "SeriesDate", "InstanceCreationDate"):
        setattr(seg, keyword, study.study_date)
    for keyword in ("ContentTime", "SeriesTime", "InstanceCreationTime"):
        setattr(seg, keyword, "100000")
    return seg
