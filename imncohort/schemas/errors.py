"""``errors.csv`` and the per-stage error records: path, stage, reason (all text)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from imncohort.layout import STAGES, OutLayout
from imncohort.outputs import ErrorRecord
from imncohort.privacy import scrubber_for
from imncohort.schemas.base import TableSchema, columns

ERRORS = TableSchema("errors", columns("str", ["path", "stage", "reason"]))
ERROR_COLUMNS: list[str] = ERRORS.names


def read_errors(out: OutLayout) -> pd.DataFrame:
    """``OUT/errors.csv`` (the empty table when missing)."""
    return ERRORS.read_csv(out.errors_csv)


def read_stage_errors(out: OutLayout, stage: str) -> pd.DataFrame:
    """One stage's kept records, ``OUT/restricted/state/errors_<stage>.csv``."""
    return ERRORS.read_csv(out.stage_errors_csv(stage))


def errors_frame(records: Iterable[ErrorRecord]) -> pd.DataFrame:
    """Return the records as a DataFrame with the ``errors.csv`` columns."""
    rows = [asdict(r) for r in records]
    return ERRORS.typed(pd.DataFrame(rows, columns=ERRORS.names))


def stage_errors_path(out: Path, stage: str) -> Path:
    """Return where a stage keeps its error records between runs (raw paths: restricted)."""
    return OutLayout(out).stage_errors_csv(stage)


def write_stage_errors(out: Path, stage: str, records: Iterable[ErrorRecord]) -> Path:
    """Replace the error records of ``stage`` and rebuild ``OUT/errors.csv``."""
    ERRORS.write_csv(errors_frame(records), stage_errors_path(out, stage))
    return merge_errors(out)


def merge_errors(out: Path) -> Path:
    """Concatenate every stage's records into ``OUT/errors.csv`` (sorted, stable).

    Known patient IDs, names and accession numbers in paths are replaced by their keys."""

    layout = OutLayout(out)
    frames = [read_stage_errors(layout, stage) for stage in STAGES]
    merged = pd.concat(frames, ignore_index=True)
    merged = scrubber_for(out).frame(merged, ["path", "reason"])
    merged = merged.sort_values(["stage", "path", "reason"], kind="stable")
    return ERRORS.write_csv(merged, layout.errors_csv)
