"""``imncohort config show|check``: the resolved configuration and its schedule, checked
the way Prefect will read it (Prefect's own ``CronSchedule`` model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from imncohort.config import Config, config_as_dict, load_config
from imncohort.errors import ConfigError


def check_schedule(config: Config) -> str:
    """Validate ``schedule.cron`` and ``schedule.timezone`` with Prefect's ``CronSchedule``.

    Returns a one-line description with the next start time.

    Raises
    ------
    ConfigError
        Naming the key and Prefect's reason.
    """
    import datetime
    from zoneinfo import ZoneInfo

    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        schedule = CronSchedule(cron=config.schedule.cron, timezone=config.schedule.timezone)
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(
            f"config key 'schedule.cron'/'schedule.timezone' ({config.schedule.cron!r}, "
            f"{config.schedule.timezone!r}) is not accepted by Prefect: {reasons}"
        ) from None
    from prefect._vendor.croniter import croniter

    zone = ZoneInfo(schedule.timezone or "UTC")
    start = datetime.datetime.now(zone)
    next_run = croniter(schedule.cron, start).get_next(datetime.datetime)
    return (
        f"schedule: '{schedule.cron}' in {schedule.timezone}; next audit "
        f"{next_run.isoformat(timespec='minutes')}"
    )


def config_command(args: argparse.Namespace) -> int:
    """``config show [FILE]`` prints the resolved YAML; ``config check FILE`` validates it."""
    if args.action == "check" and args.file is None:
        raise ConfigError("config check needs a FILE: imncohort config check site.yaml")
    path = Path(args.file) if args.file else None
    config = load_config(path)
    line = check_schedule(config)
    if args.action == "show":
        sys.stdout.write(
            yaml.safe_dump(config_as_dict(config), sort_keys=False, allow_unicode=True)
        )
        sys.stdout.write(f"# {line}\n")
        return 0
    sys.stdout.write(f"{path}: valid\n{line}\n")
    return 0
