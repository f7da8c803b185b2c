"""Start only what a run needs: threads for small work, Dask for large; one OUT lock.

Real processes throughout: the CLI as a user types it, a local Dask cluster, the Dask
dashboard over HTTP on 127.0.0.1, and the fcntl lock of OUT held by this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from imncohort.demo.export import write_demo_export
from imncohort.runlock import out_lock

SECRET = "runner-choice-secret"
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMNCOHORT_SECRET": SECRET, "CI": "1"}
    env.pop("PREFECT_API_URL", None)  # as a user types it
    return subprocess.run(
        [sys.executable, "-m", "imncohort_flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _modules() -> list[str]:
    import pkgutil

    import imncohort

    names = ["imncohort"]
    for info in pkgutil.walk_packages(imncohort.__path__, "imncohort."):
        names.append(info.name)
    return sorted(names)


def test_library_never_imports_prefect_or_flows() -> None:
    names = _modules()
    assert "imncohort.index.stage" in names and "imncohort.cli" not in names
    code = (
        "import importlib, json, sys\n"
        f"names = {names!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "orchestration = ('prefect', 'flows', 'imncohort_flows')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in orchestration)\n"
        "print(json.dumps({'imported': len(names), 'bad': bad}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"imported": len(names), "bad": []}


def test_console_entry_point_is_the_flows_cli() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "imncohort"]
    assert script.value == "imncohort_flows.cli:main"


@pytest.mark.slow
def test_small_rerun_starts_no_dask_but_large_cold_run_does(tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_demo_export(export, n_patients=1, seed=5)
    n_files = sum(1 for p in export.rglob("*") if p.is_file())
    assert n_files > 20
    config = tmp_path / "small-threshold.yaml"
    config.write_text("prefect: {local_below_files: 20}\n", "utf-8")
    out = tmp_path / "out"
    cold = _cli("index", str(export), "--out", str(out), "--config", str(config))
    assert cold.returncode == 0, cold.stderr[-3000:]
    record = json.loads((out / "run.json").read_text("utf-8"))
    assert record["runner"] == "dask-local"
    assert record["dask_address"] == "local"  # a cluster of its own, gone after the run
    assert record["stages"]["index"]["files_read"] == n_files
    # a first index: the export is walked while the cluster starts, and the flow says it
    runner_line = "task runner: dask-local (every file to read, planned while the cluster starts"
    assert f"{runner_line}; Dask from 20)" in cold.stderr
    assert f"index: {n_files} files walked, {n_files} to read in 2 chunks" in cold.stderr

    rerun = _cli("index", str(export), "--out", str(out), "--config", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    record = json.loads((out / "run.json").read_text("utf-8"))
    assert record["runner"] == "threads"
    assert record["dask_address"] == "local"
    assert record["stages"]["index"]["files_read"] == 0
    assert "task runner: threads (0 files to read; Dask from 20)" in rerun.stderr
    assert "distributed" not in rerun.stderr  # no scheduler or worker ever logged


@pytest.mark.slow
def test_dashboard_answers_during_a_run_and_is_gone_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imncohort_flows  # noqa: F401  (Prefect's environment first)
    from imncohort_flows.execute import runtime
    from imncohort_flows.index import index_flow

    from imncohort.config import load_config

    export = tmp_path / "export"
    write_demo_export(export, n_patients=1, seed=6)
    out = tmp_path / "out"
    monkeypatch.setenv("IMNCOHORT_SECRET", SECRET)
    config = load_config()
    with runtime(config, export, ("index",), 1, None, dashboard=True) as rt:
        assert rt.mode == "dask-local"
        assert rt.dashboard_url is not None
        assert rt.dashboard_url.startswith("http://127.0.0.1:")
        during = httpx.get(rt.dashboard_url, timeout=30, follow_redirects=True)
        summary = index_flow.with_options(task_runner=rt.runner)(str(export), str(out))
        after_tasks = httpx.get(rt.dashboard_url, timeout=30, follow_redirects=True)
    assert during.status_code == 200 and "Dask" in during.text
    assert after_tasks.status_code == 200
    assert summary["files_read"] == sum(1 for p in export.rglob("*") if p.is_file())
    with pytest.raises(httpx.ConnectError):
        httpx.get(rt.dashboard_url, timeout=5)


def test_package_refused_in_one_line_while_out_is_locked(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"export": str(export)}), "utf-8")
    with out_lock(out):
        done = _cli("package", str(out), "--to", str(tmp_path / "pkg"), timeout=300)
    assert done.returncode == 2
    assert done.stderr == (
        f"imncohort: error: another imncohort run (pid {os.getpid()}) is writing to "
        f"'{out}'; wait for it to finish or choose another --out\n"
    )
    assert not (tmp_path / "pkg").exists()
