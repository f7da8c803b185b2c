"""The consensus rule and the status of items and patients (pure).

Rule (seed 000: two readers, "a final determination was reached on the consensus"):

1. both readers gave the same final decision (``metastatic IMN`` or ``not metastatic``):
   that is the outcome;
2. else a ``consensus_decision`` that is final is the outcome;
3. else the item is *pending* (a disagreement, an ``unsure``, or one reader missing), or
   *not reviewed* when nobody has decided anything.

An item is ``decided`` once it has an outcome; an undecided item without any decision is
``new`` when it came with the newest batch of items (the latest ``first_seen`` among the
current items), else ``awaiting_review``. A run that adds no item therefore marks the
same items new as the run before it.

A patient's ``review_status``: ``positive`` when any of its items is positive,
``negative`` when all of them are negative, ``pending`` when some decision exists but
neither holds, ``not_reviewed`` otherwise (also patients without items).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from imncohort.review.model import (
    AWAITING,
    CONSENSUS,
    DECIDED,
    FINAL_DECISIONS,
    METASTATIC,
    NEGATIVE,
    NEW,
    NOT_REVIEWED,
    PENDING,
    POSITIVE,
    READER_1,
    READER_2,
    SLOTS,
    Decision,
)
from imncohort.schemas.review import DECISION_COLUMNS

STATUS_COLUMNS = ["item_id", "first_seen", "status", "needs", "outcome", *DECISION_COLUMNS]


def final_decision(reader_1: str, reader_2: str, consensus: str) -> str:
    """Return the outcome decision by the consensus rule, ``""`` when there is none."""
    if reader_1 and reader_1 == reader_2 and reader_1 in FINAL_DECISIONS:
        return reader_1
    if consensus in FINAL_DECISIONS:
        return consensus
    return ""


def item_outcome(reader_1: str, reader_2: str, consensus: str) -> str:
    """Return ``positive``, ``negative``, ``pending`` or ``not_reviewed`` for one item."""
    final = final_decision(reader_1, reader_2, consensus)
    if final:
        return POSITIVE if final == METASTATIC else NEGATIVE
    return PENDING if (reader_1 or reader_2 or consensus) else NOT_REVIEWED


def needs(reader_1: str, reader_2: str, consensus: str) -> str:
    """Return who must act next on an item: ``""`` when decided."""
    if final_decision(reader_1, reader_2, consensus):
        return ""
    missing = [slot for slot, value in ((READER_1, reader_1), (READER_2, reader_2)) if not value]
    return ", ".join(missing) if missing else CONSENSUS


def status_table(
    item_ids: list[str],
    first_seen: Mapping[str, str],
    decisions: Mapping[tuple[str, str], Decision],
) -> pd.DataFrame:
    """Return :data:`STATUS_COLUMNS` for the current items (same order as ``item_ids``).

    Parameters
    ----------
    item_ids
        The current items.
    first_seen
        Item id -> the run stamp of the run that first listed it (sortable text).
    decisions
        (item id, slot) -> the kept decision.
    """
    latest = max((first_seen[i] for i in item_ids), default="")
    rows = []
    for item in item_ids:
        got = {slot: decisions.get((item, slot)) for slot in SLOTS}
        value = {slot: d.decision if d else "" for slot, d in got.items()}
        outcome = item_outcome(value[READER_1], value[READER_2], value[CONSENSUS])
        if outcome in (POSITIVE, NEGATIVE):
            status = DECIDED
        elif outcome == NOT_REVIEWED and first_seen[item] == latest:
            status = NEW
        else:
            status = AWAITING
        row = {
            "item_id": item,
            "first_seen": first_seen[item],
            "status": status,
            "needs": needs(value[READER_1], value[READER_2], value[CONSENSUS]),
            "outcome": outcome,
        }
        for slot in SLOTS:
            decision = got[slot]
            row[f"{slot}_decision"] = value[slot]
            row[f"{slot}_comment"] = decision.comment if decision else ""
            if slot != CONSENSUS:
                row[f"{slot}_initials"] = decision.initials if decision else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=STATUS_COLUMNS).astype(str)


def patient_status(patient_keys: pd.Series, outcomes: pd.Series) -> dict[str, str]:
    """Return patient key -> ``review_status`` from the outcomes of its items."""
    result: dict[str, str] = {}
    frame = pd.DataFrame({"patient_key": patient_keys.astype(str), "outcome": outcomes})
    for key, group in frame.groupby("patient_key", sort=True):
        values = set(group["outcome"])
        if POSITIVE in values:
            result[str(key)] = POSITIVE
        elif values == {NEGATIVE}:
            result[str(key)] = NEGATIVE
        elif values - {NOT_REVIEWED}:
            result[str(key)] = PENDING
        else:
            result[str(key)] = NOT_REVIEWED
    return result


def cohort_with_review_status(cohort: pd.DataFrame, statuses: Mapping[str, str]) -> pd.DataFrame:
    """Return ``cohort`` with its ``review_status`` column (``not_reviewed`` by default)."""
    frame = cohort.drop(columns=["review_status"], errors="ignore").copy()
    keys = frame["patient_key"].astype(str) if "patient_key" in frame else pd.Series(dtype=str)
    frame["review_status"] = [statuses.get(k, NOT_REVIEWED) for k in keys]
    return frame
