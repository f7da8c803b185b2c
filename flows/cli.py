"""Command-line side of the flows: checks inputs, runs stages, prints the summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from flows.runtime import StageSettings
from imncohort.config import load_config, secret_from_env
from imncohort.errors import ConfigError, ExportError, ImnCohortError, StageOrderError
from imncohort.keys import load_or_create_secret
from imncohort.layout import OutLayout
from imncohort.outputs import ensure_writable
from imncohort.runinfo import summary_lines

STAGE_ORDER = ("index", "reports", "measure", "tables")


def check_paths(export: Path, out: Path) -> tuple[Path, Path]:
    """Check the export exists and OUT is writable and outside the export."""
    export = Path(export)
    if not export.exists():
        raise ExportError(f"export directory '{export}' does not exist; pass the PACS export path")
    if not export.is_dir():
        raise ExportError(f"export '{export}' is not a directory; pass the PACS export folder")
    out_resolved = Path(out).resolve()
    export_resolved = export.resolve()
    if out_resolved == export_resolved or export_resolved in out_resolved.parents:
        raise ExportError(
            f"--out '{out}' lies inside the export '{export}', which is read-only; "
            "choose an output directory outside it"
        )
    return export, ensure_writable(Path(out))


def settings_from_args(args: argparse.Namespace) -> StageSettings:
    """Validate the command line and return the stage settings."""
    config = load_config(args.config)
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    export, out = check_paths(args.export, args.out)
    del config
    load_or_create_secret(out, secret_from_env())  # a bad secret stops here, in one line
    return StageSettings(
        export=export,
        out=out,
        config_path=args.config,
        workers=args.workers,
        dask_address=args.dask_address,
        strict=bool(getattr(args, "strict", False)),
        rehash=bool(getattr(args, "rehash", False)),
    )


NEEDS_INDEX = ("reports", "measure")


def check_stage_inputs(out: Path, stage: str) -> None:
    """Refuse to start a stage whose inputs an earlier stage has not written yet."""
    if stage not in NEEDS_INDEX:
        return
    for name in ("instances", "series"):
        if not OutLayout(out).index_table(name).exists():
            raise StageOrderError(
                f"'{OutLayout(out).index_table(name)}' does not exist: the {stage} stage reads the "
                f"index; run 'imncohort index EXPORT --out {out}' first (or 'imncohort run')"
            )


def _bad_inputs(out: Path) -> int:
    errors = OutLayout(out).errors_csv
    return len(pd.read_csv(errors)) if errors.exists() else 0


def warn_new_out_without_secret(out: Path) -> bool:
    """Warn (stderr) when OUT has no secret yet and ``IMNCOHORT_SECRET`` is unset."""
    from imncohort.config import SECRET_ENV, secret_from_env

    if secret_from_env() is not None or OutLayout(out).secret.exists():
        return False
    sys.stderr.write(
        f"imncohort: warning: {out} is a new output directory and {SECRET_ENV} is not set: "
        "a new random secret gives every patient new keys here, so this OUT cannot be "
        f"compared with earlier audits; set {SECRET_ENV} to the site's secret for "
        "longitudinal audits\n"
    )
    return True


def run_command(args: argparse.Namespace) -> int:
    """Run ``run``, one stage, or ``serve``; return the exit status."""
    if args.command == "serve":
        from flows.serve import serve

        return serve(args)
    if args.command == "package":
        from flows.package import run_package_command

        return run_package_command(args)
    if args.command == "server":
        from flows.server import server_command

        return server_command(args)
    if args.command == "config":
        from flows.checks import config_command

        return config_command(args)
    new_out = not OutLayout(args.out).secret.exists()
    settings = settings_from_args(args)
    from flows.audit import run_stages

    stages = STAGE_ORDER if args.command == "run" else (args.command,)
    if args.command != "run":
        check_stage_inputs(settings.out, args.command)
    if new_out:
        warn_new_out_without_secret(settings.out)
    config = load_config(settings.config_path)
    run_stages(
        settings,
        stages,
        dashboard=bool(getattr(args, "dashboard", False) or config.prefect.dashboard),
    )
    for line in summary_lines(settings.out):
        sys.stdout.write(line + "\n")
    bad = _bad_inputs(settings.out)
    if settings.strict and bad:
        raise ImnCohortError(
            f"{bad} bad input(s) under --strict; see {OutLayout(settings.out).errors_csv}"
        )
    return 0
