"""Benchmark: the orchestration share of a whole audit, measured on whole processes.

On the demo export (default 200 patients, ``imncohort demo DIR --patients 200``) this
times, interleaved, ``--repeats`` times each on a fresh OUT, medians:

(A) ``imncohort run EXPORT --out OUT`` as a user types it: one whole process with
    Prefect (the shared local server, started by the warm-up run if none is running)
    and its task runner (threads or a local Dask cluster of 2 workers);
(B) a plain-Python script that calls the same library stage functions one after the
    other (index, reports, measure, tables), no Prefect and no Dask, also as one
    whole process (``python -c``, interpreter start and imports included).

The orchestration share is ``(A - B) / A``: the part of the wall time a user waits
that Prefect, Dask and the start-up around them add on top of the library's work.
``--baseline BIN`` adds (A) and (B) for another installation side by side. The
machine is shared: read the ratios, not the seconds.

Usage::

    python benchmarks/e2e.py --patients 200 --workdir /tmp/imn-e2e --baseline OTHER/bin/imncohort
    python benchmarks/e2e.py --in-process   # the older in-process comparison per stage
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import imncohort_flows  # noqa: F401  (configures Prefect before it is imported)
from imncohort_flows.audit import STAGE_NAMES
from imncohort_flows.launch import run_stages
from imncohort_flows.runtime import StageSettings

from imncohort.config import load_config
from imncohort.demo.export import write_demo_export
from imncohort.index.stage import index_export
from imncohort.keys import load_or_create_secret
from imncohort.measure.stage import rebuild_cohort, run_measure_stage
from imncohort.reports.stage import run_reports_stage
from imncohort.tables.inputs import find_clinical_table
from imncohort.tables.stage import build_tables

SECRET = b"benchmark-secret"


def run_direct(export: Path, out: Path) -> dict[str, float]:
    """Run every stage's library function in this process; return seconds per stage."""
    config = load_config()
    secret = load_or_create_secret(out, SECRET)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    index_export(export, out, chunk_size=config.index.chunk_size, secret=secret)
    seconds["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_reports_stage(export, out, config, secret)
    seconds["reports"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_measure_stage(export, out, config, qc=True)
    rebuild_cohort(out)
    seconds["measure"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_tables(out, config, secret, find_clinical_table(export, config), export=export)
    seconds["tables"] = time.perf_counter() - t0
    return seconds


def run_orchestrated(export: Path, out: Path, workers: int) -> dict[str, float]:
    """Run the audit as ``imncohort run`` does; return seconds per stage and in total."""
    settings = StageSettings(
        export=export, out=out, config_path=None, workers=workers, dask_address=None, strict=False
    )
    t0 = time.perf_counter()
    record: dict[str, Any] = run_stages(settings, STAGE_NAMES)
    seconds = {stage: float(record["stages"][stage]["seconds"]) for stage in STAGE_NAMES}
    seconds["total"] = time.perf_counter() - t0
    return seconds


DIRECT_SCRIPT = """
import sys, time
from pathlib import Path
from imncohort.config import load_config
from imncohort.index.stage import index_export
from imncohort.keys import load_or_create_secret
from imncohort.measure.stage import rebuild_cohort, run_measure_stage
from imncohort.reports.stage import run_reports_stage
from imncohort.tables.stage import build_tables
from imncohort.tables.inputs import find_clinical_table
export, out = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config()
secret = load_or_create_secret(out, b"benchmark-secret")
index_export(export, out, chunk_size=config.index.chunk_size, secret=secret)
run_reports_stage(export, out, config, secret)
run_measure_stage(export, out, config, qc=True)
rebuild_cohort(out)
build_tables(out, config, secret, find_clinical_table(export, config), export=export)
"""


def _timed_process(command: list[str], env: dict[str, str], cwd: Path) -> float:
    import subprocess

    start = time.perf_counter()
    # cwd outside any checkout: `python -c` puts the working directory first on sys.path.
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, cwd=str(cwd)
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def whole_process(args: argparse.Namespace, export: Path, workdir: Path) -> None:
    """(A) ``imncohort run`` as a user types it vs (B) the library calls in one process.

    Both are whole processes (interpreter start, imports, teardown included); the share
    ``(A - B) / A`` is what Prefect, Dask and the start-up cost on top of the work.
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "IMNCOHORT_SECRET": SECRET.decode(), "CI": "1"}
    bins = [("this", str(Path(sys.executable).parent / "imncohort"))]
    if args.baseline:
        bins.append(("baseline", args.baseline))
    rows: dict[str, list[float]] = {}
    for label, binary in bins:  # warm-up, not timed: server start, page cache, migrations
        case_env = {k: v for k, v in env.items() if label == "this" or k != "PYTHONPATH"}
        case_env["IMNCOHORT_PREFECT_HOME"] = str(workdir / f"prefect-home-{label}")
        out = workdir / "out-warm"
        shutil.rmtree(out, ignore_errors=True)
        _timed_process([binary, "run", str(export), "--out", str(out)], case_env, workdir)
    for repeat in range(args.repeats):
        for label, binary in bins:
            python = str(Path(binary).parent / "python")
            case_env = dict(env)
            # Each installation its own shared server and warm launcher (a launcher serves
            # only the installation that started it).
            case_env["IMNCOHORT_PREFECT_HOME"] = str(workdir / f"prefect-home-{label}")
            if label == "baseline":
                case_env.pop("PYTHONPATH", None)  # never this checkout
            for name, command in (
                (f"{label}: imncohort run", [binary, "run", str(export), "--out"]),
                (f"{label}: direct, 1 process", [python, "-c", DIRECT_SCRIPT, str(export)]),
            ):
                out = workdir / "out-wp"
                shutil.rmtree(out, ignore_errors=True)
                seconds = _timed_process([*command, str(out)], case_env, workdir)
                rows.setdefault(name, []).append(seconds)
                print(f"repeat {repeat + 1} {name}: {seconds:.1f} s", flush=True)
    print(f"\n{'whole process':<34}{'median s':>10}")
    for name, values in rows.items():
        print(f"{name:<34}{statistics.median(values):>10.2f}")
    for label, binary in bins:  # stop the shared servers (and launchers) the runs started
        stop_env = {**env, "IMNCOHORT_PREFECT_HOME": str(workdir / f"prefect-home-{label}")}
        subprocess.run([binary, "server", "stop"], env=stop_env, capture_output=True, check=False)
    for label, _ in bins:
        a = statistics.median(rows[f"{label}: imncohort run"])
        b = statistics.median(rows[f"{label}: direct, 1 process"])
        print(
            f"{label}: orchestration share (A - B) / A = {(a - b) / a:.1%}  "
            f"(target <= 20%; {args.patients} patients, medians of {args.repeats})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the export here (reused if present)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="instead: run_stages vs the direct calls inside this process, per stage",
    )
    parser.add_argument("--whole-process", action="store_true", help="the default (kept)")
    parser.add_argument("--baseline", help="another installation's imncohort (whole process)")
    args = parser.parse_args()

    import os

    os.environ["IMNCOHORT_SECRET"] = SECRET.decode()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="imn-e2e-"))
    export = workdir / f"export-{args.patients}-{args.seed}"
    t0 = time.perf_counter()
    if not export.exists():
        write_demo_export(export, n_patients=args.patients, seed=args.seed)
    print(f"demo export: {args.patients} patients in {time.perf_counter() - t0:.1f} s")
    if not args.in_process:
        whole_process(args, export, workdir)
        return

    direct: list[dict[str, float]] = []
    orchestrated: list[dict[str, float]] = []
    for repeat in range(args.repeats):
        for name, runs in (("orchestrated", orchestrated), ("direct", direct)):
            out = workdir / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            if name == "direct":
                t0 = time.perf_counter()
                seconds = run_direct(export, out)
                seconds["total"] = time.perf_counter() - t0
            else:
                seconds = run_orchestrated(export, out, args.workers)
            runs.append(seconds)
            print(f"repeat {repeat + 1} {name:>12}: {seconds['total']:.1f} s", flush=True)

    print()
    print(f"{'stage':<10}{'Prefect+Dask (s)':>18}{'direct (s)':>12}{'overhead':>10}")
    for stage in (*STAGE_NAMES, "total"):
        a = statistics.median(r[stage] for r in orchestrated)
        b = statistics.median(r[stage] for r in direct)
        share = (a - b) / a if a > 0 else 0.0
        print(f"{stage:<10}{a:>18.2f}{b:>12.2f}{share:>10.1%}")
    print("\nper repeat (the first orchestrated run also starts the embedded Prefect API):")
    for n, (a_run, b_run) in enumerate(zip(orchestrated, direct, strict=True), start=1):
        share = (a_run["total"] - b_run["total"]) / a_run["total"]
        print(f"  repeat {n}: {a_run['total']:.1f} s vs {b_run['total']:.1f} s -> {share:.1%}")
    a_total = statistics.median(r["total"] for r in orchestrated)
    b_total = statistics.median(r["total"] for r in direct)
    print(
        f"\norchestration share of the total (median of {args.repeats}): "
        f"{(a_total - b_total) / a_total:.1%}  (target < 20%; {args.workers} Dask workers, "
        "direct = one process)"
    )


if __name__ == "__main__":
    main()
