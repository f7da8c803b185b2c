"""``imncohort serve``: serve the ``audit`` deployment on the configured cron schedule."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import serve as prefect_serve
from prefect.schedules import Cron

from imncohort.config import Config, load_config
from imncohort.errors import ConfigError
from imncohort.outputs import check_paths

from .audit import audit_flow
from .runtime import AuditParameters, task_runner


def build_deployment(config: Config, parameters: dict[str, Any]) -> Any:
    """Return the ``audit`` runner deployment with the config's cron schedule."""
    inner = parameters["parameters"]
    runner = task_runner(config, inner.get("workers"), inner.get("dask_address"))
    return audit_flow.with_options(task_runner=runner).to_deployment(
        name=config.schedule.deployment_name,
        schedules=[Cron(config.schedule.cron, timezone=config.schedule.timezone)],
        parameters=parameters,
        description="imncohort audit: index, reports, measure, tables",
    )


def serve_parameters(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    """Return the audit flow's parameters (one ``AuditParameters``) from the command line."""
    export = args.export or config.schedule.export
    out = args.out or config.schedule.out
    if export is None or out is None:
        raise ConfigError(
            "serve needs the export and the output directory: give EXPORT and --out, "
            "or set schedule.export and schedule.out in the config file"
        )
    export, out = check_paths(Path(export), Path(out))
    parameters = AuditParameters(
        export=str(export.resolve()),
        out=str(out.resolve()),
        config_path=str(Path(args.config).resolve()) if args.config else None,
        workers=args.workers,
        dask_address=args.dask_address,
        strict=False,
    )
    return {"parameters": parameters.model_dump(mode="json")}


def serve(args: argparse.Namespace) -> int:
    """Serve the audit deployment until interrupted; return the exit status."""
    from .checks import check_schedule

    config = load_config(args.config)
    check_schedule(config)  # Prefect's own reading of the cron line and time zone
    deployment = build_deployment(config, serve_parameters(args, config))
    with _shared_server(config):
        prefect_serve(deployment, pause_on_shutdown=False)
    return 0


@contextlib.contextmanager
def _shared_server(config: Config) -> Iterator[None]:
    """Serve against the shared local server (with its scheduler) unless an API is named."""
    if os.environ.get("PREFECT_API_URL") or config.prefect.server != "reuse":
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from .server import Heartbeat, ensure_server

    info = ensure_server(
        config.prefect.idle_minutes * 60, config.prefect.port, config.prefect.launcher
    )
    beat = Heartbeat().start()
    os.environ["PREFECT_API_URL"] = info.api_url  # the flow-run processes inherit it
    try:
        with temporary_settings(updates={PREFECT_API_URL: info.api_url}):
            yield
    finally:
        beat.stop()
