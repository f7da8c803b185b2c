"""What a process computes once on first use, done ahead in a process that forks.

The warm launcher (for its runs) and the Dask workers' forkserver (for its workers) call
these; a process forked afterwards finds the results ready. rich, which Prefect's console
handler prints with, imports its emoji table and compiles its highlighter's regular
expressions on the first line a process prints (about 6 ms, more on a loaded machine);
Prefect loads its collections (the ``prefect.collections`` entry points of every installed
package) when the first run context is made; a Dask scheduler or worker reports the host's
processor name (``platform.processor()`` runs ``uname -p``) and the package versions.
"""

from __future__ import annotations

import io
import logging
import platform


def render_one_log_line() -> None:
    """Print one INFO line, with a URL, a path and a state, through Prefect's console handler."""
    from prefect.logging.handlers import PrefectConsoleHandler

    handler = PrefectConsoleHandler(stream=io.StringIO())
    handler.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(message)s"))
    handler.emit(
        logging.LogRecord(
            "prefect.task_runs",
            logging.INFO,
            __file__,
            0,
            "Task run 'index-chunk-0' - Finished in state Completed() "
            "http://127.0.0.1:4200/runs /tmp/out/report.html",
            None,
            None,
        )
    )


def load_collections() -> None:
    """Load and cache Prefect's collections (its own cache, kept for the process's life)."""
    from prefect._internal.plugins.collections import load_prefect_collections

    load_prefect_collections()


def fill_host_caches() -> None:
    """Fill the cached processor name and distributed's cached package versions."""
    from distributed.versions import get_versions

    platform.uname().processor  # noqa: B018  (a cached property: reading it fills it)
    get_versions()
