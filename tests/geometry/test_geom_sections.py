"""Cross-sections from contour rings (even-odd) and from masks in any axial orientation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imncohort.geometry.axes import long_short_axis
from imncohort.geometry.sections import (
    CrossSection,
    merge_sections,
    section_from_rings,
    sections_from_mask,
)
from imncohort.geometry.validation import GeometryError


def test_ring_with_hole_area_and_centroid(shapes):
    outer = shapes.square_ring(0.0, 0.0, 10.0)  # 400 mm^2 at (0, 0)
    hole = shapes.square_ring(4.0, 0.0, 5.0)  # 100 mm^2 at (4, 0)
    sec = section_from_rings(12.5, [outer, hole])
    assert sec.z_mm == 12.5
    assert sec.area_mm2 == pytest.approx(300.0, abs=1e-12)
    np.testing.assert_allclose(sec.centroid_xy_lps, [-4.0 / 3.0, 0.0], atol=1e-12)
    assert sec.boundary_xy_lps.shape == (8, 2)
    # Order and orientation of the rings do not matter.
    again = section_from_rings(12.5, [hole[::-1], outer])
    assert again.area_mm2 == pytest.approx(300.0, abs=1e-12)
    np.testing.assert_allclose(again.centroid_xy_lps, [-4.0 / 3.0, 0.0], atol=1e-12)


def test_hole_touching_its_outer_ring(shapes):
    outer = shapes.square_ring(0.0, 0.0, 10.0)
    hole = shapes.square_ring(5.0, 0.0, 5.0)  # shares the edge x = 10 with the outer ring
    sec = section_from_rings(0.0, [outer, hole])
    assert sec.area_mm2 == pytest.approx(300.0, abs=1e-12)
    np.testing.assert_allclose(sec.centroid_xy_lps, [-5.0 / 3.0, 0.0], atol=1e-12)


def test_island_inside_hole_counts_positive(shapes):
    rings = [
        shapes.square_ring(0.0, 0.0, 10.0),
        shapes.square_ring(4.0, 0.0, 5.0),
        shapes.square_ring(4.0, 0.0, 2.0),  # 16 mm^2 island
    ]
    sec = section_from_rings(0.0, rings)
    assert sec.area_mm2 == pytest.approx(316.0, abs=1e-12)
    np.testing.assert_allclose(sec.centroid_xy_lps, [(-400.0 + 64.0) / 316.0, 0.0], atol=1e-12)


def test_ellipse_with_elliptic_hole_exact(shapes):
    outer = shapes.ellipse_ring(20.0, 10.0, 12.0, 8.0, 30.0)
    hole = shapes.ellipse_ring(24.0, 10.0, 3.0, 2.0, 0.0)
    a_out = 0.5 * 64 * 12 * 8 * math.sin(2 * math.pi / 64)
    a_hole = 0.5 * 64 * 3 * 2 * math.sin(2 * math.pi / 64)
    sec = section_from_rings(0.0, [outer, hole])
    assert sec.area_mm2 == pytest.approx(a_out - a_hole, rel=1e-12)
    expected_x = (a_out * 20.0 - a_hole * 24.0) / (a_out - a_hole)
    np.testing.assert_allclose(sec.centroid_xy_lps, [expected_x, 10.0], atol=1e-9)


def test_point_contour_gives_its_point():
    sec = section_from_rings(-40.0, [np.array([[12.0, -3.0]])])
    assert sec.area_mm2 == 0.0
    np.testing.assert_allclose(sec.centroid_xy_lps, [12.0, -3.0])


def test_merge_sections_area_weighted(shapes):
    a = section_from_rings(4.0, [shapes.square_ring(-10.0, 0.0, 2.0)])  # 16 mm^2
    b = section_from_rings(4.0, [shapes.square_ring(10.0, 3.0, 4.0)])  # 64 mm^2
    m = merge_sections([a, b])
    assert m.area_mm2 == pytest.approx(80.0)
    np.testing.assert_allclose(m.centroid_xy_lps, [(-160.0 + 640.0) / 80.0, 192.0 / 80.0])
    assert len(m.rings_xy_lps) == 2


def test_cross_section_is_read_only(shapes):
    sec = section_from_rings(0.0, [shapes.square_ring(0.0, 0.0, 1.0)])
    with pytest.raises(ValueError):
        sec.boundary_xy_lps[0, 0] = 5.0


def test_empty_rings_rejected():
    with pytest.raises(GeometryError, match='Argument "rings_xy_lps"'):
        section_from_rings(0.0, [])
    with pytest.raises(GeometryError, match=r'"boundary_xy_lps" must have shape \(M, 2\)'):
        CrossSection(0.0, 1.0, np.zeros(2), np.zeros((3, 3)))


ORIENTATIONS = {
    "head_first_supine": (1, 1, 1),
    "feet_first_supine": (-1, 1, 1),
    "head_first_prone": (-1, -1, 1),
    "reversed_slices": (1, 1, -1),
    "feet_first_reversed": (-1, 1, -1),
}
SPACINGS = [(0.6, 0.98, 1.0), (0.98, 0.6, 2.5), (0.77, 0.77, 5.0), (0.9, 0.65, 3.0)]


@pytest.mark.parametrize("signs", ORIENTATIONS.values(), ids=ORIENTATIONS.keys())
@pytest.mark.parametrize("spacing", SPACINGS, ids=lambda s: "x".join(map(str, s)))
def test_mask_ellipse_centroid_area_axes(shapes, signs, spacing):
    cx, cy, a, b, theta = 31.3, -12.7, 12.0, 7.0, 30.0
    z0 = 100.0
    shape = (5, int(40 / spacing[1]) + 1, int(40 / spacing[0]) + 1)
    affine = shapes.axial_affine(spacing, signs, shape, (cx + 0.37, cy - 0.21, z0))
    ellipse = shapes.in_ellipse(cx, cy, a, b, theta)
    mask = shapes.rasterise(lambda x, y, z: ellipse(x, y) & (z <= z0 + 0.01), affine, shape)
    secs = sections_from_mask(mask, affine)
    # Three slices at or below z0, sorted upwards, whatever the slice order in the array.
    assert [round(s.z_mm, 9) for s in secs] == [z0 - 2 * spacing[2], z0 - spacing[2], z0]
    half_voxel = 0.5 * min(spacing[:2])
    for sec in secs:
        np.testing.assert_array_less(np.abs(sec.centroid_xy_lps - [cx, cy]), half_voxel)
        assert sec.area_mm2 == pytest.approx(math.pi * a * b, rel=0.02)
        long_mm, short_mm = long_short_axis(sec.boundary_xy_lps)
        # Within 0.5 mm of 2a = 24 and 2b = 14 (the accuracy target for nodes >= 10 mm).
        assert abs(long_mm - 2 * a) <= 0.5
        assert abs(short_mm - 2 * b) <= 0.5
    # Same numbers as the contour of the same ellipse, within 0.5 mm.
    poly = section_from_rings(z0, [shapes.ellipse_ring(cx, cy, a, b, theta, 256)])
    poly_long, poly_short = long_short_axis(poly.boundary_xy_lps)
    long_mm, short_mm = long_short_axis(secs[-1].boundary_xy_lps)
    assert abs(long_mm - poly_long) <= 0.5 and abs(short_mm - poly_short) <= 0.5


def test_mask_area_is_voxel_count_times_pixel_area(shapes):
    shape = (2, 10, 10)
    affine = shapes.axial_affine((0.7, 0.9, 3.0), (1, -1, -1), shape, (0.0, 0.0, 0.0))
    mask = np.zeros(shape, dtype=bool)
    mask[0, 2:5, 3:7] = True  # 12 voxels on k = 0 (the upper slice: steps are negative)
    secs = sections_from_mask(mask, affine, boundary_smoothing_px=0.0)
    assert len(secs) == 1
    assert secs[0].area_mm2 == pytest.approx(12 * 0.7 * 0.9)
    assert secs[0].z_mm == pytest.approx(1.5)
    # Centre of columns 3..6 and rows 2..4.
    expected = affine[:2, :2] @ [4.5, 3.0] + affine[:2, 3]
    np.testing.assert_allclose(secs[0].centroid_xy_lps, expected, atol=1e-12)
    # Boundary = mid-points between inside and outside pixel centres: 4 x 3 box -> 14.
    assert secs[0].boundary_xy_lps.shape == (14, 2)
    long_mm, _ = long_short_axis(secs[0].boundary_xy_lps)
    # From the middle of the top edge of column 3 to the bottom edge of column 6.
    assert long_mm == pytest.approx(math.hypot(3 * 0.7, 3 * 0.9))


def test_oblique_affine_rejected(shapes):
    affine = np.eye(4)
    affine[2, 0] = 0.3  # i step with a z component
    with pytest.raises(GeometryError, match="oblique"):
        sections_from_mask(np.ones((1, 2, 2), dtype=bool), affine)


def test_boundary_smoothing_brings_axes_within_half_a_millimetre(shapes):
    """60 random ellipses of 10-30 mm at 0.6-0.98 mm pixels, with and without smoothing."""
    rng = np.random.default_rng(2024)
    within = {0.0: 0, 0.75: 0}
    for _ in range(60):
        dx, dy = rng.uniform(0.6, 0.98, 2)
        a = rng.uniform(5.0, 15.0)
        b = rng.uniform(5.0, a)
        theta = rng.uniform(0.0, 180.0)
        shape = (1, int((2 * a + 6) / dy) + 1, int((2 * a + 6) / dx) + 1)
        offset = rng.uniform(-0.5, 0.5, 2)
        affine = shapes.axial_affine((dx, dy, 2.0), (1, 1, 1), shape, (*offset, 0.0))
        ellipse = shapes.in_ellipse(0.0, 0.0, a, b, theta)
        mask = shapes.rasterise(lambda x, y, z, e=ellipse: e(x, y), affine, shape)
        for smoothing in within:
            (sec,) = sections_from_mask(mask, affine, boundary_smoothing_px=smoothing)
            long_mm, short_mm = long_short_axis(sec.boundary_xy_lps)
            if abs(long_mm - 2 * a) <= 0.5 and abs(short_mm - 2 * b) <= 0.5:
                within[smoothing] += 1
    assert within[0.75] >= 55  # >= 92 %
    assert within[0.0] <= 40  # the staircase bias of plain mid-points


def test_single_pixel_mask_keeps_a_boundary(shapes):
    shape = (1, 5, 5)
    affine = shapes.axial_affine((0.8, 0.6, 1.0), (1, 1, 1), shape, (0.0, 0.0, 0.0))
    mask = np.zeros(shape, dtype=bool)
    mask[0, 2, 2] = True
    (sec,) = sections_from_mask(mask, affine)
    assert sec.area_mm2 == pytest.approx(0.48)
    np.testing.assert_allclose(sec.centroid_xy_lps, [0.0, 0.0], atol=1e-12)
    assert long_short_axis(sec.boundary_xy_lps) == pytest.approx((0.8, 0.6))
