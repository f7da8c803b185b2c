"""Measure every node of one study: read its annotations, pool ROIs per series, measure.

Orchestration of one study: the annotation files are read (:func:`read_annotations`),
the series landmarks are pooled (:mod:`imncohort.measure.landmarks`), each node ROI is
split into 3-D components and each component measured
(:func:`imncohort.measure.node.measure_component`); :func:`measure_study` then has the
QC pictures drawn (:mod:`imncohort.measure.qc`) and returns the ``nodes.csv`` rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from imncohort.annotations.models import ContourRoi, MaskRoi, Roi, RoiSet, SliceGrid
from imncohort.annotations.names import NameMatch, NameMatcher
from imncohort.annotations.nifti import read_nifti
from imncohort.annotations.rtstruct import read_rtstruct
from imncohort.annotations.seg import read_seg
from imncohort.annotations.sidecar import read_sidecar
from imncohort.config import Config, Nodes
from imncohort.errors import ImnCohortError, InputError
from imncohort.geometry.reference import reference_section, volume_ml_slabs
from imncohort.measure.columns import NODE_COLUMNS
from imncohort.measure.duplicates import select_structure_sets
from imncohort.measure.gaps import bridge_dropped_gaps, gap_splits
from imncohort.measure.landmarks import (
    SeriesContext,
    build_context,
    prefer_own,
    series_midline,
    side_of,
)
from imncohort.measure.node import NodeResult, measure_component
from imncohort.measure.plan import StudyJob, StudyResult
from imncohort.measure.quality import FRAGMENT_MARK, fragment_reason
from imncohort.measure.reasons import unreadable, why
from imncohort.measure.rois import Component, roi_components, section_thicknesses_mm
from imncohort.measure.series import SeriesGeometry
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file
from imncohort.textfmt import number

logger = logging.getLogger(__name__)

STAGE = "measure"
Resolver = Callable[[list[str], str], tuple[str, SliceGrid] | None]
SeriesRois = list[tuple[RoiSet, Roi, NameMatch]]


def make_resolver(job: StudyJob) -> Resolver:
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
            logger.debug(
                "study %s: an annotation file failed (%s)", job.study_key, type(exc).__name__
            )
            errors.append(
                ErrorRecord(ann.path, STAGE, f"{unreadable(ann.kind.upper(), exc)}; skipped")
            )
            continue
        errors.extend(roi_set.errors)
        sets.append(roi_set)
    return sets, errors


def _series_rois(roi_sets: list[RoiSet], matcher: NameMatcher) -> dict[str, SeriesRois]:
    """The study's ROIs with their name matches, by referenced series."""
    by_series: dict[str, SeriesRois] = {}
    for roi_set in roi_sets:
        for roi in roi_set.rois:
            by_series.setdefault(roi_set.series_key, []).append(
                (roi_set, roi, matcher.match(roi.name))
            )
    return by_series


def _own_contexts(
    job: StudyJob,
    geometry: SeriesGeometry,
    rois: SeriesRois,
    midline: float,
    nodes: Nodes,
    errors: list[ErrorRecord],
) -> dict[str, SeriesContext]:
    """Each annotation file's own landmarks on one series; a file that fails is skipped."""
    own: dict[str, SeriesContext] = {}
    for path in sorted({r[0].path for r in rois}):
        try:
            own[path] = build_context(
                geometry, [r for r in rois if r[0].path == path], midline, nodes
            )
        except Exception as exc:  # blamed on its own file; the other files go on
            logger.debug("study %s: a context failed (%s)", job.study_key, type(exc).__name__)
            reason = f"its vessel, rib or CTV ROIs cannot be used ({why(exc)}); skipped"
            errors.append(ErrorRecord(path, STAGE, reason))
    return own


def _components(
    job: StudyJob,
    roi_set: RoiSet,
    roi: Roi,
    series_key: str,
    config: Config,
    errors: list[ErrorRecord],
) -> list[tuple[Component, np.ndarray]] | None:
    """The node components of one ROI with their slab thicknesses (None: ROI unusable).

    Components joined across dropped slices, split across gaps, without a slice
    spacing or below the node minimum are recorded in ``errors``.
    """
    geometry = job.series[series_key]
    factor = config.nodes.max_slice_gap_factor
    try:
        comps = roi_components(roi, geometry.grid, factor)
    except ImnCohortError as exc:
        errors.append(ErrorRecord(roi_set.path, STAGE, f"ROI '{roi.name}': {exc}"))
        return None
    except Exception as exc:
        logger.debug("study %s: a ROI failed (%s)", job.study_key, type(exc).__name__)
        errors.append(
            ErrorRecord(roi_set.path, STAGE, f"ROI '{roi.name}': {unreadable('ROI', exc)}")
        )
        return None
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
        for a, b, lo, hi in gap_splits(comps, geometry.grid.z_mm, geometry.grid.slice_spacing_mm):
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
    return nodes_only


def _measure_roi_nodes(
    job: StudyJob,
    series_key: str,
    item: tuple[RoiSet, Roi, NameMatch],
    ctx: SeriesContext,
    config: Config,
    missing_imv: set[tuple[str, str]],
    errors: list[ErrorRecord],
) -> list[NodeResult]:
    """Measure every node component of one node ROI; failures become error records."""
    roi_set, roi, match = item
    geometry = job.series[series_key]
    results: list[NodeResult] = []
    nodes_only = _components(job, roi_set, roi, series_key, config, errors)
    for node_number, (comp, spacing) in enumerate(nodes_only or [], start=1):
        x = float(np.mean([s.centroid_xy_lps[0] for s in comp.sections]))
        side = side_of(match, x, ctx.midline_x)
        try:
            values, ref_index, imv_xy = measure_component(comp, side, ctx, config, spacing)
        except ImnCohortError as exc:
            errors.append(
                ErrorRecord(roi_set.path, STAGE, f"ROI '{roi.name}' node {node_number}: {exc}")
            )
            continue
        except Exception as exc:
            logger.debug("study %s: a node failed (%s)", job.study_key, type(exc).__name__)
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
        results.append(
            NodeResult(
                patient_key=job.patient_key,
                study_key=job.study_key,
                series_key=series_key,
                roi_name=roi.name,
                annotation=roi_set.annotation,
                node_number=node_number,
                measurement=values,
                component=comp,
                reference_index=ref_index,
                imv_xy_lps=imv_xy,
                series=geometry,
            )
        )
    return results


def measure_rois(
    job: StudyJob, roi_sets: list[RoiSet], config: Config, matcher: NameMatcher
) -> tuple[list[NodeResult], list[ErrorRecord]]:
    """Measure every node of the study's ROI sets (pooled per referenced series)."""
    errors: list[ErrorRecord] = []
    results: list[NodeResult] = []
    by_series = _series_rois(roi_sets, matcher)
    for series_key in sorted(by_series):
        geometry = job.series[series_key]
        rois = by_series[series_key]
        midline = series_midline(geometry, rois)
        own = _own_contexts(job, geometry, rois, midline, config.nodes, errors)
        paths = sorted(own)
        rois = [r for r in rois if r[0].path in own]
        contexts: dict[str, SeriesContext] = {}
        missing_imv: set[tuple[str, str]] = set()
        for item in rois:
            roi_set, _, match = item
            if match.roi_class != "node":
                continue
            if roi_set.path not in contexts:
                others = [own[p] for p in paths if p != roi_set.path]
                contexts[roi_set.path] = prefer_own(own[roi_set.path], others)
            results.extend(
                _measure_roi_nodes(
                    job, series_key, item, contexts[roi_set.path], config, missing_imv, errors
                )
            )
    return results, errors


def measure_study(
    job: StudyJob,
    export: Path,
    out: Path | None,
    config: Config,
    qc: bool = True,
) -> StudyResult:
    """Measure one study and (optionally) have its QC pictures drawn under ``OUT/qc``.

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
        Draw the QC pictures (:func:`imncohort.measure.qc.draw_study_qc`).
    """
    matcher = NameMatcher(config.names)
    roi_sets, errors = read_annotations(job, export, matcher)
    roi_sets, chosen = select_structure_sets(roi_sets, matcher)
    errors.extend(chosen)
    results, more = measure_rois(job, roi_sets, config, matcher)
    errors.extend(more)
    qc_pngs: list[str] = [""] * len(results)
    if qc and out is not None:
        from imncohort.measure.qc import draw_study_qc

        qc_pngs, qc_errors = draw_study_qc(job, results, Path(export), Path(out), config)
        errors.extend(qc_errors)
    rows: list[dict[str, Any]] = []
    for result, qc_png in zip(results, qc_pngs, strict=True):
        row = {**result.row, "qc_png": qc_png}
        rows.append({c: row.get(c) for c in NODE_COLUMNS})
    return StudyResult(job.study_key, job.manifest_hash, rows, errors)
