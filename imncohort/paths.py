"""Export paths as stored in tables: lossless text for any file name, even non-UTF-8.

POSIX file names are bytes; SMB exports often hold names in a Windows code page that
are not valid UTF-8, which ``os.scandir`` returns with lone surrogates and which Parquet,
CSV and terminals cannot take. A stored path is the name's UTF-8 text, with each byte
that is not part of valid UTF-8 written as ``\\xNN`` and a backslash (never a separator
on Windows shares) written as ``\\\\``. Every other name is stored unchanged, and the
mapping is reversible: :func:`export_file` gives back the exact bytes to open.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_ESCAPE = re.compile(rb"\\(\\|x[0-9a-f]{2})")


def stored_name(name: str) -> str:
    """Return the stored form of a name or relative path as ``os`` functions return it."""
    if name.isascii() and "\\" not in name:
        return name
    raw = os.fsencode(name).replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def os_name(stored: str) -> str:
    """Return the ``os`` form (surrogate-escaped str) of a stored name or path."""
    if "\\" not in stored:
        return stored
    raw = _ESCAPE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]),
        stored.encode("utf-8"),
    )
    return os.fsdecode(raw)


def export_file(export: Path | str, stored: str) -> Path:
    """Return the file of the export that the stored relative path names."""
    return Path(export_file_name(os.fspath(export), stored))


def export_file_name(export: str, stored: str) -> str:
    """:func:`export_file` as a string, without building a ``Path`` (once per file read)."""
    return os.path.join(export, os_name(stored))


def file_stamp(path: Path | str) -> tuple[int, int, int] | None:
    """``(inode, size, modification time in ns)`` of a file, None when it cannot be read.

    Tells a replaced file apart from the one read before (a file replaced by rename gets
    a new inode even when its size and time match).
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)
