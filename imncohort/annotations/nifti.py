"""Read a NIfTI label map (``X.nii`` / ``X.nii.gz`` + sidecar ``X.json``) into LPS masks.

The sidecar is ``{"SeriesInstanceUID": "1.2...", "labels": {"1": "IMN1_L"}}``;
without ``labels`` the TotalSegmentator ``total`` ids of
:mod:`imncohort.annotations.totalsegmentator` apply. NIfTI affines are RAS:
this module is the only place where they are flipped to LPS
(``affine_lps = diag(-1, -1, 1, 1) @ affine_ras``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from scipy import ndimage

from imncohort.annotations.models import MaskRoi, RoiSet, SliceGrid, cropped_mask_roi
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.rtstruct import SeriesResolver
from imncohort.annotations.sidecar import (  # noqa: F401  (re-exported: the old home)
    nifti_stem,
    read_sidecar,
    sidecar_path,
)
from imncohort.annotations.totalsegmentator import TOTAL_IDS
from imncohort.errors import InputError
from imncohort.geometry.orientation import AXIAL_TOLERANCE, in_plane_is_axial
from imncohort.outputs import ErrorRecord

logger = logging.getLogger(__name__)

STAGE = "measure"
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def label_names(sidecar: Mapping[str, Any]) -> dict[int, str]:
    """Label id -> name from the sidecar, else TotalSegmentator ``total`` ids."""
    labels = sidecar.get("labels")
    if not labels:
        return dict(TOTAL_IDS)
    if not isinstance(labels, Mapping):
        raise InputError("NIfTI sidecar 'labels' must map label ids to names")
    return {int(k): str(v) for k, v in labels.items()}


def grid_from_affine_ras(
    affine_ras: np.ndarray, shape_ijk: tuple[int, int, int]
) -> tuple[SliceGrid, tuple[int, int, int]]:
    """Slice grid of a NIfTI volume and the axis order (i, j, k) that makes k axial.

    Parameters
    ----------
    affine_ras
        4x4 voxel (i, j, k) to RAS mm affine.
    shape_ijk
        Array shape.

    Returns
    -------
    grid, axes
        ``axes`` permutes the array axes so that the third is along z.
    """
    affine_lps = RAS_TO_LPS @ np.asarray(affine_ras, dtype=float)
    cols = affine_lps[:3, :3]
    norms = np.linalg.norm(cols, axis=0)
    if np.any(norms <= 0):
        raise InputError("NIfTI affine has a zero-length axis")
    units = cols / norms
    k_axis = int(np.argmax(np.abs(units[2])))
    i_axis, j_axis = [a for a in range(3) if a != k_axis]
    if not (in_plane_is_axial(units[:, i_axis]) and in_plane_is_axial(units[:, j_axis])):
        raise InputError(
            "NIfTI volume is oblique (in-plane axes tilted by more than "
            f"{math.degrees(math.asin(AXIAL_TOLERANCE)):.2f} degrees); skipped"
        )
    n_k = shape_ijk[k_axis]
    origins = affine_lps[:3, 3][None, :] + np.arange(n_k)[:, None] * cols[:, k_axis][None, :]
    grid = SliceGrid(
        origins_lps=origins,
        row_dir_lps=units[:, i_axis],
        col_dir_lps=units[:, j_axis],
        spacing_row_mm=float(norms[j_axis]),
        spacing_col_mm=float(norms[i_axis]),
        rows=int(shape_ijk[j_axis]),
        columns=int(shape_ijk[i_axis]),
        slice_step_mm=float(norms[k_axis]),
    )
    return grid, (i_axis, j_axis, k_axis)


def _bounds(box: tuple[slice, ...]) -> tuple[int, int, int, int, int, int]:
    k, j, i = box
    return (int(k.start), int(k.stop), int(j.start), int(j.stop), int(i.start), int(i.stop))


def _full(box: tuple[slice, ...]) -> tuple[slice, ...]:
    return tuple(slice(0, int(s.stop) - int(s.start)) for s in box)


def read_nifti(
    path: Path,
    rel_path: str,
    sidecar: Mapping[str, Any],
    resolve: SeriesResolver,
    matcher: NameMatcher,
) -> RoiSet:
    """Read the wanted labels of a NIfTI label map.

    Parameters
    ----------
    path, rel_path
        The file on disk and its path relative to the export.
    sidecar
        The parsed sidecar (see :func:`read_sidecar`).
    resolve
        Maps ([SeriesInstanceUID], "") to the series' key and grid, or None.
    matcher
        ROI name matcher; labels of class ``other`` are skipped.

    Returns
    -------
    RoiSet
        One :class:`MaskRoi` per wanted label present in the volume, on the
        NIfTI's own grid (in LPS).
    """
    series_uid = str(sidecar.get("SeriesInstanceUID", ""))
    resolved = resolve([series_uid], "")
    if resolved is None:
        raise InputError(
            f"NIfTI sidecar names series {series_uid}, which is not an axial image series "
            "in the export"
        )
    series_key, _ = resolved
    names = {k: v for k, v in label_names(sidecar).items() if matcher.wanted(v)}
    try:
        img: Any = nib.load(str(path))
        data = np.asarray(img.dataobj)
    except Exception as exc:
        raise InputError(f"cannot read NIfTI: {exc}") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(f"NIfTI label map must be 3-D, got shape {data.shape}")
    grid, axes = grid_from_affine_ras(img.affine, data.shape)
    if not np.issubdtype(data.dtype, np.integer):
        data = np.rint(data)
    labels_kji = np.transpose(data.astype(np.int32, copy=False), (axes[2], axes[1], axes[0]))
    labels_kji[labels_kji < 0] = 0
    boxes = ndimage.find_objects(labels_kji)  # one pass: bounding box of every label
    rois: list[MaskRoi] = []
    absent: list[str] = []
    for label, name in sorted(names.items()):
        if label < 1 or label > len(boxes) or boxes[label - 1] is None:
            absent.append(f"{label} ('{name}')")
            continue
        box = boxes[label - 1]
        roi = cropped_mask_roi(name, labels_kji[box] == label, grid.crop(*_bounds(box)), _full(box))
        if roi is not None:
            rois.append(roi)
    logger.debug("NIfTI: %d labels on series %s", len(rois), series_key)
    errors: list[ErrorRecord] = []
    if absent and sidecar.get("labels"):  # TotalSegmentator's default ids are not all present
        errors.append(
            ErrorRecord(
                rel_path,
                STAGE,
                f"sidecar label(s) {', '.join(absent)} match no voxel of the label map; "
                "nothing to measure for them",
            )
        )
    return RoiSet(rel_path, "nifti", series_key, grid, list(rois), errors)
