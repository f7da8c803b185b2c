"""Identifiers in folder names do not reach research-facing outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imncohort.outputs import ErrorRecord
from imncohort.privacy import PathScrubber
from imncohort.schemas.errors import write_stage_errors


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


def test_scrubber_takes_birth_dates_and_a_trailing_caret() -> None:
    scrub = PathScrubber(
        [
            ("SIMPSON^HOMER^J^", "aaaa111122223333", True),
            ("19510829", "aaaa111122223333", "date"),
            ("not-a-date", "x", "date"),
        ]
    )
    assert scrub("SIMPSON^HOMER^J^/00/x.dcm") == "aaaa111122223333/00/x.dcm"
    assert scrub("Simpson_Homer_J_19510829/a") == "aaaa111122223333_aaaa111122223333/a"
    for form in ("1951-08-29", "29.08.1951", "1951_08_29", "08-29-1951"):
        assert scrub(f"p/{form}/x") == "p/aaaa111122223333/x", form
    assert scrub("p/2195108290/x") == "p/2195108290/x"  # digits around: not that date


def test_public_codes_and_dates_refuse_runaway_text() -> None:
    from imncohort.privacy import public_code, public_date

    assert [public_code(v) for v in ("CT", "PET-CT", "", None)] == ["CT", "PET-CT", "", ""]
    assert public_code("CT\x00\x10\x00DOE^JOHN" * 3) == ""
    assert [public_date(v) for v in ("20240115", "2024", "20240115DOE")] == ["20240115", "", ""]


def test_warnings_and_foreign_records_reach_the_terminal_scrubbed() -> None:
    import logging
    import warnings

    from imncohort import logsafe

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(self.format(record))

    keep = Keep()
    root = logging.getLogger()
    root.addHandler(keep)
    saved = warnings.showwarning
    try:
        logsafe.install()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(
                "Invalid value for VR DA: b'DOE^JOHN 19510829'", UserWarning, stacklevel=1
            )
        try:
            raise FileNotFoundError(2, "No such file", "/export/DOE^JOHN/IM1")
        except OSError:
            logging.getLogger("pydicom").exception("Encountered exception")
    finally:
        warnings.showwarning = saved
        root.removeHandler(keep)
        loggers = [root, *logging.Logger.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                for f in [f for f in handler.filters if isinstance(f, logsafe.ScrubFilter)]:
                    handler.removeFilter(f)
    assert keep.lines == [
        "UserWarning: Invalid value for VR DA: '…'",
        "Encountered exception (FileNotFoundError: [Errno 2] No such file: '…')",
    ]
