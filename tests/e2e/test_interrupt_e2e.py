"""SIGKILL at every stage, a full disk: the output set says it is incomplete, the next run
repairs it, and no helper process (Prefect API server, Dask) outlives a killed run.

One export is audited once; then a file is changed and a chain of runs is killed, each
at a later point (``IMNCOHORT_FAULT=kill@<point>``: a worker writing an index shard, the
main process right after the index manifest, at the start of measure and tables, after
tables). After every kill ``run.json`` says ``complete: false`` and ``report.html``
carries the incomplete banner. A last run then equals a fresh run of the changed
export: tables, ``errors.csv`` and the counts in ``run.json``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from compare import assert_same_tables

from imncohort.runstate import BANNER_ID

pytestmark = pytest.mark.slow

KILL_POINTS = [
    "index.shard",
    "index.manifest",
    "stage.measure.start",
    "stage.tables.start",
    "stage.tables.done",
]
SECRET = "interrupt-test-secret"


def _run(
    export: Path, out: Path, fault: str | None = None, marker: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, IMNCOHORT_SECRET=SECRET, IMNCOHORT_TEST_MARKER=marker)
    env.pop("IMNCOHORT_FAULT", None)
    if fault:
        env["IMNCOHORT_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "imncohort_flows.cli", "run", str(export), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _strays(marker: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if process.environ().get("IMNCOHORT_TEST_MARKER") == marker:
                found.append(f"{process.pid} {' '.join(process.cmdline())[:80]}")
        except psutil.Error:
            continue
    return found


def _wait_no_strays(marker: str) -> list[str]:
    deadline = time.monotonic() + 30
    while (left := _strays(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


VOLATILE = ("seconds", "read", "cache", "measured", "incremental", "shards")


def _counts(out: Path) -> dict[str, object]:
    """``run.json`` without what depends on timing or on what an earlier run left."""
    record = json.loads((out / "run.json").read_text("utf-8"))
    stages = {
        name: {k: v for k, v in summary.items() if not any(w in k for w in VOLATILE)}
        for name, summary in record["stages"].items()
    }
    # the reports stage counts the cohort with the nodes an earlier run measured (none in a
    # fresh run; measure then rewrites cohort.csv, which assert_same_tables compares)
    for key in ("candidates", "confirmed"):
        stages["reports"].pop(key, None)
    return {"complete": record["complete"], "inputs": record["inputs"], "stages": stages}


def test_kill_at_every_stage_then_rerun_equals_fresh(tmp_path: Path) -> None:
    from imncohort.demo.export import write_demo_export

    export = tmp_path / "export"
    write_demo_export(export, n_patients=3, seed=2)
    out = tmp_path / "out"
    first = _run(export, out)
    assert first.returncode == 0, first.stderr
    assert json.loads((out / "run.json").read_text())["complete"] is True
    assert BANNER_ID not in (out / "report.html").read_text("utf-8")
    victim = sorted(p for p in export.rglob("*") if p.is_file() and "ground_truth" not in p.name)[0]
    victim.write_bytes(b"replaced by junk")  # the killed runs have something to redo
    (export / "new-junk.bin").write_bytes(b"junk")
    for point in KILL_POINTS:
        marker = uuid.uuid4().hex
        killed = _run(export, out, f"kill@{point}", marker)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        assert json.loads((out / "run.json").read_text())["complete"] is False, point
        # killed after tables, the report is this run's own; before, it carries the banner
        stale_report = BANNER_ID in (out / "report.html").read_text("utf-8")
        assert stale_report == (point != "stage.tables.done"), point
        assert _wait_no_strays(marker) == [], point
    last = _run(export, out)
    assert last.returncode == 0, last.stderr
    assert not list(out.rglob(".*.tmp"))
    fresh = tmp_path / "fresh"
    assert _run(export, fresh).returncode == 0
    assert_same_tables(out, fresh)
    assert (out / "errors.csv").read_text() == (fresh / "errors.csv").read_text()
    assert _counts(out) == _counts(fresh)
    assert _counts(out)["complete"] is True
    assert BANNER_ID not in (out / "report.html").read_text("utf-8")


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_full_disk_gives_one_line_and_status_2(tmp_path: Path) -> None:
    from imncohort.demo.export import write_demo_export

    export = tmp_path / "export"
    write_demo_export(export, n_patients=2, seed=3)
    disk = tmp_path / "disk"
    mounted = _mount_tmpfs(disk, "200k")
    try:
        out = disk / "out"
        fault = None if mounted else "enospc@index.manifest"  # simulated where no mount
        run = _run(export, out, fault)
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        f"imncohort: error: the disk holding '{out}' is full ({os.strerror(errno.ENOSPC)}); "
        "free some space and run again (run.json says complete: false until a run finishes)"
    )
    assert "Traceback" not in run.stderr + run.stdout
