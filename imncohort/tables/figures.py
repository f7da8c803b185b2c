"""Figures of the tables stage (matplotlib, Agg backend, PNG).

Figures are built with :class:`matplotlib.figure.Figure` and saved through
its Agg canvas: no pyplot, no global backend state, safe in worker threads.
A figure with nothing to plot (an empty audit) is not drawn: its file becomes a
small placeholder PNG written with Pillow (:func:`placeholder_figure`), and
matplotlib is not imported at all.

Conventions stated on every axis: offsets in millimetres from the ipsilateral
IMV centre on the node's reference axial slice; nodes of both sides are drawn
as a left-sided node on an axial CT in radiological view (patient left on the
viewer's right), so *medial* (towards the sternum) is on the viewer's left and
*ventral* is up. Right-sided nodes are mirrored.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from imncohort.outputs import atomic_path
from imncohort.tables.coverage import metastatic_nodes, smallest_margin

if TYPE_CHECKING:  # matplotlib is imported only to draw a figure that has data
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from PIL.ImageFont import FreeTypeFont, ImageFont

logger = logging.getLogger(__name__)

DPI = 110
_DIRECTION_LABELS = {"medial_lateral": "medial-lateral", "dorsal_ventral": "dorsal-ventral"}
_QUADRANT_COLOURS = {
    "medial_ventral": "#1f77b4",
    "medial_dorsal": "#2ca02c",
    "lateral_ventral": "#ff7f0e",
    "lateral_dorsal": "#d62728",
}


NO_NODE = "no measured metastatic node"
#: The placeholder's size in pixels (about a drawn figure's width at :data:`DPI`).
PLACEHOLDER_PX = (770, 320)


def _new_figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _font(size: int) -> FreeTypeFont | ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def placeholder_figure(title: str, reason: str, target: Path) -> Path:
    """Write the PNG of a figure with nothing to plot: its title and why (no matplotlib)."""
    from PIL import Image, ImageDraw

    width, height = PLACEHOLDER_PX
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline="#cccccc")
    lines = ((title, "#333333", 24, -20), (f"nothing to plot yet: {reason}", "#aa3333", 20, 20))
    for text, colour, size, offset in lines:
        font = _font(size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = (width - (right - left)) // 2 - left
        y = height // 2 + offset - (bottom - top) // 2 - top
        draw.text((x, y), text, fill=colour, font=font)
    with atomic_path(target) as tmp:
        image.save(tmp, format="PNG")
    return Path(target)


def _save(figure: Figure, target: Path) -> Path:
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return Path(target)


def _empty_note(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=11)


def coverage_curves_figure(
    coverage: pd.DataFrame,
    guideline_mm: float,
    targets_percent: list[float],
    target: Path,
) -> Path:
    """Plot node coverage (%) against margin (mm) with Wilson 95 % bands, both directions.

    The guideline margin is a vertical dashed line; for each target percentage
    a horizontal dotted line and a marker at the smallest margin reaching it.
    """
    if not len(coverage) or int(coverage["nodes_total"].max()) == 0:
        return placeholder_figure("Coverage by margin", NO_NODE, target)
    figure = _new_figure((11, 4.4))
    panels = figure.subplots(1, 2, sharey=True)
    for axes, direction, colour in zip(
        panels, ("medial_lateral", "dorsal_ventral"), ("#1f77b4", "#d62728"), strict=True
    ):
        rows = coverage[coverage["direction"] == direction].sort_values("margin_mm")
        label = _DIRECTION_LABELS[direction]
        total = int(rows["nodes_total"].max()) if len(rows) else 0
        axes.set_title(f"{label} (n = {total} metastatic nodes)")
        axes.set_xlabel(f"margin around the IMV centre, {label} (mm)")
        axes.set_ylim(0, 102)
        axes.grid(alpha=0.3)
        axes.axvline(
            guideline_mm, color="grey", linestyle="--", label=f"guideline {guideline_mm:g} mm"
        )
        x = rows["margin_mm"].to_numpy(dtype=float)
        if x.size:
            axes.set_xlim(min(x.min(), guideline_mm) - 0.3, max(x.max(), guideline_mm) + 0.3)
        if total == 0:
            _empty_note(axes, "no measured metastatic node")
            continue
        axes.fill_between(
            x, rows["ci_low"], rows["ci_high"], color=colour, alpha=0.2, label="Wilson 95% CI"
        )
        axes.plot(x, rows["percent"], marker="o", color=colour, label="nodes covered")
        reached = []
        for percent in targets_percent:
            margin = smallest_margin(coverage, direction, percent)
            axes.axhline(percent, color="black", linestyle=":", linewidth=0.8)
            if margin is None:
                reached.append(f"{percent:g}%: not reached up to {x.max():g} mm")
                continue
            axes.plot([margin], [percent], marker="v", color="black", markersize=9)
            reached.append(f"{percent:g}%: reached at {margin:g} mm")
        axes.text(
            0.03,
            0.97,
            "\n".join(reached),
            transform=axes.transAxes,
            va="top",
            fontsize=9,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#999"},
        )
        axes.legend(loc="lower right", fontsize=8)
    panels[0].set_ylabel("metastatic nodes covered (%)")
    return _save(figure, target)


def coverage_heatmap_figure(coverage_2d: pd.DataFrame, target: Path) -> Path:
    """Plot the percent of nodes covered in both directions as a heat map (ml x dv margins)."""
    if not len(coverage_2d) or int(coverage_2d["nodes_total"].max()) == 0:
        return placeholder_figure("Coverage in both directions", NO_NODE, target)
    figure = _new_figure((7.5, 6))
    axes = figure.subplots()
    ml = sorted(coverage_2d["ml_margin_mm"].unique())
    dv = sorted(coverage_2d["dv_margin_mm"].unique())
    total = int(coverage_2d["nodes_total"].max())
    axes.set_title(f"nodes covered in both directions (%), n = {total}")
    axes.set_xlabel("medial-lateral margin (mm)")
    axes.set_ylabel("dorsal-ventral margin (mm)")
    grid = (
        coverage_2d.pivot(index="dv_margin_mm", columns="ml_margin_mm", values="percent")
        .reindex(index=dv, columns=ml)
        .to_numpy(dtype=float)
    )
    image = axes.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=100, aspect="auto")
    axes.set_xticks(range(len(ml)), [f"{m:g}" for m in ml])
    axes.set_yticks(range(len(dv)), [f"{m:g}" for m in dv])
    for i in range(len(dv)):
        for j in range(len(ml)):
            value = grid[i, j]
            axes.text(
                j,
                i,
                f"{value:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 60 else "black",
            )
    figure.colorbar(image, ax=axes, label="% of nodes")
    return _save(figure, target)


def farthest_points(nodes: pd.DataFrame) -> pd.DataFrame:
    """Return each metastatic node's farthest extent in its growth quadrant.

    ``ml_mm`` is negative medial (towards the sternum) / positive lateral,
    ``dv_mm`` negative ventral / positive dorsal, both in mm from the IMV
    centre: the corner of the node's extents in its growth quadrant.
    """
    meta = metastatic_nodes(nodes)
    quadrant = meta["quadrant"].astype(str)
    medial = quadrant.str.startswith("medial")
    ventral = quadrant.str.endswith("ventral")
    ml = np.where(medial, -meta["extent_medial_mm"], meta["extent_lateral_mm"])
    dv = np.where(ventral, -meta["extent_ventral_mm"], meta["extent_dorsal_mm"])
    frame = pd.DataFrame({"quadrant": quadrant.to_numpy(), "ml_mm": ml, "dv_mm": dv})
    frame = frame[frame["quadrant"].isin(list(_QUADRANT_COLOURS))]
    return frame[np.isfinite(frame["ml_mm"]) & np.isfinite(frame["dv_mm"])]


def node_scatter_figure(nodes: pd.DataFrame, guideline_mm: float, target: Path) -> Path:
    """Scatter the farthest node points and node centres around the IMV centre.

    Drawn as a left-sided node on an axial CT in radiological view: medial
    (towards the sternum) on the viewer's left, ventral up; right-sided nodes
    are mirrored. The square is the guideline margin around the IMV.
    """
    meta = metastatic_nodes(nodes)
    if not len(meta):
        return placeholder_figure("Node points around the IMV", "no metastatic node", target)
    figure = _new_figure((7, 7))
    axes = figure.subplots()
    points = farthest_points(nodes)
    axes.set_title(f"farthest node points around the IMV (n = {len(points)})")
    axes.set_xlabel("← medial (towards sternum)      offset from IMV (mm)      lateral →")
    axes.set_ylabel("← dorsal      offset from IMV (mm)      ventral →")
    if len(meta):
        axes.scatter(
            meta["center_ml_mm"],
            -meta["center_dv_mm"],
            s=14,
            color="lightgrey",
            edgecolor="grey",
            label="node centre",
            zorder=2,
        )
    for quadrant, colour in _QUADRANT_COLOURS.items():
        chosen = points[points["quadrant"] == quadrant]
        if len(chosen):
            axes.scatter(
                chosen["ml_mm"],
                -chosen["dv_mm"],
                s=28,
                color=colour,
                label=f"farthest point, {quadrant.replace('_', '-')} ({len(chosen)})",
                zorder=3,
            )
    g = float(guideline_mm)
    axes.plot(
        [-g, g, g, -g, -g],
        [-g, -g, g, g, -g],
        color="grey",
        linestyle="--",
        linewidth=1,
        label=f"±{g:g} mm guideline margin",
    )
    axes.plot(
        [0], [0], marker="+", color="black", markersize=14, mew=2, label="IMV centre", zorder=4
    )
    axes.axhline(0, color="black", linewidth=0.5)
    axes.axvline(0, color="black", linewidth=0.5)
    limit = max(15.0, g + 5.0)
    if len(points):
        limit = max(limit, float(np.nanmax(np.abs(points[["ml_mm", "dv_mm"]].to_numpy()))) + 3)
    axes.set_xlim(-limit, limit)
    axes.set_ylim(-limit, limit)
    axes.set_aspect("equal")
    axes.text(
        0.02,
        0.5,
        "sternum side",
        transform=axes.transAxes,
        rotation=90,
        va="center",
        fontsize=9,
        color="dimgrey",
    )
    axes.text(
        0.5,
        0.02,
        "axial view, left node in radiological convention; right nodes mirrored",
        transform=axes.transAxes,
        ha="center",
        fontsize=8,
        color="dimgrey",
    )
    axes.legend(loc="upper right", fontsize=7)
    return _save(figure, target)


def intercostal_figure(intercostal: pd.DataFrame, target: Path) -> Path:
    """Bar chart of the percent of patients with a metastatic node per intercostal space."""
    spaces = intercostal[intercostal["row"].astype(str).str.isdigit()]
    denominator_rows = intercostal[intercostal["row"] == "total"]
    denominator = int(denominator_rows["patients"].iloc[0]) if len(denominator_rows) else 0
    if denominator == 0:
        reason = "no patient with intercostal spaces"
        return placeholder_figure("Intercostal spaces", reason, target)
    figure = _new_figure((7, 4.4))
    axes = figure.subplots()
    axes.set_title(f"patients per intercostal space (n = {denominator} with known spaces)")
    axes.set_xlabel("intercostal space (between rib k and k+1)")
    axes.set_ylabel("patients (%)")
    x = np.arange(len(spaces))
    percent = spaces["percent"].to_numpy(dtype=float)
    low = percent - spaces["ci_low"].to_numpy(dtype=float)
    high = spaces["ci_high"].to_numpy(dtype=float) - percent
    axes.bar(x, percent, color="#4c72b0", yerr=[low, high], capsize=4)
    labels = [
        f"{row}\n{int(n)} pts" for row, n in zip(spaces["row"], spaces["patients"], strict=True)
    ]
    axes.set_xticks(x, labels)
    axes.set_ylim(0, 110)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, target)
