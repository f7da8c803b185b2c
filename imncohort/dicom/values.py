"""Decode the raw header values the index keeps into its field names.

Shared by the raw header walker (:mod:`imncohort.dicom.header`) and the pydicom
fallback of :mod:`imncohort.index.reader`, so both paths produce identical rows.
Text is decoded through pydicom's character-set handling.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
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
