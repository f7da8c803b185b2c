"""Measurements on the synthetic studies against their analytic values.

Tolerances (issue 5): centre offsets within 0.3 mm from contours and half a
voxel from masks; long/short axis within 0.5 mm from contours for nodes of
10 mm or more (masks: one pixel, see the report); spaces and quadrant exact.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import Measured
from scenes import CONE, IMV_L, N1, imv_x

from imncohort.measure.columns import NODE_COLUMNS

HALF_VOXEL = {"PA": 0.45, "PB": 0.35, "PC": 0.45}  # half the larger pixel spacing
PIXEL = {"PA": 0.9, "PB": 0.7, "PC": 0.9}
N1_ML = N1["cx"] - imv_x("left", N1["zc"])  # 9.0
N1_DV = N1["cy"] - IMV_L[1]  # 2.0


def test_columns_are_the_contract(measured: Measured) -> None:
    assert list(measured.nodes.columns) == NODE_COLUMNS


def test_node_counts(measured: Measured) -> None:
    # A: 3 nodes x 3 annotation kinds; B: 1 x 2; C: 2 x 1; D, E: none (errors).
    counts = measured.nodes.groupby("patient_key").size().sort_values().tolist()
    assert counts == [2, 2, 9]
    assert measured.summary["nodes"] == 13


@pytest.mark.parametrize(
    ("patient", "annotation"),
    [
        ("PA", "rtstruct"),
        ("PA", "seg"),
        ("PA", "nifti"),
        ("PB", "rtstruct"),
        ("PB", "seg"),
        ("PC", "rtstruct"),
    ],
)
def test_same_node_same_numbers(measured: Measured, patient: str, annotation: str) -> None:
    """N1 from RTSTRUCT, SEG and NIfTI; head-first 2.5 mm, feet-first reversed 0.6 mm, 5 mm."""
    rows = measured.rows(patient, "IMN1_L", annotation)
    assert len(rows) == 1
    row = rows.iloc[0]
    tol = 0.3 if annotation == "rtstruct" else HALF_VOXEL[patient]
    axis_tol = 0.5 if annotation == "rtstruct" else PIXEL[patient]
    assert row["side"] == "left"
    assert row["reference_z"] == pytest.approx(N1["zc"], abs=1e-6)
    assert row["center_ml_mm"] == pytest.approx(N1_ML, abs=tol)
    assert row["center_dv_mm"] == pytest.approx(N1_DV, abs=tol)
    assert row["imv_x"] == pytest.approx(imv_x("left", N1["zc"]), abs=tol)
    assert row["extent_lateral_mm"] == pytest.approx(N1_ML + N1["a"], abs=tol + 0.5)
    assert row["extent_medial_mm"] == 0.0
    assert row["extent_dorsal_mm"] == pytest.approx(N1_DV + N1["b"], abs=tol + 0.5)
    assert row["extent_ventral_mm"] == pytest.approx(N1["b"] - N1_DV, abs=tol + 0.5)
    assert row["quadrant"] == "lateral_dorsal"
    assert not row["towards_sternum"]
    assert row["long_axis_mm"] == pytest.approx(2 * N1["a"], abs=axis_tol)
    assert row["short_axis_mm"] == pytest.approx(2 * N1["b"], abs=axis_tol)
    assert bool(row["metastatic"])
    assert not row["imv_extrapolated"]
    assert row["intercostal_spaces"] == "2"
    assert row["component"] == 1


def test_contour_axes_and_offsets_exact(measured: Measured) -> None:
    row = measured.rows("PA", "IMN1_L", "rtstruct").iloc[0]
    assert row["center_ml_mm"] == pytest.approx(9.0, abs=1e-3)
    assert row["center_dv_mm"] == pytest.approx(2.0, abs=1e-3)
    assert row["long_axis_mm"] == pytest.approx(12.0, abs=1e-3)
    assert row["short_axis_mm"] == pytest.approx(9.0, abs=1e-3)
    assert row["extent_lateral_mm"] == pytest.approx(15.0, abs=1e-3)
    assert row["extent_dorsal_mm"] == pytest.approx(6.5, abs=1e-3)
    assert row["extent_ventral_mm"] == pytest.approx(2.5, abs=1e-3)


def test_volume_close_across_sources_and_spacings(measured: Measured) -> None:
    # Ellipsoid 4/3 pi a b h = 0.633 ml; slab sums differ with the slice spacing.
    analytic = 4 / 3 * math.pi * N1["a"] * N1["b"] * N1["h"] / 1000
    for patient, ann in [("PA", "rtstruct"), ("PA", "seg"), ("PA", "nifti"), ("PB", "rtstruct")]:
        row = measured.rows(patient, "IMN1_L", ann).iloc[0]
        assert row["volume_ml"] == pytest.approx(analytic, rel=0.12), (patient, ann)
    pb = measured.rows("PB", "IMN1_L", "rtstruct").iloc[0]["volume_ml"]
    assert pb == pytest.approx(analytic, rel=0.02)


@pytest.mark.parametrize("annotation", ["rtstruct", "seg", "nifti"])
def test_right_node_with_hole_and_imv_every_other_slice(
    measured: Measured, annotation: str
) -> None:
    rows = measured.rows("PA", "IMN2_R", annotation)
    assert len(rows) == 1  # the hole does not make a second node
    row = rows.iloc[0]
    tol = 0.3 if annotation == "rtstruct" else HALF_VOXEL["PA"]
    assert row["side"] == "right"
    assert row["reference_z"] == pytest.approx(12.5)
    # IMV_R contoured on z = ..., 10, 15 only: interpolated at 12.5 -> x = -22.25
    assert row["imv_x"] == pytest.approx(-22.25, abs=tol)
    assert row["center_ml_mm"] == pytest.approx(9.75, abs=tol)  # lateral (right: -x)
    assert row["center_dv_mm"] == pytest.approx(2.0, abs=tol)
    assert row["quadrant"] == "lateral_dorsal"
    assert row["intercostal_spaces"] == "2"
    axis_tol = 0.5 if annotation == "rtstruct" else PIXEL["PA"]
    assert row["long_axis_mm"] == pytest.approx(14.0, abs=axis_tol)
    assert row["short_axis_mm"] == pytest.approx(14.0, abs=axis_tol)
    # Volume of the annulus stack is below the full disc stack.
    full = sum(math.pi * (7 * s) ** 2 for s in (np.sqrt(1 - 0.25), 1.0, np.sqrt(1 - 0.25))) * 2.5
    assert row["volume_ml"] < 0.95 * full / 1000


def test_contour_hole_area_exact(measured: Measured) -> None:
    row = measured.rows("PA", "IMN2_R", "rtstruct").iloc[0]
    poly = 72 / 2 * math.sin(2 * math.pi / 72)  # area of the 72-gon per r^2
    s = math.sqrt(0.75)
    areas = [poly * ((7 * s) ** 2 - 2.5**2), poly * (49 - 6.25), poly * ((7 * s) ** 2 - 2.5**2)]
    assert row["volume_ml"] == pytest.approx(sum(areas) * 2.5 / 1000, rel=1e-6)


@pytest.mark.parametrize("annotation", ["rtstruct", "seg", "nifti"])
def test_node_spanning_two_spaces(measured: Measured, annotation: str) -> None:
    row = measured.rows("PA", "IMLN3_L", annotation).iloc[0]
    assert row["intercostal_spaces"] == "1;2"
    assert row["reference_z"] == pytest.approx(20.0)


def test_left_and_right_nodes_in_one_patient(measured: Measured) -> None:
    rows = measured.rows("PA", "IMN1_L", "rtstruct")
    rows_r = measured.rows("PA", "IMN2_R", "rtstruct")
    assert rows.iloc[0]["side"] == "left" and rows_r.iloc[0]["side"] == "right"
    assert rows.iloc[0]["centroid_x"] > 0 > rows_r.iloc[0]["centroid_x"]


@pytest.mark.parametrize(
    ("annotation", "tol"), [("rtstruct", 0.03), ("seg", 0.05), ("nifti", 0.05)]
)
def test_ctv_coverage(measured: Measured, annotation: str, tol: float) -> None:
    # LN_IMN_L covers x <= 30 of N1 (the medial half); IMN2_R has no CTV on its side.
    left = measured.rows("PA", "IMN1_L", annotation).iloc[0]
    assert left["ctv_coverage"] == pytest.approx(0.5, abs=tol)
    right = measured.rows("PA", "IMN2_R", annotation).iloc[0]
    assert math.isnan(right["ctv_coverage"])
    assert math.isnan(measured.rows("PB", "IMN1_L", "rtstruct").iloc[0]["ctv_coverage"])


def test_largest_slice_not_centroid_slice_and_point_imv(measured: Measured) -> None:
    row = measured.rows("PC", "IMN_L").iloc[0]
    areas = np.array([s * s for _, s in CONE])
    zs = np.array([z for z, _ in CONE])
    centroid_z = float((areas * zs).sum() / areas.sum())
    # The volume centroid lies nearer slice 10, but the node centre is the centroid of the
    # largest cross-section, on slice 5 (CONTRACT section 4).
    assert abs(centroid_z - 10.0) < abs(centroid_z - 5.0)
    assert row["reference_z"] == pytest.approx(5.0)
    assert row["centroid_z"] == pytest.approx(5.0)
    assert row["centroid_x"] == pytest.approx(31.0, abs=1e-3)
    assert row["centroid_y"] == pytest.approx(-30.0, abs=1e-3)
    # Reference slice centre (31, -30); POINT IMV interpolated at z = 5: (20.5, -47).
    assert row["imv_x"] == pytest.approx(20.5, abs=1e-6)
    assert row["center_ml_mm"] == pytest.approx(10.5, abs=1e-3)
    assert row["center_dv_mm"] == pytest.approx(17.0, abs=1e-3)
    assert row["long_axis_mm"] == pytest.approx(16.0, abs=1e-3)
    assert row["short_axis_mm"] == pytest.approx(10.0, abs=1e-3)
    assert row["quadrant"] == "lateral_dorsal"
    assert row["intercostal_spaces"] == "2"  # TotalSegmentator ribs (no sidecar labels)


def test_errors_recorded(measured: Measured) -> None:
    errors = measured.errors[measured.errors["stage"] == "measure"]
    by_path = {p: " ".join(errors.loc[errors["path"] == p, "reason"]) for p in errors["path"]}
    assert "not an axial image series" in by_path["d/rs_missing_series.dcm"]
    assert "oblique" in by_path["e/rs_oblique.dcm"] or "geometry" in by_path["e/rs_oblique.dcm"]
    assert "off every slice" in by_path["a/rs.dcm"]
    assert "IMN9_L" in by_path["a/rs.dcm"]
    assert measured.rows("PA", "IMN9_L").empty


def test_no_extrapolation_flag_inside_range(measured: Measured) -> None:
    assert not measured.nodes["imv_extrapolated"].astype(bool).any()
    assert measured.nodes["qc_png"].isna().all()  # qc=False in this run
    assert isinstance(measured.nodes, pd.DataFrame)
