"""Growth direction of large metastatic nodes and their laterality.

The growth quadrant of a node is the quadrant (medial/lateral x
ventral/dorsal) of its boundary point farthest from the IMV centre; medial is
towards the sternum. The seed paper analyses nodes larger than 1 cm, so only
nodes with ``long_axis_mm`` above ``nodes.growth_min_long_axis_mm`` count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from imncohort.tables.coverage import metastatic_nodes
from imncohort.tables.wilson import wilson_percent

QUADRANTS = ("medial_ventral", "medial_dorsal", "lateral_ventral", "lateral_dorsal")
GROWTH_COLUMNS = [
    "quadrant",
    "nodes",
    "percent",
    "ci_low",
    "ci_high",
    "chi2",
    "p_value",
    "denominator",
]
#: Rows on the sternum, among the nodes towards it (seed 000: 23 of 32 spread above the
#: sternum, 12 invade it).
STERNUM_ROWS = ("over_sternum", "sternal_invasion")
LATERALITY_COLUMNS = ["side", "nodes", "percent", "ci_low", "ci_high", "mean_volume_ml"]
SIDES = ("left", "right")


def growth_direction_table(nodes: pd.DataFrame, min_long_axis_mm: float) -> pd.DataFrame:
    """Return ``growth_direction.csv``.

    Parameters
    ----------
    nodes
        ``nodes.csv`` rows (normalised); metastatic nodes only.
    min_long_axis_mm
        Only nodes with ``long_axis_mm`` strictly greater than this count (mm).

    Returns
    -------
    pandas.DataFrame
        One row per quadrant, then ``towards_sternum`` (medial quadrants),
        ``away_from_sternum`` (lateral quadrants) and ``all``; columns
        ``quadrant, nodes, percent, ci_low, ci_high`` (percent of counted nodes,
        Wilson 95 %) and, on the ``all`` row, ``chi2`` and ``p_value`` of
        Pearson's chi-square test of the four quadrant counts against equal
        quadrants (``scipy.stats.chisquare``; NaN with no node). Then the rows
        ``over_sternum`` and ``sternal_invasion``: of the nodes towards the
        sternum whose study has a sternum annotation, how many reach over it and
        how many invade it (percent of those, Wilson 95 %). ``denominator`` is
        the count each row's percent is of.
    """
    meta = metastatic_nodes(nodes)
    large = meta[meta["long_axis_mm"].to_numpy(dtype=float) > float(min_long_axis_mm)]
    large = large[large["quadrant"].isin(QUADRANTS)]
    counts = [int((large["quadrant"] == q).sum()) for q in QUADRANTS]
    total = sum(counts)
    medial = counts[0] + counts[1]
    lateral = counts[2] + counts[3]
    if total:
        from scipy.stats import chisquare  # scipy.stats: only with nodes to test

        result = chisquare(np.asarray(counts, dtype=float))
        chi2, p_value = float(result.statistic), float(result.pvalue)
    else:
        chi2 = p_value = math.nan
    towards = large[large["quadrant"].str.startswith("medial")]
    rows = []
    labelled = [*zip(QUADRANTS, counts, strict=True)]
    labelled += [("towards_sternum", medial), ("away_from_sternum", lateral), ("all", total)]
    for label, count in labelled:
        is_all = label == "all"
        rows.append(
            _growth_row(
                label,
                count,
                total,
                round(chi2, 6) if is_all else math.nan,
                p_value if is_all else math.nan,
            )
        )
    for label in STERNUM_ROWS:
        values = towards[label] if label in towards else pd.Series(dtype=object)
        flags = values[values.notna()]
        rows.append(_growth_row(label, int(flags.astype(bool).sum()), len(flags)))
    return pd.DataFrame(rows, columns=GROWTH_COLUMNS)


def _growth_row(
    label: str, count: int, denominator: int, chi2: float = math.nan, p_value: float = math.nan
) -> tuple[Any, ...]:
    """One ``growth_direction.csv`` row: count of ``denominator`` with its Wilson interval."""
    percent, low, high = wilson_percent(count, denominator)
    return (
        label,
        count,
        round(percent, 4),
        round(low, 4),
        round(high, 4),
        chi2,
        p_value,
        denominator,
    )


def laterality_table(nodes: pd.DataFrame) -> pd.DataFrame:
    """Return ``laterality.csv``: metastatic nodes per side with their mean volume.

    Rows ``left``, ``right``, then ``unknown`` when some node has no side, and
    ``all``; columns ``side, nodes, percent`` (of all metastatic nodes, Wilson
    95 % CI) and ``mean_volume_ml`` (NaN with no node).
    """
    meta = metastatic_nodes(nodes)
    sides = meta["side"].astype(str).str.lower()
    total = len(meta)
    labels = list(SIDES)
    if (~sides.isin(SIDES)).any():
        labels.append("unknown")
    rows = []
    for label in [*labels, "all"]:
        if label == "all":
            chosen = meta
        elif label == "unknown":
            chosen = meta[~sides.isin(SIDES)]
        else:
            chosen = meta[sides == label]
        count = len(chosen)
        percent, low, high = wilson_percent(count, total)
        volume = chosen["volume_ml"].to_numpy(dtype=float)
        volume = volume[np.isfinite(volume)]
        mean_volume = round(float(volume.mean()), 4) if volume.size else math.nan
        rows.append((label, count, round(percent, 4), round(low, 4), round(high, 4), mean_volume))
    return pd.DataFrame(rows, columns=LATERALITY_COLUMNS)
