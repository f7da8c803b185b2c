"""Imported last by the Dask workers' forkserver (see ``execute.preload_forkserver``).

The forkserver imported distributed, Prefect and the stage modules just before. Here it
also fills (:mod:`imncohort_flows.warmup`) what each forked worker would otherwise compute
as it starts: the host's
processor name (``platform.processor()`` runs ``uname -p``) and the package versions
its scheduler checks, one rendered Prefect log line (rich imports its emoji table
and compiles its highlighter's patterns on the first line it prints, about 6 ms, at the
end of each worker's first task) and Prefect's collections (the first task run context
looks them up among every installed package's entry points, 0.02-0.04 s). It records
what Prefect read its settings from (:data:`SETTINGS_INPUTS`): a worker whose run has
the same inputs need not read them again (:func:`imncohort_flows.execute._point_worker`).

Freezing the imported heap keeps the collector of every forked worker off it, and
freezing it again at exit lets the forkserver end in a fraction of a second (its last
collections over Prefect's objects took over a second). Forked workers end through
``os._exit`` and skip them anyway.
"""

from __future__ import annotations

import atexit
import gc

from .environment import prefect_settings_inputs
from .warmup import fill_host_caches, load_collections, render_one_log_line

#: The inputs (:func:`~imncohort_flows.environment.prefect_settings_inputs`) of the
#: Prefect settings this process read when it imported Prefect.
SETTINGS_INPUTS = prefect_settings_inputs()

fill_host_caches()
render_one_log_line()
load_collections()
gc.freeze()
atexit.register(gc.freeze)
