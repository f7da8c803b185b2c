"""``errors.csv`` and the per-stage error records: path, stage, reason (all text)."""

from __future__ import annotations

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.base import TableSchema, columns

ERRORS = TableSchema("errors", columns("str", ["path", "stage", "reason"]))
ERROR_COLUMNS: list[str] = ERRORS.names


def read_errors(out: OutLayout) -> pd.DataFrame:
    """``OUT/errors.csv`` (the empty table when missing)."""
    return ERRORS.read_csv(out.errors_csv)


def read_stage_errors(out: OutLayout, stage: str) -> pd.DataFrame:
    """One stage's kept records, ``OUT/restricted/state/errors_<stage>.csv``."""
    return ERRORS.read_csv(out.stage_errors_csv(stage))
