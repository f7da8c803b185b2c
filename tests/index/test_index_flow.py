"""The flow side: the chunk task's function, the progress bar and its switch."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from imncohort_flows.index import ProgressBar, index_chunk_task, progress_enabled
from index_factory import UID_ROOT, write_series


def test_chunk_task_fn_writes_shard(
    export: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMNCOHORT_SECRET", "flow-test-secret")
    write_series(export, 3, series=UID_ROOT + "20.1")
    (export / "x.dcm").write_text("nope")
    entries = []
    for p in sorted(export.iterdir()):
        st = p.stat()
        entries.append((p.name, st.st_size, st.st_mtime_ns))
    result = index_chunk_task.fn(str(export), str(out), "s00001", entries)
    assert (result["files_read"], result["instances"], result["junk"]) == (4, 3, 1)
    shard = pd.read_parquet(out / "restricted" / "index" / "shards" / "s00001.instances.parquet")
    assert sorted(shard["path"]) == ["IM000", "IM001", "IM002"]
    assert (out / "restricted" / "index_shards" / "s00001.identities.parquet").exists()


def test_progress_bar_shows_rate_and_eta() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, enabled=True)
    bar(500, 1000)
    bar(1000, 1000)
    text = stream.getvalue()
    assert "500/1000 files" in text and "1000/1000 files" in text
    assert "files/s" in text and "ETA" in text and text.endswith("\n")


def test_progress_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    assert progress_enabled("auto", Tty()) is True
    assert progress_enabled("auto", io.StringIO()) is False
    assert progress_enabled("never", Tty()) is False
    assert progress_enabled("always", io.StringIO()) is True
    monkeypatch.setenv("CI", "true")
    assert progress_enabled("auto", Tty()) is False
    silent = io.StringIO()
    ProgressBar(silent, enabled=False)(5, 10)
    assert silent.getvalue() == ""
