"""The ``tables`` flow: the seed paper's tables, figures and report.html from OUT.

This stage is light (a few DataFrames), so it runs as one task in the flow's
own thread; it needs no Dask fan-out.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.exceptions import MissingContextError

from imncohort.config import secret_from_env
from imncohort.keys import load_or_create_secret
from imncohort.review.stage import run_review
from imncohort.tables.inputs import find_clinical_table
from imncohort.tables.stage import build_tables

from .runtime import StageSettings

logger = logging.getLogger(__name__)


@task(name="build-tables", retries=0)
def build_tables_task(settings: StageSettings) -> dict[str, Any]:
    """Build every table, figure and the report for the run in ``settings``."""
    config = settings.config()
    out = Path(settings.out)
    secret = load_or_create_secret(out, secret_from_env())
    clinical = find_clinical_table(Path(settings.export), config)
    summary = build_tables(
        out, config, secret, clinical, export=Path(settings.export), strict=settings.strict
    )
    _run_logger().info(
        "tables: %d metastatic nodes, %d patients", summary["metastatic_nodes"], summary["patients"]
    )
    return summary


def _run_logger() -> Any:
    """Return Prefect's run logger inside a run, else this module's logger (``task.fn()``)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logger


@task(name="review", retries=0)
def review_task(settings: StageSettings) -> dict[str, Any]:
    """Read returned review workbooks; write the new workbook, review page and outcome."""
    out = Path(settings.out)
    summary = run_review(out, settings.config(), load_or_create_secret(out, secret_from_env()))
    _run_logger().info(
        "review: %d items, %d new, %d decided", summary["items"], summary["new"], summary["decided"]
    )
    return summary


@flow(name="tables", log_prints=False)
def tables_flow(
    export: str,
    out: str,
    config_path: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Write the tables, ``tables.xlsx``, ``figures/*.png`` and ``report.html`` in ``out``.

    The review step runs first (``restricted/review/``, ``review_status`` in ``cohort.csv``)
    so the report shows this run's review counts.
    """
    settings = StageSettings.from_parameters(
        export, out, config_path, workers, dask_address, strict
    )
    review = review_task(settings)
    summary = build_tables_task(settings)
    summary["review"] = review
    summary["errors"] = summary.get("errors", 0) + review["errors"]
    return summary


def run_tables(settings: StageSettings) -> dict[str, Any]:
    """Run the ``tables`` flow for ``settings`` and return its summary."""
    return tables_flow(**settings.as_parameters())
