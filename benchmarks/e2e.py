"""Benchmark: the whole audit through Prefect + Dask vs the stage functions called directly.

On a demo export (default 200 patients) this runs, side by side in one process:

(A) ``run_stages`` as ``imncohort run`` does: Prefect flows (embedded SQLite API) with
    their tasks on a local Dask cluster of ``--workers`` processes;
(B) the same stage functions of the library called directly, one after the other, in
    this process (no Prefect, no Dask).

Each is run ``--repeats`` times on a fresh OUT; the medians per stage are printed with
the orchestration share ``(A - B) / A``. (A)'s total includes starting the Dask cluster
and, on its first repeat, the embedded Prefect API. The machine is shared: read the
ratios, not the absolute seconds.

Usage::

    python benchmarks/e2e.py --patients 200 --workdir /tmp/imn-e2e
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import flows  # noqa: F401  (configures Prefect before it is imported)
from flows.audit import STAGE_NAMES, run_stages
from flows.runtime import StageSettings
from imncohort.config import load_config
from imncohort.demo.export import write_demo_export
from imncohort.index.build import index_export
from imncohort.keys import load_or_create_secret
from imncohort.measure.stage import rebuild_cohort, run_measure_stage
from imncohort.reports.stage import run_reports_stage
from imncohort.tables.build import build_tables
from imncohort.tables.inputs import find_clinical_table

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the export here (reused if present)")
    args = parser.parse_args()

    import os

    os.environ["IMNCOHORT_SECRET"] = SECRET.decode()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="imn-e2e-"))
    export = workdir / f"export-{args.patients}-{args.seed}"
    t0 = time.perf_counter()
    write_demo_export(export, n_patients=args.patients, seed=args.seed)
    print(f"demo export: {args.patients} patients in {time.perf_counter() - t0:.1f} s")

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
