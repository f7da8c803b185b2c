"""Tiny MR, US and PET image series of the demo's non-CT studies (32 x 32 pixels)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    MRImageStorage,
    PositronEmissionTomographyImageStorage,
    UltrasoundImageStorage,
)

from imncohort.demo.dataset import StudyInfo, new_dataset
from imncohort.demo.plan import PatientPlan

SOP_CLASS = {
    "MR": MRImageStorage,
    "US": UltrasoundImageStorage,
    "PT": PositronEmissionTomographyImageStorage,
}
N_IMAGES = {"MR": 2, "US": 1, "PT": 2}
SIZE = 32


def small_series(
    plan: PatientPlan,
    study: StudyInfo,
    *,
    series_instance_uid: str,
    frame_of_reference_uid: str,
    sop_instance_uids: list[str],
) -> list[Dataset]:
    """Datasets of a tiny series of the study's modality (len(sop_instance_uids) images)."""
    modality = study.modality
    datasets = []
    for j, uid in enumerate(sop_instance_uids):
        ds = new_dataset(
            plan,
            study,
            sop_class_uid=SOP_CLASS[modality],
            sop_instance_uid=uid,
            modality=modality,
            series_instance_uid=series_instance_uid,
            series_number=3,
            series_description=f"{modality} LOCALIZER",
        )
        ds.InstanceNumber = j + 1
        ds.Rows = ds.Columns = SIZE
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        if modality == "US":
            ds.BitsAllocated = ds.BitsStored = 8
            ds.HighBit = 7
            ds.PixelRepresentation = 0
            ds.PixelData = np.full((SIZE, SIZE), 60, dtype=np.uint8).tobytes()
        else:
            ds.FrameOfReferenceUID = frame_of_reference_uid
            ds.ImagePositionPatient = [-80.0, -80.0, -100.0 + 5.0 * j]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [5.0, 5.0]
            ds.SliceThickness = 5.0
            ds.BitsAllocated = ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 0
            ds.PixelData = np.full((SIZE, SIZE), 100, dtype="<u2").tobytes()
        datasets.append(ds)
    return datasets
