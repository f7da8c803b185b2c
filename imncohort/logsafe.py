"""Keep header bytes and raw paths out of the terminal: scrubbed warnings and log records.

pydicom's warnings quote the values they complain about (``Invalid value for VR DA:
b'...'``), and exception messages quote file paths, which PACS exports fold by patient
name or ID. :func:`install` routes Python warnings through the logger
``imncohort.warnings`` and puts :class:`ScrubFilter` on every configured log handler:
quoted literals become ``'…'`` and tracebacks are cut to their last line. The command
line calls it; the library never configures logging by itself.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any, TextIO

_QUOTED = re.compile(r"""b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*\"""")
_LOGGER = logging.getLogger("imncohort.warnings")


#: Quoted literals kept as they are: the names of imncohort's own flows (Prefect's
#: "Beginning flow run '…' for flow 'audit'"), which can never carry an identifier.
SAFE_LITERALS = frozenset(
    f"{quote}{name}{quote}"
    for name in ("audit", "index", "reports", "measure", "tables", "package")
    for quote in ("'", '"')
)


def _scrub_match(match: re.Match[str]) -> str:
    literal = match.group(0)
    return literal if literal in SAFE_LITERALS else "'…'"


def scrub_text(text: str) -> str:
    """Return ``text`` with every quoted literal (a value, a path) replaced by ``'…'``.

    Only the quoted names of imncohort's own flows (:data:`SAFE_LITERALS`) stay.
    """
    return _QUOTED.sub(_scrub_match, text)


class ScrubFilter(logging.Filter):
    """Scrub the message of records not from imncohort (whose logs name keys only)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; always keep it."""
        if record.name.startswith("imncohort") and record.name != _LOGGER.name:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        record.msg = scrub_text(message)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    _LOGGER.warning("%s: %s", category.__name__, scrub_text(str(message)))


def install() -> None:
    """Route warnings through logging and scrub every handler configured so far."""
    warnings.showwarning = _show_warning
    scrub = ScrubFilter()
    loggers: list[Any] = [logging.getLogger()]
    loggers += [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(scrub)
