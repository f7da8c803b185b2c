"""Benchmark: the fixed start-up cost of ``imncohort run``, whole process, side by side.

Runs, interleaved, ``--repeats`` times each and prints medians and ratios:

* the floor: ``python -c "import prefect, distributed"``;
* ``imncohort run`` on an empty export and on a 1-patient demo export (fresh OUT every
  time), each (1) with the embedded default of a temporary API per run (this version:
  ``prefect.server: embedded``; a version without that key: no config) and (2) with an
  already running Prefect server (this version: the shared server it finds by itself;
  a version without one: ``PREFECT_API_URL`` pointing at that same server); for this
  version also (3) with the running server but ``IMNCOHORT_LAUNCHER=0`` (no warm
  launcher). The ``path`` column says how each run started (``run.json`` ``launcher``:
  ``warm`` when the warm launcher served it, else ``direct``).

``--baseline BIN`` adds the same rows for another installation's ``imncohort`` (for
example an untouched checkout of an earlier commit in its own venv). Every command
runs with its own interpreter; the machine is shared, so read ratios, not seconds.

Usage::

    python benchmarks/startup.py --repeats 3 --baseline /tmp/base/.venv/bin/imncohort
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "benchmark-secret"


def _path_used(out: Path) -> str:
    """How the run was started, from its ``run.json``: warm (the launcher) or direct."""
    import json

    try:
        record = json.loads((out / "run.json").read_text("utf-8"))
    except (OSError, ValueError):
        return "?"
    return str(record.get("launcher", "direct"))  # versions without a launcher: direct


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:  # a loaded machine can time out Prefect's health check: once more
        print(f"retrying after a failure: {' '.join(command[:3])}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def _python_of(binary: str) -> str:
    return str(Path(binary).resolve().parent / "python")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", help="another installation's imncohort executable")
    parser.add_argument("--workdir", type=Path, help="where to write (default: a temp dir)")
    parser.add_argument(
        "--inputs",
        default="empty,demo",
        help="comma-separated: empty (an empty export), demo (a 1-patient demo export)",
    )
    args = parser.parse_args(argv)
    wanted = set(args.inputs.split(","))

    current = str(Path(sys.executable).parent / "imncohort")
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="imn-startup-", dir=args.workdir))
    home = work / "prefect-home"
    env = {
        **os.environ,
        "IMNCOHORT_SECRET": SECRET,
        "IMNCOHORT_PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "CI": "1",
    }
    env.pop("PREFECT_API_URL", None)
    empty = work / "empty"
    empty.mkdir()
    demo = work / "demo1"
    subprocess.run(
        [current, "demo", str(demo), "--patients", "1"], env=env, check=True, capture_output=True
    )
    embedded = work / "embedded.yaml"
    embedded.write_text("prefect: {server: embedded}\n", "utf-8")

    # One shared server for the "running server" rows (started before timing).
    subprocess.run([current, "server", "start"], env=env, check=True, capture_output=True)
    server_url = _server_api_url(home)
    # The baseline installation must not import this checkout (PYTHONPATH of the caller).
    base_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    base_url = {**base_env, "PREFECT_API_URL": server_url}
    base_home_env = {**base_env, "IMNCOHORT_PREFECT_HOME": str(work / "prefect-home-baseline")}
    base_started: list[str] = []

    cases: list[tuple[str, list[str], dict[str, str]]] = [
        (
            "floor: python -c 'import prefect, distributed'",
            [sys.executable, "-c", "import prefect, distributed"],
            env,
        ),
    ]
    bins = [("this", current, True)]
    if args.baseline:
        bins.append(("baseline", args.baseline, _has_server_command(args.baseline, base_env)))
    for label, binary, has_server_key in bins:
        inputs = [("empty", empty, "empty"), ("1-patient demo", demo, "demo")]
        for name, export, _ in [i for i in inputs if i[2] in wanted]:
            run = [binary, "run", str(export), "--out"]
            if has_server_key:
                embedded_run = [*run, "{out}", "--config", str(embedded)]
                # A baseline with its own shared server gets its own Prefect home: a warm
                # launcher serves only the installation that started it.
                case_env = env if label == "this" else base_home_env
                if label != "this" and not base_started:
                    subprocess.run(
                        [binary, "server", "start"], env=case_env, check=True, capture_output=True
                    )
                    base_started.append(binary)
                cases.append((f"{label}: run {name}, embedded API", embedded_run, case_env))
                cases.append((f"{label}: run {name}, running server", [*run, "{out}"], case_env))
                if label == "this":  # the same without the warm launcher
                    cases.append(
                        (
                            f"{label}: run {name}, running server, no launcher",
                            [*run, "{out}"],
                            {**case_env, "IMNCOHORT_LAUNCHER": "0"},
                        )
                    )
            else:
                cases.append((f"{label}: run {name}, embedded API", [*run, "{out}"], base_env))
                cases.append((f"{label}: run {name}, running server", [*run, "{out}"], base_url))
    if args.baseline:
        cases.insert(
            1,
            (
                "baseline floor: import prefect, distributed",
                [_python_of(args.baseline), "-c", "import prefect, distributed"],
                {k: v for k, v in env.items() if k != "PYTHONPATH"},
            ),
        )

    seconds: dict[str, list[float]] = {label: [] for label, *_ in cases}
    paths: dict[str, set[str]] = {label: set() for label, *_ in cases}
    try:
        # Warm-up (first-run migrations, page cache), not timed.
        for _, command, case_env in cases[1:]:
            out = work / "out-warm"
            shutil.rmtree(out, ignore_errors=True)
            _timed([str(out) if c == "{out}" else c for c in command], case_env)
        for repeat in range(args.repeats):
            for label, command, case_env in cases:
                out = work / f"out-{repeat}-{abs(hash(label))}"
                shutil.rmtree(out, ignore_errors=True)
                seconds[label].append(
                    _timed([str(out) if c == "{out}" else c for c in command], case_env)
                )
                if "{out}" in command:
                    paths[label].add(_path_used(out))
            print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)
    finally:
        subprocess.run([current, "server", "stop"], env=env, check=False, capture_output=True)
        for binary in base_started:
            subprocess.run(
                [binary, "server", "stop"], env=base_home_env, check=False, capture_output=True
            )
    floor = statistics.median(seconds[cases[0][0]])
    print(f"\n{'case':<64}{'median s':>10}{'x floor':>9}  path")
    for label, *_ in cases:
        value = statistics.median(seconds[label])
        path = "/".join(sorted(paths[label])) or "-"
        print(f"{label:<64}{value:>10.2f}{value / floor:>9.2f}  {path}")
    print("path: warm = served by the warm launcher, direct = started in its own process")
    print(
        "\ntargets: empty run <= 3x floor with a running server, <= 6x embedded "
        f"({args.repeats} repeats, whole process)"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _has_server_command(binary: str, env: dict[str, str]) -> bool:
    """True when that installation has ``imncohort server`` (and ``prefect.server``)."""
    done = subprocess.run(
        [binary, "server", "--help"], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def _server_api_url(home: Path) -> str:
    import json

    info = json.loads((home / "server" / "server.json").read_text("utf-8"))
    return str(info["url"]).rstrip("/") + "/api"


if __name__ == "__main__":
    sys.exit(main())
