"""Returned workbooks and CSVs: read as far as valid, each problem in errors.csv."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from imncohort.config import Config
from imncohort.review.stage import run_review
from imncohort.review.workbook import sheet_values

from .conftest import SECRET, T0

T1 = T0 + dt.timedelta(days=1)


def _rows(out: Path, sheet: str = "review") -> list[dict[str, str]]:
    rows = sheet_values(out / "restricted" / "review" / "worklist.xlsx")[sheet]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _errors(out: Path) -> list[tuple[str, str]]:
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    review = errors[errors["stage"] == "review"]
    return sorted(zip(review["path"], review["reason"], strict=True))


def _fill(out: Path, name: str, values: dict[int, dict[str, str]], sheet: str = "review") -> Path:
    """Copy worklist.xlsx to returned/NAME with cells set by (data row index -> column)."""
    folder = out / "restricted" / "review"
    workbook = load_workbook(folder / "worklist.xlsx")
    ws = workbook["review"]
    ws.title = sheet
    header = [c.value for c in ws[1]]
    for index, cells in values.items():
        for column, value in cells.items():
            ws.cell(row=index + 2, column=header.index(column) + 1, value=value)
    target = folder / "returned" / name
    workbook.save(target)
    return target


def test_first_review_lists_every_positive_mention_as_new(reviewed_out: Path) -> None:
    rows = _rows(reviewed_out)
    assert [r["PatientID"] for r in rows] == ["P001", "P001", "P002", "P004", "P005"]
    assert {r["status"] for r in rows} == {"new"}
    assert rows[1]["sentence"] == (
        "There is an «enlarged» left [IMN] in the 2nd intercostal space measuring 1.2 x 0.8 cm."
    )
    assert rows[0]["sentence"] == "«Possible» left [IMN]."
    assert (rows[1]["side"], rows[1]["intercostal_space"], rows[1]["size"]) == (
        "left",
        "2",
        "12 x 8 mm",
    )
    assert rows[2]["sentence"] == "右侧[内乳淋巴结]，转移«可能»。"
    workbook = load_workbook(reviewed_out / "restricted" / "review" / "worklist.xlsx")
    sheet = workbook["review"]
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["M"].width == 70  # the sentence
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1
    assert validations[0].formula1 == '"metastatic IMN,not metastatic,unsure"'
    assert str(validations[0].sqref) == "N2:N6 Q2:Q6 T2:T6"
    assert _errors(reviewed_out) == []


def test_each_problem_is_listed_and_nothing_else_is_lost(
    reviewed_out: Path, config: Config
) -> None:
    rows = _rows(reviewed_out)
    ids = [r["item_id"] for r in rows]
    # A: good decisions for items 0-2, an empty decision with initials on item 3 (reader 1),
    # a value outside the list on item 4 (reader 1), and an unknown item id.
    a = _fill(
        reviewed_out,
        "a_reader1.xlsx",
        {
            0: {"reader_1_decision": "metastatic IMN", "reader_1_initials": "AB"},
            1: {"reader_1_decision": "Not Metastatic", "reader_1_initials": "AB"},
            2: {"reader_1_decision": "metastatic IMN", "reader_1_initials": "AB"},
            3: {"reader_1_initials": "AB", "reader_1_comment": "look again"},
            4: {"reader_1_decision": "maybe", "reader_2_decision": "unsure"},
        },
    )
    workbook = load_workbook(a)
    ws = workbook["review"]
    ws.cell(row=7, column=1, value="0123456789abcdef")
    ws.cell(row=7, column=14, value="unsure")
    workbook.save(a)
    # B: the right columns on a wrong sheet name are still read; C: no review sheet at all.
    _fill(reviewed_out, "b_reader2.xlsx", {0: {"reader_2_decision": "metastatic IMN"}}, "Sheet1")
    other = Workbook()
    assert other.active is not None
    other.active.title = "notes"
    other.active.append(["patient", "what"])
    other.active.append(["P001", "metastatic IMN"])
    other.save(reviewed_out / "restricted" / "review" / "returned" / "c_wrong.xlsx")
    # D: a CSV in GB18030 with Chinese comments: read, and noted.
    csv = pd.DataFrame(
        {
            "item_id": [ids[1], ids[2]],
            "reader_2_decision": ["not metastatic", "metastatic IMN"],
            "reader_2_initials": ["王", "王"],
            "reader_2_comment": ["未见异常", "同意"],
        }
    )
    (reviewed_out / "restricted" / "review" / "returned" / "d_reader2.csv").write_bytes(
        csv.to_csv(index=False).encode("gb18030")
    )
    summary = run_review(reviewed_out, config, SECRET, now=T1)

    where = "restricted/review/returned/"
    assert _errors(reviewed_out) == sorted(
        [
            (
                where + "a_reader1.xlsx",
                "sheet 'review', row 5: reader_1 initials or comment given but "
                "reader_1_decision is empty; nothing recorded for reader_1",
            ),
            (
                where + "a_reader1.xlsx",
                "sheet 'review', row 6: reader_1_decision 'maybe' is not one of "
                "'metastatic IMN', 'not metastatic', 'unsure'; this decision is ignored",
            ),
            (
                where + "a_reader1.xlsx",
                "sheet 'review', row 7: unknown item_id '0123456789abcdef'; row skipped",
            ),
            (
                where + "c_wrong.xlsx",
                "no sheet with an item_id column in row 1 (sheets: 'notes'); return the "
                "'review' sheet of worklist.xlsx",
            ),
            (
                where + "d_reader2.csv",
                "returned CSV: character set does not fit the declared utf-8; decoded as "
                "gb18030 (fallback); decisions read",
            ),
        ]
    )
    assert summary["errors"] == 5 and summary["returned_files"] == 4
    # Nothing else lost: item 0 agreed positive (A + B), 1 agreed negative and 2 positive
    # (A + the GB18030 CSV), item 4 keeps reader 2's "unsure" from the row with the bad value.
    decided = {r["item_id"]: r for r in _rows(reviewed_out, "decided")}
    assert set(decided) == {ids[0], ids[1], ids[2]}
    assert decided[ids[1]]["reader_2_comment"] == "未见异常"
    assert decided[ids[1]]["reader_2_initials"] == "王"
    assert decided[ids[1]]["reader_1_decision"] == "not metastatic"  # canonical spelling
    pending = {r["item_id"]: r for r in _rows(reviewed_out)}
    assert pending[ids[3]]["needs"] == "reader_1, reader_2"
    assert pending[ids[4]]["needs"] == "reader_1"
    assert pending[ids[4]]["reader_2_decision"] == ""  # hidden until both have answered
    cohort = pd.read_csv(reviewed_out / "cohort.csv", dtype=str, keep_default_na=False)
    statuses = dict(zip(cohort["patient_key"], cohort["review_status"], strict=True))
    keys = {r["PatientID"]: r["patient_key"] for r in pending.values()} | {
        r["PatientID"]: r["patient_key"] for r in decided.values()
    }
    assert statuses[keys["P001"]] == "positive"
    assert statuses[keys["P002"]] == "positive"
    assert statuses[keys["P004"]] == "not_reviewed"
    assert statuses[keys["P005"]] == "pending"
    annotate = pd.read_csv(reviewed_out / "restricted" / "review" / "to_annotate.csv", dtype=str)
    assert sorted(annotate["PatientID"]) == ["P001", "P002"]


def test_conflicting_returns_are_reported_not_overwritten(
    reviewed_out: Path, config: Config
) -> None:
    first = _rows(reviewed_out)[0]["item_id"]
    _fill(reviewed_out, "r1.xlsx", {0: {"reader_1_decision": "metastatic IMN"}})
    run_review(reviewed_out, config, SECRET, now=T1)
    at = [r["item_id"] for r in _rows(reviewed_out)].index(first)
    assert at == 4  # now awaiting reader 2: after the new items
    _fill(reviewed_out, "r1_again.xlsx", {at: {"reader_1_decision": "not metastatic"}})
    run_review(reviewed_out, config, SECRET, now=T1 + dt.timedelta(hours=1))
    assert _errors(reviewed_out) == [
        (
            "restricted/review/returned/r1_again.xlsx",
            f"row 6: conflicting reader_1 decisions for item {first}: 'not metastatic' here, "
            f"'metastatic IMN' in r1.xlsx, sheet 'review', row 2; the recorded "
            "'metastatic IMN' is kept",
        )
    ]
    state = (reviewed_out / "restricted" / "review" / "state.json").read_text("utf-8")
    assert '"decision": "metastatic IMN"' in state and "not metastatic" not in state
    # Editing the original return changes the decision (no conflict left once both agree).
    from openpyxl import load_workbook as load

    returned = reviewed_out / "restricted" / "review" / "returned" / "r1.xlsx"
    edited = load(returned)
    edited["review"]["N2"] = "not metastatic"
    edited.save(returned)
    summary = run_review(reviewed_out, config, SECRET, now=T1 + dt.timedelta(hours=2))
    assert _errors(reviewed_out) == [] and summary["decisions_changed"] == 1


def test_workbook_edited_in_place_is_kept(reviewed_out: Path, config: Config) -> None:
    folder = reviewed_out / "restricted" / "review"
    first = _rows(reviewed_out)[0]["item_id"]
    workbook = load_workbook(folder / "worklist.xlsx")
    workbook["review"]["N2"] = "unsure"
    workbook.save(folder / "worklist.xlsx")
    summary = run_review(reviewed_out, config, SECRET, now=T1)
    assert summary["decisions_added"] == 1
    assert [p.name for p in (folder / "returned").iterdir()] == [
        "edited-2026-01-06T020000Z-worklist.xlsx"
    ]
    assert {r["item_id"]: r["needs"] for r in _rows(reviewed_out)}[first] == "reader_2"


@pytest.mark.parametrize("bad", [b"\x00\x01garbage", b"PK\x03\x04broken"])
def test_unreadable_workbook_is_listed(reviewed_out: Path, config: Config, bad: bytes) -> None:
    (reviewed_out / "restricted" / "review" / "returned" / "x.xlsx").write_bytes(bad)
    run_review(reviewed_out, config, SECRET, now=T1)
    (path, reason), *rest = _errors(reviewed_out)
    assert path == "restricted/review/returned/x.xlsx" and not rest
    assert reason.startswith("not a readable Excel workbook (")
