"""Helpers of the package tests: an in-process audit and a writable export copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from imncohort.config import load_config
from imncohort.index.build import index_export
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
