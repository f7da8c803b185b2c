"""A fast reader of the few DICOM header elements the index needs.

The parser walks the top-level data elements of a Part 10 file held in a bytes
buffer (explicit or implicit VR little endian, the encodings of nearly every
PACS export), keeps the raw bytes of the wanted tags and stops at the first
tag past the last one it needs, long before the pixel data. Sequences are
skipped without being parsed into datasets. Anything unusual (big endian,
deflate, a private transfer syntax, a malformed VR) raises
:class:`UnsupportedEncoding` and the caller falls back to pydicom.

Values are decoded by :func:`decode_fields`, which is shared with the
pydicom fallback so both paths produce identical rows.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
PIXEL_DATA_TAG = 0x7FE00010
TRANSFER_SYNTAX_TAG = 0x00020010

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")
UNDEFINED = 0xFFFFFFFF

_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_SHORT_VRS = frozenset(
    {
        b"AE",
        b"AS",
        b"AT",
        b"CS",
        b"DA",
        b"DS",
        b"DT",
        b"FD",
        b"FL",
        b"IS",
        b"LO",
        b"LT",
        b"PN",
        b"SH",
        b"SL",
        b"SS",
        b"ST",
        b"TM",
        b"UI",
        b"UL",
        b"US",
    }
)
_PIXEL_DATA_BYTES = b"\xe0\x7f\x10\x00"
_HH = struct.Struct("<HH")
_EXPLICIT = struct.Struct("<HH2sH")
_HHI = struct.Struct("<HHI")
_H = struct.Struct("<H")
_I = struct.Struct("<I")


class NeedMoreData(Exception):
    """The buffer ends before the header does; read more of the file and retry."""

    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


class UnsupportedEncoding(Exception):
    """The fast parser does not handle this file; read it with pydicom instead."""


class TruncatedFile(Exception):
    """The file ends inside a data element: it was cut short."""


class CorruptHeader(Exception):
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
_CHARSETS: dict[str, frozenset[int]] = {
    "UI": frozenset(b"0123456789."),
    "CS": frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-\\"),
    "DA": frozenset(b"0123456789.- "),
}


def check_value(tag: int, kind: str, raw: bytes) -> None:
    """Raise :class:`CorruptHeader` when ``raw`` is too long or has characters ``kind`` forbids."""
    name = WANTED[tag][0]
    where = f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) {name}"
    limit = MAX_VALUE_BYTES.get(kind, 1024)
    if len(raw) > limit:
        raise CorruptHeader(
            f"corrupt DICOM header: {where} is {len(raw)} bytes long, at most {limit} expected "
            "(a damaged length field?)"
        )
    allowed = _CHARSETS.get(kind)
    if allowed is not None and not set(raw.rstrip(b"\x00 ")) <= allowed:
        raise CorruptHeader(
            f"corrupt DICOM header: {where} holds characters a {kind} value cannot have"
        )


@dataclass(frozen=True)
class RawHeader:
    """The raw bytes of the wanted top-level elements and the transfer syntax."""

    values: dict[int, bytes]
    transfer_syntax_uid: str
    little_endian: bool = True
    ended_early: bool = False  # the whole file was parsed and it has no pixel data


def _need(end: int, n: int, file_size: int, tag: int) -> None:
    if end > n:
        if end > file_size:
            raise TruncatedFile(
                f"the file ends at byte {file_size} inside element "
                f"({tag >> 16:04X},{tag & 0xFFFF:04X}) which needs {end} bytes"
            )
        raise NeedMoreData(end)


def _element_header(buf: bytes, pos: int, explicit: bool) -> tuple[int, int, int, bool]:
    """Return ``(tag, value position, length, value is implicit-VR-encoded UN)``."""
    group, elem = _HH.unpack_from(buf, pos)
    tag = (group << 16) | elem
    if not explicit or group == 0xFFFE:
        return tag, pos + 8, _I.unpack_from(buf, pos + 4)[0], False
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        return tag, pos + 12, _I.unpack_from(buf, pos + 8)[0], vr == b"UN"
    if not (vr.isalpha() and vr.isupper()):
        raise UnsupportedEncoding(f"invalid VR {vr!r} at byte {pos}")
    return tag, pos + 8, _H.unpack_from(buf, pos + 6)[0], False


def _skip_sequence(buf: bytes, pos: int, explicit: bool, file_size: int, tag: int) -> int:
    """Skip the items of an undefined-length sequence starting at ``pos``; return the end."""
    n = len(buf)
    while True:
        _need(pos + 8, n, file_size, tag)
        group, elem, length = _HHI.unpack_from(buf, pos)
        if group != 0xFFFE:
            raise UnsupportedEncoding(f"unexpected tag in sequence at byte {pos}")
        pos += 8
        if elem == 0xE0DD:
            return pos
        if elem != 0xE000:
            raise UnsupportedEncoding(f"unexpected delimiter in sequence at byte {pos}")
        if length != UNDEFINED:
            _need(pos + length, n, file_size, tag)
            pos += length
            continue
        while True:  # undefined-length item: elements up to the item delimiter
            _need(pos + 8, n, file_size, tag)
            group, elem = _HH.unpack_from(buf, pos)
            if group == 0xFFFE and elem == 0xE00D:
                pos += 8
                break
            _need(pos + 12, n, file_size, tag)
            inner, pos, length, un = _element_header(buf, pos, explicit)
            if length == UNDEFINED:
                pos = _skip_sequence(buf, pos, explicit and not un, file_size, inner)
            else:
                _need(pos + length, n, file_size, inner)
                pos += length


def _check_element_lengths(buf: bytes, pos: int, explicit: bool, file_size: int) -> None:
    """Best effort, within ``buf`` only: raise when an element runs past the end of the file."""
    n = len(buf)
    while pos + 12 <= n:
        try:
            tag, pos, length, _ = _element_header(buf, pos, explicit)
        except UnsupportedEncoding:
            return
        if length == UNDEFINED:
            return
        if pos + length > file_size:
            raise TruncatedFile(
                f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) needs {length} bytes "
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
                length = _I.unpack_from(buf, found + 8)[0]
                value_pos = found + 12
                break
        elif found + 8 <= len(buf):
            length = _I.unpack_from(buf, found + 4)[0]
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
    n = len(buf)
    if n < 132 or buf[128:132] != b"DICM":
        raise UnsupportedEncoding("no DICM marker at byte 128")
    pos = 132
    transfer_syntax = ""
    meta_done = False
    # Fast path: (0002,0000) gives the meta length; the transfer syntax is found in it.
    if buf[132:138] == b"\x02\x00\x00\x00UL" and n >= 144:
        meta_end = 144 + _I.unpack_from(buf, 140)[0]
        at = buf.find(b"\x02\x00\x10\x00UI", 144, meta_end)
        if at > 0 and meta_end + 8 <= n and buf[meta_end : meta_end + 2] != b"\x02\x00":
            length = _H.unpack_from(buf, at + 6)[0]
            raw_syntax = buf[at + 8 : at + 8 + length]
            transfer_syntax = raw_syntax.rstrip(b"\x00 ").decode("ascii", "replace")
            pos, meta_done = meta_end, True
    while not meta_done:  # file meta information: always explicit VR little endian
        if pos + 8 > n:
            _need(pos + 8, n, file_size, 0x00020000)
        group = _H.unpack_from(buf, pos)[0]
        if group != 0x0002:
            break
        _need(pos + 12, n, file_size, 0x00020000)
        tag, pos, length, _ = _element_header(buf, pos, True)
        if length == UNDEFINED:
            raise UnsupportedEncoding("undefined length in the file meta information")
        _need(pos + length, n, file_size, tag)
        if tag == TRANSFER_SYNTAX_TAG:
            transfer_syntax = buf[pos : pos + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos += length
    if not transfer_syntax:
        raise UnsupportedEncoding("no transfer syntax in the file meta information")
    if transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN:
        explicit = False
    elif transfer_syntax == EXPLICIT_VR_BIG_ENDIAN or transfer_syntax in DEFLATED:
        raise UnsupportedEncoding(f"transfer syntax {transfer_syntax}")
    elif transfer_syntax.startswith("1.2.840.10008.1.2"):
        explicit = True
    else:
        raise UnsupportedEncoding(f"private transfer syntax {transfer_syntax}")

    values: dict[int, bytes] = {}
    wanted = WANTED
    stop = STOP_TAG
    # Fast loop over whole element headers inside the buffer; the generic loop below
    # handles the buffer's tail (end of file, or more data needed).
    if explicit:
        unpack = _EXPLICIT.unpack_from
        short_vrs, long_vrs = _SHORT_VRS, _LONG_VRS
        while pos + 12 <= n:
            group, elem, vr, length = unpack(buf, pos)
            tag = (group << 16) | elem
            if tag > stop:
                break
            if vr in short_vrs:
                value_pos = pos + 8
            elif vr in long_vrs:
                length = _I.unpack_from(buf, pos + 8)[0]
                value_pos = pos + 12
                if length == UNDEFINED:
                    pos = _skip_sequence(buf, value_pos, vr != b"UN", file_size, tag)
                    continue
            else:
                raise UnsupportedEncoding(f"invalid VR {vr!r} at byte {pos}")
            end = value_pos + length
            if end > n:
                _need(end, n, file_size, tag)
            if tag in wanted:
                values[tag] = buf[value_pos:end]
            pos = end
    else:
        while pos + 8 <= n:
            group, elem, length = _HHI.unpack_from(buf, pos)
            tag = (group << 16) | elem
            if tag > stop:
                break
            if length == UNDEFINED:
                pos = _skip_sequence(buf, pos + 8, False, file_size, tag)
                continue
            end = pos + 8 + length
            if end > n:
                _need(end, n, file_size, tag)
            if tag in wanted:
                values[tag] = buf[pos + 8 : end]
            pos = end
    ended_early = False
    while True:
        if pos + 8 > n:
            if pos >= file_size:
                ended_early = True  # the dataset ends before any tag past the wanted ones
                break
            _need(pos + 8, n, file_size, 0)
        if pos + 12 > n:
            if pos + 12 <= file_size:
                raise NeedMoreData(pos + 12)
            if explicit and buf[pos + 4 : pos + 6] in _LONG_VRS:
                group, elem = _HH.unpack_from(buf, pos)
                raise TruncatedFile(
                    f"the file ends at byte {file_size} inside the header of element "
                    f"({group:04X},{elem:04X})"
                )
        tag, value_pos, length, un = _element_header(buf, pos, explicit)
        if tag > STOP_TAG:
            if 0x00280010 in values:  # an image: look for its pixel data
                ended_early = _pixel_data_missing(buf, pos, explicit, file_size)
            else:
                _check_element_lengths(buf, pos, explicit, file_size)
            break
        if length == UNDEFINED:
            pos = _skip_sequence(buf, value_pos, explicit and not un, file_size, tag)
            continue
        end = value_pos + length
        _need(end, n, file_size, tag)
        if tag in wanted:
            values[tag] = buf[value_pos:end]
        pos = end
    return RawHeader(values, transfer_syntax, True, ended_early)


# --- value decoding, shared with the pydicom fallback -------------------------------------


@functools.lru_cache(maxsize=64)
def _encodings(charset: str) -> tuple[str, ...]:
    from pydicom.charset import convert_encodings

    terms = [t.strip() for t in charset.split("\\")] if charset else [""]
    try:
        return tuple(convert_encodings(terms))
    except Exception:  # an unknown term: pydicom would warn and use its default
        return ("iso8859",)


def _ascii(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip("\x00 ")


def _text(raw: bytes, charset: str, delimiters: set[int]) -> str:
    raw = raw.rstrip(b"\x00 ")
    if not raw:
        return ""
    if raw.isascii() and "ISO 2022" not in charset:
        return raw.decode("ascii").strip()
    from pydicom.charset import decode_bytes

    try:
        return decode_bytes(raw, list(_encodings(charset)), delimiters).strip()
    except Exception:
        return raw.decode("latin-1").strip()


def _floats(raw: bytes) -> list[float]:
    try:  # float() takes ASCII bytes with surrounding spaces
        return [float(p) for p in raw.split(b"\\")]
    except ValueError:
        pass
    parts = _ascii(raw).split("\\")
    try:
        return [float(p) for p in parts if p.strip()]
    except ValueError:
        return []


def _int_or_none(raw: bytes) -> int | None:
    try:
        return int(raw)
    except ValueError:
        pass
    text = _ascii(raw).split("\\")[0].strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return int(value) if math.isfinite(value) else None


_EMPTY_BY_KIND: dict[str, Any] = {"US": None, "IS": None, "DS": (), "PRESENT": False}
_DEFAULTS: dict[str, Any] = {name: _EMPTY_BY_KIND.get(kind, "") for name, kind in WANTED.values()}


def decode_fields(values: Mapping[int, Any], little_endian: bool = True) -> dict[str, Any]:
    """Decode raw element values into the index's field names.

    Parameters
    ----------
    values
        Tag -> raw value bytes (an already-converted pydicom value is accepted too).
    little_endian
        Byte order of binary values (``US``).

    Returns
    -------
    dict
        Every field of :data:`WANTED`: strings (``""`` when absent), ``int | None`` for
        ``IS`` and ``US`` fields, a sequence of floats for ``DS`` fields (empty when
        absent or malformed), a bool for presence markers.

    Raises
    ------
    CorruptHeader
        When a value is longer than its type allows or has characters it forbids.
    """
    charset = _ascii(_as_bytes(values[0x00080005])) if 0x00080005 in values else ""
    fields = dict(_DEFAULTS)
    for tag, value in values.items():
        spec = WANTED.get(tag)
        if spec is None:
            continue
        name, kind = spec
        raw = value if isinstance(value, bytes) else _as_bytes(value, kind, little_endian)
        check_value(tag, kind, raw)
        if kind == "UI" or kind == "CS" or kind == "DA":
            fields[name] = raw.decode("ascii", "replace").strip("\x00 ")
        elif kind == "DS":
            fields[name] = _floats(raw)
        elif kind == "US":
            if len(raw) >= 2:
                fields[name] = int.from_bytes(raw[:2], "little" if little_endian else "big")
        elif kind == "IS":
            fields[name] = _int_or_none(raw)
        elif kind == "PRESENT":
            fields[name] = True
        elif kind == "PN":
            fields[name] = _text(raw, charset, {0x5E, 0x3D})
        else:
            fields[name] = _text(raw, charset, {0x5C})
    return fields


def _as_bytes(value: Any, kind: str = "", little_endian: bool = True) -> bytes:
    """Return raw bytes for a raw or already-converted element value."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if kind == "US" and isinstance(value, int):
        return value.to_bytes(2, "little" if little_endian else "big")
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).encode("utf-8")
    return str(value).encode("utf-8")
