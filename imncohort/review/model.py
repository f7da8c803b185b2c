"""Names and records shared by the review modules (one place for each list)."""

from __future__ import annotations

from dataclasses import dataclass

#: What a reader may answer, exactly as the workbook's drop-down offers it.
METASTATIC = "metastatic IMN"
NOT_METASTATIC = "not metastatic"
UNSURE = "unsure"
DECISIONS = (METASTATIC, NOT_METASTATIC, UNSURE)
#: Decisions that settle an item (``unsure`` does not).
FINAL_DECISIONS = (METASTATIC, NOT_METASTATIC)

#: The decision columns of a returned workbook ("slots"), in workbook order.
READER_1 = "reader_1"
READER_2 = "reader_2"
CONSENSUS = "consensus"
SLOTS = (READER_1, READER_2, CONSENSUS)

#: Item status in the workbook.
NEW = "new"
AWAITING = "awaiting_review"
DECIDED = "decided"

#: Outcome of an item and ``review_status`` of a patient (``cohort.csv``).
POSITIVE = "positive"
NEGATIVE = "negative"
PENDING = "pending"
NOT_REVIEWED = "not_reviewed"
REVIEW_STATUSES = (POSITIVE, NEGATIVE, PENDING, NOT_REVIEWED)


@dataclass(frozen=True)
class Decision:
    """One decision of one slot for one item, and the returned file row it came from.

    ``source`` is the returned file's name (its identity across runs: a file returned again
    under the same name is the same return, edited); ``row`` is the spreadsheet row number
    (1 = header) and ``sheet`` the sheet name (``""`` for a CSV).
    """

    item_id: str
    slot: str
    decision: str
    initials: str = ""
    comment: str = ""
    source: str = ""
    sheet: str = ""
    row: int = 0

    def where(self) -> str:
        """Return ``file, sheet 'x', row n`` for messages."""
        sheet = f", sheet '{self.sheet}'" if self.sheet else ""
        return f"{self.source}{sheet}, row {self.row}"


@dataclass(frozen=True)
class Problem:
    """One problem of a returned file: the file (name), and what is wrong where."""

    source: str
    reason: str
