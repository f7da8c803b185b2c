"""The measure stage without orchestration: plan, measure batches, write ``nodes.csv``.

``flows/measure.py`` maps :func:`measure_batch` over batches of studies on
Dask; this module also runs it serially (:func:`run_measure_stage`) for tests
and benchmarks.

Incremental runs: each study's rows and errors are kept in
``OUT/restricted/state/measure/<study_key>.parquet`` and ``.json`` with the hash of its
inputs' manifest rows (path, size, mtime_ns of the annotation files, sidecars
and series files) and of the measure config; a study whose hash and QC
pictures are unchanged is not measured again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import Config
from imncohort.layout import OutLayout
from imncohort.measure.plan import StudyJob, StudyResult, plan_jobs
from imncohort.measure.quality import count_fragments
from imncohort.measure.series import load_index
from imncohort.outputs import ErrorRecord, write_json, write_parquet
from imncohort.privacy import PathScrubber
from imncohort.reports.cohort import build_cohort
from imncohort.review.consensus import cohort_with_review_status
from imncohort.review.state import kept_review_status
from imncohort.schemas.cohort import write_cohort
from imncohort.schemas.errors import write_stage_errors
from imncohort.schemas.mentions import read_mentions
from imncohort.schemas.nodes import NODE_COLUMNS, NODES, read_nodes, write_nodes
from imncohort.tables.inputs import read_study_dates
from imncohort.tables.selection import select_studies

logger = logging.getLogger(__name__)

STAGE = "measure"
_NULLABLE_BOOL = ("towards_sternum", "selected", "over_sternum", "sternal_invasion")


def state_dir(out: Path) -> Path:
    """``OUT/restricted/state/measure`` (its errors hold raw paths)."""
    return OutLayout(out).measure_state_dir


def _state_paths(out: Path, study_key: str) -> tuple[Path, Path]:
    base = state_dir(out)
    return base / f"{study_key}.parquet", base / f"{study_key}.json"


def save_state(out: Path, result: StudyResult) -> None:
    """Keep one study's result (rows first, then the JSON that marks it complete)."""
    rows_path, meta_path = _state_paths(out, result.study_key)
    write_parquet(nodes_frame(result.rows), rows_path)
    meta = {"hash": result.manifest_hash, "errors": [asdict(e) for e in result.errors]}
    write_json(meta, meta_path)


def load_state(out: Path, job: StudyJob) -> StudyResult | None:
    """The kept result of ``job`` when its hash matches and its QC pictures exist."""
    rows_path, meta_path = _state_paths(out, job.study_key)
    if not (rows_path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        if meta.get("hash") != job.manifest_hash:
            return None
        frame = pd.read_parquet(rows_path)
    except (OSError, ValueError) as exc:
        logger.warning("state of study %s unreadable (%s); measuring again", job.study_key, exc)
        return None
    rows: list[dict[str, Any]] = [
        {str(c): (None if pd.isna(v) and c in _NULLABLE_BOOL else v) for c, v in r.items()}
        for r in frame.to_dict("records")
    ]
    for row in rows:
        if row.get("qc_png") and not (Path(out) / str(row["qc_png"])).exists():
            return None
    errors = [ErrorRecord(**e) for e in meta.get("errors", [])]
    return StudyResult(job.study_key, job.manifest_hash, rows, errors)


def nodes_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame with exactly the node columns, typed by :data:`NODES`."""
    return NODES.typed(pd.DataFrame(list(rows), columns=NODE_COLUMNS))[NODE_COLUMNS]


def with_selection(frame: pd.DataFrame, out: Path, rule: str) -> pd.DataFrame:
    """Fill ``study_date`` from the index and ``selected`` by the study-selection ``rule``."""
    frame = frame.copy()
    dates = read_study_dates(out)
    frame["study_date"] = frame["study_key"].map(lambda k: dates.get(str(k), ""))
    frame["selected"] = select_studies(frame, rule).astype("boolean")
    return frame


def measure_batch(
    jobs: Sequence[StudyJob], export: str | Path, out: str | Path, config: Config, qc: bool = True
) -> list[StudyResult]:
    """Measure a batch of studies and keep each result in the state directory.

    A study that fails unexpectedly becomes one error record instead of
    stopping the batch.
    """
    from imncohort.measure.study import measure_study  # nibabel, scipy: only with work to do

    results: list[StudyResult] = []
    for job in jobs:
        try:
            result = measure_study(job, Path(export), Path(out), config, qc=qc)
        except Exception as exc:
            # one line, no traceback: exception messages may quote raw export paths
            logger.error("study %s failed: %s", job.study_key, type(exc).__name__)
            path = job.annotations[0].path if job.annotations else job.study_key
            result = StudyResult(
                job.study_key,
                job.manifest_hash,
                [],
                [ErrorRecord(path, STAGE, f"measurement failed: {type(exc).__name__}: {exc}")],
            )
        save_state(Path(out), result)
        results.append(result)
    return results


def plan_stage(
    export: Path, out: Path, config: Config
) -> tuple[list[StudyJob], list[StudyResult], list[ErrorRecord]]:
    """Split the studies into those to measure and those whose kept result is current."""
    tables = load_index(out)
    jobs, errors = plan_jobs(tables, export, config)
    todo: list[StudyJob] = []
    kept: list[StudyResult] = []
    for job in jobs:
        cached = load_state(out, job)
        if cached is None:
            todo.append(job)
        else:
            kept.append(cached)
    logger.info("measure: %d studies to measure, %d unchanged", len(todo), len(kept))
    return todo, kept, errors


def batches(jobs: Sequence[StudyJob], n_batches: int) -> list[list[StudyJob]]:
    """Split jobs into at most ``n_batches`` batches of similar size (round robin)."""
    n = max(1, min(n_batches, len(jobs)))
    return [list(jobs[i::n]) for i in range(n)] if jobs else []


def remove_stale(out: Path, study_keys: set[str], qc_pngs: set[str]) -> int:
    """Delete kept state of studies no longer measured and QC pictures no node names."""
    removed = 0
    base = state_dir(out)
    if base.is_dir():
        for path in base.iterdir():
            if path.suffix in (".json", ".parquet") and path.stem not in study_keys:
                path.unlink(missing_ok=True)
                removed += 1
    qc = OutLayout(out).qc_dir
    if qc.is_dir():
        for path in qc.glob("*.png"):
            if f"qc/{path.name}" not in qc_pngs:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def finish_stage(
    out: Path,
    results: Sequence[StudyResult],
    plan_errors: Sequence[ErrorRecord],
    seconds: float,
    config: Config | None = None,
) -> dict[str, Any]:
    """Write ``nodes.parquet``, ``nodes.csv`` and the error records; return the summary.

    ``selected`` follows ``config.tables.study_selection`` (``most_evident``
    without a config).
    """
    ordered = sorted(results, key=lambda r: r.study_key)
    rows = [row for r in ordered for row in r.rows]
    rule = config.tables.study_selection if config is not None else "most_evident"
    frame = with_selection(nodes_frame(rows), Path(out), rule)
    # ROI names are free text: an identifier typed into one is replaced by its key
    write_nodes(OutLayout(out), PathScrubber.from_out(Path(out)).frame(frame, ["roi_name"]))
    errors = list(plan_errors) + [e for r in ordered for e in r.errors]
    write_stage_errors(Path(out), STAGE, errors)
    remove_stale(Path(out), {r.study_key for r in ordered}, set(frame["qc_png"].dropna()))
    return {
        "studies": len(ordered),
        "nodes": len(frame),
        "metastatic": int(frame["metastatic"].sum()) if len(frame) else 0,
        "errors": len(errors),
        "fragments": count_fragments([e.reason for e in errors]),
        "seconds": round(seconds, 3),
    }


def rebuild_cohort(out: Path, nodes: pd.DataFrame | None = None) -> Path | None:
    """Rewrite the cohort from ``mentions.parquet`` and the node table when both exist."""
    layout = OutLayout(out)
    if not layout.mentions_parquet.exists():
        return None
    if nodes is None:
        nodes = read_nodes(layout)
    cohort = build_cohort(read_mentions(layout), nodes)
    write_cohort(layout, cohort_with_review_status(cohort, kept_review_status(Path(out))))
    return layout.cohort_csv


def run_measure_stage(
    export: Path,
    out: Path,
    config: Config,
    qc: bool = True,
    mapper: Callable[[list[list[StudyJob]]], list[list[StudyResult]]] | None = None,
    n_batches: int = 1,
) -> dict[str, Any]:
    """Run the whole stage in this process (or through ``mapper`` for the batches)."""
    start = time.perf_counter()
    todo, kept, plan_errors = plan_stage(Path(export), Path(out), config)
    groups = batches(todo, n_batches)
    if mapper is None:
        done = [measure_batch(group, export, out, config, qc) for group in groups]
    else:
        done = mapper(groups)
    results = kept + [r for group in done for r in group]
    summary = finish_stage(Path(out), results, plan_errors, time.perf_counter() - start, config)
    summary["remeasured"] = len(todo)
    return summary
