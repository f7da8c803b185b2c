"""Centre of the internal mammary vessels (IMV) at any z.

The vessel ROI gives one centre per contoured z (the centroid of its cross-section, or
the point of a POINT contour). Between contoured z values the centre is interpolated
linearly; beyond them the nearest end is used and flagged as extrapolated when it is more
than ``limit_mm`` away.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from imncohort.geometry.sections import CrossSection
from imncohort.geometry.validation import GeometryError, as_finite_float, as_points
from imncohort.textfmt import value_text

__all__ = ["imv_center_at", "imv_centres_from_sections"]

FloatArray = npt.NDArray[np.float64]

#: z values closer than this (mm) are the same slice; their centres are averaged.
SAME_Z_MM = 1e-3


def imv_center_at(
    z_mm: float, zs_mm: npt.ArrayLike, xy_lps: npt.ArrayLike, limit_mm: float
) -> tuple[FloatArray, bool]:
    """IMV centre on the slice at ``z_mm``.

    Parameters
    ----------
    z_mm : float
        Query z in LPS mm (the node's reference slice).
    zs_mm : array_like, shape (N,)
        z of each contoured vessel centre, any order; equal z (within 0.001 mm) are
        averaged.
    xy_lps : array_like, shape (N, 2)
        Vessel centres ``(x, y)`` in LPS mm.
    limit_mm : float
        Largest distance (mm, >= 0) from the nearest contoured z that is not flagged.

    Returns
    -------
    (centre_xy_lps, extrapolated) : tuple
        Centre ``(x, y)`` in LPS mm, linearly interpolated in z between contoured z
        values (the nearest end beyond them); ``extrapolated`` is True when ``z_mm`` is
        outside the contoured range by more than ``limit_mm``.
    """
    z = as_finite_float(z_mm, "z_mm")
    limit = as_finite_float(limit_mm, "limit_mm")
    if limit < 0:
        raise GeometryError(f'Argument "limit_mm" must be >= 0, got {value_text(limit)}.')
    zs = np.asarray(zs_mm, dtype=np.float64).reshape(-1)
    xy = as_points(xy_lps, "xy_lps", min_rows=1)
    if zs.shape[0] != xy.shape[0]:
        raise GeometryError(
            f'Arguments "zs_mm" ({zs.shape[0]} values) and "xy_lps" ({xy.shape[0]} rows) '
            "must have the same length."
        )
    if not np.all(np.isfinite(zs)):
        raise GeometryError('Argument "zs_mm" must be finite.')
    order = np.argsort(zs, kind="stable")
    zs, xy = zs[order], xy[order]
    # Average runs of (nearly) equal z.
    starts = np.concatenate([[0], np.flatnonzero(np.diff(zs) > SAME_Z_MM) + 1])
    counts = np.diff(np.concatenate([starts, [zs.size]]))
    uz = np.add.reduceat(zs, starts) / counts
    uxy = np.add.reduceat(xy, starts, axis=0) / counts[:, None]
    centre = np.array([np.interp(z, uz, uxy[:, 0]), np.interp(z, uz, uxy[:, 1])])
    distance = max(uz[0] - z, z - uz[-1], 0.0)
    return centre, bool(distance > limit)


def imv_centres_from_sections(
    sections: Sequence[CrossSection],
) -> tuple[FloatArray, FloatArray]:
    """Contoured z values and centroids of a vessel ROI, for :func:`imv_center_at`.

    Parameters
    ----------
    sections : sequence of CrossSection
        The vessel's cross-sections (all pieces on all slices).

    Returns
    -------
    (zs_mm, xy_lps) : tuple of numpy.ndarray, shapes (N,) and (N, 2)
        One entry per section; pieces on the same z are averaged later by
        :func:`imv_center_at` (unweighted) -- merge them first if they should be
        area-weighted.
    """
    if len(sections) == 0:
        raise GeometryError('Argument "sections" must hold at least one CrossSection.')
    zs = np.array([s.z_mm for s in sections], dtype=np.float64)
    xy = np.stack([s.centroid_xy_lps for s in sections]).astype(np.float64)
    return zs, xy
