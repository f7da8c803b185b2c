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

from imncohort.demo.shapes import SIDE_SIGN, Ellipsoid, Tube

if TYPE_CHECKING:
    from imncohort.demo.phantom import Node, Phantom

#: Boundary samples used to find the farthest point from the IMV centre.
BOUNDARY_SAMPLES = 7200
#: Points per axis of the unit-ball grid used to integrate CTV coverage.
COVERAGE_GRID = 72


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


def ctv_coverage(shape: Ellipsoid, ctvs: list[Tube]) -> float:
    """Share of the ellipsoid volume inside any of the CTV tubes (grid integration)."""
    g = (np.arange(COVERAGE_GRID) + 0.5) / COVERAGE_GRID * 2.0 - 1.0
    u, v, w = np.meshgrid(g, g, g, indexing="ij")
    inside_ball = u**2 + v**2 + w**2 <= 1.0
    u, v, w = u[inside_ball], v[inside_ball], w[inside_ball]
    cos, sin = math.cos(shape.theta), math.sin(shape.theta)
    x = shape.center_lps[0] + shape.a * u * cos - shape.b * v * sin
    y = shape.center_lps[1] + shape.a * u * sin + shape.b * v * cos
    z = shape.center_lps[2] + shape.c * w
    covered = np.zeros(x.shape, dtype=bool)
    for tube in ctvs:
        axis_x = tube.x0 + tube.slope * (z - tube.z_ref)
        in_z = (z >= tube.z_min) & (z <= tube.z_max)
        covered |= in_z & ((x - axis_x) ** 2 + (y - tube.y) ** 2 <= tube.radius**2)
    return float(np.mean(covered))


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
    coverage = ctv_coverage(shape, list(phantom.ctvs.values())) if phantom.ctvs else None
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
    }
