"""Per node: does it reach over the sternum, and does it invade it (CONTRACT section 4).

The sternum annotation is any ROI matched by ``names.sternum`` (RTSTRUCT ROI, SEG
segment, NIfTI label, TotalSegmentator id 116). Its lateral border on the node's side
at the node's reference slice comes from :mod:`imncohort.geometry.sternum` (contour
vertices, or the outer edge of the extreme voxels of a mask). ``sternum_overlap`` is the
share of the node's own rasterisation (its voxels, or the CT pixel centres inside its
contours) that lies inside the sternum; ``sternal_invasion`` is ``sternum_overlap >
nodes.sternal_invasion_min_share`` (default 0: any sample inside).

In a single label map a voxel holds one label, so a node painted over the sternum
cannot overlap it there; the sternum must come from its own map (TotalSegmentator's, or
another file) for invasion to be measurable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from imncohort.annotations.models import ContourRoi, MaskRoi, Roi, SliceGrid
from imncohort.geometry.sections import CrossSection
from imncohort.geometry.sternum import (
    SternumBorders,
    border_at,
    reaches_over_sternum,
    sternum_borders,
)
from imncohort.measure.rois import Component, inside_roi, mask_points_lps

STERNUM_COLUMNS = ("over_sternum", "sternal_invasion", "sternum_overlap", "sternum_border_x")


def empty_sternum_values() -> dict[str, Any]:
    """The sternum columns of a node whose study has no sternum annotation."""
    return {
        "over_sternum": None,
        "sternal_invasion": None,
        "sternum_overlap": math.nan,
        "sternum_border_x": math.nan,
    }


def borders_of(rois: Sequence[Roi], ct_grid: SliceGrid) -> SternumBorders | None:
    """The sternum borders per contoured z from every sternum ROI (None when all are empty)."""
    zs: list[np.ndarray] = []
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for roi in rois:
        if isinstance(roi, ContourRoi):
            for k, rings in roi.rings_by_slice.items():
                for ring in rings:
                    x = np.asarray(ring, dtype=float)[:, 0]
                    zs.append(np.full(x.size, float(ct_grid.z_mm[k])))
                    left.append(x)
                    right.append(x)
        elif isinstance(roi, MaskRoi):
            pts = mask_points_lps(roi.mask_kji, roi.grid)
            if not len(pts):
                continue
            grid = roi.grid
            half = 0.5 * (
                abs(float(grid.row_dir_lps[0])) * grid.spacing_col_mm
                + abs(float(grid.col_dir_lps[0])) * grid.spacing_row_mm
            )
            zs.append(pts[:, 2])
            left.append(pts[:, 0] + half)
            right.append(pts[:, 0] - half)
    if not zs:
        return None
    return sternum_borders(np.concatenate(zs), np.concatenate(left), np.concatenate(right))


def sternum_values(
    comp: Component,
    reference: CrossSection,
    side: Literal["left", "right"],
    sternums: Sequence[Roi],
    ct_grid: SliceGrid,
    min_share: float,
) -> dict[str, Any]:
    """``over_sternum``, ``sternal_invasion``, ``sternum_overlap``, ``sternum_border_x``.

    Parameters
    ----------
    comp
        The node.
    reference
        Its reference cross-section.
    side
        The node's side.
    sternums
        The series' sternum ROIs (empty: every value empty).
    ct_grid
        The referenced CT grid (contour slice indices, contour rasterisation).
    min_share
        ``sternal_invasion`` is True when the overlap share is strictly above it.
    """
    borders = borders_of(sternums, ct_grid) if sternums else None
    if borders is None:
        return empty_sternum_values()
    border = border_at(borders, reference.z_mm, side)
    pts = comp.sample_points_lps(ct_grid)
    if len(pts):
        inside = np.zeros(len(pts), dtype=bool)
        for roi in sternums:
            inside |= inside_roi(pts, roi, ct_grid)
        share = float(inside.mean())
    else:
        share = 0.0
    return {
        "over_sternum": reaches_over_sternum(reference.boundary_xy_lps, border, side),
        "sternal_invasion": bool(share > min_share),
        "sternum_overlap": share,
        "sternum_border_x": border,
    }
