"""Long axis = largest diameter; short axis = largest diameter perpendicular to it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imncohort.geometry.axes import convex_hull, long_short_axis, measure_axes
from imncohort.geometry.validation import GeometryError


@pytest.mark.parametrize("theta", [0.0, 12.0, 45.0, 90.0, 161.0])
@pytest.mark.parametrize("ab", [(12.0, 7.0), (5.0, 2.5), (20.0, 19.0)])
def test_ellipse_polygon_axes(shapes, theta, ab):
    a, b = ab
    ring = shapes.ellipse_ring(-41.0, 7.5, a, b, theta, 64)
    long_mm, short_mm = long_short_axis(ring)
    # The 64-gon has vertices at both ends of both axes: exactly 2a and 2b.
    assert long_mm == pytest.approx(2 * a, rel=1e-6)
    assert short_mm == pytest.approx(2 * b, rel=1e-6)
    assert abs(long_mm - 2 * a) < 0.5 and abs(short_mm - 2 * b) < 0.5


def test_rectangle_short_axis_is_width_across_diagonal():
    rect = np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 10.0], [0.0, 10.0]])
    long_mm, short_mm = long_short_axis(rect)
    diag = math.hypot(30.0, 10.0)
    assert long_mm == pytest.approx(diag)
    assert short_mm == pytest.approx(2 * 30.0 * 10.0 / diag)  # 18.97 mm


def test_interior_points_do_not_change_axes(shapes):
    ring = shapes.ellipse_ring(0.0, 0.0, 9.0, 4.0, 20.0)
    rng = np.random.default_rng(5)
    inner = rng.uniform(-3, 3, size=(200, 2))
    assert long_short_axis(np.vstack([inner, ring])) == pytest.approx(long_short_axis(ring))


def test_end_points_and_degenerate_cases():
    m = measure_axes([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]])
    assert (m.long_mm, m.short_mm) == pytest.approx((5.0, 0.0), abs=1e-12)
    assert sorted(map(tuple, m.long_end_points_xy_lps.tolist())) == [(0.0, 0.0), (3.0, 4.0)]
    assert long_short_axis([[2.0, 2.0]]) == (0.0, 0.0)
    assert convex_hull([[0, 0], [1, 1], [2, 2], [0, 2], [2, 0], [1, 0]]).shape == (4, 2)


def test_bad_boundary_names_argument():
    with pytest.raises(GeometryError, match=r'Argument "boundary_xy_lps" must have shape \(M, 2\)'):
        long_short_axis(np.zeros((5, 3)))
    with pytest.raises(GeometryError, match='"boundary_xy_lps" must hold at least 1'):
        long_short_axis(np.zeros((0, 2)))
