"""Pure review functions: item ids, marks, the consensus rule, merging, agreement."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from imncohort.review.agreement import agreement_table, contingency, kappa_with_ci
from imncohort.review.consensus import (
    cohort_with_review_status,
    final_decision,
    item_outcome,
    needs,
    patient_status,
    status_table,
)
from imncohort.review.items import item_id, marked_sentence
from imncohort.review.merge import merge_decisions
from imncohort.review.model import Decision

MET, NOT, UNSURE = "metastatic IMN", "not metastatic", "unsure"
S = b"secret"


def test_item_id_is_keyed_and_stable() -> None:
    a = item_id(S, "1.2.3", "ris.csv#4", "Possible  left IMN. ", "IMN", 1)
    assert a == item_id(S, "1.2.3", "ris.csv#4", "Possible left IMN.", "imn", 1)
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != item_id(b"other", "1.2.3", "ris.csv#4", "Possible left IMN.", "imn", 1)
    assert a != item_id(S, "1.2.3", "ris.csv#4", "Possible left IMN.", "imn", 2)
    assert a != item_id(S, "1.2.4", "ris.csv#4", "Possible left IMN.", "imn", 1)
    with pytest.raises(ValueError, match='"occurrence" must be >= 1'):
        item_id(S, "1", "r", "s", "t", 0)


@pytest.mark.parametrize(
    ("sentence", "term", "trigger", "marked"),
    [
        ("Possible left IMN.", "imn", "Possible", "«Possible» left [IMN]."),
        ("No change in the left IMN.", "imn", "", "No change in the left [IMN]."),
        ("IMN history.", "imn", "section:history", "[IMN] history."),
        ("右侧内乳淋巴结，转移可能。", "内乳淋巴结", "可能", "右侧[内乳淋巴结]，转移«可能»。"),
        (
            "Enlarged internal mammary nodes",
            "internal mammary node",
            "",
            "Enlarged [internal mammary node]s",
        ),
    ],
)
def test_marked_sentence(sentence: str, term: str, trigger: str, marked: str) -> None:
    assert marked_sentence(sentence, term, trigger) == marked


@pytest.mark.parametrize(
    ("r1", "r2", "c", "final", "outcome", "who"),
    [
        (MET, MET, "", MET, "positive", ""),
        (NOT, NOT, MET, NOT, "negative", ""),  # agreement wins over a consensus entry
        (MET, NOT, NOT, NOT, "negative", ""),
        (MET, NOT, "", "", "pending", "consensus"),
        (UNSURE, UNSURE, "", "", "pending", "consensus"),
        (UNSURE, UNSURE, UNSURE, "", "pending", "consensus"),
        (MET, "", "", "", "pending", "reader_2"),
        ("", "", MET, MET, "positive", ""),
        ("", "", "", "", "not_reviewed", "reader_1, reader_2"),
    ],
)
def test_consensus_rule(r1: str, r2: str, c: str, final: str, outcome: str, who: str) -> None:
    assert final_decision(r1, r2, c) == final
    assert item_outcome(r1, r2, c) == outcome
    assert needs(r1, r2, c) == who


def _d(item: str, slot: str, decision: str, source: str = "a.xlsx", row: int = 2) -> Decision:
    return Decision(item, slot, decision, source=source, sheet="review", row=row)


def test_status_new_only_for_the_latest_batch() -> None:
    seen = {"a": "2026-01-01", "b": "2026-01-02", "c": "2026-01-02", "d": "2026-01-01"}
    kept = {
        ("c", "reader_1"): _d("c", "reader_1", MET),
        ("d", "reader_1"): _d("d", "reader_1", NOT),
        ("d", "reader_2"): _d("d", "reader_2", NOT),
    }
    table = status_table(["a", "b", "c", "d"], seen, kept).set_index("item_id")
    assert list(table["status"]) == ["awaiting_review", "new", "awaiting_review", "decided"]
    assert list(table["outcome"]) == ["not_reviewed", "not_reviewed", "pending", "negative"]
    statuses = patient_status(
        pd.Series(["p", "p", "q", "r"]), table["outcome"].reset_index(drop=True)
    )
    assert statuses == {"p": "not_reviewed", "q": "pending", "r": "negative"}
    cohort = pd.DataFrame({"patient_key": ["p", "r", "z"], "status": ["candidate"] * 3})
    assert list(cohort_with_review_status(cohort, statuses)["review_status"]) == [
        "not_reviewed",
        "negative",
        "not_reviewed",
    ]
    assert patient_status(pd.Series(["p", "p"]), pd.Series(["negative", "positive"])) == {
        "p": "positive"
    }


def test_merge_keeps_adds_edits_and_reports_conflicts() -> None:
    kept = {("x", "reader_1"): _d("x", "reader_1", MET, "old.xlsx")}
    # The source file is gone: the kept decision stays; a new file agrees (no problem).
    same = merge_decisions(kept, [_d("x", "reader_1", MET, "new.xlsx")], ["new.xlsx"])
    assert same.decisions == kept and same.problems == [] and same.changed == 0
    # Another file disagrees: reported, kept value stays.
    other = merge_decisions(kept, [_d("x", "reader_1", NOT, "new.xlsx", 7)], ["new.xlsx"])
    assert other.decisions[("x", "reader_1")].decision == MET
    assert [p.source for p in other.problems] == ["new.xlsx"]
    assert other.problems[0].reason.startswith("row 7: conflicting reader_1 decisions for item x")
    # The source file itself was edited: the new value replaces the kept one.
    edited = merge_decisions(kept, [_d("x", "reader_1", NOT, "old.xlsx")], ["old.xlsx"])
    assert edited.decisions[("x", "reader_1")].decision == NOT and edited.changed == 1
    # Two new files disagree on a slot nobody decided yet: nothing recorded, both reported.
    split = merge_decisions(
        {}, [_d("y", "reader_2", MET, "a.xlsx"), _d("y", "reader_2", UNSURE, "b.csv")], []
    )
    assert ("y", "reader_2") not in split.decisions and len(split.problems) == 1
    # Nothing returned: everything kept.
    assert merge_decisions(kept, [], []).decisions == kept


def _fce_kappa(table: np.ndarray) -> tuple[float, float]:
    """Kappa and its standard error written out from Fleiss, Cohen & Everitt (1969)."""
    p = table / table.sum()
    row, col = p.sum(axis=1), p.sum(axis=0)
    po, pe = np.trace(p), float(row @ col)
    k = (po - pe) / (1 - pe)
    a = sum(p[i, i] * (1 - (row[i] + col[i]) * (1 - k)) ** 2 for i in range(3))
    b = (1 - k) ** 2 * sum(
        p[i, j] * (col[i] + row[j]) ** 2 for i in range(3) for j in range(3) if i != j
    )
    c = (k - pe * (1 - k)) ** 2
    return k, math.sqrt((a + b - c) / ((1 - pe) ** 2 * table.sum()))


def test_kappa_matches_the_formula_and_its_edge_cases() -> None:
    r1 = pd.Series([MET] * 6 + [NOT] * 5 + [UNSURE] * 3)
    r2 = pd.Series([MET] * 4 + [NOT, UNSURE] + [NOT] * 4 + [MET] + [UNSURE, UNSURE, NOT])
    table = contingency(r1, r2)
    assert table.tolist() == [[4, 1, 1], [1, 4, 0], [0, 1, 2]]
    kappa, low, high = kappa_with_ci(table)
    k, se = _fce_kappa(table.astype(float))
    assert kappa == pytest.approx(k, abs=1e-12)
    assert (low, high) == pytest.approx((k - 1.959963984540054 * se, k + 1.959963984540054 * se))
    assert kappa == pytest.approx((10 / 14 - (6 * 5 + 5 * 6 + 3 * 3) / 196) / (1 - 69 / 196))
    assert all(math.isnan(v) for v in kappa_with_ci(np.diag([5, 0, 0])))  # one answer only
    assert all(math.isnan(v) for v in kappa_with_ci(np.zeros((3, 3))))
    perfect = kappa_with_ci(np.diag([3, 2, 0]))
    assert perfect[0] == pytest.approx(1.0)
    degenerate = kappa_with_ci(np.array([[2, 0, 0], [1, 0, 0], [0, 0, 0]]))
    assert degenerate[0] == 0.0 and math.isnan(degenerate[1])  # negative variance: no CI
    wide = kappa_with_ci(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]]))
    assert wide[0] == pytest.approx(0.4) and wide[2] == 1.0  # 0.4 + 1.96 SE > 1: clipped


def test_agreement_table_rows() -> None:
    items = pd.DataFrame(
        {
            "modality": ["CT", "CT", "MR", "MR", "US"],
            "reader_1_decision": [MET, NOT, MET, MET, ""],
            "reader_2_decision": [MET, NOT, NOT, MET, MET],
            "reader_1_initials": ["ab", "ab", "ab", "EF", ""],
            "reader_2_initials": ["CD", "CD", "CD", "CD", "CD"],
        }
    )
    table = agreement_table(items)
    assert list(
        zip(table["pair"], table["modality"], table["items"], table["agreed"], strict=True)
    ) == [
        ("reader_1 vs reader_2", "all", 4, 3),
        ("reader_1 vs reader_2", "CT", 2, 2),
        ("reader_1 vs reader_2", "MR", 2, 1),
        ("AB vs CD", "all", 3, 2),
        ("EF vs CD", "all", 1, 1),
    ]
    assert table["percent_agreement"].iloc[0] == 75.0
    assert table["kappa"].iloc[1] == pytest.approx(1.0)
    assert math.isnan(table["kappa_ci_low"].iloc[4])  # one item: no interval
