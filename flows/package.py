"""Prefect flow of the research package: one task per batch of patients.

Importing this module runs ``flows/__init__.py`` first, which configures Prefect.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from imncohort.config import load_config, secret_from_env
from imncohort.errors import ConfigError
from imncohort.keys import load_or_create_secret
from imncohort.package.plan import PatientJob, batches, plan_package, source_export
from imncohort.package.stage import (
    BatchResult,
    check_target,
    finish_package,
    merge_results,
    package_batch,
    staging_dir,
)

BATCHES_PER_WORKER = 2


@task(name="package-batch", retries=0)
def package_batch_task(jobs: list[PatientJob], export: str, out: str, staging: str) -> BatchResult:
    """De-identify and write one batch of patients' files into the staging directory."""
    return package_batch(jobs, export, out, staging)


@flow(name="package")
def package_flow(
    out: str,
    to: str,
    patients: str = "confirmed",
    config_path: str | None = None,
    workers: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the research package of OUT's ``patients`` to ``to``.

    Parameters
    ----------
    out
        The audit's output directory (index, nodes, cohort, secret).
    to
        The package directory to create (replaced only with ``overwrite``).
    patients
        ``confirmed``, ``candidates`` (with the confirmed) or ``all``.
    config_path, workers
        Optional user YAML file; local cluster size (for the number of batches).
    """
    logger = get_run_logger()
    start = time.perf_counter()
    config = load_config(config_path)
    out_path = Path(out)
    export = source_export(out_path)
    target = check_target(Path(to), export, out_path, overwrite)
    secret = load_or_create_secret(out_path, secret_from_env())
    jobs, selected, problems = plan_package(out_path, export, patients, secret)
    groups = batches(jobs, max(1, (workers or config.dask.workers) * BATCHES_PER_WORKER))
    with staging_dir(target) as staging:
        futures = [
            package_batch_task.submit(g, str(export), str(out_path), str(staging)) for g in groups
        ]
        result = merge_results([f.result() for f in futures])
        summary = finish_package(
            out_path,
            staging,
            target.name,
            patients,
            config,
            selected,
            result,
            problems,
            time.perf_counter() - start,
        )
    logger.info(
        "package: %d patients, %d files, %d left out, %d unresolved references in %.1f s",
        summary["patients_selected"],
        summary["files"],
        summary["excluded"],
        summary["unresolved_references"],
        summary["seconds"],
    )
    return summary


def run_package_command(args: argparse.Namespace) -> int:
    """``imncohort package OUT --to DIR``: check the arguments, run the flow, print counts."""
    config = load_config(args.config)
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    out = Path(args.out)
    export = source_export(out)
    check_target(Path(args.to), export, out, bool(args.overwrite))  # refuse before any start
    from imncohort.runlock import out_lock

    from .execute import runtime

    # The OUT lock: a package reads OUT's index, nodes and secret while no run rewrites them.
    with (
        out_lock(out),
        runtime(config, export, ("package",), args.workers, args.dask_address) as rt,
    ):
        summary = package_flow.with_options(task_runner=rt.runner)(
            out=str(out),
            to=str(args.to),
            patients=args.patients,
            config_path=str(args.config) if args.config else None,
            workers=args.workers,
            overwrite=bool(args.overwrite),
        )
    sys.stdout.write(
        f"package: {summary['patients_selected']} patients, {summary['files']} files, "
        f"{summary['excluded']} left out (excluded.csv), "
        f"{summary['unresolved_references']} unresolved references "
        f"(unresolved_references.csv)\n"
        f"package: {Path(args.to)}\n"
    )
    return 0
