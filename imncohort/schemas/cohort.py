"""``cohort.parquet`` / ``cohort.csv``: one row per candidate or confirmed patient.

Written by the reports stage, again by the measure stage (confirmed patients) and by the
review step (``review_status``), always through :func:`write_cohort`; read through
:func:`read_cohort`.
"""

from __future__ import annotations

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.base import Column, TableSchema

COHORT = TableSchema(
    "cohort",
    (
        Column("patient_key"),
        Column("status"),
        Column("found_by_reports", "bool"),
        Column("first_mention_date"),
        Column("modalities"),
        Column("n_affirmed", "int"),
        Column("review_status"),
    ),
)
#: The columns :func:`imncohort.reports.cohort.build_cohort` returns (no review yet).
COHORT_COLUMNS: list[str] = [c for c in COHORT.names if c != "review_status"]


def read_cohort(out: OutLayout) -> pd.DataFrame:
    """The typed cohort of ``out`` (``cohort.parquet``, else ``cohort.csv``; may be empty)."""
    return COHORT.read(out.cohort_parquet, out.cohort_csv)


def write_cohort(out: OutLayout, frame: pd.DataFrame) -> pd.DataFrame:
    """Write ``cohort.parquet`` and ``cohort.csv`` (UTF-8 with BOM); return the typed frame."""
    typed = COHORT.typed(frame)[COHORT.names]
    COHORT.write(typed, out.cohort_parquet, out.cohort_csv, spreadsheet=True)
    return typed
