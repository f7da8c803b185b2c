"""Pseudonymous keys and atomic output writing."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from imncohort.keys import load_or_create_secret, pseudonym
from imncohort.outputs import (
    ErrorRecord,
    atomic_open,
    merge_errors,
    write_csv,
    write_stage_errors,
)


def test_pseudonym_is_first_16_hex_of_hmac_sha256() -> None:
    expected = hmac.new(b"k", b"DEMO0001", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(b"k", "DEMO0001") == expected
    assert pseudonym(b"k", " DEMO0001 ") == expected
    assert len(pseudonym(b"other", "DEMO0001")) == 16
    assert pseudonym(b"other", "DEMO0001") != expected


def test_secret_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path)
    second = load_or_create_secret(tmp_path)
    path = tmp_path / "restricted" / "secret"
    assert first == second
    assert len(first) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(tmp_path, b"from-env") == b"from-env"


def test_failed_write_leaves_previous_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_csv(pd.DataFrame({"a": [1, 2]}), target)
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half,")
        raise RuntimeError("interrupted")
    assert target.read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_stage_errors_merge_into_one_sorted_table(tmp_path: Path) -> None:
    write_stage_errors(tmp_path, "measure", [ErrorRecord("b.dcm", "measure", "oblique series")])
    write_stage_errors(
        tmp_path,
        "index",
        [ErrorRecord("z.txt", "index", "not DICOM"), ErrorRecord("a.dcm", "index", "truncated")],
    )
    merged = pd.read_csv(merge_errors(tmp_path))
    assert merged.to_dict("records") == [
        {"path": "a.dcm", "stage": "index", "reason": "truncated"},
        {"path": "z.txt", "stage": "index", "reason": "not DICOM"},
        {"path": "b.dcm", "stage": "measure", "reason": "oblique series"},
    ]
