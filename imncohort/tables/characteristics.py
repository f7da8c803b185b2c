"""Patient characteristics per group (the seed paper's Table 1).

The study group is the confirmed patients; their clinical rows (pseudonymised
with :func:`imncohort.tables.inputs.pseudonymise_clinical`) give the group
(initial / recurrence) and ER, PR, HER2, T, N, M. A patient without a
clinical row has ``unknown`` everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from imncohort.tables.inputs import CLINICAL_VARIABLES, UNKNOWN

GROUPS = ("initial", "recurrence", "all")
CHARACTERISTICS_COLUMNS = [
    "variable",
    "level",
    *[f"{g}_{part}" for g in GROUPS for part in ("n", "percent")],
]
_RECEPTOR_ORDER = ("positive", "negative", UNKNOWN)


def _level_order(variable: str, levels: set[str]) -> list[str]:
    if variable in ("ER", "PR", "HER2"):
        return [lv for lv in _RECEPTOR_ORDER if lv in levels or lv != UNKNOWN] + sorted(
            levels - set(_RECEPTOR_ORDER)
        )
    if variable == "group":
        return [lv for lv in ("initial", "recurrence", UNKNOWN) if lv in levels]

    def key(level: str) -> tuple[int, str]:
        rest = level[1:]
        if level == UNKNOWN:
            return (3, level)
        if rest.startswith("is"):
            return (0, level)
        if rest[:1].isdigit():
            return (1, level)
        return (2, level)

    return sorted(levels, key=key)


def characteristics_table(
    patient_keys: Sequence[str], clinical: pd.DataFrame | None
) -> pd.DataFrame:
    """Return ``characteristics.csv``: n (%) per level and group.

    Parameters
    ----------
    patient_keys
        The study group (confirmed patients).
    clinical
        Pseudonymised clinical rows (``patient_key, group, ER, PR, HER2, T, N,
        M``), or None when the export has no clinical table.

    Returns
    -------
    pandas.DataFrame
        First the row ``patients / n`` with the group sizes, then one row per
        ``group`` level and per level of ER, PR, HER2, T, N, M; columns
        ``variable, level`` and ``<group>_n``, ``<group>_percent`` for the
        groups initial, recurrence and all (percent of the group's patients;
        ``all`` includes patients of unknown group).
    """
    keys = sorted(set(map(str, patient_keys)))
    base = pd.DataFrame({"patient_key": keys})
    if clinical is not None and not clinical.empty:
        merged = base.merge(clinical, on="patient_key", how="left")
    else:
        merged = base.copy()
    for column in ["group", *CLINICAL_VARIABLES]:
        if column not in merged.columns:
            merged[column] = UNKNOWN
        merged[column] = merged[column].fillna(UNKNOWN).astype(str)

    members = {
        "initial": merged[merged["group"] == "initial"],
        "recurrence": merged[merged["group"] == "recurrence"],
        "all": merged,
    }

    def record(variable: str, level: str, mask_of: dict[str, int]) -> dict:
        row: dict = {"variable": variable, "level": level}
        for group in GROUPS:
            size = len(members[group])
            count = mask_of[group]
            row[f"{group}_n"] = count
            row[f"{group}_percent"] = round(100.0 * count / size, 4) if size else math.nan
        return row

    rows = [record("patients", "n", {g: len(members[g]) for g in GROUPS})]
    for variable in ["group", *CLINICAL_VARIABLES]:
        levels = set(merged[variable])
        for level in _level_order(variable, levels):
            counts = {g: int((members[g][variable] == level).sum()) for g in GROUPS}
            rows.append(record(variable, level, counts))
    return pd.DataFrame(rows, columns=CHARACTERISTICS_COLUMNS)
