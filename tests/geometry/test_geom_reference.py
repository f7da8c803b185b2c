"""Reference slice (largest cross-section), z extent and volume."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.reference import mask_volume_ml, reference_section, volume_ml, z_extent
from imncohort.geometry.sections import section_from_rings, sections_from_mask
from imncohort.geometry.validation import GeometryError

# A tear-drop node: half sides (mm), centre x (mm) per slice z (mm). Area-weighted z centre
# is 3.64 mm (nearest slice 4), but the largest section (400 mm^2) is on z = 2.
TEAR_DROP = {
    0.0: (5.0, 1.0),
    2.0: (10.0, 2.0),
    4.0: (8.660254037844386, 3.0),
    6.0: (7.0710678118654755, 4.0),
    8.0: (5.0, 5.0),
}


def _tear_drop(shapes):
    return [
        section_from_rings(z, [shapes.square_ring(cx, -3.0, half)])
        for z, (half, cx) in TEAR_DROP.items()
    ]


def test_largest_slice_is_not_the_centroid_slice(shapes):
    secs = _tear_drop(shapes)
    areas = np.array([s.area_mm2 for s in secs])
    zs = np.array([s.z_mm for s in secs])
    assert (areas * zs).sum() / areas.sum() == pytest.approx(40.0 / 11.0)
    ref = reference_section(secs[::-1])
    assert ref.z_mm == 2.0
    np.testing.assert_allclose(ref.centroid_xy_lps, [2.0, -3.0], atol=1e-12)
    assert z_extent(secs) == (0.0, 8.0)
    assert volume_ml(secs, 2.0) == pytest.approx(1100.0 * 2.0 / 1000.0)


def test_tie_goes_to_area_weighted_centre_then_lower_z(shapes):
    sq = shapes.square_ring
    secs = [
        section_from_rings(z, [sq(0.0, 0.0, h)]) for z, h in ((2.0, 10.0), (6.0, 10.0), (8.0, 5.0))
    ]
    assert reference_section(secs).z_mm == 6.0  # weighted centre 5.09 mm
    secs = [
        section_from_rings(z, [sq(0.0, 0.0, h)]) for z, h in ((2.0, 10.0), (4.0, 5.0), (6.0, 10.0))
    ]
    assert reference_section(secs).z_mm == 2.0  # equidistant from 4.0: the lower z


@pytest.mark.parametrize("signs", [(1, 1, 1), (-1, 1, -1), (1, -1, -1)])
def test_reference_from_mask(shapes, signs):
    shape = (5, 30, 30)
    spacing = (0.9, 0.7, 3.0)
    affine = shapes.axial_affine(spacing, signs, shape, (0.0, 0.0, 0.0))
    mask = np.zeros(shape, dtype=bool)
    # Box sizes (rows x columns) per z index from the bottom: the largest is z = -3 mm.
    sizes = {-6.0: (4, 4), -3.0: (10, 12), 0.0: (9, 11), 3.0: (8, 8), 6.0: (2, 2)}
    for k in range(shape[0]):
        z = float(affine[2, 2] * k + affine[2, 3])
        rows, cols = sizes[round(z, 6)]
        mask[k, 5 : 5 + rows, 6 : 6 + cols] = True
    secs = sections_from_mask(mask, affine)
    ref = reference_section(secs)
    assert ref.z_mm == pytest.approx(-3.0)
    assert ref.area_mm2 == pytest.approx(120 * 0.9 * 0.7)
    expected_xy = affine[:2, :2] @ [6 + 5.5, 5 + 4.5] + affine[:2, 3]
    np.testing.assert_allclose(ref.centroid_xy_lps, expected_xy, atol=1e-12)
    n_vox = 16 + 120 + 99 + 64 + 4
    assert mask_volume_ml(mask, affine) == pytest.approx(n_vox * 0.9 * 0.7 * 3.0 / 1000.0)
    assert volume_ml(secs, 3.0) == pytest.approx(mask_volume_ml(mask, affine))


def test_empty_sections_rejected():
    with pytest.raises(GeometryError, match='"sections" must hold at least one'):
        reference_section([])
