"""Progress of the long stages: a rich bar on a terminal, plain periodic lines otherwise.

Under cron, CI or a log file, a line such as ``measure: 12/40 studies (30%), 1.5/s`` is
written at most every ``PLAIN_EVERY_SECONDS`` and once at the end.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

PLAIN_EVERY_SECONDS = 10.0


def on_terminal(stream: IO[str]) -> bool:
    """True on an interactive terminal outside CI."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


class StageProgress:
    """Count work items of one stage as they finish (``mode``: auto, always, never)."""

    def __init__(
        self,
        label: str,
        total: int,
        unit: str,
        mode: str = "auto",
        stream: IO[str] | None = None,
        every: float = PLAIN_EVERY_SECONDS,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.every = every
        self.done = 0
        self.start = time.perf_counter()
        self._last = self.start
        self._bar: Any = None
        self.enabled = mode != "never" and total > 0
        if self.enabled and (mode == "always" or on_terminal(self.stream)):
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(f"{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._task = self._bar.add_task(label, total=total)
            self._bar.start()

    def line(self) -> str:
        """Return the plain progress line."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        share = self.done / self.total if self.total else 1.0
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit} ({share:.0%}), "
            f"{self.done / elapsed:,.1f} {self.unit}/s"
        )

    def advance(self, amount: int = 1) -> None:
        """Record ``amount`` more finished items."""
        if not self.enabled:
            return
        self.done += amount
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        now = time.perf_counter()
        if self.done >= self.total or now - self._last >= self.every:
            self._last = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Stop the bar (the plain mode has already written its last line)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
