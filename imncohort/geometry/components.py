"""Split one ROI into nodes: 3-D connected components of masks, and grouping of contours.

One ROI holding several 3-D connected components is that many nodes (CONTRACT 3). The two
rules below are chosen to agree with each other:

- **Masks**: voxels are connected through faces (6-connectivity) by default, i.e. two
  slices of a node are joined where their in-plane areas overlap and pixels on one slice
  are joined through edges (4-neighbours), which is what rasterised, non-touching
  contours give. ``connectivity=26`` also joins through edges and corners.
- **Contours**: separate in-plane blobs on one slice (rings not nested in each other, each
  outer ring with its holes) are separate pieces; pieces on consecutive slices whose
  regions overlap in-plane belong to one node (transitively).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from imncohort.geometry.axes import convex_hull
from imncohort.geometry.polygons import (
    point_in_rings,
    points_on_boundary,
    polygon_area,
    rasterize_rings,
    ring_depths,
    ring_inside_ring,
)
from imncohort.geometry.sections import (
    CrossSection,
    merge_sections,
    section_from_rings,
    sections_from_mask,
)
from imncohort.geometry.validation import (
    GeometryError,
    as_affine,
    as_bool_volume,
    as_finite_float,
    as_points,
)
from imncohort.textfmt import value_text

__all__ = [
    "blob_sections_from_rings",
    "group_sections_into_components",
    "label_components_3d",
    "label_components_in_runs",
    "mask_component_sections",
    "regions_overlap",
    "slab_thicknesses_mm",
    "slice_runs",
    "split_rings_into_blobs",
]

#: Default of ``nodes.max_slice_gap_factor``: neighbouring slices farther apart than this
#: many nominal spacings do not connect (one missing slice, a gap of 2, still connects).
DEFAULT_MAX_SLICE_GAP_FACTOR = 2.5

FloatArray = npt.NDArray[np.float64]


def label_components_3d(
    mask_kji: npt.ArrayLike, connectivity: int = 6
) -> tuple[npt.NDArray[np.int32], int]:
    """Label the 3-D connected components of a mask.

    Parameters
    ----------
    mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        Mask indexed ``[k, j, i]``.
    connectivity : {6, 18, 26}
        6 = face neighbours (default, consistent with the contour grouping rule), 18 =
        faces and edges, 26 = faces, edges and corners.

    Returns
    -------
    (labels, n) : tuple
        ``labels`` int32 array of the mask's shape, 0 = background, 1..n in raster order
        of ``[k, j, i]`` (scipy.ndimage.label); ``n`` the number of components.
    """
    mask = as_bool_volume(mask_kji, "mask_kji")
    rank = {6: 1, 18: 2, 26: 3}.get(connectivity)
    if rank is None:
        raise GeometryError(
            f'Argument "connectivity" must be 6, 18 or 26, got {value_text(connectivity)}.'
        )
    structure = ndimage.generate_binary_structure(3, rank)
    labels, n = ndimage.label(mask, structure=structure, output=np.int32)
    return np.asarray(labels, dtype=np.int32), int(n)


def slice_runs(z_mm: npt.ArrayLike, max_gap_mm: float) -> npt.NDArray[np.int_]:
    """Run number of every slice of a stack: a new run starts after a gap > ``max_gap_mm``.

    Parameters
    ----------
    z_mm : array_like, shape (K,)
        Slice positions in stack order (increasing or decreasing).
    max_gap_mm : float
        Largest distance between neighbouring slices that still connects them.

    Returns
    -------
    numpy.ndarray of int, shape (K,)
        0 for the first run, 1 for the next, ...
    """
    z = np.asarray(z_mm, dtype=np.float64).ravel()
    if z.size == 0:
        return np.zeros(0, dtype=int)
    gap = as_finite_float(max_gap_mm, "max_gap_mm")
    breaks = np.abs(np.diff(z)) > gap
    return np.concatenate([[0], np.cumsum(breaks)]).astype(int)


def slab_thicknesses_mm(
    z_mm: npt.ArrayLike,
    nominal_mm: float,
    max_gap_mm: float,
    edge_gaps_mm: tuple[float, float] = (math.nan, math.nan),
) -> FloatArray:
    """Thickness each slice of a stack stands for, from its real neighbours.

    A slice reaches halfway to each neighbour that is at most ``max_gap_mm`` away; on a
    side without such a neighbour (end of the stack, or a larger gap) it reaches half
    the nominal spacing. Evenly spaced slices therefore all get ``nominal_mm``; the
    total equals the stack's extent plus one nominal spacing.

    Parameters
    ----------
    z_mm : array_like, shape (K,)
        Slice positions in stack order.
    nominal_mm : float
        The series' nominal slice spacing (> 0).
    max_gap_mm : float
        See :func:`slice_runs`.
    edge_gaps_mm : (float, float)
        Distance to the slice before the first and after the last one in a larger stack
        (NaN: none), for sub-stacks.
    """
    z = np.asarray(z_mm, dtype=np.float64).ravel()
    nominal = as_finite_float(nominal_mm, "nominal_mm")
    if nominal <= 0:
        raise GeometryError(f'Argument "nominal_mm" must be > 0, got {value_text(nominal)}.')
    gap = as_finite_float(max_gap_mm, "max_gap_mm")
    gaps = np.concatenate([[edge_gaps_mm[0]], np.abs(np.diff(z)), [edge_gaps_mm[1]]])
    half = np.where(np.isfinite(gaps) & (gaps <= gap), gaps / 2.0, nominal / 2.0)
    return np.asarray(half[:-1] + half[1:], dtype=np.float64)


def label_components_in_runs(
    mask_kji: npt.ArrayLike, runs_k: npt.ArrayLike, connectivity: int = 6
) -> tuple[npt.NDArray[np.int32], int]:
    """:func:`label_components_3d` with no connection between slices of different runs.

    ``runs_k`` (from :func:`slice_runs`) gives the run of every slice ``k``; voxels on
    slices across a run boundary (a slice gap) never join one component.
    """
    mask = as_bool_volume(mask_kji, "mask_kji")
    runs = np.asarray(runs_k, dtype=int).ravel()
    if runs.shape[0] != mask.shape[0]:
        raise GeometryError(
            f'Argument "runs_k" must hold one run per slice ({mask.shape[0]}), got {runs.shape[0]}.'
        )
    if mask.shape[0] == 0 or runs.min() == runs.max():
        return label_components_3d(mask, connectivity)
    labels = np.zeros(mask.shape, dtype=np.int32)
    total = 0
    for run in np.unique(runs):
        sel = np.flatnonzero(runs == run)
        part, n = label_components_3d(mask[sel[0] : sel[-1] + 1], connectivity)
        part[part > 0] += total
        labels[sel[0] : sel[-1] + 1] = part
        total += n
    return labels, total


def _component_order_key(sections: Sequence[CrossSection]) -> tuple[float, float, float]:
    first = min(sections, key=lambda s: s.z_mm)
    return (round(first.z_mm, 6), float(first.centroid_xy_lps[0]), float(first.centroid_xy_lps[1]))


def mask_component_sections(
    mask_kji: npt.ArrayLike, affine_ijk_to_lps: npt.ArrayLike, connectivity: int = 6
) -> list[list[CrossSection]]:
    """Cross-sections of every 3-D connected component of a mask.

    Parameters
    ----------
    mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        One ROI's voxels.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index ``(i, j, k)`` to LPS mm.
    connectivity : {6, 18, 26}
        See :func:`label_components_3d`.

    Returns
    -------
    list of list of CrossSection
        One list per component (sections sorted by z); components ordered by their lowest
        z, then x, then y of the centroid on that slice (same order as
        :func:`group_sections_into_components`).
    """
    affine = as_affine(affine_ijk_to_lps)
    labels, n = label_components_3d(mask_kji, connectivity)
    comps: list[list[CrossSection]] = []
    for index, obj in enumerate(ndimage.find_objects(labels)):
        if obj is None:  # pragma: no cover - labels are consecutive
            continue
        sub = labels[obj]
        value = index + 1
        k0, j0, i0 = (int(s.start) for s in obj)
        shift = np.eye(4)
        shift[:3, 3] = [i0, j0, k0]
        comps.append(sections_from_mask(sub == value, affine @ shift))
    if len(comps) != n:  # pragma: no cover - find_objects returns one slice per label
        raise GeometryError("Internal error: component count mismatch.")
    comps.sort(key=_component_order_key)
    return comps


def split_rings_into_blobs(rings_xy: Sequence[npt.ArrayLike]) -> list[list[FloatArray]]:
    """Split the rings of one slice into separate blobs (outer ring with its holes).

    Parameters
    ----------
    rings_xy : sequence of array_like, each (M, 2)
        Rings on one slice in mm (even-odd rule, not crossing).

    Returns
    -------
    list of list of numpy.ndarray
        One list per blob: its outer ring first, then the holes directly inside it. An
        island inside a hole is a blob of its own. Blobs follow the input order of their
        outer rings.
    """
    rings = [as_points(r, f"rings_xy[{n}]") for n, r in enumerate(rings_xy)]
    rings = [r for r in rings if r.shape[0] > 0]
    depths = ring_depths(rings)
    areas = [polygon_area(r) for r in rings]
    blob_of: dict[int, int] = {}
    blobs: list[list[FloatArray]] = []
    for n, depth in enumerate(depths):
        if depth % 2 == 0:
            blob_of[n] = len(blobs)
            blobs.append([rings[n]])
    for n, depth in enumerate(depths):
        if depth % 2 == 0:
            continue
        # The parent is the smallest outer ring (depth - 1) containing this hole.
        parents = [
            m
            for m, d in enumerate(depths)
            if d == depth - 1 and m != n and ring_inside_ring(rings[n], rings[m])
        ]
        if not parents:  # inconsistent nesting (touching rings): keep it as its own blob
            blobs.append([rings[n]])
            continue
        parent = min(parents, key=lambda m: areas[m])
        blobs[blob_of[parent]].append(rings[n])
    return blobs


def blob_sections_from_rings(
    z_mm: float, rings_xy_lps: Sequence[npt.ArrayLike]
) -> list[CrossSection]:
    """One :class:`CrossSection` per blob of the rings on one slice.

    Parameters
    ----------
    z_mm : float
        z of the slice in LPS mm.
    rings_xy_lps : sequence of array_like, each (M, 2)
        All rings of one ROI on that slice.

    Returns
    -------
    list of CrossSection
        See :func:`split_rings_into_blobs` and :func:`section_from_rings`.
    """
    return [section_from_rings(z_mm, blob) for blob in split_rings_into_blobs(rings_xy_lps)]


def _segments_cross(a: FloatArray, b: FloatArray, lo: FloatArray, hi: FloatArray) -> bool:
    """True when an edge of ring ``a`` properly crosses an edge of ring ``b``.

    Only edges whose bounding boxes meet the window ``[lo, hi]`` are compared.
    """

    def edges(ring: FloatArray) -> tuple[FloatArray, FloatArray]:
        start, end = ring, np.roll(ring, -1, axis=0)
        keep = np.all(np.minimum(start, end) <= hi, axis=1) & np.all(
            np.maximum(start, end) >= lo, axis=1
        )
        return start[keep], (end - start)[keep]

    if a.shape[0] < 2 or b.shape[0] < 2:
        return False
    p, r = edges(a)
    q, s = edges(b)
    if p.shape[0] == 0 or q.shape[0] == 0:
        return False
    rxs = r[:, None, 0] * s[None, :, 1] - r[:, None, 1] * s[None, :, 0]
    qp = q[None, :, :] - p[:, None, :]
    qpxr = qp[..., 0] * r[:, None, 1] - qp[..., 1] * r[:, None, 0]
    qpxs = qp[..., 0] * s[None, :, 1] - qp[..., 1] * s[None, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = qpxs / rxs
        u = qpxr / rxs
    proper = (rxs != 0) & (t > 0) & (t < 1) & (u > 0) & (u < 1)
    return bool(np.any(proper))


def _probes(rings: list[FloatArray]) -> FloatArray:
    """Vertices and edge mid-points of the rings."""
    return np.concatenate([np.concatenate([r, 0.5 * (r + np.roll(r, -1, axis=0))]) for r in rings])


def _probe_strictly_inside(points: FloatArray, rings: list[FloatArray], eps: float) -> bool:
    """True when some point lies inside the even-odd region and not on its boundary."""
    inside = point_in_rings(points, rings)
    candidates = points[inside][:16]
    if candidates.shape[0] == 0:
        return False
    on_edge = np.zeros(candidates.shape[0], dtype=bool)
    for ring in rings:
        on_edge |= points_on_boundary(candidates, ring, eps)
    return bool(np.any(~on_edge))


def regions_overlap(rings_a: Sequence[npt.ArrayLike], rings_b: Sequence[npt.ArrayLike]) -> bool:
    """Whether two even-odd regions overlap with positive area (exact, no rasterising).

    First both regions are rasterised on a 64 x 64 grid over their common bounding box
    (a common pixel centre proves an overlap, and settles identical or collinear
    boundaries); failing that, they overlap when a vertex or edge mid-point of one lies
    strictly inside the other, or an edge of one properly crosses an edge of the other
    (regions whose boundaries do not cross either nest, and then a vertex is inside, or
    are apart). Regions that only touch along a boundary do not overlap.

    Parameters
    ----------
    rings_a, rings_b : sequence of array_like, each (M, 2)
        Rings in mm of the two regions.
    """
    a = [r for r in (as_points(x, "rings_a") for x in rings_a) if r.shape[0] >= 3]
    b = [r for r in (as_points(x, "rings_b") for x in rings_b) if r.shape[0] >= 3]
    if not a or not b:
        return False
    alo = np.min([r.min(axis=0) for r in a], axis=0)
    ahi = np.max([r.max(axis=0) for r in a], axis=0)
    blo = np.min([r.min(axis=0) for r in b], axis=0)
    bhi = np.max([r.max(axis=0) for r in b], axis=0)
    if np.any(ahi <= blo) or np.any(bhi <= alo):
        return False
    lo, hi = np.maximum(alo, blo), np.minimum(ahi, bhi)
    eps = 1e-9 * max(float(np.max(np.maximum(ahi, bhi) - np.minimum(alo, blo))), 1.0)
    # Quick positive: a common pixel centre on a 64 x 64 grid over the common bounding box
    # (offset half a cell; the half-open inclusion rule never puts a centre in two regions
    # that only touch). It also settles identical or collinear boundaries.
    cells = 64
    xc = lo[0] + (hi[0] - lo[0]) * (np.arange(cells) + 0.5) / cells
    yc = lo[1] + (hi[1] - lo[1]) * (np.arange(cells) + 0.5) / cells
    if np.any(rasterize_rings(a, xc, yc) & rasterize_rings(b, xc, yc)):
        return True
    # Exact tests for overlaps thinner than a grid cell.
    if _probe_strictly_inside(_probes(a), b, eps):
        return True
    if _probe_strictly_inside(_probes(b), a, eps):
        return True
    return any(_segments_cross(ra, rb, lo, hi) for ra in a for rb in b)


def _sections_overlap(s: CrossSection, t: CrossSection) -> bool:
    rings_s = s.rings_xy_lps or (_hull_ring(s.boundary_xy_lps),)
    rings_t = t.rings_xy_lps or (_hull_ring(t.boundary_xy_lps),)
    return regions_overlap(rings_s, rings_t)


def _hull_ring(points: FloatArray) -> FloatArray:
    return convex_hull(points)


def group_sections_into_components(
    sections_by_z: Sequence[CrossSection], slice_spacing_mm: float
) -> list[list[CrossSection]]:
    """Group contour cross-sections into nodes (3-D connected components).

    Parameters
    ----------
    sections_by_z : sequence of CrossSection
        One section per blob (see :func:`blob_sections_from_rings`), any order, several
        per z allowed. Sections without rings (from masks) are compared by the convex
        hull of their boundary points.
    slice_spacing_mm : float
        Distance between consecutive slices in mm (> 0). Two sections are on consecutive
        slices when ``0 < |dz| <= 1.5 * slice_spacing_mm``; on the same slice when
        ``|dz| <= 0.01 * slice_spacing_mm``.

    Returns
    -------
    list of list of CrossSection
        One list per node, sorted by z, with the pieces of a node that share a slice
        merged into one section (:func:`~imncohort.geometry.sections.merge_sections`).
        Nodes are ordered by their lowest z, then x, then y of the centroid there.
        Pieces on consecutive slices join when their regions overlap in-plane
        (:func:`regions_overlap`); pieces on one slice join only through other slices.
    """
    spacing = as_finite_float(slice_spacing_mm, "slice_spacing_mm")
    if spacing <= 0:
        raise GeometryError(f'Argument "slice_spacing_mm" must be > 0, got {value_text(spacing)}.')
    secs = list(sections_by_z)
    for n, s in enumerate(secs):
        if not isinstance(s, CrossSection):
            raise GeometryError(
                f'Argument "sections_by_z"[{n}] must be a CrossSection, got {type(s).__name__}.'
            )
    parent = list(range(len(secs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    order = sorted(range(len(secs)), key=lambda n: secs[n].z_mm)
    zs = np.array([secs[n].z_mm for n in order])
    for pos, a in enumerate(order):
        hi = np.searchsorted(zs, zs[pos] + 1.5 * spacing, side="right")
        for b in order[pos + 1 : hi]:
            dz = secs[b].z_mm - secs[a].z_mm
            if dz <= 0.01 * spacing:
                continue  # same slice
            ra, rb = find(a), find(b)
            if ra != rb and _sections_overlap(secs[a], secs[b]):
                parent[rb] = ra
    groups: dict[int, list[CrossSection]] = {}
    for n in order:
        groups.setdefault(find(n), []).append(secs[n])
    comps = [_merge_same_z(g, 0.01 * spacing) for g in groups.values()]
    comps.sort(key=_component_order_key)
    return comps


def _merge_same_z(sections: list[CrossSection], tol: float) -> list[CrossSection]:
    out: list[CrossSection] = []
    run: list[CrossSection] = []
    for s in sorted(sections, key=lambda s: s.z_mm):
        if run and s.z_mm - run[0].z_mm > tol:
            out.append(merge_sections(run))
            run = []
        run.append(s)
    if run:
        out.append(merge_sections(run))
    return out
