"""A small OUT for the review step: a RIS table of six reports, mined by the reports stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from imncohort.config import Config, load_config
from imncohort.reports.stage import run_reports_stage
from imncohort.review.stage import run_review

SECRET = b"review-test-secret"
T0 = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
REPORTS = [
    ("P001", "A001", "1.2.3.1", "CT", "20200101", "FINDINGS: Possible left IMN."),
    (
        "P001",
        "A002",
        "1.2.3.2",
        "CT",
        "20200301",
        "FINDINGS: There is an enlarged left IMN in the 2nd intercostal space measuring "
        "1.2 x 0.8 cm.",
    ),
    ("P002", "A003", "1.2.3.3", "MR", "20200401", "检查所见：右侧内乳淋巴结，转移可能。"),
    ("P003", "A004", "1.2.3.4", "US", "20200501", "FINDINGS: No enlarged internal mammary nodes."),
    ("P004", "A005", "1.2.3.5", "CT", "20200601", "FINDINGS: Cannot exclude right IMN metastasis."),
    ("P005", "A006", "1.2.3.6", "CT", "20200701", "FINDINGS: A right IMN is seen."),
]


def write_export(export: Path, out: Path, reports: list[tuple[str, ...]]) -> None:
    """Write the RIS table and the index tables the reports stage reads."""
    export.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        reports,
        columns=[
            "PatientID",
            "AccessionNumber",
            "StudyInstanceUID",
            "Modality",
            "StudyDate",
            "ReportText",
        ],
    ).to_csv(export / "ris.csv", index=False)
    index = out / "restricted" / "index"
    index.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns=["path", "kind"]).to_parquet(index / "instances.parquet")
    pd.DataFrame([("ris.csv", "table")], columns=["path", "kind"]).to_parquet(
        index / "files.parquet"
    )


@pytest.fixture()
def config() -> Config:
    return load_config()


@pytest.fixture()
def reviewed_out(tmp_path: Path, config: Config) -> Path:
    """OUT after the reports stage and a first review step (five items, all new)."""
    export, out = tmp_path / "export", tmp_path / "out"
    write_export(export, out, REPORTS)
    run_reports_stage(export, out, config, SECRET)
    run_review(out, config, SECRET, now=T0)
    return out
