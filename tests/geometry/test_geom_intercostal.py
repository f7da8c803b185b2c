"""Rib levels at the parasternal end and intercostal spaces of a node."""

from __future__ import annotations

import numpy as np
import pytest

from imncohort.geometry.intercostal import (
    intercostal_spaces,
    rib_level_z,
    rib_levels,
    split_cartilage_by_rib,
)
from imncohort.geometry.validation import GeometryError

LEVELS = {1: 120.0, 2: 100.0, 3: 80.0, 4: 60.0}


def rib_points(x_from, x_to, z_at_medial, slope, side="left", step=0.5):
    """A rib as points along x (|x| from x_from to x_to), z rising laterally by slope."""
    ax = np.arange(x_from, x_to + step / 2, step)
    x = ax if side == "left" else -ax
    z = z_at_medial + slope * (ax - x_from)
    return np.column_stack([x, np.full_like(x, 10.0), z])


def test_rib_that_stops_short_of_the_sternum():
    # Bony rib from 25 mm to 120 mm lateral of the midline, rising 0.2 mm per mm laterally.
    pts = rib_points(25.0, 120.0, 100.0, 0.2)
    # Points within 10 mm of its most medial point (x in [25, 35]) have mean z 101.
    assert rib_level_z(pts) == pytest.approx(101.0)
    assert rib_level_z(pts, medial_window_mm=0.0) == pytest.approx(100.0)
    right = rib_points(25.0, 120.0, 100.0, 0.2, side="right")
    assert rib_level_z(right) == pytest.approx(101.0)
    # With the midline at x = 5, the right rib's medial end is 30 mm away: same level.
    shifted = right + np.array([5.0, 0.0, 0.0])
    assert rib_level_z(shifted, midline_x=5.0) == pytest.approx(101.0)


def test_rib_levels_mapping():
    ribs = {k: rib_points(20.0, 60.0, z, 0.1) for k, z in LEVELS.items()}
    ribs[5] = np.zeros((0, 3))
    assert rib_levels(ribs) == pytest.approx({k: z + 0.5 for k, z in LEVELS.items()})


@pytest.mark.parametrize(
    ("z_min", "z_max", "expected"),
    [
        (85.0, 95.0, [2]),  # inside one space
        (75.0, 90.0, [2, 3]),  # spans two spaces
        (62.0, 118.0, [1, 2, 3]),
        (100.0, 100.0, [2]),  # space k is (z_{k+1}, z_k]: z = z_2 belongs to space 2
        (100.5, 110.0, [1]),
        (125.0, 130.0, []),  # above rib 1
        (40.0, 55.0, []),  # below the last known rib
    ],
)
def test_intercostal_spaces(z_min, z_max, expected):
    assert intercostal_spaces(z_min, z_max, LEVELS) == expected


def test_missing_rib_drops_its_spaces():
    levels = {1: 120.0, 2: 100.0, 4: 60.0}
    assert intercostal_spaces(70.0, 110.0, levels) == [1]
    with pytest.raises(GeometryError, match='"z_min"'):
        intercostal_spaces(5.0, 1.0, levels)


def test_split_costal_cartilage_label(shapes):
    # 1 mm grid: x = i - 60, y = j, z = k. Cartilages on both sides join each rib end
    # (30 mm from the midline, level z_k) to the sternum, 3 mm higher at their medial end.
    affine = np.eye(4)
    affine[0, 3] = -60.0
    shape = (60, 5, 121)
    mask = np.zeros(shape, dtype=bool)
    zk = {1: 50, 2: 35, 3: 20}
    for z in zk.values():
        for sign in (1, -1):
            xs = np.arange(5, 30)  # medial bar at z + 3
            mask[z + 3, 2, 60 + sign * xs] = True
            mask[z : z + 4, 2, 60 + sign * 29] = True  # connector down to the rib end
    ribs = {k: rib_points(30.0, 80.0, float(z), 0.0) for k, z in zk.items()}
    parts = split_cartilage_by_rib(mask, affine, ribs, "left")
    assert sorted(parts) == [1, 2, 3]
    for k, z in zk.items():
        assert parts[k].shape == (25 + 3, 3)
        assert np.all(parts[k][:, 0] > 0)
        assert rib_level_z(ribs[k]) == pytest.approx(z)
        combined = np.vstack([ribs[k], parts[k]])
        assert rib_level_z(combined) == pytest.approx(z + 3.0)
