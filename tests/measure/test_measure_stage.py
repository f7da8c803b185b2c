"""The stage around the measurements: QC pictures, incremental re-runs, the flow's task."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenes import IMV_L, grid, n1
from synth import CtSpec, Scene, Structure, circle_slabs, index_export, write_ct, write_rtstruct

from imncohort.config import load_config
from imncohort.measure.plan import plan_jobs
from imncohort.measure.series import load_index
from imncohort.measure.stage import run_measure_stage

# keys are hex: "2882e81166936497" would otherwise be read as a float (inf)
KEYS = {"patient_key": str, "study_key": str}


def _small_export(base: Path) -> tuple[Path, Path]:
    export, out = base / "export", base / "out"
    zs = grid(-10, 30, 2.5)
    imv = Structure("IMV_L", circle_slabs(IMV_L[0], IMV_L[1], 1.5, zs, IMV_L[2]))
    scene = Scene("Jane^Doe-12345", CtSpec(zs), [n1(zs), imv])
    ct = write_ct(scene, export / "s" / "ct")
    write_rtstruct(scene, ct, export / "s" / "rs.dcm")
    index_export(export, out)
    return export, out


def test_qc_incremental_and_task(tmp_path: Path) -> None:
    export, out = _small_export(tmp_path)
    config = load_config()
    first = run_measure_stage(export, out, config, qc=True)
    assert first["nodes"] == 1 and first["remeasured"] == 1 and first["errors"] == 0
    nodes = pd.read_csv(out / "nodes.csv", dtype=KEYS)
    png = out / nodes.loc[0, "qc_png"]
    assert (
        nodes.loc[0, "qc_png"]
        == f"qc/{nodes.loc[0, 'patient_key']}_{nodes.loc[0, 'study_key']}_1.png"
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert b"Jane" not in data and b"12345" not in data
    # No ribs in this study: intercostal spaces stay empty.
    assert pd.isna(nodes.loc[0, "intercostal_spaces"])

    second = run_measure_stage(export, out, config, qc=True)
    assert second["remeasured"] == 0
    assert pd.read_csv(out / "nodes.csv", dtype=KEYS).equals(nodes)

    rs = export / "s" / "rs.dcm"
    stat = rs.stat()
    os.utime(rs, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    index_export(export, out)
    third = run_measure_stage(export, out, config, qc=True)
    assert third["remeasured"] == 1
    assert pd.read_csv(out / "nodes.csv", dtype=KEYS).equals(nodes)

    import imncohort_flows.measure as measure_flows

    jobs, _ = plan_jobs(load_index(out), export, config)
    results = measure_flows.measure_batch_task.fn(jobs, str(export), str(out), config)
    assert [len(r.rows) for r in results] == [1]
    assert results[0].rows[0]["center_ml_mm"] == pytest.approx(9.0, abs=1e-3)
    assert np.isnan(results[0].rows[0]["ctv_coverage"])
