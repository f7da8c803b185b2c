"""The Dask task runner of a cold run: the flow run is created while the cluster starts.

A real Prefect API (the run's own, through ``runtime``) and a real Dask scheduler and
worker on 127.0.0.1.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import imncohort_flows  # noqa: F401  (Prefect's environment first)
import pytest
from distributed import LocalCluster
from imncohort_flows.execute import pending_cluster_runner, runtime
from prefect import flow, task
from prefect.context import FlowRunContext

from imncohort.config import load_config

join = task(posixpath.join)  # a library function: Dask pickles it by name


@flow
def one_task() -> str:
    result: str = join.submit("index", "shard").result()
    return result


@pytest.mark.slow
def test_the_flow_run_exists_before_its_runner_waits_for_the_cluster(tmp_path: Path) -> None:
    asked: list[str | None] = []
    export = tmp_path / "export"
    export.mkdir()
    with (
        runtime(load_config(), export, ("tables",), 1, None) as rt,  # threads: the API only
        LocalCluster(
            n_workers=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        assert rt.mode == "threads"

        def ready() -> str:
            context = FlowRunContext.get()
            asked.append(str(context.flow_run.id) if context and context.flow_run else None)
            return str(cluster.scheduler_address)

        def broken() -> str:
            raise RuntimeError("the cluster did not start: no free port")

        state = one_task.with_options(task_runner=pending_cluster_runner(ready))(return_state=True)
        prefixes = set(cluster.scheduler.task_prefixes)
        with pytest.raises(RuntimeError, match="the cluster did not start: no free port"):
            one_task.with_options(task_runner=pending_cluster_runner(broken))()
    assert state.result() == "index/shard"
    assert asked == [str(state.state_details.flow_run_id)]  # once, inside the flow run
    assert "join" in prefixes  # the task ran on the cluster's worker
