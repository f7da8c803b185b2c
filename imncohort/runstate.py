"""Whether the output set is whole: ``run.json`` ``complete`` and the stale-report banner.

A run writes ``run.json`` with ``"complete": false`` before it changes anything and
``true`` after its last stage, and puts a banner in an existing ``report.html`` saying
that outputs have changed since it was made (the tables stage writes a new report
without it). A run that was killed therefore leaves an output set that says so.
Leftover temporary files of killed runs are removed at the start of the next run.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from imncohort.layout import OutLayout
from imncohort.outputs import TMP_SUFFIX, atomic_open

BANNER_ID = "imncohort-incomplete"
_BANNER = (
    '<div id="{id}" style="background:#fde2e1;border:2px solid #b00020;padding:8px 12px;'
    'margin:8px 0;font-weight:bold">Incomplete output set: a run started at {when} has '
    "changed outputs since this report was made and has not (yet) rewritten it. Tables, "
    "figures and this report may come from different runs; run the audit again to bring "
    "them together.</div>"
)


def mark_report_stale(out: Path | str, started: float) -> bool:
    """Insert the banner into ``OUT/report.html`` (once); return whether a report was there."""
    path = OutLayout(out).report_html
    try:
        html = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if BANNER_ID in html:
        return True
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started))
    banner = _BANNER.format(id=BANNER_ID, when=when)
    match = re.search(r"<body[^>]*>", html)
    at = match.end() if match else 0
    with atomic_open(path) as handle:
        handle.write(html[:at] + banner + html[at:])
    return True


def is_leftover_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of :mod:`imncohort.outputs` or a write probe."""
    return name.startswith(".") and (name.endswith(TMP_SUFFIX) or name.startswith(".probe."))


def clean_leftovers(out: Path | str) -> int:
    """Delete temporary files that killed runs left under ``out``; return how many.

    Call only while holding the OUT lock (a running writer's temporaries look the same).
    """
    removed = 0
    for directory, _, files in os.walk(out):  # does not follow links
        for name in files:
            if is_leftover_temporary(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))
                    removed += 1
    return removed
