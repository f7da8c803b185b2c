"""The demo CT series: an HU phantom of the anterior chest, one dataset per slice.

Pixel values are int16 with ``RescaleSlope`` 1 and ``RescaleIntercept`` -1024. For
feet-first supine the row direction is -x (ImageOrientationPatient -1\\0\\0\\0\\1\\0),
so the slice normal points to the feet; ``reversed_order`` numbers instances from the
top slice down.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imncohort.demo.dataset import (
    IMPLEMENTATION_VERSION_NAME,
    StudyInfo,
    add_demo_elements,
    patient_info,
    study_header,
)
from imncohort.demo.dicom_builder import SeriesInfo, ct_slice
from imncohort.demo.phantom import Phantom

HU = {
    "air": -1000,
    "fat": -90,
    "muscle": 40,
    "lung": -820,
    "mediastinum": 35,
    "sternum": 420,
    "cartilage": 140,
    "bone": 650,
    "vessel": 280,
    "node": 50,
}
RESCALE_INTERCEPT = -1024


def hu_slice(phantom: Phantom, z: float, rng: np.random.Generator) -> np.ndarray:
    """HU image (rows, columns) of plane ``z`` as int16, with mild Gaussian noise."""
    g = phantom.geometry
    x, y = np.meshgrid(g.x_coords(), g.y_coords())
    y_rib = phantom.sternum.y_center
    curve = 0.0025 * x**2
    hu = np.full(x.shape, HU["air"], dtype=np.float64)
    hu[y >= y_rib - 20.0 + curve] = HU["fat"]
    hu[(y >= y_rib - 12.0 + curve) & (y <= y_rib - 6.0 + curve)] = HU["muscle"]
    deep = y >= phantom.vessels["left"].y + 18.0
    hu[deep & (np.abs(x) >= 20.0)] = HU["lung"]
    hu[deep & (np.abs(x) < 20.0)] = HU["mediastinum"]
    hu[phantom.sternum.contains(x, y, z)] = HU["sternum"]
    for rib in phantom.ribs:
        inside = rib.contains(x, y, z)
        hu[inside & (np.abs(x) < phantom.x_bone)] = HU["cartilage"]
        hu[inside & (np.abs(x) >= phantom.x_bone)] = HU["bone"]
    for tube in phantom.vessels.values():
        hu[tube.contains(x, y, z)] = HU["vessel"]
    for node in phantom.nodes:
        hu[node.shape.contains(x, y, z)] = HU["node"] - (15 if not node.metastatic else 0)
    hu += rng.normal(0.0, 6.0, size=hu.shape)
    return np.round(hu).astype(np.int16)


def ct_datasets(
    phantom: Phantom,
    study: StudyInfo,
    series_instance_uid: str,
    frame_of_reference_uid: str,
    sop_instance_uids: list[str],
    rng: np.random.Generator,
) -> list[Dataset]:
    """One CT dataset per slice, in ascending z order.

    Parameters
    ----------
    phantom : Phantom
        The patient phantom (geometry in LPS mm).
    study : StudyInfo
        The CT study.
    series_instance_uid, frame_of_reference_uid : str
        UIDs of the series.
    sop_instance_uids : list of str
        One UID per slice, ascending z.
    rng : numpy.random.Generator
        Source of the image noise.
    """
    plan, g = phantom.plan, phantom.geometry
    n = len(g.z_positions)
    iop = [float(g.row_dir_x), 0.0, 0.0, 0.0, 1.0, 0.0]
    syntax = ImplicitVRLittleEndian if plan.index % 5 == 4 else ExplicitVRLittleEndian
    patient, header = patient_info(plan), study_header(study)
    series = SeriesInfo(series_instance_uid, "CT", 2, "CHEST AXIAL C+")
    datasets = []
    for j, z in enumerate(g.z_positions):
        stored = hu_slice(phantom, z, rng) - RESCALE_INTERCEPT
        ds = ct_slice(
            sop_instance_uids[j],
            patient,
            header,
            series,
            pixels=stored.astype(np.int16),
            position_lps=[g.x_first, g.y_first, z],
            orientation=iop,
            pixel_spacing=[g.pixel_spacing_row, g.pixel_spacing_col],
            slice_thickness=g.slice_spacing,
            frame_of_reference_uid=frame_of_reference_uid,
            instance_number=(n - j) if plan.reversed_order else (j + 1),
            patient_position=g.patient_position,
            rescale=(RESCALE_INTERCEPT, 1),
            transfer_syntax_uid=syntax,
            implementation_class_uid=PYDICOM_IMPLEMENTATION_UID,
            implementation_version_name=IMPLEMENTATION_VERSION_NAME,
        )
        add_demo_elements(ds, study)
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = z
        ds.KVP = 120
        ds.RescaleType = "HU"
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        datasets.append(ds)
    return datasets
