"""The demo CT series: an HU phantom of the anterior chest, one dataset per slice.

Pixel values are int16 with ``RescaleSlope`` 1 and ``RescaleIntercept`` -1024. For
feet-first supine the row direction is -x (ImageOrientationPatient -1\\0\\0\\0\\1\\0),
so the slice normal points to the feet; ``reversed_order`` numbers instances from the
top slice down.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imncohort.demo.dataset import StudyInfo, new_dataset
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
    datasets = []
    for j, z in enumerate(g.z_positions):
        ds = new_dataset(
            plan,
            study,
            sop_class_uid=CTImageStorage,
            sop_instance_uid=sop_instance_uids[j],
            modality="CT",
            series_instance_uid=series_instance_uid,
            series_number=2,
            series_description="CHEST AXIAL C+",
            transfer_syntax_uid=syntax,
        )
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.PositionReferenceIndicator = ""
        ds.InstanceNumber = (n - j) if plan.reversed_order else (j + 1)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.PatientPosition = g.patient_position
        ds.ImagePositionPatient = [g.x_first, g.y_first, z]
        ds.ImageOrientationPatient = iop
        ds.PixelSpacing = [g.pixel_spacing_row, g.pixel_spacing_col]
        ds.SliceThickness = g.slice_spacing
        ds.SliceLocation = z
        ds.KVP = 120
        ds.Rows, ds.Columns = g.rows, g.columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = RESCALE_INTERCEPT
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        stored = hu_slice(phantom, z, rng) - RESCALE_INTERCEPT
        ds.PixelData = stored.astype("<i2").tobytes()
        datasets.append(ds)
    return datasets
