"""The ``reports`` stage as a Prefect flow: one mapped task per chunk of report sources."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.utilities.annotations import unmapped

from imncohort.config import Config, load_config, secret_from_env
from imncohort.errors import ExportError
from imncohort.keys import load_or_create_secret
from imncohort.outputs import ensure_writable
from imncohort.reports.records import ReportSource
from imncohort.reports.stage import (
    ChunkResult,
    chunk_sources,
    collect_sources,
    mine_chunk,
    write_outputs,
)

from .progress import StageProgress
from .runtime import StageSettings, content_key, result_storage, run_stage_flow


def _chunk_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of one chunk: its files' (path, size, mtime) and the resolved config."""
    config: Config = parameters["config"]
    return content_key(
        parameters["export"],
        [path for path, _ in parameters["sources"]],
        "reports",
        config.model_dump_json(),
    )


@task(
    retries=2,
    retry_delay_seconds=2,
    cache_key_fn=_chunk_cache_key,
    persist_result=True,
    task_run_name="reports-chunk-{number}",
)
def mine_chunk_task(
    export: str, config: Config, number: int, sources: list[tuple[str, str]]
) -> ChunkResult:
    """Read and mine one chunk of report sources (``(path, kind)`` pairs).

    The resolved config comes by value (loaded once per run, not once per chunk).
    """
    return mine_chunk(Path(export), [ReportSource(p, k) for p, k in sources], config)


@flow(name="reports")
def reports_flow(
    export: str,
    out: str,
    config_path: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Mine the export's reports: ``mentions.parquet``, ``cohort.csv``, the restricted worklist.

    Returns the summary: reports, mentions, candidates, confirmed, worklist, errors, seconds.
    """
    start = time.perf_counter()
    logger = get_run_logger()
    config = load_config(config_path)
    export_path = Path(export)
    if not export_path.is_dir():
        raise ExportError(f"export directory '{export_path}' does not exist; give the PACS export")
    out_path = ensure_writable(Path(out))
    secret = load_or_create_secret(out_path, secret_from_env())
    sources = collect_sources(out_path, config)
    chunks = chunk_sources(sources, config.index.chunk_size)
    logger.info("reports: %d sources in %d chunks", len(sources), len(chunks))
    results: list[ChunkResult] = []
    if chunks:
        cached_task = mine_chunk_task.with_options(result_storage=result_storage(out_path))
        futures = cached_task.map(
            export=str(export_path),
            config=unmapped(config),
            number=list(range(1, len(chunks) + 1)),
            sources=[[(s.path, s.kind) for s in chunk] for chunk in chunks],
        )
        progress = StageProgress("reports", len(chunks), "chunks", config.index.progress)
        for future in as_completed(list(futures)):
            future.result()
            progress.advance()
        progress.close()
        results = [f.result() for f in futures]
        cached = sum(1 for f in futures if f.state.name == "Cached")
    else:
        cached = 0
    summary = write_outputs(out_path, results, secret, time.perf_counter() - start)
    summary["chunks"] = len(chunks)
    summary["chunks_from_cache"] = cached
    summary["seconds"] = round(time.perf_counter() - start, 3)
    logger.info(
        "reports: %d reports, %d mentions, %d candidates, %d errors (%.1f s)",
        summary["reports"],
        summary["mentions"],
        summary["candidates"],
        summary["errors"],
        summary["seconds"],
    )
    return summary


def run_reports(settings: StageSettings) -> dict[str, Any]:
    """Run :func:`reports_flow` on the Dask runner the settings ask for; return its summary."""
    return run_stage_flow(reports_flow, settings)
