"""Read report tables (.csv or .xlsx exports of a RIS) with the configured column map.

A table's encoding is decoded like a report's text (:mod:`imncohort.reports.charset`),
line by line when its lines are in different encodings. Readers never raise for a bad
input: a table that cannot be read becomes an error record.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import ReportColumns
from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.reports.charset import decode_text
from imncohort.reports.records import STAGE, Extraction, ReportSource, ReportText, normalize_date

logger = logging.getLogger(__name__)


def _find_column(columns: Sequence[str], wanted: str) -> str | None:
    target = wanted.strip().lower()
    return next((c for c in columns if str(c).strip().lower() == target), None)


def _table_frame(
    path: Path, text_column: str, fallbacks: Sequence[str], notes: list[str]
) -> pd.DataFrame | None:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
        for frame in sheets.values():
            if _find_column([str(c) for c in frame.columns], text_column):
                return frame.fillna("")
        return None
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    head = raw[:4096]
    cut = head.rfind(b"\n")
    probe = head[: cut if cut > 0 else len(head)]
    try:
        header_text = decode_text(probe, ["utf-8"], fallbacks, "table header").text
    except InputError:
        header_text = probe.decode("latin-1")
    first_line = header_text.splitlines()[0] if header_text else ""
    if text_column.strip().lower() not in first_line.lower():
        return None
    try:
        decoded = decode_text(raw, ["utf-8"], fallbacks, "table")
        text = decoded.text
        if decoded.note:
            notes.append(decoded.note)
    except InputError:
        text = decode_lines(raw, fallbacks, notes)
    frame = pd.read_csv(
        io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python"
    )
    return frame


def _line_list(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def decode_lines(raw: bytes, fallbacks: Sequence[str], notes: list[str]) -> str:
    """Decode a table whose lines are in different encodings, line by line.

    Each line is decoded like a whole file (UTF-8, else the first plausible
    fallback); a line no codec fits keeps replacement characters, so its rows are
    skipped and listed by :func:`read_table`. The lines that needed a fallback are
    noted by codec.
    """
    by_codec: dict[str, list[int]] = {}
    bad: list[int] = []
    parts: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            decoded = decode_text(line, ["utf-8"], fallbacks, "table line")
        except InputError:
            bad.append(number)
            parts.append(line.decode("utf-8", "replace"))
            continue
        if decoded.note:
            by_codec.setdefault(decoded.encoding, []).append(number)
        parts.append(decoded.text)
    for codec, numbers in sorted(by_codec.items()):
        notes.append(
            f"table: mixed encodings; line(s) {_line_list(numbers)} are not UTF-8 and were "
            f"decoded as {codec} (fallback)"
        )
    if bad:
        notes.append(
            f"table: mixed encodings; line(s) {_line_list(bad)} fit no codec of "
            "reports.fallback_encodings; their rows are skipped"
        )
    return "\n".join(parts)


_MANGLED = re.compile(r"^(.*)\.(\d+)$")


def duplicated_columns(names: Sequence[str]) -> list[str]:
    """Notes for column names that appear more than once (pandas renames ``X`` to ``X.1``).

    Names are compared without surrounding spaces and case, as the column map does.
    """
    present = set(names)
    groups: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for position, name in enumerate(names, start=1):
        match = _MANGLED.match(name)
        base = match.group(1) if match and match.group(1) in present else name
        key = base.strip().lower()
        groups.setdefault(key, []).append(position)
        shown.setdefault(key, base.strip())
    return [
        f"report table has {len(positions)} columns named {shown[key]!r} (columns "
        f"{', '.join(str(p) for p in positions)}); only the first is read"
        for key, positions in groups.items()
        if len(positions) > 1
    ]


def read_table(
    export: Path, source: ReportSource, columns: ReportColumns, fallbacks: Sequence[str]
) -> Extraction:
    """Read a report table (.csv or .xlsx) with the configured column map.

    A table whose header lacks the mapped text column is not a report table and
    yields nothing (no error). Rows without text are skipped; rows without a
    patient ID are recorded and skipped.
    """
    out = Extraction()
    notes: list[str] = []
    try:
        frame = _table_frame(export_file(export, source.path), columns.text, fallbacks, notes)
    except InputError as exc:
        out.errors.append(ErrorRecord(source.path, STAGE, str(exc)))
        return out
    except Exception as exc:  # pandas / openpyxl raise many types on broken files
        out.errors.append(
            ErrorRecord(source.path, STAGE, f"cannot read the table ({type(exc).__name__}: {exc})")
        )
        return out
    if frame is None:
        logger.debug("a table without a %r column: not a report table", columns.text)
        return out
    names = [str(c) for c in frame.columns]
    for note in duplicated_columns(names):
        out.errors.append(ErrorRecord(source.path, STAGE, note))
    mapped = {
        key: _find_column(names, getattr(columns, key))
        for key in ("patient_id", "accession", "study_uid", "modality", "study_date", "text")
    }
    for note in notes:
        out.errors.append(ErrorRecord(source.path, STAGE, f"read with a note: {note}"))
    if mapped["patient_id"] is None:
        out.errors.append(
            ErrorRecord(
                source.path,
                STAGE,
                f"report table has no {columns.patient_id!r} column; "
                "set reports.columns.patient_id",
            )
        )
        return out
    missing_ids = 0
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    ]
    for number, row in enumerate(records, start=1):

        def cell(key: str, row: dict[str, Any] = row) -> str:
            column = mapped[key]
            return "" if column is None else str(row.get(column, "") or "").strip()

        text = cell("text")
        if not text:
            continue
        if "\ufffd" in text or any("\ufffd" in str(v) for v in row.values()):
            out.errors.append(
                ErrorRecord(source.path, STAGE, f"row {number}: undecodable text; skipped")
            )
            continue
        patient_id = cell("patient_id")
        if not patient_id:
            missing_ids += 1
            continue
        out.reports.append(
            ReportText(
                report_id=f"{source.path}#{number}",
                source="table",
                source_path=source.path,
                patient_id=patient_id,
                accession=cell("accession"),
                study_uid=cell("study_uid"),
                study_date=normalize_date(cell("study_date")),
                modality=cell("modality"),
                study_description="",
                text=text,
            )
        )
    if missing_ids:
        out.errors.append(
            ErrorRecord(
                source.path,
                STAGE,
                f"{missing_ids} row(s) without {columns.patient_id}; they were skipped",
            )
        )
    return out
