"""The reports flow module loads and its chunk task runs the library (``task.fn()``)."""

from __future__ import annotations

from pathlib import Path

import imncohort_flows  # noqa: F401  (configures Prefect's environment before prefect is imported)
from imncohort_flows.reports import mine_chunk_task, reports_flow, run_reports

from imncohort.config import load_config

from .conftest import text_item, write_sr


def test_flow_definition_loads() -> None:
    assert reports_flow.name == "reports"
    assert callable(run_reports)


def test_chunk_task_mines_one_chunk(export: Path) -> None:
    write_sr(export / "s.dcm", [text_item("Findings", "Possible left IMN.")])
    result = mine_chunk_task.fn(
        str(export), load_config(), 1, [("s.dcm", "sr"), ("missing.dcm", "sr")]
    )
    assert list(result.mentions["assertion"]) == ["uncertain"]
    assert list(result.reports["patient_id"]) == ["PAT001"]
    assert [e.path for e in result.errors] == ["missing.dcm"]
