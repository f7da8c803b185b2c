"""Memory between audits: ``OUT/runs/<id>/``, ``OUT/changes.csv`` and "Since the last audit".

After every audit the small research tables (cohort, coverage, detection, intercostal,
nodes) and ``run.json`` are copied to ``OUT/runs/<run id>/``. The run is compared with
the previous one kept there: new candidates, new confirmed patients, new and removed
nodes, and coverage and detection per margin / modality with both runs' Wilson
intervals. Everything kept is keyed by pseudonyms (no identifiers).
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import logging
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.outputs import atomic_path, write_json
from imncohort.schemas.cohort import read_cohort
from imncohort.schemas.nodes import read_nodes

logger = logging.getLogger(__name__)

#: The paper tables kept with each run (their CSVs, as the tables stage wrote them).
KEPT_RESULT_TABLES = ("coverage", "modality_detection", "intercostal")
CHANGE_COLUMNS = [
    "change",
    "key",
    "detail",
    "previous",
    "current",
    "previous_ci_low",
    "previous_ci_high",
    "current_ci_low",
    "current_ci_high",
]
NODE_KEY = ["patient_key", "study_key", "series_key", "roi_name", "component"]
SECTION_ID = "since-last-audit"


def new_run_id(now: datetime.datetime | None = None) -> str:
    """Return a run id that sorts by start time: ``YYYYMMDDTHHMMSSZ-xxxx``."""
    moment = now or datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def kept_files(layout: OutLayout) -> list[Path]:
    """The files of OUT (or of a kept run folder) that a run folder keeps."""
    return [
        layout.cohort_parquet,
        layout.cohort_csv,
        *(layout.table_csv(name) for name in KEPT_RESULT_TABLES),
        layout.nodes_parquet,
        layout.nodes_csv,
        layout.run_json,
    ]


def run_dirs(out: Path) -> list[Path]:
    """Return the kept run directories of ``out``, oldest first."""
    root = OutLayout(out).runs_dir
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and OutLayout(p).run_json.exists())


def archive_run(out: Path, run_id: str, keep: int) -> Path:
    """Copy ``run.json`` and the small tables to ``OUT/runs/<run_id>/``; keep the last ``keep``."""
    layout = OutLayout(out)
    target = layout.run_dir(run_id)
    target.root.mkdir(parents=True, exist_ok=True)
    for source, copy in zip(kept_files(layout), kept_files(target), strict=True):
        if source.exists():
            shutil.copyfile(source, copy)
    kept = run_dirs(out)
    for old in kept[: max(0, len(kept) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return target.root


def _read(folder: Path | None, name: str) -> pd.DataFrame | None:
    """One kept table of a run folder: ``cohort``, ``nodes`` or a paper table (None if absent)."""
    if folder is None:
        return None
    layout = OutLayout(folder)
    if name == "cohort":
        present = layout.cohort_parquet.exists() or layout.cohort_csv.exists()
        return read_cohort(layout) if present else None
    if name == "nodes":
        present = layout.nodes_parquet.exists() or layout.nodes_csv.exists()
        return read_nodes(layout) if present else None
    path = layout.table_csv(name)
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.EmptyDataError, OSError):
        return None


def _row(change: str, key: str, detail: str = "", **values: object) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CHANGE_COLUMNS, None)
    row.update(change=change, key=key, detail=detail, **values)
    return row


def _status_set(cohort: pd.DataFrame | None, status: str) -> set[str]:
    if cohort is None or cohort.empty:
        return set()
    return set(cohort.loc[cohort["status"] == status, "patient_key"].astype(str))


def _node_keys(nodes: pd.DataFrame | None) -> set[str]:
    if nodes is None or nodes.empty:
        return set()
    parts = nodes[NODE_KEY].astype(str)
    return set(parts.agg("/".join, axis=1))


def _percent_rows(
    change: str,
    previous: pd.DataFrame | None,
    current: pd.DataFrame | None,
    keys: list[str],
) -> list[dict[str, Any]]:
    if current is None or current.empty:
        return []
    rows = []
    before: dict[tuple[str, ...], Any] = {}
    if previous is not None and not previous.empty:
        before = {tuple(str(r[k]) for k in keys): r for _, r in previous.iterrows()}
    for _, now in current.iterrows():
        ident = tuple(str(now[k]) for k in keys)
        old = before.get(ident)
        rows.append(
            _row(
                change,
                " ".join(ident),
                "percent",
                previous=None if old is None else old["percent"],
                current=now["percent"],
                previous_ci_low=None if old is None else old["ci_low"],
                previous_ci_high=None if old is None else old["ci_high"],
                current_ci_low=now["ci_low"],
                current_ci_high=now["ci_high"],
            )
        )
    return rows


def compare_runs(previous: Path | None, current: Path) -> pd.DataFrame:
    """Return the changes from the run kept in ``previous`` to the one in ``current``.

    ``change`` is one of ``new_candidate``, ``new_confirmed``, ``new_node``,
    ``removed_node``, ``coverage`` (key ``<direction> <margin_mm>``) and ``detection``
    (key: modality), the last two with both runs' percentages and Wilson intervals.
    """
    rows: list[dict[str, Any]] = []
    old_cohort, new_cohort = _read(previous, "cohort"), _read(current, "cohort")
    known = set() if old_cohort is None else set(old_cohort["patient_key"].astype(str))
    for key in sorted(_status_set(new_cohort, "candidate") - known):
        rows.append(_row("new_candidate", key))
    for key in sorted(_status_set(new_cohort, "confirmed") - _status_set(old_cohort, "confirmed")):
        rows.append(_row("new_confirmed", key))
    old_nodes, new_nodes = (
        _node_keys(_read(previous, "nodes")),
        _node_keys(_read(current, "nodes")),
    )
    rows += [_row("new_node", key) for key in sorted(new_nodes - old_nodes)]
    rows += [_row("removed_node", key) for key in sorted(old_nodes - new_nodes)]
    rows += _percent_rows(
        "coverage",
        _read(previous, "coverage"),
        _read(current, "coverage"),
        ["direction", "margin_mm"],
    )
    rows += _percent_rows(
        "detection",
        _read(previous, "modality_detection"),
        _read(current, "modality_detection"),
        ["modality"],
    )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def record_run(out: Path, run_id: str, keep: int, guideline_mm: float) -> dict[str, Any]:
    """Archive this run, write ``OUT/changes.csv`` and the report section; return counts."""
    out = Path(out)
    earlier = [d for d in run_dirs(out) if d.name != run_id]
    current = archive_run(out, run_id, keep)
    previous = earlier[-1] if earlier else None
    changes = compare_runs(previous, current)
    layout = OutLayout(out)
    with atomic_path(layout.changes_csv) as tmp:
        changes.to_csv(tmp, index=False)
    counts = {c: int((changes["change"] == c).sum()) for c in CHANGE_COLUMNS_COUNTED}
    summary = {"run_id": run_id, "previous_run": previous.name if previous else None, **counts}
    write_json(summary, OutLayout(current).changes_json)
    report = layout.report_html
    if report.exists():
        section = since_last_section(changes, previous, run_dirs(out), guideline_mm)
        insert_section(report, section)
    return summary


CHANGE_COLUMNS_COUNTED = ("new_candidate", "new_confirmed", "new_node", "removed_node")


def _fmt(value: float | None, low: float, high: float) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{float(value):.1f}% ({float(low):.1f}-{float(high):.1f})"


def since_last_section(
    changes: pd.DataFrame, previous: Path | None, runs: list[Path], guideline_mm: float
) -> str:
    """Return the HTML of the "Since the last audit" section."""
    e = html.escape
    parts = [f'<h2 id="{SECTION_ID}">Since the last audit</h2>']
    if previous is None:
        parts.append("<p>This is the first audit kept in OUT/runs; nothing to compare yet.</p>")
        return "\n".join(parts)
    parts.append(f"<p>Compared with run {e(previous.name)}.</p><ul>")
    labels = {
        "new_candidate": "new candidate patients",
        "new_confirmed": "new confirmed patients",
        "new_node": "new nodes",
        "removed_node": "removed nodes",
    }
    for change, label in labels.items():
        keys = changes.loc[changes["change"] == change, "key"].tolist()
        shown = ", ".join(e(str(k)) for k in keys[:20]) + (" ..." if len(keys) > 20 else "")
        parts.append(f"<li>{len(keys)} {label}{': ' + shown if keys else ''}</li>")
    parts.append("</ul>")
    for change, title in (
        ("coverage", "Coverage by margin"),
        ("detection", "Detection by modality"),
    ):
        frame = changes[changes["change"] == change]
        if frame.empty:
            continue
        parts.append(f"<h3>{title} (previous vs this audit, Wilson 95% CI)</h3><table>")
        parts.append("<tr><th>margin / modality</th><th>previous</th><th>this audit</th></tr>")
        for _, r in frame.iterrows():
            parts.append(
                f"<tr><td>{e(str(r['key']))}</td>"
                f"<td>{_fmt(r['previous'], r['previous_ci_low'], r['previous_ci_high'])}</td>"
                f"<td>{_fmt(r['current'], r['current_ci_low'], r['current_ci_high'])}</td></tr>"
            )
        parts.append("</table>")
    if len(runs) >= 3:
        png = coverage_over_time_png(runs, guideline_mm)
        if png:
            parts.append(
                f'<figure><img alt="coverage over time" src="data:image/png;base64,{png}">'
                f"<figcaption>Coverage at the {guideline_mm:g} mm guideline margin over the "
                f"last {len(runs)} audits (Wilson 95% CI).</figcaption></figure>"
            )
    return "\n".join(parts)


def coverage_over_time(runs: list[Path], margin_mm: float) -> pd.DataFrame:
    """Return run_id, direction, percent, ci_low, ci_high at ``margin_mm`` for each kept run."""
    rows = []
    for folder in runs:
        coverage = _read(folder, "coverage")
        if coverage is None or coverage.empty:
            continue
        at = coverage[coverage["margin_mm"].astype(float) == float(margin_mm)]
        for _, r in at.iterrows():
            rows.append(
                {
                    "run_id": folder.name,
                    "direction": r["direction"],
                    "percent": r["percent"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                }
            )
    return pd.DataFrame(rows, columns=["run_id", "direction", "percent", "ci_low", "ci_high"])


def coverage_over_time_png(runs: list[Path], margin_mm: float) -> str | None:
    """Return the coverage-over-time figure as base64 PNG (None without coverage rows)."""
    frame = coverage_over_time(runs, margin_mm)
    if frame.empty:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.6))
    axes = figure.subplots()
    order = {run: n for n, run in enumerate(dict.fromkeys(frame["run_id"]))}
    for direction, group in frame.groupby("direction"):
        x = [order[r] for r in group["run_id"]]
        axes.plot(x, group["percent"], marker="o", label=str(direction).replace("_", "-"))
        axes.fill_between(x, group["ci_low"], group["ci_high"], alpha=0.2)
    axes.set_xticks(list(order.values()), [r[:15] for r in order], rotation=30, fontsize=7)
    axes.set_ylabel("nodes covered (%)")
    axes.set_ylim(0, 105)
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def insert_section(report: Path, section: str) -> None:
    """Insert ``section`` into ``report.html`` before its run metadata (or at the end)."""
    text = Path(report).read_text("utf-8")
    marker = '<h2 id="run">'
    at = text.find(marker)
    if at < 0:
        at = text.rfind("</body>")
    if at < 0:
        at = len(text)
    with atomic_path(Path(report)) as tmp:
        tmp.write_text(text[:at] + section + "\n" + text[at:], encoding="utf-8")


def runs_lines(out: Path) -> list[str]:
    """Return the ``imncohort runs OUT`` listing, oldest first."""
    folders = run_dirs(out)
    if not folders:
        return [f"no runs kept in {OutLayout(out).runs_dir}"]
    lines = [
        f"{'run id':<24}{'started (UTC)':<22}{'seconds':>8}{'candidates':>12}{'confirmed':>11}"
        f"{'nodes':>7}{'new cand.':>11}"
    ]
    for folder in folders:
        record = json.loads(OutLayout(folder).run_json.read_text("utf-8"))
        started = datetime.datetime.fromtimestamp(record.get("started_unix", 0), datetime.UTC)
        cohort = _read(folder, "cohort")
        nodes = _read(folder, "nodes")
        change_file = OutLayout(folder).changes_json
        new = json.loads(change_file.read_text("utf-8")) if change_file.exists() else {}
        candidates = len(_status_set(cohort, "candidate"))
        confirmed = len(_status_set(cohort, "confirmed"))
        lines.append(
            f"{folder.name:<24}{started:%Y-%m-%d %H:%M:%S}   {record.get('seconds', 0):>7.1f}"
            f"{candidates:>12}{confirmed:>11}"
            f"{0 if nodes is None else len(nodes):>7}{new.get('new_candidate', 0):>11}"
        )
    return lines
