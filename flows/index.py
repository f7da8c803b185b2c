"""The ``index`` stage as a Prefect flow: plan, one mapped task per chunk on Dask, finalize."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed, wait

from imncohort.config import load_config, secret_from_env
from imncohort.index.records import FileEntry
from imncohort.index.shards import index_chunk
from imncohort.index.stage import finalize_index
from imncohort.keys import load_or_create_secret
from imncohort.outputs import ensure_writable

from .progress import StageProgress
from .runtime import StageSettings, make_index_plan, run_stage_flow, take_index_plan


class ProgressBar:
    """A one-line progress bar (files, files/s, ETA) rewritten in place on a terminal."""

    def __init__(self, stream: IO[str], enabled: bool, label: str = "index") -> None:
        self.stream = stream
        self.enabled = enabled
        self.label = label
        self.start = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` files (at most 10 updates per second, and the last)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else 0.0
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {done}/{total} files  {rate:,.0f} files/s  "
            f"ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def progress_enabled(mode: str, stream: IO[str]) -> bool:
    """``always``/``never`` as configured; ``auto``: only on a terminal and not under CI."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    return bool(stream.isatty()) and not os.environ.get("CI")


def pack_entries(entries: list[FileEntry]) -> str:
    """One chunk's files as one JSON text (path, size, mtime_ns per file).

    Prefect walks every list, tuple and dict of a task's parameters, item by item, when
    it submits the task (about 0.2 ms per file here); a text is one item.
    """
    return json.dumps([[e.path, e.size, e.mtime_ns] for e in entries])


def unpack_entries(entries: str | list[tuple[str, int, int]]) -> list[FileEntry]:
    """The files of :func:`pack_entries` (a list of (path, size, mtime_ns) is taken too)."""
    rows = json.loads(entries) if isinstance(entries, str) else entries
    return [FileEntry(str(p), int(s), int(m)) for p, s, m in rows]


@task(retries=2, cache_policy=NO_CACHE, task_run_name="index-chunk-{shard}")
def index_chunk_task(
    export: str, out: str, shard: str, entries: str | list[tuple[str, int, int]]
) -> dict[str, Any]:
    """Read one chunk of files (:func:`pack_entries`) into shard ``shard``; return its counts."""
    secret = load_or_create_secret(Path(out), secret_from_env())
    return asdict(index_chunk(export, out, shard, unpack_entries(entries), secret))


@flow(name="index")
def index_flow(
    export: str,
    out: str,
    config_path: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    strict: bool = False,
    rehash: bool = False,
) -> dict[str, Any]:
    """Index a PACS export into ``OUT/restricted/index`` (incremental when an index exists).

    Returns the summary: files_seen, files_read, instances, series, studies, junk,
    errors, by_sop_class, seconds.
    """
    start = time.perf_counter()
    logger = get_run_logger()
    config = load_config(config_path)
    out_path = ensure_writable(Path(out))
    export_path = Path(export)
    plan = take_index_plan(export_path, out_path, rehash)  # planned when the runner was chosen
    if plan is None:
        plan = make_index_plan(export_path, out_path, config, rehash, workers)
    logger.info(
        "index: %d files walked, %d to read in %d chunks",
        len(plan.entries),
        plan.files_to_read,
        len(plan.chunks),
    )
    progress = StageProgress("index", plan.files_to_read, "files", config.index.progress)
    read_start = time.perf_counter()
    files_read = 0
    if plan.chunks:
        futures = index_chunk_task.map(
            export=str(export_path),
            out=str(out_path),
            shard=[c.shard for c in plan.chunks],
            entries=[pack_entries(c.entries) for c in plan.chunks],
        )
        for future in as_completed(list(futures)):
            chunk_read = int(future.result()["files_read"])
            files_read += chunk_read
            progress.advance(chunk_read)
        wait(list(futures))
    progress.close()
    summary = finalize_index(plan, files_read, time.perf_counter() - read_start)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    logger.info(
        "index: %d instances, %d series, %d studies, %d junk files (%.1f s)",
        summary["instances"],
        summary["series"],
        summary["studies"],
        summary["junk"],
        summary["seconds"],
    )
    return summary


def run_index(settings: StageSettings) -> dict[str, Any]:
    """Run :func:`index_flow` on the Dask runner the settings ask for; return its summary."""
    return run_stage_flow(index_flow, settings)
