"""Rib levels at their parasternal ends and the intercostal spaces a node occupies.

Rib ``k``'s level ``z_k`` is the mean z of the rib's points (voxel centres or contour
vertices, LPS mm) within ``medial_window_mm`` (in ``|x - midline|``) of its most medial
point. A rib mask that stops short of the sternum (bony rib without its cartilage) is thus
represented by its anterior, medial end. Intercostal space ``k`` is the z interval
``(z_{k+1}, z_k]``; a node occupies every space its z extent overlaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from imncohort.geometry.components import label_components_3d
from imncohort.geometry.validation import (
    GeometryError,
    as_affine,
    as_bool_volume,
    as_finite_float,
    as_points,
)
from imncohort.textfmt import value_text

__all__ = ["intercostal_spaces", "rib_level_z", "rib_levels", "split_cartilage_by_rib"]

FloatArray = npt.NDArray[np.float64]


def rib_level_z(
    points_lps: npt.ArrayLike, medial_window_mm: float = 10.0, midline_x: float = 0.0
) -> float:
    """z level of a rib at its parasternal (medial) end.

    Parameters
    ----------
    points_lps : array_like, shape (N, 3)
        The rib's points on one side (voxel centres or contour vertices), LPS mm.
    medial_window_mm : float
        Width (mm, >= 0) of the band in ``|x - midline_x|`` above the most medial point
        whose points are averaged.
    midline_x : float
        x of the midline in LPS mm (sternum centroid, else body centre).

    Returns
    -------
    float
        Mean z (mm) of the points with ``|x - midline_x| <= d_min + medial_window_mm``
        where ``d_min`` is the smallest ``|x - midline_x|`` of the rib.
    """
    pts = as_points(points_lps, "points_lps", ndim=3, min_rows=1)
    window = as_finite_float(medial_window_mm, "medial_window_mm")
    if window < 0:
        raise GeometryError(f'Argument "medial_window_mm" must be >= 0, got {value_text(window)}.')
    mid = as_finite_float(midline_x, "midline_x")
    dist = np.abs(pts[:, 0] - mid)
    near = dist <= dist.min() + window
    return float(pts[near, 2].mean())


def rib_levels(
    rib_points_lps: Mapping[int, npt.ArrayLike],
    medial_window_mm: float = 10.0,
    midline_x: float = 0.0,
) -> dict[int, float]:
    """:func:`rib_level_z` of every rib of one side.

    Parameters
    ----------
    rib_points_lps : mapping of int to array_like (N, 3)
        Rib number (1..12) to its points on the node's side, LPS mm. Empty ribs are
        left out.
    medial_window_mm, midline_x : float
        See :func:`rib_level_z`.

    Returns
    -------
    dict of int to float
        Rib number to level z (mm).
    """
    out: dict[int, float] = {}
    for rib, pts in rib_points_lps.items():
        arr = as_points(pts, f"rib_points_lps[{rib}]", ndim=3)
        if arr.shape[0]:
            out[int(rib)] = rib_level_z(arr, medial_window_mm, midline_x)
    return out


def intercostal_spaces(z_min: float, z_max: float, rib_levels: Mapping[int, float]) -> list[int]:
    """Intercostal spaces overlapped by a node's z extent.

    Parameters
    ----------
    z_min, z_max : float
        Lowest and highest z (LPS mm) of the slices where the node is present.
    rib_levels : mapping of int to float
        Rib number to its parasternal level z (mm) on the node's side.

    Returns
    -------
    list of int
        Sorted space numbers ``k`` (space ``k`` = ``(z_{k+1}, z_k]``, both ribs known) whose
        interval overlaps ``[z_min, z_max]``. Spaces above the first known rib or below
        the last are not counted; a space whose bounding rib is missing is not counted.
    """
    lo = as_finite_float(z_min, "z_min")
    hi = as_finite_float(z_max, "z_max")
    if lo > hi:
        raise GeometryError(f'Arguments "z_min" ({lo}) must be <= "z_max" ({hi}).')
    levels = {int(k): as_finite_float(v, f"rib_levels[{k}]") for k, v in rib_levels.items()}
    spaces: list[int] = []
    for k in sorted(levels):
        if k + 1 not in levels:
            continue
        bottom, top = sorted((levels[k + 1], levels[k]))
        if lo <= top and hi > bottom:
            spaces.append(k)
    return spaces


def split_cartilage_by_rib(
    cartilage_mask_kji: npt.ArrayLike,
    affine_ijk_to_lps: npt.ArrayLike,
    rib_points_lps: Mapping[int, npt.ArrayLike],
    side: Literal["left", "right"],
    midline_x: float = 0.0,
    medial_window_mm: float = 10.0,
    max_gap_mm: float = 15.0,
) -> dict[int, FloatArray]:
    """Assign the voxels of a single costal-cartilage label to the ribs of one side.

    TotalSegmentator has one ``costal_cartilages`` label for all cartilages; its bony rib
    labels stop at the costochondral junction. Each 26-connected cartilage piece on the
    node's side goes to the rib whose medial end (the points used by
    :func:`rib_level_z`) is nearest, if within ``max_gap_mm``; a piece near the ends of
    several ribs (the merged lower cartilages) is split voxel by voxel to the nearest of
    those ends.

    Parameters
    ----------
    cartilage_mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        The cartilage label.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index to LPS mm.
    rib_points_lps : mapping of int to array_like (N, 3)
        Rib number to its points on this side, LPS mm.
    side : {"left", "right"}
        Keep cartilage voxels with x > midline (left) or x < midline (right).
    midline_x, medial_window_mm : float
        See :func:`rib_level_z`.
    max_gap_mm : float
        Largest distance (mm) between a cartilage piece and a rib end to join them.

    Returns
    -------
    dict of int to numpy.ndarray (N, 3)
        Rib number to its cartilage voxel centres (LPS mm); ribs without cartilage are
        absent. Concatenate with the rib's own points before :func:`rib_level_z`.
    """
    if side not in ("left", "right"):
        raise GeometryError(f'Argument "side" must be "left" or "right", got {side!r}.')
    mask = as_bool_volume(cartilage_mask_kji, "cartilage_mask_kji")
    affine = as_affine(affine_ijk_to_lps)
    mid = as_finite_float(midline_x, "midline_x")
    gap = as_finite_float(max_gap_mm, "max_gap_mm")
    ends: dict[int, cKDTree] = {}
    for rib, pts in rib_points_lps.items():
        arr = as_points(pts, f"rib_points_lps[{rib}]", ndim=3)
        if arr.shape[0] == 0:
            continue
        dist = np.abs(arr[:, 0] - mid)
        ends[int(rib)] = cKDTree(arr[dist <= dist.min() + medial_window_mm])
    if not ends:
        return {}
    labels, n = label_components_3d(mask, connectivity=26)
    kk, jj, ii = np.nonzero(labels)
    if kk.size == 0:
        return {}
    ijk1 = np.column_stack([ii, jj, kk, np.ones(kk.size)]).astype(np.float64)
    xyz = ijk1 @ affine[:3].T
    lab = labels[kk, jj, ii]
    keep = xyz[:, 0] > mid if side == "left" else xyz[:, 0] < mid
    xyz, lab = xyz[keep], lab[keep]
    ribs = sorted(ends)
    # Distance of every voxel to every rib end: (V, R).
    dists = np.column_stack([ends[r].query(xyz)[0] for r in ribs])
    collected: dict[int, list[FloatArray]] = {}
    for piece in range(1, n + 1):
        sel = lab == piece
        if not np.any(sel):
            continue
        near = np.flatnonzero(dists[sel].min(axis=0) <= gap)
        if near.size == 0:
            continue
        owner = near[np.argmin(dists[sel][:, near], axis=1)]
        for r in np.unique(owner):
            collected.setdefault(ribs[int(r)], []).append(xyz[sel][owner == r])
    return {rib: np.concatenate(parts) for rib, parts in sorted(collected.items())}
