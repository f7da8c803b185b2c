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

The launcher process itself is :mod:`imncohort_flows.launcherd`; this module is what the
command line, the server and the runs use (client, start, stop, status).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imncohort import __version__
from imncohort.envvars import PREFECT_HOME_ENV, SECRET_ENV, launcher_allowed_by_env, prefect_home

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


def mark_warm() -> None:
    """Record that this process is a run the launcher forked (``launched_by``)."""
    global _LAUNCHED
    _LAUNCHED = "warm"


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
    """The command of ``argv`` (after ``-v``), or None; never logs more than its name."""
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
    from .pids import alive as _alive

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


def ensure_launcher(
    server_pid: int, api_url: str, enabled: bool = True
) -> subprocess.Popen[bytes] | None:
    """Start a launcher for the server ``server_pid`` (at ``api_url``) unless one runs.

    Returns the new launcher process, if one was started.

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
                "imncohort_flows.launcherd",
                "--server-pid",
                str(server_pid),
                "--api-url",
                api_url,
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
    from .pids import reap_later as _reap_later

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
    from .pids import terminate as _terminate

    info = read_launcher()
    pid = info.pid if info is not None else _starting_pid()
    if pid is None:
        return None
    _terminate(pid, timeout)
    return info or LauncherInfo(pid, 0.0, 0.0)


def _starting_pid() -> int | None:
    """The pid of a launcher still importing (it writes ``launcher.pid`` first)."""
    from .pids import alive as _alive

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
