"""Agreement between the two readers: percent agreement and Cohen's kappa (pure).

Kappa and its 95% confidence interval come from statsmodels'
``statsmodels.stats.inter_rater.cohens_kappa`` (unweighted kappa over the three answers
``metastatic IMN`` / ``not metastatic`` / ``unsure``; asymptotic standard error of
Fleiss, Cohen and Everitt 1969; interval kappa +- 1.96 SE, clipped to [-1, 1], the range
of kappa). Only items both readers
answered count. Kappa is undefined (NaN) when chance agreement is 1 (both readers used a
single answer throughout) or no item has two answers; the interval is NaN below two items.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from imncohort.review.model import DECISIONS
from imncohort.schemas.review import AGREEMENT_COLUMNS

ALL = "all"
SLOT_PAIR = "reader_1 vs reader_2"


def contingency(reader_1: pd.Series, reader_2: pd.Series) -> np.ndarray:
    """Return the 3 x 3 table of counts (rows reader 1, columns reader 2, :data:`DECISIONS`)."""
    table = np.zeros((len(DECISIONS), len(DECISIONS)), dtype=np.int64)
    index = {d: n for n, d in enumerate(DECISIONS)}
    for a, b in zip(reader_1, reader_2, strict=True):
        table[index[a], index[b]] += 1
    return table


def kappa_with_ci(table: np.ndarray) -> tuple[float, float, float]:
    """Return (kappa, ci_low, ci_high) of a square count table (NaN where undefined)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    nan = (math.nan, math.nan, math.nan)
    if n == 0:
        return nan
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if expected >= 1.0 - 1e-12:
        return nan
    from statsmodels.stats.inter_rater import cohens_kappa

    with warnings.catch_warnings():  # its z test divides by zero on tiny tables; unused here
        warnings.simplefilter("ignore", RuntimeWarning)
        result = cohens_kappa(table)
    kappa = float(result.kappa)
    variance = float(result.var_kappa)
    if n < 2 or not variance >= 0:
        return (kappa, math.nan, math.nan)
    return (kappa, max(-1.0, float(result.kappa_low)), min(1.0, float(result.kappa_upp)))


def _row(pair: str, modality: str, frame: pd.DataFrame) -> dict[str, object]:
    agreed = int((frame["reader_1_decision"] == frame["reader_2_decision"]).sum())
    n = len(frame)
    kappa, low, high = kappa_with_ci(
        contingency(frame["reader_1_decision"], frame["reader_2_decision"])
    )
    return {
        "pair": pair,
        "modality": modality,
        "items": n,
        "agreed": agreed,
        "percent_agreement": 100.0 * agreed / n if n else math.nan,
        "kappa": kappa,
        "kappa_ci_low": low,
        "kappa_ci_high": high,
    }


def agreement_table(items: pd.DataFrame) -> pd.DataFrame:
    """Return the agreement per reader pair, overall and per modality.

    Parameters
    ----------
    items
        One row per item with ``modality``, ``reader_1_decision``, ``reader_2_decision``
        and the readers' initials (``""`` where none was given).

    Returns
    -------
    pandas.DataFrame
        :data:`AGREEMENT_COLUMNS`: first the pair of reader columns (``reader_1 vs
        reader_2``) over all modalities, then per modality; then, when initials were
        given, each pair of initials over all modalities.
    """
    valid = items["reader_1_decision"].isin(DECISIONS) & items["reader_2_decision"].isin(DECISIONS)
    both = items[valid]
    rows = [_row(SLOT_PAIR, ALL, both)]
    for modality, group in sorted(both.groupby(both["modality"].astype(str).replace("", "?"))):
        rows.append(_row(SLOT_PAIR, str(modality), group))
    initials = both["reader_1_initials"].astype(str).str.strip().str.upper()
    initials_2 = both["reader_2_initials"].astype(str).str.strip().str.upper()
    named = (initials != "") & (initials_2 != "")
    if named.any():
        labels = initials[named] + " vs " + initials_2[named]
        for label, group in sorted(both[named].groupby(labels)):
            rows.append(_row(str(label), ALL, group))
    frame = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    return frame.astype({"items": "int64", "agreed": "int64"})
