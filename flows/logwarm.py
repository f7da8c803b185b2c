"""What Prefect does once per process on first use, done ahead in a process that forks.

rich, which Prefect's console handler prints with, imports its emoji table and compiles
its highlighter's regular expressions on the first line a process prints (about 6 ms,
more on a loaded machine); Prefect loads its collections (the ``prefect.collections``
entry points of every installed package) when the first run context is made. A process
forked afterwards finds both ready.
"""

from __future__ import annotations

import io
import logging


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
