"""Read the text layer of PDF reports: PDF files of the export, and the bytes of an
Encapsulated PDF object (:func:`pdf_text`, used by :mod:`imncohort.reports.sr`).

A PDF file without a DICOM header is linked to a patient through the
``Patient ID:`` / ``Accession:`` lines of its text. Readers never raise for a bad
input: a file that cannot be read becomes an error record. No OCR is done.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.reports.records import STAGE, Extraction, ReportSource, ReportText, check_text

ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
_PDF_PATIENT = re.compile(
    r"(?:patient\s*id|mrn|患者\s*id|病人\s*id|病历号|住院号|门诊号)\s*[:：#]?\s*([A-Za-z0-9._\-]+)",
    re.IGNORECASE,
)
_PDF_ACCESSION = re.compile(
    r"(?:accession(?:\s*(?:no\.?|number|#))?|检查号|影像号)\s*[:：#]?\s*([A-Za-z0-9._\-]+)",
    re.IGNORECASE,
)


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


def read_pdf_file(export: Path, source: ReportSource) -> Extraction:
    """Read a PDF file (not DICOM): linked through ``Patient ID:`` / ``Accession:`` in its text."""
    out = Extraction()
    try:
        text = pdf_text(export_file(export, source.path).read_bytes())
        if not text:
            raise InputError("the PDF has no text layer (a scanned image?); OCR is not done")
        check_text(text, "the PDF text")
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
