"""Attributes of a mention: side, intercostal spaces and size (English and Chinese).

Pure functions on text. Sizes are returned in millimetres; intercostal spaces
as sorted space numbers (space k lies between ribs k and k+1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
}
_CHINESE_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_MAX_SPACE = 11

_EN_ORD = r"(?:\d{1,2}(?:st|nd|rd|th)?|" + "|".join(_ORDINAL_WORDS) + r")"
_EN_SEP = r"\s*(?:-|–|—|to|through|and|&|/|,|or)\s*"
_EN_SPACE = re.compile(
    rf"(?<![A-Za-z0-9])(?P<first>{_EN_ORD})(?P<more>(?:{_EN_SEP}{_EN_ORD})*)\s*"
    r"(?:left\s+|right\s+|bilateral\s+)?"
    r"(?:intercostal\s+spaces?|intercostal\s+levels?|ics|i\.c\.s\.?|interspaces?|intercostals?)"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
_EN_SPACE_AFTER = re.compile(
    r"(?<![A-Za-z])(?:intercostal\s+spaces?|ics)\s*(?P<first>\d{1,2})"
    rf"(?P<more>(?:{_EN_SEP}\d{{1,2}})*)(?![0-9])",
    re.IGNORECASE,
)
_ZH_NUM = r"(?:\d{1,2}|十?[一二两三四五六七八九十])"
_ZH_SPACE = re.compile(
    rf"第\s*(?P<first>{_ZH_NUM})(?P<more>(?:\s*[-－~～至到、,，和及]\s*第?\s*{_ZH_NUM})*)\s*"
    r"(?:前)?肋间(?:隙)?"
)
_EN_RANGE_SEP = re.compile(r"-|–|—|to|through", re.IGNORECASE)
_ZH_RANGE_SEP = re.compile(r"[-－~～至到]")

_SIDE_PATTERNS = (
    (
        "bilateral",
        re.compile(
            r"(?<![A-Za-z])(?:bilateral(?:ly)?|both(?:\s+sides)?)(?![A-Za-z])|双侧|两侧",
            re.IGNORECASE,
        ),
    ),
    (
        "left",
        re.compile(r"(?<![A-Za-z])(?:left|lt\.?)(?:[\s-]+sided)?(?![A-Za-z])|左", re.IGNORECASE),
    ),
    (
        "right",
        re.compile(r"(?<![A-Za-z])(?:right|rt\.?)(?:[\s-]+sided)?(?![A-Za-z])|右", re.IGNORECASE),
    ),
)
_SIZE_2D = re.compile(
    r"(?P<a>\d+(?:\.\d+)?)\s*(?P<ua>cm|mm|厘米|毫米)?\s*[x×X*＊]\s*"
    r"(?P<b>\d+(?:\.\d+)?)\s*(?P<ub>cm|mm|厘米|毫米)?"
    r"(?:\s*[x×X*＊]\s*(?P<c>\d+(?:\.\d+)?)\s*(?P<uc>cm|mm|厘米|毫米)?)?",
    re.IGNORECASE,
)
_SIZE_1D = re.compile(
    r"(?<![\d.])(?P<a>\d+(?:\.\d+)?)\s*(?P<ua>cm|mm|厘米|毫米)(?![A-Za-z])", re.IGNORECASE
)
_UNIT_MM = {"cm": 10.0, "厘米": 10.0, "mm": 1.0, "毫米": 1.0}


@dataclass(frozen=True)
class Size:
    """Long and short axis in millimetres (``short_mm`` NaN when one number was given)."""

    long_mm: float
    short_mm: float


def _ordinal(token: str) -> int | None:
    token = token.strip().lower()
    if token in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[token]
    digits = re.match(r"\d{1,2}", token)
    if digits:
        return int(digits.group())
    if token in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[token]
    if token.startswith("十") and len(token) == 2:
        return 10 + _CHINESE_DIGITS.get(token[1], 0)
    return None


def _expand_list(first: str, more: str, number: str, range_sep: re.Pattern[str]) -> list[int]:
    values: list[int] = []
    start = _ordinal(first)
    if start is None:
        return []
    values.append(start)
    pos = 0
    number_re = re.compile(number, re.IGNORECASE)
    for match in number_re.finditer(more):
        value = _ordinal(match.group())
        if value is None:
            continue
        separator = more[pos : match.start()]
        previous = values[-1]
        if range_sep.search(separator) and value > previous:
            values.extend(range(previous + 1, value + 1))
        else:
            values.append(value)
        pos = match.end()
    return values


def parse_intercostal_spaces(text: str) -> list[int]:
    """Return the intercostal spaces named in ``text`` (sorted, unique).

    Understands "2nd ICS", "second intercostal space", "1st-2nd intercostal
    spaces" (a range), "2nd and 3rd", "intercostal space 2", "第二肋间",
    "第1-2肋间", "第二、三肋间". Spaces outside 1..11 are ignored.

    Examples
    --------
    >>> parse_intercostal_spaces("in the 1st-3rd intercostal spaces")
    [1, 2, 3]
    """
    found: set[int] = set()
    for match in _EN_SPACE.finditer(text):
        found.update(_expand_list(match["first"], match["more"], _EN_ORD, _EN_RANGE_SEP))
    for match in _EN_SPACE_AFTER.finditer(text):
        found.update(_expand_list(match["first"], match["more"], r"\d{1,2}", _EN_RANGE_SEP))
    for match in _ZH_SPACE.finditer(text):
        found.update(_expand_list(match["first"], match["more"], _ZH_NUM, _ZH_RANGE_SEP))
    return sorted(v for v in found if 1 <= v <= _MAX_SPACE)


def parse_side(text: str, anchor: int | None = None) -> str:
    """Return ``left``, ``right``, ``bilateral`` or ``""`` for ``text``.

    Parameters
    ----------
    text
        The words around one mention.
    anchor
        Character offset of the mention in ``text``: the side word nearest to it
        wins (before it on ties). None: bilateral if both sides are named.
    """
    hits: list[tuple[int, str]] = []
    for side, pattern in _SIDE_PATTERNS:
        for match in pattern.finditer(text):
            if side != "bilateral" and any(
                h[1] == "bilateral" and h[0] <= match.start() < h[0] + 6 for h in hits
            ):
                continue
            hits.append((match.start(), side))
    if not hits:
        return ""
    sides = {side for _, side in hits}
    if "bilateral" in sides:
        return "bilateral"
    if anchor is None:
        return "bilateral" if {"left", "right"} <= sides else hits[0][1]
    return min(hits, key=lambda h: (abs(h[0] - anchor), h[0] > anchor))[1]


def _mm(value: str, unit: str | None, fallback: str | None) -> float:
    factor = _UNIT_MM.get((unit or fallback or "").lower(), math.nan)
    return round(float(value) * factor, 3)


def parse_size(text: str) -> Size | None:
    """Return the first size of ``text`` in millimetres, or None.

    "1.2 x 0.8 cm" gives long 12, short 8 (the larger of the first two
    dimensions is the long axis); "15 mm" gives long 15 and short NaN. A number
    without a unit is not a size.
    """
    match = _SIZE_2D.search(text)
    if match:
        unit = match["uc"] or match["ub"] or match["ua"]
        if unit:
            a = _mm(match["a"], match["ua"], unit)
            b = _mm(match["b"], match["ub"], unit)
            return Size(long_mm=max(a, b), short_mm=min(a, b))
    single = _SIZE_1D.search(text)
    if single:
        return Size(long_mm=_mm(single["a"], single["ua"], None), short_mm=math.nan)
    return None
