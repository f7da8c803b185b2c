"""Compare the research outputs of two runs (tables equal, whatever the run times)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CSV_TABLES = [
    "nodes.csv",
    "cohort.csv",
    "coverage.csv",
    "coverage_patients.csv",
    "coverage_2d.csv",
    "intercostal.csv",
    "growth_direction.csv",
    "laterality.csv",
    "modality_detection.csv",
    "characteristics.csv",
    "errors.csv",
    "restricted/worklist.csv",
]
PARQUET_TABLES = [
    "nodes.parquet",
    "cohort.parquet",
    "mentions.parquet",
    "reports.parquet",
    "restricted/index/instances.parquet",
    "restricted/index/series.parquet",
    "restricted/index/studies.parquet",
    "restricted/index/files.parquet",
]


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in ("mtime_ns",) if c in frame.columns])
    frame = frame.astype(str)
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def read_table(out: Path, name: str) -> pd.DataFrame:
    """Read one output table in a canonical row order."""
    path = Path(out) / name
    frame = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path, dtype=str)
    return _canonical(frame)


def assert_same_tables(a: Path, b: Path, *, ignore_mtime: bool = True) -> None:
    """Assert every research table of run ``a`` equals run ``b``'s."""
    for name in CSV_TABLES + PARQUET_TABLES:
        pd.testing.assert_frame_equal(read_table(a, name), read_table(b, name), obj=name)
