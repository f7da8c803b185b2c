"""Turn ROIs (contours or masks) into cross-sections, components and point sets.

Contours: one section per blob per slice, grouped into 3-D components by
:func:`imncohort.geometry.components.group_sections_into_components`.
Masks: 3-D connected components (6-connectivity) by
:func:`imncohort.geometry.components.label_components_3d`, one section per
slice with that slice's own position (irregular slice spacing is fine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imncohort.annotations.models import ContourRoi, Roi, SliceGrid
from imncohort.geometry.components import (
    DEFAULT_MAX_SLICE_GAP_FACTOR,
    blob_sections_from_rings,
    group_sections_into_components,
    label_components_in_runs,
)
from imncohort.geometry.polygons import point_in_rings
from imncohort.geometry.sections import CrossSection, section_from_mask_slice, section_from_rings


def component_order_key(sections: list[CrossSection]) -> tuple[float, float]:
    """Order of the components of one ROI (``component`` 1, 2, ...): head to feet.

    Superior first by the node's area-weighted centroid z, then by centroid x
    (patient right first). This is the order of the demo's ground truth; note
    that the geometry package lists components by their lowest z instead.
    """
    areas = np.array([s.area_mm2 for s in sections])
    weights = areas if areas.sum() > 0 else np.ones_like(areas)
    z = float((weights * np.array([s.z_mm for s in sections])).sum() / weights.sum())
    x = float((weights * np.array([s.centroid_xy_lps[0] for s in sections])).sum() / weights.sum())
    return (-round(z, 3), round(x, 3))


def mask_sections(
    mask_kji: np.ndarray, grid: SliceGrid, offset_ji: tuple[int, int] = (0, 0)
) -> list[CrossSection]:
    """One section per non-empty slice of ``mask_kji`` (slice ``k`` of ``grid``), sorted by z.

    ``offset_ji`` is the (row, column) of ``mask_kji[:, 0, 0]`` in the grid.
    """
    j0, i0 = offset_ji
    shift = np.eye(4)
    shift[:3, 3] = [i0, j0, 0]
    out: list[CrossSection] = []
    for k in np.flatnonzero(mask_kji.any(axis=(1, 2))):
        section = section_from_mask_slice(mask_kji[k], grid.slice_affine(int(k)) @ shift, 0)
        if section is not None:
            out.append(section)
    out.sort(key=lambda s: s.z_mm)
    return out


@dataclass(frozen=True, eq=False)
class Component:
    """One node: its z-sorted cross-sections and, for masks, its voxels.

    ``mask_kji`` is the component's mask on ``grid`` restricted to the rows
    and columns starting at ``offset_ji`` (all slices kept); None for contours.
    """

    sections: list[CrossSection]
    mask_kji: np.ndarray | None = None
    grid: SliceGrid | None = None
    offset_ji: tuple[int, int] = (0, 0)

    def sample_points_lps(self, ct_grid: SliceGrid) -> np.ndarray:
        """(N, 3) LPS points sampling the node volume evenly (voxel centres).

        Masks give their voxel centres; contours are rasterised (even-odd) on
        the CT pixel centres of each of their slices.
        """
        if self.mask_kji is not None and self.grid is not None:
            pts = mask_points_lps(self.mask_kji, self.grid, self.offset_ji)
            return pts
        return contour_sample_points(self.sections, ct_grid)


def roi_components(
    roi: Roi, ct_grid: SliceGrid, max_gap_factor: float = DEFAULT_MAX_SLICE_GAP_FACTOR
) -> list[Component]:
    """Split one ROI into its 3-D connected components (see :func:`component_order_key`).

    Parameters
    ----------
    roi
        A contour ROI (slice indices of ``ct_grid``) or a mask ROI (own grid).
    ct_grid
        The referenced series' grid (gives the z of contour slices).
    max_gap_factor
        Mask voxels on neighbouring slices farther apart than this many nominal slice
        spacings are not connected (``nodes.max_slice_gap_factor``).
    """
    if isinstance(roi, ContourRoi):
        sections: list[CrossSection] = []
        for k, rings in roi.rings_by_slice.items():
            sections.extend(blob_sections_from_rings(float(ct_grid.z_mm[k]), rings))
        if not sections:
            return []
        groups = group_sections_into_components(sections, ct_grid.slice_spacing_mm)
        return sorted(
            (Component(list(g)) for g in groups), key=lambda c: component_order_key(c.sections)
        )
    labels, _ = label_components_in_runs(roi.mask_kji, roi.grid.slice_runs(max_gap_factor))
    comps: list[Component] = []
    for index, obj in enumerate(ndimage.find_objects(labels)):
        if obj is None:
            continue
        j0, i0 = int(obj[1].start), int(obj[2].start)
        sub = np.zeros((roi.grid.n_slices, *labels[obj].shape[1:]), dtype=bool)
        sub[obj[0]] = labels[obj] == index + 1
        sections = mask_sections(sub, roi.grid, (j0, i0))
        if sections:
            comps.append(Component(sections, sub, roi.grid, (j0, i0)))
    comps.sort(key=lambda c: component_order_key(c.sections))
    return comps


def section_thicknesses_mm(
    sections: list[CrossSection], grid: SliceGrid, max_gap_factor: float
) -> np.ndarray:
    """(N,) slab thickness (mm) of every section: that of the ``grid`` slice at its z
    (:meth:`SliceGrid.slab_thicknesses_mm`); NaN when the grid states no spacing."""
    slabs = grid.slab_thicknesses_mm(max_gap_factor)
    if not sections:
        return np.zeros(0)
    z = np.array([s.z_mm for s in sections])
    k = np.argmin(np.abs(grid.z_mm[None, :] - z[:, None]), axis=1)
    return np.asarray(slabs[k], dtype=float)


def mask_axis_floor_mm(comp: Component, section: CrossSection) -> tuple[float, float]:
    """Smallest long and short axis (mm) the voxels of ``section`` allow.

    Long: the largest distance between two voxel centres of the slice; short: one pixel
    (a mask is at least one voxel wide). ``(0, 0)`` for contour components.
    """
    if comp.mask_kji is None or comp.grid is None:
        return 0.0, 0.0
    grid = comp.grid
    k = int(np.argmin(np.abs(grid.z_mm - section.z_mm)))
    jj, ii = np.nonzero(comp.mask_kji[k])
    if jj.size == 0:
        return 0.0, 0.0
    xy = grid.pixel_to_xy_lps(k, ii + comp.offset_ji[1], jj + comp.offset_ji[0])
    from imncohort.geometry.axes import convex_hull

    hull = convex_hull(xy)
    diff = hull[:, None, :] - hull[None, :, :]
    long_floor = float(np.sqrt(np.max(np.einsum("abk,abk->ab", diff, diff))))
    return long_floor, float(min(grid.spacing_row_mm, grid.spacing_col_mm))


def roi_slice_centres(roi: Roi, ct_grid: SliceGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice centroids of a ROI (for the IMV): ``(zs (N,), xy (N, 2))`` in LPS mm.

    Contours give the even-odd centroid of all rings on a slice; POINT marks
    give the point; masks give the centroid of each slice's voxels.
    """
    zs: list[float] = []
    xys: list[np.ndarray] = []
    if isinstance(roi, ContourRoi):
        for k, rings in roi.rings_by_slice.items():
            section = section_from_rings(float(ct_grid.z_mm[k]), rings)
            zs.append(section.z_mm)
            xys.append(section.centroid_xy_lps)
        for point in roi.points_lps:
            zs.append(float(point[2]))
            xys.append(point[:2])
    else:
        return mask_slice_centroids(roi.mask_kji, roi.grid)
    if not zs:
        return np.zeros(0), np.zeros((0, 2))
    return np.asarray(zs, dtype=float), np.asarray(xys, dtype=float).reshape(-1, 2)


def mask_slice_centroids(mask_kji: np.ndarray, grid: SliceGrid) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice voxel-centre centroids of a mask: ``(zs (N,), xy (N, 2))`` in LPS mm.

    The same values as the centroids of
    :func:`imncohort.geometry.sections.section_from_mask_slice`, without the
    boundary points (vessels need only the centre).
    """
    kk, jj, ii = np.nonzero(mask_kji)
    if kk.size == 0:
        return np.zeros(0), np.zeros((0, 2))
    counts = np.bincount(kk, minlength=grid.n_slices)
    present = np.flatnonzero(counts)
    mean_i = np.bincount(kk, weights=ii, minlength=grid.n_slices)[present] / counts[present]
    mean_j = np.bincount(kk, weights=jj, minlength=grid.n_slices)[present] / counts[present]
    xy = np.stack(
        [
            grid.pixel_to_xy_lps(int(k), np.array([i]), np.array([j]))[0]
            for k, i, j in zip(present, mean_i, mean_j, strict=True)
        ]
    )
    return grid.z_mm[present].astype(float), xy


def roi_points_lps(roi: Roi, ct_grid: SliceGrid) -> np.ndarray:
    """(N, 3) LPS points of a ROI: contour vertices and POINT marks, or voxel centres."""
    if isinstance(roi, ContourRoi):
        parts = [
            np.column_stack([ring, np.full(len(ring), ct_grid.z_mm[k])])
            for k, rings in roi.rings_by_slice.items()
            for ring in rings
        ]
        if len(roi.points_lps):
            parts.append(roi.points_lps)
        return np.concatenate(parts) if parts else np.zeros((0, 3))
    return mask_points_lps(roi.mask_kji, roi.grid)


def mask_points_lps(
    mask_kji: np.ndarray, grid: SliceGrid, offset_ji: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """(N, 3) LPS voxel centres of a mask on ``grid`` (``offset_ji`` = its first row, column)."""
    kk, jj, ii = np.nonzero(mask_kji)
    if kk.size == 0:
        return np.zeros((0, 3))
    jj = jj + offset_ji[0]
    ii = ii + offset_ji[1]
    pts = (
        grid.origins_lps[kk]
        + ii[:, None] * grid.row_dir_lps[None, :] * grid.spacing_col_mm
        + jj[:, None] * grid.col_dir_lps[None, :] * grid.spacing_row_mm
    )
    return np.asarray(pts, dtype=float)


def contour_sample_points(sections: list[CrossSection], ct_grid: SliceGrid) -> np.ndarray:
    """(N, 3) CT pixel centres inside contour sections (even-odd), slice by slice."""
    out: list[np.ndarray] = []
    for section in sections:
        if not section.rings_xy_lps:
            continue
        k = int(np.argmin(np.abs(ct_grid.z_mm - section.z_mm)))
        lo = section.boundary_xy_lps.min(axis=0)
        hi = section.boundary_xy_lps.max(axis=0)
        box = np.array([[lo[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [hi[0], lo[1]]])
        corners = ct_grid.xy_lps_to_pixel(k, box)
        i0, j0 = np.floor(corners.min(axis=0)).astype(int) - 1
        i1, j1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
        xy = ct_grid.pixel_to_xy_lps(k, ii.ravel(), jj.ravel())
        pts = xy[point_in_rings(xy, list(section.rings_xy_lps))]
        out.append(np.column_stack([pts, np.full(len(pts), section.z_mm)]))
    return np.concatenate(out) if out else np.zeros((0, 3))


def inside_roi(points_lps: np.ndarray, roi: Roi, ct_grid: SliceGrid) -> np.ndarray:
    """(N,) bool: which LPS points lie inside ``roi`` (even-odd contours or mask voxels).

    A point is tested on the ROI slice at its z (within a quarter slice spacing).
    """
    pts = np.asarray(points_lps, dtype=float).reshape(-1, 3)
    result = np.zeros(len(pts), dtype=bool)
    if isinstance(roi, ContourRoi):
        tol = max(0.05, 0.25 * ct_grid.slice_spacing_mm)
        for k, rings in roi.rings_by_slice.items():
            on = np.abs(pts[:, 2] - ct_grid.z_mm[k]) <= tol
            if on.any():
                result[on] |= point_in_rings(pts[on, :2], rings)
        return result
    grid = roi.grid
    tol = max(0.05, 0.5 * grid.slice_spacing_mm)
    dz = np.abs(pts[:, 2][:, None] - grid.z_mm[None, :])
    kk = np.argmin(dz, axis=1)
    ok = dz[np.arange(len(pts)), kk] <= tol
    for k in np.unique(kk[ok]):
        sel = np.flatnonzero(ok & (kk == k))
        ij = np.rint(grid.xy_lps_to_pixel(int(k), pts[sel, :2])).astype(int)
        valid = (
            (ij[:, 0] >= 0) & (ij[:, 0] < grid.columns) & (ij[:, 1] >= 0) & (ij[:, 1] < grid.rows)
        )
        hit = np.zeros(len(sel), dtype=bool)
        hit[valid] = roi.mask_kji[int(k), ij[valid, 1], ij[valid, 0]]
        result[sel] = hit
    return result
