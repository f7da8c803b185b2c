"""Runtime settings shared by the flows: the heap, stage settings and the Dask task runner.

Prefect's environment is set by :mod:`imncohort_flows.environment` when the package
``flows`` is imported, before Prefect is.
"""

from __future__ import annotations

import atexit
import gc
import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from imncohort.config import Config, load_config
from imncohort.layout import OutLayout

_EXIT_FREEZE: list[bool] = []


def settle_heap() -> None:
    """Take every object alive now (imported modules and their tables) out of the collector.

    Prefect, pandas and pydantic leave a few hundred thousand long-lived objects; every
    full collection walks all of them again (about a second per run here), and the
    interpreter's last collections at exit took 2-4 s in this process and in each Dask
    worker. Objects frozen here are not collected until :func:`unsettle_heap` (modules
    live until exit anyway); what is made later is collected as usual. The first call
    also freezes the heap at exit, after the other exit handlers ran (Prefect's among
    them: they are registered later, so they run first).
    """
    gc.freeze()
    if not _EXIT_FREEZE:
        atexit.register(gc.freeze)
        _EXIT_FREEZE.append(True)


def unsettle_heap() -> None:
    """Give the frozen objects back to the collector (a process that goes on after a run)."""
    gc.unfreeze()


@dataclass(frozen=True)
class StageSettings:
    """What every stage flow needs: where to read, where to write, how to run."""

    export: Path
    out: Path
    config_path: Path | None
    workers: int | None
    dask_address: str | None
    strict: bool
    rehash: bool = False  # index only: compare content hashes, not just size and mtime
    runner: str | None = None  # the task runner chosen: threads, dask-local, dask-external

    @classmethod
    def from_parameters(
        cls,
        export: str,
        out: str,
        config_path: str | None = None,
        workers: int | None = None,
        dask_address: str | None = None,
        strict: bool = False,
    ) -> StageSettings:
        """Rebuild the settings from a flow's JSON-able parameters."""
        return cls(
            export=Path(export),
            out=Path(out),
            config_path=Path(config_path) if config_path else None,
            workers=workers,
            dask_address=dask_address,
            strict=strict,
        )

    def config(self) -> Config:
        """Load the run's configuration."""
        return load_config(self.config_path)

    def as_parameters(self) -> dict[str, Any]:
        """Return JSON-able flow parameters."""
        return {
            "export": str(self.export),
            "out": str(self.out),
            "config_path": str(self.config_path) if self.config_path else None,
            "workers": self.workers,
            "dask_address": self.dask_address,
            "strict": self.strict,
        }


def task_runner(config: Config, workers: int | None, dask_address: str | None) -> Any:
    """Return a ``DaskTaskRunner``: an existing scheduler, else a local process cluster."""
    from prefect_dask import DaskTaskRunner

    if dask_address:
        return DaskTaskRunner(address=dask_address)
    n_workers = workers or config.dask.workers
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": n_workers,
            "threads_per_worker": config.dask.threads_per_worker,
            "processes": True,
            "dashboard_address": None,
            "host": "127.0.0.1",
        }
    )


def content_key(export: str, paths: list[str], *salt: str) -> str:
    """Return a cache key over the (path, size, mtime_ns) of ``paths`` and ``salt``.

    A file that changed, appeared or vanished changes the key, so a changed file is
    never served from Prefect's cache.
    """
    import hashlib

    from imncohort import __version__
    from imncohort.paths import export_file

    digest = hashlib.sha256(__version__.encode())
    for part in salt:
        digest.update(b"\0" + part.encode("utf-8"))
    root = Path(export)
    for rel in sorted(paths):
        try:
            info = os.stat(export_file(root, rel))
            stamp = f"{rel}\0{info.st_size}\0{info.st_mtime_ns}"
        except OSError:
            stamp = f"{rel}\0missing"
        digest.update(b"\n" + stamp.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


FLOW_RESULTS = "prefect-flow-results"


def flow_results_dir(out: Path) -> Path:
    """``OUT/restricted/prefect-flow-results``: what Prefect keeps of a stage flow's end.

    Prefect always pickles the exception of a failed flow into its result storage (by
    default the Prefect home's ``storage/``, 0644, never cleaned), and such exceptions
    quote raw export paths. The stage flows keep it here instead; each run empties it.
    """
    return OutLayout(out).prefect_dir(FLOW_RESULTS)


def clear_flow_results(out: Path) -> None:
    """Delete the kept flow results of earlier runs (call while holding the OUT lock)."""
    import shutil

    shutil.rmtree(flow_results_dir(out), ignore_errors=True)


def result_storage(out: Path, folder: str = "prefect-results") -> Path:
    """Return (created) the folder under ``OUT/restricted`` that holds Prefect's results.

    Cached task results can hold report sentences, so they live with the other restricted
    outputs and go away with OUT. Prefect takes the folder as it is (a ``Path`` is a local
    result storage): no storage block is saved to, or loaded from, the API for a run.
    """
    from imncohort.outputs import make_dirs

    base = OutLayout(out).prefect_dir(folder).resolve()
    make_dirs(base)
    return base


def run_stage_flow(stage_flow: Any, settings: StageSettings) -> dict[str, Any]:
    """Run a stage flow on the Dask task runner the settings ask for; return its summary."""
    runner = task_runner(settings.config(), settings.workers, settings.dask_address)
    storage = result_storage(settings.out, FLOW_RESULTS)
    parameters = settings.as_parameters()
    if "rehash" in stage_flow.parameters.properties:  # the index flow
        parameters["rehash"] = settings.rehash
    result: dict[str, Any] = stage_flow.with_options(
        task_runner=runner, result_storage=storage, persist_result=False
    )(**parameters)
    return result


class AuditParameters(BaseModel):
    """The parameters of one audit flow run (one pydantic model, as Prefect shows them)."""

    model_config = ConfigDict(frozen=True)

    export: str
    out: str
    config_path: str | None = None
    workers: int | None = None
    dask_address: str | None = None
    strict: bool = False
    stages: tuple[str, ...] = ("index", "reports", "measure", "tables")
    run_id: str | None = None
    rehash: bool = False  # index only: compare content hashes, not just size and mtime
    runner: str | None = None  # the task runner chosen for the run (recorded in run.json)

    @classmethod
    def from_settings(
        cls,
        settings: StageSettings,
        stages: tuple[str, ...] | None = None,
        run_id: str | None = None,
    ) -> AuditParameters:
        """Return the parameters of an audit of ``settings``."""
        values: dict[str, Any] = dict(settings.as_parameters())
        if stages is not None:
            values["stages"] = tuple(stages)
        values["run_id"] = run_id
        values["rehash"] = settings.rehash
        values["runner"] = settings.runner
        return cls(**values)

    def settings(self) -> StageSettings:
        """Return the stage settings these parameters describe."""
        settings = StageSettings.from_parameters(
            self.export, self.out, self.config_path, self.workers, self.dask_address, self.strict
        )
        return replace(settings, rehash=self.rehash, runner=self.runner)


def stage_parameters(settings: StageSettings, stage: str) -> dict[str, Any]:
    """Return the keyword arguments of ``stage``'s flow (``rehash`` for the index only)."""
    parameters = settings.as_parameters()
    if stage == "index":
        parameters["rehash"] = settings.rehash
    return parameters


#: Index plans made before a run's task runner is chosen (or while its cluster starts),
#: taken by the index flow of the same process (so the export is walked once). Keyed by
#: (export, out, rehash); a plan still being made is waited for.
_PLANNED_INDEX: dict[tuple[str, str, bool], Future[Any]] = {}


def _plan_key(export: Path, out: Path, rehash: bool) -> tuple[str, str, bool]:
    return (str(Path(export).resolve()), str(Path(out).resolve()), bool(rehash))


def make_index_plan(
    export: Path, out: Path, config: Config, rehash: bool, workers: int | None = None
) -> Any:
    """Plan the (incremental) index of ``export`` into ``out`` (reads, writes nothing).

    The files to read are split evenly over ``workers`` (default: ``dask.workers``).
    """
    from imncohort.config import secret_from_env
    from imncohort.index.plan import plan_index
    from imncohort.keys import load_or_create_secret

    secret = load_or_create_secret(Path(out), secret_from_env())
    exclude = out if Path(out).resolve().is_relative_to(Path(export).resolve()) else None
    return plan_index(
        Path(export),
        Path(out),
        config.index.chunk_size,
        secret,
        exclude=exclude,
        rehash=rehash,
        parallel=workers or config.dask.workers,
    )


def plan_index_ahead(
    settings: StageSettings, config: Config, background: bool = False
) -> int | None:
    """Plan the run's index now and keep the plan; return the number of files to read.

    ``background``: plan in a thread and return None at once (the runner is chosen
    already: a first index of a large export). The export is walked while the cluster
    starts and the flow run is created; the index flow waits for the plan.
    """
    future: Future[Any] = Future()
    _PLANNED_INDEX.clear()
    _PLANNED_INDEX[_plan_key(settings.export, settings.out, settings.rehash)] = future

    def plan() -> None:
        try:
            future.set_result(
                make_index_plan(
                    Path(settings.export),
                    Path(settings.out),
                    config,
                    settings.rehash,
                    settings.workers,
                )
            )
        except BaseException as exc:  # raised again where the plan is taken
            future.set_exception(exc)

    if background:
        threading.Thread(target=plan, name="imncohort-index-plan", daemon=True).start()
        return None
    plan()
    return int(future.result().files_to_read)


def take_index_plan(export: Path, out: Path, rehash: bool) -> Any:
    """Return (and forget) the plan :func:`plan_index_ahead` made for this index, or None.

    Waits for a plan still being made; raises what making it raised.
    """
    future = _PLANNED_INDEX.pop(_plan_key(export, out, rehash), None)
    return None if future is None else future.result()


def forget_index_plans() -> None:
    """Drop any kept plan (a run that ended before its index flow took it)."""
    _PLANNED_INDEX.clear()
