"""Series landmarks: what every annotation of one series says about its anatomy.

The pooled context of a series (midline, IMV centres per side, rib levels per side,
CTVs, sternum ROIs) is built once per annotation file that references the series
(:func:`build_context`); a node's file's own landmarks win over those of the other
files (:func:`prefer_own`). Coordinates are patient LPS millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from imncohort.annotations.models import MaskRoi, Roi, RoiSet
from imncohort.annotations.names import NameMatch
from imncohort.config import Nodes
from imncohort.geometry.intercostal import rib_level_z, split_cartilage_by_rib
from imncohort.geometry.side import side_from_x
from imncohort.measure.rois import roi_points_lps, roi_slice_centres
from imncohort.measure.series import SeriesGeometry

Side = Literal["left", "right"]


@dataclass
class SeriesContext:
    """Everything pooled from the annotations of one series."""

    geometry: SeriesGeometry
    midline_x: float
    vessels: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    rib_levels: dict[str, dict[int, float]] = field(default_factory=dict)
    has_ribs: bool = False
    ctvs: list[tuple[str, Roi]] = field(default_factory=list)
    sternums: list[Roi] = field(default_factory=list)


def side_of(match: NameMatch, x: float, midline_x: float) -> Side:
    if match.side in ("left", "right"):
        return match.side
    return side_from_x(x, midline_x)


def series_midline(geometry: SeriesGeometry, rois: list[tuple[RoiSet, Roi, NameMatch]]) -> float:
    """Midline x (LPS mm): the sternum's mean x, else the centre of the CT field of view."""
    grid = geometry.grid
    sternum = [roi_points_lps(r, grid) for _, r, m in rois if m.roi_class == "sternum"]
    sternum_pts = np.concatenate(sternum) if sternum else np.zeros((0, 3))
    if len(sternum_pts):
        return float(np.mean(sternum_pts[:, 0]))
    centre = grid.pixel_to_xy_lps(
        0, np.array([(grid.columns - 1) / 2]), np.array([(grid.rows - 1) / 2])
    )
    return float(centre[0, 0])


def build_context(
    geometry: SeriesGeometry,
    rois: list[tuple[RoiSet, Roi, NameMatch]],
    midline: float,
    nodes: Nodes,
) -> SeriesContext:
    """IMV centres per side, rib levels per side and CTVs of some ROIs of one series."""
    grid = geometry.grid
    ctx = SeriesContext(geometry=geometry, midline_x=midline)
    vessel_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"left": [], "right": []}
    rib_points: dict[str, dict[int, list[np.ndarray]]] = {"left": {}, "right": {}}
    cartilages: list[MaskRoi] = []
    for _, roi, match in rois:
        if match.roi_class == "vessel":
            zs, xy = roi_slice_centres(roi, grid)
            if len(zs):
                side = side_of(match, float(np.mean(xy[:, 0])), midline)
                vessel_parts[side].append((zs, xy))
        elif match.roi_class == "rib" and match.rib is not None and match.side:
            pts = roi_points_lps(roi, grid)
            if len(pts):
                rib_points[match.side].setdefault(match.rib, []).append(pts)
        elif match.roi_class == "cartilage" and isinstance(roi, MaskRoi):
            cartilages.append(roi)
        elif match.roi_class == "ctv":
            ctx.ctvs.append((match.side, roi))
        elif match.roi_class == "sternum":
            ctx.sternums.append(roi)
    for vessel_side, parts in vessel_parts.items():
        if parts:
            ctx.vessels[vessel_side] = (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
            )
    sides: tuple[Side, Side] = ("left", "right")
    for side in sides:
        ribs = {n: np.concatenate(parts) for n, parts in rib_points[side].items()}
        if not ribs:
            continue
        ctx.has_ribs = True
        for cart in cartilages:
            extra = split_cartilage_by_rib(
                cart.mask_kji,
                cart.grid.affine_ijk_to_lps(),
                ribs,
                side,
                midline_x=midline,
                medial_window_mm=nodes.rib_medial_window_mm,
                max_gap_mm=nodes.cartilage_max_gap_mm,
            )
            for n, pts in extra.items():
                ribs[n] = np.concatenate([ribs[n], pts])
        window = nodes.rib_medial_window_mm
        ctx.rib_levels[side] = {
            n: rib_level_z(pts, window, midline) for n, pts in sorted(ribs.items())
        }
    return ctx


def prefer_own(own: SeriesContext, others: list[SeriesContext]) -> SeriesContext:
    """The node file's own vessels, ribs and CTVs, else those of the other files.

    A study may hold the nodes in one file and, say, TotalSegmentator ribs in
    another; when the node's file has its own vessel or rib annotations they win.
    Other files are searched in path order.
    """
    vessels = dict(own.vessels)
    for other in others:
        for side, centres in other.vessels.items():
            vessels.setdefault(side, centres)
    ribs_from = next((c for c in [own, *others] if c.has_ribs), own)
    ctvs = own.ctvs or [c for other in others for c in other.ctvs]
    sternums = own.sternums or [r for other in others for r in other.sternums]
    return SeriesContext(
        geometry=own.geometry,
        midline_x=own.midline_x,
        vessels=vessels,
        rib_levels=ribs_from.rib_levels,
        has_ribs=ribs_from.has_ribs,
        ctvs=ctvs,
        sternums=sternums,
    )
