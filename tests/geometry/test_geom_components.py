"""Nodes from one ROI: mask components and grouping of contour blobs across slices."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.components import (
    blob_sections_from_rings,
    group_sections_into_components,
    label_components_3d,
    mask_component_sections,
    regions_overlap,
    split_rings_into_blobs,
)
from imncohort.geometry.sections import section_from_rings
from imncohort.geometry.validation import GeometryError


def test_label_components_connectivity():
    mask = np.zeros((3, 6, 6), dtype=bool)
    mask[0, 1, 1] = True
    mask[1, 2, 2] = True  # touches the first only through a corner
    mask[2, 4:6, 4:6] = True
    _, n6 = label_components_3d(mask)
    _, n26 = label_components_3d(mask, connectivity=26)
    _, n18 = label_components_3d(mask, connectivity=18)
    assert (n6, n18, n26) == (3, 3, 2)
    with pytest.raises(GeometryError, match='"connectivity" must be 6, 18 or 26'):
        label_components_3d(mask, connectivity=8)


def test_mask_component_sections_order_and_values(shapes):
    shape = (6, 20, 20)
    affine = shapes.axial_affine((0.8, 0.8, 2.0), (1, 1, -1), shape, (0.0, 0.0, 0.0))
    mask = np.zeros(shape, dtype=bool)
    mask[0:2, 2:6, 2:6] = True  # k = 0, 1: the two highest slices (reversed order)
    mask[3:6, 10:14, 12:18] = True  # k = 3..5: lower
    comps = mask_component_sections(mask, affine)
    assert [len(c) for c in comps] == [3, 2]  # ordered by lowest z
    assert [round(s.z_mm, 6) for s in comps[0]] == [-5.0, -3.0, -1.0]
    assert [round(s.z_mm, 6) for s in comps[1]] == [3.0, 5.0]
    assert comps[0][0].area_mm2 == pytest.approx(24 * 0.64)
    expected_xy = affine[:2, :2] @ [14.5, 11.5] + affine[:2, 3]
    np.testing.assert_allclose(comps[0][1].centroid_xy_lps, expected_xy, atol=1e-12)


def test_split_rings_into_blobs(shapes):
    outer = shapes.square_ring(0.0, 0.0, 10.0)
    hole = shapes.square_ring(0.0, 0.0, 5.0)
    island = shapes.square_ring(0.0, 0.0, 2.0)
    other = shapes.square_ring(40.0, 0.0, 3.0)
    blobs = split_rings_into_blobs([hole, other, outer, island])
    assert [len(b) for b in blobs] == [1, 2, 1]
    np.testing.assert_array_equal(blobs[0][0], other)
    np.testing.assert_array_equal(blobs[1][0], outer)
    np.testing.assert_array_equal(blobs[1][1], hole)
    np.testing.assert_array_equal(blobs[2][0], island)
    areas = [s.area_mm2 for s in blob_sections_from_rings(0.0, [hole, other, outer, island])]
    assert areas == pytest.approx([36.0, 300.0, 16.0])


def test_regions_overlap_cases(shapes):
    a = [shapes.square_ring(0.0, 0.0, 5.0)]
    assert regions_overlap(a, [shapes.square_ring(8.0, 0.0, 5.0)])  # edges cross
    assert not regions_overlap(a, [shapes.square_ring(20.0, 0.0, 5.0)])  # apart
    assert not regions_overlap(a, [shapes.square_ring(10.0, 0.0, 5.0)])  # touching only
    assert regions_overlap(a, [shapes.square_ring(0.0, 0.0, 1.0)])  # contained
    assert regions_overlap([shapes.square_ring(0.0, 0.0, 1.0)], a)
    assert regions_overlap(a, [shapes.square_ring(0.0, 0.0, 5.0)])  # identical rings
    plus_h = [np.array([[-10.0, -1.0], [10.0, -1.0], [10.0, 1.0], [-10.0, 1.0]])]
    plus_v = [np.array([[-1.0, -10.0], [1.0, -10.0], [1.0, 10.0], [-1.0, 10.0]])]
    assert regions_overlap(plus_h, plus_v)  # no vertex inside the other, edges cross
    annulus = [shapes.square_ring(0.0, 0.0, 10.0), shapes.square_ring(0.0, 0.0, 6.0)]
    assert not regions_overlap(annulus, a)  # inside the hole
    assert regions_overlap(annulus, [shapes.square_ring(0.0, 0.0, 8.0)])


def test_group_two_nodes_and_a_u_shape(shapes):
    sq = shapes.square_ring
    secs = []
    # Node A at x = 0 on z = 0, 2, 4: a bar on z = 0 and two arms on z = 2 and 4.
    secs.append(section_from_rings(0.0, [np.array([[-10, -2], [10, -2], [10, 2], [-10, 2.0]])]))
    for z in (2.0, 4.0):
        secs += blob_sections_from_rings(z, [sq(-8.0, 0.0, 2.0), sq(8.0, 0.0, 2.0)])
    # Node B at x = 40 on z = 2, 4, 6.
    secs += [section_from_rings(z, [sq(40.0, 0.0, 3.0)]) for z in (2.0, 4.0, 6.0)]
    # Node C at x = 0 again but on z = 10, 12: separated from A by a gap of 3 slices.
    secs += [section_from_rings(z, [sq(0.0, 0.0, 3.0)]) for z in (10.0, 12.0)]
    rng = np.random.default_rng(3)
    shuffled = [secs[i] for i in rng.permutation(len(secs))]
    comps = group_sections_into_components(shuffled, slice_spacing_mm=2.0)
    assert [[s.z_mm for s in c] for c in comps] == [[0.0, 2.0, 4.0], [2.0, 4.0, 6.0], [10.0, 12.0]]
    # The two arms on one slice are merged into one cross-section of node A.
    assert comps[0][1].area_mm2 == pytest.approx(32.0)
    np.testing.assert_allclose(comps[0][1].centroid_xy_lps, [0.0, 0.0], atol=1e-12)
    assert comps[1][0].centroid_xy_lps[0] == pytest.approx(40.0)


def test_blobs_on_one_slice_are_separate_nodes(shapes):
    secs = blob_sections_from_rings(
        0.0, [shapes.square_ring(-5.0, 0.0, 2.0), shapes.square_ring(5.0, 0.0, 2.0)]
    )
    comps = group_sections_into_components(secs, slice_spacing_mm=3.0)
    assert [c[0].centroid_xy_lps[0] for c in comps] == pytest.approx([-5.0, 5.0])


def test_group_rejects_bad_spacing():
    with pytest.raises(GeometryError, match='"slice_spacing_mm" must be > 0'):
        group_sections_into_components([], 0.0)
