"""Prefect's environment for imncohort, set before Prefect is imported.

Imports nothing heavy (no Prefect, no pydantic): the package ``flows`` runs
:func:`configure_prefect_environment` on import, and the command line's client of the
warm launcher imports only this much.
"""

from __future__ import annotations

import os
from pathlib import Path

from imncohort.envvars import prefect_home
from imncohort.paths import file_stamp


def configure_prefect_environment() -> Path:
    """Point Prefect at the embedded SQLite API under the user's home; no telemetry.

    Settings already present in the environment (for example ``PREFECT_API_URL``
    of a production server) are left alone.
    """
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_TO_API_ENABLED": "true",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "imncohort",
        # A library record outside a flow run (the command line before its flow starts)
        # goes to the terminal only: Prefect's default warns, and that warning would be
        # logged again through imncohort.warnings, without end.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_UI_ENABLED": "false",
        "DASK_LOGGING__DISTRIBUTED": "warning",
        "DASK_DISTRIBUTED__WORKER__DAEMON": "false",
        # Workers forked from one process that imported Prefect once (see
        # imncohort_flows.execute.preload_forkserver), not spawned interpreters.
        "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD": "forkserver",
        # Dask's statistical profiler walks every worker thread's stack every 10 ms and
        # reads the source line of each frame: CPU taken from the tasks, for a page of
        # the dashboard. A run with --dashboard turns it on in its workers.
        "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    return home


def prefect_settings_inputs() -> tuple[object, ...]:
    """Everything Prefect reads its settings from, but the settings it starts from.

    The ``PREFECT_*`` environment variables (in any case), and the files: ``.env``,
    ``prefect.toml`` and ``pyproject.toml`` in the working directory (by inode, size and
    time; the directory itself only when one of them is there) and the profiles file.
    Two processes with equal inputs read equal settings.
    """
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("PREFECT_")))
    local = tuple(file_stamp(name) for name in (".env", "prefect.toml", "pyproject.toml"))
    where = os.getcwd() if any(local) else ""
    home = os.environ.get("PREFECT_HOME", "")
    profiles = os.environ.get("PREFECT_PROFILES_PATH") or os.path.join(home, "profiles.toml")
    return (env, where, local, file_stamp(profiles))
