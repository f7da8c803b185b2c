"""Header checks of indexed instances (imncohort.index.checks)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from imncohort.index.checks import bad_image_slices, image_problem, instance_problems

GOOD = {
    "path": "a/1",
    "kind": "image",
    "modality": "CT",
    "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
    "series_instance_uid": "1.2.3",
    "ipp_x": -100.0,
    "ipp_y": -100.0,
    "ipp_z": 12.5,
    "iop": "1\\0\\0\\0\\1\\0",
    "rows": 512,
    "columns": 512,
    "pixel_spacing_row": 0.7,
    "pixel_spacing_col": 0.7,
    "size": 525_000,
    "transfer_syntax_uid": "1.2.840.10008.1.2.1",
}


def test_a_good_slice_has_no_problem() -> None:
    assert image_problem(GOOD) == ""
    assert instance_problems(pd.DataFrame([GOOD])) == []


def test_each_problem_has_its_reason() -> None:
    cases = {
        "ipp_z": (math.nan, "ImagePositionPatient is missing, not 3 numbers or NaN"),
        "iop": (
            "0\\0\\0\\0\\0\\0",
            "ImageOrientationPatient is all zeros (no row or column direction)",
        ),
        "rows": (0, "Rows x Columns is 0 x 512 (an image needs at least 1 x 1)"),
        "pixel_spacing_row": (
            math.inf,
            "PixelSpacing inf/0.7 mm is missing, zero, negative or infinite",
        ),
        "size": (
            4000,
            "the file (4000 bytes) is too short for its 512 x 512 pixels (no pixel "
            "data: truncated?)",
        ),
    }
    for column, (value, reason) in cases.items():
        assert image_problem({**GOOD, column: value}) == reason, column
    tilted = {**GOOD, "iop": "1\\0\\0\\0.5\\0.5\\0"}
    assert image_problem(tilted) == "ImageOrientationPatient directions are not unit vectors"
    # a mammogram has no position or orientation, and needs none
    assert image_problem({**GOOD, "modality": "MG", "ipp_z": math.nan, "iop": ""}) == ""


def test_vectorised_prefilter_agrees_with_the_row_checks() -> None:
    rng = np.random.default_rng(7)
    pools = {
        "modality": ["CT", "MR", "PT", "US", "MG", ""],
        "ipp_z": [0.0, 5.0, math.nan, math.inf],
        "iop": ["1\\0\\0\\0\\1\\0", "", "1\\0\\0\\0\\1", "0\\0\\0\\0\\0\\0", "1\\0\\0\\1\\0\\0"],
        "rows": [512, 0, 1, pd.NA],
        "columns": [512, 0, 64],
        "pixel_spacing_row": [0.7, 0.0, -1.0, math.inf, math.nan],
        "size": [525_000, 100, 4096],
        "transfer_syntax_uid": ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.70"],
    }
    rows = []
    for n in range(400):
        row = dict(GOOD, path=f"p/{n}")
        for column, pool in pools.items():
            if rng.random() < 0.3:
                row[column] = pool[int(rng.integers(len(pool)))]
        rows.append(row)
    frame = pd.DataFrame(rows).astype({"rows": "Int64", "columns": "Int64"})
    expected = {r["path"]: image_problem(r) for r in frame.to_dict("records")}
    expected = {p: r for p, r in expected.items() if r}
    assert 50 < len(expected) < 400
    assert bad_image_slices(frame) == expected


def test_files_without_sop_class_or_series_uid() -> None:
    frame = pd.DataFrame(
        [
            {**GOOD, "path": "x/no-class", "sop_class_uid": "", "kind": "other"},
            {**GOOD, "path": "x/no-series", "series_instance_uid": ""},
        ]
    )
    assert [(r.path, r.stage, r.reason) for r in instance_problems(frame)] == [
        (
            "x/no-class",
            "index",
            "no SOP Class UID: the file cannot be classified (image, RTSTRUCT, SEG, report) "
            "and is not used",
        ),
        (
            "x/no-series",
            "index",
            "image without a SeriesInstanceUID: it belongs to no series and is not used",
        ),
    ]


def test_index_lists_bad_slices_and_keeps_them_on_reruns(tmp_path: Path) -> None:
    import json

    from index_factory import write_ct, write_series

    from imncohort.index.stage import index_export

    export, out = tmp_path / "export", tmp_path / "out"
    write_series(export / "ct", 4)
    write_ct(export / "ct" / "IM_NOPOS", sop="1.2.826.0.1.3680043.8.498.77", ipp=None)
    first = index_export(export, out, chunk_size=10, secret=b"k")
    reason = (
        "ImagePositionPatient is missing, not 3 numbers or NaN; the slice is left out of its series"
    )
    expected = [["ct/IM_NOPOS", "index", reason]]

    def errors() -> list[list[str]]:
        return pd.read_csv(out / "errors.csv", dtype=str).values.tolist()

    assert errors() == expected and first["errors"] == 1
    again = index_export(export, out, chunk_size=10, secret=b"k")
    assert again["files_read"] == 0 and errors() == expected and again["errors"] == 1
    # an index state written before the checks existed: the records are rebuilt, no file read
    state_path = out / "restricted" / "state" / "index.json"
    state = json.loads(state_path.read_text())
    del state["checks"]
    state["dicomdir_errors"] = []
    state_path.write_text(json.dumps(state))
    (out / "restricted" / "state" / "errors_index.csv").unlink()
    upgraded = index_export(export, out, chunk_size=10, secret=b"k")
    assert upgraded["files_read"] == 0 and errors() == expected
    assert json.loads(state_path.read_text())["checks"] == 1
