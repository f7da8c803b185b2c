"""The warm launcher beside the shared server: real processes, a real Unix socket, no mocks.

One shared server with its launcher is started for this module under its own
``IMNCOHORT_PREFECT_HOME`` and stopped at the end (``server stop`` must leave no process).
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

from imncohort.demo.export import write_demo_export
from imncohort.layout import OutLayout

SECRET = "launcher-test-secret-0123456789"


class Home:
    """The module's Prefect home: its environment and the CLI run against it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "IMNCOHORT_PREFECT_HOME": str(root),
            "IMNCOHORT_SECRET": SECRET,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "CI": "1",
        }
        self.env.pop("PREFECT_API_URL", None)
        self.env.pop("IMNCOHORT_LAUNCHER", None)

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "imncohort_flows.cli", *args],
            capture_output=True,
            text=True,
            env={**self.env, **extra},
            timeout=600,
            check=False,
        )

    def popen(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        """The CLI as a terminal starts it: SIGINT at its default (the caller may ignore it)."""
        return subprocess.Popen(
            [sys.executable, "-m", "imncohort_flows.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **extra},
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def record(self, name: str) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.root / name).read_text("utf-8"))
        return data

    def launcher_pid(self) -> int:
        return int(self.record("launcher/launcher.json")["pid"])  # type: ignore[call-overload]

    def log(self) -> str:
        return (self.root / "launcher" / "launcher.log").read_text("utf-8")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    here = Home(tmp_path_factory.mktemp("launcher-home"))
    started = here.cli("server", "start")
    assert started.returncode == 0, started.stderr[-3000:]
    assert "warm launcher: pid " in started.stdout
    try:
        yield here
    finally:
        here.cli("server", "stop")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("launcher-export") / "export"
    write_demo_export(root, n_patients=2, seed=11)
    return root


def _children(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=False)


def _runs(launcher: int) -> list[psutil.Process]:
    """The launcher's children that are runs (not its forkserver or resource tracker)."""
    return [k for k in _children(launcher) if "multiprocessing." not in " ".join(k.cmdline())]


def _wait_for_child(launcher: int, timeout: float = 60.0) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = _runs(launcher)
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise AssertionError("the launcher forked no run")


def test_socket_is_private_and_status_shows_the_launcher(home: Home) -> None:
    folder = home.root / "launcher"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    sock = folder / "launcher.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    status = home.cli("server", "status")
    assert f"warm launcher: pid {home.launcher_pid()}, ready in " in status.stdout
    launcher = psutil.Process(home.launcher_pid())
    assert launcher.num_threads() >= 1
    assert "imncohort_flows.launcherd" in " ".join(launcher.cmdline())


def test_server_stop_refuses_while_a_run_uses_the_server(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's heartbeat holds the shared lock: ``server stop`` then leaves the server."""
    from imncohort_flows.server import Heartbeat, read_info, server_in_use

    monkeypatch.setenv("IMNCOHORT_PREFECT_HOME", str(home.root))
    info = read_info()
    assert info is not None
    assert server_in_use() is False
    beat = Heartbeat().start()  # what every run that uses the shared server starts
    try:
        assert server_in_use() is True
        refused = home.cli("server", "stop")
        assert refused.returncode == 2
        assert refused.stderr == (
            f"imncohort: error: a run is using the shared Prefect server (pid {info.pid}); it "
            "was not stopped. Wait for the run to finish, or stop it anyway with "
            "'imncohort server stop --force'\n"
        )
        assert psutil.pid_exists(info.pid)
        assert "Prefect server answering: pid " in home.cli("server", "status").stdout
        assert f"warm launcher: pid {home.launcher_pid()}" in home.cli("server", "status").stdout
    finally:
        beat.stop()
    assert server_in_use() is False  # the lock goes with the run


def test_warm_run_matches_a_direct_run(home: Home, export: Path, tmp_path: Path) -> None:
    direct = home.cli("run", str(export), "--out", str(tmp_path / "direct"), IMNCOHORT_LAUNCHER="0")
    assert direct.returncode == 0, direct.stderr[-3000:]
    warm = home.cli("run", str(export), "--out", str(tmp_path / "warm"))
    assert warm.returncode == 0, warm.stderr[-3000:]

    records = {
        n: json.loads((tmp_path / n / "run.json").read_text("utf-8")) for n in ("direct", "warm")
    }
    assert records["direct"]["launcher"] == "direct"
    assert records["warm"]["launcher"] == "warm"
    for name in ("cohort.csv", "nodes.csv", "coverage.csv"):
        frames = {n: pd.read_csv(tmp_path / n / name) for n in ("direct", "warm")}
        assert len(frames["warm"]) == len(frames["direct"]) > 0, name
        assert list(frames["warm"].columns) == list(frames["direct"].columns)
    cohort = {n: pd.read_csv(tmp_path / n / "cohort.csv") for n in ("direct", "warm")}
    assert sorted(cohort["warm"]["status"]) == sorted(cohort["direct"]["status"])
    # The same summary lines on stdout (they name OUT, which differs) and stage lines on stderr.
    same = {
        n: d.stdout.replace(str(tmp_path / n), "OUT")
        for n, d in (("warm", warm), ("direct", direct))
    }
    assert same["warm"] == same["direct"]
    assert same["warm"].startswith("patients: 2")
    assert "[4/4] tables done in" in warm.stderr
    assert "Beginning flow run" in warm.stderr and "for flow 'audit'" in warm.stderr
    # The launcher logged the command by name only: no path, no identifier.
    log = home.log()
    assert "(run) exited 0 after" in log
    assert str(export) not in log and str(tmp_path) not in log and "DEMO" not in log


def _forkserver_of(launcher: int) -> psutil.Process:
    kids = [k for k in _children(launcher) if "multiprocessing.forkserver" in " ".join(k.cmdline())]
    assert len(kids) == 1, [k.cmdline()[:3] for k in _children(launcher)]
    return kids[0]


def test_dask_workers_of_a_warm_run_fork_from_the_launchers_forkserver(
    home: Home, export: Path, tmp_path: Path
) -> None:
    forkserver = _forkserver_of(home.launcher_pid())
    preloaded = " ".join(forkserver.cmdline())
    assert "imncohort_flows.index" in preloaded and "imncohort_flows.measure" in preloaded
    assert "imncohort.index.reader" in preloaded  # the reader (and pydicom), once for all
    config = tmp_path / "dask.yaml"
    config.write_text("prefect:\n  local_below_files: 1\n", "utf-8")  # Dask for any export
    run = home.popen("index", str(export), "--out", str(tmp_path / "out"), "--config", str(config))
    workers: set[int] = set()
    while run.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            workers.update(k.pid for k in forkserver.children())
        time.sleep(0.05)
    _out, err = run.communicate()
    assert run.returncode == 0, err[-3000:]
    record = json.loads((tmp_path / "out" / "run.json").read_text("utf-8"))
    assert record["launcher"] == "warm"
    assert record["runner"] == "dask-local"
    assert len(workers) == 2  # config dask.workers, each forked by the shared forkserver
    assert _forkserver_of(home.launcher_pid()).pid == forkserver.pid  # it outlives the run
    _gone, alive = psutil.wait_procs(
        [psutil.Process(p) for p in workers if psutil.pid_exists(p)], timeout=30
    )
    assert alive == []


def test_failing_command_returns_its_status_and_stderr(home: Home, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-export"
    done = home.cli("index", str(missing), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("imncohort: error: export directory")
    assert str(missing) in done.stderr  # the client's own stderr carried the message
    assert "(index) exited 2 after" in home.log()
    assert str(missing) not in home.log()
    usage = home.cli("index")  # argparse's usage error: SystemExit(2) in the child
    assert usage.returncode == 2
    assert "the following arguments are required: export, --out" in usage.stderr


def test_other_import_time_environment_runs_directly(home: Home, tmp_path: Path) -> None:
    done = home.cli(
        "index", str(tmp_path / "absent"), "--out", str(tmp_path / "o"), MPLBACKEND="agg"
    )
    assert done.returncode == 2
    assert "refused a 'index' command: other import-time environment" in home.log()


def test_terminal_is_the_clients_terminal(home: Home, export: Path, tmp_path: Path) -> None:
    """On a terminal the run draws rich output (ANSI codes) as a direct run does."""
    env = {k: v for k, v in home.env.items() if k != "CI"}
    leader, follower = pty.openpty()
    out = tmp_path / "tty"
    process = subprocess.Popen(
        [sys.executable, "-m", "imncohort_flows.cli", "index", str(export), "--out", str(out)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's last writer closed it
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0, output[-2000:]
    os.close(leader)
    assert json.loads((out / "run.json").read_text("utf-8"))["launcher"] == "warm"
    assert b"\x1b[" in output  # terminal control codes: the run saw a terminal
    piped = home.cli("index", str(export), "--out", str(tmp_path / "piped"))
    assert piped.returncode == 0
    assert "\x1b[" not in piped.stderr and "\x1b[" not in piped.stdout


def test_sigint_is_forwarded_and_sigkill_of_the_client_ends_the_run(
    home: Home, export: Path, tmp_path: Path
) -> None:
    launcher = home.launcher_pid()
    # Ctrl-C: the run gets SIGINT and ends as a direct run does (status 130, one line).
    client = home.popen(
        "index", str(export), "--out", str(tmp_path / "a"), IMNCOHORT_FAULT="hang@stage.index.start"
    )
    child = _wait_for_child(launcher)
    time.sleep(1.0)
    client.send_signal(signal.SIGINT)
    _, err = client.communicate(timeout=60)
    assert client.returncode == 130, err[-2000:]
    assert "imncohort: interrupted; previous outputs are intact" in err
    assert not psutil.pid_exists(child.pid) or child.status() == psutil.STATUS_ZOMBIE

    # SIGKILL of the client: the launcher ends the run's process group; nothing is left.
    client = home.popen(
        "index", str(export), "--out", str(tmp_path / "b"), IMNCOHORT_FAULT="hang@stage.index.start"
    )
    child = _wait_for_child(launcher)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "b" / "run.json").exists():
        time.sleep(0.1)
    family = [child, *child.children(recursive=True)]
    assert family[0].cwd() == os.getcwd()  # the run adopted the client's cwd
    client.kill()
    client.wait(timeout=10)
    gone, alive = psutil.wait_procs(family, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
    assert len(gone) == len(family)
    assert "is gone; ending the run" in home.log()
    assert _runs(launcher) == []


def test_server_stop_leaves_no_process(home: Home, tmp_path: Path) -> None:
    launcher = psutil.Process(home.launcher_pid())
    forkserver = _forkserver_of(launcher.pid)
    server = psutil.Process(int(home.record("server/server.json")["pid"]))  # type: ignore[call-overload]
    stopped = home.cli("server", "stop")
    assert stopped.returncode == 0 and f"stopped pid {server.pid}" in stopped.stdout
    _gone, alive = psutil.wait_procs([launcher, forkserver, server], timeout=30)
    assert alive == []
    assert not (home.root / "launcher" / "launcher.sock").exists()
    assert not (home.root / "launcher" / "launcher.json").exists()
    assert "no shared Prefect server is running" in home.cli("server", "status").stdout
    # Without a launcher the same command runs directly.
    done = home.cli("index", str(tmp_path / "absent"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2


@pytest.mark.slow
def test_first_run_starts_a_clean_launcher_that_serves_the_next(
    tmp_path: Path, export: Path
) -> None:
    """A run that starts the server (and a Dask cluster) starts the launcher; the next is warm.

    Dask sets OMP_NUM_THREADS=1, PYTHONHASHSEED and more in the process that starts a
    local cluster: the launcher must get the environment the command started with.
    """
    fresh = Home(tmp_path / "home")
    config = tmp_path / "dask-from-20.yaml"
    config.write_text("prefect: {local_below_files: 20}\n", "utf-8")
    try:
        first = fresh.cli(
            "index", str(export), "--out", str(tmp_path / "a"), "--config", str(config)
        )
        assert first.returncode == 0, first.stderr[-3000:]
        record = json.loads((tmp_path / "a" / "run.json").read_text("utf-8"))
        assert (record["launcher"], record["runner"]) == ("direct", "dask-local")
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline and not (fresh.root / "launcher" / "launcher.json").exists()
        ):
            time.sleep(0.2)
        environ = psutil.Process(fresh.launcher_pid()).environ()
        for name in ("OMP_NUM_THREADS", "PYTHONHASHSEED", "PREFECT_API_URL"):
            assert environ.get(name) == os.environ.get(name), name
        assert "IMNCOHORT_SECRET" not in environ  # the secret travels per request only
        second = fresh.cli(
            "index", str(export), "--out", str(tmp_path / "b"), "--config", str(config)
        )
        assert second.returncode == 0, second.stderr[-3000:]
        record = json.loads((tmp_path / "b" / "run.json").read_text("utf-8"))
        assert (record["launcher"], record["runner"]) == ("warm", "dask-local")
        instances = {
            n: pd.read_parquet(OutLayout(tmp_path / n).index_table("instances")) for n in ("a", "b")
        }
        assert len(instances["b"]) == len(instances["a"]) > 0
    finally:
        fresh.cli("server", "stop")
