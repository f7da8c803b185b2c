"""The "Review" section of ``report.html``: counts and agreement only (public side).

It reads ``OUT/review_summary.json`` and ``OUT/review_agreement.csv``, which hold no
sentence, no identifier and no reviewer initials.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.review import read_agreement
from imncohort.tables.report import html_table


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def read_review_outputs(out: Path) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """Return the public review summary and agreement table (None when not written)."""
    layout = OutLayout(out)
    summary_path = layout.review_summary_json
    summary = json.loads(summary_path.read_text("utf-8")) if summary_path.exists() else None
    return summary, read_agreement(layout)


def _kappa_text(summary: dict[str, Any]) -> str:
    kappa = summary.get("kappa")
    if kappa is None or (isinstance(kappa, float) and math.isnan(kappa)):
        return "not defined yet (no item with both readers' answers, or a single answer used)"
    low, high = summary.get("kappa_ci_low"), summary.get("kappa_ci_high")
    ci = f" (95% CI {low:.2f} to {high:.2f})" if low is not None and high is not None else ""
    return f"{kappa:.2f}{ci}"


def review_section_html(summary: dict[str, Any] | None, agreement: pd.DataFrame | None) -> str:
    """Return the HTML body of the Review section."""
    if summary is None:
        return '<p class="empty">The review step has not run in this output directory.</p>'
    patients = summary.get("patients_by_review_status", {})
    percent = summary.get("percent_agreement")
    items = [
        ("Review items (affirmed or uncertain mentions)", summary.get("items", 0)),
        ("Decided (consensus reached)", summary.get("decided", 0)),
        ("Awaiting review (pending)", summary.get("awaiting_review", 0)),
        ("New in this run's workbook", summary.get("new", 0)),
        ("Items answered by both readers", summary.get("items_with_both_readers", 0)),
        (
            "Percent agreement",
            "–" if percent is None else f"{percent:.1f}%",
        ),
        ("Cohen's kappa", _kappa_text(summary)),
        ("Patients reviewed positive", patients.get("positive", 0)),
        ("Patients reviewed negative", patients.get("negative", 0)),
        ("Patients pending", patients.get("pending", 0)),
        ("Patients not reviewed", patients.get("not_reviewed", 0)),
        (
            "Consensus-positive patients without annotated nodes (to contour)",
            summary.get("consensus_positive_unannotated", 0),
        ),
        ("Returned files read", summary.get("returned_files", 0)),
        ("Problems in returned files (errors.csv)", summary.get("errors", 0)),
    ]
    parts = [
        "<p>Two readers review each affirmed or uncertain mention independently; the outcome "
        "is their agreement, else the consensus decision, else pending (seed 000).</p>",
        '<dl id="review-counts">',
    ]
    for label, value in items:
        parts.append(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>")
    parts.append("</dl>")
    if agreement is not None and len(agreement):
        parts.append(
            "<p>Agreement of reader 1 and reader 2 over items both answered (three answers: "
            "metastatic IMN, not metastatic, unsure), overall and per modality; unweighted "
            "Cohen's kappa with asymptotic 95% CI (statsmodels).</p>"
        )
        parts.append(html_table(agreement, "table-review-agreement"))
    return "\n".join(parts)
