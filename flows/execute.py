"""Start what a run needs, as fast as it can: the Prefect API, then the task runner.

* The Prefect API: ``PREFECT_API_URL`` when set; else the shared local server
  (``prefect.server: reuse``, :mod:`imncohort_flows.server`) or a temporary embedded API
  (``embedded``). Its URL is known before it answers, so the Dask cluster starts
  in parallel with it.
* The task runner: an existing Dask scheduler (``--dask-address``); Prefect's
  ``ThreadPoolTaskRunner`` in this process for small work (fewer files TO READ than
  ``prefect.local_below_files``: the incremental index plan decides, so a re-run of a
  large export that reads nothing starts no cluster) and for the ``tables`` stage
  alone; else a local Dask process cluster on 127.0.0.1 whose workers import the
  stage code up front. The work is counted while the Prefect API comes up.

Nothing here imports Prefect before the API URL is in the environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imncohort.config import Config

logger = logging.getLogger("imncohort")

DASHBOARD_ADDRESS = "127.0.0.1:8787"


@dataclass
class Runtime:
    """The Prefect API and task runner of one run."""

    api_url: str | None
    mode: str  # "threads", "dask-local" or "dask-external"
    runner: Any
    dask_address: str | None
    dashboard_url: str | None = None
    files_to_read: int | None = None  # the planned work that chose the runner


def count_files(root: Path, limit: int) -> int:
    """Count the regular files under ``root``, stopping once ``limit`` is reached."""
    count = 0
    stack = [Path(root)]
    while stack and count < limit:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        count += 1
                        if count >= limit:
                            break
        except OSError:
            continue
    return count


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The flow module whose tasks each stage sends to the workers.
STAGE_MODULES = {
    "index": "imncohort_flows.index",
    "reports": "imncohort_flows.reports",
    "measure": "imncohort_flows.measure",
    "tables": "imncohort_flows.tables",
    "package": "imncohort_flows.package",
}


def _warm_worker(modules: list[str]) -> bool:
    """Import, once per Dask worker, the task modules of the run's stages (and Prefect)."""
    import importlib

    for name in ["prefect.task_engine", "prefect_dask", *modules]:
        importlib.import_module(name)
    return True


def _point_worker(api_url: str) -> bool:
    """Point a Dask worker at the run's Prefect API (known only once it answers).

    Prefect read its settings when the warm-up imported it, so they are re-read here.
    """
    os.environ["PREFECT_API_URL"] = api_url
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()
    return True


class _ClusterStarter(threading.Thread):
    """Start a LocalCluster and warm its workers while this process does the rest.

    The workers import the stage modules while the main thread imports Prefect, plans
    the index and waits for the API: on two cores these overlap instead of queueing.
    """

    def __init__(self, n_workers: int, threads: int, dashboard: bool, modules: list[str]) -> None:
        super().__init__(name="imncohort-dask-start", daemon=True)
        self.n_workers = n_workers
        self.threads = threads
        self.dashboard = dashboard
        self.modules = modules
        self.cluster: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from distributed import Client, LocalCluster

            self.cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=self.threads,
                processes=True,
                host="127.0.0.1",
                dashboard_address=DASHBOARD_ADDRESS if self.dashboard else None,
            )
            with Client(self.cluster.scheduler_address) as client:
                client.run(_warm_worker, self.modules)
        except BaseException as exc:  # re-raised in the main thread
            self.error = exc


def _api_url(config: Config, closers: list[Any]) -> tuple[str | None, Any]:
    """Return (API URL, a callable that waits until it answers)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"], lambda: None
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "").lower() in ("0", "false"):
        return None, lambda: None
    if config.prefect.server == "reuse":
        from .server import Heartbeat, ensure_server, healthy, read_info

        idle = config.prefect.idle_minutes * 60
        info = read_info()
        if info is not None and healthy(info):
            beat = Heartbeat().start()
            closers.append(beat.stop)
            from .launcher import ensure_launcher

            ensure_launcher(
                info.pid, info.api_url, config.prefect.launcher
            )  # a flock when one runs
            return info.api_url, lambda: None
        port = config.prefect.port or _free_port()
        url = f"http://127.0.0.1:{port}/api"
        result: dict[str, Any] = {}

        def start() -> None:
            try:
                result["info"] = ensure_server(idle, port, config.prefect.launcher)
            except BaseException as exc:
                result["error"] = exc

        thread = threading.Thread(target=start, name="imncohort-server-start", daemon=True)
        thread.start()

        def wait() -> None:
            thread.join()
            if "error" in result:
                raise result["error"]
            if result["info"].api_url != url:  # another run started one first
                os.environ["PREFECT_API_URL"] = result["info"].api_url
            beat = Heartbeat().start()
            closers.append(beat.stop)

        return url, wait

    def wait_embedded() -> None:
        started = start_embedded_api()
        if started:
            os.environ["PREFECT_API_URL"] = started

    return None, wait_embedded


def start_embedded_api() -> str | None:
    """Start the embedded Prefect API (once per process, stopped at exit); return its URL.

    Returns None when ``PREFECT_API_URL`` already names a server or the embedded server
    is disabled. Local Dask workers inherit the URL through the environment; without it
    each worker process would start an embedded API of its own.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return str(server.api_url)


def drain_api_logs() -> None:
    """Send the log lines still queued for the Prefect API (before its server may stop)."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(Exception):
        APILogWorker.drain_all(timeout=5)


def wants_dask(
    config: Config,
    export: Path,
    stages: tuple[str, ...],
    dask_address: str | None,
    dashboard: bool = False,
    files_to_read: int | None = None,
) -> bool:
    """Return True when the run's tasks go to Dask (see the module docstring).

    ``files_to_read`` is the work the run plans (the incremental index plan); without
    it the export's file count stands in for it.
    """
    if dask_address or dashboard:
        return True
    if stages == ("tables",):
        return False
    limit = config.prefect.local_below_files
    if limit <= 0:
        return True
    if files_to_read is None:
        files_to_read = count_files(export, limit)
    return files_to_read >= limit


@contextlib.contextmanager
def runtime(
    config: Config,
    export: Path,
    stages: tuple[str, ...],
    workers: int | None,
    dask_address: str | None,
    dashboard: bool = False,
    plan_work: Callable[[], int | None] | None = None,
) -> Iterator[Runtime]:
    """Bring up the API and the task runner of one run; tear down what was started.

    ``plan_work`` returns the number of files the run will read (None: unknown); it
    runs while the Prefect API starts, and decides between threads and Dask.
    """
    closers: list[Any] = []
    n_workers = workers or config.dask.workers
    starter: _ClusterStarter | None = None
    saved = os.environ.get("PREFECT_API_URL")
    settings_context: Any = contextlib.nullcontext()
    try:
        url, wait_api = _api_url(config, closers)
        if url:
            os.environ["PREFECT_API_URL"] = url  # inherited by the Dask workers spawned below
        files_to_read = plan_work() if plan_work is not None else None
        use_dask = wants_dask(config, export, stages, dask_address, dashboard, files_to_read)
        logger.debug("task runner: %s", "dask" if use_dask else "threads")
        if use_dask and not dask_address:
            import distributed  # noqa: F401  (here, not in the thread beside Prefect's import)

            modules = [STAGE_MODULES[s] for s in stages if s in STAGE_MODULES]
            starter = _ClusterStarter(n_workers, config.dask.threads_per_worker, dashboard, modules)
            starter.start()
        wait_api()
        url = os.environ.get("PREFECT_API_URL") or url
        if url:
            from prefect.settings import PREFECT_API_URL, temporary_settings

            settings_context = temporary_settings(updates={PREFECT_API_URL: url})
        settings_context.__enter__()
        if not use_dask:
            from prefect.task_runners import ThreadPoolTaskRunner

            yield Runtime(
                url,
                "threads",
                ThreadPoolTaskRunner(max_workers=n_workers),
                None,
                files_to_read=files_to_read,
            )
            return
        from prefect_dask import DaskTaskRunner

        if dask_address:
            yield Runtime(
                url,
                "dask-external",
                DaskTaskRunner(address=dask_address),
                dask_address,
                files_to_read=files_to_read,
            )
            return
        assert starter is not None
        starter.join()
        if starter.error is not None:
            raise starter.error
        cluster = starter.cluster
        closers.append(cluster.close)
        from distributed import Client

        if url:
            with Client(cluster.scheduler_address) as client:
                client.run(_point_worker, url)
        dashboard_url = None
        if dashboard:
            dashboard_url = str(cluster.dashboard_link or f"http://{DASHBOARD_ADDRESS}/status")
            logger.info("Dask dashboard: %s", dashboard_url)
            if sys.stdout.isatty() and not os.environ.get("CI"):  # a person at a terminal
                with contextlib.suppress(Exception):
                    webbrowser.open(dashboard_url)
        yield Runtime(
            url,
            "dask-local",
            DaskTaskRunner(address=cluster.scheduler_address),
            cluster.scheduler_address,
            dashboard_url,
            files_to_read,
        )
    finally:
        drain_api_logs()
        with contextlib.suppress(Exception):
            settings_context.__exit__(None, None, None)
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved
        if starter is not None and starter.is_alive():
            starter.join()
        if (
            starter is not None
            and starter.cluster is not None
            and starter.cluster.close not in closers
        ):
            closers.append(starter.cluster.close)
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
