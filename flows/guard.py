"""The guard around every run: OUT's lock, the helper-process watchdog, tidying OUT.

Imports no Prefect; used by :mod:`imncohort_flows.launch` (command-line runs) and by the
audit flow itself (scheduled runs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from imncohort.faults import publish_main_pid
from imncohort.layout import remove_legacy_public
from imncohort.procguard import start_guard, stop_guard
from imncohort.runlock import out_lock
from imncohort.runstate import clean_leftovers

from .runtime import clear_flow_results

#: OUT folders this process holds the run lock of (a scheduled audit's flow run inside
#: ``run_stages`` must not take it twice).
_HELD: set[Path] = set()


@contextlib.contextmanager
def guarded_run(out: Path) -> Iterator[None]:
    """Hold OUT's run lock, watch the run's helper processes and tidy OUT around a run.

    A second run on the same OUT stops at once (:func:`imncohort.runlock.out_lock`); a
    watchdog ends the Prefect/Dask helpers of a SIGKILLed run; leftovers of an earlier,
    interrupted run are removed first; pickled flow results (they may quote raw paths)
    are removed last. Re-entrant within one process.
    """
    out = Path(out).resolve()
    if out in _HELD:
        yield
        return
    with out_lock(out):
        _HELD.add(out)
        guard = start_guard()
        try:
            publish_main_pid()
            remove_legacy_public(out)  # OUT/index, OUT/state of older versions: raw paths
            clean_leftovers(out)
            yield
        finally:
            _HELD.discard(out)
            clear_flow_results(out)
            stop_guard(guard)
