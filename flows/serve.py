"""``imncohort serve``: serve the ``audit`` deployment on the configured cron schedule."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import serve as prefect_serve
from prefect.schedules import Cron

from flows.audit import audit_flow
from flows.cli import check_paths
from imncohort.config import Config, load_config
from imncohort.errors import ConfigError


def build_deployment(config: Config, parameters: dict[str, Any]) -> Any:
    """Return the ``audit`` runner deployment with the config's cron schedule."""
    return audit_flow.to_deployment(
        name=config.schedule.deployment_name,
        schedules=[Cron(config.schedule.cron, timezone=config.schedule.timezone)],
        parameters=parameters,
        description="imncohort audit: index, reports, measure, tables",
    )


def serve_parameters(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    """Return the audit flow's parameters from the command line and the config."""
    export = args.export or config.schedule.export
    out = args.out or config.schedule.out
    if export is None or out is None:
        raise ConfigError(
            "serve needs the export and the output directory: give EXPORT and --out, "
            "or set schedule.export and schedule.out in the config file"
        )
    export, out = check_paths(Path(export), Path(out))
    return {
        "export": str(export.resolve()),
        "out": str(out.resolve()),
        "config_path": str(Path(args.config).resolve()) if args.config else None,
        "workers": args.workers,
        "dask_address": args.dask_address,
        "strict": False,
    }


def serve(args: argparse.Namespace) -> int:
    """Serve the audit deployment until interrupted; return the exit status."""
    config = load_config(args.config)
    deployment = build_deployment(config, serve_parameters(args, config))
    prefect_serve(deployment, pause_on_shutdown=False)
    return 0
