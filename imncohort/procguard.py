"""A watchdog that ends the helper processes of a run whose main process was killed.

A SIGKILLed process cannot clean up: its Prefect API server, Dask scheduler and
workers would live on. :func:`start_guard` starts this module as a small separate
process holding a pipe from the run; it notes the run's descendants twice a second
and, when the pipe closes while the run is gone, ends the ones it noted (SIGTERM,
then SIGKILL). A run that ends normally closes the pipe first and nothing is killed.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys

POLL_SECONDS = 0.5
GRACE_SECONDS = 3.0


def start_guard() -> subprocess.Popen[bytes]:
    """Start the watchdog of this process; :func:`stop_guard` it when the run ends."""
    return subprocess.Popen(
        [sys.executable, "-m", "imncohort.procguard", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,  # a Ctrl-C of the terminal leaves it to the run's own cleanup
    )


def stop_guard(guard: subprocess.Popen[bytes]) -> None:
    """Tell the watchdog the run ended normally (it exits without killing anything)."""
    if guard.stdin is not None:
        guard.stdin.close()
    try:
        guard.wait(timeout=10)
    except subprocess.TimeoutExpired:
        guard.kill()


def _watch(parent_pid: int) -> None:
    import psutil

    me = os.getpid()
    noted: dict[int, float] = {}
    try:
        parent = psutil.Process(parent_pid)
    except psutil.Error:
        return
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the pipe closed: normal end, or the run died
        try:
            for child in parent.children(recursive=True):
                if child.pid != me:
                    noted.setdefault(child.pid, child.create_time())
        except psutil.Error:
            break
    if _alive(parent):
        return  # a normal end
    victims = []
    for pid, created in noted.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created:
                process.terminate()
                victims.append(process)
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(victims, timeout=GRACE_SECONDS)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            continue


def _alive(process: object) -> bool:
    import psutil

    try:
        assert isinstance(process, psutil.Process)
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


if __name__ == "__main__":  # pragma: no cover - runs as the watchdog process
    _watch(int(sys.argv[1]))
