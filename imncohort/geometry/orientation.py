"""Slice orientation: the one parser of ImageOrientationPatient and the one "axial" rule.

A slice is axial when both in-plane directions (row and column direction cosines, unit
vectors in patient LPS) have a z component of at most :data:`AXIAL_TOLERANCE`. That is
``sin`` of the largest tilt accepted: 1e-3 accepts the rounding noise of real headers
(cosines written with 6 decimals, about 0.0001 degrees) and refuses any scanner tilt
(0.057 degrees and more; a 1-degree gantry tilt has a z component of 0.0175). Series,
SEG and NIfTI readers and the voxel geometry all apply this rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

AXIAL_TOLERANCE = 1e-3
"""Largest z component of a unit in-plane direction on an axial slice (sin of the tilt)."""


def parse_iop(text: str) -> npt.NDArray[np.float64] | None:
    """Parse an ImageOrientationPatient string ``"r1\\\\r2\\\\r3\\\\c1\\\\c2\\\\c3"``.

    Parameters
    ----------
    text
        Six backslash-separated numbers (a doubled backslash is read as one).

    Returns
    -------
    numpy.ndarray or None
        The 6 direction cosines (row direction, then column direction, LPS), or None
        when ``text`` is empty, does not hold 6 finite numbers, or either direction is
        all zero (no orientation).
    """
    if not text:
        return None
    parts = str(text).replace("\\\\", "\\").split("\\")
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        return None
    if values.shape != (6,) or not np.all(np.isfinite(values)):
        return None
    return values if np.any(values[:3]) and np.any(values[3:]) else None


def in_plane_is_axial(direction_lps: npt.ArrayLike) -> bool:
    """Whether one in-plane direction lies in the axial plane (any length, not zero).

    Parameters
    ----------
    direction_lps
        A 3-vector in LPS (a unit cosine or a voxel step in mm).
    """
    vector = np.asarray(direction_lps, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    return norm > 0.0 and abs(float(vector[2])) <= AXIAL_TOLERANCE * norm


def is_axial(iop: npt.ArrayLike) -> bool:
    """Whether an orientation (6 direction cosines, LPS) is axial (:data:`AXIAL_TOLERANCE`).

    Raises
    ------
    ValueError
        When ``iop`` does not hold 6 numbers.
    """
    values = np.asarray(iop, dtype=np.float64)
    if values.shape != (6,):
        raise ValueError(f'Argument "iop" must hold 6 numbers, got shape {values.shape}.')
    return in_plane_is_axial(values[:3]) and in_plane_is_axial(values[3:])
