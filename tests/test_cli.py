"""Command-line failures: one line naming the cause, exit status 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from imncohort_flows.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(argv)
    return status, capsys.readouterr().err.strip()


def test_missing_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(["index", str(tmp_path / "nope"), "--out", str(tmp_path / "o")], capsys)
    assert status == 2
    assert err == (
        f"imncohort: error: export directory '{tmp_path / 'nope'}' does not exist; "
        "pass the PACS export path"
    )


def test_out_inside_export_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(["run", str(tmp_path), "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert "lies inside the export" in err
    assert not (tmp_path / "out").exists()


def test_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    export = tmp_path / "export"
    export.mkdir()
    status, err = _run(["index", str(export), "--out", str(blocker / "out")], capsys)
    assert status == 2
    assert err.startswith(f"imncohort: error: output directory '{blocker / 'out'}' is not writable")


def test_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("dask: {workers: 0}\n")
    export = tmp_path / "export"
    export.mkdir()
    status, err = _run(
        ["run", str(export), "--out", str(tmp_path / "o"), "--config", str(config)], capsys
    )
    assert status == 2
    assert err == (
        "imncohort: error: invalid configuration: config key 'dask.workers' has value 0: "
        "Input should be greater than or equal to 1"
    )
    assert "\n" not in err


def test_stage_before_index_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    out = tmp_path / "out"
    status, err = _run(["measure", str(export), "--out", str(out)], capsys)
    assert status == 2
    assert err == (
        f"imncohort: error: '{out / 'restricted' / 'index' / 'instances.parquet'}' does not exist: "
        "the measure "
        f"stage reads the index; run 'imncohort index EXPORT --out {out}' first "
        "(or 'imncohort run')"
    )


def test_short_secret_file_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMNCOHORT_SECRET", raising=False)
    export, out = tmp_path / "export", tmp_path / "out"
    export.mkdir()
    (out / "restricted").mkdir(parents=True)
    (out / "restricted" / "secret").write_bytes(b"")  # what a disk-full first run leaves
    status, err = _run(["index", str(export), "--out", str(out)], capsys)
    assert status == 2
    assert err == (
        f"imncohort: error: secret file '{out / 'restricted' / 'secret'}' is empty (at least 32 "
        "needed), so the pseudonyms would be guessable; restore it from a backup, or delete "
        "OUT/restricted and the outputs made with it to start over with new keys"
    )


def test_second_run_on_one_out_refuses_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imncohort.runlock import out_lock

    export, out = tmp_path / "export", tmp_path / "out"
    export.mkdir()
    out.mkdir()
    with out_lock(out):  # a run in progress (another open file: flock conflicts)
        status, err = _run(["index", str(export), "--out", str(out)], capsys)
    assert status == 2
    assert err == (
        f"imncohort: error: another imncohort run (pid {os.getpid()}) is writing to '{out}'; "
        "wait for it to finish or choose another --out"
    )


def test_lock_of_a_killed_run_does_not_block(tmp_path: Path) -> None:
    from imncohort.runlock import LOCK_NAME, out_lock

    code = (
        "import os, signal, sys\n"
        "from imncohort.runlock import out_lock\n"
        "with out_lock(sys.argv[1]):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    died = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False)
    assert died.returncode == -signal.SIGKILL
    assert (tmp_path / LOCK_NAME).read_text().strip().isdigit()  # the dead run's pid is left
    with out_lock(tmp_path) as path:
        assert path.read_text() == f"{os.getpid()}\n"


def test_new_out_without_secret_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from imncohort_flows.cli import warn_new_out_without_secret

    monkeypatch.delenv("IMNCOHORT_SECRET", raising=False)
    assert warn_new_out_without_secret(tmp_path / "out") is True
    assert "IMNCOHORT_SECRET is not set" in capsys.readouterr().err
    (tmp_path / "out" / "restricted").mkdir(parents=True)
    (tmp_path / "out" / "restricted" / "secret").write_bytes(b"x" * 32)
    assert warn_new_out_without_secret(tmp_path / "out") is False
    monkeypatch.setenv("IMNCOHORT_SECRET", "site")
    assert warn_new_out_without_secret(tmp_path / "new") is False
    assert capsys.readouterr().err == ""


def test_config_check_accepts_prefect_cron_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for cron in ("30 1 * * MON-FRI", "@daily"):
        site = tmp_path / "site.yaml"
        site.write_text(f"schedule: {{cron: '{cron}', timezone: Europe/Berlin}}\n", "utf-8")
        assert main(["config", "check", str(site)]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{site}: valid\nschedule: '{cron}' in Europe/Berlin; next audit ")
    site.write_text("schedule: {cron: '61 1 * * *'}\n", "utf-8")
    assert main(["config", "check", str(site)]) == 2
    assert 'Invalid cron string: "61 1 * * *"' in capsys.readouterr().err


def test_config_show_prints_the_resolved_config(capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    assert main(["config", "show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["prefect"]["server"] == "reuse"
    assert shown["schedule"]["cron"] == "0 2 * * *"


def test_demo_into_a_relative_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "rel", "--patients", "1", "--seed", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["patients"] == 1
    assert (tmp_path / "rel" / "media" / "DICOMDIR").is_file()  # written with relative paths
    assert (tmp_path / "rel" / "ground_truth.json").is_file()
