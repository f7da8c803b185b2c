"""Series geometry and study inventory from the index tables (no pixel data).

Reads ``OUT/restricted/index/{series,instances,files,manifest}.parquet`` and turns each
image series into a :class:`~imncohort.annotations.models.SliceGrid` plus its
ordered file paths.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imncohort.annotations.models import SliceGrid
from imncohort.errors import InputError, StageOrderError
from imncohort.geometry.orientation import is_axial, parse_iop
from imncohort.layout import OutLayout
from imncohort.schemas.index import read_index_table
from imncohort.textfmt import numbers

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SeriesGeometry:
    """An image series: its key, UIDs, slice grid and ordered paths (relative to the export)."""

    series_key: str
    series_instance_uid: str
    study_key: str
    patient_key: str
    frame_of_reference_uid: str
    modality: str
    grid: SliceGrid
    paths: list[str]
    # z intervals (mm, below < above) between kept slices where bad slices were dropped
    dropped_gaps_mm: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class IndexTables:
    """The index tables the measure stage reads."""

    instances: pd.DataFrame
    series: pd.DataFrame
    files: pd.DataFrame
    manifest: pd.DataFrame


#: The instance columns the measure stage reads (a projection of the index's ``instances``).
INSTANCE_COLUMNS = [
    "path",
    "sop_instance_uid",
    "kind",
    "modality",
    "patient_key",
    "study_key",
    "study_instance_uid",
    "series_instance_uid",
    "frame_of_reference_uid",
    "ipp_x",
    "ipp_y",
    "ipp_z",
    "iop",
    "rows",
    "columns",
    "pixel_spacing_row",
    "pixel_spacing_col",
    "size",
    "transfer_syntax_uid",
]


def load_index(out: Path) -> IndexTables:
    """Read the index tables under ``OUT/restricted/index``.

    Raises
    ------
    StageOrderError
        When ``series.parquet`` or ``instances.parquet`` is missing (run ``index`` first).
    """
    layout = OutLayout(out)
    for name in ("series", "instances"):
        if not layout.index_table(name).exists():
            raise StageOrderError(
                f"'{layout.index_table(name)}' does not exist; run 'imncohort index' before "
                "'measure'"
            )
    instances = read_index_table(layout, "instances", INSTANCE_COLUMNS)
    series = read_index_table(layout, "series")
    files = read_index_table(layout, "files", required=False)
    manifest = read_index_table(layout, "manifest", ["path", "size", "mtime_ns"], required=False)
    return IndexTables(instances, series, files, manifest)


def _orientation(text: str) -> np.ndarray:
    """The 6 direction cosines of an index ``iop`` string (:func:`parse_iop`).

    Raises
    ------
    InputError
        When ``text`` does not hold 6 numbers.
    """
    iop = parse_iop(text)
    if iop is None:
        raise InputError(f"image orientation {text!r} does not hold 6 numbers")
    return iop


def single_slice_step_mm(n_slices: int, slice_thickness: float | str | None) -> float:
    """The stated slice step of a single-slice series (its SliceThickness), else 0.

    Series of two or more slices take their spacing from the slice positions.
    """
    if n_slices != 1 or slice_thickness is None:
        return 0.0
    try:
        value = float(slice_thickness)
    except (TypeError, ValueError):
        return 0.0
    return value if np.isfinite(value) and value > 0 else 0.0


def series_geometry(row: Mapping[Any, Any], ipp_by_path: dict[str, np.ndarray]) -> SeriesGeometry:
    """Build the geometry of one ``series.parquet`` row.

    Parameters
    ----------
    row
        A ``series.parquet`` row (mapping-like).
    ipp_by_path
        ImagePositionPatient (LPS mm) of every instance path.

    Raises
    ------
    InputError
        Missing geometry or an oblique (non-axial) series.
    """
    key = str(row["series_key"])
    if not bool(row.get("has_geometry", True)):
        raise InputError(f"series {key} has no usable geometry")
    iop = _orientation(str(row["iop"]))
    if not is_axial(iop):
        raise InputError(
            f"series {key} is oblique or not axial (orientation {numbers(np.round(iop, 4))}); "
            "measurements need axial slices"
        )
    paths = [str(p) for p in list(row["paths"])]
    origins = np.asarray([ipp_by_path[p] for p in paths], dtype=float).reshape(-1, 3)
    if len(paths) == 0 or not np.all(np.isfinite(origins)):
        raise InputError(f"series {key} has slices without a position")
    grid = SliceGrid(
        origins_lps=origins,
        row_dir_lps=iop[:3] / np.linalg.norm(iop[:3]),
        col_dir_lps=iop[3:] / np.linalg.norm(iop[3:]),
        spacing_row_mm=float(row["pixel_spacing_row"]),
        spacing_col_mm=float(row["pixel_spacing_col"]),
        rows=int(row["rows"]),
        columns=int(row["columns"]),
        slice_step_mm=single_slice_step_mm(len(paths), row.get("slice_thickness")),
    )
    return SeriesGeometry(
        dropped_gaps_mm=tuple(row.get("dropped_gaps_mm", ()) or ()),
        series_key=key,
        series_instance_uid=str(row["series_instance_uid"]),
        study_key=str(row["study_key"]),
        patient_key=str(row["patient_key"]),
        frame_of_reference_uid=str(row.get("frame_of_reference_uid", "") or ""),
        modality=str(row.get("modality", "") or ""),
        grid=grid,
        paths=paths,
    )


def drop_bad_slices(
    row: Mapping[Any, Any],
    slices: Mapping[str, Mapping[Any, Any]],
    bad: Mapping[str, str],
    strays: int = 0,
) -> tuple[dict[Any, Any], list[str]]:
    """A ``series.parquet`` row without its unusable slices, and the dropped paths.

    Parameters
    ----------
    row
        The series row (``paths`` and the first slice's header values).
    slices
        ``instances.parquet`` values by path (``ipp_x/y/z``, ``iop``, ``rows``,
        ``columns``, ``pixel_spacing_row/col``) of the series' instances.
    bad
        Path -> reason of the unusable image slices
        (:func:`imncohort.index.checks.bad_image_slices`; the index lists them in
        ``errors.csv``).
    strays
        Files of the same SeriesInstanceUID that the index could not classify (no
        SOP Class UID): slices lost at an unknown z.

    Returns
    -------
    row, dropped
        The row unchanged when no slice is bad; else a copy whose ``paths`` are the
        kept slices sorted along the slice normal, whose orientation, size and pixel
        spacing are the first kept slice's, and whose ``has_geometry`` is True when
        slices are left; ``dropped_gaps_mm`` holds the z intervals between kept slices
        where slices went missing.
    """
    paths = [str(p) for p in list(row["paths"])]
    if not strays and not any(p in bad for p in paths):
        return dict(row), []
    # files of the series that are not image slices (no SOP Class UID) are dropped too
    dropped = [p for p in paths if p in bad or p not in slices]
    if not dropped:
        fixed = dict(row)
        if bool(row.get("has_geometry", False)):
            zs = np.array([float(slices[p]["ipp_z"]) for p in paths if p in slices])
            fixed["dropped_gaps_mm"] = tuple(dropped_gaps(zs, [], strays))
        return fixed, []
    kept = [p for p in paths if p not in bad and p in slices]
    fixed = dict(row)
    if not kept:
        fixed["has_geometry"] = False
        fixed["paths"] = []
        return fixed, dropped
    first = slices[kept[0]]
    iop = _orientation(str(first["iop"]))
    normal = np.cross(iop[:3], iop[3:])
    normal = normal / np.linalg.norm(normal)
    ipp = {p: np.array([slices[p]["ipp_x"], slices[p]["ipp_y"], slices[p]["ipp_z"]]) for p in kept}
    kept.sort(key=lambda p: (float(ipp[p] @ normal), p))
    fixed.update(
        paths=kept,
        iop=str(first["iop"]),
        rows=first["rows"],
        columns=first["columns"],
        pixel_spacing_row=first["pixel_spacing_row"],
        pixel_spacing_col=first["pixel_spacing_col"],
        has_geometry=True,
    )
    kept_z = np.array([float(ipp[p][2]) for p in kept])
    known = []
    unknown = strays
    for path in dropped:
        z = slices.get(path, {}).get("ipp_z", math.nan)
        if z is not None and np.isfinite(float(z)):
            known.append(float(z))
        else:
            unknown += 1
    fixed["dropped_gaps_mm"] = tuple(dropped_gaps(kept_z, known, unknown))
    return fixed, dropped


def dropped_gaps(
    kept_z: np.ndarray, dropped_z: list[float], n_unknown: int
) -> list[tuple[float, float]]:
    """z intervals between kept slices (sorted) that lost slices: wider than 1.5 median gaps
    and holding a dropped slice's z, or any such interval when a dropped slice had no z."""
    zs = np.sort(np.asarray(kept_z, dtype=float))
    if zs.size < 2:
        return []
    steps = np.diff(zs)
    median = float(np.median(steps))
    out: list[tuple[float, float]] = []
    for lo, hi, step in zip(zs[:-1], zs[1:], steps, strict=True):
        if step > 1.5 * median and (n_unknown or any(lo < z < hi for z in dropped_z)):
            out.append((float(lo), float(hi)))
    return out
