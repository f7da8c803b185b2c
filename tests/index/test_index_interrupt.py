"""A run SIGKILLed anywhere in the index leaves an index the next run repairs.

Each case indexes an export, changes it (one file changed, one deleted, one junk file
added), kills a second index run at a checkpoint (``IMNCOHORT_FAULT=kill@<point>``),
runs the index again and compares everything with a fresh index of the changed export.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from index_factory import SECRET, UID_ROOT, write_series

from imncohort.index.stage import index_export

CHUNK = 3
POINTS = ["index.shard", "index.prune", "index.tables", "index.manifest", "index.state"]
_RUN = (
    "import sys\n"
    "from imncohort.index.stage import index_export\n"
    "a = sys.argv\n"
    "index_export(a[1], a[2], chunk_size=int(a[3]), secret=a[4].encode())\n"
)


def _export(root: Path) -> Path:
    write_series(root / "p1" / "ct", 5, series=UID_ROOT + "7.1")
    write_series(root / "p2" / "ct", 4, series=UID_ROOT + "7.2")
    (root / "junk.txt").write_text("not dicom")
    return root


def _change(export: Path) -> None:
    files = sorted(p for p in (export / "p1" / "ct").iterdir())
    files[0].unlink()  # deleted: its shard is pruned
    files[1].write_bytes(b"now junk")  # changed
    (export / "p2" / "new-junk.bin").write_bytes(b"\x00junk")  # new: a new shard


def _snapshot(out: Path, summary: dict[str, object]) -> dict[str, object]:
    index = out / "restricted" / "index"
    tables = {
        name: pd.read_parquet(index / f"{name}.parquet")
        .drop(columns=["shard"], errors="ignore")
        .to_csv(index=False)
        for name in ("instances", "series", "studies", "files", "manifest")
    }
    keep = ("files_seen", "instances", "series", "studies", "junk", "aux_files", "errors")
    return {
        "tables": tables,
        "errors": (out / "errors.csv").read_text("utf-8"),
        "identities": pd.read_parquet(out / "restricted" / "identities.parquet").to_csv(),
        "counts": {k: summary[k] for k in keep},
    }


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_index_then_rerun_equals_fresh(tmp_path: Path, point: str) -> None:
    export = _export(tmp_path / "export")
    out = tmp_path / "out"
    index_export(export, out, chunk_size=CHUNK, secret=SECRET)
    _change(export)
    env = dict(os.environ, IMNCOHORT_FAULT=f"kill@{point}")
    args = [sys.executable, "-c", _RUN, str(export), str(out), str(CHUNK), SECRET.decode()]
    killed = subprocess.run(args, env=env, check=False, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    state = json.loads((out / "restricted" / "state" / "index.json").read_text())
    if point != "index.state":  # killed before its commit: the state says nothing is trusted
        assert "manifest_token" not in state or point == "index.shard"
    again = index_export(export, out, chunk_size=CHUNK, secret=SECRET)
    assert again["incremental"] is True  # the shards of the previous run were kept
    fresh_out = tmp_path / "fresh"
    fresh = index_export(export, fresh_out, chunk_size=CHUNK, secret=SECRET)
    assert _snapshot(out, again) == _snapshot(fresh_out, fresh)
    shards = out / "restricted" / "index" / "shards"
    manifest = pd.read_parquet(out / "restricted" / "index" / "manifest.parquet")
    named = {
        f"{s}.{part}.parquet"
        for s in manifest["shard"]
        for part in ("instances", "files", "errors")
    }
    assert {p.name for p in shards.iterdir()} == named  # no orphan shard left
