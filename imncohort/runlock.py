"""One run per OUT: an exclusive ``fcntl`` lock on ``OUT/.imncohort.lock``.

The kernel releases the lock when the process holding it ends, however it ends
(SIGKILL, a crash, a reboot), so a lock a dead run left behind never blocks the
next one; the pid written in the file only serves the message. The file itself
holds nothing but that pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from imncohort.errors import LockedError, OutputError
from imncohort.layout import OutLayout

LOCK_NAME = OutLayout("").lock.name


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


@contextlib.contextmanager
def out_lock(out: Path | str) -> Iterator[Path]:
    """Hold the lock of ``out`` for the duration of the block.

    Raises
    ------
    LockedError
        At once (no waiting) when another live process holds the lock.
    """
    path = OutLayout(out).lock
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot create the lock file '{path}': {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            who = f"run (pid {pid})" if pid else "run"
            raise LockedError(
                f"another imncohort {who} is writing to '{out}'; wait for it to finish "
                "or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing releases the lock
