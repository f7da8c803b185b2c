"""The warm launcher process: preload, listen on the private socket, fork a run per request.

``python -m imncohort_flows.launcherd --server-pid PID --api-url URL --lock-fd FD`` is
started by :func:`imncohort_flows.launcher.ensure_launcher`; see
:mod:`imncohort_flows.launcher` for the protocol, the life cycle and why fork is safe here.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from imncohort.config import prefect_home

from .launcher import (
    GRACE_SECONDS,
    GROUP_SIGNALS,
    HEADER,
    MAGIC,
    PID_SIGNALS,
    PROTOCOL,
    SERVED,
    _command_of,
    fingerprint,
    import_time_env,
    launcher_dir,
    mark_warm,
    socket_path,
)
from .pids import alive


def _log(message: str) -> None:
    """One line of the launcher's log (commands and pids only: no paths, no arguments)."""
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} launcher {os.getpid()}: {message}\n")
    sys.stderr.flush()


def _preload(api_url: str) -> None:
    """Import what every stage command imports, without starting any thread.

    Also builds the settings of a run on the shared server's API ``api_url``
    (:func:`imncohort_flows.execute.prime_run_settings`).
    """
    import importlib

    from .environment import configure_prefect_environment

    configure_prefect_environment()

    from .execute import start_shared_forkserver

    start_shared_forkserver(api_url)  # imports in its own process, beside the imports below
    for name in (
        "prefect",
        "prefect.main",
        "prefect.flow_engine",
        "prefect.task_engine",
        "prefect.task_runners",
        "prefect.settings",
        "prefect_dask",
        "distributed",
        "pandas",
        "imncohort_flows.cli",
        "imncohort_flows.launch",
        "imncohort_flows.execute",
        "imncohort_flows.audit",
        "imncohort_flows.index",
        "imncohort_flows.reports",
        "imncohort_flows.measure",
        "imncohort_flows.tables",
        "imncohort.runinfo",
        "imncohort.history",
        "fastapi.encoders",  # Prefect encodes a flow run's parameters with it
        # what a run's Dask scheduler imports as it starts (its HTTP routes, even with
        # the dashboard off), found by diffing sys.modules around a LocalCluster's start
        "distributed.http.scheduler",
        "distributed.http.health",
        "distributed.http.prometheus",
        "distributed.http.proxy",
        "distributed.http.statics",
        "distributed.diagnostics.websocket",
        "prometheus_client.core",
        "multiprocessing.synchronize",
        "email.policy",
    ):
        importlib.import_module(name)
    from imncohort.config import load_config

    from .execute import prime_run_settings
    from .warmup import fill_host_caches, load_collections, render_one_log_line

    load_config()  # the packaged defaults, parsed once for every run
    prime_run_settings(api_url)
    # a run forked from here inherits these (its scheduler reports host and versions)
    fill_host_caches()
    render_one_log_line()
    load_collections()


@dataclass
class Served:
    """A run the launcher forked, and the client connection it answers to."""

    pid: int
    conn: socket.socket
    command: str
    started: float
    killed_at: float | None = None


@dataclass
class Request:
    """One client's command: what the forked child adopts."""

    argv0: str
    argv: list[str]
    cwd: str
    umask: int
    env: dict[str, str]
    fingerprint: str
    ignored: list[int]
    fds: list[int] = field(default_factory=list)


class Launcher:
    """The select loop: accept requests, fork runs, report exits, watch the server."""

    def __init__(self, server_pid: int, api_url: str, lock_fd: int) -> None:
        self.server_pid = server_pid
        self.api_url = api_url
        self.lock_fd = lock_fd
        self.pid = os.getpid()
        self.fingerprint = fingerprint()
        self.baseline = import_time_env(dict(os.environ))
        self.served: dict[int, Served] = {}
        self.stopping = False
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)

    def listen(self) -> None:
        path = socket_path()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a killed launcher's socket (we hold the lock: nobody else's)
        old = os.umask(0o177)
        try:
            self.listener.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self.listener.listen(16)

    def serve(self) -> Request | None:
        """Serve until told to stop; in a forked child, return that child's request."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        while not self.stopping or self.served:
            if self.stopping:
                self._stop_listening()
                self._end_all()
            watched: list[Any] = [self.wake_r, *(s.conn for s in self.served.values())]
            if not self.stopping:
                watched.append(self.listener)
            readable, _, _ = select.select(watched, [], [], 1.0)
            for ready in readable:
                if ready is self.listener and not self.stopping:
                    request = self._accept()
                    if request is not None:
                        return request  # the forked child
                elif ready == self.wake_r:
                    with contextlib.suppress(OSError):
                        os.read(self.wake_r, 4096)
                else:
                    self._from_client(ready)
            self._reap()
            self._kill_overdue()
            if not self.stopping and not _server_alive(self.server_pid):
                _log("the server is gone; stopping")
                self.stopping = True
        return None

    def _on_term(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _stop_listening(self) -> None:
        """Refuse new clients at once (they run directly) while served runs end."""
        if self.listener.fileno() == -1:
            return
        for name in ("launcher.sock", "launcher.json"):
            with contextlib.suppress(OSError):
                (prefect_home() / "launcher" / name).unlink()
        self.listener.close()  # clients still queued read EOF: they run directly

    def close(self) -> None:
        """Remove the socket and the records (in the launcher itself only)."""
        if os.getpid() != self.pid:
            return
        self._stop_listening()
        with contextlib.suppress(OSError):
            (prefect_home() / "launcher" / "launcher.pid").unlink()

    def _accept(self) -> Request | None:
        conn, _ = self.listener.accept()
        conn.settimeout(5.0)
        try:
            request = _read_request(conn)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            _log(f"bad request ({type(exc).__name__}); refused")
            conn.close()
            return None
        refusal = self._refusal(request)
        if refusal is not None:
            _log(f"refused a '{_command_name(request.argv)}' command: {refusal}")
            _reply(conn, {"refused": refusal})
            _close_fds(request.fds)
            conn.close()
            if refusal == "stale code":
                self.stopping = True
            return None
        return self._fork(conn, request)

    def _refusal(self, request: Request) -> str | None:
        """Why the request cannot be served here (None: it can)."""
        if request.fingerprint != self.fingerprint:
            return "stale code" if fingerprint() != self.fingerprint else "other installation"
        if import_time_env(request.env) != self.baseline:
            return "other import-time environment"
        url = request.env.get("PREFECT_API_URL")
        if url and url.rstrip("/") != self.api_url.rstrip("/"):
            return "PREFECT_API_URL names another server"
        import threading

        if threading.active_count() != 1:  # fork is only safe single-threaded
            return "launcher is not single-threaded"
        return None

    def _fork(self, conn: socket.socket, request: Request) -> Request | None:
        command = _command_name(request.argv)
        pid = os.fork()
        if pid == 0:
            self._become_child(conn)
            return request
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here: no window where a signal misses the group
        _close_fds(request.fds)
        with contextlib.suppress(OSError):
            _reply(conn, {"started": pid})
        conn.settimeout(None)
        self.served[pid] = Served(pid, conn, command, time.monotonic())
        _log(f"started run pid {pid} ({command})")
        return None

    def _become_child(self, conn: socket.socket) -> None:
        """In the child: drop every launcher resource (fds, signals, lock)."""
        os.setpgid(0, 0)  # its own process group: the launcher can end it whole
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sock in [self.listener, conn, *(s.conn for s in self.served.values())]:
            sock.close()
        for fd in (self.wake_r, self.wake_w, self.lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.served.clear()

    def _from_client(self, conn: socket.socket) -> None:
        served = next((s for s in self.served.values() if s.conn is conn), None)
        if served is None:
            return
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:  # the client is gone (killed): end its run
            if served.killed_at is None:
                _log(f"client of run pid {served.pid} is gone; ending the run")
                _signal_group(served.pid, signal.SIGTERM)
                served.killed_at = time.monotonic()
            return
        for line in data.splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                signum = int(json.loads(line)["signal"])
                if signum in PID_SIGNALS:
                    with contextlib.suppress(OSError):
                        os.kill(served.pid, signum)
                elif signum in GROUP_SIGNALS:
                    _signal_group(served.pid, signum)

    def _reap(self) -> None:
        while self.served:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            served = self.served.pop(pid, None)
            if served is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            _signal_group(pid, signal.SIGKILL)  # anything of the run left in its group
            seconds = time.monotonic() - served.started
            _log(f"run pid {pid} ({served.command}) exited {code} after {seconds:.1f} s")
            with contextlib.suppress(OSError):
                _reply(served.conn, {"exit": code})
            served.conn.close()

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for served in self.served.values():
            if served.killed_at is not None and now - served.killed_at > GRACE_SECONDS:
                _signal_group(served.pid, signal.SIGKILL)

    def _end_all(self) -> None:
        for served in self.served.values():
            if served.killed_at is None:
                _signal_group(served.pid, signal.SIGTERM)
                served.killed_at = time.monotonic()


def _command_name(argv: list[str]) -> str:
    """The command for the log: a served command's name, else ``?`` (never an argument)."""
    command = _command_of(argv)
    return command if command in SERVED else "?"


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signum)


def _server_alive(pid: int) -> bool:
    return alive(pid)


def _reply(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _read_request(conn: socket.socket) -> Request:
    head, fds, _, _ = socket.recv_fds(conn, HEADER.size, 3)
    while len(head) < HEADER.size:
        more = conn.recv(HEADER.size - len(head))
        if not more:
            raise ValueError("short header")
        head += more
    magic, length = HEADER.unpack(head)
    if magic != MAGIC or len(fds) != 3:
        _close_fds(fds)
        raise ValueError("not a launcher request")
    chunks, got = [], 0
    while got < length:
        chunk = conn.recv(min(65536, length - got))
        if not chunk:
            _close_fds(fds)
            raise ValueError("short request")
        chunks.append(chunk)
        got += len(chunk)
    data = json.loads(b"".join(chunks).decode("utf-8", "surrogateescape"))
    if data.get("protocol") != PROTOCOL:
        _close_fds(fds)
        raise ValueError("other protocol")
    request = Request(
        str(data["argv0"]),
        [str(a) for a in data["argv"]],
        str(data["cwd"]),
        int(data["umask"]),
        {str(k): str(v) for k, v in data["env"].items()},
        str(data["fingerprint"]),
        [int(n) for n in data["ignored"]],
        list(fds),
    )
    return request


def run_child(request: Request) -> int:
    """In the forked child: adopt the client's fds, cwd, umask and environment; run main."""
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
    _close_fds([fd for fd in request.fds if fd > 2])
    os.chdir(request.cwd)
    os.umask(request.umask)
    for signum in request.ignored:
        signal.signal(signum, signal.SIG_IGN)
    api_url = os.environ.get("PREFECT_API_URL")
    os.environ.clear()
    os.environ.update(request.env)
    if os.environ.get("PREFECT_API_URL") != api_url:  # as if set when Prefect was imported
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    time.tzset()
    sys.argv = [request.argv0, *request.argv]
    _reopen_stdio()
    _reset_logging()
    _reseed()
    mark_warm()
    from .execute import adopt_inherited_forkserver

    adopt_inherited_forkserver()
    from .cli import main

    return main(request.argv)


def _reopen_stdio() -> None:
    """New ``sys.std*`` over fds 0-2, buffered as the interpreter does at start-up."""
    import io

    def stream(fd: int, mode: str, old: Any) -> Any:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffered,
            encoding=old.encoding,
            errors=old.errors,
            line_buffering=raw.isatty() or fd == 2,  # as CPython's create_stdio
            write_through=old.write_through,  # python -u / PYTHONUNBUFFERED
        )

    sys.stdin = sys.__stdin__ = stream(0, "r", sys.__stdin__)  # type: ignore[misc]
    sys.stdout = sys.__stdout__ = stream(1, "w", sys.__stdout__)  # type: ignore[misc]
    sys.stderr = sys.__stderr__ = stream(2, "w", sys.__stderr__)  # type: ignore[misc]


def _reset_logging() -> None:
    """Undo what importing Prefect did to the root logger (``cli.main`` configures it)."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def _reseed() -> None:
    """Fresh random state per run (``random`` reseeds itself after a fork; numpy does not)."""
    with contextlib.suppress(ImportError):
        import numpy as np

        np.random.seed()


def _write_record(name: str, text: str) -> None:
    target = launcher_dir() / name
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    """The launcher process: preload, listen, serve; in a forked child, run the command."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m imncohort_flows.launcherd")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--api-url", required=True, help="the shared server's API")
    parser.add_argument("--lock-fd", type=int, required=True, help="launcher.lock, locked")
    args = parser.parse_args(argv)
    lock_fd = args.lock_fd  # held for this process's life (fcntl.flock, inherited)
    _write_record("launcher.pid", str(os.getpid()))
    started = time.time()
    _preload(args.api_url)
    launcher = Launcher(args.server_pid, args.api_url, lock_fd)
    request: Request | None = None
    try:
        launcher.listen()
        ready = time.time() - started
        _write_record(
            "launcher.json",
            json.dumps({"pid": os.getpid(), "started_unix": started, "ready_seconds": ready}),
        )
        _log(f"ready in {ready:.1f} s")
        request = launcher.serve()
    finally:
        if request is None:
            launcher.close()
    if request is not None:
        _exit_like_python(lambda: run_child(request))
    _log("stopped")
    return 0


def _exit_like_python(body: Any) -> None:
    """Run ``body`` and exit as the interpreter would, without tearing down its modules.

    The steps of a normal exit: the exit status of ``SystemExit`` (or a traceback and
    1), joining non-daemon threads, the ``atexit`` functions, flushing the streams.
    Freeing every module of Prefect, pandas and Dask (about a second) is skipped: the
    process ends with ``os._exit``, as multiprocessing's forked children do.
    """
    import atexit
    import threading

    try:
        code: Any = body()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]  # as Py_FinalizeEx does
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code & 0xFF)


if __name__ == "__main__":
    # Run the importable module's main, not this ``__main__`` copy: a child's state
    # (``launched_by``) must be the module the flows import.
    from imncohort_flows.launcherd import main as module_main

    raise SystemExit(module_main())
