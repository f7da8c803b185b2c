"""Classify one walked file and read its header: DICOM instance, aux file or junk.

The cheap path reads the first block of the file and parses it with
:mod:`imncohort.dicom.header`; pydicom reads only what that parser declines
(big endian, deflate, no preamble). Every failure becomes a junk reason a
person understands, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from imncohort.dicom.header import (
    WANTED,
    CorruptHeader,
    NeedMoreData,
    RawHeader,
    TruncatedFile,
    UnsupportedEncoding,
    parse_header,
)
from imncohort.dicom.values import decode_fields
from imncohort.index.records import (
    REASON_EMPTY,
    REASON_NOT_DICOM,
    REASON_PERMISSION,
    REASON_TRUNCATED,
    REASON_VANISHED,
    FileEntry,
    aux_kind,
    forced_parse_allowed,
    kind_of_sop_class,
)
from imncohort.paths import export_file_name

logger = logging.getLogger(__name__)

FIRST_READ_BYTES = 4096
DEFER_SIZE_BYTES = 65536
_UID_CHARS = frozenset("0123456789.")
# A DICOM dataset without preamble starts with a tag of group 0002 or 0008 (either byte order).
_FIRST_GROUPS = frozenset({b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"})


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What one file is.

    ``status`` is ``dicom`` (``fields`` and ``transfer_syntax_uid`` set), ``aux``
    (``kind`` set) or ``junk`` (``reason`` set). ``size`` and ``mtime_ns`` are what
    the read saw (they may differ from the walk's when the file changed in between).
    """

    status: Literal["dicom", "aux", "junk"]
    size: int
    mtime_ns: int
    fields: dict[str, Any] = field(default_factory=dict)
    transfer_syntax_uid: str = ""
    kind: str = ""
    reason: str = ""


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return REASON_VANISHED
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return REASON_PERMISSION
    return f"cannot read the file ({exc.strerror or exc})"


def _junk(entry: FileEntry, reason: str) -> ReadResult:
    return ReadResult("junk", entry.size, entry.mtime_ns, reason=reason)


def read_entry(export_root: str, entry: FileEntry) -> ReadResult:
    """Classify ``entry`` and read its header.

    Parameters
    ----------
    export_root
        The export directory (absolute or relative to the working directory).
    entry
        The walked file; ``entry.path`` is relative to ``export_root``.
    """
    full = export_file_name(export_root, entry.path)
    name = entry.path.rpartition("/")[2]
    try:
        fd = os.open(full, os.O_RDONLY)
    except OSError as exc:
        return _junk(entry, _os_reason(exc))
    try:
        stat = os.fstat(fd)
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
        buf = os.read(fd, FIRST_READ_BYTES)
        kind = aux_kind(name)
        if kind == "dicomdir":
            return ReadResult("aux", size, mtime_ns, kind=kind)
        if len(buf) >= 132 and buf[128:132] == b"DICM":
            return _read_dicom(fd, full, buf, size, mtime_ns)
        if kind is not None:
            return ReadResult("aux", size, mtime_ns, kind=kind)
        if size == 0:
            return ReadResult("junk", size, mtime_ns, reason=REASON_EMPTY)
        if forced_parse_allowed(name) and buf[:2] in _FIRST_GROUPS:
            return _read_forced(full, size, mtime_ns)
        return ReadResult("junk", size, mtime_ns, reason=REASON_NOT_DICOM)
    except OSError as exc:
        return _junk(entry, _os_reason(exc))
    finally:
        os.close(fd)


def _read_dicom(fd: int, full: str, buf: bytes, size: int, mtime_ns: int) -> ReadResult:
    while True:
        try:
            header = parse_header(buf, size)
            break
        except NeedMoreData as more:
            want = min(size, max(more.needed + 4096, 4 * len(buf)))
            if want <= len(buf):
                return _read_with_pydicom(full, size, mtime_ns, force=False)
            buf = os.pread(fd, want, 0)
        except TruncatedFile as exc:
            return ReadResult(
                "junk", size, mtime_ns, reason=REASON_TRUNCATED.format(detail=str(exc))
            )
        except (UnsupportedEncoding, struct.error):
            return _read_with_pydicom(full, size, mtime_ns, force=False)
    return _dicom_result(header, size, mtime_ns)


def _dicom_result(header: RawHeader, size: int, mtime_ns: int) -> ReadResult:
    try:
        fields = decode_fields(header.values, header.little_endian)
    except CorruptHeader as exc:  # never keep the runaway bytes
        return ReadResult("junk", size, mtime_ns, reason=str(exc))
    if fields["dicomdir_offset"]:  # a DICOMDIR under another name
        return ReadResult("aux", size, mtime_ns, kind="dicomdir")
    if header.ended_early and kind_of_sop_class(fields["sop_class_uid"]) == "image":
        # valid but unusual (pydicom's own test files do it): indexed, and said in the log
        logger.debug("image file of %d bytes has no pixel data", size)
    return ReadResult("dicom", size, mtime_ns, fields, header.transfer_syntax_uid)


def _pydicom_header(full: str, force: bool) -> tuple[RawHeader, bool]:
    """Read with pydicom; return the raw wanted values and whether an SOP UID is present."""
    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(full, stop_before_pixels=True, force=force, defer_size=DEFER_SIZE_BYTES)
        values: dict[int, Any] = {}
        for tag in WANTED:
            if tag in ds:
                values[tag] = ds.get_item(tag).value
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = str(getattr(meta, "TransferSyntaxUID", "") or "") if meta else ""
    little = ds.original_encoding[1]
    little_endian = True if little is None else bool(little)
    has_uid = any(
        _is_uid(values.get(tag)) for tag in (0x00080016, 0x00080018, 0x0020000D, 0x0020000E)
    )
    return RawHeader(values, transfer_syntax, little_endian), has_uid


def _is_uid(value: object) -> bool:
    if value is None:
        return False
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip("\x00 ")
    return bool(text) and set(text) <= _UID_CHARS and text[0].isdigit()


def _exception_reason(exc: Exception) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lowered = message.lower()
    if isinstance(exc, EOFError) or "end of file" in lowered or "eof" in lowered:
        return REASON_TRUNCATED.format(detail=message)
    return f"unreadable DICOM header ({message})"


def _read_with_pydicom(full: str, size: int, mtime_ns: int, *, force: bool) -> ReadResult:
    try:
        header, _ = _pydicom_header(full, force)
    except OSError:
        raise
    except Exception as exc:  # pydicom raises many types on bad input
        return ReadResult("junk", size, mtime_ns, reason=_exception_reason(exc))
    return _dicom_result(header, size, mtime_ns)


def _read_forced(full: str, size: int, mtime_ns: int) -> ReadResult:
    """A file without the DICM marker: accept it only when a forced parse finds SOP UIDs."""
    try:
        header, has_uid = _pydicom_header(full, force=True)
    except OSError:
        raise
    except Exception:
        return ReadResult("junk", size, mtime_ns, reason=REASON_NOT_DICOM)
    if not has_uid:
        return ReadResult("junk", size, mtime_ns, reason=REASON_NOT_DICOM)
    return _dicom_result(header, size, mtime_ns)
