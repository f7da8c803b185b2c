"""Signed offsets, extents and growth quadrant of a node relative to the IMV centre.

On the node's reference slice, with ``s = +1`` for a left node and ``-1`` for a right one:
``ml = (x - imv_x) * s`` (+ lateral, - medial) and ``dv = y - imv_y`` (+ dorsal,
- ventral), LPS mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from imncohort.geometry.sections import CrossSection
from imncohort.geometry.validation import GeometryError, as_vector

__all__ = ["QUADRANTS", "NodeOffsets", "node_offsets", "side_sign"]

#: The four growth quadrants, in the order tables list them.
QUADRANTS: tuple[str, ...] = (
    "medial_ventral",
    "medial_dorsal",
    "lateral_ventral",
    "lateral_dorsal",
)


@dataclass(frozen=True)
class NodeOffsets:
    """Position of a node relative to the ipsilateral IMV centre (mm).

    Attributes
    ----------
    center_ml_mm : float
        Centroid offset medial(-)/lateral(+).
    center_dv_mm : float
        Centroid offset ventral(-)/dorsal(+).
    extent_medial_mm, extent_lateral_mm, extent_ventral_mm, extent_dorsal_mm : float
        How far the boundary reaches past the IMV centre on that side of that axis
        (>= 0; 0 where it does not reach that side).
    quadrant : str
        One of :data:`QUADRANTS`: the quadrant of the boundary point farthest from the
        IMV centre (a point exactly on an axis counts as lateral / dorsal).
    towards_sternum : bool
        The quadrant is medial.
    """

    center_ml_mm: float
    center_dv_mm: float
    extent_medial_mm: float
    extent_lateral_mm: float
    extent_ventral_mm: float
    extent_dorsal_mm: float
    quadrant: str
    towards_sternum: bool


def side_sign(side: str) -> float:
    """+1 for ``"left"``, -1 for ``"right"`` (lateral = away from the midline in LPS x)."""
    if side == "left":
        return 1.0
    if side == "right":
        return -1.0
    raise GeometryError(f'Argument "side" must be "left" or "right", got {side!r}.')


def node_offsets(
    section: CrossSection,
    imv_xy_lps: npt.ArrayLike,
    side: Literal["left", "right"],
) -> NodeOffsets:
    """Offsets, extents and growth quadrant of a node's reference cross-section.

    Parameters
    ----------
    section : CrossSection
        The node's reference-slice cross-section (LPS mm).
    imv_xy_lps : array_like, shape (2,)
        Ipsilateral IMV centre ``(x, y)`` on the same slice, LPS mm.
    side : {"left", "right"}
        The node's side.

    Returns
    -------
    NodeOffsets
        ``center_ml_mm = (cx - imv_x) * s``, ``center_dv_mm = cy - imv_y``;
        ``extent_lateral = max(0, max ml)``, ``extent_medial = max(0, -min ml)``,
        ``extent_dorsal = max(0, max dv)``, ``extent_ventral = max(0, -min dv)`` over the
        boundary points.
    """
    if not isinstance(section, CrossSection):
        raise GeometryError(
            f'Argument "section" must be a CrossSection, got {type(section).__name__}.'
        )
    imv = as_vector(imv_xy_lps, "imv_xy_lps", 2)
    s = side_sign(side)
    ml = (section.boundary_xy_lps[:, 0] - imv[0]) * s
    dv = section.boundary_xy_lps[:, 1] - imv[1]
    far = int(np.argmax(ml * ml + dv * dv))
    quadrant = ("medial" if ml[far] < 0 else "lateral") + ("_ventral" if dv[far] < 0 else "_dorsal")
    return NodeOffsets(
        center_ml_mm=float((section.centroid_xy_lps[0] - imv[0]) * s),
        center_dv_mm=float(section.centroid_xy_lps[1] - imv[1]),
        extent_medial_mm=max(0.0, float(-ml.min())),
        extent_lateral_mm=max(0.0, float(ml.max())),
        extent_ventral_mm=max(0.0, float(-dv.min())),
        extent_dorsal_mm=max(0.0, float(dv.max())),
        quadrant=quadrant,
        towards_sternum=bool(ml[far] < 0),
    )
