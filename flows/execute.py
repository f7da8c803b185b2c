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
import functools
import logging
import os
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imncohort.config import Config

from .runtime import settle_heap, unsettle_heap

logger = logging.getLogger("imncohort")

DASHBOARD_ADDRESS = "127.0.0.1:8787"


@dataclass
class Runtime:
    """The Prefect API and task runner of one run."""

    api_url: str | None
    mode: str  # "threads", "dask-local" or "dask-external"
    runner: Any
    dask_address: str | None  # an existing scheduler (dask-external) only
    files_to_read: int | None = None  # the planned work that chose the runner
    cluster: _ClusterStarter | None = None  # the local cluster (dask-local), maybe starting

    @property
    def dashboard_url(self) -> str | None:
        """The local cluster's dashboard (``--dashboard``; known once the cluster runs)."""
        return self.cluster.dashboard_url if self.cluster is not None else None

    def scheduler_address(self) -> str | None:
        """The Dask scheduler's address; waits for a local cluster still starting."""
        return self.cluster.ready() if self.cluster is not None else self.dask_address


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


#: The modules whose tasks each stage sends to the workers: its flow module, and the
#: library modules its tasks import on their first call (the index reader imports
#: pydicom; imported per worker, that took 0.03-0.05 s of each first task here).
STAGE_MODULES = {
    "index": ("imncohort_flows.index", "imncohort.index.reader"),
    "reports": ("imncohort_flows.reports",),
    "measure": ("imncohort_flows.measure",),
    "tables": ("imncohort_flows.tables",),
    "package": ("imncohort_flows.package",),
}


def stage_modules(stages: tuple[str, ...] | None = None) -> list[str]:
    """The modules the workers of ``stages`` (None: every stage) import before any task."""
    names = STAGE_MODULES if stages is None else [s for s in stages if s in STAGE_MODULES]
    return sorted({module for stage in names for module in STAGE_MODULES[stage]})


def _warm_worker(
    modules: list[str], unset: tuple[str, ...] = (), api_url: str | None = None
) -> bool:
    """Import, once per Dask worker, the task modules of the run's stages (and Prefect).

    ``unset`` names environment variables the worker's forkserver had but this run has
    not (:func:`worker_environment`); ``api_url`` is the run's Prefect API
    (:func:`_point_worker`). The imported heap is then frozen
    (:func:`imncohort_flows.runtime.settle_heap`), which also lets the worker process exit
    in a fraction of a second when the cluster closes.
    """
    import importlib

    from .runtime import settle_heap

    for name in unset:
        os.environ.pop(name, None)
    for name in ["prefect.task_engine", "prefect_dask", *modules]:
        importlib.import_module(name)
    if api_url:
        _point_worker(api_url)
    settle_heap()
    return True


def _point_worker(api_url: str) -> bool:
    """Point a Dask worker at the run's Prefect API.

    The forkserver imported Prefect, which read its settings then, so they are re-read
    (about 0.06 s per worker), unless they were read from the same inputs: the warm
    launcher starts its forkserver with its server's API URL
    (:data:`imncohort_flows.forkserver.SETTINGS_INPUTS`).
    """
    os.environ["PREFECT_API_URL"] = api_url
    from prefect.context import refresh_global_settings_context

    from .environment import prefect_settings_inputs

    # not imported here: importing it freezes the heap (only the forkserver does)
    built_from = getattr(sys.modules.get("imncohort_flows.forkserver"), "SETTINGS_INPUTS", None)
    if built_from is None or built_from != prefect_settings_inputs():
        refresh_global_settings_context()
    return True


#: The environment this process's forkserver started with (empty: none started yet).
_FORKSERVER_ENV: dict[str, str] = {}


def worker_environment() -> tuple[dict[str, str] | None, tuple[str, ...]]:
    """(variables to set, variables to remove) in workers forked from the forkserver.

    A worker forked from the forkserver has the forkserver's environment, not the one of
    the run that asked for it; a process that runs several clusters (tests, a library
    caller) may have changed its environment since (a secret, the API URL). The Nanny
    sets the first in the worker, :func:`_warm_worker` removes the second.
    """
    if not _FORKSERVER_ENV:
        return None, ()
    return dict(os.environ), tuple(k for k in _FORKSERVER_ENV if k not in os.environ)


def preload_forkserver(modules: list[str]) -> bool:
    """Have the forkserver import Prefect and ``modules`` once for every worker.

    Dask starts its workers by ``distributed.worker.multiprocessing-method``, here
    ``forkserver`` (:func:`imncohort_flows.environment.configure_prefect_environment`): one
    helper process imports the preloaded modules, and each worker is forked from it,
    instead of two spawned interpreters each importing distributed and Prefect (about
    3 s of CPU each). Returns False (nothing done) for another method. A forkserver
    that already runs in this process keeps the preload it started with.
    """
    import dask
    from distributed.utils import get_mp_context

    if dask.config.get("distributed.worker.multiprocessing-method") != "forkserver":
        return False
    if not _FORKSERVER_ENV:  # the forkserver starts with the first cluster, in this env
        _FORKSERVER_ENV.update(os.environ)
    context = get_mp_context()  # Dask's own preload is set here first, then replaced
    preload = ["distributed", "prefect.task_engine", "prefect_dask", *modules]
    preload.append("imncohort_flows.execute")  # every worker unpickles _warm_worker from it
    context.set_forkserver_preload([*preload, "imncohort_flows.forkserver"])
    return True


def start_shared_forkserver(api_url: str | None = None) -> bool:
    """Start, in the warm launcher, the forkserver its runs fork their Dask workers from.

    The forkserver imports distributed, Prefect and every stage's task module once, while
    the launcher does its own imports; a run forked from the launcher inherits the
    forkserver's address and ``alive`` pipe (:func:`adopt_inherited_forkserver`), so its
    cluster forks ready workers instead of starting a new forkserver (about 2.5 s of CPU
    per cold run). Starting it forks and execs one process and starts no thread.
    The forkserver's Prefect settings name ``api_url`` (the launcher's server) as a run
    on it sets them (:func:`runtime`); this process's environment is left as it was.
    Returns False (nothing started) for another multiprocessing method.
    """
    import multiprocessing.forkserver as mp_forkserver

    saved = _set_api_environment(api_url)
    try:
        if not preload_forkserver(stage_modules()):
            return False
        mp_forkserver.ensure_running()
    finally:
        _restore_environment(saved)
    return True


def _set_api_environment(url: str | None) -> dict[str, str | None]:
    """Set what a run on the API ``url`` sets in its environment; return what was there.

    ``PREFECT_API_URL``, and for a plain-http API on 127.0.0.1 the one-certificate file
    (:func:`one_certificate_file`) unless the user named a CA file. Undo it with
    :func:`_restore_environment`.
    """
    saved = {name: os.environ.get(name) for name in ("PREFECT_API_URL", CERT_ENV)}
    if url:
        os.environ["PREFECT_API_URL"] = url
    if saved[CERT_ENV] is None and _plain_local_api(url):
        os.environ[CERT_ENV] = one_certificate_file()
    return saved


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def adopt_inherited_forkserver() -> bool:
    """In a process forked after its parent started the forkserver: keep using it.

    ``multiprocessing`` checks that its forkserver lives with ``waitpid``, which only its
    parent may call; a forked child would fail there. The check becomes "does the pid
    still run"; a forkserver that died is started again as ``multiprocessing`` would.
    Returns False when no forkserver was inherited.
    """
    import multiprocessing.forkserver as mp_forkserver
    from multiprocessing import resource_tracker

    from .pids import alive

    server: Any = mp_forkserver._forkserver
    pid = server._forkserver_pid
    if pid is None:
        return False
    start_new = type(server).ensure_running

    def ensure_running() -> None:
        if server._forkserver_pid == pid and alive(pid):
            resource_tracker.ensure_running()
            return
        if server._forkserver_pid == pid:  # inherited and gone: start one of our own
            with contextlib.suppress(OSError):
                os.close(server._forkserver_alive_fd)
            server._forkserver_address = None
            server._forkserver_alive_fd = None
            server._forkserver_pid = None
            _FORKSERVER_ENV.clear()
            _FORKSERVER_ENV.update(os.environ)
        start_new(server)

    server.ensure_running = ensure_running
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
        self.api_url: str | None = None  # the run's Prefect API, set once it answers
        # the API the workers are pointed at while warming: the URL is known before it
        # answers (another run may start the shared server first: ready() points again)
        self.warmed_url = os.environ.get("PREFECT_API_URL")
        self.dashboard_url: str | None = None
        self._address: str | None = None
        self._lock = threading.Lock()

    def ready(self) -> str:
        """Wait for the cluster, point its workers at the API; return the scheduler address.

        Raises what stopped the cluster from starting. Called by the run's task runner on
        its first task (:func:`pending_cluster_runner`), so the flow run is created while
        the cluster starts.
        """
        with self._lock:
            if self._address is None:
                self.join()
                if self.error is not None:
                    raise self.error
                from distributed import Client

                address = str(self.cluster.scheduler_address)
                if self.api_url and self.api_url != self.warmed_url:  # another run's server
                    with Client(address) as client:
                        client.run(_point_worker, self.api_url)
                if self.dashboard:
                    link = self.cluster.dashboard_link or f"http://{DASHBOARD_ADDRESS}/status"
                    self.dashboard_url = str(link)
                self._address = address
            return self._address

    def run(self) -> None:
        try:
            from distributed import Client, LocalCluster

            preload_forkserver(self.modules)
            env, unset = worker_environment()
            # a person watching: the dashboard's Profile page works (off by default:
            # imncohort_flows.environment); a Nanny sets its config over the env's (a
            # dotted key: a nested one would replace the whole "distributed" section)
            profile = {"distributed.worker.profile.enabled": True}
            self.cluster = LocalCluster(
                config=profile if self.dashboard else None,
                env=env,
                n_workers=self.n_workers,
                threads_per_worker=self.threads,
                processes=True,
                host="127.0.0.1",
                dashboard_address=DASHBOARD_ADDRESS if self.dashboard else None,
            )
            with Client(self.cluster.scheduler_address) as client:
                client.run(_warm_worker, self.modules, unset, self.warmed_url)
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

    if not _profile_sets_api():
        api = EmbeddedApi.start()
        return api.url, api.wait

    def wait_embedded() -> None:
        started = start_embedded_api()
        if started:
            os.environ["PREFECT_API_URL"] = started

    return None, wait_embedded


def prefect_home_dir() -> Path:
    """Prefect's home folder as Prefect resolves it (``PREFECT_HOME``, else ``~/.prefect``)."""
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()


def _profile_sets_api() -> bool:
    """True when the active Prefect profile names an API or disables the embedded one."""
    import tomllib

    home = prefect_home_dir()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        profiles = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # let Prefect read it
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    keys = profiles.get("profiles", {}).get(active, {})
    return any(k in keys for k in ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_ENABLED"))


class EmbeddedApi:
    """The run's temporary Prefect API: Prefect's own server app, started at once.

    Prefect's ``SubprocessASGIServer`` runs the same command (uvicorn serving
    ``prefect.server.api.server:create_app`` on 127.0.0.1) but is started only after
    this process has imported Prefect and the whole server package (4 s here) and then
    waits for it; started here before anything else, the server process imports while
    this one imports Prefect and plans the run (two cores: side by side). One per process,
    stopped at exit after Prefect's own exit handlers (which still send logs and events).
    """

    _current: EmbeddedApi | None = None

    def __init__(self) -> None:
        import importlib.util
        import subprocess

        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"}
        env["PREFECT__SERVER_FINAL"] = "1"
        env.pop("PREFECT_API_URL", None)
        home = prefect_home_dir()
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "embedded-api.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "--app-dir"),
                    str(Path(spec.origin).parent.parent),
                    *("--factory", "prefect.server.api.server:create_app"),
                    *("--host", "127.0.0.1", "--port", str(self.port)),
                    *("--log-level", "error", "--lifespan", "on"),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        import atexit

        atexit.register(self.stop)
        self.ready = False

    @classmethod
    def start(cls) -> EmbeddedApi:
        """The process's embedded API, started now unless it runs already."""
        if cls._current is None or cls._current.process.poll() is not None:
            cls._current = cls()
        return cls._current

    def wait(self) -> None:
        """Return once the API answers; raise when its process ended or it never answers."""
        if self.ready:
            return
        import httpx

        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 120))
        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    raise RuntimeError(
                        f"the embedded Prefect API exited with code {code} while starting; "
                        f"see {self.log}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health", timeout=5).status_code == 200:
                        self.ready = True
                        return
                time.sleep(0.05)
        raise RuntimeError(
            f"Timed out while attempting to connect to the embedded Prefect API ({timeout:.0f} s);"
            f" see {self.log}"
        )

    def stop(self) -> None:
        """End the API's process (SIGTERM, then SIGKILL after 10 s)."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


#: Prefect's CA file setting (see :func:`one_certificate_file`).
CERT_ENV = "PREFECT_API_SSL_CERT_FILE"


def one_certificate_file() -> str:
    """A CA file of one certificate (the first of certifi's bundle), under ``PREFECT_HOME``.

    Prefect builds a TLS context for every API client it makes, loading certifi's bundle
    of about 140 certificates (25 ms each time here), even for a plain-http API: several
    per run, and several per Dask worker as its first task starts. A run whose API is
    plain http on 127.0.0.1 never checks a certificate, so it points Prefect at this file
    instead (1 ms). An https API, or a CA file the user set, is left alone.
    """
    import certifi

    home = prefect_home_dir()
    target = home / "imncohort-one-ca.pem"
    if not target.exists():
        text = Path(certifi.where()).read_text("ascii")
        end = "-----END CERTIFICATE-----"
        start = text.index("-----BEGIN CERTIFICATE-----")
        home.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text[start : text.index(end, start) + len(end)] + "\n", "ascii")
        os.replace(tmp, target)
    return str(target)


def _plain_local_api(url: str | None) -> bool:
    return url is not None and url.startswith(("http://127.0.0.1:", "http://localhost:"))


#: Set it (seconds, at least 30) to have the flow runs of this process send heartbeats.
HEARTBEAT_ENV = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"


def run_settings(url: str | None, local_workers: bool = False) -> Any:
    """Prefect's settings for the run (a context manager): its API URL; no heartbeats.

    Prefect 3.8 sends a flow-run heartbeat every 180 s from a thread that sleeps in
    one-second steps; the end of every flow run waits for that thread (up to a second).
    Nothing here reads heartbeats (the run's own guard ends what a killed run left), so
    they are off unless ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` asks for them.

    The settings are serialized once for the run (:func:`_settings_context_class`).
    Building them revalidates every settings model from the environment and Prefect's
    files (about 0.05 s; serializing them, about 0.04 s more): when the settings they
    start from and every input they read are those of an earlier call in this process
    (the warm launcher's :func:`prime_run_settings`, inherited by its runs), that
    call's settings and serialized form are taken instead.

    ``local_workers``: the run's tasks go to Dask workers on this machine, which are sent
    the settings model itself rather than its serialized form (see
    :func:`_settings_context_class`).
    """
    from prefect.context import get_settings_context
    from prefect.settings import PREFECT_API_URL

    current = get_settings_context()
    key = _settings_inputs(url)
    known = _RUN_SETTINGS.get(key)
    if known is not None and known[0] is current.settings:
        context = _settings_context_class()(profile=current.profile, settings=known[1])
        context._serialized = known[2]  # shared: serialize() hands out deep copies
        context._local_workers = local_workers
        return context
    updates: dict[Any, Any] = {}
    if url:
        updates[PREFECT_API_URL] = url
    if os.environ.get(CERT_ENV):  # set for a plain-http local API (one_certificate_file)
        updates["api.ssl_cert_file"] = os.environ[CERT_ENV]
    if not os.environ.get(HEARTBEAT_ENV):
        updates["flows.heartbeat_frequency"] = None
    settings = current.settings.copy_with_update(updates=updates)
    context = _settings_context_class()(profile=current.profile, settings=settings)
    context._local_workers = local_workers
    _RUN_SETTINGS.clear()  # one entry: the inputs of this process's runs rarely change
    _RUN_SETTINGS[key] = (current.settings, settings, context._serialized)
    return context


#: inputs (:func:`_settings_inputs`) -> (settings started from, run settings, serialized)
_RUN_SETTINGS: dict[tuple[Any, ...], tuple[Any, Any, dict[bool, dict[str, Any]]]] = {}


def _settings_inputs(url: str | None) -> tuple[Any, ...]:
    """The run's API URL and :func:`~imncohort_flows.environment.prefect_settings_inputs`."""
    from .environment import prefect_settings_inputs

    return (url, *prefect_settings_inputs())


def prime_run_settings(url: str) -> None:
    """Build and serialize, ahead of any run, the settings of a run on the API ``url``.

    The warm launcher calls it once; a run it forks whose inputs are the same takes
    them from :func:`run_settings` (about 0.1 s of its start, more while its cluster
    starts beside it). The environment is left as it was.
    """
    saved = _set_api_environment(url)  # as runtime() sets it before run_settings()
    try:
        run_settings(url, local_workers=True).serialize()
    finally:
        _restore_environment(saved)


@functools.cache
def _settings_context_class() -> Any:
    """A ``SettingsContext`` whose serialized form is made once, not once per task.

    Prefect's Dask task runner serializes the current context for every task it submits;
    the settings part (the whole settings model, every secret rendered) took 0.1-0.3 s
    per task here. The settings of a run do not change, so the first result is kept.

    Each task's worker builds a settings model again from that form (pydantic-settings
    validates every section and reads the environment and Prefect's files: 0.03-0.1 s
    of every task's start here). A run whose workers are on this machine
    (``_local_workers``) sends them the model itself instead, which unpickles as it was:
    same values, and paths stay paths (the serialized form turns them into text for
    workers on another platform).
    """
    import copy

    from prefect.context import SettingsContext
    from pydantic import PrivateAttr

    class RunSettingsContext(SettingsContext):
        _serialized: dict[bool, dict[str, Any]] = PrivateAttr(default_factory=dict)
        _local_workers: bool = PrivateAttr(default=False)

        def serialize(self, include_secrets: bool = True) -> dict[str, Any]:
            if include_secrets not in self._serialized:
                self._serialized[include_secrets] = super().serialize(include_secrets)
            serialized = self._serialized[include_secrets]
            if self._local_workers and include_secrets:
                rest = {k: copy.deepcopy(v) for k, v in serialized.items() if k != "settings"}
                return {**rest, "settings": self.settings}
            return copy.deepcopy(serialized)

    return RunSettingsContext


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


def pending_cluster_runner(ready: Callable[[], str]) -> Any:
    """A ``DaskTaskRunner`` on a local cluster that may still be starting.

    Prefect connects a Dask task runner to its scheduler on the first task it submits;
    this one first calls ``ready()`` (which waits for the cluster and returns its
    address), so the flow run is created, and the stage plans its work, while the
    workers start (about 0.4 s of the cold index here).
    """
    return _pending_runner_class()(ready)


@functools.cache
def _pending_runner_class() -> Any:
    from prefect_dask import DaskTaskRunner

    class PendingClusterRunner(DaskTaskRunner):
        def __init__(self, ready: Callable[[], str], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._ready = ready

        @property
        def client(self) -> Any:
            if self._client is None and self.address is None:
                self.address = self._ready()
            return super().client

        def duplicate(self) -> PendingClusterRunner:
            return type(self)(self._ready, address=self.address, client_kwargs=self.client_kwargs)

        def __reduce__(self) -> tuple[Any, tuple[str | None]]:
            # Prefect sends the flow (and so its task runner) with every task's context;
            # a worker gets a plain runner on the scheduler (it never waits for anything).
            return _plain_dask_runner, (self.address,)

    return PendingClusterRunner


def _plain_dask_runner(address: str | None) -> Any:
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)


def _start_cluster(
    n_workers: int, threads: int, dashboard: bool, modules: list[str]
) -> _ClusterStarter:
    import distributed  # noqa: F401  (here, not in the thread beside Prefect's import)

    starter = _ClusterStarter(n_workers, threads, dashboard, modules)
    starter.start()
    return starter


@contextlib.contextmanager
def runtime(
    config: Config,
    export: Path,
    stages: tuple[str, ...],
    workers: int | None,
    dask_address: str | None,
    dashboard: bool = False,
    plan_work: Callable[[bool], int | None] | None = None,
    cold_index: bool = False,
) -> Iterator[Runtime]:
    """Bring up the API and the task runner of one run; tear down what was started.

    ``plan_work(background)`` returns the number of files the run will read (None:
    unknown); it runs while the Prefect API starts, and decides between threads and Dask.
    ``cold_index`` (the run indexes every file: no index yet, or ``--rehash``) starts a
    local cluster at once when the export holds ``prefect.local_below_files`` files or
    more; the export is then walked in the background (``plan_work(True)``) while the
    cluster starts and the flow run is created.
    """
    closers: list[Any] = []
    n_workers = workers or config.dask.workers
    starter: _ClusterStarter | None = None
    saved: dict[str, str | None] = {}
    settings_context: Any = contextlib.nullcontext()
    try:
        url, wait_api = _api_url(config, closers)
        # inherited by the Dask workers started below, and read by this run's settings
        saved = _set_api_environment(url)
        modules = stage_modules(stages)
        threads = config.dask.threads_per_worker
        if cold_index and not dask_address and wants_dask(config, export, stages, None, dashboard):
            # A first index of a large export reads every file: no plan is needed to know
            # that the run takes Dask, so the cluster starts before the export is walked.
            starter = _start_cluster(n_workers, threads, dashboard, modules)
        # plan_work(True) plans beside the cluster's start (the runner is chosen already)
        files_to_read = plan_work(starter is not None) if plan_work is not None else None
        use_dask = starter is not None or wants_dask(
            config, export, stages, dask_address, dashboard, files_to_read
        )
        logger.debug("task runner: %s", "dask" if use_dask else "threads")
        if use_dask and not dask_address and starter is None:
            starter = _start_cluster(n_workers, threads, dashboard, modules)
        wait_api()
        url = os.environ.get("PREFECT_API_URL") or url
        settings_context = run_settings(url, local_workers=use_dask and not dask_address)
        settings_context.__enter__()
        settle_heap()  # Prefect is imported by now
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
                files_to_read,
            )
            return
        assert starter is not None
        starter.api_url = url
        if dashboard:  # a person watching: the dashboard's address at once
            starter.ready()
            logger.info("Dask dashboard: %s", starter.dashboard_url)
            if sys.stdout.isatty() and not os.environ.get("CI"):  # a person at a terminal
                with contextlib.suppress(Exception):
                    webbrowser.open(str(starter.dashboard_url))
        yield Runtime(
            url,
            "dask-local",
            pending_cluster_runner(starter.ready),
            None,
            files_to_read,
            starter,
        )
    finally:
        drain_api_logs()
        with contextlib.suppress(Exception):
            settings_context.__exit__(None, None, None)
        _restore_environment(saved)
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
        unsettle_heap()  # a process that goes on (tests, a caller) collects it again
