"""The review step: items, returned decisions, outcome, workbook, page and agreement.

Runs after the measure stage (it needs the QC pictures) and before the tables (the report
shows its counts). Reads ``mentions.parquet``, the restricted sentences and worklist,
the node table, the index's study table and the returned folder; writes

- ``OUT/restricted/review/worklist.xlsx`` and ``worklist.csv`` (the reviewers' workbook),
  ``index.html`` (the items with QC pictures), ``to_annotate.csv`` (consensus-positive
  patients without annotated nodes), ``agreement.csv`` (also per pair of initials) and
  ``state.json`` (kept decisions);
- ``OUT/cohort.csv`` again, with ``review_status``;
- public ``OUT/review_agreement.csv`` and ``OUT/review_summary.json`` (counts and kappa,
  no identifier, no sentence) and the step's records in ``errors.csv``.

A workbook edited in place (its content differs from what the last run wrote) is copied
into the returned folder before it is replaced, so nothing typed into it is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import Config
from imncohort.keys import restricted_dir
from imncohort.layout import OutLayout
from imncohort.outputs import ErrorRecord, write_json
from imncohort.review.agreement import SLOT_PAIR, agreement_table
from imncohort.review.consensus import cohort_with_review_status, patient_status, status_table
from imncohort.review.items import ITEM_COLUMNS, build_items
from imncohort.review.merge import merge_decisions
from imncohort.review.model import POSITIVE, REVIEW_STATUSES
from imncohort.review.page import render_page, write_page
from imncohort.review.state import ReviewState, read_state, write_state
from imncohort.review.workbook import (
    read_returned,
    returned_files,
    workbook_rows,
    write_workbook,
    write_worklist_csv,
)
from imncohort.schemas.base import parse_bool
from imncohort.schemas.cohort import read_cohort, write_cohort
from imncohort.schemas.errors import write_stage_errors
from imncohort.schemas.index import read_index_table
from imncohort.schemas.mentions import MENTION_SENTENCES, read_mentions, read_worklist
from imncohort.schemas.nodes import read_nodes
from imncohort.schemas.review import AGREEMENT, TO_ANNOTATE, TO_ANNOTATE_COLUMNS

logger = logging.getLogger(__name__)

STAGE = "review"
_IDENTITY_COLUMNS = ["report_id", "PatientID", "AccessionNumber", "StudyInstanceUID"]


def review_dir(out: Path) -> Path:
    """Return ``OUT/restricted/review`` (created with mode 0700)."""
    restricted_dir(out)
    path = OutLayout(out).review_dir
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def returned_dir(out: Path, config: Config) -> Path:
    """Return the returned folder: ``review.returned`` (relative to OUT) or the default."""
    configured = config.review.returned
    if configured is None:
        review_dir(out)
        path = OutLayout(out).review_returned_dir
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path
    else:
        path = configured if configured.is_absolute() else Path(out) / configured
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_mentions(out: Path) -> pd.DataFrame:
    """Return mentions with their sentence and report identifiers (restricted, in memory)."""
    layout = OutLayout(out)
    worklist = read_worklist(layout)
    if (
        not layout.mentions_parquet.exists()
        or not layout.mention_sentences_parquet.exists()
        or worklist is None
    ):
        return pd.DataFrame(columns=[*ITEM_COLUMNS, "size_long_mm", "size_short_mm"])
    mentions = read_mentions(layout)
    sentences = MENTION_SENTENCES.read_parquet(layout.mention_sentences_parquet)
    sentences = sentences.drop_duplicates("mention_id")
    joined = mentions.merge(sentences, on="mention_id", how="left")
    identities = worklist[_IDENTITY_COLUMNS].drop_duplicates("report_id")
    joined = joined.merge(identities, on="report_id", how="left")
    for column in ("sentence", "PatientID", "AccessionNumber", "StudyInstanceUID"):
        joined[column] = joined[column].fillna("").astype(str)
    return joined


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _rescue_edited(layout: OutLayout, returned: Path, state: ReviewState, stamp: str) -> list[str]:
    """Copy a workbook edited in place into the returned folder; return the copies' names."""
    copies = []
    for path in _workbook_files(layout):
        name = path.name
        recorded = state.written.get(name)
        if path.exists() and recorded and _sha256(path) != recorded:
            target = returned / f"edited-{stamp.replace(':', '')}-{name}"
            shutil.copy2(path, target)
            copies.append(target.name)
            logger.info("review: %s was edited in place; read as the return %s", name, target.name)
    return copies


def _workbook_files(layout: OutLayout) -> tuple[Path, Path]:
    """The reviewers' workbook and its CSV copy."""
    return layout.review_workbook_xlsx, layout.review_workbook_csv


def _pictures(out: Path, nodes: pd.DataFrame | None) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = {}
    if nodes is None or nodes.empty or "qc_png" not in nodes.columns:
        return result
    for r in nodes.to_dict("records"):
        qc = str(r.get("qc_png", ""))
        if not qc or not (Path(out) / qc).is_file():
            continue
        metastatic = parse_bool(r.get("metastatic")) is True
        value = r.get("short_axis_mm")
        short = "" if value is None or pd.isna(value) else str(value)
        with contextlib.suppress(ValueError):
            short = f"{float(short):.1f}"
        caption = (
            f"{r.get('roi_name', '')} ({r.get('side', '')}), short axis {short} mm, "
            f"{'metastatic' if metastatic else 'not metastatic'}"
        )
        result.setdefault(str(r["patient_key"]), []).append(
            {"src": "../../" + qc, "caption": caption}
        )
    return result


def to_annotate(
    items: pd.DataFrame,
    statuses: pd.DataFrame,
    patients: dict[str, str],
    nodes: pd.DataFrame | None,
    studies: pd.DataFrame | None,
) -> pd.DataFrame:
    """Return the consensus-positive patients without any annotated node (pure)."""
    annotated = set() if nodes is None or nodes.empty else set(nodes["patient_key"].astype(str))
    joined = items.merge(statuses[["item_id", "outcome"]], on="item_id")
    rows = []
    for key in sorted(k for k, v in patients.items() if v == POSITIVE and k not in annotated):
        mine = joined[(joined["patient_key"] == key) & (joined["outcome"] == POSITIVE)]
        positive = sorted(
            {
                f"{u} ({m} {d})"
                for u, m, d in zip(
                    mine["StudyInstanceUID"], mine["modality"], mine["study_date"], strict=True
                )
            }
        )
        ct = []
        if studies is not None and not studies.empty:
            own = studies[studies["patient_key"].astype(str) == key]
            for uid, modalities, date in zip(
                own["study_instance_uid"], own["modalities"], own["study_date"], strict=True
            ):
                if "CT" in str(modalities).split(";"):
                    ct.append(f"{uid} ({date})")
        rows.append(
            {
                "PatientID": mine["PatientID"].iloc[0] if len(mine) else "",
                "patient_key": key,
                "positive_items": len(mine),
                "positive_studies": "; ".join(positive),
                "ct_studies": "; ".join(sorted(ct)),
            }
        )
    return pd.DataFrame(rows, columns=TO_ANNOTATE_COLUMNS)


def _error_path(out: Path, returned: Path, name: str) -> str:
    try:
        return (returned / name).resolve().relative_to(Path(out).resolve()).as_posix()
    except ValueError:
        return name


def run_review(
    out: Path, config: Config, secret: bytes, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Run the review step on ``out``; return its summary (counts only).

    Parameters
    ----------
    out
        The output directory (reports and, for pictures, measure already run).
    config
        ``review.returned`` names the returned folder; ``reports.fallback_encodings``
        decode returned CSVs.
    secret
        The pseudonymisation secret (keys the item ids).
    now
        The run's time (``first_seen`` of new items); the current UTC time by default.
    """
    out = Path(out)
    stamp = (now or dt.datetime.now(tz=dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    review_dir(out)
    returned = returned_dir(out, config)
    state = read_state(out)

    items = build_items(load_mentions(out), secret)
    current = list(items["item_id"])
    for item, key in zip(items["item_id"], items["patient_key"], strict=True):
        state.items.setdefault(item, {"first_seen": stamp, "patient_key": key})
    first_seen = {i: state.items[i]["first_seen"] for i in current}

    _rescue_edited(OutLayout(out), returned, state, stamp)
    read = read_returned(
        returned_files(returned), set(state.items), config.reports.fallback_encodings
    )
    merged = merge_decisions(state.decisions, read.decisions, read.files)
    problems = read.problems + merged.problems
    state.decisions = merged.decisions

    statuses = status_table(current, first_seen, state.decisions)
    review_rows, decided_rows = workbook_rows(items, statuses)
    layout = OutLayout(out)
    write_workbook(review_rows, decided_rows, items, layout.review_workbook_xlsx)
    write_worklist_csv(review_rows, decided_rows, layout.review_workbook_csv)
    state.written = {path.name: _sha256(path) for path in _workbook_files(layout)}

    nodes = read_nodes(layout)
    page_rows = pd.concat([review_rows, decided_rows], ignore_index=True)
    extra = items.set_index("item_id")[["sentence", "term", "trigger"]]
    page_rows = page_rows.join(extra.rename(columns={"sentence": "raw_sentence"}), on="item_id")
    write_page(
        render_page(
            [{str(k): str(v) for k, v in r.items()} for r in page_rows.to_dict("records")],
            _pictures(out, nodes),
            stamp,
        ),
        layout.review_page_html,
    )

    with_keys = items[["item_id", "patient_key"]].merge(statuses, on="item_id")
    state.patients = patient_status(with_keys["patient_key"], with_keys["outcome"])
    cohort_status: Counter[str] = Counter()
    if layout.cohort_parquet.exists() or layout.cohort_csv.exists():
        cohort = cohort_with_review_status(read_cohort(layout), state.patients)
        write_cohort(layout, cohort)
        cohort_status = Counter(cohort["review_status"])

    studies = read_index_table(layout, "studies", required=False)
    annotate = to_annotate(items, statuses, state.patients, nodes, studies)
    TO_ANNOTATE.write_csv(annotate, layout.to_annotate_csv, spreadsheet=True)

    decisions = items[["item_id", "modality"]].merge(statuses, on="item_id")
    agreement = agreement_table(decisions)
    AGREEMENT.write_csv(agreement, layout.review_agreement_private_csv)
    AGREEMENT.write_csv(agreement[agreement["pair"] == SLOT_PAIR], layout.review_agreement_csv)

    records = [ErrorRecord(_error_path(out, returned, p.source), STAGE, p.reason) for p in problems]
    write_stage_errors(out, STAGE, records)
    write_state(out, state)

    status_counts = Counter(statuses["status"])
    outcome_counts = Counter(statuses["outcome"])
    overall = agreement.iloc[0]
    summary: dict[str, Any] = {
        "items": len(items),
        "new": status_counts.get("new", 0),
        "awaiting_review": status_counts.get("awaiting_review", 0),
        "decided": status_counts.get("decided", 0),
        "items_by_outcome": {s: outcome_counts.get(s, 0) for s in REVIEW_STATUSES},
        "patients_by_review_status": {s: cohort_status.get(s, 0) for s in REVIEW_STATUSES},
        "consensus_positive_unannotated": len(annotate),
        "items_no_longer_listed": len(set(state.items) - set(current)),
        "returned_files": len(read.files),
        "decisions_added": merged.added,
        "decisions_changed": merged.changed,
        "items_with_both_readers": int(overall["items"]),
        "percent_agreement": _number(overall["percent_agreement"]),
        "kappa": _number(overall["kappa"]),
        "kappa_ci_low": _number(overall["kappa_ci_low"]),
        "kappa_ci_high": _number(overall["kappa_ci_high"]),
        "errors": len(records),
    }
    write_json(summary, layout.review_summary_json)
    logger.info(
        "review: %d items (%d new, %d decided), %d returned files, %d problems",
        summary["items"],
        summary["new"],
        summary["decided"],
        summary["returned_files"],
        summary["errors"],
    )
    return summary


def _number(value: float | str) -> float | None:
    number = float(value)
    return None if number != number else round(number, 6)
