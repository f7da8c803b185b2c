"""The Prefect ``tables`` flow: clinical table lookup, the task body, the flow's parameters.

A real Prefect run (``prefect_test_harness``) costs 20-40 s on the 2-core machine, so it
is left to the end-to-end ``run`` test; here the task body runs through ``task.fn()``.
"""

from __future__ import annotations

from pathlib import Path

import imncohort_flows  # noqa: F401  (configures Prefect before it is imported)
import pandas as pd
import pytest
from imncohort_flows.runtime import StageSettings
from imncohort_flows.tables import build_tables_task
from paper_cohort import SECRET, PaperCohort, write_inputs

from imncohort.config import Config, load_config
from imncohort.tables.inputs import find_clinical_table


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


def test_flow_definition_and_run_tables_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imncohort_flows.tables as module

    assert module.tables_flow.name == "tables"
    assert list(module.tables_flow.parameters.properties) == [
        "export",
        "out",
        "config_path",
        "workers",
        "dask_address",
        "strict",
    ]
    assert module.build_tables_task.name == "build-tables"
    seen: dict = {}

    def fake_flow(**kwargs: object) -> dict:
        seen.update(kwargs)
        return {"ok": True}

    monkeypatch.setattr(module, "tables_flow", fake_flow)
    settings = _settings(tmp_path / "export", tmp_path / "out", tmp_path / "site.yaml")
    assert module.run_tables(settings) == {"ok": True}
    assert seen == {
        "export": str(tmp_path / "export"),
        "out": str(tmp_path / "out"),
        "config_path": str(tmp_path / "site.yaml"),
        "workers": None,
        "dask_address": None,
        "strict": False,
    }
