"""The QC gallery of ``report.html``: every node's QC picture, grouped by patient key.

Each picture is embedded as a small JPEG thumbnail (``data:`` URI, so the report stays
one file) and links to the full picture ``qc/<...>.png`` next to the report. Captions hold
the pseudonymous keys, ROI name, side and sizes only.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import pandas as pd

THUMBNAIL_PX = 200


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def thumbnail_data_uri(path: Path, width: int = THUMBNAIL_PX) -> str:
    """Return a JPEG thumbnail of the PNG at ``path`` (``width`` pixels wide) as a data URI."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        height = max(1, round(rgb.height * width / rgb.width))
        small = rgb.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mm(value: object) -> str:
    try:
        number = float(str(value))
    except ValueError:
        return "n/a"
    return "n/a" if math.isnan(number) else f"{number:.1f} mm"


def gallery_html(nodes: pd.DataFrame, out: Path) -> str:
    """Return the gallery section body for the nodes of ``nodes.csv`` (``qc_png`` column)."""
    if nodes.empty or "qc_png" not in nodes.columns:
        return '<p class="empty">No measured node: no QC picture.</p>'
    parts = [
        "<p>Every measured node's QC picture (reference slice, outline, IMV and margins), "
        "by patient key; click a picture for the full size.</p>",
        '<div id="qc-gallery">',
    ]
    missing = 0
    frame = nodes.assign(_key=nodes["patient_key"].astype(str))
    for key, group in frame.groupby("_key", sort=True):
        parts.append(f'<h3 id="qc-{_e(key)}">Patient {_e(key)} ({len(group)} nodes)</h3>')
        parts.append('<div class="qc-row" style="display:flex;flex-wrap:wrap;gap:8px">')
        for r in group.to_dict("records"):
            qc = str(r.get("qc_png", "") or "")
            caption = (
                f"{r.get('roi_name', '')} #{r.get('component', '')} ({r.get('side', '')}), "
                f"study {r.get('study_key', '')}, short axis {_mm(r.get('short_axis_mm'))}"
            )
            path = Path(out) / qc
            if not qc or not path.is_file():
                missing += 1
                parts.append(f'<p class="empty">{_e(caption)}: no QC picture.</p>')
                continue
            parts.append(
                f'<figure style="margin:0;width:{THUMBNAIL_PX}px"><a href="{_e(qc)}">'
                f'<img class="qc-thumb" alt="{_e(caption)}" src="{thumbnail_data_uri(path)}">'
                f"</a><figcaption>{_e(caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</div>")
    if missing:
        parts.insert(1, f'<p class="note">{missing} node(s) have no QC picture.</p>')
    return "\n".join(parts)
