"""Long and short axis of a cross-section.

``long`` is the largest in-plane diameter (largest distance between two boundary points,
found among the convex hull vertices); ``short`` is the largest diameter perpendicular to
it, i.e. the width of the hull projected onto the direction perpendicular to the long
axis (the RECIST-style short axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imncohort.geometry.validation import as_points

__all__ = ["AxisMeasurement", "convex_hull", "long_short_axis", "measure_axes"]

FloatArray = npt.NDArray[np.float64]


def convex_hull(points_xy: npt.ArrayLike) -> FloatArray:
    """Convex hull of planar points (Andrew's monotone chain).

    Parameters
    ----------
    points_xy : array_like, shape (M, 2)
        Points in mm (duplicates and collinear sets allowed).

    Returns
    -------
    numpy.ndarray, shape (H, 2)
        Hull vertices counter-clockwise without repeating the first; 1 or 2 points for
        degenerate input.
    """
    pts = as_points(points_xy, "points_xy", min_rows=1)
    pts = np.unique(pts, axis=0)  # sorted by x then y
    if pts.shape[0] <= 2:
        return pts

    def half(seq: FloatArray) -> list[FloatArray]:
        chain: list[FloatArray] = []
        for p in seq:
            while len(chain) >= 2:
                o, a = chain[-2], chain[-1]
                cross = (a[0] - o[0]) * (p[1] - o[1]) - (a[1] - o[1]) * (p[0] - o[0])
                if cross > 0:
                    break
                chain.pop()
            chain.append(p)
        return chain

    lower = half(pts)
    upper = half(pts[::-1])
    hull = np.array(lower[:-1] + upper[:-1], dtype=np.float64)
    return hull if hull.shape[0] else pts[:1]


@dataclass(frozen=True, eq=False)
class AxisMeasurement:
    """Long and short axis with the long axis end points (for drawing).

    Attributes
    ----------
    long_mm, short_mm : float
        Diameters in mm.
    long_end_points_xy_lps : numpy.ndarray, shape (2, 2)
        The two boundary points realising the long axis, LPS mm.
    short_direction_xy : numpy.ndarray, shape (2,)
        Unit vector perpendicular to the long axis.
    """

    long_mm: float
    short_mm: float
    long_end_points_xy_lps: FloatArray
    short_direction_xy: FloatArray


def measure_axes(boundary_xy_lps: npt.ArrayLike) -> AxisMeasurement:
    """Long and short axis of a cross-section, with the long axis end points.

    Parameters
    ----------
    boundary_xy_lps : array_like, shape (M, 2)
        Boundary points in LPS mm (e.g. ``CrossSection.boundary_xy_lps``).

    Returns
    -------
    AxisMeasurement
        When several pairs share the largest distance (within 1e-9 relative) the first
        in hull order is used; for such symmetric shapes the short axis is then the width
        across that pair.
    """
    hull = convex_hull(as_points(boundary_xy_lps, "boundary_xy_lps", min_rows=1))
    if hull.shape[0] == 1:
        p = hull[0]
        return AxisMeasurement(0.0, 0.0, np.stack([p, p]), np.array([0.0, 1.0]))
    diff = hull[:, None, :] - hull[None, :, :]
    d2 = np.einsum("abk,abk->ab", diff, diff)
    a, b = np.unravel_index(int(np.argmax(d2)), d2.shape)
    long_mm = float(np.sqrt(d2[a, b]))
    u = (hull[b] - hull[a]) / long_mm
    perp = np.array([-u[1], u[0]])
    proj = hull @ perp
    short_mm = float(proj.max() - proj.min())
    return AxisMeasurement(long_mm, short_mm, np.stack([hull[a], hull[b]]), perp)


def long_short_axis(boundary_xy_lps: npt.ArrayLike) -> tuple[float, float]:
    """Long and short axis of a cross-section.

    Parameters
    ----------
    boundary_xy_lps : array_like, shape (M, 2)
        Boundary points in LPS mm.

    Returns
    -------
    (long_mm, short_mm) : tuple of float
        Largest pairwise distance between boundary points, and the width of the convex
        hull perpendicular to that diameter, both in mm. One point gives ``(0, 0)``.
    """
    m = measure_axes(boundary_xy_lps)
    return m.long_mm, m.short_mm
