"""Argument checks shared by the geometry modules.

Every check raises :class:`GeometryError` with a message that names the argument, shows
the bad value and says what was expected.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from imncohort.errors import ImnCohortError
from imncohort.geometry.orientation import in_plane_is_axial
from imncohort.textfmt import value_text

__all__ = [
    "GeometryError",
    "as_affine",
    "as_bool_volume",
    "as_finite_float",
    "as_points",
    "as_vector",
]


class GeometryError(ImnCohortError, ValueError):
    """A geometry function was called with an argument of the wrong shape or value.

    Also a :class:`ValueError`, so callers may catch either.
    """


def as_finite_float(value: object, name: str) -> float:
    """Return ``value`` as a finite float or raise naming ``name``."""
    try:
        out = float(value)  # type: ignore[arg-type]  # float() raises on the rest
    except (TypeError, ValueError):
        raise GeometryError(
            f'Argument "{name}" must be a number, got {value_text(value)}.'
        ) from None
    if not math.isfinite(out):
        raise GeometryError(f'Argument "{name}" must be finite, got {value_text(out)}.')
    return out


def as_points(
    value: npt.ArrayLike, name: str, ndim: int = 2, min_rows: int = 0
) -> npt.NDArray[np.float64]:
    """Return ``value`` as a finite float array of shape ``(M, ndim)``.

    Parameters
    ----------
    value
        Array-like of points.
    name
        Argument name used in the error message.
    ndim
        Number of columns (2 for ``(x, y)``, 3 for ``(x, y, z)``).
    min_rows
        Smallest accepted number of points.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GeometryError(
            f'Argument "{name}" must be an array of numbers with shape (M, {ndim}).'
        ) from None
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, ndim)
    if arr.ndim != 2 or arr.shape[1] != ndim:
        raise GeometryError(
            f'Argument "{name}" must have shape (M, {ndim}), got shape {arr.shape}.'
        )
    if arr.shape[0] < min_rows:
        raise GeometryError(
            f'Argument "{name}" must hold at least {min_rows} point(s), got {arr.shape[0]}.'
        )
    if not np.all(np.isfinite(arr)):
        raise GeometryError(f'Argument "{name}" must hold finite coordinates (found NaN or inf).')
    return arr


def as_vector(value: npt.ArrayLike, name: str, length: int) -> npt.NDArray[np.float64]:
    """Return ``value`` as a finite float vector of the given length."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GeometryError(
            f'Argument "{name}" must be {length} numbers, got {value_text(value)}.'
        ) from None
    if arr.shape != (length,):
        raise GeometryError(
            f'Argument "{name}" must have shape ({length},), got shape {arr.shape}.'
        )
    if not np.all(np.isfinite(arr)):
        raise GeometryError(f'Argument "{name}" must be finite, got {arr.tolist()}.')
    return arr


def as_bool_volume(value: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    """Return ``value`` as a 3-D boolean array indexed ``[k, j, i]``."""
    arr = np.asarray(value)
    if arr.ndim != 3:
        raise GeometryError(
            f'Argument "{name}" must be a 3-D array indexed [k, j, i], got shape {arr.shape}.'
        )
    if arr.dtype != np.bool_:
        arr = arr != 0
    return arr


def as_affine(value: npt.ArrayLike, name: str = "affine_ijk_to_lps") -> npt.NDArray[np.float64]:
    """Return a 4 x 4 voxel-index-to-LPS affine of an axial volume.

    The in-plane columns (``i`` and ``j`` steps) must lie in the axial plane (z component
    within :data:`~imncohort.geometry.orientation.AXIAL_TOLERANCE`) and the slice step
    must move along z; anything else is an oblique volume
    that the readers are expected to reject before geometry is called.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GeometryError(f'Argument "{name}" must be a 4 x 4 array of numbers.') from None
    if arr.shape != (4, 4):
        raise GeometryError(f'Argument "{name}" must have shape (4, 4), got shape {arr.shape}.')
    if not np.all(np.isfinite(arr)):
        raise GeometryError(f'Argument "{name}" must be finite.')
    if not np.allclose(arr[3], [0.0, 0.0, 0.0, 1.0]):
        raise GeometryError(f'Argument "{name}" must have last row [0, 0, 0, 1], got {arr[3]}.')
    col_i, col_j, col_k = arr[:3, 0], arr[:3, 1], arr[:3, 2]
    for label, col in (("i", col_i), ("j", col_j)):
        if not in_plane_is_axial(col):
            raise GeometryError(
                f'Argument "{name}": the {label} step {col.tolist()} must lie in the axial '
                "plane (z component 0); oblique volumes are not supported, resample or skip."
            )
    in_plane = arr[:2, :2]
    if abs(float(np.linalg.det(in_plane))) == 0.0:
        raise GeometryError(f'Argument "{name}": the in-plane steps are collinear.')
    if abs(col_k[2]) <= 1e-4 * max(float(np.linalg.norm(col_k)), 1e-12):
        raise GeometryError(
            f'Argument "{name}": the slice step {col_k.tolist()} must move along z '
            "(axial volume expected)."
        )
    return arr
