"""Read one report source of any kind: the reader is picked by the source's ``kind``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from imncohort.config import ReportColumns
from imncohort.outputs import ErrorRecord
from imncohort.reports.pdf import read_pdf_file
from imncohort.reports.records import STAGE, Extraction, ReportSource
from imncohort.reports.report_tables import read_table
from imncohort.reports.sr import read_dicom_report

logger = logging.getLogger(__name__)


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
        logger.warning("unexpected failure reading a report source: %s", type(exc).__name__)
        return Extraction(errors=[ErrorRecord(source.path, STAGE, f"unexpected error: {exc}")])
    return Extraction(
        errors=[ErrorRecord(source.path, STAGE, f"unknown report source kind {source.kind!r}")]
    )
