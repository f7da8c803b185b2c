"""One local Prefect server shared by runs: started on first use, found again, stopped when idle.

The server is a detached process (its own session) serving Prefect's API and UI on
127.0.0.1. It writes ``server.json`` (pid, url) under ``IMNCOHORT_PREFECT_HOME/server``
once it answers. Every run that uses it touches ``heartbeat`` every few seconds from a
daemon thread; the server exits by itself when the heartbeat is older than its idle
timeout, so a run killed with SIGKILL leaves at most an idle server that goes away.

``python -m imncohort_flows.server --idle-seconds N --port P`` is the server process itself.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from imncohort.envvars import prefect_home
from imncohort.errors import ImnCohortError

from .pids import alive as _alive
from .pids import reap_later as _reap_later
from .pids import terminate as _terminate

HEARTBEAT_SECONDS = 5.0
START_TIMEOUT_SECONDS = 180.0


def server_dir() -> Path:
    """Return the directory of the shared server's pid/URL file, heartbeat and log."""
    path = prefect_home() / "server"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class ServerInfo:
    """What ``server.json`` holds about a running shared server."""

    pid: int
    url: str
    started_unix: float
    idle_seconds: float

    @property
    def api_url(self) -> str:
        return self.url.rstrip("/") + "/api"


def read_info() -> ServerInfo | None:
    """Return the recorded server, or None when none is recorded or its process is gone."""
    path = server_dir() / "server.json"
    try:
        data = json.loads(path.read_text("utf-8"))
        info = ServerInfo(
            pid=int(data["pid"]),
            url=str(data["url"]),
            started_unix=float(data["started_unix"]),
            idle_seconds=float(data["idle_seconds"]),
        )
    except (OSError, ValueError, KeyError):
        return None
    return info if _alive(info.pid) else None


def healthy(info: ServerInfo, timeout: float = 2.0) -> bool:
    """Return True when the server answers ``/api/health``."""
    import urllib.request

    try:
        with urllib.request.urlopen(info.api_url + "/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def touch_heartbeat() -> None:
    """Tell the shared server it is in use (resets its idle clock)."""
    path = server_dir() / "heartbeat"
    path.touch()
    os.utime(path)


IN_USE_LOCK = "in-use.lock"


class Heartbeat:
    """While a run uses the shared server: the heartbeat thread and a shared lock.

    The thread touches the heartbeat (the server's idle clock); the shared ``flock`` on
    ``in-use.lock`` tells ``imncohort server stop`` that a run is using the server. The
    kernel drops the lock with the process, so a killed run never blocks a stop.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="imncohort-heartbeat", daemon=True)
        self._lock: int | None = None

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                touch_heartbeat()

    def start(self) -> Heartbeat:
        with contextlib.suppress(OSError):
            self._lock = os.open(server_dir() / IN_USE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock, fcntl.LOCK_SH)
        touch_heartbeat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            touch_heartbeat()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock)  # releases the shared lock
            self._lock = None


def server_in_use() -> bool:
    """Whether a run holds the shared server (its :class:`Heartbeat` lock) right now."""
    try:
        fd = os.open(server_dir() / IN_USE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Serialise server start-up between runs started at the same moment."""
    with open(server_dir() / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_server(idle_seconds: float, port: int = 0, launcher: bool = True) -> ServerInfo:
    """Return the running shared server, starting it (detached) when none answers.

    With ``launcher``, a warm launcher (:mod:`imncohort_flows.launcher`) is started beside
    it when none runs.
    """
    from .launcher import ensure_launcher

    info = read_info()
    if info is not None and healthy(info):
        touch_heartbeat()
        ensure_launcher(info.pid, info.api_url, launcher)
        return info
    with _start_lock():
        info = read_info()
        if info is not None and healthy(info):
            touch_heartbeat()
            ensure_launcher(info.pid, info.api_url, launcher)
            return info
        if info is not None:  # recorded but not answering: replace it
            _terminate(info.pid)
        info = _spawn(idle_seconds, port)
        ensure_launcher(info.pid, info.api_url, launcher)
        return info


def _spawn(idle_seconds: float, port: int) -> ServerInfo:
    folder = server_dir()
    with contextlib.suppress(FileNotFoundError):
        (folder / "server.json").unlink()
    touch_heartbeat()
    log = open(folder / "server.log", "ab")  # noqa: SIM115 (handed to the child)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_UI_ENABLED"] = "true"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imncohort_flows.server",
            "--idle-seconds",
            str(idle_seconds),
            "--port",
            str(port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
        cwd=str(Path(__file__).resolve().parent.parent),
        start_new_session=True,  # not in the run's process group: a ^C of the run spares it
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise RuntimeError(
                f"the shared Prefect server exited with code {code} while starting; "
                f"see {folder / 'server.log'}"
            )
        info = read_info()
        if info is not None and info.pid == process.pid and healthy(info):
            _reap_later(process)
            return info
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError(
        f"the shared Prefect server did not answer within {START_TIMEOUT_SECONDS:.0f} s; "
        f"see {folder / 'server.log'}"
    )


class ServerInUse(ImnCohortError):
    """``server stop`` while a run uses the shared server (and no ``--force``)."""


def stop_server(force: bool = False) -> ServerInfo | None:
    """Stop the shared server (and its warm launcher) if one runs; return what was stopped.

    Raises
    ------
    ServerInUse
        When a run is using the server and ``force`` is False: stopping it would leave
        that run retrying its API calls.
    """
    from .launcher import stop_launcher

    info = read_info()
    if info is not None and not force and server_in_use():
        raise ServerInUse(
            f"a run is using the shared Prefect server (pid {info.pid}); it was not stopped. "
            "Wait for the run to finish, or stop it anyway with 'imncohort server stop --force'"
        )
    stop_launcher()
    if info is None:
        return None
    _terminate(info.pid)
    with contextlib.suppress(FileNotFoundError):
        (server_dir() / "server.json").unlink()
    return info


def idle_for() -> float:
    """Seconds since the last heartbeat (infinity when there never was one)."""
    try:
        return time.time() - (server_dir() / "heartbeat").stat().st_mtime
    except OSError:
        return float("inf")


def status_lines() -> list[str]:
    """Return the ``imncohort server status`` lines."""
    from .launcher import status_lines as launcher_status_lines

    info = read_info()
    if info is None:
        return ["no shared Prefect server is running"]
    state = "answering" if healthy(info) else "not answering"
    left = max(0.0, info.idle_seconds - idle_for())
    return [
        f"Prefect server {state}: pid {info.pid}",
        f"UI: {info.url}",
        f"API: {info.api_url}",
        f"stops after {left / 60:.1f} more idle minutes (imncohort server stop to stop now)",
        *launcher_status_lines(),
    ]


def server_command(args: argparse.Namespace) -> int:
    """``imncohort server start|status|stop``."""
    from imncohort.config import load_config

    if args.action == "start":
        from .launcher import status_lines as launcher_status_lines
        from .launcher import wait_ready

        config = load_config(getattr(args, "config", None))
        info = ensure_server(
            config.prefect.idle_minutes * 60, config.prefect.port, config.prefect.launcher
        )
        wait_ready()  # the next stage command is served warm
        lines = [f"Prefect server: pid {info.pid}", f"UI: {info.url}", f"API: {info.api_url}"]
        sys.stdout.write("\n".join([*lines, *launcher_status_lines()]) + "\n")
        return 0
    if args.action == "stop":
        stopped = stop_server(force=bool(getattr(args, "force", False)))
        message = f"stopped pid {stopped.pid}" if stopped else "no shared Prefect server is running"
        sys.stdout.write(message + "\n")
        return 0
    sys.stdout.write("\n".join(status_lines()) + "\n")
    return 0


def listening_socket(port: int) -> socket.socket:
    """The server's socket on 127.0.0.1:``port`` (0: any free port), bound, not listening.

    Made with protocol IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on
    connections whose socket says TCP, and uvicorn writes a response's headers and body
    apart. With Nagle on, every answer on a kept-alive connection waited 40 ms for the
    client's delayed ACK (44 ms per API call here; 0.7 ms without).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _serve(idle_seconds: float, port: int) -> None:
    """The server process: Prefect's API + UI on 127.0.0.1 until idle or SIGTERM."""
    import uvicorn

    from .environment import configure_prefect_environment

    configure_prefect_environment()
    from prefect.server.api.server import create_app

    sock = listening_socket(port)
    bound = sock.getsockname()[1]
    url = f"http://127.0.0.1:{bound}"
    os.environ["PREFECT_UI_API_URL"] = url + "/api"
    app = create_app(final=True)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    )

    def watch() -> None:
        while not server.started:
            time.sleep(0.05)
        record = {
            "pid": os.getpid(),
            "url": url,
            "started_unix": time.time(),
            "idle_seconds": idle_seconds,
        }
        target = server_dir() / "server.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), "utf-8")
        os.replace(tmp, target)
        while not server.should_exit:
            if idle_for() > idle_seconds:
                server.should_exit = True
                break
            time.sleep(1.0)

    threading.Thread(target=watch, name="idle-watch", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        target = server_dir() / "server.json"
        with contextlib.suppress(OSError, ValueError, KeyError):
            if int(json.loads(target.read_text("utf-8"))["pid"]) == os.getpid():
                target.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imncohort_flows.server")
    parser.add_argument("--idle-seconds", type=float, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    _serve(args.idle_seconds, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
