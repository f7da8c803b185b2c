"""The sternum's lateral borders and whether a node reaches medially past them.

Seed 000 reports that of the nodes growing towards the sternum most "spread above the
sternum" and some invade it. On each contoured axial slice the sternum's lateral border
on the patient's left is its largest x, on the right its smallest x (LPS: +x = left).
Between contoured slices the border is interpolated linearly in z, beyond them the
nearest end is used (like the IMV centre, :mod:`imncohort.geometry.imv`).

A node *reaches over the sternum* when, on its reference slice, its boundary reaches
medially strictly past the border on its side: ``max over the boundary of
(border_x - x) * s > 0`` with ``s = +1`` for a left node, ``-1`` for a right one. A node
touching the border exactly does not reach past it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from imncohort.geometry.offsets import side_sign
from imncohort.geometry.validation import GeometryError, as_finite_float, as_points

__all__ = [
    "SternumBorders",
    "border_at",
    "medial_reach_mm",
    "reaches_over_sternum",
    "sternum_borders",
]

FloatArray = npt.NDArray[np.float64]

#: z values closer than this (mm) are the same slice.
SAME_Z_MM = 1e-3


@dataclass(frozen=True, eq=False)
class SternumBorders:
    """Per contoured z (ascending, unique), the sternum's left (max x) and right (min x) border.

    Attributes
    ----------
    zs_mm : numpy.ndarray, shape (N,)
        Contoured z values, mm.
    left_x_mm, right_x_mm : numpy.ndarray, shape (N,)
        Border x (LPS mm) on the patient's left and right side at each z.
    """

    zs_mm: FloatArray
    left_x_mm: FloatArray
    right_x_mm: FloatArray


def sternum_borders(
    zs_mm: npt.ArrayLike,
    left_candidates_x: npt.ArrayLike,
    right_candidates_x: npt.ArrayLike | None = None,
) -> SternumBorders:
    """Border x per contoured z from sternum points.

    Parameters
    ----------
    zs_mm : array_like, shape (N,)
        z of each sternum point (contour vertices, or voxel centres), mm.
    left_candidates_x : array_like, shape (N,)
        x of each point as a candidate for the left border (for voxels: centre x plus
        half the voxel's x extent, so the border is the voxel edge).
    right_candidates_x : array_like, shape (N,), optional
        x candidates for the right border (centre x minus half the extent); the left
        candidates when not given (contour vertices).

    Returns
    -------
    SternumBorders
        Per unique z (within 0.001 mm): the largest left candidate and the smallest
        right candidate.
    """
    zs = np.asarray(zs_mm, dtype=np.float64).reshape(-1)
    left = np.asarray(left_candidates_x, dtype=np.float64).reshape(-1)
    right = left if right_candidates_x is None else np.asarray(right_candidates_x, float).ravel()
    if zs.size == 0:
        raise GeometryError("the sternum has no point")
    if not (zs.shape == left.shape == right.shape):
        raise GeometryError(
            f"sternum points: {zs.size} z values, {left.size} left and {right.size} right x"
        )
    if not (np.all(np.isfinite(zs)) and np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
        raise GeometryError("sternum points must be finite")
    order = np.argsort(zs, kind="stable")
    zs, left, right = zs[order], left[order], right[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(zs) > SAME_Z_MM) + 1])
    counts = np.diff(np.concatenate([starts, [zs.size]]))
    return SternumBorders(
        zs_mm=np.add.reduceat(zs, starts) / counts,
        left_x_mm=np.maximum.reduceat(left, starts),
        right_x_mm=np.minimum.reduceat(right, starts),
    )


def border_at(borders: SternumBorders, z_mm: float, side: Literal["left", "right"]) -> float:
    """The sternum's lateral border x (LPS mm) on ``side`` at ``z_mm``.

    Linear in z between contoured slices; beyond them the nearest contoured slice.
    """
    z = as_finite_float(z_mm, "z_mm")
    values = borders.left_x_mm if side_sign(side) > 0 else borders.right_x_mm
    return float(np.interp(z, borders.zs_mm, values))


def medial_reach_mm(
    boundary_xy_lps: npt.ArrayLike, border_x_mm: float, side: Literal["left", "right"]
) -> float:
    """How far (mm) the node's boundary reaches medially past the sternal border.

    Positive: past the border (over the sternum); zero: touching it; negative: the gap
    between the node's most medial point and the border.
    """
    pts = as_points(boundary_xy_lps, "boundary_xy_lps", min_rows=1)
    border = as_finite_float(border_x_mm, "border_x_mm")
    s = side_sign(side)
    return float(np.max((border - pts[:, 0]) * s))


def reaches_over_sternum(
    boundary_xy_lps: npt.ArrayLike, border_x_mm: float, side: Literal["left", "right"]
) -> bool:
    """Whether the node reaches medially strictly past the sternal border (``over_sternum``)."""
    return medial_reach_mm(boundary_xy_lps, border_x_mm, side) > 0.0
