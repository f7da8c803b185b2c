"""``report.html``: one self-contained page for clinicians.

Inline CSS, figures as base64 ``data:`` URIs, no script and no external
resource; every text taken from data goes through :func:`html.escape`. The
data-quality section shows counts of bad inputs by stage and reason only
(quoted paths and values are masked), never paths or identifiers. The QC
gallery's thumbnails are ``data:`` URIs too, each linking to its picture in ``qc/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1150px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #446;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.8em;color:#334}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}
th,td{border:1px solid #bbc;padding:3px 8px;text-align:right}
th{background:#eef0f6}td.text,th.text{text-align:left}
tr:nth-child(even) td{background:#fafbfd}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .8em;margin:.6em 0}
.recommend{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.6em .9em;font-size:1.05em}
.empty{color:#a33;font-style:italic}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
pre{background:#f4f4f4;padding:.6em;overflow:auto;font-size:.8em}
"""


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: its file name, a heading, a caption and the rows."""

    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    empty_reason: str = ""


@dataclass(frozen=True)
class ReportFigure:
    """One PNG figure to embed."""

    title: str
    caption: str
    path: Path


@dataclass(frozen=True)
class ReportContent:
    """Everything the page shows."""

    summary: Sequence[tuple[str, str]]
    recommendation: Sequence[str]
    notes: Sequence[str]
    tables: Sequence[ReportTable]
    figures: Sequence[ReportFigure]
    errors: pd.DataFrame
    run: Mapping[str, Any] | None
    generated: str = field(default="")
    #: Extra sections (id, title, HTML body made by their own modules), before Data quality.
    sections: Sequence[tuple[str, str, str]] = ()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: object) -> tuple[str, bool]:
    """Return (escaped text, is_text) for a table cell."""
    if value is None:
        return ("", True)
    if isinstance(value, bool):
        return (_e(value), True)
    if isinstance(value, int):
        return (_e(value), False)
    if isinstance(value, float):
        if math.isnan(value):
            return ("–", False)
        if value.is_integer() and abs(value) < 1e6:
            return (_e(f"{value:.0f}"), False)
        if 0 < abs(value) < 0.001:
            return (_e(f"{value:.2e}"), False)
        return (_e(f"{value:.1f}" if abs(value) >= 1 else f"{value:.3f}"), False)
    try:
        if pd.isna(cast(Any, value)):  # NA, NaT and numpy missing values
            return ("–", False)
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return _cell(value.item())
    return (_e(value), True)


def html_table(frame: pd.DataFrame, table_id: str) -> str:
    """Render ``frame`` as an escaped HTML table (floats with one decimal)."""
    parts = [f'<table id="{_e(table_id)}" data-rows="{len(frame)}"><thead><tr>']
    for column in frame.columns:
        parts.append(f"<th>{_e(column)}</th>")
    parts.append("</tr></thead><tbody>")
    for values in frame.itertuples(index=False, name=None):
        parts.append("<tr>")
        for value in values:
            text, is_text = _cell(value)
            parts.append(f'<td class="text">{text}</td>' if is_text else f"<td>{text}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def image_data_uri(path: Path) -> str:
    """Return the PNG at ``path`` as a ``data:image/png;base64,...`` URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_LONG_NUMBER = re.compile(r"\b\d+(?:\.\d+){3,}\b")


def mask_reason(reason: str) -> str:
    """Mask quoted values and UIDs in an error reason so no identifier reaches the report."""
    text = _QUOTED.sub("'…'", str(reason))
    text = _LONG_NUMBER.sub("<uid>", text)
    return text[:200]


def error_counts(errors: pd.DataFrame) -> pd.DataFrame:
    """Return counts of bad inputs by stage and (masked) reason, most frequent first."""
    if errors.empty:
        return pd.DataFrame(columns=["stage", "reason", "inputs"])
    masked = pd.DataFrame(
        {"stage": errors["stage"].astype(str), "reason": errors["reason"].map(mask_reason)}
    )
    counts = masked.groupby(["stage", "reason"]).size().reset_index(name="inputs")
    return counts.sort_values(["stage", "inputs", "reason"], ascending=[True, False, True])


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key in sorted(data):
        value = data[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items.extend(_flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            items.append((name, json.dumps(value, default=str)))
        else:
            items.append((name, str(value)))
    return items


def _run_section(run: Mapping[str, Any] | None) -> str:
    if not run:
        return '<p class="empty">No run.json in the output directory (the stage ran alone).</p>'
    parts = []
    started = run.get("started_unix")
    if isinstance(started, (int, float)):
        when = dt.datetime.fromtimestamp(float(started), tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        parts.append(f"<p>Metadata of the run that wrote run.json, started {_e(when)}.</p>")
    simple = [(k, v) for k, v in run.items() if not isinstance(v, (Mapping, list, tuple))]
    parts.append("<dl>")
    for key, value in sorted(simple):
        parts.append(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>")
    parts.append("</dl>")
    stages = run.get("stages")
    if isinstance(stages, Mapping) and stages:
        rows = [
            {"stage": name, "item": item, "value": value}
            for name, summary in stages.items()
            if isinstance(summary, Mapping)
            for item, value in _flatten(summary)
        ]
        parts.append("<h3>Stages</h3>")
        parts.append(
            html_table(pd.DataFrame(rows, columns=["stage", "item", "value"]), "run-stages")
        )
    inputs = run.get("inputs")
    if isinstance(inputs, Mapping) and inputs:
        rows = [{"input": k, "count": v} for k, v in _flatten(inputs)]
        parts.append("<h3>Inputs</h3>")
        parts.append(html_table(pd.DataFrame(rows, columns=["input", "count"]), "run-inputs"))
    config = run.get("config")
    if isinstance(config, Mapping):
        parts.append("<details><summary>Resolved configuration</summary><pre>")
        parts.append(_e(json.dumps(config, indent=2, sort_keys=True, default=str)))
        parts.append("</pre></details>")
    return "".join(parts)


def render_report(content: ReportContent) -> str:
    """Return the full HTML document of the report."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>IMN cohort audit report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Internal mammary node (IMN) cohort audit</h1>",
    ]
    if content.generated:
        out.append(f"<p>Generated {_e(content.generated)}. Pseudonymous data only.</p>")
    out.append('<h2 id="summary">Cohort summary</h2><dl>')
    for label, value in content.summary:
        out.append(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>")
    out.append("</dl>")
    out.append('<h2 id="recommendation">Recommendation</h2>')
    for line in content.recommendation:
        out.append(f'<p class="recommend">{_e(line)}</p>')
    for note in content.notes:
        out.append(f'<p class="note">{_e(note)}</p>')
    out.append('<h2 id="figures">Figures</h2>')
    for number, figure in enumerate(content.figures, start=1):
        out.append(
            f'<figure><img id="figure-{number}" alt="{_e(figure.title)}" '
            f'src="{image_data_uri(figure.path)}">'
            f"<figcaption><b>{_e(figure.title)}.</b> {_e(figure.caption)}</figcaption></figure>"
        )
    out.append('<h2 id="tables">Tables</h2>')
    for table in content.tables:
        out.append(f'<h3 id="h-{_e(table.name)}">{_e(table.title)} ({_e(table.name)}.csv)</h3>')
        out.append(f"<p>{_e(table.caption)}</p>")
        if table.empty_reason:
            out.append(f'<p class="empty">{_e(table.empty_reason)}</p>')
        out.append(html_table(table.frame, f"table-{table.name}"))
    for section_id, title, body in content.sections:
        out.append(f'<h2 id="{_e(section_id)}">{_e(title)}</h2>')
        out.append(body)
    out.append('<h2 id="data-quality">Data quality</h2>')
    counts = error_counts(content.errors)
    if counts.empty:
        out.append("<p>errors.csv lists no bad input.</p>")
    else:
        out.append(
            f"<p>{int(counts['inputs'].sum())} bad input(s) were skipped or read with a "
            "warning; counts by stage and reason (details in errors.csv):</p>"
        )
        out.append(html_table(counts, "table-errors"))
    out.append('<h2 id="run">Run metadata</h2>')
    out.append(_run_section(content.run))
    out.append("</body></html>")
    return "\n".join(out)
