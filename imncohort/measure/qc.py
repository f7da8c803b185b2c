"""QC picture of one node: its reference CT slice around it, outline, IMV and margins.

Only the pixels of that one DICOM file are read. The picture holds no patient
identifier: the caption shows the ROI name, side and the measured values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom

from imncohort.config import Config
from imncohort.errors import ImnCohortError, InputError
from imncohort.layout import OutLayout
from imncohort.measure.node import NodeResult
from imncohort.measure.plan import StudyJob
from imncohort.measure.reasons import why
from imncohort.outputs import ErrorRecord, atomic_path
from imncohort.paths import export_file
from imncohort.privacy import scrubber_for

STAGE = "measure"
CAPTION_FONT_PX = 12
CAPTION_LINE_PX = 16


def read_slice_hu(path: Path) -> np.ndarray:
    """Pixels of one CT slice in HU (RescaleSlope/Intercept applied), shape (rows, columns)."""
    try:
        ds = pydicom.dcmread(path, force=True)
        pixels = ds.pixel_array.astype(np.float32)
    except Exception as exc:
        raise InputError(f"cannot read the pixels of '{path.name}': {exc}") from None
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return pixels * slope + intercept


def _fmt(value: object, unit: str = "", digits: int = 1) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}{unit}"
    return str(value)


def draw_node_qc(result: NodeResult, export: Path, target: Path, config: Config) -> Path:
    """Draw the QC picture of one node to ``target`` (PNG, written atomically).

    Parameters
    ----------
    result
        The measured node (row, component, reference section index, IMV centre).
    export
        The export root (the reference slice is read from it).
    target
        The PNG to write.
    config
        ``config.qc`` gives the window, crop size and margins (mm).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image, ImageDraw, ImageFont

    row = result.row
    grid = result.series.grid
    section = result.component.sections[result.reference_index]
    k = int(np.argmin(np.abs(grid.z_mm - section.z_mm)))
    hu = read_slice_hu(export_file(export, result.series.paths[k]))
    if hu.shape != (grid.rows, grid.columns):
        raise InputError(f"slice has shape {hu.shape}, index says {(grid.rows, grid.columns)}")
    half = config.qc.crop_mm / 2.0
    cx, cy = (float(v) for v in section.centroid_xy_lps)
    box = np.array(
        [
            [cx - half, cy - half],
            [cx + half, cy + half],
            [cx - half, cy + half],
            [cx + half, cy - half],
        ]
    )
    ij = grid.xy_lps_to_pixel(k, box)
    i0 = max(0, int(np.floor(ij[:, 0].min())))
    i1 = min(grid.columns - 1, int(np.ceil(ij[:, 0].max())))
    j0 = max(0, int(np.floor(ij[:, 1].min())))
    j1 = min(grid.rows - 1, int(np.ceil(ij[:, 1].max())))
    if i1 < i0 or j1 < j0:
        raise InputError("the node lies outside the slice")
    crop = hu[j0 : j1 + 1, i0 : i1 + 1]
    corner = grid.pixel_to_xy_lps(k, np.array([i0 - 0.5, i1 + 0.5]), np.array([j0 - 0.5, j1 + 0.5]))
    # Image extent in LPS: columns along the row direction, rows along the column direction.
    extent = (corner[0, 0], corner[1, 0], corner[1, 1], corner[0, 1])
    lo = config.qc.window_center_hu - config.qc.window_width_hu / 2
    hi = config.qc.window_center_hu + config.qc.window_width_hu / 2
    fig = Figure(figsize=(4.0, 4.0), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.imshow(
        crop, cmap="gray", vmin=lo, vmax=hi, extent=extent, origin="upper", interpolation="nearest"
    )
    if section.rings_xy_lps:
        for ring in section.rings_xy_lps:
            closed = np.vstack([ring, ring[:1]])
            ax.plot(closed[:, 0], closed[:, 1], color="yellow", lw=1.2)
    else:
        ax.plot(
            section.boundary_xy_lps[:, 0],
            section.boundary_xy_lps[:, 1],
            ".",
            color="yellow",
            ms=1.5,
        )
    ax.plot([cx], [cy], "x", color="yellow", ms=7)
    if result.imv_xy_lps is not None:
        vx, vy = (float(v) for v in result.imv_xy_lps)
        ax.plot([vx], [vy], "+", color="red", ms=12, mew=2)
        colours = ["#00e5ff", "#7cff4f", "#ff5fd2", "#ffa500"]
        t = np.linspace(0, 2 * np.pi, 73)
        for n, margin in enumerate(config.qc.margins_mm):
            colour = colours[n % len(colours)]
            sx = vx + margin * np.array([-1, 1, 1, -1, -1])
            sy = vy + margin * np.array([-1, -1, 1, 1, -1])
            ax.plot(sx, sy, color=colour, lw=1.0)
            ax.plot(vx + margin * np.cos(t), vy + margin * np.sin(t), color=colour, lw=0.8, ls="--")
    border = row.get("sternum_border_x")
    if isinstance(border, float) and math.isfinite(border):
        # The sternum's lateral border on the node's side at this slice (orange dash-dot).
        ax.axvline(border, color="#ff9800", lw=1.4, ls="-.")
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy + half, cy - half)  # posterior (+y) down, patient left (+x) on the right
    ax.set_axis_off()
    margins = "/".join(f"{m:g}" for m in config.qc.margins_mm)
    caption = (
        f"{scrubber_for(target.parent.parent)(str(row['roi_name']))} "
        f"#{row['component']} ({row['side']}), "
        f"z = {_fmt(row['reference_z'], ' mm')}\n"
        f"ML {_fmt(row['center_ml_mm'], ' mm')}  DV {_fmt(row['center_dv_mm'], ' mm')}  "
        f"quadrant {row['quadrant'] or 'n/a'}\n"
        f"long {_fmt(row['long_axis_mm'], ' mm')}  short {_fmt(row['short_axis_mm'], ' mm')}  "
        f"volume {_fmt(row['volume_ml'], ' ml', 2)}\n"
        f"ICS {row['intercostal_spaces'] or 'n/a'}  IMV (red +), margins {margins} mm"
    )
    if row.get("over_sternum") is not None:
        caption += (
            f"\nsternal border (orange): over {'yes' if row['over_sternum'] else 'no'}, "
            f"invasion {'yes' if row['sternal_invasion'] else 'no'} "
            f"({_fmt(100.0 * float(row['sternum_overlap']), ' %')} inside)"
        )
    # The plot is drawn by matplotlib (Agg); the caption is set below it with PIL,
    # which is several times faster than matplotlib's text layout.
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    plot = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    lines = caption.split("\n")
    font = ImageFont.load_default(size=CAPTION_FONT_PX)
    band = CAPTION_LINE_PX * len(lines) + 10
    picture = Image.new("RGB", (plot.width, plot.height + band), "white")
    picture.paste(plot, (0, 0))
    draw = ImageDraw.Draw(picture)
    for n, line in enumerate(lines):
        draw.text((8, plot.height + 5 + n * CAPTION_LINE_PX), line, fill="black", font=font)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        picture.save(tmp, format="PNG", compress_level=1)
    return target


def draw_study_qc(
    job: StudyJob, results: list[NodeResult], export: Path, out: Path, config: Config
) -> tuple[list[str], list[ErrorRecord]]:
    """Draw the QC picture of every measured node of one study under ``OUT/qc``.

    Returns
    -------
    qc_pngs, errors
        Each node's ``qc_png`` value (``qc/<patient>_<study>_<n>.png``, "" when its
        picture could not be drawn) and one error record per picture not drawn; a
        picture never costs the node its row.
    """
    qc_pngs: list[str] = []
    errors: list[ErrorRecord] = []
    for n, result in enumerate(results, start=1):
        name = f"{job.patient_key}_{job.study_key}_{n}.png"
        try:
            draw_node_qc(result, Path(export), OutLayout(out).qc_dir / name, config)
            qc_pngs.append(f"qc/{name}")
        except Exception as exc:  # a picture never costs the node its row
            reason = str(exc) if isinstance(exc, ImnCohortError | OSError) else why(exc)
            errors.append(
                ErrorRecord(result.series.paths[0], STAGE, f"QC picture not drawn: {reason}")
            )
            qc_pngs.append("")
    return qc_pngs, errors
