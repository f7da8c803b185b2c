"""Helpers and fixtures of the package tests (imported by the test modules).

No conftest.py here: a second module named ``conftest`` would answer other
directories' ``from conftest import ...`` when several test paths are given.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from imncohort.config import load_config
from imncohort.index.stage import index_export
from imncohort.measure.stage import rebuild_cohort, run_measure_stage
from imncohort.outputs import write_json
from imncohort.reports.stage import run_reports_stage

PACKAGE_SECRET = "package-tests-secret"


def audit_in_process(export: Path, out: Path) -> Path:
    """Index, reports and measure of ``export`` into ``out``, as ``imncohort run`` does."""
    config = load_config()
    secret = PACKAGE_SECRET.encode()
    index_export(export, out, chunk_size=500, secret=secret)
    run_reports_stage(export, out, config, secret)
    run_measure_stage(export, out, config, qc=False)
    rebuild_cohort(out)
    write_json({"export": str(Path(export).resolve())}, out / "run.json")
    return out


def copy_export(demo_export: Path, target: Path) -> Path:
    """A writable copy of the demo export."""
    shutil.copytree(demo_export, target)
    return target


@pytest.fixture(autouse=True)
def package_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("IMNCOHORT_SECRET", PACKAGE_SECRET)
    yield PACKAGE_SECRET


@pytest.fixture(scope="session")
def audited_demo(demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT of the shared 6-patient demo export."""
    mp = pytest.MonkeyPatch()
    mp.setenv("IMNCOHORT_SECRET", PACKAGE_SECRET)
    try:
        return audit_in_process(demo_export, tmp_path_factory.mktemp("pkg-out") / "out")
    finally:
        mp.undo()
