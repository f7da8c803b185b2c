"""Which components are nodes: fragments below the configured minimum are not.

A component is a fragment when it has fewer mask voxels than ``nodes.min_node_voxels``
(4 = a 2x2x1 block), less volume than ``nodes.min_node_volume_ml``, or (contours) its
largest cross-section is smaller than one pixel of the series. Fragments are listed in
``errors.csv`` with :data:`FRAGMENT_MARK` in the reason and counted as ``fragments`` in
the measure stage's summary (``run.json``); they never reach ``nodes.csv``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from imncohort.annotations.models import SliceGrid
from imncohort.config import Config
from imncohort.textfmt import number

if TYPE_CHECKING:  # scipy.ndimage: not for the stage that only counts fragments
    from imncohort.measure.rois import Component

#: Text every fragment reason ends with (used to count fragments).
FRAGMENT_MARK = "not counted as a node (fragment)"


def fragment_reason(comp: Component, volume_ml: float, ct_grid: SliceGrid, config: Config) -> str:
    """Why ``comp`` is a fragment ("" when it is a node)."""
    nodes = config.nodes
    why: list[str] = []
    if comp.mask_kji is not None:
        voxels = int(np.count_nonzero(comp.mask_kji))
        if voxels < nodes.min_node_voxels:
            why.append(
                f"{voxels} voxel(s), fewer than nodes.min_node_voxels = {nodes.min_node_voxels}"
            )
    else:
        pixel = float(ct_grid.spacing_row_mm * ct_grid.spacing_col_mm)
        largest = max(s.area_mm2 for s in comp.sections)
        if largest < pixel:
            why.append(
                f"largest cross-section {number(largest, 3)} mm2, smaller than one pixel "
                f"({number(pixel, 3)} mm2)"
            )
    if math.isfinite(volume_ml) and volume_ml < nodes.min_node_volume_ml:
        why.append(
            f"{number(volume_ml, 3)} ml, below nodes.min_node_volume_ml = "
            f"{number(nodes.min_node_volume_ml)}"
        )
    return "; ".join(why)


def count_fragments(reasons: list[str]) -> int:
    """Number of fragment records among error reasons."""
    return sum(1 for r in reasons if r.endswith(FRAGMENT_MARK))
