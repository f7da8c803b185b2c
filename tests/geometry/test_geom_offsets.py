"""Signed centre offsets, extents and growth quadrant relative to the IMV centre."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imncohort.geometry.offsets import node_offsets
from imncohort.geometry.sections import section_from_rings
from imncohort.geometry.validation import GeometryError


def test_mirrored_left_and_right_nodes_match(shapes):
    # Left node: 3 mm lateral (+x) and 2 mm dorsal of the left IMV, an ellipse leaning out.
    left = section_from_rings(50.0, [shapes.ellipse_ring(38.0, -18.0, 6.0, 4.0, 25.0)])
    right_ring = shapes.ellipse_ring(38.0, -18.0, 6.0, 4.0, 25.0) * [-1.0, 1.0]
    right = section_from_rings(50.0, [right_ring])
    off_l = node_offsets(left, [35.0, -20.0], "left")
    off_r = node_offsets(right, [-35.0, -20.0], "right")
    assert off_l.center_ml_mm == pytest.approx(3.0)
    assert off_l.center_dv_mm == pytest.approx(2.0)
    for name, value in dataclasses.asdict(off_l).items():
        assert getattr(off_r, name) == pytest.approx(value, abs=1e-12), name
    assert off_l.quadrant == "lateral_dorsal"


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(
    ("d_ml", "d_dv", "quadrant"),
    [
        (-4.0, -3.0, "medial_ventral"),
        (-4.0, 3.0, "medial_dorsal"),
        (4.0, -3.0, "lateral_ventral"),
        (4.0, 3.0, "lateral_dorsal"),
    ],
)
def test_quadrants(shapes, side, d_ml, d_dv, quadrant):
    s = 1.0 if side == "left" else -1.0
    imv = np.array([30.0 * s, -10.0])
    # A 2 mm-radius circle centred (d_ml, d_dv) from the IMV: reaches both sides of neither.
    ring = shapes.ellipse_ring(imv[0] + s * d_ml, imv[1] + d_dv, 2.0, 2.0, 0.0)
    off = node_offsets(section_from_rings(0.0, [ring]), imv, side)
    assert off.quadrant == quadrant
    assert off.towards_sternum is (d_ml < 0)
    assert off.center_ml_mm == pytest.approx(d_ml)
    assert off.center_dv_mm == pytest.approx(d_dv)
    assert off.extent_lateral_mm == pytest.approx(max(0.0, d_ml + 2.0))
    assert off.extent_medial_mm == pytest.approx(max(0.0, -d_ml + 2.0))
    assert off.extent_dorsal_mm == pytest.approx(max(0.0, d_dv + 2.0))
    assert off.extent_ventral_mm == pytest.approx(max(0.0, -d_dv + 2.0))


def test_extents_of_node_not_reaching_medial_side(shapes):
    # Right node (s = -1), circle radius 3 centred 5 mm lateral (x more negative) of the IMV.
    ring = shapes.ellipse_ring(-25.0 - 5.0, 4.0, 3.0, 3.0, 0.0)
    off = node_offsets(section_from_rings(0.0, [ring]), [-25.0, 4.0], "right")
    assert off.center_ml_mm == pytest.approx(5.0)
    assert off.extent_lateral_mm == pytest.approx(8.0)
    assert off.extent_medial_mm == 0.0
    assert off.extent_ventral_mm == pytest.approx(3.0)
    assert off.extent_dorsal_mm == pytest.approx(3.0)
    assert off.quadrant.startswith("lateral")


def test_node_straddling_the_imv_grows_medially(shapes):
    # Long ellipse across the IMV, longer towards the sternum and ventral.
    ring = shapes.ellipse_ring(30.0 - 2.0, 0.0, 8.0, 3.0, 20.0)  # left side: medial = -x
    off = node_offsets(section_from_rings(0.0, [ring]), [30.0, 0.0], "left")
    assert off.quadrant == "medial_ventral"
    assert off.towards_sternum is True
    assert off.extent_medial_mm > off.extent_lateral_mm > 0


def test_bad_side_and_imv():
    sec = section_from_rings(0.0, [np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])])
    with pytest.raises(GeometryError, match='"side" must be "left" or "right"'):
        node_offsets(sec, [0.0, 0.0], "L")  # type: ignore[arg-type]
    with pytest.raises(GeometryError, match=r'"imv_xy_lps" must have shape \(2,\)'):
        node_offsets(sec, [0.0, 0.0, 0.0], "left")
