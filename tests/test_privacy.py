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


def _alternation(scrub: PathScrubber, keys: list[str], text: str) -> str:
    """What one ``re.sub`` over every pattern at once gives (the former implementation)."""
    import re

    groups = "|".join(f"(?P<g{i}>{p})" for i, p in enumerate(scrub.patterns))
    return re.sub(groups, lambda m: keys[int(str(m.lastgroup)[1:])], text, flags=re.IGNORECASE)


def test_scrubber_tries_few_patterns_among_thousands_and_agrees_with_one_alternation() -> None:
    triples: list[tuple[str, str, bool | str]] = []
    for i in range(5000):
        key = f"key{i:05d}"
        triples += [
            (f"PID{i:08d}", key, False),
            (f"DOE^JANE{i:06d}", key, True),
            (f"ACC{i:07d}", f"study{i:05d}", False),
            (f"19{i % 100:02d}{i % 12 + 1:02d}{i % 28 + 1:02d}", key, "date"),
        ]
    scrub = PathScrubber(triples)
    keys = [
        k for _, k, _ in sorted(set(triples), key=lambda r: (-len(r[0]), r[0], r[1], str(r[2])))
    ]
    assert len(scrub.patterns) == len(keys) == 20000
    text = "export/doe_jane004321/PID00004321/ACC0004321.pdf"
    assert len(scrub.candidates(text)) <= 20  # of 20,000: only runs of four characters in it
    assert scrub(text) == "export/key04321/key04321/study04321.pdf"
    assert scrub("misc/00017_junk00017") == "misc/00017_junk00017"
    small = PathScrubber(triples[:400])
    small_keys = [
        k
        for _, k, _ in sorted(set(triples[:400]), key=lambda r: (-len(r[0]), r[0], r[1], str(r[2])))
    ]
    for text in (
        "PID00000007/Doe-Jane000007/1907-08-08/x.dcm",
        "p/DOE^JANE000099^/08.12.1999_ACC0000099",
        "pid00000042pid00000043/doejane000042",
    ):
        assert small(text) == _alternation(small, small_keys, text), text


def test_scrubber_folds_case_as_the_regex_engine_does() -> None:
    scrub = PathScrubber([("SMITH^KATE", "k1", True), ("SIGRID01", "k2", False)])
    # re.IGNORECASE equates U+017F with s and U+212A (Kelvin) with k
    assert scrub("\u017fmith_\u212aate/x") == "k1/x"
    assert scrub("\u017fIGRID01") == "k2"
    assert scrub("Smith Kate") == "k1"
