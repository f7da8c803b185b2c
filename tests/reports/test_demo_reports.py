"""Mining a demo export's reports reproduces every expected mention of ground_truth.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from groundtruth import assert_cohort_match, assert_mentions_match

from imncohort.config import load_config
from imncohort.keys import pseudonym
from imncohort.reports.cohort import build_cohort
from imncohort.reports.stage import run_reports_stage
from imncohort.tables.detection import modality_detection_table

from .conftest import write_index

demo_export = pytest.importorskip("imncohort.demo.export")
SECRET = b"demo-secret"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("demo")
    export = root / "export"
    out = root / "out"
    out.mkdir()
    demo_export.write_demo_export(export, n_patients=6, seed=11)
    truth = json.loads((export / "ground_truth.json").read_text("utf-8"))
    # the index as the index stage writes it (only the columns the reports stage reads)
    instances = sorted({(r["path"], "sr") for r in truth["reports"] if r["source"] == "sr"})
    files = sorted({(r["path"], "table") for r in truth["reports"] if r["source"] == "table"})
    studies = [
        {
            "study_instance_uid": s["study_instance_uid"],
            "study_date": s["study_date"],
            "modalities": f"{s['modality']};SR",
            "study_description": "",
        }
        for s in truth["studies"]
    ]
    write_index(out, instances, files, studies)
    run_reports_stage(export, out, load_config(), SECRET)
    return export, out, truth


def test_every_expected_mention_is_reproduced(demo: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, truth = demo
    mentions = pd.read_parquet(out / "mentions.parquet")
    assert len(truth["reports"]) > 0
    assert assert_mentions_match(truth, mentions, SECRET) > 0


def test_cohort_statuses_match_ground_truth(demo: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, truth = demo
    mentions = pd.read_parquet(out / "mentions.parquet")
    nodes = pd.DataFrame(
        {
            "patient_key": [pseudonym(SECRET, n["patient_id"]) for n in truth["nodes"]],
            "metastatic": [bool(n["metastatic"]) for n in truth["nodes"]],
        }
    )
    assert_cohort_match(truth, build_cohort(mentions, nodes), SECRET)


def test_detection_table_matches_ground_truth(demo: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, truth = demo
    mentions = pd.read_parquet(out / "mentions.parquet")
    reports = pd.read_parquet(out / "reports.parquet")
    confirmed = {p["patient_id"] for p in truth["patients"] if p["status"] == "confirmed"}
    nodes = pd.DataFrame(
        {
            "patient_key": [pseudonym(SECRET, pid) for pid in sorted(confirmed)],
            "metastatic": [True] * len(confirmed),
        }
    )
    table = modality_detection_table(mentions, build_cohort(mentions, nodes), reports)
    expected: dict[str, tuple[set[str], set[str]]] = {}
    for report in truth["reports"]:
        if report["patient_id"] not in confirmed:
            continue
        modality = "PET-CT" if report["modality"] == "PT" else report["modality"]
        having, detected = expected.setdefault(modality, (set(), set()))
        having.add(report["patient_id"])
        if any(m["assertion"] == "affirmed" for m in report["mentions"]):
            detected.add(report["patient_id"])
    got = table.set_index("modality")
    assert len(expected) >= 2
    for modality, (having, detected) in expected.items():
        assert got.loc[modality, "patients_with_report"] == len(having), modality
        assert got.loc[modality, "detected"] == len(detected), modality
    all_detected = set().union(*(d for _, d in expected.values()))
    assert got.loc["combined", "detected"] == len(all_detected)
