"""OUT/runs, changes.csv and the "Since the last audit" section on hand-made tables."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pandas as pd
import pytest

from imncohort.history import (
    archive_run,
    compare_runs,
    coverage_over_time,
    new_run_id,
    record_run,
    run_dirs,
    runs_lines,
)
from imncohort.tables.wilson import wilson_interval

NODE = {"study_key": "s1", "series_key": "1.2.3", "roi_name": "IMN_L", "component": 1}


def _write_run(out: Path, candidates: list[str], confirmed: list[str], covered: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = [(k, "candidate") for k in candidates] + [(k, "confirmed") for k in confirmed]
    pd.DataFrame(rows, columns=["patient_key", "status"]).to_csv(out / "cohort.csv", index=False)
    nodes = pd.DataFrame([{"patient_key": k, **NODE} for k in confirmed])
    nodes.to_csv(out / "nodes.csv", index=False)
    total = max(len(confirmed), 1)
    low, high = wilson_interval(covered, total)
    pd.DataFrame(
        [
            {
                "direction": "medial_lateral",
                "margin_mm": 5.0,
                "nodes_covered": covered,
                "nodes_total": total,
                "percent": 100.0 * covered / total,
                "ci_low": 100 * low,
                "ci_high": 100 * high,
            }
        ]
    ).to_csv(out / "coverage.csv", index=False)
    (out / "run.json").write_text(json.dumps({"started_unix": 0, "seconds": 1.5}), "utf-8")
    (out / "report.html").write_text('<html><body><h2 id="run">Run</h2></body></html>', "utf-8")


def test_changes_between_two_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write_run(out, ["a1", "b2"], ["c3"], covered=1)
    first = record_run(out, "20260101T000000Z-0001", keep=5, guideline_mm=5.0)
    assert first["previous_run"] is None
    _write_run(out, ["b2", "d4"], ["c3", "a1"], covered=1)
    second = record_run(out, "20260102T000000Z-0002", keep=5, guideline_mm=5.0)
    assert second["previous_run"] == "20260101T000000Z-0001"
    changes = pd.read_csv(out / "changes.csv", dtype=str)
    listed = changes[changes["change"] != "coverage"][["change", "key"]].values.tolist()
    assert listed == [
        ["new_candidate", "d4"],
        ["new_confirmed", "a1"],
        ["new_node", "a1/s1/1.2.3/IMN_L/1"],
    ]
    coverage = changes[changes["change"] == "coverage"].iloc[0]
    assert coverage["key"] == "medial_lateral 5.0"
    assert float(coverage["previous"]) == 100.0 and float(coverage["current"]) == 50.0
    low, high = wilson_interval(1, 2)
    assert float(coverage["current_ci_low"]) == pytest.approx(100 * low, abs=1e-9)
    assert float(coverage["current_ci_high"]) == pytest.approx(100 * high, abs=1e-9)
    assert float(coverage["previous_ci_high"]) == pytest.approx(100.0, abs=1e-9)
    report = (out / "report.html").read_text("utf-8")
    assert report.index('id="since-last-audit"') < report.index('id="run"')
    assert "1 new candidate patients: d4" in report
    assert "coverage over time" not in report  # only two audits so far


def test_retention_and_coverage_over_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for n, covered in enumerate((1, 0, 1), start=1):
        _write_run(out, [], ["c3"], covered=covered)
        record_run(out, f"2026010{n}T000000Z-000{n}", keep=2, guideline_mm=5.0)
    assert [p.name for p in run_dirs(out)] == ["20260102T000000Z-0002", "20260103T000000Z-0003"]
    series = coverage_over_time(run_dirs(out), 5.0)
    assert series["percent"].tolist() == [0.0, 100.0]
    _write_run(out, [], ["c3"], covered=1)
    archive_run(out, "20260104T000000Z-0004", keep=3)
    _write_run(out, [], ["c3"], covered=1)
    record_run(out, "20260105T000000Z-0005", keep=3, guideline_mm=5.0)
    assert len(run_dirs(out)) == 3
    assert 'alt="coverage over time"' in (out / "report.html").read_text("utf-8")
    lines = runs_lines(out)
    assert [line.split()[0] for line in lines[1:]] == [p.name for p in run_dirs(out)]


def test_first_run_compares_with_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write_run(out, ["a1"], [], covered=0)
    archive_run(out, "r1", keep=3)
    changes = compare_runs(None, out / "runs" / "r1")
    assert changes[changes["change"] == "new_candidate"]["key"].tolist() == ["a1"]


def test_run_ids_sort_by_time() -> None:
    early = new_run_id(datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))
    late = new_run_id(datetime.datetime(2026, 1, 2, 3, 4, 6, tzinfo=datetime.UTC))
    assert early.startswith("20260102T030405Z-") and len(early) == 21
    assert early < late
