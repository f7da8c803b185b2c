"""The fixed cost of a run: what an empty run imports, and what a Dask run leaves behind.

Real processes throughout: the CLI as a user types it, the shared Prefect server it starts,
a local Dask cluster (forked from its forkserver) and ``ps``-level checks with psutil.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from imncohort.demo.export import write_demo_export

SECRET = "startup-cost-secret"
HEAVY = ("matplotlib", "scipy", "nibabel", "highdicom", "pydicom", "distributed", "openpyxl")
#: Run ``imncohort ARGS`` in this interpreter, then print which heavy modules it imported.
PROBE = (
    "import json, sys\n"
    "from imncohort_flows.cli import main\n"
    "status = main(sys.argv[1:])\n"
    f"heavy = {HEAVY!r}\n"
    "print(json.dumps({'status': status, 'imported': [m for m in heavy if m in sys.modules]}))\n"
)


def _env() -> dict[str, str]:
    env = {**os.environ, "IMNCOHORT_SECRET": SECRET, "CI": "1"}
    env.pop("PREFECT_API_URL", None)  # as a user types it
    return env


@pytest.mark.slow
def test_empty_run_imports_no_plotting_imaging_or_dask_library(tmp_path: Path) -> None:
    export = tmp_path / "empty"
    export.mkdir()
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "run", str(export), "--out", str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # openpyxl writes tables.xlsx and the review workbook, which an empty run still has.
    assert result == {"status": 0, "imported": ["openpyxl"]}
    record = json.loads((out / "run.json").read_text("utf-8"))
    assert (record["complete"], record["runner"]) == (True, "threads")
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == [
        "coverage_2d.png",
        "coverage_curves.png",
        "intercostal.png",
        "node_scatter.png",
    ]
    for name in figures:  # the placeholder, not an empty matplotlib canvas
        with Image.open(out / "figures" / name) as image:
            assert (image.format, image.size) == ("PNG", (770, 320))
    report = (out / "report.html").read_text("utf-8")
    assert "No measured metastatic node: no margin recommendation can be made." in report
    assert report.count("data:image/png;base64,") == 4
    assert (out / "tables.xlsx").stat().st_size > 0


def test_the_launcher_client_imports_no_pydantic_config_or_prefect() -> None:
    """What ``imncohort index ...`` imports before it hands the command to the launcher."""
    probe = (
        "import json, sys\n"
        "import imncohort_flows.cli, imncohort_flows.launcher\n"
        "names = ('pydantic', 'yaml', 'imncohort.config', 'imncohort_flows.runtime', 'prefect')\n"
        "print(json.dumps([n for n in names if n in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), check=True
    )
    assert json.loads(done.stdout) == []


def _helpers_of(pid: int) -> dict[int, str]:
    """The run's descendants by pid (their command lines), without the shared Prefect server.

    The server and its warm launcher are started detached and outlive the run by design
    (their idle timeout).
    """
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return {}
    found: dict[int, str] = {}
    server: set[int] = set()
    for child in children:
        try:
            line = " ".join(child.cmdline())
            if "imncohort_flows.server" in line or "imncohort_flows.launcherd" in line:
                server |= {child.pid, *(c.pid for c in child.children(recursive=True))}
        except psutil.Error:
            continue
        found[child.pid] = line
    return {p: line for p, line in found.items() if p not in server}


def _run_watched(args: list[str], log: Path, **extra: str) -> tuple[int, str, dict[int, str]]:
    """Run the CLI; return its status, stderr and every helper process seen meanwhile."""
    command = [sys.executable, "-m", "imncohort_flows.cli", *args]
    with log.open("w") as stream:
        run = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stream, text=True, env={**_env(), **extra}
        )
        seen: dict[int, str] = {}
        while run.poll() is None:
            for pid, line in _helpers_of(run.pid).items():
                if line or pid not in seen:  # an exiting process shows an empty command line
                    seen[pid] = line
            time.sleep(0.1)
    deadline = time.monotonic() + 3.0  # a forkserver sees the run's end on its pipe
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    return run.returncode, log.read_text("utf-8"), seen


@pytest.mark.slow
def test_dask_index_leaves_no_process_behind(tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_demo_export(export, n_patients=1, seed=7)
    n_files = sum(1 for p in export.rglob("*") if p.is_file())
    config = tmp_path / "small-threshold.yaml"
    config.write_text("prefect: {local_below_files: 20}\n", "utf-8")
    out = tmp_path / "out"
    args = ["index", str(export), "--out", str(out), "--config", str(config)]
    # direct: its forkserver and workers are then its own (a warm run's are the launcher's)
    status, stderr, seen = _run_watched(args, tmp_path / "stderr.txt", IMNCOHORT_LAUNCHER="0")
    assert status == 0, stderr[-3000:]
    record = json.loads((out / "run.json").read_text("utf-8"))
    assert record["runner"] == "dask-local"
    assert record["stages"]["index"]["files_read"] == n_files
    forked = [pid for pid, line in seen.items() if "multiprocessing.forkserver" in line]
    assert len(forked) >= 3, seen  # the forkserver and the two workers forked from it
    left = [pid for pid in seen if _alive(pid)]
    assert left == [], {pid: seen[pid] for pid in left}
    assert "Worker process still alive" not in stderr


@pytest.mark.slow
def test_embedded_api_run_stops_its_server(tmp_path: Path) -> None:
    export = tmp_path / "empty"
    export.mkdir()
    config = tmp_path / "embedded.yaml"
    config.write_text("prefect: {server: embedded}\n", "utf-8")
    out = tmp_path / "out"
    args = ["run", str(export), "--out", str(out), "--config", str(config)]
    # direct: a warm launcher (left by an earlier run) would run it in its own child
    status, stderr, seen = _run_watched(args, tmp_path / "stderr.txt", IMNCOHORT_LAUNCHER="0")
    assert status == 0, stderr[-3000:]
    assert json.loads((out / "run.json").read_text("utf-8"))["complete"] is True
    servers = [pid for pid, line in seen.items() if "prefect.server.api.server:create_app" in line]
    assert len(servers) == 1, seen
    left = [pid for pid in seen if _alive(pid)]
    assert left == [], {pid: seen[pid] for pid in left}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_settle_heap_freezes_until_the_run_ends() -> None:
    from imncohort_flows.runtime import settle_heap, unsettle_heap

    before = gc.get_freeze_count()
    settle_heap()
    try:
        assert gc.get_freeze_count() > before
    finally:
        unsettle_heap()
    assert gc.get_freeze_count() == 0


def test_run_settings_have_no_heartbeat_and_serialize_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import imncohort_flows  # noqa: F401  (Prefect's environment first)
    from imncohort_flows.execute import HEARTBEAT_ENV, run_settings
    from prefect.context import SettingsContext, serialize_context
    from prefect.settings import get_current_settings

    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    with run_settings("http://127.0.0.1:9/api") as context:
        settings = get_current_settings()
        assert (settings.api.url, settings.flows.heartbeat_frequency) == (
            "http://127.0.0.1:9/api",
            None,
        )
        first = serialize_context()["settings_context"]
        second = serialize_context()["settings_context"]
        assert SettingsContext.get() is context
    assert first == second and first is not second
    assert first["settings"]["api"]["url"] == "http://127.0.0.1:9/api"
    monkeypatch.setenv(HEARTBEAT_ENV, "60")
    with run_settings(None):
        assert get_current_settings().flows.heartbeat_frequency == 60


def test_chunk_entries_travel_as_one_text() -> None:
    from imncohort_flows.index import pack_entries, unpack_entries

    from imncohort.index.records import FileEntry

    entries = [FileEntry("P1/IM1", 10, 123), FileEntry("P\udcff/new\nline", 0, 456)]
    packed = pack_entries(entries)
    assert isinstance(packed, str) and packed.isascii()
    assert unpack_entries(packed) == entries
    assert unpack_entries([("P1/IM1", 10, 123)]) == entries[:1]


def test_result_storage_is_a_folder_under_restricted(tmp_path: Path) -> None:
    from imncohort_flows.runtime import FLOW_RESULTS, result_storage

    storage = result_storage(tmp_path, FLOW_RESULTS)
    assert storage == (tmp_path / "restricted" / FLOW_RESULTS).resolve()
    assert storage.is_dir()


def _environment_probe() -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in ("IMNCOHORT_PROBE_SET", "IMNCOHORT_PROBE_GONE")}


@pytest.mark.slow
def test_forked_workers_get_this_runs_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imncohort_flows  # noqa: F401  (Prefect's environment first)
    from distributed import Client
    from imncohort_flows.execute import runtime

    from imncohort.config import load_config

    export = tmp_path / "export"
    export.mkdir()
    for i in range(3):
        (export / f"f{i}.dcm").write_bytes(b"x")
    yaml = tmp_path / "dask-from-one-file.yaml"
    yaml.write_text("prefect: {local_below_files: 1}\n", "utf-8")
    config = load_config(yaml)
    monkeypatch.setenv("IMNCOHORT_SECRET", SECRET)
    seen = []
    for value, gone in (("first", "present"), ("second", None)):
        monkeypatch.setenv("IMNCOHORT_PROBE_SET", value)
        if gone is None:
            monkeypatch.delenv("IMNCOHORT_PROBE_GONE", raising=False)
        else:
            monkeypatch.setenv("IMNCOHORT_PROBE_GONE", gone)
        with runtime(config, export, ("index",), 1, None, cold_index=True) as rt:
            assert rt.mode == "dask-local"
            with Client(rt.scheduler_address()) as client:
                seen += list(client.run(_environment_probe).values())
    assert seen == [
        {"IMNCOHORT_PROBE_SET": "first", "IMNCOHORT_PROBE_GONE": "present"},
        {"IMNCOHORT_PROBE_SET": "second", "IMNCOHORT_PROBE_GONE": None},
    ]
