"""Watchable, remembered audits through the real CLI, Prefect API and Dask/thread runners.

A receiver on 127.0.0.1 stands in for the department's chat/webhook endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from imncohort_flows.cli import main

from imncohort.demo.export import write_demo_export
from imncohort.keys import pseudonym

pytestmark = pytest.mark.slow

SECRET = "watch-history-secret"


class Receiver:
    """A webhook receiver on 127.0.0.1 recording the JSON bodies it is sent."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
    assert not r.thread.is_alive()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("IMNCOHORT_SECRET", SECRET)
    return SECRET


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IMNCOHORT_SECRET": SECRET, "CI": "1"}
    # as a user types it: an API URL an earlier in-process test left must not redirect it
    env.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "imncohort_flows.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


def _read_artifacts(api_url: str) -> list[str]:
    """Return the markdown of the ``imncohort-audit`` artifacts, newest first (REST API)."""
    import httpx

    response = httpx.post(
        f"{api_url}/artifacts/filter",
        json={
            "artifacts": {"key": {"any_": ["imncohort-audit"]}},
            "sort": "CREATED_DESC",
            "limit": 50,
        },
        timeout=30,
    )
    response.raise_for_status()
    return [str(item["data"]) for item in response.json()]


def test_run_is_watchable_and_reuses_the_server(tmp_path: Path) -> None:
    from imncohort_flows.server import read_info

    export = tmp_path / "export"
    write_demo_export(export, n_patients=1, seed=3)
    out = tmp_path / "out"
    first = _cli("run", str(export), "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    # Stage progress at INFO reaches the terminal (not clamped to WARNING) ...
    assert "INFO prefect.flow_runs: index: " in first.stderr
    reports = json.loads((out / "run.json").read_text("utf-8"))["stages"]["reports"]
    assert f"reports: {reports['reports']} reports, {reports['mentions']} mentions" in first.stderr
    assert "Beginning flow run" in first.stderr and "for flow 'audit'" in first.stderr
    # ... as one audit flow run (no separate stage flow runs) ...
    assert "for flow 'index'" not in first.stderr
    # ... and carries no identifier of the demo patient.
    for stream in (first.stdout, first.stderr):
        assert "DEMO0" not in stream
    server = read_info()
    assert server is not None
    record = json.loads((out / "run.json").read_text("utf-8"))
    # other tests' audits share the server: find this run's artifact by its run id
    ours = [
        m for m in _read_artifacts(server.api_url) if f"# imncohort audit {record['run_id']}" in m
    ]
    assert len(ours) == 1
    markdown = ours[0]
    assert str((out / "report.html").resolve()) in markdown
    confirmed = int((pd.read_csv(out / "cohort.csv")["status"] == "confirmed").sum())
    assert f"confirmed patients: {confirmed}" in markdown

    second = _cli("index", str(export), "--out", str(out))
    assert second.returncode == 0, second.stderr[-2000:]
    again = read_info()
    assert again is not None
    assert (again.pid, again.started_unix) == (server.pid, server.started_unix)
    assert "index: " in second.stderr


def _node_projection(truth: dict[str, Any], secret: str) -> set[tuple[str, str, str, str]]:
    return {
        (
            pseudonym(secret.encode(), n["patient_id"]),
            n["series_instance_uid"],
            n["roi_name"],
            str(n["component"]),
        )
        for n in truth["nodes"]
    }


def test_two_runs_keep_history_and_list_added_patients(
    tmp_path: Path, secret: str, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    out = tmp_path / "out"
    site = tmp_path / "site.yaml"
    site.write_text(f"notifications: {{webhook_url: '{receiver.url}'}}\n", "utf-8")
    write_demo_export(export, n_patients=2, seed=4)
    truth1 = json.loads((export / "ground_truth.json").read_text("utf-8"))
    assert main(["run", str(export), "--out", str(out), "--config", str(site)]) == 0
    shutil.rmtree(export)
    write_demo_export(export, n_patients=4, seed=4)
    truth2 = json.loads((export / "ground_truth.json").read_text("utf-8"))
    assert main(["run", str(export), "--out", str(out), "--config", str(site)]) == 0

    runs = sorted(p.name for p in (out / "runs").iterdir())
    first_id = json.loads((out / "runs" / runs[0] / "run.json").read_text())["run_id"]
    second_id = json.loads((out / "run.json").read_text())["run_id"]
    assert runs == sorted([first_id, second_id]) and first_id != second_id
    for run in runs:
        assert {p.name for p in (out / "runs" / run).iterdir()} >= {
            "run.json",
            "cohort.csv",
            "coverage.csv",
            "modality_detection.csv",
            "intercostal.csv",
        }

    def keys(truth: dict[str, Any], statuses: tuple[str, ...]) -> set[str]:
        return {
            pseudonym(secret.encode(), p["patient_id"])
            for p in truth["patients"]
            if p["status"] in statuses
        }

    changes = pd.read_csv(out / "changes.csv", dtype=str)
    by_change = changes.groupby("change")["key"].apply(set).to_dict()
    expected_candidates = keys(truth2, ("candidate",)) - keys(truth1, ("candidate", "confirmed"))
    assert by_change.get("new_candidate", set()) == expected_candidates
    assert by_change.get("new_confirmed", set()) == keys(truth2, ("confirmed",)) - keys(
        truth1, ("confirmed",)
    )
    projection = {
        tuple(k.split("/")[:1] + k.split("/")[2:]) for k in by_change.get("new_node", set())
    }
    assert projection == _node_projection(truth2, secret) - _node_projection(truth1, secret)
    removed = {
        tuple(k.split("/")[:1] + k.split("/")[2:]) for k in by_change.get("removed_node", set())
    }
    assert removed == _node_projection(truth1, secret) - _node_projection(truth2, secret)
    coverage = changes[changes["change"] == "coverage"]
    current = pd.read_csv(out / "coverage.csv")
    assert len(coverage) == len(current)
    previous = pd.read_csv(out / "runs" / first_id / "coverage.csv")
    row = coverage[coverage["key"] == "medial_lateral 5.0"].iloc[0]
    prev5 = previous[(previous["direction"] == "medial_lateral") & (previous["margin_mm"] == 5.0)]
    assert float(row["previous_ci_low"]) == pytest.approx(float(prev5["ci_low"].iloc[0]))

    report = (out / "report.html").read_text("utf-8")
    assert '<h2 id="since-last-audit">Since the last audit</h2>' in report
    assert f"{len(expected_candidates)} new candidate patients" in report
    capsys.readouterr()
    assert main(["runs", str(out)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listing[1:]] == runs
    if expected_candidates:
        texts = [m["title"] for m in receiver.messages]
        assert f"imncohort audit {second_id}: {len(expected_candidates)} new candidate(s)" in texts


def test_failing_audit_notifies_the_receiver(
    tmp_path: Path, secret: str, receiver: Receiver
) -> None:
    export = tmp_path / "export"
    write_demo_export(export, n_patients=1, seed=2)
    truth = json.loads((export / "ground_truth.json").read_text("utf-8"))
    site = tmp_path / "site.yaml"
    site.write_text(
        f"notifications: {{webhook_url: '{receiver.url}', on_new_candidates: false}}\n", "utf-8"
    )
    out = tmp_path / "out"
    assert main(["run", str(export), "--out", str(out), "--strict", "--config", str(site)]) == 2
    assert [m["title"] for m in receiver.messages] == ["imncohort audit failed"]
    text = receiver.messages[0]["text"]
    assert f"index met {len(truth['junk'])} bad input(s) under --strict" in text
    assert "DEMO0" not in text
