"""Imported last by the Dask workers' forkserver (see ``execute.preload_forkserver``).

The forkserver imported distributed, Prefect and the stage modules just before; freezing
that heap keeps the collector of every forked worker off it, and freezing it again at exit
lets the forkserver end in a fraction of a second (its last collections over Prefect's
objects took over a second). Forked workers end through ``os._exit`` and skip them anyway.
"""

from __future__ import annotations

import atexit
import gc

gc.freeze()
atexit.register(gc.freeze)
