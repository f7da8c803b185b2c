"""Decode report bytes: the declared character set, else a documented fallback.

Rule (also in the user docs): bytes are decoded with the declared character
set (DICOM Specific Character Set, e.g. ``ISO_IR 100``, ``ISO_IR 192``,
``GB18030``) when that decode is strict *and* plausible; otherwise each codec
of ``reports.fallback_encodings`` (default ``utf-8, gb18030, latin-1``) is tried
in order with the same test, and the first plausible one wins and is recorded
in ``errors.csv`` (the report is read, with a note). When nothing is plausible
the report is skipped and recorded. A decode is *plausible* when it holds no
replacement character, no control characters other than tab/newline, and:

- for the GB codecs, 90 % or more of its non-ASCII characters are CJK
  characters or punctuation of the common GB2312 set (a Latin-1 text decoded
  as GB18030 produces rare extension characters instead);
- for single-byte codecs (Latin-1, cp1252), no run of three or more non-ASCII
  letters (what UTF-8 or GB18030 bytes look like when read as Latin-1).

Pure-ASCII bytes are always decoded as ASCII. Code extensions (``ISO 2022 IR 6\\ISO
2022 IR 87``, ``ISO 2022 IR 149``, ``ISO 2022 IR 126`` ..., or several declared
terms) are decoded by pydicom's own character-set handling, which follows the
escape sequences; its result passes the same plausibility test (a lossy decode,
a stray escape or a replacement character sends the text to the fallbacks).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass

from imncohort.errors import InputError

_DICOM_CODECS = {
    "": "ascii",
    "ISO_IR 6": "ascii",
    "ISO 2022 IR 6": "ascii",
    "ISO_IR 100": "latin_1",
    "ISO 2022 IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO_IR 203": "iso8859_15",
    "ISO_IR 13": "shift_jis",
    "ISO_IR 166": "tis_620",
    "ISO_IR 192": "utf_8",
    "GB18030": "gb18030",
    "GBK": "gbk",
    "ISO 2022 IR 58": "gb2312",
    "ISO 2022 IR 149": "euc_kr",
    "ISO 2022 IR 87": "iso2022_jp",
}
_GB = {"gb18030", "gbk", "gb2312", "hz"}
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")
_LATIN_RUN = re.compile(r"[^\x00-\x7f]{3,}")
_GB2312_G1 = b"\x1b$)A"
#: Bytes that reset the code extension in DICOM text values (CR, LF, TAB, FF).
_TEXT_DELIMITERS = (0x0D, 0x0A, 0x09, 0x0C)


@dataclass(frozen=True)
class Decoded:
    """Decoded text, the codec used, and a note when a fallback was needed."""

    text: str
    encoding: str
    note: str


def python_codec(charset: str) -> str | None:
    """Return the Python codec of a DICOM Specific Character Set term or codec name."""
    term = charset.strip()
    if term.upper() in {k.upper() for k in _DICOM_CODECS}:
        return next(v for k, v in _DICOM_CODECS.items() if k.upper() == term.upper())
    try:
        return codecs.lookup(term).name
    except LookupError:
        return None


def _canonical(codec: str) -> str:
    return codecs.lookup(codec).name


def plausible(text: str, codec: str) -> bool:
    """Return True when ``text`` looks like a correct decode with ``codec`` (module doc)."""
    if _BAD_CONTROL.search(text):
        return False
    name = _canonical(codec)
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    if name in _GB:
        common = 0
        for char in non_ascii:
            try:
                encoded = char.encode("gb2312")
            except UnicodeEncodeError:
                continue
            if len(encoded) == 2 and encoded[0] >= 0xA1 and encoded[1] >= 0xA1:
                common += 1
        return common >= 0.9 * len(non_ascii)
    if name in {"latin-1", "iso8859-1", "cp1252", "iso8859-15", "iso8859-2"}:
        return not _LATIN_RUN.search(text)
    return True


def _try(raw: bytes, codec: str) -> str | None:
    try:
        text = raw.decode(codec, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None
    return text if plausible(text, codec) else None


def _code_extensions(terms: Sequence[str]) -> bool:
    """True for DICOM code extensions: an ``ISO 2022`` term or several terms."""
    return len(terms) > 1 or any(t.strip().upper().startswith("ISO 2022") for t in terms)


def _decode_iso2022(raw: bytes, terms: Sequence[str]) -> str | None:
    """Decode ``raw`` with pydicom's escape-sequence handling; None when lossy or implausible."""
    import warnings

    from pydicom import charset as dicom_charset

    if b"\x1b" not in raw and python_codec(terms[0]) == "ascii":
        return None  # 8-bit bytes with an ASCII default and no escape: not code extensions

    try:
        with warnings.catch_warnings():
            # pydicom warns and replaces what it cannot decode: treat that as a failure
            warnings.simplefilter("error")
            encodings = dicom_charset.convert_encodings([t.strip() for t in terms])
            text = dicom_charset.decode_bytes(raw, encodings, set(_TEXT_DELIMITERS))
    except Exception:  # bad escapes, unknown terms, lossy decodes (warnings as errors)
        return None
    if _GB2312_G1 in raw and any(t.strip().upper() == "ISO 2022 IR 58" for t in terms):
        # pydicom has no escape for IR 58 (GB2312 in G1): drop the designations and read
        # ASCII (G0) and GB2312 (G1) bytes together, which is what the gb2312 codec does
        text = raw.replace(_GB2312_G1, b"").replace(b"\x1b(B", b"").decode("gb2312", "replace")
        return text if plausible(text, "gb2312") else None
    return text if plausible(text, "utf-8") else None


def decode_text(
    raw: bytes,
    declared: Sequence[str] = (),
    fallbacks: Sequence[str] = ("utf-8", "gb18030", "latin-1"),
    what: str = "text",
) -> Decoded:
    """Decode report bytes by the rule of the module docstring.

    Parameters
    ----------
    raw
        The bytes of one text value or file.
    declared
        The declared character set(s): DICOM terms (``ISO_IR 192``) or codec names;
        empty when undeclared.
    fallbacks
        Codecs tried in order when the declared one fails or is implausible.
    what
        How to name the text in notes and errors (e.g. ``"SR TextValue"``).

    Raises
    ------
    InputError
        When no codec gives a plausible text.
    """
    if raw.isascii() and b"\x1b" not in raw:
        return Decoded(raw.decode("ascii"), "ascii", "")
    terms = [t for t in declared if t and t.strip()]
    declared_codecs = [c for c in (python_codec(t) for t in terms) if c and c != "ascii"]
    label = "\\".join(terms) if terms else "no character set"
    if _code_extensions(terms):
        text = _decode_iso2022(raw, terms)
        if text is not None:
            return Decoded(text, "+".join(terms), "")
    elif len(declared_codecs) == 1:
        text = _try(raw, declared_codecs[0])
        if text is not None:
            return Decoded(text, _canonical(declared_codecs[0]), "")
    for codec in fallbacks:
        text = _try(raw, codec)
        if text is not None:
            why = "undeclared" if not terms else "does not fit the declared " + label
            return Decoded(
                text,
                _canonical(codec),
                f"{what}: character set {why}; decoded as {_canonical(codec)} (fallback)",
            )
    tried = ", ".join([*declared_codecs, *fallbacks])
    raise InputError(
        f"{what}: cannot decode the text ({label}); tried {tried} and none gave plausible text; "
        "set the right Specific Character Set or add the codec to reports.fallback_encodings"
    )
