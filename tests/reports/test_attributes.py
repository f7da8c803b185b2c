"""Side, intercostal space and size parsers, English and Chinese."""

from __future__ import annotations

import math

import pytest

from imncohort.reports.attributes import parse_intercostal_spaces, parse_side, parse_size


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("There is an enlarged left internal mammary node.", "left"),
        ("Small right IMN, likely reactive.", "right"),
        ("Possible bilateral IMN.", "bilateral"),
        ("Internal mammary nodes on both sides.", "bilateral"),
        ("Lt IMN measuring 8 mm.", "left"),
        ("No enlarged IMNs.", ""),
        ("左侧内乳淋巴结肿大", "left"),
        ("右侧内乳淋巴结，转移可能", "right"),
        ("双侧内乳淋巴结", "bilateral"),
        ("内乳淋巴结不除外转移", ""),
        ("r/o IMN", ""),
    ],
)
def test_side(text: str, side: str) -> None:
    assert parse_side(text) == side


def test_side_nearest_to_the_anchor_wins() -> None:
    text = "Left breast cancer; right IMN"
    assert parse_side(text, anchor=text.index("IMN")) == "right"
    assert parse_side(text) == "bilateral"


@pytest.mark.parametrize(
    ("text", "spaces"),
    [
        ("in the 2nd intercostal space", [2]),
        ("at the second intercostal space", [2]),
        ("in the 1st-2nd intercostal spaces", [1, 2]),
        ("in the 1st-3rd intercostal spaces", [1, 2, 3]),
        ("2nd ICS", [2]),
        ("2nd and 4th intercostal spaces", [2, 4]),
        ("intercostal space 3", [3]),
        ("third left intercostal space", [3]),
        ("位于第二肋间", [2]),
        ("第1-2肋间", [1, 2]),
        ("第二、三肋间隙", [2, 3]),
        ("第3肋间", [3]),
        ("no intercostal level given", []),
        ("2nd rib", []),
    ],
)
def test_intercostal_spaces(text: str, spaces: list[int]) -> None:
    assert parse_intercostal_spaces(text) == spaces


@pytest.mark.parametrize(
    ("text", "long_mm", "short_mm"),
    [
        ("measuring 1.2 x 0.8 cm", 12.0, 8.0),
        ("measuring 0.8 x 1.2 cm", 12.0, 8.0),
        ("15 mm", 15.0, math.nan),
        ("12 x 9 mm", 12.0, 9.0),
        ("3.1 x 2.0 x 1.5 cm", 31.0, 20.0),
        ("大小约1.2×0.8cm", 12.0, 8.0),
        ("大小约15毫米", 15.0, math.nan),
        ("1.5厘米", 15.0, math.nan),
    ],
)
def test_size(text: str, long_mm: float, short_mm: float) -> None:
    size = parse_size(text)
    assert size is not None
    assert size.long_mm == pytest.approx(long_mm)
    if math.isnan(short_mm):
        assert math.isnan(size.short_mm)
    else:
        assert size.short_mm == pytest.approx(short_mm)


@pytest.mark.parametrize("text", ["SUV max 5.2", "in the 2nd intercostal space", "第二肋间"])
def test_no_size_without_a_unit(text: str) -> None:
    assert parse_size(text) is None
