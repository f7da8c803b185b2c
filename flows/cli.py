"""The ``imncohort`` command line (the console entry point).

``demo``, ``classify`` and ``runs`` call the library in-process; the stage commands
(``run``, ``index``, ``reports``, ``measure``, ``tables``), ``package``, ``serve``,
``server`` and ``config`` run through Prefect (and Dask when the work is large). This
module lives in ``flows/`` so that the library ``imncohort/`` never imports the
orchestration package. Heavy imports (Prefect, pandas, pydicom) happen only in the
command that needs them.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imncohort import __version__
from imncohort.envvars import secret_from_env
from imncohort.errors import ConfigError, ImnCohortError, StageOrderError
from imncohort.layout import OutLayout

if TYPE_CHECKING:  # imported where used: a command the warm launcher runs needs neither
    from .runtime import StageSettings

STAGES = ("run", "index", "reports", "measure", "tables")


def _add_stage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", type=Path, help="the PACS export directory (read-only)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--config", type=Path, help="YAML file overriding config/default.yaml")
    parser.add_argument("--workers", type=int, help="local Dask workers (default: config)")
    parser.add_argument(
        "--dask-address", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero when any input was bad"
    )
    parser.add_argument(
        "--rehash",
        action="store_true",
        help="index: also compare content hashes (reads every file; see README)",
    )
    parser.add_argument(
        "--dashboard", action="store_true", help="open the Dask dashboard on 127.0.0.1:8787"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``imncohort`` command."""
    parser = argparse.ArgumentParser(
        prog="imncohort",
        description="Internal mammary node cohort audit from a PACS export.",
    )
    parser.add_argument("--version", action="version", version=f"imncohort {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="write a synthetic PACS export with its answers")
    demo.add_argument("dir", type=Path, help="directory to create (must be empty or new)")
    demo.add_argument("--patients", type=int, default=20, help="number of patients (default 20)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    helps = {
        "run": "the whole audit: index, reports, measure, tables",
        "index": "index the export (instances, series, studies)",
        "reports": "mine reports for IMN mentions; build the cohort and worklist",
        "measure": "measure every annotated node against the IM vessels",
        "tables": "write the tables, figures and report.html",
    }
    for name in STAGES:
        _add_stage_options(sub.add_parser(name, help=helps[name]))

    classify = sub.add_parser("classify", help="assertion of a target phrase in a sentence")
    classify.add_argument("--target", help="the phrase whose assertion is wanted")
    classify.add_argument("--tsv", type=Path, help="TSV with columns target and sentence")
    classify.add_argument("sentence", nargs="?", help="the sentence (with --target)")

    package = sub.add_parser(
        "package", help="write a de-identified research package of the audited cohort"
    )
    package.add_argument("out", type=Path, help="the audit's output directory")
    package.add_argument("--to", type=Path, required=True, help="package directory to create")
    package.add_argument(
        "--patients",
        choices=("confirmed", "candidates", "all"),
        default="confirmed",
        help="which patients (default confirmed; candidates include the confirmed)",
    )
    package.add_argument("--config", type=Path, help="YAML file overriding config/default.yaml")
    package.add_argument("--overwrite", action="store_true", help="replace an existing --to")
    package.add_argument("--workers", type=int, help="local Dask workers (default: config)")
    package.add_argument("--dask-address", help="address of an existing Dask scheduler")

    serve = sub.add_parser("serve", help="serve the scheduled audit deployment")
    serve.add_argument(
        "export", type=Path, nargs="?", help="the PACS export (default: schedule.export)"
    )
    serve.add_argument("--out", type=Path, help="output directory (default: schedule.out)")
    serve.add_argument("--config", type=Path, help="YAML file overriding config/default.yaml")
    serve.add_argument("--workers", type=int, help="local Dask workers (default: config)")
    serve.add_argument("--dask-address", help="address of an existing Dask scheduler")

    server = sub.add_parser("server", help="the shared local Prefect server (API and UI)")
    server.add_argument("action", choices=("start", "status", "stop"))
    server.add_argument(
        "--force", action="store_true", help="stop: even while a run is using the server"
    )
    server.add_argument("--config", type=Path, help="YAML file overriding config/default.yaml")

    runs = sub.add_parser("runs", help="list the runs kept in OUT/runs")
    runs.add_argument("out", type=Path, help="output directory of earlier runs")

    config = sub.add_parser("config", help="show the resolved config or check a config file")
    config.add_argument("action", choices=("show", "check"))
    config.add_argument("file", type=Path, nargs="?", help="YAML file (check: required)")
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from imncohort.demo.export import write_demo_export

    if args.patients < 1:
        raise ImnCohortError(f"--patients must be at least 1, got {args.patients}")
    summary = write_demo_export(args.dir, n_patients=args.patients, seed=args.seed)
    sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return 0


def _run_classify(args: argparse.Namespace) -> int:
    from imncohort.reports.assertion import classify, classify_tsv

    if args.tsv is not None:
        if args.target or args.sentence:
            raise ImnCohortError("use either --tsv FILE or --target PHRASE SENTENCE, not both")
        classify_tsv(args.tsv, sys.stdout)
        return 0
    if not args.target or args.sentence is None:
        raise ImnCohortError("classify needs --target PHRASE and a SENTENCE, or --tsv FILE")
    result = classify(args.target, args.sentence)
    sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
    return 0


def _disk_full(exc: BaseException | None) -> OSError | None:
    """The ENOSPC/EDQUOT error in ``exc`` or its causes, if any."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


STAGE_ORDER = ("index", "reports", "measure", "tables")


def settings_from_args(args: argparse.Namespace) -> StageSettings:
    """Validate the command line and return the stage settings."""
    from imncohort.config import load_config
    from imncohort.keys import load_or_create_secret
    from imncohort.outputs import check_paths  # imports pandas: only for stage commands

    from .runtime import StageSettings

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
    if not errors.exists():
        return 0
    import pandas as pd

    return len(pd.read_csv(errors))


def warn_new_out_without_secret(out: Path) -> bool:
    """Warn (stderr) when OUT has no secret yet and ``IMNCOHORT_SECRET`` is unset."""
    from imncohort.envvars import SECRET_ENV

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
    from .runtime import settle_heap, unsettle_heap

    settle_heap()  # fewer full collections during the run, and a quick exit (see there)
    try:
        return _run_command(args)
    finally:
        unsettle_heap()


def _run_command(args: argparse.Namespace) -> int:
    """:func:`run_command` without the heap handling."""
    if args.command == "serve":
        from .serve import serve

        return serve(args)
    if args.command == "package":
        from .package import run_package_command

        return run_package_command(args)
    if args.command == "server":
        from .server import server_command

        return server_command(args)
    if args.command == "config":
        from .checks import config_command

        return config_command(args)
    from imncohort.config import load_config

    from .launch import run_stages

    new_out = not OutLayout(args.out).secret.exists()
    settings = settings_from_args(args)

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
    from imncohort.runinfo import summary_lines

    for line in summary_lines(settings.out):
        sys.stdout.write(line + "\n")
    bad = _bad_inputs(settings.out)
    if settings.strict and bad:
        raise ImnCohortError(
            f"{bad} bad input(s) under --strict; see {OutLayout(settings.out).errors_csv}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    As a program (``argv`` None), a stage command goes to the warm launcher when one is
    ready (:mod:`imncohort_flows.launcher`), which runs this same function in a forked
    child; without one it runs here.
    """
    if argv is None:
        from .launcher import try_launch

        launched = try_launch(sys.argv[1:])
        if launched is not None:
            return launched
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "httpcore", "distributed", "asyncio", "highdicom"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from imncohort import logsafe

    logsafe.install()  # no header bytes or raw paths from warnings and library logs
    try:
        if args.command == "demo":
            return _run_demo(args)
        if args.command == "classify":
            return _run_classify(args)
        if args.command == "runs":
            from imncohort.history import runs_lines

            sys.stdout.write("\n".join(runs_lines(args.out)) + "\n")
            return 0
        return run_command(args)
    except ImnCohortError as exc:
        sys.stderr.write(f"imncohort: error: {exc}\n")
        return 2
    except OSError as exc:
        full = _disk_full(exc)
        if full is None:
            raise
        out = getattr(args, "out", None)
        where = f" holding '{out}'" if out else ""
        cause = os.strerror(full.errno or errno.ENOSPC)
        sys.stderr.write(
            f"imncohort: error: the disk{where} is full ({cause}); "
            "free some space and run again (run.json says complete: false until a run finishes)\n"
        )
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("imncohort: interrupted; previous outputs are intact\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
