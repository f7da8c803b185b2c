"""Measure one node component: axes, volume, IMV offsets, intercostal spaces, CTV, sternum.

:func:`measure_component` returns a :class:`NodeMeasurement` (a frozen record; a value
that cannot be measured is None); :meth:`NodeMeasurement.as_row` turns it into the
``nodes.csv`` values, where a missing number is NaN (an empty cell). Coordinates are
patient LPS millimetres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from imncohort.annotations.models import ContourRoi
from imncohort.config import Config
from imncohort.geometry.axes import long_short_axis
from imncohort.geometry.imv import imv_center_at
from imncohort.geometry.intercostal import intercostal_spaces
from imncohort.geometry.offsets import node_offsets
from imncohort.geometry.overlap import ctv_coverage_sections
from imncohort.geometry.reference import reference_section, volume_ml, volume_ml_slabs, z_extent
from imncohort.geometry.sections import CrossSection, section_from_rings
from imncohort.measure.landmarks import SeriesContext, Side
from imncohort.measure.rois import Component, inside_roi, mask_axis_floor_mm
from imncohort.measure.series import SeriesGeometry
from imncohort.measure.sternum import sternum_values


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


@dataclass(frozen=True)
class NodeMeasurement:
    """The measured values of one node component (LPS mm, ml); None: not measurable.

    The IMV fields are None when the patient has no ipsilateral vessel annotation;
    ``ctv_coverage`` when no CTV applies; the sternum fields without a sternum
    annotation (``sternum_overlap`` and ``sternum_border_x`` may also be NaN, as
    :func:`~imncohort.measure.sternum.sternum_values` gives them).
    """

    side: Side
    centroid_x: float
    centroid_y: float
    centroid_z: float
    reference_z: float
    long_axis_mm: float
    short_axis_mm: float
    volume_ml: float
    metastatic: bool
    imv_x: float | None = None
    imv_y: float | None = None
    imv_extrapolated: bool = False
    center_ml_mm: float | None = None
    center_dv_mm: float | None = None
    extent_medial_mm: float | None = None
    extent_lateral_mm: float | None = None
    extent_ventral_mm: float | None = None
    extent_dorsal_mm: float | None = None
    quadrant: str = ""
    towards_sternum: bool | None = None
    intercostal_spaces: str = ""
    ctv_coverage: float | None = None
    over_sternum: bool | None = None
    sternal_invasion: bool | None = None
    sternum_overlap: float | None = None
    sternum_border_x: float | None = None

    def as_row(self) -> dict[str, Any]:
        """The ``nodes.csv`` measurement columns (no keys, names or qc path); None -> NaN."""
        return {
            "side": self.side,
            "centroid_x": self.centroid_x,
            "centroid_y": self.centroid_y,
            "centroid_z": self.centroid_z,
            "reference_z": self.reference_z,
            "imv_x": _nan(self.imv_x),
            "imv_y": _nan(self.imv_y),
            "imv_extrapolated": self.imv_extrapolated,
            "center_ml_mm": _nan(self.center_ml_mm),
            "center_dv_mm": _nan(self.center_dv_mm),
            "extent_medial_mm": _nan(self.extent_medial_mm),
            "extent_lateral_mm": _nan(self.extent_lateral_mm),
            "extent_ventral_mm": _nan(self.extent_ventral_mm),
            "extent_dorsal_mm": _nan(self.extent_dorsal_mm),
            "quadrant": self.quadrant,
            "towards_sternum": self.towards_sternum,
            "long_axis_mm": self.long_axis_mm,
            "short_axis_mm": self.short_axis_mm,
            "volume_ml": self.volume_ml,
            "metastatic": self.metastatic,
            "intercostal_spaces": self.intercostal_spaces,
            "ctv_coverage": _nan(self.ctv_coverage),
            "over_sternum": self.over_sternum,
            "sternal_invasion": self.sternal_invasion,
            "sternum_overlap": _nan(self.sternum_overlap),
            "sternum_border_x": _nan(self.sternum_border_x),
        }


@dataclass(frozen=True, eq=False)
class NodeResult:
    """One measured node: its keys, its measurement and what its QC picture needs."""

    patient_key: str
    study_key: str
    series_key: str
    roi_name: str
    annotation: str
    node_number: int
    measurement: NodeMeasurement
    component: Component
    reference_index: int
    imv_xy_lps: np.ndarray | None
    series: SeriesGeometry

    @property
    def row(self) -> dict[str, Any]:
        """The node's ``nodes.csv`` values (``qc_png`` empty; no study date or selection)."""
        return {
            "patient_key": self.patient_key,
            "study_key": self.study_key,
            "series_key": self.series_key,
            "roi_name": self.roi_name,
            "annotation": self.annotation,
            "component": self.node_number,
            **self.measurement.as_row(),
            "qc_png": "",
        }


def _imv_values(
    ref: CrossSection, side: Side, ctx: SeriesContext, config: Config
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The IMV fields of a node (none without an ipsilateral vessel) and the IMV centre."""
    vessel = ctx.vessels.get(side)
    if vessel is None:
        return {}, None
    imv_xy, extrapolated = imv_center_at(
        ref.z_mm, vessel[0], vessel[1], config.nodes.imv_extrapolation_limit_mm
    )
    offsets = node_offsets(ref, imv_xy, side)
    values = {
        "imv_x": float(imv_xy[0]),
        "imv_y": float(imv_xy[1]),
        "imv_extrapolated": bool(extrapolated),
        "center_ml_mm": offsets.center_ml_mm,
        "center_dv_mm": offsets.center_dv_mm,
        "extent_medial_mm": offsets.extent_medial_mm,
        "extent_lateral_mm": offsets.extent_lateral_mm,
        "extent_ventral_mm": offsets.extent_ventral_mm,
        "extent_dorsal_mm": offsets.extent_dorsal_mm,
        "quadrant": offsets.quadrant,
        "towards_sternum": bool(offsets.towards_sternum),
    }
    return values, imv_xy


def _ctv_coverage(comp: Component, side: Side, ctx: SeriesContext) -> float | None:
    """Share of the node inside the CTV of its side (None without one)."""
    sections = comp.sections
    ctvs = [roi for ctv_side, roi in ctx.ctvs if ctv_side in ("", side)]
    grid = ctx.geometry.grid
    if len(ctvs) == 1 and comp.mask_kji is None and isinstance(ctvs[0], ContourRoi):
        ctv = ctvs[0]
        ctv_sections = [
            section_from_rings(float(grid.z_mm[k]), rings)
            for k, rings in ctv.rings_by_slice.items()
        ]
        return ctv_coverage_sections(
            sections, ctv_sections, step_mm=0.1, z_tolerance_mm=0.25 * grid.slice_spacing_mm
        )
    if ctvs:
        pts = comp.sample_points_lps(ctx.geometry.grid)
        if len(pts):
            inside = np.zeros(len(pts), dtype=bool)
            for roi in ctvs:
                inside |= inside_roi(pts, roi, ctx.geometry.grid)
            return float(inside.mean())
    return None


def measure_component(
    comp: Component,
    side: Side,
    ctx: SeriesContext,
    config: Config,
    volume_spacing_mm: float | np.ndarray,
) -> tuple[NodeMeasurement, int, np.ndarray | None]:
    """Measure one node component.

    ``volume_spacing_mm`` is one slice spacing for all sections, or one slab thickness
    per section (:func:`~imncohort.measure.rois.section_thicknesses_mm`; NaN = unknown,
    then ``volume_ml`` is NaN). Mask axes are never below what the voxels allow
    (:func:`~imncohort.measure.rois.mask_axis_floor_mm`).

    Returns
    -------
    measurement, reference_index, imv_xy_lps
        The node's measured values, the index of the reference section in
        ``comp.sections`` and the IMV centre (None when the patient has no
        ipsilateral vessel annotation).
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
    imv_values, imv_xy = _imv_values(ref, side, ctx, config)
    spaces = ""
    levels = ctx.rib_levels.get(side)
    if levels:
        z_lo, z_hi = z_extent(sections)
        spaces = ";".join(str(k) for k in intercostal_spaces(z_lo, z_hi, levels))
    grid = ctx.geometry.grid
    sternum = sternum_values(
        comp, ref, side, ctx.sternums, grid, config.nodes.sternal_invasion_min_share
    )
    measurement = NodeMeasurement(
        side=side,
        centroid_x=float(centroid_xy[0]),
        centroid_y=float(centroid_xy[1]),
        centroid_z=centroid_z,
        reference_z=float(ref.z_mm),
        long_axis_mm=float(long_mm),
        short_axis_mm=float(short_mm),
        volume_ml=volume,
        metastatic=bool(short_mm >= config.nodes.min_short_axis_mm),
        intercostal_spaces=spaces,
        ctv_coverage=_ctv_coverage(comp, side, ctx),
        **imv_values,
        **sternum,
    )
    return measurement, ref_index, imv_xy
