"""The one ImageOrientationPatient parser and the one axial tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imncohort.geometry.orientation import AXIAL_TOLERANCE, in_plane_is_axial, is_axial, parse_iop
from imncohort.geometry.validation import GeometryError, as_affine


def _tilted_iop(degrees: float) -> np.ndarray:
    """Rows along x, columns along y tilted by ``degrees`` about the x axis (a gantry tilt)."""
    t = math.radians(degrees)
    return np.array([1.0, 0.0, 0.0, 0.0, math.cos(t), math.sin(t)])


def test_the_axial_tolerance_is_sin_of_0_057_degrees() -> None:
    assert AXIAL_TOLERANCE == 1e-3
    assert math.degrees(math.asin(AXIAL_TOLERANCE)) == pytest.approx(0.0573, abs=1e-4)


@pytest.mark.parametrize(
    ("degrees", "axial"),
    [(0.0, True), (0.05, True), (0.06, False), (1.0, False), (2.5, False), (2.6, False)],
)
def test_tilt_accepted_or_refused(degrees: float, axial: bool) -> None:
    assert is_axial(_tilted_iop(degrees)) is axial


def test_feet_first_and_rotated_in_plane_orientations_are_axial() -> None:
    assert is_axial([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]) is True
    c, s = math.cos(0.3), math.sin(0.3)
    assert is_axial([c, s, 0.0, -s, c, 0.0]) is True
    assert is_axial([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]) is False  # coronal


def test_in_plane_rule_scales_with_the_step_length() -> None:
    assert in_plane_is_axial([0.7, 0.0, 0.0007]) is True  # z / |v| = 0.001
    assert in_plane_is_axial([0.7, 0.0, 0.00071]) is False
    assert in_plane_is_axial([0.0, 0.0, 0.0]) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1\\0\\0\\0\\1\\0", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        ("-1.0\\0\\0\\0\\1\\0 ", [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        ("1\\\\0\\\\0\\\\0\\\\0.99985\\\\0.01745", [1.0, 0.0, 0.0, 0.0, 0.99985, 0.01745]),
    ],
)
def test_parse_iop_exact_values(text: str, expected: list[float]) -> None:
    values = parse_iop(text)
    assert values is not None
    assert values.tolist() == expected


@pytest.mark.parametrize(
    "text", ["", "1\\0\\0\\0\\1", "1\\0\\0\\0\\1\\x", "0\\0\\0\\0\\1\\0", "nan\\0\\0\\0\\1\\0"]
)
def test_parse_iop_refuses_what_is_no_orientation(text: str) -> None:
    assert parse_iop(text) is None


def test_is_axial_needs_six_numbers() -> None:
    with pytest.raises(ValueError, match='Argument "iop" must hold 6 numbers, got shape'):
        is_axial([1.0, 0.0, 0.0])


@pytest.mark.parametrize(("degrees", "ok"), [(0.05, True), (1.0, False), (2.6, False)])
def test_affine_in_plane_steps_use_the_same_tolerance(degrees: float, ok: bool) -> None:
    iop = _tilted_iop(degrees)
    affine = np.eye(4)
    affine[:3, 0] = 0.8 * iop[:3]
    affine[:3, 1] = 0.8 * iop[3:]
    affine[:3, 2] = [0.0, 0.0, 2.0]
    if ok:
        assert as_affine(affine)[2, 1] == pytest.approx(0.8 * math.sin(math.radians(degrees)))
    else:
        with pytest.raises(GeometryError, match=r"the j step .* must lie in the axial plane"):
            as_affine(affine)
