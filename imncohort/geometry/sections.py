"""One node's cross-section on one axial slice, from contour rings or from a mask.

A :class:`CrossSection` is what every later measurement needs: its z, its area, its
centroid and a set of boundary points (whose convex hull encloses the cross-section) for
axes, extents and the growth quadrant. Sections built from contours also keep their rings
so that overlap between slices and with a CTV can be tested exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from imncohort.geometry.polygons import polygon_centroid, polygon_signed_area, ring_depths
from imncohort.geometry.validation import (
    GeometryError,
    as_affine,
    as_bool_volume,
    as_finite_float,
    as_points,
)
from imncohort.textfmt import value_text

__all__ = [
    "BOUNDARY_SMOOTHING_PX",
    "CrossSection",
    "merge_sections",
    "section_from_mask_slice",
    "section_from_rings",
    "sections_from_mask",
]

FloatArray = npt.NDArray[np.float64]


def _frozen(arr: FloatArray) -> FloatArray:
    out = np.array(arr, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class CrossSection:
    """A node's cross-section on one axial slice, in LPS millimetres.

    Attributes
    ----------
    z_mm : float
        z of the slice (LPS, + superior), mm.
    area_mm2 : float
        Area in mm^2 (even-odd region of the rings, or voxel count x pixel area).
    centroid_xy_lps : numpy.ndarray, shape (2,)
        Area centroid ``(x, y)`` in LPS mm.
    boundary_xy_lps : numpy.ndarray, shape (M, 2)
        Boundary points in LPS mm: all ring vertices for contours; for masks the
        sub-pixel points of the 0.5 iso-line of the (lightly smoothed) mask, so
        diameters agree with contours to well under a pixel.
    rings_xy_lps : tuple of numpy.ndarray
        The contour rings (each ``(M, 2)``) for sections built from contours; empty for
        sections built from masks.

    Notes
    -----
    Arrays are copied and made read-only. Equality is identity (arrays do not compare
    as a single truth value).
    """

    z_mm: float
    area_mm2: float
    centroid_xy_lps: FloatArray
    boundary_xy_lps: FloatArray
    rings_xy_lps: tuple[FloatArray, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "z_mm", as_finite_float(self.z_mm, "z_mm"))
        area = as_finite_float(self.area_mm2, "area_mm2")
        if area < 0:
            raise GeometryError(f'Argument "area_mm2" must be >= 0, got {value_text(area)}.')
        object.__setattr__(self, "area_mm2", area)
        centroid = np.asarray(self.centroid_xy_lps, dtype=np.float64)
        if centroid.shape != (2,) or not np.all(np.isfinite(centroid)):
            raise GeometryError(
                f'Argument "centroid_xy_lps" must be 2 finite numbers, got {value_text(centroid)}.'
            )
        object.__setattr__(self, "centroid_xy_lps", _frozen(centroid))
        boundary = as_points(self.boundary_xy_lps, "boundary_xy_lps", min_rows=1)
        object.__setattr__(self, "boundary_xy_lps", _frozen(boundary))
        rings = tuple(
            _frozen(as_points(r, f"rings_xy_lps[{n}]")) for n, r in enumerate(self.rings_xy_lps)
        )
        object.__setattr__(self, "rings_xy_lps", rings)

    @property
    def from_contours(self) -> bool:
        """True when the section keeps contour rings (built by :func:`section_from_rings`)."""
        return len(self.rings_xy_lps) > 0


def section_from_rings(z_mm: float, rings_xy_lps: Sequence[npt.ArrayLike]) -> CrossSection:
    """Cross-section of closed planar contours on one axial slice (even-odd rule).

    Parameters
    ----------
    z_mm : float
        z of the slice in LPS mm.
    rings_xy_lps : sequence of array_like, each (M, 2)
        Closed rings of ``(x, y)`` LPS mm vertices. A ring inside an odd number of other
        rings is a hole; rings must not cross each other.

    Returns
    -------
    CrossSection
        Area and centroid exactly by the shoelace formula: each ring contributes its
        absolute area with sign ``(-1) ** depth``. Boundary = all ring vertices. When the
        total area is 0 (POINT contours, degenerate rings) the centroid is the mean of
        all vertices.

    Raises
    ------
    GeometryError
        If ``rings_xy_lps`` is empty or holds no vertex, or a ring is not ``(M, 2)``.
    """
    z = as_finite_float(z_mm, "z_mm")
    rings = [as_points(r, f"rings_xy_lps[{n}]") for n, r in enumerate(rings_xy_lps)]
    rings = [r for r in rings if r.shape[0] > 0]
    if not rings:
        raise GeometryError(
            f'Argument "rings_xy_lps" must hold at least one ring with vertices (z = {z} mm).'
        )
    depths = ring_depths(rings)
    total = 0.0
    moment = np.zeros(2)
    for ring, depth in zip(rings, depths, strict=True):
        signed = abs(polygon_signed_area(ring)) * (-1.0 if depth % 2 else 1.0)
        if signed != 0.0:
            total += signed
            moment += signed * polygon_centroid(ring)
    boundary = np.concatenate(rings)
    scale = max(abs(r).max() for r in rings) if rings else 1.0
    if abs(total) <= 1e-12 * max(scale, 1.0) ** 2:
        centroid = boundary.mean(axis=0)
        total = 0.0
    else:
        centroid = moment / total
    return CrossSection(
        z_mm=z,
        area_mm2=abs(total),
        centroid_xy_lps=centroid,
        boundary_xy_lps=boundary,
        rings_xy_lps=tuple(rings),
    )


def merge_sections(sections: Sequence[CrossSection]) -> CrossSection:
    """Combine disjoint cross-sections of one node on the same slice into one.

    Parameters
    ----------
    sections : sequence of CrossSection
        Non-overlapping pieces on one z (e.g. the two arms of a U-shaped node).

    Returns
    -------
    CrossSection
        z = mean z, area = sum, centroid = area-weighted mean (mean of boundary points when
        all areas are 0), boundary and rings concatenated.
    """
    if len(sections) == 0:
        raise GeometryError('Argument "sections" must hold at least one CrossSection.')
    if len(sections) == 1:
        return sections[0]
    areas = np.array([s.area_mm2 for s in sections])
    boundary = np.concatenate([s.boundary_xy_lps for s in sections])
    total = float(areas.sum())
    if total > 0:
        centroid = (areas[:, None] * np.stack([s.centroid_xy_lps for s in sections])).sum(
            axis=0
        ) / total
    else:
        centroid = boundary.mean(axis=0)
    rings: tuple[FloatArray, ...] = tuple(r for s in sections for r in s.rings_xy_lps)
    return CrossSection(
        z_mm=float(np.mean([s.z_mm for s in sections])),
        area_mm2=total,
        centroid_xy_lps=centroid,
        boundary_xy_lps=boundary,
        rings_xy_lps=rings,
    )


#: Default Gaussian smoothing (in pixels) before the 0.5 iso-line of a mask is taken.
BOUNDARY_SMOOTHING_PX = 0.75


def _iso_points(field: FloatArray, level: float) -> FloatArray:
    """Points where ``field`` crosses ``level`` on grid edges (marching-squares vertices).

    Returned as ``(column, row)`` coordinates of ``field``, linearly interpolated.
    """
    out = []
    v0, v1 = field[:, :-1], field[:, 1:]
    sel = (v0 >= level) != (v1 >= level)
    rows, cols = np.nonzero(sel)
    t = (level - v0[sel]) / (v1[sel] - v0[sel])
    out.append(np.column_stack([cols + t, rows]))
    v0, v1 = field[:-1, :], field[1:, :]
    sel = (v0 >= level) != (v1 >= level)
    rows, cols = np.nonzero(sel)
    t = (level - v0[sel]) / (v1[sel] - v0[sel])
    out.append(np.column_stack([cols, rows + t]))
    return np.asarray(np.concatenate(out), dtype=np.float64)


def _boundary_points_ij(mask_ji: npt.NDArray[np.bool_], smoothing_px: float) -> FloatArray:
    """Sub-pixel boundary points of a binary slice, as ``(i, j)`` pixel coordinates.

    The 0.5 iso-line of the mask after Gaussian smoothing (``smoothing_px`` standard
    deviation, in pixels; 0 = none, then the points are the mid-points between inside
    and outside 4-neighbours). Smoothing removes most of the staircase bias of diameters
    measured on binary masks; a mask too small to survive it falls back to no smoothing.
    """
    jj, ii = np.nonzero(mask_ji)
    pad = 4 + int(np.ceil(3 * smoothing_px))
    j0, i0 = int(jj.min()), int(ii.min())
    crop = mask_ji[j0 : int(jj.max()) + 1, i0 : int(ii.max()) + 1]
    field = np.pad(crop.astype(np.float64), pad)
    points = np.zeros((0, 2))
    if smoothing_px > 0:
        smooth = ndimage.gaussian_filter(field, smoothing_px, mode="constant")
        points = _iso_points(smooth, 0.5)
    if points.shape[0] < 3:
        points = _iso_points(field, 0.5)
    return points + np.array([i0 - pad, j0 - pad], dtype=np.float64)


def section_from_mask_slice(
    mask_ji: npt.ArrayLike,
    affine_ijk_to_lps: npt.ArrayLike,
    k: int,
    boundary_smoothing_px: float = BOUNDARY_SMOOTHING_PX,
) -> CrossSection | None:
    """Cross-section of one axial mask slice.

    Parameters
    ----------
    mask_ji : array_like of bool, shape (n_j, n_i)
        Slice ``k`` of a mask indexed ``[k, j, i]``.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index ``(i, j, k)`` to LPS mm of the volume.
    k : int
        Slice index.
    boundary_smoothing_px : float
        Gaussian smoothing (standard deviation in pixels) before the 0.5 iso-line is
        taken as the boundary; 0 gives the plain mid-points between inside and outside
        pixel centres.

    Returns
    -------
    CrossSection or None
        None when the slice is empty. Area = voxels x pixel area; centroid = mean of the
        voxel centres; boundary = the 0.5 iso-line points (see :class:`CrossSection`).
    """
    affine = as_affine(affine_ijk_to_lps)
    m = np.asarray(mask_ji)
    if m.ndim != 2:
        raise GeometryError(f'Argument "mask_ji" must be 2-D, got shape {m.shape}.')
    m = m if m.dtype == np.bool_ else m != 0
    jj, ii = np.nonzero(m)
    if jj.size == 0:
        return None
    pixel_area = abs(float(np.linalg.det(affine[:2, :2])))
    ijk1 = np.column_stack([ii, jj, np.full(ii.size, k), np.ones(ii.size)]).astype(np.float64)
    centres = ijk1 @ affine[:3].T
    smoothing = as_finite_float(boundary_smoothing_px, "boundary_smoothing_px")
    if smoothing < 0:
        raise GeometryError(
            f'Argument "boundary_smoothing_px" must be >= 0, got {value_text(smoothing)}.'
        )
    bij = _boundary_points_ij(m, smoothing)
    b1 = np.column_stack([bij, np.full(bij.shape[0], float(k)), np.ones(bij.shape[0])])
    boundary = (b1 @ affine[:3].T)[:, :2]
    return CrossSection(
        z_mm=float(centres[:, 2].mean()),
        area_mm2=jj.size * pixel_area,
        centroid_xy_lps=centres[:, :2].mean(axis=0),
        boundary_xy_lps=boundary,
    )


def sections_from_mask(
    mask_kji: npt.ArrayLike,
    affine_ijk_to_lps: npt.ArrayLike,
    boundary_smoothing_px: float = BOUNDARY_SMOOTHING_PX,
) -> list[CrossSection]:
    """Cross-sections of an axial mask, one per non-empty slice, sorted by increasing z.

    Parameters
    ----------
    mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        The node's voxels, indexed ``[k, j, i]`` (``k`` along the slice stack).
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index ``(i, j, k)`` to LPS mm. Negative steps (feet-first, flipped rows or
        columns, reversed slice order) and non-square pixels are fine; the in-plane steps
        must lie in the axial plane.
    boundary_smoothing_px : float
        See :func:`section_from_mask_slice`. The default (0.75 px) brings long and short
        axes of rasterised ellipses of 10-30 mm within 0.5 mm of 2a and 2b in about 96 %
        of random placements at 0.6-0.98 mm pixels (p95 error 0.46-0.49 mm), against
        about 60-75 % (p95 0.68-0.77 mm) without smoothing.

    Returns
    -------
    list of CrossSection
        Area = n_voxels x pixel area (mm^2), centroid = mean of voxel centres, boundary =
        sub-pixel points of the 0.5 iso-line (see :func:`section_from_mask_slice`).
    """
    mask = as_bool_volume(mask_kji, "mask_kji")
    affine = as_affine(affine_ijk_to_lps)
    out: list[CrossSection] = []
    for k in np.flatnonzero(mask.any(axis=(1, 2))):
        section = section_from_mask_slice(mask[k], affine, int(k), boundary_smoothing_px)
        if section is not None:
            out.append(section)
    out.sort(key=lambda s: s.z_mm)
    return out
