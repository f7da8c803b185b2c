"""The reports stage's tables: mentions, reports, sentences and the restricted worklist.

- ``OUT/mentions.parquet`` (:data:`MENTIONS`): one row per term mention, no text; read by
  the tables, review, measure (cohort) and package code;
- ``OUT/reports.parquet`` (:data:`REPORTS`): one row per report read, no text;
- ``OUT/restricted/mention_sentences.parquet`` (:data:`MENTION_SENTENCES`);
- ``OUT/restricted/worklist.csv`` (:data:`WORKLIST`): one row per report to review.

:data:`MINED_MENTION_COLUMNS` are the columns of the in-memory mention frame one chunk of
reports gives (restricted: it holds the sentence).
"""

from __future__ import annotations

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.base import TableSchema, columns

MINED_MENTION_COLUMNS = [
    "mention_id",
    "report_id",
    "section",
    "term",
    "assertion",
    "trigger",
    "rule",
    "side",
    "intercostal_spaces",
    "size_long_mm",
    "size_short_mm",
    "sentence",
]

MENTIONS = TableSchema(
    "mentions",
    (
        *columns(
            "str",
            [
                "mention_id",
                "patient_key",
                "study_key",
                "modality",
                "study_date",
                "source",
                "source_path",
                "report_id",
                "section",
                "term",
                "assertion",
                "trigger",
                "rule",
                "side",
                "intercostal_spaces",
            ],
        ),
        *columns("float", ["size_long_mm", "size_short_mm", "size_mm"]),
    ),
)
MENTIONS_COLUMNS: list[str] = MENTIONS.names

REPORTS = TableSchema(
    "reports",
    (
        *columns(
            "str",
            [
                "report_id",
                "patient_key",
                "study_key",
                "modality",
                "study_date",
                "source",
                "source_path",
            ],
        ),
        *columns("int", ["n_mentions", "n_positive"]),
    ),
)
REPORTS_COLUMNS: list[str] = REPORTS.names

MENTION_SENTENCES = TableSchema("mention_sentences", columns("str", ["mention_id", "sentence"]))

WORKLIST = TableSchema(
    "worklist",
    columns(
        "str",
        [
            "PatientID",
            "AccessionNumber",
            "StudyInstanceUID",
            "StudyDate",
            "Modality",
            "patient_key",
            "study_key",
            "report_id",
            "source_path",
            "terms",
            "assertions",
            "sentence",
        ],
    ),
)
WORKLIST_COLUMNS: list[str] = WORKLIST.names


def read_mentions(out: OutLayout) -> pd.DataFrame:
    """``OUT/mentions.parquet`` (the empty table when the reports stage has not run)."""
    return MENTIONS.read_parquet(out.mentions_parquet)


def write_mentions(out: OutLayout, frame: pd.DataFrame) -> None:
    """Write ``OUT/mentions.parquet`` typed by :data:`MENTIONS`."""
    MENTIONS.write_parquet(frame[MENTIONS_COLUMNS], out.mentions_parquet)


def read_reports(out: OutLayout) -> pd.DataFrame | None:
    """``OUT/reports.parquet`` when a stage wrote it, else None."""
    if not out.reports_parquet.exists():
        return None
    return REPORTS.read_parquet(out.reports_parquet)


def write_reports(out: OutLayout, frame: pd.DataFrame) -> None:
    """Write ``OUT/reports.parquet`` typed by :data:`REPORTS`."""
    REPORTS.write_parquet(frame[REPORTS_COLUMNS], out.reports_parquet)


def read_worklist(out: OutLayout) -> pd.DataFrame | None:
    """``OUT/restricted/worklist.csv`` as text, or None when the reports stage has not run."""
    if not out.worklist_csv.exists():
        return None
    return WORKLIST.read_csv(out.worklist_csv)


def write_worklist(out: OutLayout, frame: pd.DataFrame) -> None:
    """Write ``OUT/restricted/worklist.csv`` (UTF-8 with BOM)."""
    WORKLIST.write_csv(frame[WORKLIST_COLUMNS], out.worklist_csv, spreadsheet=True)
