"""A fast reader of the few DICOM header elements the index needs.

The parser walks the top-level data elements of a Part 10 file held in a bytes
buffer (explicit or implicit VR little endian, the encodings of nearly every
PACS export), keeps the raw bytes of the wanted tags and stops at the first
tag past the last one it needs, long before the pixel data. The element loop
is :mod:`imncohort.dicom.elements`; sequences are skipped without being parsed
into datasets. Anything unusual (big endian, deflate, a private transfer syntax,
a malformed VR) raises :class:`UnsupportedEncoding` and the caller falls back
to pydicom.

Values are decoded by :func:`imncohort.dicom.values.decode_fields`, which is
shared with the pydicom fallback so both paths produce identical rows.
"""

from __future__ import annotations

import operator
import struct
import threading
from dataclasses import dataclass

from imncohort.dicom.elements import (
    LONG_VRS,
    UNDEFINED,
    NeedMoreData,
    TruncatedFile,
    UnsupportedEncoding,
    element_header,
    explicit_vr,
    need,
    read_file_meta,
    skip_sequence,
    tag_text,
    trace_elements,
)
from imncohort.errors import InputError

__all__ = [
    "MAX_VALUE_BYTES",
    "WANTED",
    "CorruptHeader",
    "NeedMoreData",
    "RawHeader",
    "TruncatedFile",
    "UnsupportedEncoding",
    "check_value",
    "parse_header",
]

# tag -> (field name, value type)
WANTED: dict[int, tuple[str, str]] = {
    0x00041200: ("dicomdir_offset", "PRESENT"),
    0x00080005: ("specific_character_set", "CS"),
    0x00080016: ("sop_class_uid", "UI"),
    0x00080018: ("sop_instance_uid", "UI"),
    0x00080020: ("study_date", "DA"),
    0x00080050: ("accession_number", "TEXT"),
    0x00080060: ("modality", "CS"),
    0x00081030: ("study_description", "TEXT"),
    0x0008103E: ("series_description", "TEXT"),
    0x00100010: ("patient_name", "PN"),
    0x00100020: ("patient_id", "TEXT"),
    0x00100030: ("patient_birth_date", "DA"),
    0x00180050: ("slice_thickness", "DS"),
    0x00185100: ("patient_position", "CS"),
    0x0020000D: ("study_instance_uid", "UI"),
    0x0020000E: ("series_instance_uid", "UI"),
    0x00200011: ("series_number", "IS"),
    0x00200013: ("instance_number", "IS"),
    0x00200032: ("image_position_patient", "DS"),
    0x00200037: ("image_orientation_patient", "DS"),
    0x00200052: ("frame_of_reference_uid", "UI"),
    0x00280010: ("rows", "US"),
    0x00280011: ("columns", "US"),
    0x00280030: ("pixel_spacing", "DS"),
}
STOP_TAG = max(WANTED)
_PIXEL_DATA_BYTES = b"\xe0\x7f\x10\x00"
_U32 = struct.Struct("<I")


class CorruptHeader(InputError):
    """A wanted element's value breaks its VR (a damaged length field, most often).

    The message names the element and the rule, never the value: a runaway length
    swallows the elements after it (patient name, ID, birth date).
    """


# Longest value the index keeps, in bytes, by value type (PS3.5 table 6.2-1 for CS, DA and
# UI; text fields get slack for non-conformant writers but never a runaway length).
MAX_VALUE_BYTES: dict[str, int] = {
    "UI": 64,
    "CS": 16 * 8 + 7,  # up to 8 values of 16 (SpecificCharacterSet has several)
    "DA": 18,  # a date or a date range
    "DS": 16 * 16 + 15,
    "IS": 12 * 4 + 3,
    "US": 2 * 4,
    "PN": 3 * 64 + 2,
    "TEXT": 1024,
    "PRESENT": 1 << 62,
}
_CHARSETS: dict[str, bytes] = {
    "UI": b"0123456789.",
    "CS": b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-\\",
    "DA": b"0123456789.- ",
}


def check_value(tag: int, kind: str, raw: bytes) -> None:
    """Raise :class:`CorruptHeader` when ``raw`` is too long or has characters ``kind`` forbids."""
    limit = MAX_VALUE_BYTES.get(kind, 1024)
    if len(raw) > limit:
        raise CorruptHeader(
            f"corrupt DICOM header: {_where(tag)} is {len(raw)} bytes long, at most {limit} "
            "expected (a damaged length field?)"
        )
    allowed = _CHARSETS.get(kind)
    if allowed is not None and raw.rstrip(b"\x00 ").translate(None, allowed):
        raise CorruptHeader(
            f"corrupt DICOM header: {_where(tag)} holds characters a {kind} value cannot have"
        )


def _where(tag: int) -> str:
    return f"element {tag_text(tag)} {WANTED[tag][0]}"


@dataclass(frozen=True)
class RawHeader:
    """The raw bytes of the wanted top-level elements and the transfer syntax."""

    values: dict[int, bytes]
    transfer_syntax_uid: str
    little_endian: bool = True
    ended_early: bool = False  # the whole file was parsed and it has no pixel data


def _check_element_lengths(buf: bytes, pos: int, explicit: bool, file_size: int) -> None:
    """Best effort, within ``buf`` only: raise when an element runs past the end of the file."""
    n = len(buf)
    while pos + 12 <= n:
        try:
            tag, pos, length, _ = element_header(buf, pos, explicit)
        except UnsupportedEncoding:
            return
        if length == UNDEFINED:
            return
        if pos + length > file_size:
            raise TruncatedFile(
                f"element {tag_text(tag)} needs {length} bytes "
                f"but the file ends {file_size - pos} bytes after it starts"
            )
        pos += length


def _pixel_data_missing(buf: bytes, pos: int, explicit: bool, file_size: int) -> bool:
    """Find the pixel data element after ``pos`` in ``buf`` and check its length.

    Returns True when the whole file is in ``buf`` and holds no pixel data.

    Raises
    ------
    TruncatedFile
        When the pixel data needs more bytes than the file has.
    """
    found = buf.find(_PIXEL_DATA_BYTES, pos)
    while found >= 0:
        if found + (12 if explicit else 8) > file_size:
            raise TruncatedFile(f"the file ends at byte {file_size} inside the pixel data header")
        if explicit:
            vr = buf[found + 4 : found + 6]
            if vr in (b"OW", b"OB") and found + 12 <= len(buf):
                length = _U32.unpack_from(buf, found + 8)[0]
                value_pos = found + 12
                break
        elif found + 8 <= len(buf):
            length = _U32.unpack_from(buf, found + 4)[0]
            value_pos = found + 8
            break
        found = buf.find(_PIXEL_DATA_BYTES, found + 1)
    else:
        return len(buf) >= file_size
    if length != UNDEFINED and value_pos + length > file_size:
        raise TruncatedFile(
            f"pixel data needs {length} bytes but the file ends "
            f"{file_size - value_pos} bytes after it starts"
        )
    return False


def parse_header(buf: bytes, file_size: int) -> RawHeader:
    """Parse the wanted top-level elements of a Part 10 file.

    The files of one series are mostly laid out alike: the same elements with the
    same value lengths at the same places. The walk of the last few layouts is kept
    (:class:`_Layout`); a buffer that matches one is read at the remembered places
    instead of being walked again, with the same result as the walk.

    Parameters
    ----------
    buf
        The first bytes of the file (at least 132).
    file_size
        The size of the whole file in bytes, used to tell a cut-short file from a
        buffer that is merely too small.

    Raises
    ------
    NeedMoreData
        ``buf`` ends before the last wanted element; ``exc.needed`` bytes are needed.
    UnsupportedEncoding
        Not a preamble + ``DICM`` file in a little-endian, non-deflated encoding.
    TruncatedFile
        The file ends inside an element.
    """
    return _thread_memo().parse(buf, file_size, read_file_meta(buf, file_size))


def _walk(
    buf: bytes, file_size: int, meta: tuple[int, str], keep: bool
) -> tuple[RawHeader, _Layout | None]:
    """Walk the elements after the file meta; with ``keep``, also return the walk's layout.

    The element loop (:func:`trace_elements`) ends at the first tag past the wanted ones,
    or where the buffer cuts an element header; the tail loop handles the buffer's end
    (end of file, or more data needed).
    """
    pos, transfer_syntax = meta
    explicit = explicit_vr(transfer_syntax)
    end, decisions, found = trace_elements(buf, pos, explicit, file_size, STOP_TAG, WANTED)
    values = {tag: buf[where] for tag, where in found.items()}
    ended_early = _walk_tail(buf, end, explicit, file_size, values)
    header = RawHeader(values, transfer_syntax, True, ended_early)
    layout = _Layout(buf, file_size, meta, explicit, end, decisions, found) if keep else None
    return header, layout


class _Layout:
    """Where one walk found its elements, and the bytes that chose its path.

    A buffer of the same length and file size, with the same file meta result and
    equal bytes in every decision range (:func:`trace_elements`), is walked along the
    same path: its wanted values lie in the same ranges. The tail after them
    (:func:`_walk_tail`) is walked afresh each time.
    """

    __slots__ = (
        "_decisions",
        "_end",
        "_expected",
        "_explicit",
        "_tags",
        "_values",
        "file_size",
        "meta",
        "n",
    )

    def __init__(
        self,
        buf: bytes,
        file_size: int,
        meta: tuple[int, str],
        explicit: bool,
        end: int,
        decisions: list[slice],
        found: dict[int, slice],
    ) -> None:
        self.n = len(buf)
        self.file_size = file_size
        self.meta = meta
        self._explicit = explicit
        self._end = end
        # an empty slice at the end: itemgetter returns a tuple even for one range
        self._decisions = operator.itemgetter(*decisions, _EMPTY)
        self._expected = self._decisions(buf)
        self._values = operator.itemgetter(*found.values(), _EMPTY)
        self._tags = tuple(found)

    def replay(self, buf: bytes) -> RawHeader | None:
        """The header of ``buf`` read at the remembered places; None when laid out otherwise."""
        if self._decisions(buf) != self._expected:
            return None
        values = dict(zip(self._tags, self._values(buf), strict=False))
        ended_early = _walk_tail(buf, self._end, self._explicit, self.file_size, values)
        return RawHeader(values, self.meta[1], True, ended_early)


_EMPTY = slice(0, 0)


class _LayoutMemo:
    """The last few layouts (most recently used first) and how often none fitted.

    An export whose files are rarely laid out alike stops paying for recording layouts:
    after ``patience`` files in a row that no layout fitted, only one walk in
    ``patience`` records its layout.
    """

    def __init__(self, limit: int = 4, patience: int = 32) -> None:
        self.limit = limit
        self.patience = patience
        self.layouts: list[_Layout] = []
        self.misses = 0  # files walked in a row since the last replay

    def parse(self, buf: bytes, file_size: int, meta: tuple[int, str]) -> RawHeader:
        """The header of ``buf``: replayed from a layout that fits, else walked."""
        n = len(buf)
        layouts = self.layouts
        for i, layout in enumerate(layouts):
            if layout.n == n and layout.file_size == file_size and layout.meta == meta:
                header = layout.replay(buf)
                if header is not None:
                    self.misses = 0
                    if i:
                        layouts.insert(0, layouts.pop(i))
                    return header
        self.misses += 1
        keep = self.misses <= self.patience or self.misses % self.patience == 0
        header, walked = _walk(buf, file_size, meta, keep)
        if walked is not None:
            if len(layouts) >= self.limit:
                layouts.pop()
            layouts.insert(0, walked)
        return header


_local = threading.local()


def _thread_memo() -> _LayoutMemo:
    """This thread's layouts: chunks read in threads (small jobs) each keep their own."""
    memo: _LayoutMemo | None = getattr(_local, "memo", None)
    if memo is None:
        memo = _local.memo = _LayoutMemo()
    return memo


def _walk_tail(
    buf: bytes, pos: int, explicit: bool, file_size: int, values: dict[int, bytes]
) -> bool:
    """Walk the elements the buffer cuts; return whether the file ended before the stop tag.

    Raises
    ------
    NeedMoreData, TruncatedFile, UnsupportedEncoding
        As :func:`parse_header`.
    """
    n = len(buf)
    while True:
        if pos + 8 > n:
            if pos >= file_size:
                return True  # the dataset ends before any tag past the wanted ones
            need(pos + 8, n, file_size, 0)
        if pos + 12 > n:
            _check_short_tail(buf, pos, explicit, file_size)
        tag, value_pos, length, un = element_header(buf, pos, explicit)
        if tag > STOP_TAG:
            if 0x00280010 in values:  # an image: look for its pixel data
                return _pixel_data_missing(buf, pos, explicit, file_size)
            _check_element_lengths(buf, pos, explicit, file_size)
            return False
        if length == UNDEFINED:
            pos = skip_sequence(buf, value_pos, explicit and not un, file_size, tag)
            continue
        end = value_pos + length
        need(end, n, file_size, tag)
        if tag in WANTED:
            values[tag] = buf[value_pos:end]
        pos = end


def _check_short_tail(buf: bytes, pos: int, explicit: bool, file_size: int) -> None:
    """Fewer than 12 bytes of ``buf`` are left at ``pos``: need more, or the file is cut."""
    if pos + 12 <= file_size:
        raise NeedMoreData(pos + 12)
    if explicit and buf[pos + 4 : pos + 6] in LONG_VRS:
        tag = int.from_bytes(buf[pos : pos + 2], "little") << 16
        tag |= int.from_bytes(buf[pos + 2 : pos + 4], "little")
        raise TruncatedFile(
            f"the file ends at byte {file_size} inside the header of element {tag_text(tag)}"
        )
