"""Every ``nodes.csv`` value of one phantom node: the demo's ground truth of a node.

Computed from the phantom parameters only (never from the written files) with the
shape answers of :mod:`imncohort.demo.answers`. Definitions follow CONTRACT.md
section 4 and the precisions in docs/ARCHITECTURE.md; extents, quadrant and axes are
taken on the reference slice (the node centre slice, where the cross-section is
largest).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from imncohort.demo.answers import (
    STERNUM_GRID,
    disk_grid,
    ellipse_points,
    farthest_point_quadrant,
    intercostal_spaces,
    sternum_contact,
)
from imncohort.demo.phantom import Node, Phantom
from imncohort.demo.shapes import SIDE_SIGN, Tube


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
        u, v = disk_grid(STERNUM_GRID)
        dz = phantom.geometry.slice_spacing
        zc = shape.center_lps[2]
        weights, inside = [], []
        for j in range(-node.half_slices, node.half_slices + 1):
            scale = shape.scale_at(zc + j * dz)
            x, y = ellipse_points(shape, scale, u, v)
            weights.append(scale * scale)
            inside.append(float(sternum.contains(x, y, zc + j * dz).mean()))
        share = float(np.dot(weights, inside) / np.sum(weights))
    return {
        "over_sternum": bool(medial_edge < sternum.half_width),
        "sternal_invasion": contact != "none",
        "sternum_overlap": round(share, 4),
        "sternum_border_x": round(sign * sternum.half_width, 3),
    }


def ctv_coverage(node: Node, ctvs: list[Tube], slice_spacing: float) -> float:
    """Share of the node's rasterisation inside any of the CTV tubes.

    As for the sternum overlap: the share of each slice the node is drawn on (its
    cross-section at that z), weighted by the section areas, which is what a voxel mask
    or a stack of contours of the node holds.
    """
    shape = node.shape
    u, v = disk_grid(STERNUM_GRID)
    zc = shape.center_lps[2]
    weights, inside = [], []
    for j in range(-node.half_slices, node.half_slices + 1):
        z = zc + j * slice_spacing
        scale = shape.scale_at(z)
        x, y = ellipse_points(shape, scale, u, v)
        covered = np.zeros(x.shape, dtype=bool)
        for tube in ctvs:
            covered |= tube.contains(x, y, z)
        weights.append(scale * scale)
        inside.append(float(covered.mean()))
    return float(np.dot(weights, inside) / np.sum(weights))


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
