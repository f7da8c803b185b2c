"""Prefect flow of the measure stage: one task per batch of studies, on Dask.

Importing this module runs ``flows/__init__.py`` first, which configures Prefect.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed

from imncohort.config import Config, load_config
from imncohort.measure.plan import StudyJob, StudyResult
from imncohort.measure.stage import (
    batches,
    finish_stage,
    measure_batch,
    plan_stage,
    rebuild_cohort,
)
from imncohort.outputs import ensure_writable

from .progress import StageProgress
from .runtime import StageSettings, run_stage_flow

BATCHES_PER_WORKER = 4


@task(name="measure-batch", retries=1, retry_delay_seconds=2)
def measure_batch_task(
    jobs: list[StudyJob], export: str, out: str, config: Config
) -> list[StudyResult]:
    """Measure one batch of studies (rows, errors, QC pictures, kept state)."""
    return measure_batch(jobs, export, out, config)


@flow(name="measure")
def measure_flow(
    export: str,
    out: str,
    config_path: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Measure every annotated node of the indexed export and write ``OUT/nodes.csv``.

    Parameters
    ----------
    export, out
        The export root (read only) and the output directory (with ``OUT/restricted/index``).
    config_path
        Optional user YAML file.
    workers, dask_address
        Local cluster size, or an existing Dask scheduler.
    strict
        Accepted for a uniform signature; ``--strict`` is enforced by the caller after
        the stage (``imncohort_flows.launch.run_stages``).
    """
    logger = get_run_logger()
    start = time.perf_counter()
    config = load_config(config_path)
    out_path = ensure_writable(Path(out))
    todo, kept, plan_errors = plan_stage(Path(export), out_path, config)
    n_workers = workers or config.dask.workers
    groups = batches(todo, max(1, n_workers * BATCHES_PER_WORKER))
    futures = [measure_batch_task.submit(g, str(export), str(out_path), config) for g in groups]
    progress = StageProgress("measure", len(todo), "studies", config.index.progress)
    for future in as_completed(futures):
        progress.advance(len(future.result()))
    progress.close()
    results = kept + [r for f in futures for r in f.result()]
    summary = finish_stage(out_path, results, plan_errors, time.perf_counter() - start, config)
    summary["remeasured"] = len(todo)
    rebuild_cohort(out_path)  # confirmed status needs the nodes just measured
    logger.info(
        "measure: %d studies, %d nodes (%d metastatic), %d errors in %.1f s",
        summary["studies"],
        summary["nodes"],
        summary["metastatic"],
        summary["errors"],
        summary["seconds"],
    )
    return summary


def run_measure(settings: StageSettings) -> dict[str, Any]:
    """Run :func:`measure_flow` on the Dask runner the settings ask for; return its summary."""
    return run_stage_flow(measure_flow, settings)
