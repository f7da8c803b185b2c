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
from imncohort.demo.dicom_builder import set_image_plane, set_pixels
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
        if modality == "US":
            set_pixels(ds, np.full((SIZE, SIZE), 60, dtype=np.uint8))
        else:
            set_image_plane(
                ds,
                position_lps=[-80.0, -80.0, -100.0 + 5.0 * j],
                orientation=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                pixel_spacing=[5.0, 5.0],
                slice_thickness=5.0,
                frame_of_reference_uid=frame_of_reference_uid,
            )
            set_pixels(ds, np.full((SIZE, SIZE), 100, dtype=np.uint16))
        datasets.append(ds)
    return datasets
