"""Stage progress: plain periodic lines off a terminal, a rich bar when asked, nothing on never."""

from __future__ import annotations

import io

from imncohort_flows.progress import StageProgress


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = StageProgress("measure", 4, "studies", "auto", stream=stream, every=0.0)
    for _ in range(4):
        progress.advance()
    progress.close()
    lines = [line.split(",")[0] for line in stream.getvalue().splitlines()]
    assert lines == [
        "measure: 1/4 studies (25%)",
        "measure: 2/4 studies (50%)",
        "measure: 3/4 studies (75%)",
        "measure: 4/4 studies (100%)",
    ]


def test_plain_lines_are_periodic() -> None:
    stream = io.StringIO()
    progress = StageProgress("index", 1000, "files", "auto", stream=stream, every=3600.0)
    for _ in range(10):
        progress.advance(100)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # only the last one within the period
    assert lines[0].startswith("index: 1000/1000 files (100%), ")


def test_never_writes_nothing_and_always_draws_a_bar() -> None:
    silent = io.StringIO()
    quiet = StageProgress("reports", 3, "chunks", "never", stream=silent, every=0.0)
    quiet.advance(3)
    assert silent.getvalue() == ""
    drawn = io.StringIO()
    bar = StageProgress("reports", 3, "chunks", "always", stream=drawn)
    bar.advance(3)
    bar.close()
    assert "3/3" in drawn.getvalue()
