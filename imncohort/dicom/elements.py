"""The one loop over raw DICOM data elements (PS3.5 section 7) in a bytes buffer.

Parses element headers (tag, VR, length) in explicit or implicit VR little endian,
defined and undefined lengths, and the item / item delimiter / sequence delimiter
elements of sequences (PS3.5 section 7.5), without building pydicom data sets. The VR
length classes come from :mod:`pydicom.valuerep` and the transfer syntaxes from
:mod:`pydicom.uid`; nothing here spells a UID.

The same loop also walks the items of a sequence (:func:`sequence_items`), so a reader
can take a few values out of thousands of sequence items (RTSTRUCT contours, SEG
per-frame functional groups) without a pydicom data set per item.

Big endian, deflated and unknown (private) transfer syntaxes raise
:class:`UnsupportedEncoding`: the caller reads such a file with pydicom.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Container, Iterator
from dataclasses import dataclass

from pydicom.uid import UID, ExplicitVRBigEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_16, EXPLICIT_VR_LENGTH_32

from imncohort.errors import InputError

UNDEFINED = 0xFFFFFFFF
ITEM_GROUP = 0xFFFE
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
TRANSFER_SYNTAX_TAG = 0x00020010

LONG_VRS = frozenset(str(vr).encode("ascii") for vr in EXPLICIT_VR_LENGTH_32)
SHORT_VRS = frozenset(str(vr).encode("ascii") for vr in EXPLICIT_VR_LENGTH_16)

_HH = struct.Struct("<HH")
_EXPLICIT = struct.Struct("<HH2sH")
_HHI = struct.Struct("<HHI")
_H = struct.Struct("<H")
_I = struct.Struct("<I")


class NeedMoreData(Exception):
    """The buffer ends before the elements do; read more of the file and retry.

    Control flow between the walker and the file reader, not an error.
    """

    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


class UnsupportedEncoding(InputError):
    """The raw walker does not handle this file; read it with pydicom instead."""


class TruncatedFile(InputError):
    """The file ends inside a data element: it was cut short (or a length is damaged)."""


def tag_text(tag: int) -> str:
    """``(gggg,eeee)`` of a tag."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@functools.lru_cache(maxsize=64)
def explicit_vr(transfer_syntax_uid: str) -> bool:
    """Whether a little-endian transfer syntax is explicit VR.

    Raises
    ------
    UnsupportedEncoding
        For big endian, deflated, private or unknown transfer syntaxes (pydicom reads
        those; an unknown one is a syntax newer than the installed pydicom).
    """
    uid = UID(transfer_syntax_uid)
    if not uid.is_transfer_syntax:
        raise UnsupportedEncoding(f"unknown or private transfer syntax {transfer_syntax_uid}")
    if uid == ExplicitVRBigEndian or not uid.is_little_endian or uid.is_deflated:
        raise UnsupportedEncoding(f"transfer syntax {transfer_syntax_uid}")
    return not uid.is_implicit_VR


def raw_sequence_is_empty(value: bytes | bytearray) -> bool:
    """Whether the raw value of a sequence holds no item (empty, or only its delimiter)."""
    return len(value) < 8 or _HH.unpack_from(value, 0) == (ITEM_GROUP, SEQUENCE_END & 0xFFFF)


def need(end: int, n: int, file_size: int, tag: int) -> None:
    """Raise when byte ``end`` lies past the buffer (``n`` bytes) or past the file.

    Raises
    ------
    TruncatedFile
        ``end`` lies past the end of the file: it is cut short or a length is damaged.
    NeedMoreData
        ``end`` lies past the buffer but inside the file.
    """
    if end > n:
        if end > file_size:
            raise TruncatedFile(
                f"the file ends at byte {file_size} inside element {tag_text(tag)} "
                f"which needs {end} bytes"
            )
        raise NeedMoreData(end)


def element_header(buf: bytes, pos: int, explicit: bool) -> tuple[int, int, int, bool]:
    """Return ``(tag, value position, length, value is implicit-VR-encoded UN)``.

    Item and delimiter elements (group FFFE) have no VR in either encoding.

    Raises
    ------
    UnsupportedEncoding
        When an explicit VR is not two upper-case letters.
    """
    group, elem = _HH.unpack_from(buf, pos)
    tag = (group << 16) | elem
    if not explicit or group == ITEM_GROUP:
        return tag, pos + 8, _I.unpack_from(buf, pos + 4)[0], False
    vr = buf[pos + 4 : pos + 6]
    if vr in LONG_VRS:
        return tag, pos + 12, _I.unpack_from(buf, pos + 8)[0], vr == b"UN"
    if not (vr.isalpha() and vr.isupper()):
        raise UnsupportedEncoding(f"invalid VR {vr!r} at byte {pos}")
    return tag, pos + 8, _H.unpack_from(buf, pos + 6)[0], False


def skip_sequence(buf: bytes, pos: int, explicit: bool, file_size: int, tag: int) -> int:
    """Skip the items of an undefined-length sequence whose value starts at ``pos``.

    Items of defined and undefined length are both handled, nested sequences too.
    Returns the position after the sequence delimiter.

    Raises
    ------
    UnsupportedEncoding
        When something other than an item or a delimiter stands between the items.
    TruncatedFile, NeedMoreData
        See :func:`need`.
    """
    n = len(buf)
    while True:
        need(pos + 8, n, file_size, tag)
        group, elem, length = _HHI.unpack_from(buf, pos)
        if group != ITEM_GROUP:
            raise UnsupportedEncoding(f"unexpected tag in sequence at byte {pos}")
        pos += 8
        if elem == SEQUENCE_END & 0xFFFF:
            return pos
        if elem != ITEM & 0xFFFF:
            raise UnsupportedEncoding(f"unexpected delimiter in sequence at byte {pos}")
        if length != UNDEFINED:
            need(pos + length, n, file_size, tag)
            pos += length
        else:
            pos = _skip_item(buf, pos, explicit, file_size, tag)


def _skip_item(buf: bytes, pos: int, explicit: bool, file_size: int, tag: int) -> int:
    """Skip the elements of an undefined-length item up to its item delimiter."""
    n = len(buf)
    while True:
        need(pos + 8, n, file_size, tag)
        group, elem = _HH.unpack_from(buf, pos)
        if group == ITEM_GROUP and elem == ITEM_END & 0xFFFF:
            return pos + 8
        need(pos + 12, n, file_size, tag)
        inner, pos, length, un = element_header(buf, pos, explicit)
        if length == UNDEFINED:
            pos = skip_sequence(buf, pos, explicit and not un, file_size, inner)
        else:
            need(pos + length, n, file_size, inner)
            pos += length


def collect_elements(
    buf: bytes,
    pos: int,
    explicit: bool,
    file_size: int,
    stop_tag: int,
    wanted: Container[int],
    values: dict[int, bytes],
) -> int:
    """Walk the elements from ``pos`` while whole element headers lie in ``buf``.

    Stores the raw value bytes of the ``wanted`` tags in ``values``, skips sequences of
    undefined length, and stops at the first tag past ``stop_tag``. Returns the position
    reached (the start of that tag, or of the element whose header the buffer cuts).

    Raises
    ------
    UnsupportedEncoding, TruncatedFile, NeedMoreData
        See :func:`element_header` and :func:`need`.
    """
    end, _, found = trace_elements(buf, pos, explicit, file_size, stop_tag, wanted)
    for tag, where in found.items():
        values[tag] = buf[where]
    return end


def trace_elements(
    buf: bytes, pos: int, explicit: bool, file_size: int, stop_tag: int, wanted: Container[int]
) -> tuple[int, list[slice], dict[int, slice]]:
    """Walk as :func:`collect_elements` does and record what the walk depended on.

    Returns ``(position reached, decision ranges, wanted value ranges)``. The decision
    ranges are the byte ranges whose contents chose the walk's path: every element
    header read (tag, VR, length) and the whole of every skipped sequence of undefined
    length. Another buffer of the same length and file size whose bytes in those
    ranges are equal is walked along the same path to the same position, and its
    wanted values lie in the same ranges.

    Raises
    ------
    UnsupportedEncoding, TruncatedFile, NeedMoreData
        As :func:`collect_elements`, in the same cases.
    """
    n = len(buf)
    decisions: list[slice] = []
    found: dict[int, slice] = {}
    record = decisions.append
    header_size = 12 if explicit else 8
    while pos + header_size <= n:
        if explicit:
            group, elem, vr, length = _EXPLICIT.unpack_from(buf, pos)
        else:
            group, elem, length = _HHI.unpack_from(buf, pos)
        tag = (group << 16) | elem
        if tag > stop_tag:
            record(slice(pos, pos + 4))
            break
        if not explicit:
            value_pos = pos + 8
            inner_explicit = False
        elif vr in SHORT_VRS:
            value_pos = pos + 8
        elif vr in LONG_VRS:
            length = _I.unpack_from(buf, pos + 8)[0]
            value_pos = pos + 12
            inner_explicit = vr != b"UN"
        else:
            raise UnsupportedEncoding(f"invalid VR {vr!r} at byte {pos}")
        if length == UNDEFINED:
            end = skip_sequence(buf, value_pos, inner_explicit, file_size, tag)
            record(slice(pos, end))
            pos = end
            continue
        record(slice(pos, value_pos))
        end = value_pos + length
        if end > n:
            need(end, n, file_size, tag)
        if tag in wanted:
            found[tag] = slice(value_pos, end)
        pos = end
    return pos, decisions, found


def read_file_meta(buf: bytes, file_size: int) -> tuple[int, str]:
    """Return ``(position after the file meta information, transfer syntax UID)``.

    ``buf`` starts with the 128-byte preamble and ``DICM``; the file meta group is
    always explicit VR little endian (PS3.10 section 7.1).

    Raises
    ------
    UnsupportedEncoding
        No ``DICM`` marker, no transfer syntax, or an undefined length in the group.
    TruncatedFile, NeedMoreData
        See :func:`need`.
    """
    n = len(buf)
    if n < 132 or buf[128:132] != b"DICM":
        raise UnsupportedEncoding("no DICM marker at byte 128")
    fast = _file_meta_by_group_length(buf)
    if fast is not None:
        return fast
    pos, transfer_syntax = 132, ""
    while True:
        if pos + 8 > n:
            need(pos + 8, n, file_size, 0x00020000)
        if _H.unpack_from(buf, pos)[0] != 0x0002:
            break
        need(pos + 12, n, file_size, 0x00020000)
        tag, pos, length, _ = element_header(buf, pos, True)
        if length == UNDEFINED:
            raise UnsupportedEncoding("undefined length in the file meta information")
        need(pos + length, n, file_size, tag)
        if tag == TRANSFER_SYNTAX_TAG:
            transfer_syntax = buf[pos : pos + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos += length
    if not transfer_syntax:
        raise UnsupportedEncoding("no transfer syntax in the file meta information")
    return pos, transfer_syntax


def _file_meta_by_group_length(buf: bytes) -> tuple[int, str] | None:
    """Fast path: (0002,0000) gives the meta length and the transfer syntax lies inside."""
    n = len(buf)
    if buf[132:138] != b"\x02\x00\x00\x00UL" or n < 144:
        return None
    meta_end = 144 + _I.unpack_from(buf, 140)[0]
    at = buf.find(b"\x02\x00\x10\x00UI", 144, meta_end)
    if at <= 0 or meta_end + 8 > n or buf[meta_end : meta_end + 2] == b"\x02\x00":
        return None
    length = _H.unpack_from(buf, at + 6)[0]
    transfer_syntax = buf[at + 8 : at + 8 + length].rstrip(b"\x00 ").decode("ascii", "replace")
    return (meta_end, transfer_syntax) if transfer_syntax else None


# --------------------------------------------------------------- sequences


@dataclass(frozen=True)
class RawElement:
    """Where one data element lies in a buffer.

    Attributes
    ----------
    start
        Position of its tag.
    value_pos
        Position of its value.
    length
        Its value length, :data:`UNDEFINED` for a sequence of undefined length.
    end
        Position after it (after the sequence delimiter for an undefined length).
    explicit
        Whether the items of its value are explicit VR (an explicit-VR ``UN`` holds
        implicit VR, PS3.5 section 6.2.2).
    """

    start: int
    value_pos: int
    length: int
    end: int
    explicit: bool


RawItem = dict[int, tuple[int, int, bool]]
"""The elements of one sequence item: tag -> (value position, value length, explicit).

The length is :data:`UNDEFINED` for a nested sequence of undefined length; ``explicit``
tells how a nested sequence's items are encoded. Nested sequences are not walked until
asked for (:func:`nested_items`).
"""


def find_element(buf: bytes, pos: int, explicit: bool, tag: int) -> RawElement | None:
    """The top-level element ``tag`` of the data set starting at ``pos``, or None.

    ``buf`` holds the whole file. Walks with :func:`collect_elements` up to the first
    tag at or past ``tag`` (elements sorted by tag, PS3.5 section 7.1); None when that
    tag is another one or the data set ends first.

    Raises
    ------
    UnsupportedEncoding, TruncatedFile
        See :func:`element_header` and :func:`need`.
    """
    n = len(buf)
    start = collect_elements(buf, pos, explicit, n, tag - 1, (), {})
    if start + (12 if explicit else 8) > n:
        return None
    found, value_pos, length, un = element_header(buf, start, explicit)
    if found != tag:
        return None
    inner_explicit = explicit and not un
    if length == UNDEFINED:
        end = skip_sequence(buf, value_pos, inner_explicit, n, tag)
    else:
        end = value_pos + length
        need(end, n, n, tag)
    return RawElement(start, value_pos, length, end, inner_explicit)


def sequence_items(
    buf: bytes, pos: int, length: int, explicit: bool, file_size: int, tag: int
) -> Iterator[RawItem]:
    """Yield the elements of each item of the sequence ``tag`` whose value starts at ``pos``.

    ``length`` is the sequence's value length, or :data:`UNDEFINED`: the items then end
    at the sequence delimiter. Items of defined and of undefined length are both
    handled; a nested sequence of undefined length is skipped with
    :func:`skip_sequence` and recorded, to be walked by :func:`nested_items`.

    Raises
    ------
    UnsupportedEncoding
        When something other than an item or a delimiter stands between the items, or
        an element runs past the end of its item or an item past the end of the sequence.
    TruncatedFile, NeedMoreData
        See :func:`need`.
    """
    n = len(buf)
    end = None if length == UNDEFINED else pos + length
    if end is not None:
        need(end, n, file_size, tag)
    while end is None or pos < end:
        need(pos + 8, n, file_size, tag)
        group, elem, item_length = _HHI.unpack_from(buf, pos)
        if group != ITEM_GROUP:
            raise UnsupportedEncoding(f"unexpected tag in sequence {tag_text(tag)} at byte {pos}")
        pos += 8
        if elem == SEQUENCE_END & 0xFFFF:
            return
        if elem != ITEM & 0xFFFF:
            raise UnsupportedEncoding(f"unexpected delimiter in sequence {tag_text(tag)}")
        if item_length == UNDEFINED:
            item, pos = _item_elements(buf, pos, None, explicit, file_size, tag)
        else:
            need(pos + item_length, n, file_size, tag)
            item, pos = _item_elements(buf, pos, pos + item_length, explicit, file_size, tag)
        yield item
    if pos != end:
        raise UnsupportedEncoding(f"an item runs past the end of sequence {tag_text(tag)}")


def _item_elements(
    buf: bytes, pos: int, end: int | None, explicit: bool, file_size: int, tag: int
) -> tuple[RawItem, int]:
    """The elements of one item from ``pos`` to ``end`` (None: to its item delimiter)."""
    n = len(buf)
    header = 12 if explicit else 8
    item: RawItem = {}
    while end is None or pos < end:
        need(pos + 8, n, file_size, tag)
        if end is None and _HH.unpack_from(buf, pos) == (ITEM_GROUP, ITEM_END & 0xFFFF):
            return item, pos + 8
        if pos + header > n and explicit and buf[pos + 4 : pos + 6] in LONG_VRS:
            need(pos + header, n, file_size, tag)
        inner, value_pos, length, un = element_header(buf, pos, explicit)
        if length == UNDEFINED:
            pos = skip_sequence(buf, value_pos, explicit and not un, file_size, inner)
        else:
            pos = value_pos + length
            need(pos, n, file_size, inner)
        item[inner] = (value_pos, length, explicit and not un)
    if pos != end:
        raise UnsupportedEncoding(f"an element runs past the end of its item in {tag_text(tag)}")
    return item, pos


def item_value(buf: bytes, item: RawItem, tag: int) -> bytes | None:
    """The raw value bytes of element ``tag`` of ``item`` (None when it is absent).

    Raises
    ------
    UnsupportedEncoding
        When the element has an undefined length (a sequence, not a value).
    """
    entry = item.get(tag)
    if entry is None:
        return None
    pos, length, _ = entry
    if length == UNDEFINED:
        raise UnsupportedEncoding(f"element {tag_text(tag)} has an undefined length")
    return buf[pos : pos + length]


def nested_items(buf: bytes, item: RawItem, tag: int, file_size: int) -> Iterator[RawItem]:
    """The items of the nested sequence ``tag`` of ``item`` (none when it is absent).

    Raises
    ------
    UnsupportedEncoding, TruncatedFile, NeedMoreData
        See :func:`sequence_items`.
    """
    entry = item.get(tag)
    if entry is None:
        return iter(())
    pos, length, explicit = entry
    return sequence_items(buf, pos, length, explicit, file_size, tag)
