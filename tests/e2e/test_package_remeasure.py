"""The package is itself an export: auditing it measures the same nodes as the source audit.

Real CLI, Prefect flows on Dask: ``imncohort run`` on the 6-patient demo, ``imncohort
package``, then ``imncohort run DIR/dicom`` with another secret.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imncohort_flows.cli import main

from imncohort.keys import pseudonym

pytestmark = pytest.mark.slow

FIRST, SECOND = "remeasure-source-secret", "remeasure-package-secret"
KEYS = ["patient_key", "roi_name", "annotation", "component"]
NUMBERS = [
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "reference_z",
    "imv_x",
    "imv_y",
    "center_ml_mm",
    "center_dv_mm",
    "extent_medial_mm",
    "extent_lateral_mm",
    "extent_ventral_mm",
    "extent_dorsal_mm",
    "long_axis_mm",
    "short_axis_mm",
    "volume_ml",
    "ctv_coverage",
]
SAME = [
    "side",
    "quadrant",
    "towards_sternum",
    "metastatic",
    "imv_extrapolated",
    "intercostal_spaces",
]


def _nodes(out: Path) -> pd.DataFrame:
    return pd.read_csv(
        out / "nodes.csv",
        dtype={"patient_key": str, "intercostal_spaces": str},
        keep_default_na=True,
    )


def test_package_remeasures_the_same_nodes(
    demo_export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IMNCOHORT_SECRET", FIRST)
    source = tmp_path / "source"
    assert main(["run", str(demo_export), "--out", str(source), "--workers", "2"]) == 0
    package = tmp_path / "package"
    assert (
        main(["package", str(source), "--to", str(package), "--patients", "all", "--workers", "2"])
        == 0
    )
    # 341: each of the two NIfTI patients has its vessel map and sidecar (337 before).
    assert "package: 6 patients, 341 files, 0 left out" in capsys.readouterr().out
    assert main(["package", str(source), "--to", str(package)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"imncohort: error: package directory '{package}' already exists; "
        "pass --overwrite to replace it"
    ]

    monkeypatch.setenv("IMNCOHORT_SECRET", SECOND)
    again = tmp_path / "again"
    assert main(["run", str(package / "dicom"), "--out", str(again), "--workers", "2"]) == 0

    before, after = _nodes(source), _nodes(again)
    series = pd.read_parquet(source / "restricted" / "index" / "series.parquet").set_index(
        "series_key"
    )
    positions = {series.loc[k, "patient_position"] for k in before["series_key"]}
    assert positions == {"HFS", "FFS"}
    assert set(before["annotation"]) == {"rtstruct", "seg", "nifti"}
    # The package's PatientID is the source patient key; the second audit keys it again.
    before["patient_key"] = [pseudonym(SECOND.encode(), k) for k in before["patient_key"]]
    before = before.sort_values(KEYS).reset_index(drop=True)
    after = after.sort_values(KEYS).reset_index(drop=True)
    assert len(before) == len(after) == 13
    pd.testing.assert_frame_equal(before[KEYS], after[KEYS])
    np.testing.assert_allclose(
        after[NUMBERS].to_numpy(float), before[NUMBERS].to_numpy(float), rtol=0, atol=1e-6
    )
    for column in SAME:
        assert before[column].astype(str).tolist() == after[column].astype(str).tolist(), column
    errors = pd.read_csv(again / "errors.csv")
    assert errors.empty
    record = json.loads((package / "package.json").read_text("utf-8"))
    assert record["counts"]["unresolved_references"] == 0
    assert record["counts"]["nodes"] == 13
