"""Start a run in the order that overlaps its start-up costs; imports no Prefect itself.

``run_stages`` takes OUT's lock, brings up the Prefect API and the task runner
(:func:`imncohort_flows.execute.runtime`: the index is planned and any Dask cluster starts while
the API comes up and this process imports Prefect), then runs the stages as one flow
run (:func:`imncohort_flows.audit.run_on_runtime`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imncohort.faults import publish_main_pid
from imncohort.layout import remove_legacy_public
from imncohort.procguard import start_guard, stop_guard
from imncohort.runlock import out_lock
from imncohort.runstate import clean_leftovers

from .runtime import StageSettings, clear_flow_results

#: OUT folders this process holds the run lock of (a scheduled audit's flow run inside
#: ``run_stages`` must not take it twice).
_HELD: set[Path] = set()


@contextlib.contextmanager
def guarded_run(out: Path) -> Iterator[None]:
    """Hold OUT's run lock, watch the run's helper processes and tidy OUT around a run.

    A second run on the same OUT stops at once (:func:`imncohort.runlock.out_lock`); a
    watchdog ends the Prefect/Dask helpers of a SIGKILLed run; leftovers of an earlier,
    interrupted run are removed first; pickled flow results (they may quote raw paths)
    are removed last. Re-entrant within one process.
    """
    out = Path(out).resolve()
    if out in _HELD:
        yield
        return
    with out_lock(out):
        _HELD.add(out)
        guard = start_guard()
        try:
            publish_main_pid()
            remove_legacy_public(out)  # OUT/index, OUT/state of older versions: raw paths
            clean_leftovers(out)
            yield
        finally:
            _HELD.discard(out)
            clear_flow_results(out)
            stop_guard(guard)


def run_stages(
    settings: StageSettings,
    stages: tuple[str, ...],
    dashboard: bool = False,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run ``stages`` as ONE Prefect flow run on one task runner; write ``run.json``; return it.

    The index is planned while the Prefect API starts; its files to read choose
    between Prefect's thread pool and a Dask cluster (:func:`imncohort_flows.execute.wants_dask`).
    """
    from .execute import runtime
    from .runtime import forget_index_plans, plan_index_ahead

    config = settings.config()

    def plan_work() -> int | None:
        return plan_index_ahead(settings, config) if "index" in stages else None

    with (
        guarded_run(Path(settings.out)),
        runtime(
            config,
            settings.export,
            stages,
            settings.workers,
            settings.dask_address,
            dashboard,
            plan_work,
        ) as rt,
    ):
        try:
            from .audit import run_on_runtime

            return run_on_runtime(rt, settings, stages, config, run_id)
        finally:
            forget_index_plans()
