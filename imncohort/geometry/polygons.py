"""Planar polygons: shoelace area and centroid, even-odd inclusion, rasterising.

A *ring* is one closed polygon given as an ``(M, 2)`` array of ``(x, y)`` vertices in
millimetres (LPS on an axial slice); the closing edge from the last vertex back to the
first is implied (a repeated first vertex is harmless). Several rings on one slice make a
region by the even-odd rule: a point is inside when it lies inside an odd number of
rings. Rings are assumed not to cross each other (RTSTRUCT contours do not).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from imncohort.geometry.validation import GeometryError, as_affine, as_points
from imncohort.textfmt import value_text

__all__ = [
    "grid_around_rings",
    "point_in_polygon",
    "point_in_rings",
    "points_on_boundary",
    "polygon_area",
    "polygon_centroid",
    "polygon_signed_area",
    "rasterize_rings",
    "rasterize_rings_on_slice",
    "ring_depths",
    "ring_inside_ring",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def polygon_signed_area(xy: npt.ArrayLike) -> float:
    """Signed area of one ring by the shoelace formula.

    Parameters
    ----------
    xy : array_like, shape (M, 2)
        Vertices in mm.

    Returns
    -------
    float
        Area in mm^2, positive when the vertices run counter-clockwise in the (x, y)
        plane; 0 for fewer than 3 vertices.
    """
    pts = as_points(xy, "xy")
    if pts.shape[0] < 3:
        return 0.0
    # Shift to the first vertex: same result, less cancellation far from the origin.
    d = pts - pts[0]
    x, y = d[:, 0], d[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def polygon_area(xy: npt.ArrayLike) -> float:
    """Unsigned area of one ring (mm^2) by the shoelace formula.

    Parameters
    ----------
    xy : array_like, shape (M, 2)
        Vertices in mm.
    """
    return abs(polygon_signed_area(xy))


def polygon_centroid(xy: npt.ArrayLike) -> FloatArray:
    """Area centroid of one ring by the shoelace formula.

    Parameters
    ----------
    xy : array_like, shape (M, 2)
        Vertices in mm, either orientation.

    Returns
    -------
    numpy.ndarray, shape (2,)
        Centroid ``(x, y)`` in mm. A degenerate ring (zero area, e.g. a POINT contour or
        collinear vertices) gives the mean of its vertices.
    """
    pts = as_points(xy, "xy", min_rows=1)
    origin = pts[0].copy()
    d = pts - origin
    x, y = d[:, 0], d[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    twice_area = float(np.sum(cross))
    scale = float(np.max(np.abs(d))) if d.size else 0.0
    if pts.shape[0] < 3 or abs(twice_area) <= 1e-12 * max(scale, 1e-300) ** 2:
        return np.asarray(pts.mean(axis=0), dtype=np.float64)
    cx = float(np.sum((x + xn) * cross)) / (3.0 * twice_area)
    cy = float(np.sum((y + yn) * cross)) / (3.0 * twice_area)
    return np.array([cx + origin[0], cy + origin[1]], dtype=np.float64)


def _crossings_left(points: FloatArray, ring: FloatArray) -> npt.NDArray[np.int64]:
    """Number of edges of ``ring`` crossed by a ray from each point towards -x.

    Half-open rule on y (an edge counts when ``min(y0, y1) <= y < max(y0, y1)``), so a
    vertex on the ray is counted once and horizontal edges never.
    """
    if ring.shape[0] < 3 or points.shape[0] == 0:
        return np.zeros(points.shape[0], dtype=np.int64)
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    px = points[:, 0:1]
    py = points[:, 1:2]
    straddles = (y0 <= py) != (y1 <= py)  # (P, E)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    hits = straddles & (x_at <= px)
    return np.asarray(np.count_nonzero(hits, axis=1), dtype=np.int64)


def point_in_polygon(points_xy: npt.ArrayLike, ring_xy: npt.ArrayLike) -> BoolArray:
    """Even-odd inclusion of points in one ring.

    Parameters
    ----------
    points_xy : array_like, shape (P, 2) or (2,)
        Query points in mm.
    ring_xy : array_like, shape (M, 2)
        The ring in mm.

    Returns
    -------
    numpy.ndarray of bool, shape (P,)
        True inside. Points exactly on the boundary are inside on left/bottom edges and
        outside on right/top edges (the usual half-open convention).
    """
    pts = np.asarray(points_xy, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts.reshape(1, -1)
    pts = as_points(pts, "points_xy")
    ring = as_points(ring_xy, "ring_xy")
    return np.asarray(_crossings_left(pts, ring) % 2 == 1, dtype=np.bool_)


def point_in_rings(points_xy: npt.ArrayLike, rings_xy: Sequence[npt.ArrayLike]) -> BoolArray:
    """Even-odd inclusion of points in the region made by several rings.

    Parameters
    ----------
    points_xy : array_like, shape (P, 2)
        Query points in mm.
    rings_xy : sequence of array_like, each (M, 2)
        The rings of one slice.

    Returns
    -------
    numpy.ndarray of bool, shape (P,)
        True where the point lies inside an odd number of rings.
    """
    pts = np.asarray(points_xy, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts.reshape(1, -1)
    pts = as_points(pts, "points_xy")
    total = np.zeros(pts.shape[0], dtype=np.int64)
    for n, ring in enumerate(rings_xy):
        total += _crossings_left(pts, as_points(ring, f"rings_xy[{n}]"))
    return np.asarray(total % 2 == 1, dtype=np.bool_)


def points_on_boundary(points_xy: npt.ArrayLike, ring_xy: npt.ArrayLike, eps: float) -> BoolArray:
    """Which points lie within ``eps`` (mm) of an edge of a ring.

    Parameters
    ----------
    points_xy : array_like, shape (P, 2)
        Query points in mm.
    ring_xy : array_like, shape (M, 2)
        The ring in mm.
    eps : float
        Distance tolerance in mm.

    Returns
    -------
    numpy.ndarray of bool, shape (P,)
    """
    points = as_points(points_xy, "points_xy")
    ring = as_points(ring_xy, "ring_xy")
    if ring.shape[0] == 0 or points.shape[0] == 0:
        return np.zeros(points.shape[0], dtype=np.bool_)
    a = ring
    d = np.roll(ring, -1, axis=0) - ring
    length2 = np.einsum("ek,ek->e", d, d)
    rel = points[:, None, :] - a[None, :, :]  # (P, E, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(length2 > 0, np.einsum("pek,ek->pe", rel, d) / length2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    nearest = a[None, :, :] + t[..., None] * d[None, :, :]
    dist2 = np.sum((points[:, None, :] - nearest) ** 2, axis=-1)
    return np.asarray(np.any(dist2 <= eps * eps, axis=1), dtype=np.bool_)


def ring_inside_ring(inner_xy: npt.ArrayLike, outer_xy: npt.ArrayLike) -> bool:
    """Whether ring ``inner_xy`` lies inside ring ``outer_xy`` (rings that do not cross).

    The vertices and edge mid-points of ``inner_xy`` vote: those strictly inside
    ``outer_xy`` against those strictly outside; points on the boundary of ``outer_xy``
    (within 1e-9 of its size) abstain, so a hole touching its outer ring is still inside.

    Parameters
    ----------
    inner_xy, outer_xy : array_like, shape (M, 2)
        Rings in mm.
    """
    inner = as_points(inner_xy, "inner_xy")
    outer = as_points(outer_xy, "outer_xy")
    if inner.shape[0] == 0 or outer.shape[0] < 3:
        return False
    lo, hi = outer.min(axis=0), outer.max(axis=0)
    eps = 1e-9 * max(float(np.max(hi - lo)), 1.0)
    if np.any(inner.min(axis=0) < lo - eps) or np.any(inner.max(axis=0) > hi + eps):
        return False
    probes = np.concatenate([inner, 0.5 * (inner + np.roll(inner, -1, axis=0))])
    inside = _crossings_left(probes, outer) % 2 == 1
    if inside.all() or not inside.any():
        return bool(inside[0])  # unanimous: points on the boundary cannot change it
    voting = ~points_on_boundary(probes, outer, eps)
    if not np.any(voting):
        return False  # the same ring
    return 2 * int(np.count_nonzero(inside[voting])) > int(np.count_nonzero(voting))


def ring_depths(rings_xy: Sequence[npt.ArrayLike]) -> list[int]:
    """Nesting depth of each ring: how many of the other rings contain it.

    Containment is decided by :func:`ring_inside_ring`. Depth 0 = outer boundary, 1 =
    hole, 2 = island in a hole, and so on; with the even-odd rule a ring of odd depth
    bounds a hole.

    Parameters
    ----------
    rings_xy : sequence of array_like, each (M, 2)
        Rings on one slice, in mm.

    Returns
    -------
    list of int
        One depth per ring, in input order.
    """
    rings = [as_points(r, f"rings_xy[{n}]") for n, r in enumerate(rings_xy)]
    depths = [0] * len(rings)
    for a, ring_a in enumerate(rings):
        for b, ring_b in enumerate(rings):
            if a != b and ring_inside_ring(ring_a, ring_b):
                depths[a] += 1
    return depths


def rasterize_rings(
    rings_xy: Sequence[npt.ArrayLike],
    x_centres_mm: npt.ArrayLike,
    y_centres_mm: npt.ArrayLike,
) -> BoolArray:
    """Rasterise the even-odd region of several rings on an axis-aligned grid.

    A pixel is set when its centre lies inside the region (scanline, half-open rule as
    :func:`point_in_polygon`).

    Parameters
    ----------
    rings_xy : sequence of array_like, each (M, 2)
        Rings in mm.
    x_centres_mm : array_like, shape (nx,)
        x of the pixel-centre columns, increasing or decreasing.
    y_centres_mm : array_like, shape (ny,)
        y of the pixel-centre rows.

    Returns
    -------
    numpy.ndarray of bool, shape (ny, nx)
        Indexed ``[row (y), column (x)]``.
    """
    xc = np.asarray(x_centres_mm, dtype=np.float64)
    yc = np.asarray(y_centres_mm, dtype=np.float64)
    if xc.ndim != 1 or yc.ndim != 1:
        raise GeometryError('Arguments "x_centres_mm" and "y_centres_mm" must be 1-D arrays.')
    out = np.zeros((yc.size, xc.size), dtype=np.bool_)
    rings = [as_points(r, f"rings_xy[{n}]") for n, r in enumerate(rings_xy)]
    rings = [r for r in rings if r.shape[0] >= 3]
    if not rings or xc.size == 0 or yc.size == 0:
        return out
    x0 = np.concatenate([r[:, 0] for r in rings])
    y0 = np.concatenate([r[:, 1] for r in rings])
    x1 = np.concatenate([np.roll(r[:, 0], -1) for r in rings])
    y1 = np.concatenate([np.roll(r[:, 1], -1) for r in rings])
    rows = np.flatnonzero((yc >= y0.min()) & (yc <= y0.max()))
    if rows.size == 0:
        return out
    py = yc[rows][:, None]  # (R, 1)
    straddles = (y0 <= py) != (y1 <= py)  # (R, E)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = np.where(straddles, x0 + (py - y0) * (x1 - x0) / (y1 - y0), np.inf)
    # Count, for every pixel centre, the crossings at or left of it, all rows at once:
    # shift row r by r * band so that one sorted array holds every row in turn.
    lo = float(xc.min()) - 1.0
    span = float(xc.max()) + 1.0 - lo
    band = 2.0 * span
    x_at = np.clip(x_at, lo, lo + span) - lo  # missing crossings (inf) land right of all
    x_at.sort(axis=1)
    offsets = band * np.arange(rows.size, dtype=np.float64)[:, None]
    keys = (x_at + offsets).ravel()
    queries = (xc - lo)[None, :] + offsets
    before = x_at.shape[1] * np.arange(rows.size)[:, None]
    counts = np.searchsorted(keys, queries, side="right") - before
    out[rows] = counts % 2 == 1
    return out


def grid_around_rings(
    rings_xy: Sequence[npt.ArrayLike], step_mm: float, margin_mm: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """Pixel-centre coordinates of a square grid covering the rings' bounding box.

    Parameters
    ----------
    rings_xy : sequence of array_like, each (M, 2)
        Rings in mm (at least one vertex in total).
    step_mm : float
        Pixel size in mm (> 0).
    margin_mm : float
        Extra border around the bounding box in mm.

    Returns
    -------
    (x_centres_mm, y_centres_mm) : tuple of numpy.ndarray
        For :func:`rasterize_rings`. The grid is anchored on multiples of ``step_mm`` so
        two grids built with the same step share pixel centres.
    """
    if not step_mm > 0:
        raise GeometryError(f'Argument "step_mm" must be > 0, got {value_text(step_mm)}.')
    pts = [as_points(r, f"rings_xy[{n}]") for n, r in enumerate(rings_xy)]
    allpts = np.concatenate(pts) if pts else np.zeros((0, 2))
    if allpts.shape[0] == 0:
        raise GeometryError('Argument "rings_xy" holds no vertex.')
    lo = np.floor((allpts.min(axis=0) - margin_mm) / step_mm) * step_mm
    hi = np.ceil((allpts.max(axis=0) + margin_mm) / step_mm) * step_mm
    nx = int(np.rint((hi[0] - lo[0]) / step_mm)) + 1
    ny = int(np.rint((hi[1] - lo[1]) / step_mm)) + 1
    return lo[0] + step_mm * np.arange(nx), lo[1] + step_mm * np.arange(ny)


def rasterize_rings_on_slice(
    rings_xy_lps: Sequence[npt.ArrayLike],
    affine_ijk_to_lps: npt.ArrayLike,
    shape_ji: tuple[int, int],
    k: int,
) -> BoolArray:
    """Rasterise rings onto one axial slice of a voxel grid.

    Useful to compare a contour ROI with a mask (e.g. a CTV from RTSTRUCT against a node
    from SEG on the same series).

    Parameters
    ----------
    rings_xy_lps : sequence of array_like, each (M, 2)
        Rings in LPS mm on the slice.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index ``(i, j, k)`` to LPS of an axial volume (any in-plane steps).
    shape_ji : (int, int)
        Slice shape ``(rows, columns)`` = ``(n_j, n_i)``.
    k : int
        Slice index (matters only when the slice step has an in-plane component, i.e.
        a gantry-tilted stack).

    Returns
    -------
    numpy.ndarray of bool, shape ``shape_ji``
        True where the pixel centre lies inside the even-odd region.
    """
    affine = as_affine(affine_ijk_to_lps)
    if len(shape_ji) != 2 or min(shape_ji) < 0:
        raise GeometryError(
            f'Argument "shape_ji" must be (rows, columns), got {value_text(shape_ji)}.'
        )
    inv = np.linalg.inv(affine[:2, :2])
    origin_xy = affine[:2, 3] + affine[:2, 2] * float(k)
    rings_ij = [
        (as_points(r, f"rings_xy_lps[{n}]") - origin_xy) @ inv.T for n, r in enumerate(rings_xy_lps)
    ]
    return rasterize_rings(
        rings_ij,
        np.arange(shape_ji[1], dtype=np.float64),
        np.arange(shape_ji[0], dtype=np.float64),
    )
