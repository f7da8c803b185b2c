"""Shoelace area and centroid, even-odd inclusion and rasterising."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imncohort.geometry.polygons import (
    grid_around_rings,
    point_in_polygon,
    point_in_rings,
    polygon_area,
    polygon_centroid,
    polygon_signed_area,
    rasterize_rings,
    rasterize_rings_on_slice,
    ring_depths,
)
from imncohort.geometry.validation import GeometryError


@pytest.mark.parametrize("theta", [0.0, 17.0, 45.0, 90.0, 133.0])
@pytest.mark.parametrize("centre", [(0.0, 0.0), (31.3, -12.7), (-250.0, 480.0)])
def test_ellipse_polygon_area_and_centroid(shapes, theta, centre):
    a, b, n = 12.0, 7.0, 64
    ring = shapes.ellipse_ring(*centre, a, b, theta, n)
    expected_area = 0.5 * n * a * b * math.sin(2 * math.pi / n)  # inscribed 64-gon
    assert polygon_area(ring) == pytest.approx(expected_area, rel=1e-9)
    assert polygon_area(ring) == pytest.approx(math.pi * a * b, rel=2e-3)
    assert polygon_signed_area(ring) > 0  # counter-clockwise
    assert polygon_signed_area(ring[::-1]) == pytest.approx(-expected_area, rel=1e-9)
    np.testing.assert_allclose(polygon_centroid(ring), centre, atol=1e-9)
    np.testing.assert_allclose(polygon_centroid(ring[::-1]), centre, atol=1e-9)


def test_triangle_centroid_and_closed_ring():
    tri = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 3.0]])
    assert polygon_area(tri) == 9.0
    np.testing.assert_allclose(polygon_centroid(tri), [2.0, 1.0], atol=1e-12)
    closed = np.vstack([tri, tri[:1]])  # repeated first vertex is harmless
    assert polygon_area(closed) == 9.0
    np.testing.assert_allclose(polygon_centroid(closed), [2.0, 1.0], atol=1e-12)


def test_degenerate_ring_centroid_is_vertex_mean():
    np.testing.assert_allclose(polygon_centroid([[3.0, 4.0]]), [3.0, 4.0])
    np.testing.assert_allclose(polygon_centroid([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]]), [2.0, 2.0])
    assert polygon_area([[0.0, 0.0], [2.0, 2.0]]) == 0.0


def test_point_in_polygon_and_even_odd(shapes):
    outer = shapes.square_ring(0, 0, 10)
    hole = shapes.square_ring(0, 0, 4)
    pts = np.array([[0.0, 0.0], [7.0, 0.0], [12.0, 0.0], [-9.9, 9.9]])
    assert point_in_polygon(pts, outer).tolist() == [True, True, False, True]
    assert point_in_rings(pts, [outer, hole]).tolist() == [False, True, False, True]
    assert point_in_polygon([0.5, 0.5], hole).tolist() == [True]


def test_ring_depths_nesting(shapes):
    rings = [
        shapes.square_ring(0, 0, 4),  # hole
        shapes.square_ring(0, 0, 10),  # outer
        shapes.square_ring(0, 0, 1),  # island in the hole
        shapes.square_ring(30, 0, 2),  # separate blob
    ]
    assert ring_depths(rings) == [1, 0, 2, 0]


def test_rasterize_square_and_hole(shapes):
    xc = np.arange(-20, 20) + 0.5
    yc = np.arange(-20, 20) + 0.5
    outer = shapes.square_ring(0, 0, 10)
    hole = shapes.square_ring(0, 0, 4)
    assert int(rasterize_rings([outer], xc, yc).sum()) == 400
    assert int(rasterize_rings([outer, hole], xc, yc).sum()) == 400 - 64
    assert int(rasterize_rings([hole, outer], xc, yc).sum()) == 336
    grid = rasterize_rings([outer, hole], xc, yc)
    assert grid.shape == (40, 40)
    assert not grid[20, 20] and grid[11, 11]


@pytest.mark.parametrize("theta", [0.0, 30.0, 75.0])
def test_rasterized_ellipse_area_close_to_polygon(shapes, theta):
    ring = shapes.ellipse_ring(3.3, -1.2, 12.0, 7.0, theta)
    xc, yc = grid_around_rings([ring], 0.05, margin_mm=1.0)
    px = rasterize_rings([ring], xc, yc)
    assert px.sum() * 0.05**2 == pytest.approx(polygon_area(ring), rel=5e-3)


@pytest.mark.parametrize("signs", [(1, 1), (-1, 1), (1, -1), (-1, -1)])
def test_rasterize_on_slice_follows_affine(shapes, signs):
    affine = shapes.axial_affine((0.7, 0.9, 2.0), (*signs, 1), (3, 60, 50), (10.0, -5.0, 0.0))
    ring = shapes.square_ring(10.0, -5.0, 8.0)
    mask = rasterize_rings_on_slice([ring], affine, (60, 50), 1)
    jj, ii = np.nonzero(mask)
    xy = np.column_stack([ii, jj]) * affine.diagonal()[:2] + affine[:2, 3]
    assert np.all(np.abs(xy - [10.0, -5.0]) <= 8.0)
    # Pixels across 16 mm: ~16/0.7 by ~16/0.9.
    assert abs(len(set(ii.tolist())) - 16 / 0.7) <= 1
    assert abs(len(set(jj.tolist())) - 16 / 0.9) <= 1


def test_bad_shape_names_argument():
    with pytest.raises(GeometryError, match=r'Argument "xy" must have shape \(M, 2\)'):
        polygon_area(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="step_mm"):
        grid_around_rings([np.zeros((3, 2))], 0.0)


def test_rasterize_matches_point_in_rings_on_random_rings(shapes):
    rng = np.random.default_rng(0)
    xc = np.linspace(-16.0, 16.0, 97)
    yc = np.linspace(-15.0, 15.0, 81)
    grid_x, grid_y = np.meshgrid(xc, yc)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    for _ in range(20):
        rings = [
            shapes.ellipse_ring(
                *rng.uniform(-5, 5, 2), *rng.uniform(2, 10, 2), rng.uniform(0, 180), int(n)
            )
            for n in rng.integers(3, 50, size=3)
        ]
        expected = point_in_rings(points, rings).reshape(yc.size, xc.size)
        np.testing.assert_array_equal(rasterize_rings(rings, xc, yc), expected)
