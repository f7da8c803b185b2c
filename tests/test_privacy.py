"""Identifiers in folder names do not reach research-facing outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imncohort.outputs import ErrorRecord, write_stage_errors
from imncohort.privacy import PathScrubber


def test_scrubber_replaces_ids_names_and_accessions() -> None:
    scrub = PathScrubber(
        [
            ("DEMO0001", "aaaa111122223333", False),
            ("Doe^John", "aaaa111122223333", True),
            ("A0300010", "bbbb444455556666", False),
            ("X1", "too-short-to-match", False),
        ]
    )
    assert scrub("DEMO0001/ST01/IM1.dcm") == "aaaa111122223333/ST01/IM1.dcm"
    assert scrub("exports/DOE_JOHN/ct/1.dcm") == "exports/aaaa111122223333/ct/1.dcm"
    assert scrub("doe^john/A0300010.pdf") == "aaaa111122223333/bbbb444455556666.pdf"
    assert scrub("X1/file") == "X1/file"
    assert PathScrubber([])("DEMO0001/a") == "DEMO0001/a"


def test_errors_csv_uses_keys_and_raw_records_stay_restricted(tmp_path: Path) -> None:
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    pd.DataFrame(
        {
            "patient_key": ["aaaa111122223333"],
            "study_key": ["bbbb444455556666"],
            "PatientID": ["DEMO0007"],
            "PatientName": ["Demo^Patient07"],
            "PatientBirthDate": ["19600101"],
            "AccessionNumber": ["A0300070"],
            "StudyInstanceUID": ["1.2.3"],
        }
    ).to_parquet(restricted / "identities.parquet")
    write_stage_errors(
        tmp_path,
        "index",
        [ErrorRecord("DEMO0007/Demo_Patient07/x.dcm", "index", "truncated DICOM")],
    )
    text = (tmp_path / "errors.csv").read_text()
    assert (
        text == "path,stage,reason\naaaa111122223333/aaaa111122223333/x.dcm,index,truncated DICOM\n"
    )
    raw = (restricted / "state" / "errors_index.csv").read_text()
    assert "DEMO0007/Demo_Patient07/x.dcm" in raw
