"""The reports stage without orchestration: sources, per-chunk mining, outputs.

``flows/reports.py`` runs :func:`mine_chunk` as one Prefect task per chunk of
sources on Dask and then :func:`write_outputs`; :func:`run_reports_stage` does
the same serially (tests, notebooks, benchmarks).

Outputs (docs/ARCHITECTURE.md): ``OUT/mentions.parquet`` (no text),
``OUT/reports.parquet`` (one row per report read, no text),
``OUT/cohort.csv``, ``OUT/restricted/mention_sentences.parquet``,
``OUT/restricted/worklist.csv`` and the stage's error records.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import Config
from imncohort.keys import pseudonym, restricted_dir
from imncohort.layout import OutLayout
from imncohort.outputs import ErrorRecord
from imncohort.privacy import PathScrubber, public_code, public_date
from imncohort.reports.cohort import POSITIVE, build_cohort
from imncohort.reports.lexicon import Lexicon, load_lexicon
from imncohort.reports.mentions import MENTION_COLUMNS, mine_reports, resolve_modality
from imncohort.reports.records import ReportSource, ReportText
from imncohort.reports.sources import read_source
from imncohort.review.consensus import cohort_with_review_status
from imncohort.review.state import kept_review_status
from imncohort.schemas.cohort import write_cohort
from imncohort.schemas.errors import write_stage_errors
from imncohort.schemas.index import read_identities, read_index_table
from imncohort.schemas.mentions import (
    MENTION_SENTENCES,
    MENTIONS_COLUMNS,
    REPORTS_COLUMNS,
    WORKLIST_COLUMNS,
    write_mentions,
    write_reports,
    write_worklist,
)
from imncohort.schemas.nodes import read_nodes

logger = logging.getLogger(__name__)

STAGE = "reports"
_REPORT_FIELDS = [
    "report_id",
    "source",
    "source_path",
    "patient_id",
    "accession",
    "study_uid",
    "study_date",
    "modality",
    "study_description",
]


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk of sources gave: reports (restricted), mentions (restricted), errors."""

    reports: pd.DataFrame
    mentions: pd.DataFrame
    errors: tuple[ErrorRecord, ...]
    seconds: float


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a POSIX glob with ``**`` into a regex over relative paths."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


def matches_globs(path: str, globs: Sequence[str]) -> bool:
    """Return True when the relative POSIX ``path`` matches any glob (``**`` = any folders)."""
    return any(_glob_regex(g).match(path) for g in globs)


def collect_sources(out: Path, config: Config) -> list[ReportSource]:
    """Return every report source the index found: SR/PDF instances, report tables, PDF files.

    Raises
    ------
    StageOrderError
        When the index has not been written.
    """
    layout = OutLayout(out)
    instances = read_index_table(
        layout, "instances", ["path", "kind"], needed_by="the reports stage"
    )
    sources = [
        ReportSource(str(p), str(k))
        for p, k in zip(instances["path"], instances["kind"], strict=True)
        if k in ("sr", "pdf")
    ]
    if layout.index_table("files").exists():
        files = read_index_table(layout, "files", ["path", "kind"])
        for path, kind in zip(files["path"], files["kind"], strict=True):
            if kind == "table" and matches_globs(str(path), config.reports.tables):
                sources.append(ReportSource(str(path), "table"))
            elif kind == "pdf":
                sources.append(ReportSource(str(path), "pdf_file"))
    return sorted(sources, key=lambda s: (s.kind, s.path))


def chunk_sources(sources: Sequence[ReportSource], size: int) -> list[list[ReportSource]]:
    """Split sources into chunks of at most ``size`` (one task each)."""
    size = max(1, int(size))
    return [list(sources[i : i + size]) for i in range(0, len(sources), size)]


def lexicon_for(config: Config) -> Lexicon:
    """Return the lexicon named by ``reports.lexicon`` (the packaged one when null)."""
    return load_lexicon(config.reports.lexicon)


def mine_chunk(export: Path, sources: Sequence[ReportSource], config: Config) -> ChunkResult:
    """Read and mine one chunk of report sources.

    Parameters
    ----------
    export
        The export root (read only).
    sources
        Paths relative to ``export`` and their kinds.
    config
        The run's configuration (column map, fallback encodings, lexicon).
    """
    started = time.perf_counter()
    lexicon = lexicon_for(config)
    texts: list[ReportText] = []
    errors: list[ErrorRecord] = []
    for source in sources:
        got = read_source(
            Path(export), source, config.reports.columns, config.reports.fallback_encodings
        )
        texts.extend(got.reports)
        errors.extend(got.errors)
    mentions = mine_reports(texts, lexicon)
    reports = pd.DataFrame(
        [[getattr(t, f) for f in _REPORT_FIELDS] for t in texts], columns=_REPORT_FIELDS
    )
    return ChunkResult(reports, mentions, tuple(errors), time.perf_counter() - started)


def _public(scrub: PathScrubber, frame: pd.DataFrame) -> pd.DataFrame:
    """Paths (also inside table report ids) scrubbed; codes and dates only when well formed."""
    frame = scrub.frame(frame, ["source_path", "report_id"])
    for column, clean in (("modality", public_code), ("study_date", public_date)):
        if column in frame.columns:
            frame[column] = frame[column].map(clean)
    return frame


def _study_lookup(out: Path) -> pd.DataFrame:
    columns = [
        "study_instance_uid",
        "study_key",
        "patient_key",
        "study_date",
        "study_description",
        "modalities",
    ]
    frame = read_index_table(OutLayout(out), "studies", columns, required=False)
    frame = frame[columns].astype(object).fillna("").drop_duplicates("study_instance_uid")
    return frame.set_index("study_instance_uid")


def _accession_lookup(out: Path) -> dict[str, str]:
    frame = read_identities(OutLayout(out)).fillna("")
    return {
        str(a): str(s)
        for a, s in zip(frame["AccessionNumber"], frame["StudyInstanceUID"], strict=True)
        if str(a) and str(s)
    }


def _resolve_reports(reports: pd.DataFrame, out: Path, secret: bytes) -> pd.DataFrame:
    """Add keys, the study UID (from the accession when missing), date and modality."""
    studies = _study_lookup(out)
    by_accession = _accession_lookup(out)
    rows = []
    for r in reports.to_dict("records"):
        study_uid = r["study_uid"] or by_accession.get(r["accession"], "")
        study = studies.loc[study_uid] if study_uid and study_uid in studies.index else None
        modalities = str(study["modalities"]).split(";") if study is not None else []
        description = r["study_description"] or (
            str(study["study_description"]) if study is not None else ""
        )
        study_date = r["study_date"] or (str(study["study_date"]) if study is not None else "")
        rows.append(
            {
                **r,
                "study_uid": study_uid,
                "study_date": study_date,
                "patient_key": pseudonym(secret, r["patient_id"]),
                "study_key": pseudonym(secret, study_uid) if study_uid else "",
                "modality": resolve_modality(modalities, r["modality"], description),
            }
        )
    columns = [*_REPORT_FIELDS, "patient_key", "study_key"]
    return pd.DataFrame(rows, columns=columns)


def _worklist(mentions: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    positive = mentions[mentions["assertion"].isin(POSITIVE)]
    if positive.empty:
        return pd.DataFrame(columns=WORKLIST_COLUMNS)
    info = reports.set_index("report_id")
    rows = []
    for report_id, group in positive.groupby("report_id", sort=False):
        r = info.loc[report_id]
        sentences = list(dict.fromkeys(group["sentence"]))
        rows.append(
            {
                "PatientID": r["patient_id"],
                "AccessionNumber": r["accession"],
                "StudyInstanceUID": r["study_uid"],
                "StudyDate": r["study_date"],
                "Modality": r["modality"],
                "patient_key": r["patient_key"],
                "study_key": r["study_key"],
                "report_id": report_id,
                "source_path": r["source_path"],
                "terms": ";".join(dict.fromkeys(group["term"])),
                "assertions": ";".join(dict.fromkeys(group["assertion"])),
                "sentence": " | ".join(sentences),
            }
        )
    frame = pd.DataFrame(rows, columns=WORKLIST_COLUMNS)
    return frame.sort_values(["PatientID", "StudyDate", "report_id"], kind="stable")


def write_outputs(
    out: Path, results: Sequence[ChunkResult], secret: bytes, seconds: float = 0.0
) -> dict[str, Any]:
    """Merge chunk results and write every output of the stage; return the summary."""
    out = Path(out)
    reports = pd.concat([r.reports for r in results], ignore_index=True) if results else None
    if reports is None or reports.empty:
        reports = pd.DataFrame(columns=_REPORT_FIELDS)
    duplicated = reports["report_id"].duplicated()
    if duplicated.any():
        logger.info(
            "%d duplicate report ids (same SOP instance twice) kept once", int(duplicated.sum())
        )
        reports = reports[~duplicated]
    mentions = (
        pd.concat([r.mentions for r in results], ignore_index=True)
        if results
        else pd.DataFrame(columns=MENTION_COLUMNS)
    )
    mentions = mentions.drop_duplicates("mention_id")
    errors = [e for r in results for e in r.errors]
    reports = _resolve_reports(reports, out, secret)
    info = reports.set_index("report_id")
    joined = mentions.join(
        info[["patient_key", "study_key", "modality", "study_date", "source", "source_path"]],
        on="report_id",
    )
    joined["size_mm"] = joined["size_long_mm"]
    joined = joined.sort_values(["patient_key", "study_date", "report_id"], kind="stable")
    scrub = PathScrubber.from_out(out)
    public = _public(scrub, joined[MENTIONS_COLUMNS].reset_index(drop=True))
    public = public.astype(
        {"size_long_mm": "float64", "size_short_mm": "float64", "size_mm": "float64"}
    )
    layout = OutLayout(out)
    write_mentions(layout, public)
    counts = mentions.groupby("report_id").size()
    positives = mentions[mentions["assertion"].isin(POSITIVE)].groupby("report_id").size()
    report_rows = reports.assign(
        n_mentions=reports["report_id"].map(counts).fillna(0).astype("int64"),
        n_positive=reports["report_id"].map(positives).fillna(0).astype("int64"),
    )
    write_reports(
        layout,
        _public(
            scrub,
            report_rows[REPORTS_COLUMNS].sort_values(["patient_key", "study_date", "report_id"]),
        ),
    )
    restricted_dir(out)  # 0700 before anything restricted is written
    MENTION_SENTENCES.write_parquet(
        joined[MENTION_SENTENCES.names].reset_index(drop=True), layout.mention_sentences_parquet
    )
    write_worklist(layout, _worklist(mentions, reports))
    nodes = read_nodes(layout)
    cohort = cohort_with_review_status(build_cohort(public, nodes), kept_review_status(out))
    cohort = write_cohort(layout, cohort)
    write_stage_errors(out, STAGE, errors)
    return {
        "reports": len(reports),
        "mentions": len(public),
        "candidates": int((cohort["status"] == "candidate").sum()),
        "confirmed": int((cohort["status"] == "confirmed").sum()),
        "worklist": int(mentions[mentions["assertion"].isin(POSITIVE)]["report_id"].nunique()),
        "errors": len(errors),
        "seconds": round(seconds, 3),
    }


def run_reports_stage(export: Path, out: Path, config: Config, secret: bytes) -> dict[str, Any]:
    """Run the whole reports stage in this process (no Prefect, no Dask)."""
    started = time.perf_counter()
    sources = collect_sources(out, config)
    results = [
        mine_chunk(export, chunk, config)
        for chunk in chunk_sources(sources, config.index.chunk_size)
    ]
    return write_outputs(out, results, secret, time.perf_counter() - started)
