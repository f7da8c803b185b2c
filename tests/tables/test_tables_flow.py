"""The Prefect ``tables`` flow: clinical table lookup, the task body, one real flow run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from paper_cohort import SECRET, PaperCohort, write_inputs

import flows  # noqa: F401  (configures Prefect before it is imported)
from flows.runtime import StageSettings
from flows.tables import build_tables_task, find_clinical_table, run_tables
from imncohort.config import Config, load_config


def _settings(export: Path, out: Path, config_path: Path | None = None) -> StageSettings:
    return StageSettings(
        export=export,
        out=out,
        config_path=config_path,
        workers=None,
        dask_address=None,
        strict=False,
    )


def test_find_clinical_table(tmp_path: Path, config: Config) -> None:
    export = tmp_path / "export"
    (export / "b").mkdir(parents=True)
    (export / "a").mkdir()
    assert find_clinical_table(export, config) is None
    (export / "b" / "clinical.csv").write_text("PatientID\n")
    (export / "a" / "clinical_data.csv").write_text("PatientID\n")
    (export / "reports.csv").write_text("PatientID\n")
    assert find_clinical_table(export, config) == export / "a" / "clinical_data.csv"
    user = tmp_path / "site.yaml"
    user.write_text("clinical: {path: b/clinical.csv}\n")
    assert find_clinical_table(export, load_config(user)) == export / "b" / "clinical.csv"


def test_task_body_uses_env_secret_and_export_clinical(
    tmp_path: Path, paper: PaperCohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMNCOHORT_SECRET", SECRET.decode())
    out, export = tmp_path / "out", tmp_path / "export"
    write_inputs(out, paper, export)
    summary = build_tables_task.fn(_settings(export, out))
    assert summary["clinical"] is True and summary["patients"] == 70
    characteristics = pd.read_csv(out / "characteristics.csv")
    assert characteristics.iloc[0][["initial_n", "recurrence_n"]].tolist() == [34, 36]
    assert not (out / "restricted" / "secret").exists()  # the environment secret wins


@pytest.mark.slow
def test_tables_flow_runs_under_prefect(
    tmp_path: Path, paper: PaperCohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    monkeypatch.delenv("IMNCOHORT_SECRET", raising=False)
    out, export = tmp_path / "out", tmp_path / "export"
    write_inputs(out, paper, export)
    with prefect_test_harness():
        summary = run_tables(_settings(export, out))
    assert summary["metastatic_nodes"] == 83
    assert (out / "report.html").exists()
    # Without IMNCOHORT_SECRET the secret is created in OUT/restricted: keys differ from the
    # test secret, so no clinical row matches and every group is unknown.
    assert (out / "restricted" / "secret").exists()
    characteristics = pd.read_csv(out / "characteristics.csv").set_index(["variable", "level"])
    assert characteristics.at[("group", "unknown"), "all_n"] == 70
