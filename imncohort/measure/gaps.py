"""Join a contoured node split in two by CT slices that were dropped for bad headers.

When a slice of the referenced CT is unusable (no position, PixelSpacing 0, ...)
the measure stage leaves it out of the series' grid, so the contours drawn on it
are off every slice and the node's pieces above and below the gap are no longer
on neighbouring slices. Two components of one ROI are joined again when one ends
on the kept slice just below such a gap, the other starts on the kept slice just
above it, and their cross-sections there overlap in-plane (the rule that joins
pieces on neighbouring slices). Mask ROIs need no help: a SEG is placed on the
kept slices and its frames stay neighbours across the gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imncohort.geometry.components import regions_overlap
from imncohort.measure.rois import Component, component_order_key

Z_TOLERANCE_FRACTION = 0.25


def _ends(comp: Component) -> tuple[float, float]:
    zs = [s.z_mm for s in comp.sections]
    return min(zs), max(zs)


def _overlap_at(a: Component, za: float, b: Component, zb: float, tol: float) -> bool:
    rings_a = [r for s in a.sections if abs(s.z_mm - za) <= tol for r in s.rings_xy_lps]
    rings_b = [r for s in b.sections if abs(s.z_mm - zb) <= tol for r in s.rings_xy_lps]
    return bool(rings_a and rings_b and regions_overlap(rings_a, rings_b))


def bridge_dropped_gaps(
    comps: Sequence[Component], gaps_mm: Sequence[tuple[float, float]], spacing_mm: float
) -> tuple[list[Component], list[tuple[float, float]]]:
    """Join contour components across the gaps left by dropped slices.

    Parameters
    ----------
    comps
        The ROI's components (contour components; mask components are returned as is).
    gaps_mm
        ``(z below, z above)`` of every gap between kept slices that lost slices.
    spacing_mm
        The series' slice spacing (sets the z tolerance, a quarter of it).

    Returns
    -------
    components, bridged
        The components in :func:`~imncohort.measure.rois.component_order_key` order, and
        the gaps that joined two of them.
    """
    items = list(comps)
    if len(items) < 2 or not gaps_mm or any(c.mask_kji is not None for c in items):
        return items, []
    tol = Z_TOLERANCE_FRACTION * spacing_mm
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    bridged: list[tuple[float, float]] = []
    for lo, hi in gaps_mm:
        below = [n for n, c in enumerate(items) if abs(_ends(c)[1] - lo) <= tol]
        above = [n for n, c in enumerate(items) if abs(_ends(c)[0] - hi) <= tol]
        for a in below:
            for b in above:
                if find(a) != find(b) and _overlap_at(items[a], lo, items[b], hi, tol):
                    parent[find(b)] = find(a)
                    if (lo, hi) not in bridged:
                        bridged.append((lo, hi))
    if not bridged:
        return items, []
    groups: dict[int, list[int]] = {}
    for n in range(len(items)):
        groups.setdefault(find(n), []).append(n)
    joined = [
        Component(sorted((s for n in members for s in items[n].sections), key=lambda s: s.z_mm))
        for members in groups.values()
    ]
    joined.sort(key=lambda c: component_order_key(c.sections))
    return joined, bridged


def series_gaps(z_mm: Sequence[float] | np.ndarray) -> list[tuple[float, float]]:
    """``(z below, z above)`` of every step between neighbouring slices wider than 1.5
    median steps (a slice missing from the series, or two stacks)."""
    zs = np.sort(np.asarray(z_mm, dtype=float))
    if zs.size < 3:
        return []
    steps = np.diff(zs)
    median = float(np.median(steps))
    return [
        (float(lo), float(hi))
        for lo, hi, step in zip(zs[:-1], zs[1:], steps, strict=True)
        if step > 1.5 * median
    ]


def gap_splits(
    comps: Sequence[Component], z_mm: Sequence[float] | np.ndarray, spacing_mm: float
) -> list[tuple[int, int, float, float]]:
    """Pairs of contour components (numbers from 1) that a gap in the series splits.

    A split is one component ending on the slice below a gap and another starting
    on the slice above it, overlapping in-plane there: one node, probably, whose
    middle slices are missing from the export. They stay two nodes (nothing says
    the gap is not real); the caller notes it in ``errors.csv``.
    """
    items = list(comps)
    if len(items) < 2 or any(c.mask_kji is not None for c in items):
        return []
    tol = Z_TOLERANCE_FRACTION * spacing_mm
    out: list[tuple[int, int, float, float]] = []
    for lo, hi in series_gaps(z_mm):
        for a, comp_a in enumerate(items):
            if abs(_ends(comp_a)[1] - lo) > tol:
                continue
            for b, comp_b in enumerate(items):
                below_gap = a != b and abs(_ends(comp_b)[0] - hi) <= tol
                if below_gap and _overlap_at(comp_a, lo, comp_b, hi, tol):
                    out.append((min(a, b) + 1, max(a, b) + 1, lo, hi))
    return out
