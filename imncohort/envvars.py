"""The environment variables imncohort reads, without the configuration model.

Kept apart from :mod:`imncohort.config` (pydantic, YAML) so that the command line's
client of the warm launcher starts without importing either.
"""

from __future__ import annotations

import os
from pathlib import Path

SECRET_ENV = "IMNCOHORT_SECRET"
FAULT_ENV = "IMNCOHORT_FAULT"
PREFECT_HOME_ENV = "IMNCOHORT_PREFECT_HOME"
LAUNCHER_ENV = "IMNCOHORT_LAUNCHER"


def secret_from_env() -> bytes | None:
    """Return the pseudonymisation secret from ``IMNCOHORT_SECRET``, if set."""
    value = os.environ.get(SECRET_ENV)
    return value.encode("utf-8") if value else None


def fault_from_env() -> str | None:
    """Return the injected fault of the interruption tests (``IMNCOHORT_FAULT``), if any."""
    return os.environ.get(FAULT_ENV) or None


def launcher_allowed_by_env() -> bool:
    """False when ``IMNCOHORT_LAUNCHER`` is ``0``, ``off``, ``false`` or ``no`` (else True)."""
    value = os.environ.get(LAUNCHER_ENV, "").strip().lower()
    return value not in ("0", "off", "false", "no")


def prefect_home() -> Path:
    """Return the directory of the embedded Prefect API's SQLite database.

    ``IMNCOHORT_PREFECT_HOME`` if set, else ``~/.imncohort/prefect``; never the
    export and never the repository.
    """
    value = os.environ.get(PREFECT_HOME_ENV)
    return Path(value) if value else Path.home() / ".imncohort" / "prefect"
