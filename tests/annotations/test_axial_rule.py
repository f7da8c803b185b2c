"""SEG and NIfTI readers refuse a tilt by the one axial tolerance (geometry.orientation)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
import realdata as rd

from imncohort.annotations.models import SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.nifti import grid_from_affine_ras
from imncohort.annotations.seg import read_seg
from imncohort.dicom.sop import seg_sop_classes
from imncohort.errors import InputError
from imncohort.index.records import kind_of_sop_class


def _tilted_seg(tmp_path: Path, degrees: float) -> tuple[Path, SliceGrid]:
    """highdicom's binary CT SEG with its columns tilted by ``degrees`` about x."""
    seg = rd.read_data("highdicom/seg_image_ct_binary.dcm")
    t = math.radians(degrees)
    shared = seg.SharedFunctionalGroupsSequence[0]
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = [
        1.0,
        0.0,
        0.0,
        0.0,
        math.cos(t),
        math.sin(t),
    ]
    path = tmp_path / "seg.dcm"
    seg.save_as(path)
    zs = sorted(
        {
            float(f.PlanePositionSequence[0].ImagePositionPatient[2])
            for f in seg.PerFrameFunctionalGroupsSequence
        }
    )
    spacing = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
    origins = np.array([[0.0, 0.0, z] for z in zs])
    grid = SliceGrid(
        origins, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), *spacing, seg.Rows, seg.Columns
    )
    return path, grid


@pytest.mark.parametrize("degrees", [1.0, 2.5, 2.6])
def test_tilted_seg_is_refused(tmp_path: Path, degrees: float) -> None:
    path, grid = _tilted_seg(tmp_path, degrees)
    matcher = NameMatcher(rd.config_with_nodes(tmp_path, ["^first segment$"]).names)
    sin = round(math.sin(math.radians(degrees)), 4)
    cos = round(math.cos(math.radians(degrees)), 4)
    with pytest.raises(
        InputError, match=rf"SEG is not axial \(orientation \[1, 0, 0, 0, {cos}, {sin}\]\)"
    ):
        read_seg(path, "seg.dcm", lambda uids, f: ("S", grid), matcher)


def test_seg_within_the_tolerance_is_read(tmp_path: Path) -> None:
    path, grid = _tilted_seg(tmp_path, 0.05)
    matcher = NameMatcher(rd.config_with_nodes(tmp_path, ["^first segment$"]).names)
    roi_set = read_seg(path, "seg.dcm", lambda uids, f: ("S", grid), matcher)
    assert [roi.name for roi in roi_set.rois] == ["first segment"]


def _tilted_affine_ras(degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    affine = np.eye(4)
    affine[:3, 1] = [0.0, math.cos(t), math.sin(t)]
    return affine


@pytest.mark.parametrize("degrees", [1.0, 2.5, 2.6])
def test_tilted_nifti_is_refused(degrees: float) -> None:
    with pytest.raises(
        InputError,
        match=r"NIfTI volume is oblique \(in-plane axes tilted by more than 0.06 degrees\)",
    ):
        grid_from_affine_ras(_tilted_affine_ras(degrees), (4, 4, 4))


def test_nifti_within_the_tolerance_is_read() -> None:
    grid, axes = grid_from_affine_ras(_tilted_affine_ras(0.05), (4, 5, 6))
    assert axes == (0, 1, 2)
    assert (grid.rows, grid.columns, grid.n_slices) == (5, 4, 6)


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
        "1.2.840.10008.5.1.4.1.1.66.7",  # Label Map Segmentation
        "1.2.840.10008.5.1.4.1.1.66.5",  # Surface Segmentation (no voxels: listed in errors)
        "1.2.840.10008.5.1.4.1.1.66.8",  # Heightmap Segmentation (no voxels)
    ],
)
def test_every_segmentation_class_is_indexed_as_seg(uid: str) -> None:
    assert uid in seg_sop_classes()
    assert kind_of_sop_class(uid) == "seg"


def test_labelmap_file_sop_class_is_recognised() -> None:
    ds = rd.read_data("highdicom/seg_image_sm_control_labelmap.dcm")
    assert isinstance(ds, pydicom.Dataset)
    assert kind_of_sop_class(str(ds.SOPClassUID)) == "seg"
