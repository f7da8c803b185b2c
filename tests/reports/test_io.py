"""Report text extraction: SR classes, character sets, Encapsulated PDF, CSV and XLSX tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imncohort.config import load_config
from imncohort.errors import InputError
from imncohort.reports.charset import decode_text
from imncohort.reports.records import ReportSource
from imncohort.reports.sources import read_source

from .conftest import (
    BASIC_TEXT_SR,
    COMPREHENSIVE_SR,
    ENHANCED_SR,
    code_item,
    container,
    pdf_bytes,
    text_item,
    write_encapsulated_pdf,
    write_sr,
)

CONFIG = load_config()
COLUMNS = CONFIG.reports.columns
FALLBACKS = CONFIG.reports.fallback_encodings
ZH = "左侧内乳淋巴结肿大，位于第二肋间。"


def _read(export: Path, path: str, kind: str = "sr"):  # type: ignore[no-untyped-def]
    return read_source(export, ReportSource(path, kind), COLUMNS, FALLBACKS)


@pytest.mark.parametrize("sop_class", [BASIC_TEXT_SR, ENHANCED_SR, COMPREHENSIVE_SR])
def test_sr_text_with_headings_from_concept_names(export: Path, sop_class: str) -> None:
    content = [
        text_item("History", "Left breast cancer."),
        container(
            "Findings",
            [text_item("Finding", "Enlarged left IMN."), code_item("Laterality", "Left")],
        ),
        text_item("Impression", "Possible IMN metastasis."),
    ]
    write_sr(export / "a" / "sr1", content, sop_class=sop_class)
    got = _read(export, "a/sr1")
    assert got.errors == []
    (report,) = got.reports
    assert report.text == (
        "HISTORY:\nLeft breast cancer.\n\nFINDINGS:\n\nFINDING:\nEnlarged left IMN."
        "\n\nLaterality: Left.\n\nIMPRESSION:\nPossible IMN metastasis."
    )
    assert (report.report_id, report.source, report.patient_id) == (
        "1.2.826.0.1.3680043.8.498.1",
        "sr",
        "PAT001",
    )
    assert report.study_date == "20200105"


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("ISO_IR 192", "utf-8"), ("GB18030", "gb18030")],
)
def test_sr_declared_chinese_charsets(export: Path, charset: str, encoding: str) -> None:
    write_sr(export / "zh.dcm", [text_item("检查所见", ZH)], charset=charset)
    got = _read(export, "zh.dcm")
    assert got.errors == []
    assert got.reports[0].text == f"检查所见:\n{ZH}"


def test_sr_latin1(export: Path) -> None:
    write_sr(export / "l1.dcm", [text_item("Findings", "Résumé: no IMN.")], charset="ISO_IR 100")
    got = _read(export, "l1.dcm")
    assert (got.reports[0].text, got.errors) == ("FINDINGS:\nRésumé: no IMN.", [])


def test_sr_mixed_english_and_chinese(export: Path) -> None:
    text = "Left IMN 1.2 x 0.8 cm；左侧内乳淋巴结肿大。"
    write_sr(export / "mix.dcm", [text_item("Findings", text)], charset="ISO_IR 192")
    assert _read(export, "mix.dcm").reports[0].text == f"FINDINGS:\n{text}"


def test_sr_wrong_charset_is_decoded_by_fallback_and_recorded(export: Path) -> None:
    write_sr(
        export / "wrong.dcm", [text_item("Findings", ZH.encode("gb18030"))], charset="ISO_IR 100"
    )
    got = _read(export, "wrong.dcm")
    assert got.reports[0].text == f"FINDINGS:\n{ZH}"
    (error,) = got.errors
    assert error.path == "wrong.dcm"
    assert "does not fit the declared ISO_IR 100; decoded as gb18030" in error.reason


def test_sr_undeclared_utf8_is_decoded_by_fallback(export: Path) -> None:
    write_sr(export / "undeclared.dcm", [text_item("Findings", ZH.encode("utf-8"))], charset=None)
    got = _read(export, "undeclared.dcm")
    assert got.reports[0].text == f"FINDINGS:\n{ZH}"
    assert "undeclared; decoded as utf-8" in got.errors[0].reason


def test_undecodable_sr_is_skipped_and_recorded(export: Path) -> None:
    write_sr(
        export / "junk.dcm", [text_item("Findings", b"\x81\x00\x01\xff\xfe IMN")], charset=None
    )
    got = _read(export, "junk.dcm")
    assert got.reports == []
    assert "cannot decode the text" in got.errors[0].reason


def test_non_dicom_sr_path_is_recorded_not_raised(export: Path) -> None:
    (export / "broken.dcm").write_bytes(b"not dicom at all")
    got = _read(export, "broken.dcm")
    assert got.reports == []
    assert len(got.errors) == 1


@pytest.mark.parametrize(
    ("raw", "declared", "text", "encoding"),
    [
        (ZH.encode("gb18030"), ["GB18030"], ZH, "gb18030"),
        (ZH.encode("utf-8"), ["ISO_IR 192"], ZH, "utf-8"),
        ("café".encode("latin-1"), ["ISO_IR 100"], "café", "iso8859-1"),
        ("café au lait".encode("latin-1"), [], "café au lait", "iso8859-1"),
        (ZH.encode("utf-8"), ["ISO_IR 100"], ZH, "utf-8"),
    ],
)
def test_decode_text(raw: bytes, declared: list[str], text: str, encoding: str) -> None:
    decoded = decode_text(raw, declared)
    assert (decoded.text, decoded.encoding) == (text, encoding)


def test_decode_never_returns_mojibake() -> None:
    with pytest.raises(InputError, match="none gave plausible text"):
        decode_text(ZH.encode("gb18030"), ["ISO_IR 100"], fallbacks=["latin-1"])


def test_encapsulated_pdf_text_layer(export: Path) -> None:
    data = pdf_bytes(["FINDINGS:", "Enlarged left IMN in the 2nd ICS."])
    write_encapsulated_pdf(export / "doc.dcm", data)
    got = _read(export, "doc.dcm", "pdf")
    assert got.errors == []
    (report,) = got.reports
    assert report.source == "pdf"
    assert "Enlarged left IMN in the 2nd ICS." in report.text
    assert report.patient_id == "PAT002"


def test_pdf_file_links_through_patient_id_line(export: Path) -> None:
    (export / "r.pdf").write_bytes(pdf_bytes(["Patient ID: P77", "Possible right IMN."]))
    got = _read(export, "r.pdf", "pdf_file")
    assert got.reports[0].patient_id == "P77"
    (export / "anon.pdf").write_bytes(pdf_bytes(["Possible right IMN."]))
    got = _read(export, "anon.pdf", "pdf_file")
    assert got.reports == []
    assert "cannot be linked" in got.errors[0].reason


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PatientID": ["P1", "P2", ""],
            "AccessionNumber": ["A1", "A2", "A3"],
            "StudyInstanceUID": ["1.2.3", "", ""],
            "Modality": ["CT", "PET/CT", "MR"],
            "StudyDate": ["2020-01-05", "20200202", "20200303"],
            "ReportText": ["FINDINGS: Left IMN.", ZH, "No IMN."],
        }
    )


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_report_table(export: Path, encoding: str) -> None:
    _rows().to_csv(export / "ris.csv", index=False, encoding=encoding)
    got = _read(export, "ris.csv", "table")
    assert [r.report_id for r in got.reports] == ["ris.csv#1", "ris.csv#2"]
    assert [r.text for r in got.reports] == ["FINDINGS: Left IMN.", ZH]
    assert [r.study_date for r in got.reports] == ["20200105", "20200202"]
    assert [r.modality for r in got.reports] == ["CT", "PET/CT"]
    reasons = [e.reason for e in got.errors]
    assert "1 row(s) without PatientID; they were skipped" in reasons
    assert any("gb18030" in r for r in reasons) == (encoding == "gb18030")


def test_xlsx_report_table(export: Path) -> None:
    _rows().to_excel(export / "ris.xlsx", index=False)
    got = _read(export, "ris.xlsx", "table")
    assert [(r.report_id, r.patient_id, r.accession) for r in got.reports] == [
        ("ris.xlsx#1", "P1", "A1"),
        ("ris.xlsx#2", "P2", "A2"),
    ]
    assert got.reports[1].text == ZH


def test_table_without_text_column_is_not_a_report_table(export: Path) -> None:
    pd.DataFrame({"PatientID": ["P1"], "group": ["initial"]}).to_csv(
        export / "clinical.csv", index=False
    )
    got = _read(export, "clinical.csv", "table")
    assert (got.reports, got.errors) == ([], [])
