"""The reviewers' workbook (xlsx and CSV) and reading completed ones back (file io).

``worklist.xlsx`` has two sheets: ``review`` (new and pending items, new first) and
``decided``. Both carry the same columns (:data:`WORKBOOK_COLUMNS`); the decision columns
have drop-down lists of :data:`~imncohort.review.model.DECISIONS`. On the ``review`` sheet
a reader's earlier decision is shown only when the item waits for a consensus, so each
reader answers without seeing the other's answer (the seed's "independently").
``worklist.csv`` holds the rows of both sheets, UTF-8 with a byte-order mark so that
Excel shows Chinese text correctly.

Reading back: every ``*.xlsx`` / ``*.xlsm`` / ``*.csv`` of the returned folder is read as
far as it is valid; each problem is a :class:`~imncohort.review.model.Problem` with the
file and row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from imncohort.errors import InputError
from imncohort.outputs import atomic_open, atomic_path
from imncohort.reports.charset import decode_text
from imncohort.review.items import marked_sentence, sentence_segments
from imncohort.review.model import CONSENSUS, DECISIONS, NEW, SLOTS, Decision, Problem
from imncohort.schemas.review import DECISION_COLUMNS, WORKBOOK_COLUMNS

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

REVIEW_SHEET = "review"
DECIDED_SHEET = "decided"
_WIDTHS = {
    "item_id": 18,
    "status": 16,
    "needs": 18,
    "first_seen": 18,
    "PatientID": 14,
    "AccessionNumber": 16,
    "date": 11,
    "modality": 9,
    "side": 9,
    "intercostal_space": 10,
    "size": 12,
    "assertion": 10,
    "sentence": 70,
    "outcome": 12,
    "patient_key": 18,
    "StudyInstanceUID": 30,
    "report_id": 30,
}
_DECISION_SLOTS = {f"{slot}_decision": slot for slot in SLOTS}
_ITEM_ID = re.compile(r"^[0-9a-f]{16}$")
RETURNED_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def _date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if re.fullmatch(r"\d{8}", value) else value


def workbook_rows(items: pd.DataFrame, statuses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the rows of the ``review`` and ``decided`` sheets (:data:`WORKBOOK_COLUMNS`).

    ``review``: undecided items, new ones first, then by patient, date and report; a
    reader's decision is shown only for items that wait for a consensus. ``decided``:
    decided items with every decision, by patient, date and report (pure).
    """
    joined = items.merge(statuses, on="item_id", how="inner", validate="one_to_one")
    joined = joined.assign(
        date=joined["study_date"].map(_date),
        intercostal_space=joined["intercostal_spaces"],
        sentence=[
            marked_sentence(s, term, trigger)
            for s, term, trigger in zip(
                joined["sentence"], joined["term"], joined["trigger"], strict=True
            )
        ],
    )
    order = ["PatientID", "study_date", "report_id", "item_id"]
    review = joined[joined["status"] != "decided"].copy()
    hidden = review["needs"] != CONSENSUS
    for column in DECISION_COLUMNS:
        review.loc[hidden, column] = ""
    review["_new"] = (review["status"] != NEW).astype(int)
    review = review.sort_values(["_new", *order], kind="stable")
    decided = joined[joined["status"] == "decided"].sort_values(order, kind="stable")
    return (
        review[WORKBOOK_COLUMNS].reset_index(drop=True),
        decided[WORKBOOK_COLUMNS].reset_index(drop=True),
    )


def _fill_sheet(sheet: Worksheet, rows: pd.DataFrame, segments: dict[str, Any]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE3F0")
    new_fill = PatternFill("solid", fgColor="FFF2CC")
    for n, column in enumerate(WORKBOOK_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=n, value=column)
        cell.font = header_font
        cell.fill = header_fill
        width = _WIDTHS.get(column, 16 if column.endswith("_decision") else 12)
        sheet.column_dimensions[get_column_letter(n)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    sentence_column = WORKBOOK_COLUMNS.index("sentence") + 1
    for r, values in enumerate(rows.itertuples(index=False, name=None), start=2):
        for n, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=n)
            rich = segments.get(values[0]) if n == sentence_column else None
            if rich is not None and not isinstance(rich, str):
                cell.value = rich
            else:
                cell.value = str(value)
                cell.data_type = "s"  # a sentence starting with "=" is text, not a formula
            cell.alignment = wrap if n == sentence_column else top
            if values[1] == NEW and n <= 2:
                cell.fill = new_fill
    sheet.freeze_panes = "B2"
    last = max(2, len(rows) + 1)
    choices = '"' + ",".join(DECISIONS) + '"'
    validation = DataValidation(
        type="list",
        formula1=choices,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not an allowed decision",
        error="Choose metastatic IMN, not metastatic or unsure.",
    )
    sheet.add_data_validation(validation)
    for column in _DECISION_SLOTS:
        letter = get_column_letter(WORKBOOK_COLUMNS.index(column) + 1)
        validation.add(f"{letter}2:{letter}{last}")
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(WORKBOOK_COLUMNS))}{last}"


def _rich_sentences(items: pd.DataFrame) -> dict[str, Any]:
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    bold = InlineFont(b=True)
    trigger = InlineFont(b=True, color="C00000")
    result: dict[str, Any] = {}
    for item, sentence, term, trig in zip(
        items["item_id"], items["sentence"], items["term"], items["trigger"], strict=True
    ):
        pieces = sentence_segments(sentence, term, trig)
        if not any(kind for _, kind in pieces):
            result[item] = sentence
            continue
        parts: list[Any] = []
        for text, kind in pieces:
            if kind == "term":
                parts.append(TextBlock(bold, f"[{text}]"))
            elif kind == "trigger":
                parts.append(TextBlock(trigger, f"«{text}»"))
            else:
                parts.append(text)
        result[item] = CellRichText(*parts)
    return result


def write_workbook(
    review: pd.DataFrame, decided: pd.DataFrame, items: pd.DataFrame, target: Path
) -> Path:
    """Write ``worklist.xlsx`` (sheets ``review`` and ``decided``) atomically."""
    from openpyxl import Workbook

    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = REVIEW_SHEET
    segments = _rich_sentences(items)
    _fill_sheet(first, review, segments)
    _fill_sheet(workbook.create_sheet(DECIDED_SHEET), decided, segments)
    with atomic_path(target) as tmp:
        workbook.save(tmp)
    return Path(target)


def write_worklist_csv(review: pd.DataFrame, decided: pd.DataFrame, target: Path) -> Path:
    """Write the rows of both sheets as CSV, UTF-8 with BOM (Excel and Chinese), atomically."""
    with atomic_open(target, encoding="utf-8-sig") as handle:
        pd.concat([review, decided], ignore_index=True).to_csv(handle, index=False)
    return Path(target)


def sheet_values(path: Path) -> dict[str, list[list[str]]]:
    """Return every sheet of a workbook as rows of cell texts (for tests and reading back)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            sheet.title: [
                ["" if v is None else str(v) for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
            for sheet in workbook.worksheets
        }
    finally:
        workbook.close()


@dataclass
class ReadResult:
    """What the returned files gave: valid decisions, problems, the files read."""

    decisions: list[Decision] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\s+", " ", str(value)).strip()


_CANONICAL = {d.lower(): d for d in DECISIONS}


def _shown(value: str) -> str:
    return value if len(value) <= 30 else value[:27] + "..."


def parse_rows(
    source: str,
    sheet: str,
    rows: Sequence[Sequence[Any]],
    known: set[str],
    result: ReadResult,
) -> bool:
    """Read one sheet's rows (row 1 = header) into ``result``; return False without header."""
    if not rows:
        return False
    header = [_text(v).lower() for v in rows[0]]
    if "item_id" not in header:
        return False
    where = f"sheet '{sheet}', " if sheet else ""
    column = {name: header.index(name) for name in header if name}
    slots = [s for s in SLOTS if f"{s}_decision" in column]
    if not slots:
        result.problems.append(
            Problem(source, f"{where}row 1: no decision column (reader_1_decision, ...)")
        )
        return True

    def cell(values: Sequence[Any], name: str) -> str:
        at = column.get(name)
        return _text(values[at]) if at is not None and at < len(values) else ""

    for number, values in enumerate(rows[1:], start=2):
        item = cell(values, "item_id").lower()
        filled = {
            s: (
                cell(values, f"{s}_decision"),
                cell(values, f"{s}_initials"),
                cell(values, f"{s}_comment"),
            )
            for s in slots
        }
        if not any(any(v) for v in filled.values()):
            continue
        if not item:
            result.problems.append(
                Problem(source, f"{where}row {number}: decisions without an item_id; row skipped")
            )
            continue
        if item not in known:
            shown = f"'{item}'" if _ITEM_ID.match(item) else "a value that is not an item id"
            result.problems.append(
                Problem(source, f"{where}row {number}: unknown item_id {shown}; row skipped")
            )
            continue
        for slot in slots:
            decision, initials, comment = filled[slot]
            name = f"{slot}_decision"
            if not decision:
                if initials or comment:
                    result.problems.append(
                        Problem(
                            source,
                            f"{where}row {number}: {slot} initials or comment given but "
                            f"{name} is empty; nothing recorded for {slot}",
                        )
                    )
                continue
            canonical = _CANONICAL.get(decision.lower())
            if canonical is None:
                allowed = ", ".join(f"'{d}'" for d in DECISIONS)
                result.problems.append(
                    Problem(
                        source,
                        f"{where}row {number}: {name} '{_shown(decision)}' is not one of "
                        f"{allowed}; this decision is ignored",
                    )
                )
                continue
            result.decisions.append(
                Decision(item, slot, canonical, initials, comment, source, sheet, number)
            )
    return True


def _read_xlsx(path: Path, known: set[str], result: ReadResult) -> None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError ... on bad files
        result.problems.append(
            Problem(path.name, f"not a readable Excel workbook ({type(exc).__name__}); skipped")
        )
        return
    try:
        found = False
        names = [s.title for s in workbook.worksheets]
        for sheet in workbook.worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            if parse_rows(path.name, sheet.title, rows, known, result):
                found = True
            elif sheet.title in (REVIEW_SHEET, DECIDED_SHEET):
                result.problems.append(
                    Problem(
                        path.name,
                        f"sheet '{sheet.title}', row 1: no item_id column; sheet skipped",
                    )
                )
        if not found:
            shown = ", ".join(f"'{_shown(n)}'" for n in names)
            result.problems.append(
                Problem(
                    path.name,
                    f"no sheet with an item_id column in row 1 (sheets: {shown}); return the "
                    f"'{REVIEW_SHEET}' sheet of worklist.xlsx",
                )
            )
    finally:
        workbook.close()


def _read_csv(path: Path, known: set[str], fallbacks: Sequence[str], result: ReadResult) -> None:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        decoded = decode_text(raw, ("utf-8",), fallbacks, what="returned CSV")
    except InputError as exc:
        result.problems.append(Problem(path.name, f"{exc}; skipped"))
        return
    if decoded.note:
        result.problems.append(Problem(path.name, decoded.note + "; decisions read"))
    rows = list(csv.reader(io.StringIO(decoded.text, newline="")))
    if not parse_rows(path.name, "", rows, known, result):
        result.problems.append(
            Problem(path.name, "row 1: no item_id column; return worklist.csv with its header")
        )


def returned_files(folder: Path) -> list[Path]:
    """Return the workbooks and CSVs of the returned folder, by name (lock files left out)."""
    if not Path(folder).is_dir():
        return []
    return sorted(
        p
        for p in Path(folder).iterdir()
        if p.is_file()
        and p.suffix.lower() in RETURNED_SUFFIXES
        and not p.name.startswith(("~$", ".", ".~lock"))
    )


def read_returned(
    files: Iterable[Path], known: set[str], fallbacks: Sequence[str] = ("utf-8", "gb18030")
) -> ReadResult:
    """Read every returned file; decisions for ``known`` item ids only."""
    result = ReadResult()
    for path in files:
        result.files.append(path.name)
        if path.suffix.lower() == ".csv":
            _read_csv(path, known, fallbacks, result)
        else:
            _read_xlsx(path, known, result)
    return result
