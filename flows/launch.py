"""Start a run in the order that overlaps its start-up costs; imports no Prefect itself.

``run_stages`` takes OUT's lock, brings up the Prefect API and the task runner
(:func:`imncohort_flows.execute.runtime`: the index is planned and any Dask cluster starts while
the API comes up and this process imports Prefect), then runs the stages as one flow
run (:func:`imncohort_flows.audit.run_on_runtime`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imncohort.layout import index_table

from .guard import guarded_run
from .runtime import StageSettings


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

    def plan_work(background: bool) -> int | None:
        return plan_index_ahead(settings, config, background) if "index" in stages else None

    cold_index = "index" in stages and (
        settings.rehash or not index_table(Path(settings.out), "manifest").exists()
    )

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
            cold_index,
        ) as rt,
    ):
        try:
            from .audit import run_on_runtime

            return run_on_runtime(rt, settings, stages, config, run_id)
        finally:
            forget_index_plans()
