"""The demo RTSTRUCT: closed planar contours (and POINT vessels) in LPS mm.

Ellipses and circles are polygons of 64 or 128 vertices (a multiple of 4, so the
polygon axes are the analytic ones and its shoelace centroid is the centre).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import CTImageStorage, RTStructureSetStorage

from imncohort.demo.dataset import StudyInfo, new_dataset
from imncohort.demo.phantom import Phantom, Roi
from imncohort.demo.shapes import Ellipsoid, Rib, Sternum, Tube

CONTOUR_DATA = Tag(0x3006, 0x0050)
STUDY_COMPONENT_MANAGEMENT = "1.2.840.10008.3.1.2.3.1"
INTERPRETED_TYPE = {
    "node": "GTV",
    "vessel": "ORGAN",
    "ctv": "CTV",
    "rib": "ORGAN",
    "sternum": "ORGAN",
    "cartilage": "ORGAN",
}
COLOURS = {
    "node": [255, 0, 0],
    "vessel": [0, 0, 255],
    "ctv": [0, 200, 0],
    "rib": [230, 230, 180],
    "sternum": [200, 200, 150],
    "cartilage": [180, 180, 255],
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


def _image_ref(sop_instance_uid: str) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = sop_instance_uid
    return ref


def _contour(points_xy: np.ndarray, z: float, geometric_type: str, sop_uid: str) -> Dataset:
    item = Dataset()
    item.ContourImageSequence = Sequence([_image_ref(sop_uid)])
    item.ContourGeometricType = geometric_type
    item.NumberOfContourPoints = len(points_xy)
    xyz = np.column_stack([points_xy, np.full(len(points_xy), z)])
    item[CONTOUR_DATA] = _raw_ds(CONTOUR_DATA, xyz.ravel())
    return item


def _raw_ds(tag: BaseTag, values: np.ndarray) -> RawDataElement:
    """An explicit-VR DS element from floats (4 decimals), skipping per-value validation.

    Contours hold hundreds of thousands of numbers; building them as raw bytes keeps
    the demo fast, and pydicom decodes them as usual on reading.
    """
    text = "\\".join(f"{v:.4f}" for v in values).encode("ascii")
    if len(text) % 2:
        text += b" "
    return RawDataElement(tag, "DS", len(text), text, 0, False, True)


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
    ds = new_dataset(
        phantom.plan,
        study,
        sop_class_uid=RTStructureSetStorage,
        sop_instance_uid=sop_instance_uid,
        modality="RTSTRUCT",
        series_instance_uid=series_instance_uid,
        series_number=90,
        series_description="RT STRUCTURES",
    )
    ds.StructureSetLabel = "IMN_PLAN"
    ds.StructureSetDate = study.study_date
    ds.StructureSetTime = "100000"
    ds.InstanceNumber = 1

    series_ref = Dataset()
    series_ref.SeriesInstanceUID = ct_series_instance_uid
    series_ref.ContourImageSequence = Sequence([_image_ref(u) for u in ct_sop_instance_uids])
    study_ref = Dataset()
    study_ref.ReferencedSOPClassUID = STUDY_COMPONENT_MANAGEMENT
    study_ref.ReferencedSOPInstanceUID = study.study_instance_uid
    study_ref.RTReferencedSeriesSequence = Sequence([series_ref])
    frame_ref = Dataset()
    frame_ref.FrameOfReferenceUID = frame_of_reference_uid
    frame_ref.RTReferencedStudySequence = Sequence([study_ref])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame_ref])

    roi_items, contour_items, observation_items = [], [], []
    z_positions = phantom.geometry.z_positions
    for number, roi in enumerate(rois, start=1):
        item = Dataset()
        item.ROINumber = number
        item.ReferencedFrameOfReferenceUID = frame_of_reference_uid
        item.ROIName = roi.name
        item.ROIGenerationAlgorithm = "MANUAL"
        roi_items.append(item)

        contours = []
        for j, z in enumerate(z_positions):
            if roi.every_other and j % 2 == 1:
                continue
            if roi.point:
                tube = roi.shapes[0]
                assert isinstance(tube, Tube)
                if tube.present(z):
                    centre = np.array([tube.center_at(z)])
                    contours.append(_contour(centre, z, "POINT", ct_sop_instance_uids[j]))
                continue
            for outline in outlines(roi, z):
                contours.append(_contour(outline, z, "CLOSED_PLANAR", ct_sop_instance_uids[j]))
        roi_contour = Dataset()
        roi_contour.ROIDisplayColor = COLOURS[roi.kind]
        roi_contour.ReferencedROINumber = number
        roi_contour.ContourSequence = Sequence(contours)
        contour_items.append(roi_contour)

        observation = Dataset()
        observation.ObservationNumber = number
        observation.ReferencedROINumber = number
        observation.RTROIInterpretedType = "MARKER" if roi.point else INTERPRETED_TYPE[roi.kind]
        observation.ROIInterpreter = ""
        observation_items.append(observation)
    ds.StructureSetROISequence = Sequence(roi_items)
    ds.ROIContourSequence = Sequence(contour_items)
    ds.RTROIObservationsSequence = Sequence(observation_items)
    return ds
