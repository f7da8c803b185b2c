"""The measure flow end to end under Prefect with a local Dask cluster (one worker)."""

from __future__ import annotations

from pathlib import Path

import imncohort_flows  # noqa: F401  (configures Prefect first)
import pandas as pd
import pytest
from scenes import IMV_L, grid, n1
from synth import CtSpec, Scene, Structure, circle_slabs, index_export, write_ct, write_rtstruct


@pytest.mark.slow
def test_measure_flow_on_dask(tmp_path: Path) -> None:
    from imncohort_flows.measure import run_measure
    from imncohort_flows.runtime import StageSettings
    from prefect.testing.utilities import prefect_test_harness

    export, out = tmp_path / "export", tmp_path / "out"
    zs = grid(-10, 30, 2.5)
    imv = Structure("IMV_L", circle_slabs(IMV_L[0], IMV_L[1], 1.5, zs, IMV_L[2]))
    for n in range(3):
        scene = Scene(f"F{n}", CtSpec(zs), [n1(zs), imv])
        ct = write_ct(scene, export / f"s{n}" / "ct")
        write_rtstruct(scene, ct, export / f"s{n}" / "rs.dcm")
    index_export(export, out)
    settings = StageSettings(export, out, None, workers=1, dask_address=None, strict=False)
    with prefect_test_harness(server_startup_timeout=180):  # a loaded 2-core machine
        summary = run_measure(settings)
    assert summary["studies"] == 3
    assert summary["nodes"] == 3
    assert summary["metastatic"] == 3
    assert summary["errors"] == 0
    nodes = pd.read_csv(out / "nodes.csv")
    assert nodes["center_ml_mm"].round(3).tolist() == [9.0, 9.0, 9.0]
    assert all((out / p).exists() for p in nodes["qc_png"])
