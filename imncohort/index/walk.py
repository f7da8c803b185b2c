"""Walk an export once with ``os.scandir``: every regular file with its size and mtime.

The export is the scope. A symbolic link whose target lies outside the export is
recorded as an error and not followed (a link to ``/`` would walk the whole
filesystem). Links inside it are followed: a link to a directory is walked once, by
its real directory (a loop is an error; a second link to a walked directory is
skipped), and a file reached by several paths (links, hard links) is indexed once,
by its own path, the other paths listed as errors. Unreadable directories and broken
links are recorded as errors. Paths are stored in the lossless text form of
:mod:`imncohort.paths` (names that are not UTF-8 included).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imncohort.index.records import STAGE, FileEntry
from imncohort.outputs import ErrorRecord
from imncohort.paths import stored_name

logger = logging.getLogger(__name__)

REASON_LOOP = "symbolic link loop: points at a directory above it or at itself; not followed"
REASON_OUTSIDE = "symbolic link to a place outside the export; not followed"
REASON_SAME_FILE = "the same file as '{kept}' (a link or hard link); indexed once, under that path"


@dataclass(frozen=True)
class WalkResult:
    """The files of an export (sorted by path) and the directory-level errors."""

    entries: list[FileEntry]
    errors: list[ErrorRecord]


Ident = tuple[int, int]  # (st_dev, st_ino)
#: (absolute dir, relative prefix, identities of the dirs above it)
Pending = tuple[str, str, frozenset[Ident]]


@dataclass
class _WalkState:
    """What one walk has found so far, and the directories still to list."""

    real_root: str
    entries: list[FileEntry] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    identities: list[Ident] = field(default_factory=list)  # of entries[i]
    linked: set[int] = field(default_factory=set)  # entries reached through a symbolic link
    shared: set[Ident] = field(default_factory=set)  # identities that may be reached twice
    seen_dirs: set[Ident] = field(default_factory=set)
    stack: list[Pending] = field(default_factory=list)
    # linked directories wait until every real one is walked, so files keep their own paths
    deferred: list[tuple[str, str, frozenset[Ident], Ident]] = field(default_factory=list)

    def next_directory(self) -> Pending | None:
        """The next directory to list (real ones first, then linked ones), else None."""
        while not self.stack and self.deferred:
            link_path, link_prefix, link_ancestors, link_ident = self.deferred.pop(0)
            if link_ident in self.seen_dirs:
                logger.debug("skipping a second link to a directory already walked")
                continue
            self.seen_dirs.add(link_ident)
            self.stack.append((link_path, link_prefix, link_ancestors))
        return self.stack.pop() if self.stack else None


def _list_directory(
    directory: str, prefix: str, errors: list[ErrorRecord]
) -> list[os.DirEntry[str]]:
    """The entries of one directory ([] and an error record when it cannot be listed)."""
    try:
        with os.scandir(directory) as it:
            return list(it)
    except OSError as exc:
        reason = (
            "permission denied (directory not walked)"
            if isinstance(exc, PermissionError)
            else f"cannot list directory ({exc.strerror or exc})"
        )
        errors.append(ErrorRecord(prefix.rstrip("/") or ".", STAGE, reason))
        return []


def _not_a_plain_file(
    state: _WalkState, child: os.DirEntry[str], rel: str, ancestors: frozenset[Ident]
) -> None:
    """A directory, a symbolic link or a special file: follow, defer or record it."""
    if child.is_symlink() and not _inside(os.path.realpath(child.path), state.real_root):
        state.errors.append(ErrorRecord(rel, STAGE, REASON_OUTSIDE))
        return
    if child.is_dir(follow_symlinks=True):
        st = child.stat(follow_symlinks=True)
        ident = (st.st_dev, st.st_ino)
        if ident in ancestors:
            state.errors.append(ErrorRecord(rel, STAGE, REASON_LOOP))
            return
        if child.is_symlink():
            state.deferred.append((child.path, rel + "/", ancestors | {ident}, ident))
            return
        if ident in state.seen_dirs:
            logger.debug("skipping a second link to a directory already walked")
            return
        state.seen_dirs.add(ident)
        state.stack.append((child.path, rel + "/", ancestors | {ident}))
    elif child.is_file(follow_symlinks=True):
        st = child.stat(follow_symlinks=True)
        state.linked.add(len(state.entries))
        state.shared.add((st.st_dev, st.st_ino))
        state.entries.append(FileEntry(rel, st.st_size, st.st_mtime_ns))
        state.identities.append((st.st_dev, st.st_ino))
    elif child.is_symlink():
        os.stat(child.path)  # raises the reason (loop or missing target)


def _stat_failure(exc: OSError, child: os.DirEntry[str]) -> str:
    """Why an entry could not be walked ("" for a file that vanished during the walk)."""
    if exc.errno == errno.ELOOP:  # a link pointing at itself, directly or not
        return REASON_LOOP
    if isinstance(exc, FileNotFoundError):
        if not child.is_symlink():
            return ""  # vanished during the walk: simply not there
        return "broken symbolic link (its target does not exist)"
    return f"cannot stat ({exc.strerror or exc})"


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
    state = _WalkState(real_root=os.path.realpath(root))
    entries, identities, shared, errors = (
        state.entries,
        state.identities,
        state.shared,
        state.errors,
    )
    root_stat = os.stat(root)
    state.seen_dirs.add((root_stat.st_dev, root_stat.st_ino))
    state.stack.append((root, "", frozenset(state.seen_dirs)))
    while (pending := state.next_directory()) is not None:
        directory, prefix, ancestors = pending
        for child in _list_directory(directory, prefix, errors):
            rel = prefix + stored_name(child.name)
            try:
                if child.is_file(follow_symlinks=False):  # the common case: no extra syscall
                    st = child.stat(follow_symlinks=False)
                    entries.append(FileEntry(rel, st.st_size, st.st_mtime_ns))
                    identities.append((st.st_dev, st.st_ino))
                    if st.st_nlink > 1:
                        shared.add((st.st_dev, st.st_ino))
                    if on_progress is not None and len(entries) % 10_000 == 0:
                        on_progress(len(entries))
                    continue
                if excluded is not None and child.path == excluded:
                    continue
                _not_a_plain_file(state, child, rel, ancestors)
            except OSError as exc:
                reason = _stat_failure(exc, child)
                if reason:
                    errors.append(ErrorRecord(rel, STAGE, reason))
    found = entries
    if shared:
        found = _once_per_file(entries, identities, state.linked, shared, errors)
    found.sort(key=lambda e: e.path)
    errors.sort(key=lambda e: e.path)
    return WalkResult(found, errors)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _once_per_file(
    entries: list[FileEntry],
    identities: list[tuple[int, int]],
    linked: set[int],
    shared: set[tuple[int, int]],
    errors: list[ErrorRecord],
) -> list[FileEntry]:
    """Keep one path per file: its own (not a link's), else the first in sort order."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, ident in enumerate(identities):
        if ident in shared:
            groups.setdefault(ident, []).append(i)
    dropped: set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (i in linked, entries[i].path))
        kept = entries[members[0]].path
        for i in members[1:]:
            dropped.add(i)
            errors.append(ErrorRecord(entries[i].path, STAGE, REASON_SAME_FILE.format(kept=kept)))
    return [e for i, e in enumerate(entries) if i not in dropped]
