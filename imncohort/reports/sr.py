"""Read the text of DICOM report objects: SR (any storage class) and Encapsulated PDF.

Each reader returns an :class:`~imncohort.reports.records.Extraction` and never raises
for a bad input: a file that cannot be read becomes an error record; a text decoded by
the character-set fallback is read *and* recorded (see :mod:`imncohort.reports.charset`).

SR text: the content tree is walked depth first; a CONTAINER's or TEXT item's
concept name becomes a heading line (``FINDINGS:``); TEXT values are the body;
CODE and NUM items become ``Name: value.`` lines. The root container's concept
name (the document title) is left out. An Encapsulated PDF's text layer is read by
:func:`imncohort.reports.pdf.pdf_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.reports.charset import decode_text
from imncohort.reports.pdf import ENCAPSULATED_PDF, pdf_text
from imncohort.reports.records import (
    STAGE,
    Extraction,
    ReportSource,
    ReportText,
    check_text,
    normalize_date,
)

if TYPE_CHECKING:
    from pydicom import Dataset

SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_TEXT_VALUE = 0x0040A160
_CODE_MEANING = 0x00080104


def _charsets(ds: Dataset) -> list[str]:
    value = ds.get("SpecificCharacterSet", "")
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _decoded(
    item: Dataset,
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
    item: Dataset, charsets: Sequence[str], fallbacks: Sequence[str], notes: list[str]
) -> str:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        return ""
    return _decoded(seq[0], _CODE_MEANING, charsets, fallbacks, "SR concept name", notes)


def _walk(
    items: Iterable[Dataset],
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
    ds: Dataset, fallbacks: Sequence[str] = ("utf-8", "gb18030", "latin-1")
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


def _header_text(ds: Dataset, keyword: str, fallbacks: Sequence[str], notes: list[str]) -> str:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        return ""
    try:
        return _decoded(ds, tag, _charsets(ds), fallbacks, keyword, notes)
    except InputError as exc:
        notes.append(str(exc))
        return ""


def _identity(ds: Dataset, fallbacks: Sequence[str], notes: list[str]) -> dict[str, str]:
    return {
        "patient_id": _header_text(ds, "PatientID", fallbacks, notes),
        "accession": _header_text(ds, "AccessionNumber", fallbacks, notes),
        "study_uid": str(ds.get("StudyInstanceUID", "") or ""),
        "study_date": normalize_date(ds.get("StudyDate") or ds.get("ContentDate") or ""),
        "study_description": _header_text(ds, "StudyDescription", fallbacks, notes),
    }


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
        check_text(text, "the report text")
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
