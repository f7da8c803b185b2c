"""The index stage: plan, read the chunks into shards, merge the shards (finalize).

``plan_index`` (:mod:`imncohort.index.plan`) decides which files to read into which
new shards; ``index_chunk`` (:mod:`imncohort.index.shards`, one call per chunk,
anywhere) writes a shard; :func:`finalize_index` merges the shards into the tables
(:mod:`imncohort.index.merge`). ``flows/index.py`` runs the chunks as Prefect tasks;
:func:`index_export` runs them in this process or on an ``Executor``. The result of an
incremental run equals a fresh index of the same export.
"""

from __future__ import annotations

import secrets as secrets_module
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import Any

from imncohort.faults import checkpoint
from imncohort.index.checks import CHECKS_VERSION
from imncohort.index.merge import (
    build_tables,
    concat_frames,
    error_pairs,
    error_records,
    manifest_frame,
    read_part,
    remove_unreferenced,
    write_errors,
    write_manifest,
)
from imncohort.index.plan import INDEX_FORMAT, IndexPlan, plan_index, state_path
from imncohort.index.records import FileEntry
from imncohort.index.shards import ERROR_SHARD_COLUMNS, ChunkSummary, index_chunk
from imncohort.layout import index_table
from imncohort.outputs import write_json

ProgressCallback = Callable[[int, int], None]


def finalize_index(
    plan: IndexPlan, files_read: int, seconds_reading: float = 0.0
) -> dict[str, Any]:
    """Build ``instances``/``series``/``studies``/``files``/``manifest`` from the shards.

    Also writes ``OUT/restricted/identities.parquet``, the stage's error records and
    ``OUT/restricted/state/index.json``. When nothing changed since the previous run, the tables
    on disk are current and only the directory-level errors are refreshed.

    Returns
    -------
    dict
        ``files_seen``, ``files_read``, ``instances``, ``series``, ``studies``, ``junk``,
        ``aux_files``, ``errors``, ``by_sop_class``, ``shards``, ``incremental`` and
        the seconds of the walk, the reads and this step.
    """
    start = time.perf_counter()
    out = plan.out
    state = plan.previous_state
    walk_errors = error_pairs(plan.walk_errors)
    # header checks of an older version: rebuild the tables from the shards (no file is read)
    if plan.unchanged and "summary" in state and state.get("checks") == CHECKS_VERSION:
        remove_unreferenced(out, set(plan.kept.values()))  # a run killed after its commit
        summary = dict(state["summary"])
        n_errors = summary["junk"] + len(walk_errors) + len(state.get("dicomdir_errors", []))
        if walk_errors != state.get("walk_errors"):
            shards = sorted(set(plan.kept.values()))
            shard_errors = concat_frames(
                [read_part(out, s, "errors") for s in shards], ERROR_SHARD_COLUMNS
            )
            extra = plan.walk_errors + error_records(state.get("dicomdir_errors", []))
            n_errors = write_errors(out, shard_errors, extra)
            write_json({**state, "walk_errors": walk_errors}, state_path(out))
    else:
        token = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets_module.token_hex(4)}"
        base = {"format": INDEX_FORMAT, "secret_check": plan.secret_check}
        write_json(base, state_path(out))  # nothing on disk is trusted until the end
        summary, dicomdir_errors, shard_errors, referenced = build_tables(plan, token)
        n_errors = write_errors(out, shard_errors, plan.walk_errors + dicomdir_errors)
        write_manifest(manifest_frame(plan, referenced), index_table(out, "manifest"), token)
        checkpoint("index.manifest")
        write_json(
            {
                **base,
                "manifest_token": token,
                "checks": CHECKS_VERSION,
                "summary": summary,
                "walk_errors": walk_errors,
                "dicomdir_errors": error_pairs(dicomdir_errors),
            },
            state_path(out),
        )
        checkpoint("index.state")
        remove_unreferenced(out, set(referenced.values()))
    summary = dict(summary)
    summary.update(
        {
            "files_seen": len(plan.entries),
            "files_read": files_read,
            "errors": n_errors,
            "incremental": not plan.fresh,
            "walk_seconds": round(plan.walk_seconds, 3),
            "read_seconds": round(seconds_reading, 3),
            "finalize_seconds": round(time.perf_counter() - start, 3),
        }
    )
    return summary


def read_chunk(
    export: str,
    out: str,
    shard: str,
    entries: list[tuple[str, int, int]],
    secret: bytes,
) -> ChunkSummary:
    """:func:`~imncohort.index.shards.index_chunk` with the files as ``(path, size, mtime_ns)``.

    The form the flow's chunk task receives: plain tuples pickle (and, on Dask,
    tokenize) much faster than file records, which matters when thousands of files
    go to a worker.
    """
    files = [FileEntry(p, s, m) for p, s, m in entries]
    return index_chunk(export, out, shard, files, secret)


def _read_chunks(
    plan: IndexPlan,
    secret: bytes,
    executor: Executor | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[ChunkSummary]:
    """Read every chunk of ``plan`` with :func:`read_chunk`: here, or one task per chunk.

    Parameters
    ----------
    executor
        Any :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, or a Dask
        ``Client.get_executor(pure=False)``, which skips hashing the arguments); None
        reads in this process, chunk after chunk.
    on_progress
        Called with ``(files read so far, files to read)`` after each chunk.
    """
    calls = [
        (
            str(plan.export),
            str(plan.out),
            chunk.shard,
            [(e.path, e.size, e.mtime_ns) for e in chunk.entries],
            secret,
        )
        for chunk in plan.chunks
    ]
    summaries_read: Iterator[ChunkSummary]
    if executor is None:
        summaries_read = (read_chunk(*args) for args in calls)  # one after the other
    else:
        futures = [executor.submit(read_chunk, *args) for args in calls]
        summaries_read = (future.result() for future in as_completed(futures))
    summaries: list[ChunkSummary] = []
    done = 0
    for summary in summaries_read:
        summaries.append(summary)
        done += summary.files_read
        if on_progress is not None:
            on_progress(done, plan.files_to_read)
    return sorted(summaries, key=lambda s: s.shard)


def index_export(
    export: Path | str,
    out: Path | str,
    *,
    chunk_size: int,
    secret: bytes,
    executor: Executor | None = None,
    on_progress: ProgressCallback | None = None,
    rehash: bool = False,
) -> dict[str, Any]:
    """Index ``export`` into ``OUT/restricted/index`` (incrementally when one is there).

    Parameters
    ----------
    export
        The PACS export root (read only).
    out
        The output directory.
    chunk_size
        Files per shard (``config.index.chunk_size``).
    secret
        The pseudonymisation secret (:func:`imncohort.keys.load_or_create_secret`).
    executor
        Where chunks run; None reads them in this process.
    on_progress
        Called with ``(files read so far, files to read)``.
    rehash
        Compare content hashes too (see :func:`plan_index`).

    Returns
    -------
    dict
        The summary of :func:`finalize_index` plus ``seconds``.
    """
    start = time.perf_counter()
    out = Path(out)
    export = Path(export)
    exclude = out if out.resolve().is_relative_to(export.resolve()) else None
    plan = plan_index(export, out, chunk_size, secret, exclude=exclude, rehash=rehash)
    read_start = time.perf_counter()
    summaries = _read_chunks(plan, secret, executor, on_progress)
    read_seconds = time.perf_counter() - read_start
    summary = finalize_index(plan, sum(s.files_read for s in summaries), read_seconds)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return summary
