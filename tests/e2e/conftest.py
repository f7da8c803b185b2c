"""Fixtures of the end-to-end tests: one 20-patient demo export and one fresh run of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from imncohort_flows.cli import main

from imncohort.demo.export import write_demo_export

SECRET = "e2e-test-secret-16"


@pytest.fixture(scope="session")
def secret_env() -> str:
    mp = pytest.MonkeyPatch()
    mp.setenv("IMNCOHORT_SECRET", SECRET)
    yield SECRET
    mp.undo()


@pytest.fixture(scope="session")
def demo20(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    export = tmp_path_factory.mktemp("e2e") / "export"
    write_demo_export(export, n_patients=20, seed=0)
    return export, json.loads((export / "ground_truth.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def run20(
    demo20: tuple[Path, dict[str, Any]], secret_env: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    export, _ = demo20
    out = tmp_path_factory.mktemp("e2e-out") / "out"
    assert main(["run", str(export), "--out", str(out), "--workers", "2"]) == 0
    return out
