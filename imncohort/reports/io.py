"""Read report text: DICOM SR (any storage class), Encapsulated PDF, PDF files, report tables.

All file reading of the reports stage lives here. Each reader returns
:class:`ReportText` records and :class:`~imncohort.outputs.ErrorRecord` notes and
never raises for a bad input: a file that cannot be read becomes an error
record; a text decoded by the character-set fallback is read *and* recorded
(see :mod:`imncohort.reports.charset`).

SR text: the content tree is walked depth first; a CONTAINER's or TEXT item's
concept name becomes a heading line (``FINDINGS:``); TEXT values are the body;
CODE and NUM items become ``Name: value.`` lines. The root container's concept
name (the document title) is left out.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import ReportColumns
from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.reports.charset import decode_text

log = logging.getLogger(__name__)

STAGE = "reports"
SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
_TEXT_VALUE = 0x0040A160
_CODE_MEANING = 0x00080104
_DATE = re.compile(r"^\s*(\d{4})[-/.]?(\d{2})[-/.]?(\d{2})")
_PDF_PATIENT = re.compile(
    r"(?:patient\s*id|mrn|患者\s*id|病人\s*id|病历号|住院号|门诊号)\s*[:：#]?\s*([A-Za-z0-9._\-]+)",
    re.IGNORECASE,
)
_PDF_ACCESSION = re.compile(
    r"(?:accession(?:\s*(?:no\.?|number|#))?|检查号|影像号)\s*[:：#]?\s*([A-Za-z0-9._\-]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReportSource:
    """One report input: ``kind`` is ``sr``, ``pdf`` (DICOM), ``pdf_file`` or ``table``."""

    path: str
    kind: str


@dataclass(frozen=True)
class ReportText:
    """One report's text with the identifiers found next to it (restricted data)."""

    report_id: str
    source: str
    source_path: str
    patient_id: str
    accession: str
    study_uid: str
    study_date: str
    modality: str
    study_description: str
    text: str


@dataclass
class Extraction:
    """Reports read from some sources, and the error records they produced."""

    reports: list[ReportText] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)


def normalize_date(value: Any) -> str:
    """Return ``YYYYMMDD`` for a DICOM or ISO-like date (``2020-01-05 00:00``), else ``""``."""
    if value is None:
        return ""
    match = _DATE.match(str(value))
    return "".join(match.groups()) if match else ""


def _charsets(ds: Any) -> list[str]:
    value = ds.get("SpecificCharacterSet", "")
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _decoded(
    item: Any,
    tag: int,
    charsets: Sequence[str],
    fallbacks: Sequence[str],
    what: str,
    notes: list[str],
) -> str:
    """Decode one text element from its raw bytes (bypassing pydicom's lenient decoding)."""
    element = item.get_item(tag) if hasattr(item, "get_item") else None
    if element is None:
        return ""
    value = element.value
    if isinstance(value, bytes):
        decoded = decode_text(value.rstrip(b"\x00 "), charsets, fallbacks, what)
        if decoded.note and decoded.note not in notes:
            notes.append(decoded.note)
        return decoded.text.strip()
    return str(value or "").strip()


def _concept_name(
    item: Any, charsets: Sequence[str], fallbacks: Sequence[str], notes: list[str]
) -> str:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return ""
    return _decoded(seq[0], _CODE_MEANING, charsets, fallbacks, "SR concept name", notes)


def _walk(
    items: Iterable[Any],
    charsets: Sequence[str],
    fallbacks: Sequence[str],
    lines: list[str],
    notes: list[str],
) -> None:
    for item in items:
        value_type = str(item.get("ValueType", "")).upper()
        name = _concept_name(item, charsets, fallbacks, notes)
        heading = f"{name.upper()}:" if name else ""
        if value_type == "CONTAINER":
            if heading:
                lines.append(heading)
        elif value_type == "TEXT":
            text = _decoded(item, _TEXT_VALUE, charsets, fallbacks, "SR TextValue", notes)
            if text:
                lines.append(f"{heading}\n{text}" if heading else text)
        elif value_type == "CODE":
            codes = item.get("ConceptCodeSequence")
            if codes:
                meaning = _decoded(
                    codes[0], _CODE_MEANING, charsets, fallbacks, "SR code meaning", notes
                )
                if meaning:
                    lines.append(f"{name}: {meaning}." if name else f"{meaning}.")
        elif value_type == "NUM":
            measured = item.get("MeasuredValueSequence")
            if measured:
                number = measured[0].get("NumericValue", "")
                units = measured[0].get("MeasurementUnitsCodeSequence")
                unit = str(units[0].get("CodeValue", "")) if units else ""
                lines.append(f"{name}: {number} {unit}.".replace(" .", "."))
        children = item.get("ContentSequence")
        if children:
            _walk(children, charsets, fallbacks, lines, notes)


def sr_text(
    ds: Any, fallbacks: Sequence[str] = ("utf-8", "gb18030", "latin-1")
) -> tuple[str, list[str]]:
    """Return the text of an SR dataset (headings from concept names) and decode notes.

    Raises
    ------
    InputError
        When a text value cannot be decoded by any codec.
    """
    charsets = _charsets(ds)
    lines: list[str] = []
    notes: list[str] = []
    _walk(ds.get("ContentSequence") or [], charsets, fallbacks, lines, notes)
    return "\n\n".join(lines), notes


def _header_text(ds: Any, keyword: str, fallbacks: Sequence[str], notes: list[str]) -> str:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        return ""
    try:
        return _decoded(ds, tag, _charsets(ds), fallbacks, keyword, notes)
    except InputError as exc:
        notes.append(str(exc))
        return ""


def _identity(ds: Any, fallbacks: Sequence[str], notes: list[str]) -> dict[str, str]:
    return {
        "patient_id": _header_text(ds, "PatientID", fallbacks, notes),
        "accession": _header_text(ds, "AccessionNumber", fallbacks, notes),
        "study_uid": str(ds.get("StudyInstanceUID", "") or ""),
        "study_date": normalize_date(ds.get("StudyDate") or ds.get("ContentDate") or ""),
        "study_description": _header_text(ds, "StudyDescription", fallbacks, notes),
    }


def pdf_text(data: bytes) -> str:
    """Return the text layer of a PDF document (pages joined by blank lines).

    Raises
    ------
    InputError
        When the bytes are not a readable PDF.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _check_text(text: str, what: str) -> None:
    if "\ufffd" in text:
        raise InputError(
            f"{what} holds replacement characters (undecodable text); the report was skipped"
        )


def read_dicom_report(export: Path, source: ReportSource, fallbacks: Sequence[str]) -> Extraction:
    """Read one DICOM SR or Encapsulated PDF file of the export."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    out = Extraction()
    path = export_file(export, source.path)
    try:
        ds = pydicom.dcmread(path, force=True)
        sop_class = str(ds.get("SOPClassUID", ""))
        notes: list[str] = []
        if sop_class == ENCAPSULATED_PDF or source.kind == "pdf":
            data = ds.get("EncapsulatedDocument")
            if data is None:
                raise InputError("Encapsulated PDF without EncapsulatedDocument")
            text = pdf_text(bytes(data))
            kind = "pdf"
            if not text:
                raise InputError("the PDF has no text layer (a scanned image?); OCR is not done")
        else:
            text, notes = sr_text(ds, fallbacks)
            kind = "sr"
        _check_text(text, "the report text")
        identity = _identity(ds, fallbacks, notes)
        if not identity["patient_id"]:
            raise InputError("the report has no PatientID; it cannot be linked to a patient")
    except InputError as exc:
        out.errors.append(ErrorRecord(source.path, STAGE, str(exc)))
        return out
    except (InvalidDicomError, OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        out.errors.append(
            ErrorRecord(source.path, STAGE, f"cannot read the report ({type(exc).__name__}: {exc})")
        )
        return out
    for note in notes:
        out.errors.append(ErrorRecord(source.path, STAGE, f"read with a note: {note}"))
    out.reports.append(
        ReportText(
            report_id=str(ds.get("SOPInstanceUID", "") or source.path),
            source=kind,
            source_path=source.path,
            modality="",
            text=text,
            **identity,
        )
    )
    return out


def read_pdf_file(export: Path, source: ReportSource) -> Extraction:
    """Read a PDF file (not DICOM): linked through ``Patient ID:`` / ``Accession:`` in its text."""
    out = Extraction()
    try:
        text = pdf_text(export_file(export, source.path).read_bytes())
        if not text:
            raise InputError("the PDF has no text layer (a scanned image?); OCR is not done")
        _check_text(text, "the PDF text")
    except InputError as exc:
        out.errors.append(ErrorRecord(source.path, STAGE, str(exc)))
        return out
    except OSError as exc:
        out.errors.append(ErrorRecord(source.path, STAGE, f"cannot read the PDF ({exc.strerror})"))
        return out
    patient = _PDF_PATIENT.search(text)
    accession = _PDF_ACCESSION.search(text)
    if patient is None:
        out.errors.append(
            ErrorRecord(
                source.path,
                STAGE,
                "PDF file without DICOM header and without a 'Patient ID:' line; it cannot be "
                "linked to a patient (store it as Encapsulated PDF or list it in a report table)",
            )
        )
        return out
    out.reports.append(
        ReportText(
            report_id=source.path,
            source="pdf",
            source_path=source.path,
            patient_id=patient.group(1),
            accession=accession.group(1) if accession else "",
            study_uid="",
            study_date="",
            modality="",
            study_description="",
            text=text,
        )
    )
    return out


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
        log.debug("%s has no %r column: not a report table", source.path, columns.text)
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


def read_source(
    export: Path, source: ReportSource, columns: ReportColumns, fallbacks: Sequence[str]
) -> Extraction:
    """Read one report source of any kind; never raises for a bad input."""
    try:
        if source.kind in ("sr", "pdf"):
            return read_dicom_report(export, source, fallbacks)
        if source.kind == "pdf_file":
            return read_pdf_file(export, source)
        if source.kind == "table":
            return read_table(export, source, columns, fallbacks)
    except Exception as exc:  # last line of defence: one bad file never stops the stage
        log.warning("unexpected failure reading a report source: %s", type(exc).__name__)
        return Extraction(errors=[ErrorRecord(source.path, STAGE, f"unexpected error: {exc}")])
    return Extraction(
        errors=[ErrorRecord(source.path, STAGE, f"unknown report source kind {source.kind!r}")]
    )
