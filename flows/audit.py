"""The parent flow ``audit``: index, reports, measure, tables in one flow run.

One task runner serves the whole audit (:mod:`imncohort_flows.execute` chooses Prefect's thread
pool or a Dask cluster by the files the run will read). ``run.json`` records the
version, the resolved configuration, the task runner, input counts by SOP class and
counts and seconds per stage.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow

from imncohort import __version__, logsafe
from imncohort.config import Config, config_as_dict
from imncohort.errors import ImnCohortError
from imncohort.faults import checkpoint
from imncohort.layout import OutLayout
from imncohort.outputs import write_json
from imncohort.runstate import mark_report_stale

from .guard import guarded_run
from .launcher import launched_by
from .notify import on_audit_failure
from .runtime import (
    FLOW_RESULTS,
    AuditParameters,
    StageSettings,
    result_storage,
    settle_heap,
    stage_parameters,
)

logger = logging.getLogger("imncohort")

STAGE_NAMES = ("index", "reports", "measure", "tables")


def _progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def stage_body(stage: str) -> Callable[..., dict[str, Any]]:
    """Return the body of ``flows/<stage>.py``'s flow, to run inside the audit's flow run."""
    if stage == "index":
        from .index import index_flow

        return index_flow.fn
    if stage == "reports":
        from .reports import reports_flow

        return reports_flow.fn
    if stage == "measure":
        from .measure import measure_flow

        return measure_flow.fn
    if stage == "tables":
        from .tables import tables_flow

        return tables_flow.fn
    raise ValueError(f'Argument "stage" must be one of {STAGE_NAMES}, got {stage!r}.')


def run_on_runtime(
    rt: Any,
    settings: StageSettings,
    stages: tuple[str, ...],
    config: Config,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run ``stages`` as ONE flow run on the task runner ``rt`` brought up; return run.json.

    The whole audit is one run of the ``audit`` flow; a single stage is one run of its
    own flow. Called by :func:`imncohort_flows.launch.run_stages` under the OUT lock.
    """
    logsafe.install()  # Prefect's handlers exist by now
    if rt.files_to_read is not None:
        work = f"{rt.files_to_read} files to read"
    elif "index" in stages and rt.mode == "dask-local":  # planned while the cluster starts
        work = "every file to read, planned while the cluster starts"
    else:
        work = "unknown files to read"
    logger.info(
        "task runner: %s (%s; Dask from %d)", rt.mode, work, config.prefect.local_below_files
    )
    shared = replace(settings, dask_address=rt.dask_address, runner=rt.mode)
    if len(stages) == 1:
        return _single_stage(shared, stages[0], rt.runner, config)
    parameters = AuditParameters.from_settings(shared, stages, run_id)
    audit = audit_flow.with_options(
        task_runner=rt.runner,
        # Where Prefect pickles a failed flow's exception: OUT/restricted, not the Prefect
        # home. Nothing else is persisted: the record comes back in memory.
        result_storage=result_storage(Path(settings.out), FLOW_RESULTS),
        persist_result=False,
    )
    record: dict[str, Any] = audit(parameters)
    return record


def _single_stage(shared: StageSettings, stage: str, runner: Any, config: Config) -> dict[str, Any]:
    settings = shared
    started = time.time()
    out = Path(settings.out)
    write_json(run_record(shared, config, {}, started), OutLayout(out).run_json)  # complete: false
    mark_report_stale(out, started)
    _progress(f"[1/1] {stage} ...")
    checkpoint(f"stage.{stage}.start")
    t0 = time.perf_counter()
    flow_object = _flow_of(stage).with_options(
        task_runner=runner, result_storage=result_storage(out, FLOW_RESULTS), persist_result=False
    )
    summary = dict(flow_object(**stage_parameters(shared, stage)))
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    checkpoint(f"stage.{stage}.done")
    _progress(f"[1/1] {stage} done in {summary['seconds']:.1f} s")
    record = run_record(shared, config, {stage: summary}, started, complete=True)
    write_json(record, OutLayout(out).run_json)
    if settings.strict and summary.get("errors"):
        raise ImnCohortError(
            f"{stage} met {summary['errors']} bad input(s) under --strict; "
            f"see {OutLayout(settings.out).errors_csv}"
        )
    return record


def _flow_of(stage: str) -> Any:
    """Return the Prefect flow object of one stage."""
    import importlib

    return getattr(importlib.import_module(f"imncohort_flows.{stage}"), f"{stage}_flow")


def run_stages_in_flow(
    settings: StageSettings, stages: tuple[str, ...], run_id: str | None = None
) -> dict[str, Any]:
    """Run the stage bodies in order inside the current flow run; write ``run.json``.

    After a full audit the run is kept in ``OUT/runs/<run id>/``, compared with the
    previous one (``OUT/changes.csv``, report section), summarised in a Prefect
    markdown artifact, and new candidates are notified.
    """
    from imncohort.history import new_run_id

    with guarded_run(Path(settings.out)):
        return _stages_in_flow(settings, stages, run_id or new_run_id())


def _stages_in_flow(
    settings: StageSettings, stages: tuple[str, ...], run_id: str
) -> dict[str, Any]:
    config = settings.config()
    started = time.time()
    out = Path(settings.out)
    summaries: dict[str, Any] = {}
    record: dict[str, Any] = {"run_id": run_id, **run_record(settings, config, {}, started)}
    write_json(record, OutLayout(out).run_json)  # "complete": false before anything changes
    mark_report_stale(out, started)
    for number, stage in enumerate(stages, start=1):
        _progress(f"[{number}/{len(stages)}] {stage} ...")
        checkpoint(f"stage.{stage}.start")
        t0 = time.perf_counter()
        body = stage_body(stage)
        settle_heap()  # the stage's modules are imported now
        summary = dict(body(**stage_parameters(settings, stage)))
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        summaries[stage] = summary
        checkpoint(f"stage.{stage}.done")
        _progress(f"[{number}/{len(stages)}] {stage} done in {summary['seconds']:.1f} s")
        # Written after every stage, so the report of this run shows this run's metadata.
        record = {"run_id": run_id, **run_record(settings, config, summaries, started)}
        write_json(record, OutLayout(settings.out).run_json)
        if settings.strict and summary.get("errors"):
            raise ImnCohortError(
                f"{stage} met {summary['errors']} bad input(s) under --strict; "
                f"see {OutLayout(settings.out).errors_csv}"
            )
    record = {"run_id": run_id, **run_record(settings, config, summaries, started, True)}
    write_json(record, OutLayout(out).run_json)
    if "tables" in stages:
        record = _after_audit(settings, config, record, run_id)
    return record


def _after_audit(
    settings: StageSettings, config: Config, record: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """History, artifact and notification of a finished audit; return the final record."""
    from imncohort.history import record_run

    from .artifact import publish
    from .notify import send

    out = Path(settings.out)
    changes = record_run(out, run_id, config.history.keep, config.margins.guideline_mm)
    record = {**record, "changes": changes}
    write_json(record, OutLayout(out).run_json)
    write_json(record, OutLayout(out).run_dir(run_id).run_json)
    logger.info(
        "audit %s: %d new candidates, %d new confirmed, %d new / %d removed nodes since %s",
        run_id,
        changes["new_candidate"],
        changes["new_confirmed"],
        changes["new_node"],
        changes["removed_node"],
        changes["previous_run"] or "no earlier audit",
    )
    publish(out, record)
    if config.notifications.on_new_candidates and changes["new_candidate"]:
        send(
            config,
            f"imncohort audit {run_id}: {changes['new_candidate']} new candidate(s)",
            f"{changes['new_candidate']} new candidate patient(s), "
            f"{changes['new_confirmed']} new confirmed since the last audit. "
            f"Report: {OutLayout(out).report_html.resolve()}",
        )
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
        "runner": settings.runner,
        "launcher": launched_by(),  # "warm": forked by the warm launcher; "direct"
        "workers": settings.workers or config.dask.workers,
        "config": config_as_dict(config),
        "inputs": input_counts(Path(settings.out)),
        "stage_order": list(summaries),
        "stages": summaries,
    }


@flow(name="audit", log_prints=False, on_failure=[on_audit_failure])
def audit_flow(parameters: AuditParameters) -> dict[str, Any]:
    """The whole audit: index, reports, measure and tables in one flow run."""
    return run_stages_in_flow(parameters.settings(), tuple(parameters.stages), parameters.run_id)
