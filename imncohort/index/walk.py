"""Walk an export once with ``os.scandir``: every regular file with its size and mtime.

Symbolic links to files are followed. A symbolic link to a directory is walked
once, by its real directory: a link back to a directory already on the walk
(a loop) is recorded as an error and not followed, a second link to a
directory already walked is skipped. Unreadable directories and broken links
are recorded as errors.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imncohort.index.records import STAGE, FileEntry
from imncohort.outputs import ErrorRecord

logger = logging.getLogger(__name__)

REASON_LOOP = "symbolic link loop: points at a directory above it or at itself; not followed"


@dataclass(frozen=True)
class WalkResult:
    """The files of an export (sorted by path) and the directory-level errors."""

    entries: list[FileEntry]
    errors: list[ErrorRecord]


def walk_export(
    export: Path | str,
    exclude: Path | str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> WalkResult:
    """Return every file under ``export`` with ``(path, size, mtime_ns)``.

    Parameters
    ----------
    export
        The export root. Paths in the result are POSIX paths relative to it.
    exclude
        A directory not to walk (the output directory, when it lies inside the export).
    on_progress
        Called with the number of files found so far, every 10,000 files.
    """
    root = os.path.abspath(export)
    excluded = os.path.abspath(exclude) if exclude is not None else None
    entries: list[FileEntry] = []
    errors: list[ErrorRecord] = []
    root_stat = os.stat(root)
    seen_dirs: set[tuple[int, int]] = {(root_stat.st_dev, root_stat.st_ino)}
    # stack of (absolute dir, relative prefix, identities of the dirs above it)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [(root, "", frozenset(seen_dirs))]
    while stack:
        directory, prefix, ancestors = stack.pop()
        try:
            with os.scandir(directory) as it:
                children = list(it)
        except OSError as exc:
            reason = (
                "permission denied (directory not walked)"
                if isinstance(exc, PermissionError)
                else f"cannot list directory ({exc.strerror or exc})"
            )
            errors.append(ErrorRecord(prefix.rstrip("/") or ".", STAGE, reason))
            continue
        for child in children:
            rel = prefix + child.name
            try:
                if child.is_file(follow_symlinks=False):  # the common case: no extra syscall
                    st = child.stat(follow_symlinks=False)
                    entries.append(FileEntry(rel, st.st_size, st.st_mtime_ns))
                    if on_progress is not None and len(entries) % 10_000 == 0:
                        on_progress(len(entries))
                    continue
                if excluded is not None and child.path == excluded:
                    continue
                if child.is_dir(follow_symlinks=True):
                    st = child.stat(follow_symlinks=True)
                    ident = (st.st_dev, st.st_ino)
                    if ident in ancestors:
                        errors.append(ErrorRecord(rel, STAGE, REASON_LOOP))
                        continue
                    if ident in seen_dirs:
                        logger.debug("skipping a second link to a directory already walked")
                        continue
                    seen_dirs.add(ident)
                    stack.append((child.path, rel + "/", ancestors | {ident}))
                elif child.is_file(follow_symlinks=True):
                    st = child.stat(follow_symlinks=True)
                    entries.append(FileEntry(rel, st.st_size, st.st_mtime_ns))
                elif child.is_symlink():
                    os.stat(child.path)  # raises the reason (loop or missing target)
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a link pointing at itself, directly or not
                    reason = REASON_LOOP
                elif isinstance(exc, FileNotFoundError):
                    if not child.is_symlink():
                        continue  # vanished during the walk: simply not there
                    reason = "broken symbolic link (its target does not exist)"
                else:
                    reason = f"cannot stat ({exc.strerror or exc})"
                errors.append(ErrorRecord(rel, STAGE, reason))
    entries.sort(key=lambda e: e.path)
    errors.sort(key=lambda e: e.path)
    return WalkResult(entries, errors)
