"""Pseudonymous keys and atomic output writing."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from imncohort.errors import SecretError
from imncohort.keys import load_or_create_secret, pseudonym
from imncohort.outputs import ErrorRecord, atomic_open, write_csv, write_parquet
from imncohort.schemas.errors import merge_errors, write_stage_errors


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
    assert load_or_create_secret(tmp_path, b"from-env-16-chars") == b"from-env-16-chars"
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary left


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789abcdef"])
def test_short_secret_file_stops_the_run(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "restricted").mkdir()
    (tmp_path / "restricted" / "secret").write_bytes(content)
    what = "is empty" if not content.strip() else "holds only 16 bytes"
    with pytest.raises(SecretError) as caught:
        load_or_create_secret(tmp_path)
    assert str(caught.value) == (
        f"secret file '{tmp_path / 'restricted' / 'secret'}' {what} (at least 32 needed), "
        "so the pseudonyms would be guessable; restore it from a backup, or delete "
        "OUT/restricted and the outputs made with it to start over with new keys"
    )


def test_short_env_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"^IMNCOHORT_SECRET holds only 5 bytes \(at least 16"):
        load_or_create_secret(tmp_path, b"short")


def test_outputs_follow_the_umask_and_restricted_stays_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "cohort.csv")
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "restricted" / "state" / "x.csv")
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "figures" / "t.parquet")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(os.stat(tmp_path / p).st_mode)  # noqa: E731
    assert mode("cohort.csv") == 0o644
    assert mode("figures/t.parquet") == 0o644
    assert mode("figures") == 0o755
    assert mode("restricted") == 0o700
    assert mode("restricted/state") == 0o700
    assert mode("restricted/state/x.csv") == 0o600


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
