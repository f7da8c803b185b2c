"""Decode the raw header values the index keeps into its field names.

Shared by the raw header walker (:mod:`imncohort.dicom.header`) and the pydicom
fallback of :mod:`imncohort.index.reader`, so both paths produce identical rows.
Text is decoded through pydicom's character-set handling.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

from imncohort.dicom.header import WANTED, check_value


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

# The files of one series repeat every wanted value but three (SOP Instance UID, Instance
# Number, Image Position): the decoded others are kept, by their raw bytes, character set
# and byte order, so decoding a series' next file decodes three values. Only values that
# passed :func:`check_value` are kept.
_PER_FILE_TAGS = (0x00080018, 0x00200013, 0x00200032)
_SHARED_TAGS = tuple(tag for tag in WANTED if tag not in _PER_FILE_TAGS)
_MEMO_LIMIT = 4096
_ABSENT = object()  # a tag not in the values (a pydicom value may be None)
_shared_memo: dict[tuple[Any, ...], dict[str, Any]] = {}


FieldValue = str | int | bool | tuple[float, ...] | None


def _decode(tag: int, value: object, charset: str, little_endian: bool) -> FieldValue:
    """The field value of one element value (raw bytes are checked first)."""
    kind = WANTED[tag][1]
    raw = value if isinstance(value, bytes) else _as_bytes(value, kind, little_endian)
    check_value(tag, kind, raw)
    if kind == "UI" or kind == "CS" or kind == "DA":
        return raw.decode("ascii", "replace").strip("\x00 ")
    if kind == "DS":
        return tuple(_floats(raw))
    if kind == "US":
        return (
            int.from_bytes(raw[:2], "little" if little_endian else "big") if len(raw) >= 2 else None
        )
    if kind == "IS":
        return _int_or_none(raw)
    if kind == "PRESENT":
        return True
    if kind == "PN":
        return _text(raw, charset, {0x5E, 0x3D})
    return _text(raw, charset, {0x5C})


def _decode_shared(
    values: Mapping[int, object], charset: str, little_endian: bool
) -> dict[str, Any]:
    """Every field, the per-file ones at their defaults; the shared ones decoded."""
    fields = dict(_DEFAULTS)
    for tag in _SHARED_TAGS:
        if tag in values:
            fields[WANTED[tag][0]] = _decode(tag, values[tag], charset, little_endian)
    return fields


def decode_fields(values: Mapping[int, object], little_endian: bool = True) -> dict[str, Any]:
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
        ``IS`` and ``US`` fields, a tuple of floats for ``DS`` fields (empty when
        absent or malformed), a bool for presence markers.

    Raises
    ------
    CorruptHeader
        When a value is longer than its type allows or has characters it forbids.
    """
    charset = _ascii(_as_bytes(values[0x00080005])) if 0x00080005 in values else ""
    get = values.get
    key: tuple[Any, ...] | None = (
        charset,
        little_endian,
        *map(get, _SHARED_TAGS, repeat(_ABSENT)),
    )
    try:
        shared = _shared_memo.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable (pydicom) value: decode without the memo
        shared, key = None, None
    if shared is None:
        shared = _decode_shared(values, charset, little_endian)
        if key is not None:
            if len(_shared_memo) >= _MEMO_LIMIT:
                _shared_memo.clear()
            _shared_memo[key] = shared
    fields = dict(shared)
    for tag in _PER_FILE_TAGS:
        if tag in values:
            fields[WANTED[tag][0]] = _decode(tag, values[tag], charset, little_endian)
    return fields


def _as_bytes(value: object, kind: str = "", little_endian: bool = True) -> bytes:
    """Return raw bytes for a raw or already-converted element value."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if kind == "US" and isinstance(value, int):
        return value.to_bytes(2, "little" if little_endian else "big")
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return "\\".join(str(v) for v in value).encode("utf-8")
    return str(value).encode("utf-8")
