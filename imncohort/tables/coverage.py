"""Coverage of metastatic nodes by an expansion margin around the IMV centre.

A node is *covered* in a direction when the absolute centre offset on that
axis (``center_ml_mm`` for medial-lateral, ``center_dv_mm`` for
dorsal-ventral, millimetres from the IMV centre on the reference slice) is at
most the margin. Only metastatic nodes count; a node whose offset is missing
(no IMV) is left out of that direction's denominator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from imncohort.tables.wilson import wilson_percent

DIRECTIONS = {"medial_lateral": "center_ml_mm", "dorsal_ventral": "center_dv_mm"}
COVERAGE_COLUMNS = [
    "direction",
    "margin_mm",
    "nodes_covered",
    "nodes_total",
    "percent",
    "ci_low",
    "ci_high",
]
PATIENT_COVERAGE_COLUMNS = [
    "direction",
    "margin_mm",
    "patients_covered",
    "patients_total",
    "percent",
    "ci_low",
    "ci_high",
]
COVERAGE_2D_COLUMNS = [
    "ml_margin_mm",
    "dv_margin_mm",
    "nodes_covered",
    "nodes_total",
    "percent",
]


def metastatic_nodes(nodes: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``nodes`` with ``metastatic`` True."""
    if nodes.empty or "metastatic" not in nodes.columns:
        return nodes.iloc[0:0]
    return nodes[nodes["metastatic"].astype(bool)]


def _percent_row(covered: int, total: int) -> tuple[float, float, float]:
    percent, low, high = wilson_percent(covered, total)
    return (round(percent, 4), round(low, 4), round(high, 4))


def coverage_table(
    nodes: pd.DataFrame, ml_margins_mm: Sequence[float], dv_margins_mm: Sequence[float]
) -> pd.DataFrame:
    """Return ``coverage.csv``: node coverage per direction and margin, Wilson 95 % CI.

    Parameters
    ----------
    nodes
        ``nodes.csv`` rows (normalised); only metastatic nodes are counted.
    ml_margins_mm, dv_margins_mm
        Margins in millimetres for the medial-lateral and dorsal-ventral axes.

    Returns
    -------
    pandas.DataFrame
        Columns ``direction, margin_mm, nodes_covered, nodes_total, percent,
        ci_low, ci_high`` (percent and CI in %, NaN when no node is measured).
    """
    meta = metastatic_nodes(nodes)
    rows = []
    for direction, margins in (
        ("medial_lateral", ml_margins_mm),
        ("dorsal_ventral", dv_margins_mm),
    ):
        offsets = meta[DIRECTIONS[direction]].to_numpy(dtype=float)
        offsets = np.abs(offsets[np.isfinite(offsets)])
        for margin in margins:
            covered = int((offsets <= float(margin)).sum())
            total = int(offsets.size)
            rows.append((direction, float(margin), covered, total, *_percent_row(covered, total)))
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def coverage_patients_table(
    nodes: pd.DataFrame, ml_margins_mm: Sequence[float], dv_margins_mm: Sequence[float]
) -> pd.DataFrame:
    """Return ``coverage_patients.csv``: a patient is covered when all its nodes are.

    Per direction, a patient's measured metastatic nodes decide; patients
    without a measured node on that axis are left out of the denominator.
    Columns ``direction, margin_mm, patients_covered, patients_total, percent,
    ci_low, ci_high``.
    """
    meta = metastatic_nodes(nodes)
    rows = []
    for direction, margins in (
        ("medial_lateral", ml_margins_mm),
        ("dorsal_ventral", dv_margins_mm),
    ):
        column = DIRECTIONS[direction]
        measured = meta[np.isfinite(meta[column].to_numpy(dtype=float))]
        worst = measured[column].abs().groupby(measured["patient_key"]).max().to_numpy(dtype=float)
        for margin in margins:
            covered = int((worst <= float(margin)).sum())
            total = int(worst.size)
            rows.append((direction, float(margin), covered, total, *_percent_row(covered, total)))
    return pd.DataFrame(rows, columns=PATIENT_COVERAGE_COLUMNS)


def coverage_2d_table(
    nodes: pd.DataFrame, ml_margins_mm: Sequence[float], dv_margins_mm: Sequence[float]
) -> pd.DataFrame:
    """Return ``coverage_2d.csv``: percent of nodes covered in both directions at once.

    One row per (medial-lateral margin, dorsal-ventral margin); nodes need
    both offsets measured to count.
    """
    meta = metastatic_nodes(nodes)
    ml = meta["center_ml_mm"].to_numpy(dtype=float)
    dv = meta["center_dv_mm"].to_numpy(dtype=float)
    keep = np.isfinite(ml) & np.isfinite(dv)
    ml, dv = np.abs(ml[keep]), np.abs(dv[keep])
    rows = []
    for ml_margin in ml_margins_mm:
        for dv_margin in dv_margins_mm:
            covered = int(((ml <= float(ml_margin)) & (dv <= float(dv_margin))).sum())
            total = int(ml.size)
            percent = round(100.0 * covered / total, 4) if total else math.nan
            rows.append((float(ml_margin), float(dv_margin), covered, total, percent))
    return pd.DataFrame(rows, columns=COVERAGE_2D_COLUMNS)


def smallest_margin(coverage: pd.DataFrame, direction: str, target_percent: float) -> float | None:
    """Return the smallest margin (mm) whose coverage reaches ``target_percent``, else None."""
    rows = coverage[(coverage["direction"] == direction) & (coverage["nodes_total"] > 0)]
    reached = rows[rows["percent"] >= float(target_percent) - 1e-9]
    if reached.empty:
        return None
    return float(reached["margin_mm"].min())


def coverage_2d_matrix(coverage_2d: pd.DataFrame) -> pd.DataFrame:
    """Return the 2-D coverage as a matrix for display: one row per dorsal-ventral margin.

    Columns are ``dv_margin_mm`` then one column ``ml_<margin>mm`` per
    medial-lateral margin, holding the percent covered in both directions.
    """
    if coverage_2d.empty:
        return pd.DataFrame(columns=["dv_margin_mm"])
    matrix = coverage_2d.pivot(index="dv_margin_mm", columns="ml_margin_mm", values="percent")
    matrix.columns = [f"ml_{m:g}mm" for m in matrix.columns]
    return matrix.reset_index()
