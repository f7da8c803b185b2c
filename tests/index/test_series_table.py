"""The series table: slice normals and spacing per orientation, instances without a series UID.

Analytic geometry: axial slices (IOP 1\\0\\0\\0\\1\\0, normal +z) and sagittal slices
(IOP 0\\1\\0\\0\\0\\-1, normal = (0,1,0) x (0,0,-1) = (-1,0,0)); two axial series share
one orientation text, parsed once.
"""

from __future__ import annotations

from imncohort.index.shards import instances_frame
from imncohort.index.tables import build_series

AXIAL = "1\\0\\0\\0\\1\\0"
SAGITTAL = "0\\1\\0\\0\\0\\-1"


def _row(path: str, series: str, iop: str, ipp: tuple[float, float, float], n: int) -> dict:
    return {
        "path": path,
        "series_instance_uid": series,
        "study_instance_uid": "1.2.3",
        "iop": iop,
        "ipp_x": ipp[0],
        "ipp_y": ipp[1],
        "ipp_z": ipp[2],
        "instance_number": n,
        "size": 1,
        "mtime_ns": 1,
    }


def test_series_geometry_by_orientation_and_instances_without_series_uid_left_out() -> None:
    rows = [
        _row("a/1", "1.1", AXIAL, (0, 0, 5.0), 3),
        _row("a/2", "1.1", AXIAL, (0, 0, 0.0), 1),
        _row("a/3", "1.1", AXIAL, (0, 0, 2.5), 2),
        _row("b/1", "1.2", SAGITTAL, (10.0, 0, 0), 1),
        _row("b/2", "1.2", SAGITTAL, (12.0, 0, 0), 2),
        _row("c/1", "1.3", AXIAL, (0, 0, 20.0), 1),
        _row("c/2", "1.3", AXIAL, (0, 0, 10.0), 2),
        _row("x/1", "", AXIAL, (0, 0, 0.0), 1),  # no SeriesInstanceUID: left out
    ]
    series = build_series(instances_frame(rows)).set_index("series_instance_uid")
    assert list(series.index) == ["1.1", "1.2", "1.3"]
    assert series["n_instances"].tolist() == [3, 2, 2]
    assert series.loc["1.1", "paths"] == ["a/2", "a/3", "a/1"]  # by position along +z
    assert series.loc["1.1", "slice_spacing"] == 2.5
    assert series.loc["1.3", "slice_spacing"] == 10.0
    assert series.loc["1.3", "paths"] == ["c/2", "c/1"]
    assert series.loc["1.2", "slice_spacing"] == 2.0
    normal = series.loc["1.2", ["normal_x", "normal_y", "normal_z"]].tolist()
    assert normal == [-1.0, 0.0, 0.0]
    assert series.loc["1.2", "paths"] == ["b/2", "b/1"]  # x=12 is -12 along the normal
    assert series.loc["1.2", ["position_min", "position_max"]].tolist() == [-12.0, -10.0]
    assert series.loc["1.3", ["normal_x", "normal_y", "normal_z"]].tolist() == [0.0, 0.0, 1.0]
    assert all(series["regular_spacing"]) and all(series["has_geometry"])
    assert series.loc["1.1", ["position_min", "position_max"]].tolist() == [0.0, 5.0]
