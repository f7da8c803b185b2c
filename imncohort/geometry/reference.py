"""Reference slice, z extent and volume of a node from its cross-sections."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from imncohort.geometry.sections import CrossSection
from imncohort.geometry.validation import (
    GeometryError,
    as_affine,
    as_bool_volume,
    as_finite_float,
)
from imncohort.textfmt import value_text

__all__ = ["mask_volume_ml", "reference_section", "volume_ml", "volume_ml_slabs", "z_extent"]

#: Relative tolerance under which two areas count as a tie.
AREA_TIE_RTOL = 1e-9


def _check(sections: Sequence[CrossSection]) -> list[CrossSection]:
    secs = list(sections)
    if not secs:
        raise GeometryError('Argument "sections" must hold at least one CrossSection.')
    for n, s in enumerate(secs):
        if not isinstance(s, CrossSection):
            raise GeometryError(
                f'Argument "sections"[{n}] must be a CrossSection, got {type(s).__name__}.'
            )
    return secs


def reference_section(sections: Sequence[CrossSection]) -> CrossSection:
    """The node's reference cross-section: the one with the largest area.

    Parameters
    ----------
    sections : sequence of CrossSection
        One node's sections (one per slice; merge pieces on one slice first).

    Returns
    -------
    CrossSection
        Largest ``area_mm2``. Ties (relative 1e-9) go to the section closest to the
        area-weighted mean z of all sections, then to the lower z.
    """
    secs = _check(sections)
    areas = np.array([s.area_mm2 for s in secs])
    zs = np.array([s.z_mm for s in secs])
    best = float(areas.max())
    tied = np.flatnonzero(areas >= best - AREA_TIE_RTOL * abs(best))
    if tied.size == 1:
        return secs[int(tied[0])]
    z_centre = float((areas * zs).sum() / areas.sum()) if areas.sum() > 0 else float(zs.mean())
    chosen = min(tied.tolist(), key=lambda n: (round(abs(float(zs[n]) - z_centre), 9), zs[n]))
    return secs[int(chosen)]


def z_extent(sections: Sequence[CrossSection]) -> tuple[float, float]:
    """Lowest and highest z (LPS mm) of the slices where the node is present.

    Parameters
    ----------
    sections : sequence of CrossSection
        One node's sections.
    """
    secs = _check(sections)
    zs = [s.z_mm for s in secs]
    return float(min(zs)), float(max(zs))


def volume_ml(sections: Sequence[CrossSection], slice_spacing_mm: float) -> float:
    """Node volume from contour cross-sections, in millilitres.

    Parameters
    ----------
    sections : sequence of CrossSection
        One node's sections, one per slice.
    slice_spacing_mm : float
        Distance between slices in mm (> 0).

    Returns
    -------
    float
        ``sum(area_mm2) * slice_spacing_mm / 1000`` (each contour stands for a slab one
        spacing thick). For masks use :func:`mask_volume_ml`; both give the same value
        for a mask rasterised from the contours.
    """
    secs = _check(sections)
    spacing = as_finite_float(slice_spacing_mm, "slice_spacing_mm")
    if spacing <= 0:
        raise GeometryError(f'Argument "slice_spacing_mm" must be > 0, got {value_text(spacing)}.')
    return float(sum(s.area_mm2 for s in secs) * spacing / 1000.0)


def volume_ml_slabs(sections: Sequence[CrossSection], thicknesses_mm: npt.ArrayLike) -> float:
    """Node volume in millilitres with one slab thickness per section.

    Parameters
    ----------
    sections : sequence of CrossSection
        One node's sections, one per slice.
    thicknesses_mm : array_like, shape (N,)
        The thickness each section stands for (e.g. from
        :func:`imncohort.geometry.components.slab_thicknesses_mm`); NaN when unknown.

    Returns
    -------
    float
        ``sum(area_mm2 * thickness) / 1000``; NaN when a thickness is NaN.
    """
    secs = _check(sections)
    thick = np.asarray(thicknesses_mm, dtype=np.float64).ravel()
    if thick.shape[0] != len(secs):
        raise GeometryError(
            f'Argument "thicknesses_mm" must hold one value per section ({len(secs)}), '
            f"got {thick.shape[0]}."
        )
    if np.any(thick[np.isfinite(thick)] <= 0):
        raise GeometryError('Argument "thicknesses_mm" must be > 0.')
    areas = np.array([s.area_mm2 for s in secs])
    return float((areas * thick).sum() / 1000.0)


def mask_volume_ml(mask_kji: npt.ArrayLike, affine_ijk_to_lps: npt.ArrayLike) -> float:
    """Volume of a mask in millilitres: ``n_voxels * |det(affine[:3, :3])| / 1000``.

    Parameters
    ----------
    mask_kji : array_like of bool, shape (n_k, n_j, n_i)
        The node's voxels.
    affine_ijk_to_lps : array_like, shape (4, 4)
        Voxel index to LPS mm; its 3 x 3 part gives the voxel volume in mm^3.
    """
    mask = as_bool_volume(mask_kji, "mask_kji")
    affine = as_affine(affine_ijk_to_lps)
    voxel_mm3 = abs(float(np.linalg.det(affine[:3, :3])))
    return float(np.count_nonzero(mask) * voxel_mm3 / 1000.0)
