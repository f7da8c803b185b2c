"""DICOMDIR files, read as a hint only: record entries that point at missing files.

The tree is always walked; a DICOMDIR never adds or removes an instance.
"""

from __future__ import annotations

import logging
import posixpath
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from imncohort.index.records import REASON_DICOMDIR_MISSING, STAGE
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DicomdirHint:
    """What one DICOMDIR lists: record counts by type and the referenced files (export paths)."""

    path: str
    record_counts: dict[str, int]
    referenced: list[str] = field(default_factory=list)


def read_dicomdir(export: Path | str, path: str) -> DicomdirHint:
    """Read the DICOMDIR at ``path`` (relative to ``export``).

    Raises
    ------
    Exception
        Whatever pydicom raises on an unreadable file; :func:`check_dicomdirs` records it.
    """
    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(export_file(export, path), force=True)
        records = list(ds.get("DirectoryRecordSequence", []))
    base = posixpath.dirname(path)
    counts: Counter[str] = Counter()
    referenced: list[str] = []
    for record in records:
        counts[str(record.get("DirectoryRecordType", "")).strip()] += 1
        file_id = record.get("ReferencedFileID")
        if file_id is None:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        parts = [p.strip() for p in parts if str(p).strip()]
        if parts:
            referenced.append(posixpath.join(base, *parts) if base else posixpath.join(*parts))
    return DicomdirHint(path, dict(counts), referenced)


def check_dicomdirs(
    export: Path | str, dicomdir_paths: Iterable[str], walked: set[str]
) -> tuple[list[DicomdirHint], list[ErrorRecord]]:
    """Read every DICOMDIR and record its entries that point at files not in the walk.

    Parameters
    ----------
    export
        The export root.
    dicomdir_paths
        The DICOMDIR files found by the walk (paths relative to ``export``).
    walked
        Every walked file path; a referenced file is missing when it is not in this set
        (compared case-insensitively as a fallback, as media file IDs are upper case).
    """
    hints: list[DicomdirHint] = []
    errors: list[ErrorRecord] = []
    lowered: set[str] | None = None
    for path in sorted(dicomdir_paths):
        try:
            hint = read_dicomdir(export, path)
        except Exception as exc:  # pydicom raises many types on a bad file
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            errors.append(ErrorRecord(path, STAGE, f"unreadable DICOMDIR ({message})"))
            continue
        hints.append(hint)
        for ref in hint.referenced:
            if ref in walked:
                continue
            if lowered is None:
                lowered = {p.lower() for p in walked}
            if ref.lower() in lowered:
                continue
            errors.append(ErrorRecord(ref, STAGE, f"{REASON_DICOMDIR_MISSING} (listed in {path})"))
    return hints, errors
