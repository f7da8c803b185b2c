"""Sternum border, over_sternum and overlap share on analytic shapes (contours and masks).

The sternum is the box |x| <= W(z), -46 <= y <= -30 with W(z) = 12 + 0.05 z (mm);
nodes are ellipses (semi-axes a along x, b along y) or a U shape wrapping the sternum's
edge. Each case runs on a head-first grid (columns towards +x, slices ascending) and a
feet-first one (columns towards -x, slices descending), for left nodes and mirrored for
right nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from imncohort.annotations.models import ContourRoi, MaskRoi, SliceGrid
from imncohort.geometry.reference import reference_section
from imncohort.geometry.sternum import (
    border_at,
    medial_reach_mm,
    reaches_over_sternum,
    sternum_borders,
)
from imncohort.geometry.validation import GeometryError
from imncohort.measure.rois import roi_components
from imncohort.measure.sternum import borders_of, sternum_values

PIXEL = 0.5
Y_FRONT, Y_BACK = -46.0, -30.0
ZS = np.arange(-10.0, 10.5, 2.0)  # 11 slices


def half_width(z: float) -> float:
    return 12.0 + 0.05 * z


def grid(feet_first: bool) -> SliceGrid:
    n = 161
    zs = ZS[::-1] if feet_first else ZS
    x0 = 40.0 if feet_first else -40.0
    origins = np.column_stack([np.full(zs.size, x0), np.full(zs.size, -60.0), zs])
    row = np.array([-1.0 if feet_first else 1.0, 0.0, 0.0])
    return SliceGrid(origins, row, np.array([0.0, 1.0, 0.0]), PIXEL, PIXEL, 121, n)


def in_sternum(x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
    return (np.abs(x) <= half_width(z)) & (y >= Y_FRONT) & (y <= Y_BACK)


def sternum_ring(z: float) -> np.ndarray:
    w = half_width(z)
    return np.array([[-w, Y_FRONT], [w, Y_FRONT], [w, Y_BACK], [-w, Y_BACK]])


def ellipse_ring(cx: float, cy: float, a: float, b: float, n: int = 128) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / n
    return np.column_stack([cx + a * np.cos(t), cy + b * np.sin(t)])


def u_ring(sign: float) -> np.ndarray:
    """A node wrapping the sternum's edge: a 12 x 24 mm block with a notch round the edge."""
    pts = [(8, -50), (20, -50), (20, -26), (8, -26), (8, -29), (13, -29), (13, -47), (8, -47)]
    return np.array([(sign * x, y) for x, y in pts], dtype=float)


def contour_roi(g: SliceGrid, ring_at: Callable[[float], np.ndarray], ks: list[int]) -> ContourRoi:
    return ContourRoi("n", {k: [ring_at(float(g.z_mm[k]))] for k in ks})


def mask_roi(g: SliceGrid, inside: Callable, ks: list[int]) -> MaskRoi:
    mask = np.zeros((g.n_slices, g.rows, g.columns), dtype=bool)
    ii, jj = np.meshgrid(np.arange(g.columns), np.arange(g.rows))
    for k in ks:
        xy = g.pixel_to_xy_lps(k, ii.ravel(), jj.ravel())
        mask[k] = inside(xy[:, 0], xy[:, 1], float(g.z_mm[k])).reshape(g.rows, g.columns)
    return MaskRoi("n", mask, g)


def in_polygon(ring: np.ndarray) -> Callable:
    from imncohort.geometry.polygons import point_in_rings

    def f(x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
        return point_in_rings(np.column_stack([x, y]), [ring])

    return f


def node_ks(g: SliceGrid, z_lo: float, z_hi: float) -> list[int]:
    return [k for k in range(g.n_slices) if z_lo - 1e-6 <= g.z_mm[k] <= z_hi + 1e-6]


def analytic_share(cx: float, cy: float, a: float, b: float, zs: list[float]) -> float:
    """Share of the elliptic cylinder's slices inside the sternum (fine-grid areas)."""
    u = (np.arange(2000) + 0.5) / 2000 * 2 - 1
    uu, vv = np.meshgrid(u, u)
    disk = uu**2 + vv**2 <= 1
    x, y = cx + a * uu[disk], cy + b * vv[disk]
    return float(np.mean([in_sternum(x, y, z).mean() for z in zs]))


def measured(
    g: SliceGrid, node, sternum, side: str
) -> tuple[dict, float]:  # node and sternum are ROIs
    (comp,) = roi_components(node, g)
    ref = reference_section(comp.sections)
    return sternum_values(comp, ref, side, [sternum], g, 0.0), ref.z_mm


STERNUM_FORMS = ["contour", "mask"]
NODE_FORMS = ["contour", "mask"]


def make_sternum(g: SliceGrid, form: str, every_other: bool = False):
    ks = list(range(0, g.n_slices, 2 if every_other else 1))
    if form == "contour":
        return contour_roi(g, sternum_ring, ks)
    return mask_roi(g, in_sternum, ks)


# (cx, cy, a, b, over, invades): left-side ellipses; right side is mirrored.
ELLIPSES = {
    "clear_of_the_border": (20.0, -22.0, 6.0, 4.0, False, False),
    "over_above_not_into": (15.0, -24.0, 6.0, 4.0, True, False),
    "over_and_into": (14.0, -31.0, 6.0, 5.0, True, True),
}


@pytest.mark.parametrize("feet_first", [False, True], ids=["HFS", "FFS"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("sternum_form", STERNUM_FORMS)
@pytest.mark.parametrize("node_form", NODE_FORMS)
@pytest.mark.parametrize("case", list(ELLIPSES))
def test_ellipse_nodes(
    case: str, node_form: str, sternum_form: str, side: str, feet_first: bool
) -> None:
    cx, cy, a, b, over, invades = ELLIPSES[case]
    sign = 1.0 if side == "left" else -1.0
    g = grid(feet_first)
    ks = node_ks(g, -4.0, 4.0)
    if node_form == "contour":
        node = contour_roi(g, lambda z: ellipse_ring(sign * cx, cy, a, b), ks)
    else:
        node = mask_roi(
            g, lambda x, y, z: ((x - sign * cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1, ks
        )
    values, z_ref = measured(g, node, make_sternum(g, sternum_form), side)
    assert values["over_sternum"] is over
    assert values["sternal_invasion"] is invades
    # Contour vertices give the border exactly; mask voxels their outer edge.
    tol = 1e-9 if sternum_form == "contour" else PIXEL / 2 + 1e-9
    assert values["sternum_border_x"] == pytest.approx(sign * half_width(z_ref), abs=tol)
    share = analytic_share(sign * cx, cy, a, b, [float(g.z_mm[k]) for k in ks])
    assert (share > 0) is invades
    assert values["sternum_overlap"] == pytest.approx(share, abs=0.02)
    if invades:
        assert 0.05 < values["sternum_overlap"] < 0.5


@pytest.mark.parametrize("feet_first", [False, True], ids=["HFS", "FFS"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_node_exactly_at_the_border_does_not_reach_over(side: str, feet_first: bool) -> None:
    sign = 1.0 if side == "left" else -1.0
    g = grid(feet_first)
    k = int(np.argmin(np.abs(g.z_mm)))  # z = 0: border at |x| = 12 exactly
    w = half_width(0.0)
    node = contour_roi(g, lambda z: ellipse_ring(sign * (w + 5.0), -22.0, 5.0, 3.0), [k])
    values, _ = measured(g, node, make_sternum(g, "contour"), side)
    assert values["over_sternum"] is False
    assert values["sternum_border_x"] == pytest.approx(sign * w)
    # 0.1 mm further in reaches over.
    node = contour_roi(g, lambda z: ellipse_ring(sign * (w + 4.9), -22.0, 5.0, 3.0), [k])
    values, _ = measured(g, node, make_sternum(g, "contour"), side)
    assert values["over_sternum"] is True


@pytest.mark.parametrize("feet_first", [False, True], ids=["HFS", "FFS"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("node_form", NODE_FORMS)
def test_node_wrapping_the_sternal_edge(node_form: str, side: str, feet_first: bool) -> None:
    sign = 1.0 if side == "left" else -1.0
    g = grid(feet_first)
    ks = node_ks(g, -2.0, 2.0)
    ring = u_ring(sign)
    node = (
        contour_roi(g, lambda z: ring, ks)
        if node_form == "contour"
        else mask_roi(g, in_polygon(ring), ks)
    )
    values, z_ref = measured(g, node, make_sternum(g, "mask"), side)
    # The node reaches 4 mm past the border (x = 8 vs W = 12) round the sternum's edge ...
    assert values["over_sternum"] is True
    (comp,) = roi_components(node, g)
    reach = medial_reach_mm(
        reference_section(comp.sections).boundary_xy_lps, values["sternum_border_x"], side
    )
    assert reach == pytest.approx(half_width(z_ref) - 8.0, abs=PIXEL)
    # ... without a voxel inside it (the notch clears the sternum by 1 mm).
    assert values["sternum_overlap"] == 0.0
    assert values["sternal_invasion"] is False


def test_border_interpolated_between_contoured_slices() -> None:
    g = grid(False)
    sternum = make_sternum(g, "contour", every_other=True)  # z = -10, -6, -2, 2, 6, 10
    borders = borders_of([sternum], g)
    assert borders is not None
    np.testing.assert_allclose(borders.zs_mm, ZS[::2])
    for z in (-8.0, -4.0, 0.0, 4.0, 7.3):
        assert border_at(borders, z, "left") == pytest.approx(half_width(z))
        assert border_at(borders, z, "right") == pytest.approx(-half_width(z))
    assert border_at(borders, 30.0, "left") == pytest.approx(half_width(10.0))  # nearest end
    # A node on a slice between contoured ones is judged against the interpolated border.
    k = int(np.argmin(np.abs(g.z_mm - 0.0)))
    w = half_width(0.0)
    node = contour_roi(g, lambda z: ellipse_ring(w + 4.95, -22.0, 5.0, 3.0), [k])
    values, _ = measured(g, node, sternum, "left")
    assert values["over_sternum"] is True and values["sternum_border_x"] == pytest.approx(w)


def test_no_sternum_leaves_every_value_empty() -> None:
    g = grid(False)
    node = contour_roi(g, lambda z: ellipse_ring(14.0, -31.0, 6.0, 5.0), [5])
    (comp,) = roi_components(node, g)
    values = sternum_values(comp, comp.sections[0], "left", [], g, 0.0)
    assert values["over_sternum"] is None and values["sternal_invasion"] is None
    assert math.isnan(values["sternum_overlap"]) and math.isnan(values["sternum_border_x"])


def test_min_share_threshold() -> None:
    g = grid(False)
    ks = node_ks(g, -4.0, 4.0)
    node = contour_roi(g, lambda z: ellipse_ring(14.0, -31.0, 6.0, 5.0), ks)
    (comp,) = roi_components(node, g)
    ref = reference_section(comp.sections)
    sternum = make_sternum(g, "contour")
    share = sternum_values(comp, ref, "left", [sternum], g, 0.0)["sternum_overlap"]
    assert sternum_values(comp, ref, "left", [sternum], g, share - 0.01)["sternal_invasion"]
    assert not sternum_values(comp, ref, "left", [sternum], g, share)["sternal_invasion"]


def test_pure_functions_and_bad_input() -> None:
    borders = sternum_borders([0.0, 0.0, 5.0, 5.0], [-10.0, 11.0, -12.0, 13.0])
    np.testing.assert_allclose(borders.left_x_mm, [11.0, 13.0])
    np.testing.assert_allclose(borders.right_x_mm, [-10.0, -12.0])
    assert border_at(borders, 2.5, "left") == pytest.approx(12.0)
    assert border_at(borders, 2.5, "right") == pytest.approx(-11.0)
    square = np.array([[12.0, 0.0], [16.0, 0.0], [16.0, 4.0], [12.0, 4.0]])
    assert medial_reach_mm(square, 12.0, "left") == 0.0
    assert reaches_over_sternum(square, 12.0, "left") is False
    assert reaches_over_sternum(square, 12.5, "left") is True
    assert medial_reach_mm(-square, -12.5, "right") == pytest.approx(0.5)
    with pytest.raises(GeometryError):
        sternum_borders([], [])
    with pytest.raises(GeometryError):
        sternum_borders([0.0, 1.0], [1.0])
    with pytest.raises(GeometryError):
        medial_reach_mm(square, 12.0, "middle")  # type: ignore[arg-type]
