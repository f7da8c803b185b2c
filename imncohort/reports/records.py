"""The records every report reader returns: a source, a report's text, an extraction.

The readers themselves live one per format: :mod:`imncohort.reports.sr` (DICOM SR and
Encapsulated PDF objects), :mod:`imncohort.reports.pdf` (PDF files),
:mod:`imncohort.reports.report_tables` (CSV/Excel report tables);
:func:`imncohort.reports.sources.read_source` picks one by the source's kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord

STAGE = "reports"
_DATE = re.compile(r"^\s*(\d{4})[-/.]?(\d{2})[-/.]?(\d{2})")


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


def normalize_date(value: object) -> str:
    """Return ``YYYYMMDD`` for a DICOM or ISO-like date (``2020-01-05 00:00``), else ``""``."""
    if value is None:
        return ""
    match = _DATE.match(str(value))
    return "".join(match.groups()) if match else ""


def check_text(text: str, what: str) -> None:
    if "\ufffd" in text:
        raise InputError(
            f"{what} holds replacement characters (undecodable text); the report was skipped"
        )
