"""The parent flow ``audit``: index, reports, measure, tables on one Dask cluster.

A local Dask cluster is started once for the whole audit (unless an existing
scheduler is named) and every stage flow runs its tasks on it. ``run.json``
records the version, the resolved configuration, input counts by SOP class and
counts and seconds per stage.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow

from flows.runtime import StageSettings, clear_flow_results
from imncohort import __version__, logsafe
from imncohort.config import Config, config_as_dict
from imncohort.errors import ImnCohortError
from imncohort.faults import checkpoint, publish_main_pid
from imncohort.layout import remove_legacy_public
from imncohort.outputs import write_json
from imncohort.procguard import start_guard, stop_guard
from imncohort.runlock import out_lock
from imncohort.runstate import clean_leftovers, mark_report_stale

logger = logging.getLogger(__name__)

STAGE_NAMES = ("index", "reports", "measure", "tables")


def stage_runner(stage: str) -> Callable[[StageSettings], dict[str, Any]]:
    """Return the ``run_<stage>`` function of ``flows/<stage>.py``."""
    if stage == "index":
        from flows.index import run_index

        return run_index
    if stage == "reports":
        from flows.reports import run_reports

        return run_reports
    if stage == "measure":
        from flows.measure import run_measure

        return run_measure
    if stage == "tables":
        from flows.tables import run_tables

        return run_tables
    raise ValueError(f'Argument "stage" must be one of {STAGE_NAMES}, got {stage!r}.')


def _warm_worker() -> bool:
    """Import what every stage task needs, once per Dask worker, before the first task."""
    import prefect.task_engine  # noqa: F401
    import prefect_dask  # noqa: F401

    import imncohort.index.build
    import imncohort.measure.stage
    import imncohort.reports.stage  # noqa: F401

    logsafe.install()
    return True


def _start_prefect_api() -> str | None:
    """Start the embedded Prefect API (once per process); return its URL.

    Returns None when ``PREFECT_API_URL`` already names a server. Local Dask workers
    inherit the URL through the environment; without it each worker process would
    start an embedded API of its own.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return str(server.api_url)


@contextlib.contextmanager
def dask_scheduler(config: Config, settings: StageSettings) -> Iterator[str]:
    """Yield the address of the Dask scheduler the stages share.

    An existing scheduler (``--dask-address``) is used as is (its workers need
    ``PREFECT_API_URL`` pointing at the Prefect server, see the README); otherwise a
    local process cluster on 127.0.0.1 is started, pointed at this process's Prefect
    API, its workers import the stage code before the first task, and it is closed
    afterwards.
    """
    from distributed import Client, LocalCluster

    api_url = _start_prefect_api()
    if settings.dask_address:
        yield settings.dask_address
        return
    if api_url:
        os.environ["PREFECT_API_URL"] = api_url  # inherited by the worker processes
    n_workers = settings.workers or config.dask.workers
    with LocalCluster(
        n_workers=n_workers,
        threads_per_worker=config.dask.threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        with Client(cluster.scheduler_address) as client:
            client.run(_warm_worker)
        yield cluster.scheduler_address


def _progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_stages(settings: StageSettings, stages: tuple[str, ...]) -> dict[str, Any]:
    """Run ``stages`` in order on one Dask cluster; write ``run.json``; return it.

    The run holds the OUT lock throughout; ``run.json`` says ``"complete": false`` from
    before the first change until the last stage is done.
    """
    config = settings.config()
    started = time.time()
    out = Path(settings.out)
    with out_lock(out):
        guard = start_guard()
        try:
            return _run_locked(settings, config, stages, started)
        finally:
            clear_flow_results(out)  # pickled exceptions quote raw paths
            stop_guard(guard)


def _run_locked(
    settings: StageSettings, config: Config, stages: tuple[str, ...], started: float
) -> dict[str, Any]:
    out = Path(settings.out)
    logsafe.install()  # Prefect's handlers exist by now
    publish_main_pid()
    remove_legacy_public(out)  # OUT/index, OUT/state of older versions: raw paths
    clean_leftovers(out)
    summaries: dict[str, Any] = {}
    record = run_record(settings, config, summaries, started)
    write_json(record, out / "run.json")  # "complete": false before anything changes
    mark_report_stale(out, started)
    with dask_scheduler(config, settings) as address:
        shared = replace(settings, dask_address=address)
        for number, stage in enumerate(stages, start=1):
            _progress(f"[{number}/{len(stages)}] {stage} ...")
            checkpoint(f"stage.{stage}.start")
            t0 = time.perf_counter()
            summary = dict(stage_runner(stage)(shared))
            summary["seconds"] = round(time.perf_counter() - t0, 3)
            summaries[stage] = summary
            checkpoint(f"stage.{stage}.done")
            _progress(f"[{number}/{len(stages)}] {stage} done in {summary['seconds']:.1f} s")
            # Written after every stage, so the report of this run shows this run's metadata.
            record = run_record(settings, config, summaries, started)
            write_json(record, out / "run.json")
            if settings.strict and summary.get("errors"):
                raise ImnCohortError(
                    f"{stage} met {summary['errors']} bad input(s) under --strict; "
                    f"see {out / 'errors.csv'}"
                )
    record = run_record(settings, config, summaries, started, complete=True)
    write_json(record, out / "run.json")
    return record


def run_record(
    settings: StageSettings,
    config: Config,
    summaries: dict[str, Any],
    started: float,
    complete: bool = False,
) -> dict[str, Any]:
    """Return the ``run.json`` content of one run (``complete`` once every stage ran)."""
    from imncohort.runinfo import input_counts

    return {
        "version": __version__,
        "complete": complete,
        "started_unix": round(started, 3),
        "seconds": round(time.time() - started, 3),
        "export": str(Path(settings.export).resolve()),
        "out": str(Path(settings.out).resolve()),
        "dask_address": settings.dask_address or "local",
        "workers": settings.workers or config.dask.workers,
        "config": config_as_dict(config),
        "inputs": input_counts(Path(settings.out)),
        "stage_order": list(summaries),
        "stages": summaries,
    }


@flow(name="audit", log_prints=False)
def audit_flow(
    export: str,
    out: str,
    config_path: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The whole audit: index, reports, measure and tables (the scheduled deployment)."""
    settings = StageSettings.from_parameters(
        export, out, config_path, workers, dask_address, strict
    )
    return run_stages(settings, STAGE_NAMES)
