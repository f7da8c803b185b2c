"""Voxel masks of demo ROIs on the CT grid (for SEG and NIfTI label maps)."""

from __future__ import annotations

import numpy as np

from imncohort.demo.phantom import Phantom, Roi


def roi_on_slice(roi: Roi, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
    """Boolean mask of one ROI on plane ``z`` for the pixel centres (x, y) in mm."""
    mask = np.zeros(x.shape, dtype=bool)
    for shape in roi.shapes:
        mask |= shape.contains(x, y, z)  # type: ignore[attr-defined]
    return mask


def roi_mask(phantom: Phantom, roi: Roi) -> np.ndarray:
    """Mask of one ROI as a bool array (slices ascending z, rows, columns).

    A POINT or every-other-slice vessel is still a full tube in a voxel mask (those
    variants exist only in RTSTRUCT).
    """
    g = phantom.geometry
    x, y = np.meshgrid(g.x_coords(), g.y_coords())
    return np.stack([roi_on_slice(roi, x, y, z) for z in g.z_positions])
