"""Atomic output writing and the shared ``errors.csv`` record.

Every file is written to a temporary name in the same directory and renamed,
so an interrupted run leaves the previous outputs whole. Where a file goes is
:class:`imncohort.layout.OutLayout`'s business; what columns a table has is
:mod:`imncohort.schemas`'.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from imncohort.errors import ExportError, OutputError
from imncohort.layout import RESTRICTED


@dataclass(frozen=True)
class ErrorRecord:
    """One bad input: ``path`` relative to the export, the ``stage``, and a readable ``reason``."""

    path: str
    stage: str
    reason: str


TMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """Return the process umask (read from /proc where possible, which changes nothing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def is_private(path: Path) -> bool:
    """Whether ``path`` lies under a ``restricted`` folder (0700 folders, 0600 files)."""
    return RESTRICTED in Path(path).parts[:-1]


def output_mode(target: Path) -> int:
    """Mode of a new output file: 0600 under ``restricted/``, else 0666 minus the umask."""
    return 0o600 if is_private(target) else 0o666 & ~current_umask()


def make_dirs(directory: Path) -> None:
    """Create ``directory`` and its parents; folders under ``restricted/`` become 0700."""
    directory = Path(directory)
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    if is_private(directory / "x"):
        parts = directory.parts
        for i in range(parts.index(RESTRICTED) + 1, len(parts) + 1):
            with contextlib.suppress(OSError):
                os.chmod(Path(*parts[:i]), 0o700)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The file gets :func:`output_mode` (``mkstemp`` alone would make every output 0600).
    """
    target = Path(target)
    make_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    try:
        os.fchmod(fd, output_mode(target))
    finally:
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(target: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``target`` and rename it onto ``target`` on success."""
    with atomic_path(target) as tmp:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


#: Encoding of the CSVs people open in a spreadsheet (cohort, worklist, tables): UTF-8
#: with a byte-order mark, so Excel shows Chinese text correctly; pandas and
#: ``encoding="utf-8-sig"`` readers skip the mark.
SPREADSHEET_ENCODING = "utf-8-sig"


def write_csv(frame: pd.DataFrame, target: Path, spreadsheet: bool = False) -> Path:
    """Write ``frame`` as CSV (no index) atomically.

    With ``spreadsheet=True`` the file is UTF-8 with a byte-order mark
    (:data:`SPREADSHEET_ENCODING`), for files people open in Excel.
    """
    encoding = SPREADSHEET_ENCODING if spreadsheet else "utf-8"
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, encoding=encoding)
    return Path(target)


def write_parquet(frame: pd.DataFrame, target: Path) -> Path:
    """Write ``frame`` as Parquet (no index) atomically."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(target)


def write_json(data: object, target: Path) -> Path:
    """Write ``data`` as indented, key-sorted JSON atomically."""
    with atomic_open(target) as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
    return Path(target)


def ensure_writable(out: Path) -> Path:
    """Create ``out`` if needed and check it can be written; raise :class:`OutputError`."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe.", delete=True):
            pass
    except OSError as exc:
        raise OutputError(
            f"output directory '{out}' is not writable ({exc.strerror}); choose another --out"
        ) from None
    return out


def check_paths(export: Path, out: Path) -> tuple[Path, Path]:
    """Check the export exists and OUT is writable and outside the export."""
    export = Path(export)
    if not export.exists():
        raise ExportError(f"export directory '{export}' does not exist; pass the PACS export path")
    if not export.is_dir():
        raise ExportError(f"export '{export}' is not a directory; pass the PACS export folder")
    out_resolved = Path(out).resolve()
    export_resolved = export.resolve()
    if out_resolved == export_resolved or export_resolved in out_resolved.parents:
        raise ExportError(
            f"--out '{out}' lies inside the export '{export}', which is read-only; "
            "choose an output directory outside it"
        )
    return export, ensure_writable(Path(out))
