"""Compare a run's outputs with a demo export's ``ground_truth.json`` (shared by tests).

Tolerances are the issues' accuracy bars: centre offsets within 0.3 mm from contours
and half a voxel from masks; long/short axis within 0.5 mm for nodes of 10 mm or more
(one pixel below); intercostal spaces, quadrant, side and metastatic flag exact.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from imncohort.keys import pseudonym

OFFSETS = ["centroid_x", "centroid_y", "imv_x", "imv_y", "center_ml_mm", "center_dv_mm"]
EXTENTS = ["extent_medial_mm", "extent_lateral_mm", "extent_ventral_mm", "extent_dorsal_mm"]


def read_nodes(out: Path) -> pd.DataFrame:
    """Read ``OUT/nodes.csv`` with the intercostal spaces as text."""
    return pd.read_csv(
        Path(out) / "nodes.csv",
        keep_default_na=False,
        na_values=[""],
        dtype={"intercostal_spaces": str},
    )


def assert_nodes_match(truth: dict[str, Any], nodes: pd.DataFrame, secret: bytes) -> int:
    """Assert every ground-truth node is in ``nodes`` with its values; return the count."""
    truth_nodes: list[dict[str, Any]] = truth["nodes"]
    assert len(nodes) == len(truth_nodes) > 0
    spacing = {
        s["series_instance_uid"]: max(s["pixel_spacing"])
        for s in truth["series"]
        if s.get("pixel_spacing")
    }
    for t in truth_nodes:
        sel = nodes[
            (nodes["patient_key"] == pseudonym(secret, str(t["patient_id"])))
            & (nodes["roi_name"] == t["roi_name"])
            & (nodes["annotation"] == t["annotation"])
            & (nodes["component"] == t["component"])
        ]
        assert len(sel) == 1, t
        row = sel.iloc[0]
        contour = t["annotation"] == "rtstruct"
        tol = 0.3 if contour else spacing[t["series_instance_uid"]] / 2
        label = f"{t['patient_id']} {t['roi_name']} {t['annotation']} {t['component']}"
        for column in OFFSETS:
            assert row[column] == pytest.approx(t[column], abs=tol), (label, column)
        # Extents are boundary values like the axes: small nodes get the axes' tolerance.
        axis_tol = 0.5 if float(t["long_axis_mm"]) >= 10 else 1.0
        for column in EXTENTS:
            assert row[column] == pytest.approx(t[column], abs=axis_tol), (label, column)
        assert row["long_axis_mm"] == pytest.approx(t["long_axis_mm"], abs=axis_tol), label
        assert row["short_axis_mm"] == pytest.approx(t["short_axis_mm"], abs=axis_tol), label
        assert row["reference_z"] == pytest.approx(t["reference_z"], abs=1e-3), label
        # Slab sums (area x spacing) of nodes one or two slices thick differ from the
        # analytic ellipsoid volume by up to ~50 % at 5 mm spacing, plus up to ~15 % from the
        # voxelised area of a 4 mm section; larger nodes within 10 %.
        big = float(t["volume_ml"]) >= 0.5
        assert row["volume_ml"] == pytest.approx(t["volume_ml"], rel=0.1 if big else 0.75), label
        assert row["side"] == t["side"]
        assert row["quadrant"] == t["quadrant"], label
        assert bool(row["towards_sternum"]) == t["towards_sternum"], label
        assert bool(row["metastatic"]) == t["metastatic"], label
        spaces = row["intercostal_spaces"] if isinstance(row["intercostal_spaces"], str) else ""
        assert spaces == ";".join(str(k) for k in t["intercostal_spaces"]), label
        if t["over_sternum"] is None:  # no sternum annotation
            for column in ("over_sternum", "sternal_invasion", "sternum_overlap"):
                assert pd.isna(row[column]), (label, column)
        else:
            assert bool(row["over_sternum"]) == t["over_sternum"], label
            assert bool(row["sternal_invasion"]) == t["sternal_invasion"], label
            assert row["sternum_overlap"] == pytest.approx(t["sternum_overlap"], abs=0.05), label
            # Contour vertices give the border exactly, mask voxels their outer edge.
            border_tol = 1e-3 if contour else tol + 1e-3
            assert row["sternum_border_x"] == pytest.approx(
                t["sternum_border_x"], abs=border_tol
            ), label
        if t["ctv_coverage"] is None:
            assert pd.isna(row["ctv_coverage"]), label
        else:
            assert row["ctv_coverage"] == pytest.approx(t["ctv_coverage"], abs=0.05), label
    return len(truth_nodes)


def _size(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 1)


def assert_mentions_match(truth: dict[str, Any], mentions: pd.DataFrame, secret: bytes) -> int:
    """Assert every report's expected mentions, in order; return the number of mentions."""
    n_expected = 0
    for report in truth["reports"]:
        got = mentions[mentions["report_id"] == report["report_id"]]
        expected = [
            (
                m["term"],
                m["assertion"],
                m["side"],
                ";".join(str(s) for s in m["intercostal_spaces"]),
                _size(m["size_long_mm"]),
                _size(m["size_short_mm"]),
            )
            for m in report["mentions"]
        ]
        found = [
            (
                r.term,
                r.assertion,
                r.side,
                r.intercostal_spaces,
                _size(r.size_long_mm),
                _size(r.size_short_mm),
            )
            for r in got.itertuples()
        ]
        assert found == expected, report["report_id"]
        n_expected += len(expected)
        modality = "PET-CT" if report["modality"] == "PT" else report["modality"]
        assert set(got["modality"]) <= {modality}
        assert set(got["patient_key"]) <= {pseudonym(secret, report["patient_id"])}
    assert n_expected == len(mentions)
    return n_expected


def assert_cohort_match(truth: dict[str, Any], cohort: pd.DataFrame, secret: bytes) -> None:
    """Assert each patient's expected cohort status and ``found_by_reports``."""
    table = cohort.set_index("patient_key")
    for patient in truth["patients"]:
        key = pseudonym(secret, patient["patient_id"])
        if patient["status"] == "none":
            assert key not in table.index, patient["patient_id"]
            continue
        row = table.loc[key]
        assert row["status"] == patient["status"], patient["patient_id"]
        assert bool(row["found_by_reports"]) == patient["found_by_reports"], patient["patient_id"]
