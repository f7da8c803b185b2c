"""No identifier of the export's headers outside ``OUT/restricted/`` or on the terminal.

The DICOM files of the public ``deid-data`` package (pydicom's de-identification test
data: CT, ultrasound and synthetic "cookie" images with realistic headers) are placed
under ``<PatientName>/<PatientID>/`` folders, as PACS exports are often organised, and
the whole audit runs on them under umask 022. Every identifier pydicom reads from
those files is then searched for, case-insensitively and as a whole word, in every
file outside ``restricted/`` (Parquet read back as text, workbooks by cell, PNG and
HTML as bytes) and in the terminal output. Values shorter than the scrubber's
minimum (4 characters: "1", "J") cannot be told apart from ordinary text and are not
searched for.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from imncohort.privacy import MIN_IDENTIFIER_LENGTH

pytestmark = pytest.mark.slow

deid_data = pytest.importorskip("deid_data")
DATA = Path(deid_data.__file__).parent / "data"
FILES = [
    "humans/ctbrain1.dcm",
    "humans/ctbrain2.dcm",
    "ultrasounds/GREYSCALE_IMAGE.dcm",
    "ultrasounds/RGB_IMAGE.dcm",
    *[f"dicom-cookies/image{i}.dcm" for i in range(1, 8)],
]


def _identifiers(ds: pydicom.Dataset) -> set[str]:
    found: set[str] = set()
    name = ds.get("PatientName")
    if name is not None:
        found.add(str(name))
        found.add(str(name).rstrip("^"))
        for part in (
            name.family_name,
            name.given_name,
            name.middle_name,
            name.name_prefix,
            name.name_suffix,
        ):
            found.add(str(part))
    for keyword in ("PatientID", "OtherPatientIDs", "AccessionNumber", "PatientBirthDate"):
        value = ds.get(keyword)
        if value is None:
            continue
        values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
        found.update(str(v) for v in values)
    return {v.strip() for v in found if len(v.strip()) >= MIN_IDENTIFIER_LENGTH}


def _public_texts(out: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or rel.parts[0] == "restricted":
            continue
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).to_csv(index=False)
        elif path.suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
            text = "\n".join(f.to_csv(index=False) for f in sheets.values())
        else:
            text = path.read_bytes().decode("latin-1")
        texts[str(rel)] = text
    return texts


def test_no_header_identifier_leaves_restricted(tmp_path: Path) -> None:
    export = tmp_path / "export"
    needles: set[str] = set()
    for rel in FILES:
        ds = pydicom.dcmread(DATA / rel, stop_before_pixels=True)
        needles |= _identifiers(ds)
        folder = export / str(ds.PatientName) / str(ds.PatientID)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / rel, folder / Path(rel).name)
    assert {"SIMPSON^HOMER^J^", "00007041776", "999887722", "20200704", "M1212121"} <= needles
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "IMNCOHORT_SECRET"}
    run = subprocess.run(
        [sys.executable, "-m", "imncohort_flows.cli", "run", str(export), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )
    terminal = run.stdout + run.stderr
    assert run.returncode == 0, terminal
    assert "Traceback" not in terminal
    identities = pd.read_parquet(out / "restricted" / "identities.parquet")
    assert "00007041776" in set(identities["PatientID"])  # the index did read them
    texts = _public_texts(out)
    assert {"errors.csv", "run.json", "report.html", "cohort.csv"} <= set(texts)
    # whole words only: "MARY" (a given name here) is not a leak inside "summary"
    patterns = {
        n: re.compile(rf"(?<![A-Za-z0-9]){re.escape(n)}(?![A-Za-z0-9])", re.I) for n in needles
    }
    leaks = [
        (needle, where)
        for needle, pattern in sorted(patterns.items())
        for where, text in [*texts.items(), ("terminal", terminal)]
        if pattern.search(text)
    ]
    assert leaks == []
    # permissions: research outputs follow the umask, restricted/ stays private
    mode = lambda p: stat.S_IMODE(os.stat(out / p).st_mode)  # noqa: E731
    assert (mode("report.html"), mode("errors.csv"), mode("figures")) == (0o644, 0o644, 0o755)
    assert mode("restricted") == 0o700
    assert mode("restricted/secret") == 0o600
    assert mode("restricted/index") == 0o700
    assert mode("restricted/index/instances.parquet") == 0o600
    assert not (out / "restricted" / "prefect-flow-results").exists()
