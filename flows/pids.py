"""Process helpers shared by the shared server and the warm launcher (no Prefect)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (never reaped) still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def reap_later(process: subprocess.Popen[Any]) -> None:
    """Reap the detached child if it exits while this process still runs (no zombie)."""
    threading.Thread(target=process.wait, name="imncohort-server-reaper", daemon=True).start()


def terminate(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM ``pid``, then SIGKILL after ``timeout`` s; True when it ended in time."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return False
