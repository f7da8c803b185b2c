"""``OUT/restricted/review/index.html``: the review items with their QC pictures (restricted).

One page per run for a reader working in a browser: each item shows the sentence (term in
bold, assertion trigger highlighted), the study, the attributes, the decisions so far (on
decided items and items waiting for a consensus only, as in the workbook) and the QC
pictures of the patient's annotated nodes. Pictures are linked relative to the page
(``../../qc/...``), so the page works where OUT is; no script, no external resource.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from imncohort.outputs import atomic_path
from imncohort.review.items import sentence_segments

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:1.5em auto;
max-width:1100px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.5em;border-bottom:2px solid #446}
.item{border:1px solid #bbc;border-radius:4px;padding:.6em .9em;margin:1em 0}
.item.new{border-left:6px solid #f0b400}.item.decided{background:#f6f8f6}
.sentence{font-size:1.1em;margin:.4em 0}mark{background:#ffd5d5;font-weight:600}
.meta{color:#555;font-size:.9em}
.qc{display:flex;flex-wrap:wrap;gap:.6em}.qc figure{margin:0;font-size:.8em;color:#444}
.qc img{width:220px;border:1px solid #ccc;display:block}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccd;padding:2px 6px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _sentence_html(sentence: str, term: str, trigger: str) -> str:
    parts = []
    for text, kind in sentence_segments(sentence, term, trigger):
        if kind == "term":
            parts.append(f"<b>{_e(text)}</b>")
        elif kind == "trigger":
            parts.append(f"<mark>{_e(text)}</mark>")
        else:
            parts.append(_e(text))
    return "".join(parts)


def render_page(
    rows: Sequence[Mapping[str, str]],
    pictures: Mapping[str, Sequence[Mapping[str, str]]],
    generated: str,
) -> str:
    """Return the HTML of the review page.

    Parameters
    ----------
    rows
        One mapping per item: the item columns, its status columns and ``shown`` decisions
        (the workbook row values), in page order.
    pictures
        Patient key -> QC pictures: ``src`` (relative to the page), ``caption``.
    generated
        When the page was written (shown at the top).
    """
    counts = pd.Series([r["status"] for r in rows], dtype=object).value_counts()
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>IMN review items (restricted)</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>IMN review items</h1>",
        f"<p>Restricted: holds patient identifiers and report sentences. Written "
        f"{_e(generated)}. {len(rows)} items: "
        + ", ".join(f"{_e(k)} {int(v)}" for k, v in sorted(counts.items()))
        + ". Enter decisions in worklist.xlsx and put the completed file in the returned "
        "folder.</p>",
    ]
    for r in rows:
        status = r["status"]
        out.append(f'<div class="item {_e(status)}" id="item-{_e(r["item_id"])}">')
        out.append(
            f'<div class="meta"><b>{_e(r["item_id"])}</b> · {_e(status)}'
            + (f" · needs {_e(r['needs'])}" if r.get("needs") else "")
            + f" · outcome {_e(r['outcome'])} · first seen {_e(r['first_seen'])}</div>"
        )
        out.append(
            f'<div class="meta">{_e(r["PatientID"])} · accession {_e(r["AccessionNumber"])} · '
            f"{_e(r['date'])} · {_e(r['modality'])} · {_e(r['assertion'])} · side "
            f"{_e(r['side'] or '–')} · intercostal space {_e(r['intercostal_space'] or '–')} · "
            f"size {_e(r['size'] or '–')}</div>"
        )
        out.append(
            f'<p class="sentence">{_sentence_html(r["raw_sentence"], r["term"], r["trigger"])}</p>'
        )
        shown = [
            (slot, r[f"{slot}_decision"], r.get(f"{slot}_initials", ""), r[f"{slot}_comment"])
            for slot in ("reader_1", "reader_2", "consensus")
            if r[f"{slot}_decision"]
        ]
        if shown:
            out.append(
                "<table><tr><th>who</th><th>decision</th><th>initials</th><th>comment</th></tr>"
            )
            for slot, decision, initials, comment in shown:
                out.append(
                    f"<tr><td>{_e(slot)}</td><td>{_e(decision)}</td><td>{_e(initials)}</td>"
                    f"<td>{_e(comment)}</td></tr>"
                )
            out.append("</table>")
        found = pictures.get(r["patient_key"], [])
        if found:
            out.append('<div class="qc">')
            for picture in found:
                out.append(
                    f'<figure><img src="{_e(picture["src"])}" alt="{_e(picture["caption"])}">'
                    f"<figcaption>{_e(picture['caption'])}</figcaption></figure>"
                )
            out.append("</div>")
        else:
            out.append('<p class="meta">No annotated node for this patient yet.</p>')
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_page(text: str, target: Path) -> Path:
    """Write the page atomically."""
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(target)
