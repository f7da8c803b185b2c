"""End to end through the real CLI: Prefect flows on Dask, on a 20-patient demo export."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from compare import CSV_TABLES, assert_same_tables, read_table
from conftest import SECRET
from groundtruth import assert_cohort_match, assert_mentions_match, assert_nodes_match, read_nodes
from imncohort_flows.cli import main

from imncohort.privacy import PathScrubber

pytestmark = pytest.mark.slow


def test_run_reproduces_ground_truth(demo20: tuple[Path, dict[str, Any]], run20: Path) -> None:
    _, truth = demo20
    secret = SECRET.encode()
    assert assert_nodes_match(truth, read_nodes(run20), secret) == len(truth["nodes"])
    # Nodes reach over and into the sternum in every annotation format (and match, above).
    assert {n["annotation"] for n in truth["nodes"] if n["sternal_invasion"]} == {
        "rtstruct",
        "seg",
        "nifti",
    }
    mentions = pd.read_parquet(run20 / "mentions.parquet")
    assert assert_mentions_match(truth, mentions, secret) == sum(
        len(r["mentions"]) for r in truth["reports"]
    )
    assert_cohort_match(truth, pd.read_csv(run20 / "cohort.csv"), secret)
    errors = pd.read_csv(run20 / "errors.csv")
    scrub = PathScrubber.from_out(run20)
    junk = sorted(scrub(j["path"]) for j in truth["junk"])
    assert sorted(errors.loc[errors["stage"] == "index", "path"]) == junk
    for name in (
        "errors.csv",
        "cohort.csv",
        "nodes.csv",
        "report.html",
        "run.json",
        "review_summary.json",
        "review_agreement.csv",
    ):
        assert "DEMO0" not in (run20 / name).read_text("utf-8"), name
    for name in ("mentions.parquet", "reports.parquet"):
        assert (
            not pd.read_parquet(run20 / name)
            .astype(str)
            .apply(lambda column: column.str.contains("DEMO0"))
            .any()
            .any()
        ), name
    instances = pd.read_parquet(run20 / "restricted" / "index" / "instances.parquet")
    assert len(instances) == truth["instances"]["dicom_files"]
    studies = pd.read_parquet(run20 / "restricted" / "index" / "studies.parquet")
    # Studies known only from a RIS table row have no DICOM to index.
    assert sorted(studies["study_instance_uid"]) == sorted(
        s["study_instance_uid"] for s in truth["studies"] if s["series_instance_uids"]
    )
    series = pd.read_parquet(run20 / "restricted" / "index" / "series.parquet")
    assert sorted(series["series_instance_uid"]) == sorted(
        s["series_instance_uid"] for s in truth["series"]
    )
    report = (run20 / "report.html").read_text("utf-8")
    assert report.count("data:image/png;base64,") >= 4
    record = json.loads((run20 / "run.json").read_text("utf-8"))
    assert record["stage_order"] == ["index", "reports", "measure", "tables"]
    assert record["stages"]["measure"]["nodes"] == len(truth["nodes"])
    assert record["inputs"]["dicom_files"] == truth["instances"]["dicom_files"]
    assert record["config"]["nodes"]["min_short_axis_mm"] == 5.0


def _patient_files(export: Path, truth: dict[str, Any], patient_id: str) -> list[str]:
    studies = {s["study_instance_uid"] for s in truth["studies"] if s["patient_id"] == patient_id}
    series = {
        s["series_instance_uid"] for s in truth["series"] if s["study_instance_uid"] in studies
    }
    paths = [p for s in truth["series"] if s["series_instance_uid"] in series for p in s["paths"]]
    for aux in truth["aux_files"]:
        if aux["kind"] != "nifti":
            continue
        base = aux["path"].removesuffix(".gz").removesuffix(".nii")
        sidecar = json.loads((export / f"{base}.json").read_text("utf-8"))
        if sidecar["SeriesInstanceUID"] in series:
            paths += [aux["path"], f"{base}.json"]
    return sorted(set(paths))


def test_incremental_rerun_equals_fresh_run(
    secret_env: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from imncohort.demo.export import write_demo_export

    full = tmp_path / "full"
    write_demo_export(full, n_patients=8, seed=5)
    truth = json.loads((full / "ground_truth.json").read_text("utf-8"))
    outside_media = [
        p["patient_id"]
        for p in truth["patients"]
        if not any(f.startswith("media/") for f in _patient_files(full, truth, p["patient_id"]))
    ]
    removed, *_, added_a, added_b = outside_media
    export = tmp_path / "export"
    shutil.copytree(full, export)
    added_files = _patient_files(full, truth, added_a) + _patient_files(full, truth, added_b)
    for rel in added_files:
        (export / rel).unlink()
    out = tmp_path / "out"
    assert main(["run", str(export), "--out", str(out)]) == 0

    for rel in added_files:
        shutil.copy2(full / rel, export / rel)
    removed_files = _patient_files(full, truth, removed)
    for rel in removed_files:
        (export / rel).unlink()
    assert main(["run", str(export), "--out", str(out)]) == 0
    fresh = tmp_path / "fresh"
    assert main(["run", str(export), "--out", str(fresh)]) == 0

    assert_same_tables(out, fresh)
    second = json.loads((out / "run.json").read_text("utf-8"))["stages"]
    assert second["index"]["files_read"] == len(added_files)
    assert second["reports"]["chunks_from_cache"] == 0  # its files changed: never from cache
    assert (
        second["index"]["files_seen"]
        == json.loads((fresh / "run.json").read_text())["stages"]["index"]["files_seen"]
    )
    instances = pd.read_parquet(out / "restricted" / "index" / "instances.parquet")
    assert not set(removed_files) & set(instances["path"])


def _outputs_snapshot(out: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(out, name) for name in CSV_TABLES}


def test_sigkill_during_measure_leaves_outputs_whole(
    demo20: tuple[Path, dict[str, Any]], run20: Path, tmp_path: Path
) -> None:
    export, _ = demo20
    out = tmp_path / "out"
    shutil.copytree(run20, out)
    before = _outputs_snapshot(out)
    shutil.rmtree(out / "restricted" / "state" / "measure")  # make measure redo every study
    env = dict(os.environ, IMNCOHORT_SECRET=SECRET)
    process = subprocess.Popen(
        [sys.executable, "-m", "imncohort_flows.cli", "run", str(export), "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 300
    for line in process.stderr:
        if "[3/4] measure ..." in line:
            time.sleep(1.0)
            os.killpg(process.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "measure never started"
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    after = _outputs_snapshot(out)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    assert main(["run", str(export), "--out", str(out)]) == 0
    assert_same_tables(out, run20)
    # The reports chunks were unchanged, so Prefect served them from the cache.
    reports = json.loads((out / "run.json").read_text("utf-8"))["stages"]["reports"]
    assert reports["chunks_from_cache"] == reports["chunks"] >= 1


def test_existing_dask_scheduler_gives_same_outputs(
    demo20: tuple[Path, dict[str, Any]], run20: Path, tmp_path: Path
) -> None:
    export, _ = demo20
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, IMNCOHORT_SECRET=SECRET)
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(
            subprocess.Popen(
                [
                    *dask,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.5)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        out = tmp_path / "out"
        assert main(["run", str(export), "--out", str(out), "--dask-address", address]) == 0
        record = json.loads((out / "run.json").read_text("utf-8"))
        assert record["dask_address"] == address
        assert_same_tables(out, run20)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(timeout=30)
    assert all(p.poll() is not None for p in started)


def test_strict_stops_with_one_line_cause(
    demo20: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, truth = demo20
    out = tmp_path / "out"
    assert main(["index", str(export), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"imncohort: error: index met {len(truth['junk'])} bad input(s) under --strict; "
        f"see {out / 'errors.csv'}"
    )
    assert len(pd.read_csv(out / "errors.csv")) == len(truth["junk"])
