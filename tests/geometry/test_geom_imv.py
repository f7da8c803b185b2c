"""IMV centre at any z: interpolation, duplicates, extrapolation flag."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.imv import imv_center_at, imv_centres_from_sections
from imncohort.geometry.sections import section_from_rings
from imncohort.geometry.validation import GeometryError


def vessel_xy(z):
    """A straight oblique vessel: x = 35 + 0.1 z, y = -20 - 0.05 z (mm)."""
    z = np.asarray(z, dtype=float)
    return np.column_stack([35.0 + 0.1 * z, -20.0 - 0.05 * z])


@pytest.mark.parametrize("spacing", [0.6, 2.5, 5.0])
def test_every_other_slice_interpolates_exactly(spacing):
    slices = -60.0 + spacing * np.arange(21)
    contoured = slices[::2]
    rng = np.random.default_rng(11)
    order = rng.permutation(contoured.size)  # unsorted input is fine
    zs, xy = contoured[order], vessel_xy(contoured[order])
    for z in slices[1:-1:2]:
        centre, extrapolated = imv_center_at(z, zs, xy, 10.0)
        np.testing.assert_allclose(centre, vessel_xy([z])[0], atol=1e-9)
        assert extrapolated is False


def test_duplicate_z_are_averaged():
    zs = [0.0, 10.0, 10.0, 20.0]
    xy = [[0.0, 0.0], [1.0, 5.0], [3.0, 7.0], [4.0, 6.0]]
    centre, _ = imv_center_at(10.0, zs, xy, 10.0)
    np.testing.assert_allclose(centre, [2.0, 6.0])
    centre, _ = imv_center_at(15.0, zs, xy, 10.0)
    np.testing.assert_allclose(centre, [3.0, 6.0])


def test_beyond_range_uses_nearest_end_and_flags():
    zs, xy = [0.0, 4.0, 8.0], vessel_xy([0.0, 4.0, 8.0])
    centre, flag = imv_center_at(18.0, zs, xy, 10.0)  # 10 mm above: not flagged
    np.testing.assert_allclose(centre, vessel_xy([8.0])[0])
    assert flag is False
    centre, flag = imv_center_at(18.5, zs, xy, 10.0)
    np.testing.assert_allclose(centre, vessel_xy([8.0])[0])
    assert flag is True
    centre, flag = imv_center_at(-11.0, zs, xy, 10.0)
    np.testing.assert_allclose(centre, vessel_xy([0.0])[0])
    assert flag is True


def test_single_point_roi_and_sections(shapes):
    secs = [
        section_from_rings(z, [shapes.ellipse_ring(*vessel_xy([z])[0], 1.5, 1.2, 0.0)])
        for z in (0.0, 6.0)
    ]
    zs, xy = imv_centres_from_sections(secs)
    centre, _ = imv_center_at(3.0, zs, xy, 10.0)
    np.testing.assert_allclose(centre, vessel_xy([3.0])[0], atol=1e-9)
    centre, flag = imv_center_at(5.0, [1.0], [[3.0, 4.0]], 3.0)
    np.testing.assert_allclose(centre, [3.0, 4.0])
    assert flag is True


def test_mismatched_lengths_rejected():
    with pytest.raises(GeometryError, match='"zs_mm" \\(2 values\\) and "xy_lps" \\(3 rows\\)'):
        imv_center_at(0.0, [0.0, 1.0], np.zeros((3, 2)), 10.0)
    with pytest.raises(GeometryError, match='"limit_mm" must be >= 0'):
        imv_center_at(0.0, [0.0], np.zeros((1, 2)), -1.0)
