"""The review step's tables: the reviewers' workbook, agreement and the contouring list.

- the workbook (``OUT/restricted/review/worklist.xlsx`` and ``.csv``, sheets ``review``
  and ``decided``): :data:`WORKBOOK_COLUMNS`, read back from the returned folder;
- ``OUT/review_agreement.csv`` (public, read by the report) and the restricted
  ``agreement.csv`` per pair of initials: :data:`AGREEMENT`;
- ``OUT/restricted/review/to_annotate.csv``: :data:`TO_ANNOTATE`.
"""

from __future__ import annotations

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.base import TableSchema, columns

#: Decision columns of the workbook, per slot (reader 1, reader 2, consensus).
DECISION_COLUMNS = [
    "reader_1_decision",
    "reader_1_initials",
    "reader_1_comment",
    "reader_2_decision",
    "reader_2_initials",
    "reader_2_comment",
    "consensus_decision",
    "consensus_comment",
]

WORKBOOK = TableSchema(
    "review_workbook",
    columns(
        "str",
        [
            "item_id",
            "status",
            "needs",
            "first_seen",
            "PatientID",
            "AccessionNumber",
            "date",
            "modality",
            "side",
            "intercostal_space",
            "size",
            "assertion",
            "sentence",
            *DECISION_COLUMNS,
            "outcome",
            "patient_key",
            "StudyInstanceUID",
            "report_id",
        ],
    ),
)
WORKBOOK_COLUMNS: list[str] = WORKBOOK.names

AGREEMENT = TableSchema(
    "review_agreement",
    (
        *columns("str", ["pair", "modality"]),
        *columns("int", ["items", "agreed"]),
        *columns("float", ["percent_agreement", "kappa", "kappa_ci_low", "kappa_ci_high"]),
    ),
)
AGREEMENT_COLUMNS: list[str] = AGREEMENT.names

TO_ANNOTATE = TableSchema(
    "to_annotate",
    (
        *columns("str", ["PatientID", "patient_key"]),
        *columns("int", ["positive_items"]),
        *columns("str", ["positive_studies", "ct_studies"]),
    ),
)
TO_ANNOTATE_COLUMNS: list[str] = TO_ANNOTATE.names


def read_agreement(out: OutLayout) -> pd.DataFrame | None:
    """``OUT/review_agreement.csv`` when the review step has run, else None."""
    if not out.review_agreement_csv.exists():
        return None
    return AGREEMENT.read_csv(out.review_agreement_csv)
