"""``imncohort serve``: serve the ``audit`` deployment on the configured cron schedule."""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect.schedules import Cron

from flows.audit import audit_flow
from flows.cli import check_paths
from imncohort.config import load_config
from imncohort.errors import ConfigError


def serve(args: argparse.Namespace) -> int:
    """Serve the audit deployment until interrupted; return the exit status."""
    config = load_config(args.config)
    export = args.export or config.schedule.export
    out = args.out or config.schedule.out
    if export is None or out is None:
        raise ConfigError(
            "serve needs the export and the output directory: give EXPORT and --out, "
            "or set schedule.export and schedule.out in the config file"
        )
    export, out = check_paths(Path(export), Path(out))
    parameters = {
        "export": str(export.resolve()),
        "out": str(out.resolve()),
        "config_path": str(Path(args.config).resolve()) if args.config else None,
        "workers": args.workers,
        "dask_address": args.dask_address,
        "strict": False,
    }
    audit_flow.serve(
        name=config.schedule.deployment_name,
        schedules=[Cron(config.schedule.cron, timezone=config.schedule.timezone)],
        parameters=parameters,
        pause_on_shutdown=False,
    )
    return 0
