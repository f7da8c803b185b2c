"""Analytic answers of the demo on its shapes: quadrant, spaces, CTV and sternum contact.

Computed from the shape parameters only (never from the written files), so the
demo can check the measuring stage independently; :mod:`imncohort.demo.node_truth`
assembles them into every ``nodes.csv`` value of one phantom node. Definitions follow CONTRACT.md
section 4 and the precisions in docs/ARCHITECTURE.md; extents, quadrant and axes are
taken on the reference slice (the node centre slice, where the cross-section is
largest).
"""

from __future__ import annotations

import math

import numpy as np

from imncohort.demo.shapes import Ellipsoid, Sternum

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


def disk_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    g = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    u, v = np.meshgrid(g, g, indexing="ij")
    inside = u**2 + v**2 <= 1.0
    return u[inside], v[inside]


def ellipse_points(shape: Ellipsoid, scale: float, u: np.ndarray, v: np.ndarray) -> tuple:
    cos, sin = math.cos(shape.theta), math.sin(shape.theta)
    a, b = shape.a * scale, shape.b * scale
    x = shape.center_lps[0] + a * u * cos - b * v * sin
    y = shape.center_lps[1] + a * u * sin + b * v * cos
    return x, y


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
    u, v = disk_grid(STERNUM_GRID)
    x, y = ellipse_points(shape, 1.0, u, v)
    if not sternum.contains(x, y, shape.center_lps[2]).any():
        return "none"
    inner_a = shape.a - STERNUM_CONTACT_MM
    inner_b = shape.b - STERNUM_CONTACT_MM
    if inner_b > 0:
        shrunk = Ellipsoid(shape.center_lps, inner_a, inner_b, shape.c, shape.theta)
        x, y = ellipse_points(shrunk, 1.0, u, v)
        eroded = Sternum(
            sternum.half_width - STERNUM_CONTACT_MM,
            sternum.y_center,
            sternum.half_depth - STERNUM_CONTACT_MM,
        )
        if eroded.contains(x, y, shape.center_lps[2]).any():
            return "clear"
    return "ambiguous"
