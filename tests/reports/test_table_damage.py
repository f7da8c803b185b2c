"""Damaged report tables keep their good rows (issue 13): mixed encodings, repeated columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imncohort.config import load_config
from imncohort.reports.records import ReportSource
from imncohort.reports.report_tables import duplicated_columns
from imncohort.reports.sources import read_source

CONFIG = load_config()
ZH = "左侧内乳淋巴结肿大，位于第二肋间。"
FR = "Ganglion mammaire interne gauche présent."


def _read(export: Path, path: str):  # type: ignore[no-untyped-def]
    return read_source(
        export,
        ReportSource(path, "table"),
        CONFIG.reports.columns,
        CONFIG.reports.fallback_encodings,
    )


def test_mixed_encoding_csv_keeps_its_good_rows(export: Path) -> None:
    lines = [
        b"PatientID,Modality,ReportText",
        b"P1,CT,FINDINGS: Left IMN.",
        b"P2,CT," + ZH.encode("utf-8"),
        b"P3,CT," + ZH.encode("gb18030"),
        b"P4,MR," + FR.encode("latin-1"),
        b"P5,CT,\x81\x82\x83\x84 IMN",
        b"P6,CT,No IMN.",
    ]
    (export / "ris.csv").write_bytes(b"\n".join(lines) + b"\n")
    got = _read(export, "ris.csv")
    assert [(r.report_id, r.patient_id, r.text) for r in got.reports] == [
        ("ris.csv#1", "P1", "FINDINGS: Left IMN."),
        ("ris.csv#2", "P2", ZH),
        ("ris.csv#3", "P3", ZH),
        ("ris.csv#4", "P4", FR),
        ("ris.csv#6", "P6", "No IMN."),
    ]
    assert [e.reason for e in got.errors] == [
        "read with a note: table: mixed encodings; line(s) 4 are not UTF-8 and were decoded "
        "as gb18030 (fallback)",
        "read with a note: table: mixed encodings; line(s) 5 are not UTF-8 and were decoded "
        "as iso8859-1 (fallback)",
        "read with a note: table: mixed encodings; line(s) 6 fit no codec of "
        "reports.fallback_encodings; their rows are skipped",
        "row 5: undecodable text; skipped",
    ]
    assert {e.path for e in got.errors} == {"ris.csv"}


def test_undecodable_patient_id_skips_only_its_row(export: Path) -> None:
    lines = [
        b"PatientID,ReportText",
        b"P\x81\x82\x83\x84,Left IMN.",
        b"P2,Right IMN.",
    ]
    (export / "ris.csv").write_bytes(b"\r\n".join(lines))
    got = _read(export, "ris.csv")
    assert [(r.report_id, r.text) for r in got.reports] == [("ris.csv#2", "Right IMN.")]
    assert [e.reason for e in got.errors][-1] == "row 1: undecodable text; skipped"


def test_repeated_report_columns_are_reported(export: Path) -> None:
    (export / "ris.csv").write_text(
        "PatientID,ReportText,Modality,ReportText\nP1,Left IMN.,CT,other text\n",
        encoding="utf-8",
    )
    got = _read(export, "ris.csv")
    assert [(r.patient_id, r.text) for r in got.reports] == [("P1", "Left IMN.")]
    assert [e.reason for e in got.errors] == [
        "report table has 2 columns named 'ReportText' (columns 2, 4); only the first is read"
    ]


def test_repeated_columns_in_xlsx_are_reported(export: Path) -> None:
    frame = pd.DataFrame(
        [["P1", "Left IMN.", "P9"]], columns=["PatientID", "ReportText", "patientid "]
    )
    frame.to_excel(export / "ris.xlsx", index=False)
    got = _read(export, "ris.xlsx")
    assert [(r.patient_id, r.text) for r in got.reports] == [("P1", "Left IMN.")]
    assert [e.reason for e in got.errors] == [
        "report table has 2 columns named 'PatientID' (columns 1, 3); only the first is read"
    ]


def test_duplicated_columns_leaves_distinct_names_alone() -> None:
    assert duplicated_columns(["Score", "Score.1", "A.2"]) == [
        "report table has 2 columns named 'Score' (columns 1, 2); only the first is read"
    ]
    assert duplicated_columns(["A", "B", "C.1"]) == []
