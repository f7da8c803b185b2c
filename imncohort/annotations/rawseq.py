"""A minimal reader of raw DICOM sequences (explicit VR little endian) for speed.

pydicom builds a full Dataset for every sequence item; a structure set holds
thousands of contour items and a SEG one functional-group item per frame.
This module walks the raw bytes of such a sequence and returns, per item, a
mapping ``tag -> (VR, raw value bytes)``; nested sequences are parsed only on
request (:func:`items`). Callers fall back to pydicom when the data set is not
explicit VR little endian or the bytes are not as expected
(:class:`RawSequenceError`).
"""

from __future__ import annotations

import struct
from typing import Any

from imncohort.errors import InputError

ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"SV",
    b"UV",
}

RawItem = dict[int, tuple[bytes, Any]]
_TAG = struct.Struct("<HH")
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")


class RawSequenceError(InputError):
    """The raw bytes are not an explicit VR little endian sequence this reader understands."""


def raw_sequence(ds: Any, tag: int) -> bytes | None:
    """The raw value bytes of sequence ``tag`` of ``ds`` when it is explicit VR little endian."""
    encoding = getattr(ds, "original_encoding", (None, None))
    if encoding != (False, True):
        return None
    element = ds.get_item(tag)
    if element is None:
        return None
    value = getattr(element, "value", None)
    return bytes(value) if isinstance(value, bytes | bytearray) else None


def items(buf: bytes | memoryview) -> list[RawItem]:
    """Items of a raw sequence value (defined or undefined lengths)."""
    view = memoryview(buf)
    out, _ = _items(view, 0, len(view))
    return out


def _items(buf: memoryview, pos: int, end: int) -> tuple[list[RawItem], int]:
    out: list[RawItem] = []
    while pos + 8 <= end:
        group, elem = _TAG.unpack_from(buf, pos)
        tag = (group << 16) | elem
        length = _U32.unpack_from(buf, pos + 4)[0]
        pos += 8
        if tag == SEQUENCE_END:
            return out, pos
        if tag != ITEM:
            raise RawSequenceError(f"expected a sequence item, found tag {tag:08X}")
        if length == UNDEFINED:
            item, pos = _elements(buf, pos, end, until_delimiter=True)
        else:
            item, _ = _elements(buf, pos, pos + length, until_delimiter=False)
            pos += length
        out.append(item)
    return out, pos


def _elements(buf: memoryview, pos: int, end: int, until_delimiter: bool) -> tuple[RawItem, int]:
    out: RawItem = {}
    while pos + 8 <= end:
        group, elem = _TAG.unpack_from(buf, pos)
        tag = (group << 16) | elem
        if tag == ITEM_END:
            return out, pos + 8
        vr = bytes(buf[pos + 4 : pos + 6])
        if vr in LONG_VRS:
            length = _U32.unpack_from(buf, pos + 8)[0]
            pos += 12
        elif vr.isalpha() and vr.isupper():
            length = _U16.unpack_from(buf, pos + 6)[0]
            pos += 8
        else:
            raise RawSequenceError(f"tag {tag:08X} has no explicit VR")
        if length == UNDEFINED:
            if vr not in (b"SQ", b"UN"):
                raise RawSequenceError(f"tag {tag:08X} ({vr!r}) has an undefined length")
            nested, pos = _items(buf, pos, len(buf))
            out[tag] = (b"SQ", nested)
            continue
        if pos + length > len(buf):
            raise RawSequenceError(f"tag {tag:08X} runs past the end of the data")
        out[tag] = (vr, buf[pos : pos + length])
        pos += length
    if until_delimiter:
        raise RawSequenceError("item without an item delimiter")
    return out, pos


def nested(item: RawItem, tag: int) -> list[RawItem]:
    """The items of the nested sequence ``tag`` of ``item`` (empty when absent)."""
    entry = item.get(tag)
    if entry is None:
        return []
    _vr, value = entry
    if isinstance(value, list):
        return value
    return items(value)


def text(item: RawItem, tag: int, default: str = "") -> str:
    """A string value (CS, IS, LO, ...) of ``item``, stripped of padding."""
    entry = item.get(tag)
    if entry is None:
        return default
    return bytes(entry[1]).decode("ascii", "replace").strip(" \x00")


def numbers(item: RawItem, tag: int) -> list[float]:
    """A backslash-separated DS/IS value of ``item`` as floats."""
    value = text(item, tag)
    return [float(v) for v in value.split("\\") if v.strip()] if value else []


def us(item: RawItem, tag: int) -> int | None:
    """An unsigned short (US) value of ``item``."""
    entry = item.get(tag)
    if entry is None or len(entry[1]) < 2:
        return None
    return int(_U16.unpack_from(entry[1], 0)[0])
