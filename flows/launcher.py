"""The warm launcher: a process beside the shared server that forks a ready run per command.

Like multiprocessing's forkserver with preload (or emacsclient and nailgun): the
launcher imports Prefect, distributed, pandas and the stage code once, then listens on
a Unix socket, ``IMNCOHORT_PREFECT_HOME/launcher/launcher.sock`` (directory 0700,
socket 0600: requests carry the environment, ``IMNCOHORT_SECRET`` included). The
``imncohort`` entry point (:func:`try_launch`, called first by ``cli.main`` for the
stage commands) sends its argv, cwd, umask, environment and its stdin/stdout/stderr
file descriptors (``SCM_RIGHTS``); the launcher forks a child that adopts them and runs
the normal ``cli.main(argv)``, so terminal detection, progress bars and logs behave as
in a direct run; the exit status goes back to the client, which exits with it.

Why fork is safe here: the launcher never starts a thread. It checks
``threading.active_count() == 1`` before every fork (and refuses, so the client runs
directly, if not). The only other OS threads are the idle worker pools that OpenBLAS
(numpy's and scipy's) and Arrow start on import; both libraries register
``pthread_atfork`` handlers that quiesce the pool before a fork and rebuild it in the
child. The launcher's loop is one thread waiting in ``select``; no lock of the Python
runtime or of ``logging`` is held by anyone else when it forks.

Life cycle: the process that starts the shared server starts the launcher (detached,
``start_new_session``); a run that finds the server without a launcher starts one. An
exclusive ``flock`` on ``launcher.lock``, held for the launcher's whole life, keeps it
to one per home. The launcher exits when the server process is gone (idle stop, ``server
stop``, a kill), on SIGTERM, or when its code changed on disk (an edited installation);
on exit it ends the process groups of the runs it still serves. If the client dies
(SIGKILL), the launcher ends that run's process group; the client forwards SIGINT,
SIGTERM, SIGHUP, SIGQUIT and SIGWINCH to the run. Its log names commands and pids only,
never an argument, path or identifier.

``python -m imncohort_flows.launcher --server-pid PID`` is the launcher process itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imncohort import __version__
from imncohort.config import PREFECT_HOME_ENV, SECRET_ENV, launcher_allowed_by_env, prefect_home

#: The commands the launcher serves (the ones that import Prefect and the stage code).
SERVED = ("run", "index", "reports", "measure", "tables")
PROTOCOL = 1
HEADER = struct.Struct("!4sI")  # magic, payload length
MAGIC = b"IMNL"
CONNECT_TIMEOUT = 2.0
REPLY_TIMEOUT = 60.0
GRACE_SECONDS = 3.0
READY_TIMEOUT = 120.0
#: Environment variables read when the launcher imported its modules: a client whose
#: values differ runs directly (``PREFECT_API_URL`` is compared with the server's URL).
IMPORT_TIME_ENV = (
    "PREFECT_",
    "DASK_",
    "PYTHON",
    "MPL",
    "OMP_",
    "OPENBLAS_",
    "MKL_",
    "LANG",
    "LC_",
    PREFECT_HOME_ENV,
)
#: Signals the client forwards to the run's process group (as a terminal sends them).
GROUP_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGWINCH)
PID_SIGNALS = (signal.SIGTERM,)

#: How this process was started: "warm" in a child of the launcher, else "direct".
_LAUNCHED = "direct"
#: The environment as the command started (``cli.main`` imports this module first): a
#: launcher started later in a run gets it, not what the run added since (a local Dask
#: cluster sets ``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED`` and more in its process).
_ENV_AT_START = dict(os.environ)


def launched_by() -> str:
    """Return ``"warm"`` in a run the launcher forked, ``"direct"`` otherwise (run.json)."""
    return _LAUNCHED


def launcher_dir() -> Path:
    """Return ``IMNCOHORT_PREFECT_HOME/launcher`` (created 0700)."""
    path = prefect_home() / "launcher"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def socket_path() -> Path:
    """The launcher's Unix socket (exists while it accepts requests)."""
    return prefect_home() / "launcher" / "launcher.sock"


def fingerprint() -> str:
    """Digest of this installation: interpreter, version and newest source file times.

    An edited checkout (editable install) changes it, so a launcher holding old code
    stops serving (and exits) instead of running stale modules.
    """
    import imncohort

    digest = hashlib.sha256(f"{sys.executable}\0{__version__}\0{PROTOCOL}".encode())
    for root in (Path(imncohort.__file__).parent, Path(__file__).parent):
        digest.update(str(root).encode())
        newest = 0
        stack = [str(root)]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                        stack.append(entry.path)
                    elif entry.name.endswith((".py", ".yaml")):
                        newest = max(newest, entry.stat().st_mtime_ns)
        digest.update(str(newest).encode())
    return digest.hexdigest()


def import_time_env(env: dict[str, str]) -> dict[str, str]:
    """The variables of ``env`` that imported modules read (see ``IMPORT_TIME_ENV``)."""
    return {
        k: v for k, v in env.items() if k.startswith(IMPORT_TIME_ENV) and k != "PREFECT_API_URL"
    }


# --- the client (the ``imncohort`` process) ---------------------------------------------


def _command_of(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if arg in ("-v", "--verbose"):
            continue
        return arg if not arg.startswith("-") else None
    return None


def try_launch(argv: Sequence[str]) -> int | None:
    """Run ``argv`` in the warm launcher; return its exit status, or None to run directly.

    None whenever no launcher answers, it refuses (another installation, other
    import-time environment, another ``PREFECT_API_URL``), or anything fails before the
    run starts: the caller then runs the command in-process, as without a launcher.
    """
    if _LAUNCHED == "warm" or _command_of(argv) not in SERVED or not launcher_allowed_by_env():
        return None
    path = socket_path()
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(str(path))
        umask = os.umask(0o077)
        os.umask(umask)
        request = {
            "protocol": PROTOCOL,
            "fingerprint": fingerprint(),
            "argv0": sys.argv[0] if sys.argv else "imncohort",
            "argv": list(argv),
            "cwd": os.getcwd(),
            "umask": umask,
            "env": dict(os.environ),
            "ignored": _ignored_signals(),
        }
        payload = json.dumps(request).encode("utf-8", "surrogateescape")
        socket.send_fds(sock, [HEADER.pack(MAGIC, len(payload))], [0, 1, 2])
        sock.sendall(payload)
        sock.settimeout(REPLY_TIMEOUT)  # long: a client that gave up early would race its run
        reader = sock.makefile("rb")
        reply = json.loads(reader.readline() or b"{}")
    except (OSError, ValueError):
        sock.close()
        return None
    if "started" not in reply:
        sock.close()
        return None
    sock.settimeout(None)
    return _wait_for_exit(sock, reader, int(reply["started"]))


def _ignored_signals() -> list[int]:
    """The forwarded signals this process ignores (``nohup``, ``&``): the run ignores them too."""
    return [s for s in (*GROUP_SIGNALS, *PID_SIGNALS) if signal.getsignal(s) == signal.SIG_IGN]


def _wait_for_exit(sock: socket.socket, reader: Any, child: int) -> int:
    """Forward signals to the run until the launcher reports its exit; return the status."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(json.dumps({"signal": signum}).encode() + b"\n")

    for signum in (*GROUP_SIGNALS, *PID_SIGNALS):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, forward)
    try:
        line = reader.readline()
    except OSError:
        line = b""
    try:
        code = int(json.loads(line)["exit"]) if line else None
    except (ValueError, KeyError, TypeError):
        code = None
    if code is None:  # the launcher died: never leave the run behind
        with contextlib.suppress(OSError):
            os.killpg(child, signal.SIGTERM)
        sys.stderr.write("imncohort: error: the warm launcher stopped during the run\n")
        return 1
    if code < 0:  # the run died of a signal: so does this process
        for signum in (*GROUP_SIGNALS, *PID_SIGNALS):
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


# --- starting, finding and stopping the launcher -----------------------------------------


@dataclass(frozen=True)
class LauncherInfo:
    """What ``launcher.json`` says about a ready launcher."""

    pid: int
    started_unix: float
    ready_seconds: float


def read_launcher() -> LauncherInfo | None:
    """Return the ready launcher, or None (none recorded, or its process is gone)."""
    from .server import _alive

    try:
        data = json.loads((prefect_home() / "launcher" / "launcher.json").read_text("utf-8"))
        info = LauncherInfo(
            int(data["pid"]), float(data["started_unix"]), float(data["ready_seconds"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _alive(info.pid) and socket_path().exists() else None


def _lock_free() -> bool:
    """True when no launcher (starting or ready) holds ``launcher.lock``."""
    fd = _take_lock()
    if fd is None:
        return False
    os.close(fd)
    return True


def _take_lock() -> int | None:
    """Open and ``flock`` ``launcher.lock``; None when a launcher holds it."""
    fd = os.open(launcher_dir() / "launcher.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def ensure_launcher(server_pid: int, enabled: bool = True) -> subprocess.Popen[bytes] | None:
    """Start a launcher for the server ``server_pid`` unless one runs; return the new one.

    Costs an ``flock`` when a launcher runs; else one detached ``Popen`` (the launcher
    imports in its own process, beside the caller's run). The lock is taken here and
    handed to the launcher, so two runs starting at once start one launcher.
    """
    if not enabled or not launcher_allowed_by_env():
        return None
    lock_fd = _take_lock()
    if lock_fd is None:
        return None
    env = {k: v for k, v in _ENV_AT_START.items() if k not in ("PREFECT_API_URL", SECRET_ENV)}
    try:
        log = os.open(
            launcher_dir() / "launcher.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imncohort_flows.launcher",
                "--server-pid",
                str(server_pid),
                "--lock-fd",
                str(lock_fd),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd="/",
            pass_fds=(lock_fd,),
            start_new_session=True,  # not in the caller's process group: a ^C of a run spares it
        )
        os.close(log)
    finally:
        os.close(lock_fd)  # the launcher holds the lock now
    from .server import _reap_later

    _reap_later(process)
    return process


def wait_ready(timeout: float = READY_TIMEOUT) -> LauncherInfo | None:
    """Wait until a launcher is ready (or none is starting); return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_launcher()
        if info is not None:
            return info
        if _lock_free():  # nobody is starting one
            return None
        time.sleep(0.1)
    return None


def stop_launcher(timeout: float = 15.0) -> LauncherInfo | None:
    """Stop the launcher (and the runs it serves); return what was stopped."""
    from .server import _terminate

    info = read_launcher()
    pid = info.pid if info is not None else _starting_pid()
    if pid is None:
        return None
    _terminate(pid, timeout)
    return info or LauncherInfo(pid, 0.0, 0.0)


def _starting_pid() -> int | None:
    """The pid of a launcher still importing (it writes ``launcher.pid`` first)."""
    from .server import _alive

    try:
        pid = int((prefect_home() / "launcher" / "launcher.pid").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) and not _lock_free() else None


def status_lines() -> list[str]:
    """Lines of ``imncohort server status`` about the launcher."""
    info = read_launcher()
    if info is None:
        if _starting_pid() is not None:
            return ["warm launcher: starting"]
        return ["warm launcher: not running (stage commands start directly)"]
    return [
        f"warm launcher: pid {info.pid}, ready in {info.ready_seconds:.1f} s; "
        "serves run, index, reports, measure, tables (IMNCOHORT_LAUNCHER=0: off)"
    ]


# --- the launcher process -----------------------------------------------------------------


def _log(message: str) -> None:
    """One line of the launcher's log (commands and pids only: no paths, no arguments)."""
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} launcher {os.getpid()}: {message}\n")
    sys.stderr.flush()


def _preload() -> None:
    """Import what every stage command imports, without starting any thread."""
    import importlib

    from .runtime import configure_prefect_environment

    configure_prefect_environment()
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
    ):
        importlib.import_module(name)


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

    def __init__(self, server_pid: int, lock_fd: int) -> None:
        self.server_pid = server_pid
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
            _log(f"refused a '{_command_of(request.argv)}' command: {refusal}")
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
        from .server import read_info

        server = read_info()
        url = request.env.get("PREFECT_API_URL")
        if url and (server is None or url.rstrip("/") != server.api_url.rstrip("/")):
            return "PREFECT_API_URL names another server"
        import threading

        if threading.active_count() != 1:  # fork is only safe single-threaded
            return "launcher is not single-threaded"
        return None

    def _fork(self, conn: socket.socket, request: Request) -> Request | None:
        command = _command_of(request.argv) or "?"
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


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signum)


def _server_alive(pid: int) -> bool:
    from .server import _alive

    return _alive(pid)


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
    global _LAUNCHED
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
    _LAUNCHED = "warm"
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

    parser = argparse.ArgumentParser(prog="python -m imncohort_flows.launcher")
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--lock-fd", type=int, required=True, help="launcher.lock, locked")
    args = parser.parse_args(argv)
    lock_fd = args.lock_fd  # held for this process's life (fcntl.flock, inherited)
    _write_record("launcher.pid", str(os.getpid()))
    started = time.time()
    _preload()
    launcher = Launcher(args.server_pid, lock_fd)
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
    from imncohort_flows.launcher import main as module_main

    raise SystemExit(module_main())
