"""Share of a node's volume inside a planned IMN CTV (e.g. TG-263 ``LN_IMN_L``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from imncohort.geometry.polygons import grid_around_rings, rasterize_rings, rasterize_rings_on_slice
from imncohort.geometry.sections import CrossSection
from imncohort.geometry.validation import (
    GeometryError,
    as_affine,
    as_bool_volume,
    as_finite_float,
)
from imncohort.textfmt import value_text

__all__ = ["ctv_coverage", "ctv_coverage_sections", "mask_from_sections"]


def ctv_coverage(node_mask_kji: npt.ArrayLike, ctv_mask_kji: npt.ArrayLike) -> float:
    """Share of node voxels inside the CTV (both masks on the same voxel grid).

    Parameters
    ----------
    node_mask_kji, ctv_mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        Node and CTV masks on one grid.

    Returns
    -------
    float
        ``|node & ctv| / |node|`` in [0, 1].

    Raises
    ------
    GeometryError
        If the shapes differ or the node mask is empty.
    """
    node = as_bool_volume(node_mask_kji, "node_mask_kji")
    ctv = as_bool_volume(ctv_mask_kji, "ctv_mask_kji")
    if node.shape != ctv.shape:
        raise GeometryError(
            f'Arguments "node_mask_kji" {node.shape} and "ctv_mask_kji" {ctv.shape} must '
            "have the same shape (resample the CTV onto the node's grid first)."
        )
    n = int(np.count_nonzero(node))
    if n == 0:
        raise GeometryError('Argument "node_mask_kji" is empty; no coverage can be computed.')
    return float(np.count_nonzero(node & ctv)) / n


def ctv_coverage_sections(
    node_sections: Sequence[CrossSection],
    ctv_sections: Sequence[CrossSection],
    step_mm: float = 0.1,
    z_tolerance_mm: float = 0.1,
) -> float:
    """Share of a contoured node's volume inside a contoured CTV.

    Each node slice is rasterised together with the CTV rings of the same z on a fine
    in-plane grid (``step_mm``); node slices without CTV contours count as uncovered.
    Slices are weighted by their node area (equal slice spacing assumed).

    Parameters
    ----------
    node_sections, ctv_sections : sequence of CrossSection
        Sections built from contours (with ``rings_xy_lps``), LPS mm.
    step_mm : float
        In-plane grid step in mm (> 0); the error is of the order of
        ``step_mm / node diameter``.
    z_tolerance_mm : float
        A CTV section belongs to a node slice when their z differ by at most this.

    Returns
    -------
    float
        Covered share in [0, 1].
    """
    step = as_finite_float(step_mm, "step_mm")
    tol = as_finite_float(z_tolerance_mm, "z_tolerance_mm")
    if step <= 0:
        raise GeometryError(f'Argument "step_mm" must be > 0, got {value_text(step)}.')
    for arg, secs in (("node_sections", node_sections), ("ctv_sections", ctv_sections)):
        for n, s in enumerate(secs):
            if not isinstance(s, CrossSection) or not s.rings_xy_lps:
                raise GeometryError(
                    f'Argument "{arg}"[{n}] must be a CrossSection built from contours '
                    "(use ctv_coverage with masks otherwise)."
                )
    ctv_z = np.array([s.z_mm for s in ctv_sections], dtype=np.float64)
    inside = 0
    total = 0
    for sec in node_sections:
        xc, yc = grid_around_rings(sec.rings_xy_lps, step)
        node_px = rasterize_rings(sec.rings_xy_lps, xc, yc)
        total += int(np.count_nonzero(node_px))
        idx = np.flatnonzero(np.abs(ctv_z - sec.z_mm) <= tol).tolist()
        rings = [r for i in idx for r in ctv_sections[i].rings_xy_lps]
        if rings:
            inside += int(np.count_nonzero(node_px & rasterize_rings(rings, xc, yc)))
    if total == 0:
        raise GeometryError(
            f'Argument "node_sections" covers no pixel of a {step} mm grid; use a smaller step_mm.'
        )
    return inside / total


def mask_from_sections(
    sections: Sequence[CrossSection],
    affine_ijk_to_lps: npt.ArrayLike,
    shape_kji: tuple[int, int, int],
    z_tolerance_mm: float | None = None,
) -> npt.NDArray[np.bool_]:
    """Rasterise contour sections onto a voxel grid (pixel centres inside, even-odd).

    For a CTV drawn as contours against a node given as a mask on the same series.

    Parameters
    ----------
    sections : sequence of CrossSection
        Contour sections (with rings), LPS mm.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index to LPS mm of an axial volume.
    shape_kji : (int, int, int)
        Shape of the mask.
    z_tolerance_mm : float, optional
        Largest distance between a section's z and the slice it is put on; default half
        the slice spacing. Sections off every slice are left out.

    Returns
    -------
    numpy.ndarray of bool, shape ``shape_kji``
    """
    affine = as_affine(affine_ijk_to_lps)
    if len(shape_kji) != 3:
        raise GeometryError(
            f'Argument "shape_kji" must have 3 entries, got {value_text(shape_kji)}.'
        )
    out = np.zeros(tuple(int(v) for v in shape_kji), dtype=np.bool_)
    dz = float(affine[2, 2])
    tol = abs(dz) / 2 if z_tolerance_mm is None else as_finite_float(z_tolerance_mm, "tol")
    by_k: dict[int, list[npt.NDArray[np.float64]]] = {}
    for n, s in enumerate(sections):
        if not isinstance(s, CrossSection) or not s.rings_xy_lps:
            raise GeometryError(
                f'Argument "sections"[{n}] must be a CrossSection built from contours.'
            )
        k = int(np.rint((s.z_mm - affine[2, 3]) / dz))
        if 0 <= k < out.shape[0] and abs(affine[2, 3] + dz * k - s.z_mm) <= tol:
            by_k.setdefault(k, []).extend(s.rings_xy_lps)
    for k, rings in by_k.items():
        out[k] = rasterize_rings_on_slice(rings, affine, (out.shape[1], out.shape[2]), k)
    return out
