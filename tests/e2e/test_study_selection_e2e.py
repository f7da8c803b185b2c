"""One CT per patient, end to end: a re-annotated copy of a demo CT changes no table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from compare import read_table
from conftest import SECRET
from imncohort_flows.cli import main
from study_copy import copy_annotated_study

from imncohort.config import load_config
from imncohort.keys import pseudonym
from imncohort.tables.stage import build_tables

pytestmark = pytest.mark.slow

TABLES = [
    "cohort.csv",
    "coverage.csv",
    "coverage_patients.csv",
    "coverage_2d.csv",
    "intercostal.csv",
    "growth_direction.csv",
    "laterality.csv",
    "modality_detection.csv",
    "characteristics.csv",
]


def test_second_study_of_a_patient_leaves_every_table_equal(
    demo20: tuple[Path, dict[str, Any]],
    run20: Path,
    secret_env: str,
    tmp_path: Path,
) -> None:
    export, truth = demo20
    patient = next(
        p["patient_id"]
        for p in truth["patients"]
        if p["status"] == "confirmed"
        and {n["annotation"] for n in truth["nodes"] if n["patient_id"] == p["patient_id"]}
        == {"rtstruct"}
    )
    copied = tmp_path / "export"
    shutil.copytree(export, copied)
    copy = copy_annotated_study(copied, truth, patient)
    assert copy["node_rois"], copy
    out = tmp_path / "out"
    assert main(["run", str(copied), "--out", str(out), "--workers", "2"]) == 0

    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(out, name), read_table(run20, name), obj=name)

    secret = SECRET.encode()
    nodes = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
    before = pd.read_csv(run20 / "nodes.csv", dtype=str, keep_default_na=False)
    copy_key = pseudonym(secret, copy["study_instance_uid"])
    of_copy = nodes[nodes["study_key"] == copy_key]
    assert len(of_copy) >= len(copy["node_rois"])
    assert set(of_copy["patient_key"]) == {pseudonym(secret, patient)}
    assert set(of_copy["selected"]) == {"False"}
    assert set(of_copy["study_date"]) == {copy["study_date"]}
    assert set(nodes.loc[nodes["study_key"] != copy_key, "selected"]) == {"True"}
    kept = nodes[nodes["study_key"] != copy_key].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        kept.sort_values(["study_key", "roi_name", "component"]).reset_index(drop=True),
        before.sort_values(["study_key", "roi_name", "component"]).reset_index(drop=True),
    )
    record = json.loads((out / "run.json").read_text("utf-8"))
    selection = record["stages"]["tables"]["study_selection"]
    assert selection["rule"] == "most_evident"
    assert selection["patients_with_several_studies"] == 1
    assert selection["nodes_left_out"] == len(of_copy)
    report = (out / "report.html").read_text("utf-8")
    assert "1 of " in report and "had nodes annotated on several CT studies" in report
    assert f"{len(of_copy)} node(s)" in report

    # `all` counts the copy's metastatic nodes too (the behaviour before one CT per patient).
    base = load_config()
    every = base.model_copy(
        update={"tables": base.tables.model_copy(update={"study_selection": "all"})}
    )
    summary = build_tables(out, every, secret, copied / "clinical.csv", export=copied)
    coverage = pd.read_csv(out / "coverage.csv")
    n_meta = int((nodes["metastatic"] == "True").sum())
    measured = nodes[(nodes["metastatic"] == "True") & (nodes["center_ml_mm"] != "")]
    assert summary["metastatic_nodes"] == n_meta
    assert int(coverage["nodes_total"].iloc[0]) == len(measured)
    copy_meta = int((of_copy["metastatic"] == "True").sum())
    assert copy_meta > 0
    assert summary["metastatic_nodes"] == int((before["metastatic"] == "True").sum()) + copy_meta
