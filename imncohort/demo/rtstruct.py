"""The demo RTSTRUCT: closed planar contours (and POINT vessels) in LPS mm.

Ellipses and circles are polygons of 64 or 128 vertices (a multiple of 4, so the
polygon axes are the analytic ones and its shoelace centroid is the centre).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from imncohort.demo.dataset import (
    IMPLEMENTATION_VERSION_NAME,
    TIME,
    StudyInfo,
    add_demo_elements,
    patient_info,
    study_header,
)
from imncohort.demo.dicom_builder import Contour, SeriesInfo, StructureRoi, rtstruct
from imncohort.demo.phantom import Phantom, Roi
from imncohort.demo.shapes import Ellipsoid, Rib, Sternum, Tube

INTERPRETED_TYPE = {
    "node": "GTV",
    "vessel": "ORGAN",
    "ctv": "CTV",
    "rib": "ORGAN",
    "sternum": "ORGAN",
    "cartilage": "ORGAN",
}
COLOURS: dict[str, tuple[int, int, int]] = {
    "node": (255, 0, 0),
    "vessel": (0, 0, 255),
    "ctv": (0, 200, 0),
    "rib": (230, 230, 180),
    "sternum": (200, 200, 150),
    "cartilage": (180, 180, 255),
}


def outlines(roi: Roi, z: float) -> list[np.ndarray]:
    """Closed outlines (each (n, 2) x, y mm) of one ROI on plane ``z``."""
    result = []
    for shape in roi.shapes:
        outline: np.ndarray | None
        if isinstance(shape, Ellipsoid):
            outline = shape.boundary(z, 128 if shape.a > 6.0 else 64)
        elif isinstance(shape, Tube):
            outline = shape.boundary(z, 64)
        elif isinstance(shape, Rib):
            outline = shape.boundary(z)
        elif isinstance(shape, Sternum):
            outline = shape.boundary(z, 64)
        else:  # pragma: no cover - all demo shapes are listed
            raise TypeError(f"unknown shape {shape!r}")
        if outline is not None:
            result.append(outline)
    return result


def rtstruct_dataset(
    phantom: Phantom,
    rois: list[Roi],
    study: StudyInfo,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    ct_series_instance_uid: str,
    frame_of_reference_uid: str,
    ct_sop_instance_uids: list[str],
) -> Dataset:
    """Build the RT Structure Set of ``rois`` on the CT series (slices ascending z)."""
    z_positions = phantom.geometry.z_positions
    structures = []
    for roi in rois:
        contours: list[Contour] = []
        for j, z in enumerate(z_positions):
            if roi.every_other and j % 2 == 1:
                continue
            uid = ct_sop_instance_uids[j]
            if roi.point:
                tube = roi.shapes[0]
                assert isinstance(tube, Tube)
                if tube.present(z):
                    centre = np.array([[*tube.center_at(z), z]])
                    contours.append(Contour(centre, "POINT", uid))
                continue
            for outline in outlines(roi, z):
                xyz = np.column_stack([outline, np.full(len(outline), z)])
                contours.append(Contour(xyz, "CLOSED_PLANAR", uid))
        kind = "MARKER" if roi.point else INTERPRETED_TYPE[roi.kind]
        structures.append(StructureRoi(roi.name, contours, COLOURS[roi.kind], kind))
    ds = rtstruct(
        sop_instance_uid,
        patient_info(phantom.plan),
        study_header(study),
        SeriesInfo(series_instance_uid, "RTSTRUCT", 90, "RT STRUCTURES"),
        frame_of_reference_uid=frame_of_reference_uid,
        rois=structures,
        referenced_series_uid=ct_series_instance_uid,
        referenced_image_uids=ct_sop_instance_uids,
        label="IMN_PLAN",
        date=study.study_date,
        time=TIME,
        implementation_class_uid=PYDICOM_IMPLEMENTATION_UID,
        implementation_version_name=IMPLEMENTATION_VERSION_NAME,
    )
    add_demo_elements(ds, study)
    return ds
