"""Measure every node of one study: read its annotations, pool ROIs per series, measure.

The pooled context of a series (midline, IMV centres per side, rib levels per
side, CTVs) is built once from every annotation file that references the
series; each node ROI is split into 3-D components and measured by
:func:`measure_component`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from imncohort.annotations.models import ContourRoi, MaskRoi, Roi, RoiSet, SliceGrid
from imncohort.annotations.names import NameMatch, NameMatcher
from imncohort.annotations.nifti import read_nifti, read_sidecar
from imncohort.annotations.rtstruct import read_rtstruct
from imncohort.annotations.seg import read_seg
from imncohort.config import Config
from imncohort.errors import ImnCohortError, InputError
from imncohort.geometry.axes import long_short_axis
from imncohort.geometry.imv import imv_center_at
from imncohort.geometry.intercostal import intercostal_spaces, rib_level_z, split_cartilage_by_rib
from imncohort.geometry.offsets import node_offsets
from imncohort.geometry.overlap import ctv_coverage_sections
from imncohort.geometry.reference import reference_section, volume_ml, volume_ml_slabs, z_extent
from imncohort.geometry.sections import section_from_rings
from imncohort.geometry.side import side_from_x
from imncohort.layout import OutLayout
from imncohort.measure.columns import NODE_COLUMNS
from imncohort.measure.duplicates import select_structure_sets
from imncohort.measure.gaps import bridge_dropped_gaps, gap_splits
from imncohort.measure.plan import StudyJob
from imncohort.measure.quality import FRAGMENT_MARK, fragment_reason
from imncohort.measure.rois import (
    Component,
    inside_roi,
    mask_axis_floor_mm,
    roi_components,
    roi_points_lps,
    roi_slice_centres,
    section_thicknesses_mm,
)
from imncohort.measure.series import SeriesGeometry
from imncohort.measure.sternum import sternum_values
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.textfmt import number

log = logging.getLogger(__name__)

STAGE = "measure"
Side = Literal["left", "right"]
RIB_MEDIAL_WINDOW_MM = 10.0


@dataclass
class SeriesContext:
    """Everything pooled from the annotations of one series."""

    geometry: SeriesGeometry
    midline_x: float
    vessels: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    rib_levels: dict[str, dict[int, float]] = field(default_factory=dict)
    has_ribs: bool = False
    ctvs: list[tuple[str, Roi]] = field(default_factory=list)
    sternums: list[Roi] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class NodeResult:
    """One measured node: its nodes.csv row and what its QC picture needs."""

    row: dict[str, Any]
    component: Component
    reference_index: int
    imv_xy_lps: np.ndarray | None
    series: SeriesGeometry


@dataclass(frozen=True, eq=False)
class StudyResult:
    """A study's node rows (nodes.csv columns) and error records."""

    study_key: str
    manifest_hash: str
    rows: list[dict[str, Any]]
    errors: list[ErrorRecord]


def make_resolver(job: StudyJob) -> Any:
    """Resolver of (referenced series UIDs, frame of reference UID) -> (key, grid)."""

    def resolve(series_uids: list[str], for_uid: str) -> tuple[str, SliceGrid] | None:
        for uid in series_uids:
            keys = job.series_uid_keys.get(uid, [])
            for key in keys:
                if key in job.series:
                    return key, job.series[key].grid
            if keys:
                raise InputError(job.series_problems.get(keys[0], f"series {uid} is unusable"))
        if series_uids or not for_uid:
            return None
        same = [g for g in job.series.values() if g.frame_of_reference_uid == for_uid]
        if not same:
            return None
        best = max(same, key=lambda g: (g.modality == "CT", g.grid.n_slices, g.series_key))
        return best.series_key, best.grid

    return resolve


def read_annotations(
    job: StudyJob, export: Path, matcher: NameMatcher
) -> tuple[list[RoiSet], list[ErrorRecord]]:
    """Read every annotation file of a study; unusable files become error records."""
    resolve = make_resolver(job)
    sets: list[RoiSet] = []
    errors: list[ErrorRecord] = []
    for ann in job.annotations:
        path = export_file(export, ann.path)
        try:
            if ann.kind == "rtstruct":
                roi_set = read_rtstruct(path, ann.path, resolve, matcher)
            elif ann.kind == "seg":
                roi_set = read_seg(path, ann.path, resolve, matcher)
            else:
                sidecar = read_sidecar(export_file(export, ann.sidecar))
                roi_set = read_nifti(path, ann.path, sidecar, resolve, matcher)
        except ImnCohortError as exc:
            errors.append(ErrorRecord(ann.path, STAGE, f"{exc}; skipped"))
            continue
        except Exception as exc:  # one broken file never costs the others their nodes
            log.debug("study %s: an annotation file failed (%s)", job.study_key, type(exc).__name__)
            errors.append(
                ErrorRecord(ann.path, STAGE, f"{unreadable(ann.kind.upper(), exc)}; skipped")
            )
            continue
        errors.extend(roi_set.errors)
        sets.append(roi_set)
    return sets, errors


def why(exc: Exception) -> str:
    """``Type: first line of the message`` of an unexpected exception."""
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def unreadable(kind: str, exc: Exception) -> str:
    """A one-line reason for an annotation object that failed in an unexpected way."""
    return f"cannot read {kind} ({why(exc)})"


def _side_of(match: NameMatch, x: float, midline_x: float) -> Side:
    if match.side in ("left", "right"):
        return match.side
    return side_from_x(x, midline_x)


def series_midline(geometry: SeriesGeometry, rois: list[tuple[RoiSet, Roi, NameMatch]]) -> float:
    """Midline x (LPS mm): the sternum's mean x, else the centre of the CT field of view."""
    grid = geometry.grid
    sternum = [roi_points_lps(r, grid) for _, r, m in rois if m.roi_class == "sternum"]
    sternum_pts = np.concatenate(sternum) if sternum else np.zeros((0, 3))
    if len(sternum_pts):
        return float(np.mean(sternum_pts[:, 0]))
    centre = grid.pixel_to_xy_lps(
        0, np.array([(grid.columns - 1) / 2]), np.array([(grid.rows - 1) / 2])
    )
    return float(centre[0, 0])


def build_context(
    geometry: SeriesGeometry, rois: list[tuple[RoiSet, Roi, NameMatch]], midline: float
) -> SeriesContext:
    """IMV centres per side, rib levels per side and CTVs of some ROIs of one series."""
    grid = geometry.grid
    ctx = SeriesContext(geometry=geometry, midline_x=midline)
    vessel_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"left": [], "right": []}
    rib_points: dict[str, dict[int, list[np.ndarray]]] = {"left": {}, "right": {}}
    cartilages: list[MaskRoi] = []
    for _, roi, match in rois:
        if match.roi_class == "vessel":
            zs, xy = roi_slice_centres(roi, grid)
            if len(zs):
                side = _side_of(match, float(np.mean(xy[:, 0])), midline)
                vessel_parts[side].append((zs, xy))
        elif match.roi_class == "rib" and match.rib is not None and match.side:
            pts = roi_points_lps(roi, grid)
            if len(pts):
                rib_points[match.side].setdefault(match.rib, []).append(pts)
        elif match.roi_class == "cartilage" and isinstance(roi, MaskRoi):
            cartilages.append(roi)
        elif match.roi_class == "ctv":
            ctx.ctvs.append((match.side, roi))
        elif match.roi_class == "sternum":
            ctx.sternums.append(roi)
    for vessel_side, parts in vessel_parts.items():
        if parts:
            ctx.vessels[vessel_side] = (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
            )
    sides: tuple[Side, Side] = ("left", "right")
    for side in sides:
        ribs = {n: np.concatenate(parts) for n, parts in rib_points[side].items()}
        if not ribs:
            continue
        ctx.has_ribs = True
        for cart in cartilages:
            extra = split_cartilage_by_rib(
                cart.mask_kji,
                cart.grid.affine_ijk_to_lps(),
                ribs,
                side,
                midline_x=midline,
                medial_window_mm=RIB_MEDIAL_WINDOW_MM,
            )
            for n, pts in extra.items():
                ribs[n] = np.concatenate([ribs[n], pts])
        ctx.rib_levels[side] = {
            n: rib_level_z(pts, RIB_MEDIAL_WINDOW_MM, midline) for n, pts in sorted(ribs.items())
        }
    return ctx


def prefer_own(own: SeriesContext, others: list[SeriesContext]) -> SeriesContext:
    """The node file's own vessels, ribs and CTVs, else those of the other files.

    A study may hold the nodes in one file and, say, TotalSegmentator ribs in
    another; when the node's file has its own vessel or rib annotations they win.
    Other files are searched in path order.
    """
    vessels = dict(own.vessels)
    for other in others:
        for side, centres in other.vessels.items():
            vessels.setdefault(side, centres)
    ribs_from = next((c for c in [own, *others] if c.has_ribs), own)
    ctvs = own.ctvs or [c for other in others for c in other.ctvs]
    sternums = own.sternums or [r for other in others for r in other.sternums]
    return SeriesContext(
        geometry=own.geometry,
        midline_x=own.midline_x,
        vessels=vessels,
        rib_levels=ribs_from.rib_levels,
        has_ribs=ribs_from.has_ribs,
        ctvs=ctvs,
        sternums=sternums,
    )


def measure_component(
    comp: Component,
    side: Side,
    ctx: SeriesContext,
    config: Config,
    volume_spacing_mm: float | np.ndarray,
) -> tuple[dict[str, Any], int, np.ndarray | None]:
    """Measure one node component.

    ``volume_spacing_mm`` is one slice spacing for all sections, or one slab thickness
    per section (:func:`~imncohort.measure.rois.section_thicknesses_mm`; NaN = unknown,
    then ``volume_ml`` is NaN). Mask axes are never below what the voxels allow
    (:func:`~imncohort.measure.rois.mask_axis_floor_mm`).

    Returns
    -------
    values, reference_index, imv_xy_lps
        The measurement columns of nodes.csv (no keys, names or qc path), the
        index of the reference section in ``comp.sections`` and the IMV centre
        (None when the patient has no ipsilateral vessel annotation).
    """
    sections = comp.sections
    ref = reference_section(sections)
    ref_index = next(n for n, s in enumerate(sections) if s is ref)
    # The node centre is the centroid of the reference cross-section (CONTRACT section 4).
    centroid_xy = ref.centroid_xy_lps
    centroid_z = float(ref.z_mm)
    long_mm, short_mm = long_short_axis(ref.boundary_xy_lps)
    long_floor, short_floor = mask_axis_floor_mm(comp, ref)
    short_mm = max(short_mm, short_floor)
    long_mm = max(long_mm, long_floor, short_mm)
    if np.ndim(volume_spacing_mm) == 0:
        volume = float(volume_ml(sections, float(volume_spacing_mm)))
    else:
        volume = volume_ml_slabs(sections, volume_spacing_mm)
    values: dict[str, Any] = {
        "side": side,
        "centroid_x": float(centroid_xy[0]),
        "centroid_y": float(centroid_xy[1]),
        "centroid_z": centroid_z,
        "reference_z": float(ref.z_mm),
        "imv_x": math.nan,
        "imv_y": math.nan,
        "imv_extrapolated": False,
        "center_ml_mm": math.nan,
        "center_dv_mm": math.nan,
        "extent_medial_mm": math.nan,
        "extent_lateral_mm": math.nan,
        "extent_ventral_mm": math.nan,
        "extent_dorsal_mm": math.nan,
        "quadrant": "",
        "towards_sternum": None,
        "long_axis_mm": float(long_mm),
        "short_axis_mm": float(short_mm),
        "volume_ml": volume,
        "metastatic": bool(short_mm >= config.nodes.min_short_axis_mm),
        "intercostal_spaces": "",
        "ctv_coverage": math.nan,
    }
    imv_xy: np.ndarray | None = None
    vessel = ctx.vessels.get(side)
    if vessel is not None:
        imv_xy, extrapolated = imv_center_at(
            ref.z_mm, vessel[0], vessel[1], config.nodes.imv_extrapolation_limit_mm
        )
        offsets = node_offsets(ref, imv_xy, side)
        values.update(
            imv_x=float(imv_xy[0]),
            imv_y=float(imv_xy[1]),
            imv_extrapolated=bool(extrapolated),
            center_ml_mm=offsets.center_ml_mm,
            center_dv_mm=offsets.center_dv_mm,
            extent_medial_mm=offsets.extent_medial_mm,
            extent_lateral_mm=offsets.extent_lateral_mm,
            extent_ventral_mm=offsets.extent_ventral_mm,
            extent_dorsal_mm=offsets.extent_dorsal_mm,
            quadrant=offsets.quadrant,
            towards_sternum=bool(offsets.towards_sternum),
        )
    levels = ctx.rib_levels.get(side)
    if levels:
        z_lo, z_hi = z_extent(sections)
        values["intercostal_spaces"] = ";".join(
            str(k) for k in intercostal_spaces(z_lo, z_hi, levels)
        )
    ctvs = [roi for ctv_side, roi in ctx.ctvs if ctv_side in ("", side)]
    grid = ctx.geometry.grid
    if len(ctvs) == 1 and comp.mask_kji is None and isinstance(ctvs[0], ContourRoi):
        ctv = ctvs[0]
        ctv_sections = [
            section_from_rings(float(grid.z_mm[k]), rings)
            for k, rings in ctv.rings_by_slice.items()
        ]
        values["ctv_coverage"] = ctv_coverage_sections(
            sections, ctv_sections, step_mm=0.1, z_tolerance_mm=0.25 * grid.slice_spacing_mm
        )
    elif ctvs:
        pts = comp.sample_points_lps(ctx.geometry.grid)
        if len(pts):
            inside = np.zeros(len(pts), dtype=bool)
            for roi in ctvs:
                inside |= inside_roi(pts, roi, ctx.geometry.grid)
            values["ctv_coverage"] = float(inside.mean())
    values.update(
        sternum_values(comp, ref, side, ctx.sternums, grid, config.nodes.sternal_invasion_min_share)
    )
    return values, ref_index, imv_xy


def measure_rois(
    job: StudyJob, roi_sets: list[RoiSet], config: Config, matcher: NameMatcher
) -> tuple[list[NodeResult], list[ErrorRecord]]:
    """Measure every node of the study's ROI sets (pooled per referenced series)."""
    errors: list[ErrorRecord] = []
    results: list[NodeResult] = []
    by_series: dict[str, list[tuple[RoiSet, Roi, NameMatch]]] = {}
    for roi_set in roi_sets:
        for roi in roi_set.rois:
            by_series.setdefault(roi_set.series_key, []).append(
                (roi_set, roi, matcher.match(roi.name))
            )
    for series_key in sorted(by_series):
        geometry = job.series[series_key]
        rois = by_series[series_key]
        midline = series_midline(geometry, rois)
        paths = sorted({r[0].path for r in rois})
        own: dict[str, SeriesContext] = {}
        for path in list(paths):
            try:
                own[path] = build_context(geometry, [r for r in rois if r[0].path == path], midline)
            except Exception as exc:  # blamed on its own file; the other files go on
                log.debug("study %s: a context failed (%s)", job.study_key, type(exc).__name__)
                reason = f"its vessel, rib or CTV ROIs cannot be used ({why(exc)}); skipped"
                errors.append(ErrorRecord(path, STAGE, reason))
                paths.remove(path)
        rois = [r for r in rois if r[0].path in own]
        contexts: dict[str, SeriesContext] = {}
        missing_imv: set[tuple[str, str]] = set()
        for roi_set, roi, match in rois:
            if match.roi_class != "node":
                continue
            if roi_set.path not in contexts:
                others = [own[p] for p in paths if p != roi_set.path]
                contexts[roi_set.path] = prefer_own(own[roi_set.path], others)
            ctx = contexts[roi_set.path]
            factor = config.nodes.max_slice_gap_factor
            try:
                comps = roi_components(roi, geometry.grid, factor)
            except ImnCohortError as exc:
                errors.append(ErrorRecord(roi_set.path, STAGE, f"ROI '{roi.name}': {exc}"))
                continue
            except Exception as exc:
                log.debug("study %s: a ROI failed (%s)", job.study_key, type(exc).__name__)
                errors.append(
                    ErrorRecord(roi_set.path, STAGE, f"ROI '{roi.name}': {unreadable('ROI', exc)}")
                )
                continue
            if geometry.dropped_gaps_mm and isinstance(roi, ContourRoi):
                comps, bridged = bridge_dropped_gaps(
                    comps, geometry.dropped_gaps_mm, geometry.grid.slice_spacing_mm
                )
                for lo, hi in bridged:
                    errors.append(
                        ErrorRecord(
                            roi_set.path,
                            STAGE,
                            f"ROI '{roi.name}': joined across CT slices missing between "
                            f"z={lo:.1f} and z={hi:.1f} mm of series {series_key} (dropped for "
                            "bad headers, listed in errors.csv); its volume lacks them",
                        )
                    )
            if isinstance(roi, ContourRoi):
                for a, b, lo, hi in gap_splits(
                    comps, geometry.grid.z_mm, geometry.grid.slice_spacing_mm
                ):
                    errors.append(
                        ErrorRecord(
                            roi_set.path,
                            STAGE,
                            f"ROI '{roi.name}': nodes {a} and {b} overlap across a gap between "
                            f"z={lo:.1f} and z={hi:.1f} mm of series {series_key} (slices "
                            "missing?); they are counted as two nodes",
                        )
                    )
            slab_grid = roi.grid if isinstance(roi, MaskRoi) else geometry.grid
            if comps and slab_grid.stated_spacing_mm is None:
                errors.append(
                    ErrorRecord(
                        roi_set.path,
                        STAGE,
                        f"ROI '{roi.name}': series {series_key} has a single slice and states "
                        "no SliceThickness (nor the annotation a SpacingBetweenSlices); "
                        "volume_ml left empty",
                    )
                )
            nodes_only: list[tuple[Component, np.ndarray]] = []
            for comp in comps:
                slabs = section_thicknesses_mm(comp.sections, slab_grid, factor)
                volume = volume_ml_slabs(comp.sections, slabs)
                fragment = fragment_reason(comp, volume, geometry.grid, config)
                if fragment:
                    ref_z = reference_section(comp.sections).z_mm
                    errors.append(
                        ErrorRecord(
                            roi_set.path,
                            STAGE,
                            f"ROI '{roi.name}': component at z {number(ref_z, 6)} mm on series "
                            f"{series_key} is below the node minimum ({fragment}); {FRAGMENT_MARK}",
                        )
                    )
                    continue
                nodes_only.append((comp, slabs))
            for node_number, (comp, spacing) in enumerate(nodes_only, start=1):
                x = float(np.mean([s.centroid_xy_lps[0] for s in comp.sections]))
                side = _side_of(match, x, ctx.midline_x)
                try:
                    values, ref_index, imv_xy = measure_component(comp, side, ctx, config, spacing)
                except ImnCohortError as exc:
                    errors.append(
                        ErrorRecord(
                            roi_set.path, STAGE, f"ROI '{roi.name}' node {node_number}: {exc}"
                        )
                    )
                    continue
                except Exception as exc:
                    log.debug("study %s: a node failed (%s)", job.study_key, type(exc).__name__)
                    errors.append(
                        ErrorRecord(
                            roi_set.path,
                            STAGE,
                            f"ROI '{roi.name}' node {node_number}: {unreadable('ROI', exc)}",
                        )
                    )
                    continue
                if imv_xy is None and (roi_set.path, side) not in missing_imv:
                    missing_imv.add((roi_set.path, side))
                    errors.append(
                        ErrorRecord(
                            roi_set.path,
                            STAGE,
                            f"no {side} internal mammary vessel annotated on series {series_key}; "
                            "offsets of its nodes are left empty",
                        )
                    )
                row = {
                    "patient_key": job.patient_key,
                    "study_key": job.study_key,
                    "series_key": series_key,
                    "roi_name": roi.name,
                    "annotation": roi_set.annotation,
                    "component": node_number,
                    **values,
                    "qc_png": "",
                }
                results.append(NodeResult(row, comp, ref_index, imv_xy, geometry))
    return results, errors


def measure_study(
    job: StudyJob,
    export: Path,
    out: Path | None,
    config: Config,
    qc: bool = True,
) -> StudyResult:
    """Measure one study and (optionally) draw its QC pictures under ``OUT/qc``.

    Parameters
    ----------
    job
        The study's plan (see :func:`imncohort.measure.plan.plan_jobs`).
    export
        The export root (read only).
    out
        The output root; QC pictures go to ``out/qc`` (None: no pictures).
    config
        The run configuration.
    qc
        Draw the QC pictures.
    """
    matcher = NameMatcher(config.names)
    roi_sets, errors = read_annotations(job, export, matcher)
    roi_sets, chosen = select_structure_sets(roi_sets, matcher)
    errors.extend(chosen)
    results, more = measure_rois(job, roi_sets, config, matcher)
    errors.extend(more)
    rows: list[dict[str, Any]] = []
    for n, result in enumerate(results, start=1):
        row = dict(result.row)
        if qc and out is not None:
            from imncohort.measure.qc import draw_node_qc

            name = f"{job.patient_key}_{job.study_key}_{n}.png"
            try:
                draw_node_qc(result, Path(export), OutLayout(out).qc_dir / name, config)
                row["qc_png"] = f"qc/{name}"
            except Exception as exc:  # a picture never costs the node its row
                reason = str(exc) if isinstance(exc, ImnCohortError | OSError) else why(exc)
                errors.append(
                    ErrorRecord(result.series.paths[0], STAGE, f"QC picture not drawn: {reason}")
                )
        rows.append({c: row.get(c) for c in NODE_COLUMNS})
    return StudyResult(job.study_key, job.manifest_hash, rows, errors)
