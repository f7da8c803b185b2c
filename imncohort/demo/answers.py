"""Analytic answers of the demo: every ``nodes.csv`` value of one node.

Computed from the phantom parameters only (never from the written files), so the
demo can check the measuring stage independently. Definitions follow CONTRACT.md
section 4 and the precisions in docs/ARCHITECTURE.md; extents, quadrant and axes are
taken on the reference slice (the node centre slice, where the cross-section is
largest).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from imncohort.demo.shapes import SIDE_SIGN, Ellipsoid, Sternum, Tube

if TYPE_CHECKING:
    from imncohort.demo.phantom import Node, Phantom

#: Boundary samples used to find the farthest point from the IMV centre.
BOUNDARY_SAMPLES = 7200


def farthest_point_quadrant(
    shape: Ellipsoid, imv_x: float, imv_y: float, sign: int
) -> tuple[str, float, float, float]:
    """Quadrant of the reference-slice boundary point farthest from the IMV centre.

    Parameters
    ----------
    shape : Ellipsoid
        The node.
    imv_x, imv_y : float
        IMV centre (mm, LPS) on the node's reference slice.
    sign : int
        +1 for a left node, -1 for a right node.

    Returns
    -------
    quadrant : str
        ``medial_ventral``, ``medial_dorsal``, ``lateral_ventral`` or ``lateral_dorsal``.
    margin : float
        How much farther (mm) that point is than the farthest point of any other
        quadrant (small margins make the answer fragile; the phantom avoids them).
    ml, dv : float
        Offsets (mm) of that point from the IMV centre (lateral +, dorsal +).
    """
    outline = shape.boundary(shape.center_lps[2], BOUNDARY_SAMPLES)
    assert outline is not None
    ml = (outline[:, 0] - imv_x) * sign
    dv = outline[:, 1] - imv_y
    distance = np.hypot(ml, dv)
    best = int(np.argmax(distance))
    quadrant = _quadrant(float(ml[best]), float(dv[best]))
    code = (ml >= 0).astype(int) * 2 + (dv >= 0).astype(int)
    others = distance[code != code[best]]
    margin = float(distance[best]) - (float(others.max()) if others.size else 0.0)
    return quadrant, margin, float(ml[best]), float(dv[best])


def _quadrant(ml: float, dv: float) -> str:
    return ("medial" if ml < 0 else "lateral") + "_" + ("ventral" if dv < 0 else "dorsal")


def intercostal_spaces(z_lo: float, z_hi: float, levels: list[float]) -> list[int]:
    """Spaces k whose interval (z_{k+1}, z_k] overlaps the node extent [z_lo, z_hi]."""
    return [k for k in range(1, len(levels)) if z_lo <= levels[k - 1] and z_hi > levels[k]]


#: Points per axis of the unit-disk grid used for the sternum overlap of each slice.
STERNUM_GRID = 400
#: Erosion (mm) of node and sternum: an overlap is clear when one survives it.
STERNUM_CONTACT_MM = 1.2


def _disk_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    g = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    u, v = np.meshgrid(g, g, indexing="ij")
    inside = u**2 + v**2 <= 1.0
    return u[inside], v[inside]


def _ellipse_points(shape: Ellipsoid, scale: float, u: np.ndarray, v: np.ndarray) -> tuple:
    cos, sin = math.cos(shape.theta), math.sin(shape.theta)
    a, b = shape.a * scale, shape.b * scale
    x = shape.center_lps[0] + a * u * cos - b * v * sin
    y = shape.center_lps[1] + a * u * sin + b * v * cos
    return x, y


def ctv_coverage(node: Node, ctvs: list[Tube], slice_spacing: float) -> float:
    """Share of the node's rasterisation inside any of the CTV tubes.

    As for the sternum overlap: the share of each slice the node is drawn on (its
    cross-section at that z), weighted by the section areas, which is what a voxel mask
    or a stack of contours of the node holds.
    """
    shape = node.shape
    u, v = _disk_grid(STERNUM_GRID)
    zc = shape.center_lps[2]
    weights, inside = [], []
    for j in range(-node.half_slices, node.half_slices + 1):
        z = zc + j * slice_spacing
        scale = shape.scale_at(z)
        x, y = _ellipse_points(shape, scale, u, v)
        covered = np.zeros(x.shape, dtype=bool)
        for tube in ctvs:
            covered |= tube.contains(x, y, z)
        weights.append(scale * scale)
        inside.append(float(covered.mean()))
    return float(np.dot(weights, inside) / np.sum(weights))


def sternum_contact(shape: Ellipsoid, sternum: Sternum) -> str:
    """``none``, ``clear`` or ``ambiguous`` overlap of a node with the sternum.

    The sternum is the same at every z and a node's cross-sections shrink about the
    same centre away from its centre slice, so the node overlaps the sternum exactly when
    its centre slice does. The overlap is ``clear`` when a point lies inside both the
    node and the sternum eroded by 1.2 mm (semi-axes and box shrunk by it; then at least
    one voxel centre of any grid up to 1 mm lies in both); ``ambiguous`` when they overlap
    less (the phantom avoids it).
    """
    hx, hy = shape.half_widths()
    xc, yc, _ = shape.center_lps
    if abs(xc) - hx > sternum.half_width or abs(yc - sternum.y_center) - hy > sternum.half_depth:
        return "none"
    u, v = _disk_grid(STERNUM_GRID)
    x, y = _ellipse_points(shape, 1.0, u, v)
    if not sternum.contains(x, y, shape.center_lps[2]).any():
        return "none"
    inner_a = shape.a - STERNUM_CONTACT_MM
    inner_b = shape.b - STERNUM_CONTACT_MM
    if inner_b > 0:
        shrunk = Ellipsoid(shape.center_lps, inner_a, inner_b, shape.c, shape.theta)
        x, y = _ellipse_points(shrunk, 1.0, u, v)
        eroded = Sternum(
            sternum.half_width - STERNUM_CONTACT_MM,
            sternum.y_center,
            sternum.half_depth - STERNUM_CONTACT_MM,
        )
        if eroded.contains(x, y, shape.center_lps[2]).any():
            return "clear"
    return "ambiguous"


def sternum_answer(phantom: Phantom, node: Node) -> dict[str, Any]:
    """``over_sternum``, ``sternal_invasion``, ``sternum_overlap``, ``sternum_border_x``.

    Empty (None) when the patient has no sternum annotation. The overlap share is that of
    the node's slices (the voxel planes it is drawn on), weighted by their areas: the
    share of the node's own rasterisation inside the sternum.
    """
    if not phantom.plan.has_ribs:
        return {
            "over_sternum": None,
            "sternal_invasion": None,
            "sternum_overlap": None,
            "sternum_border_x": None,
        }
    shape, sternum = node.shape, phantom.sternum
    sign = SIDE_SIGN[node.side]
    hx, _ = shape.half_widths()
    medial_edge = sign * shape.center_lps[0] - hx
    contact = sternum_contact(shape, sternum)
    share = 0.0
    if contact != "none":
        u, v = _disk_grid(STERNUM_GRID)
        dz = phantom.geometry.slice_spacing
        zc = shape.center_lps[2]
        weights, inside = [], []
        for j in range(-node.half_slices, node.half_slices + 1):
            scale = shape.scale_at(zc + j * dz)
            x, y = _ellipse_points(shape, scale, u, v)
            weights.append(scale * scale)
            inside.append(float(sternum.contains(x, y, zc + j * dz).mean()))
        share = float(np.dot(weights, inside) / np.sum(weights))
    return {
        "over_sternum": bool(medial_edge < sternum.half_width),
        "sternal_invasion": contact != "none",
        "sternum_overlap": round(share, 4),
        "sternum_border_x": round(sign * sternum.half_width, 3),
    }


def node_answer(phantom: Phantom, node: Node) -> dict[str, Any]:
    """All ``nodes.csv`` measurement values of one node (mm, ml; LPS).

    ``intercostal_spaces`` is a list of ints (empty without rib annotations) and
    ``ctv_coverage`` is None when the patient has no planned IMN CTV.
    """
    shape = node.shape
    xc, yc, zc = shape.center_lps
    sign = SIDE_SIGN[node.side]
    imv_x, imv_y = phantom.vessels[node.side].center_at(zc)
    ml = (xc - imv_x) * sign
    dv = yc - imv_y
    hx, hy = shape.half_widths()
    quadrant, _, _, _ = farthest_point_quadrant(shape, imv_x, imv_y, sign)
    dz = phantom.geometry.slice_spacing
    z_lo, z_hi = zc - node.half_slices * dz, zc + node.half_slices * dz
    spaces = (
        intercostal_spaces(z_lo, z_hi, phantom.rib_levels(node.side))
        if phantom.plan.has_ribs
        else []
    )
    ctvs = list(phantom.ctvs.values())
    coverage = ctv_coverage(node, ctvs, dz) if ctvs else None
    return {
        "centroid_x": round(xc, 3),
        "centroid_y": round(yc, 3),
        "centroid_z": round(zc, 3),
        "reference_z": round(zc, 3),
        "imv_x": round(imv_x, 3),
        "imv_y": round(imv_y, 3),
        "imv_extrapolated": False,
        "center_ml_mm": round(ml, 3),
        "center_dv_mm": round(dv, 3),
        "extent_medial_mm": round(max(0.0, hx - ml), 3),
        "extent_lateral_mm": round(max(0.0, ml + hx), 3),
        "extent_ventral_mm": round(max(0.0, hy - dv), 3),
        "extent_dorsal_mm": round(max(0.0, dv + hy), 3),
        "quadrant": quadrant,
        "towards_sternum": quadrant.startswith("medial"),
        "long_axis_mm": round(2.0 * shape.a, 3),
        "short_axis_mm": round(2.0 * shape.b, 3),
        "volume_ml": round(4.0 / 3.0 * math.pi * shape.a * shape.b * shape.c / 1000.0, 4),
        "metastatic": node.metastatic,
        "intercostal_spaces": spaces,
        "ctv_coverage": None if coverage is None else round(coverage, 4),
        **sternum_answer(phantom, node),
    }
