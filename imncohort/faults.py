"""Fault injection for the interruption tests: die or meet a full disk at a named point.

``IMNCOHORT_FAULT=kill@index.manifest`` SIGKILLs the run (the main process, whose pid
the run publishes in ``IMNCOHORT_FAULT_PID``, then the caller) when the code reaches
``checkpoint("index.manifest")``; ``enospc@<point>`` raises ``OSError(ENOSPC)`` there;
``hang@<point>`` sleeps there (at most 10 minutes) until the test interrupts or kills it.
Unset (always, outside tests) a checkpoint costs one dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import signal

from imncohort.config import fault_from_env

MAIN_PID_ENV = "IMNCOHORT_FAULT_PID"


def publish_main_pid() -> None:
    """Let checkpoints in worker processes find the main process (inherited env)."""
    if fault_from_env():
        os.environ[MAIN_PID_ENV] = str(os.getpid())


def checkpoint(point: str) -> None:
    """Act on the injected fault named ``point``, if any."""
    spec = fault_from_env()
    if not spec:
        return
    action, _, where = spec.partition("@")
    if where != point:
        return
    if action == "hang":
        import time

        time.sleep(600)
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if action == "kill":
        main = int(os.environ.get(MAIN_PID_ENV, "0") or 0)
        if main and main != os.getpid():
            os.kill(main, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
