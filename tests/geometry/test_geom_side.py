"""Laterality from a name, else from the side of the midline."""

from __future__ import annotations

import re

import pytest

from imncohort.geometry.side import side_from_name, side_from_x
from imncohort.geometry.validation import GeometryError

LEFT = r"(^|[_\s-])(l|lt|left)($|[_\s-]|\d)"
RIGHT = r"(^|[_\s-])(r|rt|right)($|[_\s-]|\d)"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMN1_L", "left"),
        ("IMLN_R", "right"),
        ("imv_l", "left"),
        ("A_Mammary_Int_R", "right"),
        ("GTVn_IMN", None),
        ("IMN left", "left"),
        ("IMN_L_R", None),  # both: undecided
    ],
)
def test_side_from_name(name, expected):
    assert side_from_name(name, LEFT, RIGHT) == expected


def test_side_from_name_accepts_compiled_patterns():
    assert side_from_name("node_L", re.compile(r"_L$"), re.compile(r"_R$")) == "left"
    assert side_from_name("node_l", re.compile(r"_L$"), re.compile(r"_R$")) is None
    with pytest.raises(GeometryError, match='"left_regex" is not a valid regular expression'):
        side_from_name("x", "(", RIGHT)


def test_side_from_x():
    assert side_from_x(32.0, 0.0) == "left"  # LPS +x = patient left
    assert side_from_x(-32.0, 0.0) == "right"
    assert side_from_x(3.0, 5.0) == "right"
    assert side_from_x(5.0, 5.0) == "right"  # exactly on the midline: not > midline
