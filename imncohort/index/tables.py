"""Series and study tables from the instances table (pure DataFrame functions).

Geometry is DICOM patient LPS millimetres: the slice normal is
``row direction x column direction`` of ImageOrientationPatient and a slice's
position is ``ImagePositionPatient . normal``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from imncohort.geometry.orientation import parse_iop
from imncohort.index.records import SERIES_COLUMNS, STUDY_COLUMNS

ORIENTATION_DECIMALS = 4
SPACING_TOLERANCE_MM = 0.01
SPACING_TOLERANCE_FRACTION = 0.01


def slice_normal_lps(iop: np.ndarray) -> np.ndarray:
    """Return the unit slice normal (row cosines x column cosines) in LPS."""
    normal = np.cross(iop[:3], iop[3:])
    norm = float(np.linalg.norm(normal))
    return normal / norm if norm > 0 else normal


def orientation_group_key(iop: str) -> str:
    """Return the grouping key of an orientation: the cosines rounded to 4 decimals."""
    values = parse_iop(iop)
    if values is None:
        return ""
    rounded = np.round(values, ORIENTATION_DECIMALS) + 0.0  # no "-0"
    return "\\".join(f"{v:.4f}" for v in rounded)


def regular_spacing(positions_mm: np.ndarray) -> tuple[float, bool]:
    """Return ``(median gap in mm, all gaps equal within tolerance)`` of sorted positions.

    The tolerance is the larger of 0.01 mm and 1 % of the median gap; a repeated
    position (gap 0) or fewer than two slices is not regular.
    """
    if positions_mm.size < 2:
        return math.nan, False
    gaps = np.diff(positions_mm)
    median = float(np.median(gaps))
    if median <= 0:
        return median, False
    tolerance = max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_FRACTION * median)
    regular = bool(np.all(np.abs(gaps - median) <= tolerance) and np.all(gaps > 0))
    return median, regular


def _first_non_empty(values: np.ndarray) -> object:
    """First value that is not empty/NA (the first value when all are), else None."""
    for value in values:
        if isinstance(value, str):
            if value:
                return value
        elif (
            value is not None
            and value is not pd.NA
            and not (isinstance(value, float) and math.isnan(value))
        ):
            return value
    return values[0] if len(values) else None


_FIRST_COLUMNS = (
    "study_instance_uid",
    "study_key",
    "patient_key",
    "modality",
    "kind",
    "frame_of_reference_uid",
    "rows",
    "columns",
    "pixel_spacing_row",
    "pixel_spacing_col",
    "slice_thickness",
    "iop",
    "patient_position",
)


def _series_row(
    uid: str,
    key: str,
    cols: dict[str, np.ndarray],
    start: int,
    stop: int,
    orientations: dict[str, tuple[np.ndarray | None, np.ndarray]],
) -> dict[str, Any]:
    """One series row from rows ``start:stop`` of the column arrays (sorted by path).

    ``orientations`` keeps the parsed cosines and slice normal of each orientation text
    met so far (an export's series share a handful).
    """
    first = {c: _first_non_empty(cols[c][start:stop]) for c in _FIRST_COLUMNS}
    iop_text = str(first["iop"] or "")
    known = orientations.get(iop_text)
    if known is None:
        parsed = parse_iop(iop_text)
        normal = slice_normal_lps(parsed) if parsed is not None else np.full(3, math.nan)
        known = orientations[iop_text] = (parsed, normal)
    iop_values, normal = known
    ipp = cols["ipp"][start:stop]
    paths = cols["path"][start:stop]
    has_geometry = (
        iop_values is not None
        and bool(np.all(np.isfinite(ipp)))
        and bool(np.all(cols["iop"][start:stop] != ""))
    )
    if has_geometry:
        positions = ipp @ normal
        order = np.lexsort((paths, positions))
        sorted_positions = positions[order]
        spacing, regular = regular_spacing(sorted_positions)
        position_min = float(sorted_positions[0])
        position_max = float(sorted_positions[-1])
    else:
        order = np.lexsort((paths, cols["instance"][start:stop]))
        spacing, regular = math.nan, False
        position_min = position_max = math.nan
    return {
        "series_key": key,
        "series_instance_uid": uid,
        "study_instance_uid": first["study_instance_uid"],
        "study_key": first["study_key"],
        "patient_key": first["patient_key"],
        "modality": first["modality"],
        "kind": first["kind"],
        "frame_of_reference_uid": first["frame_of_reference_uid"],
        "n_instances": stop - start,
        "rows": first["rows"],
        "columns": first["columns"],
        "pixel_spacing_row": first["pixel_spacing_row"],
        "pixel_spacing_col": first["pixel_spacing_col"],
        "slice_thickness": first["slice_thickness"],
        "slice_spacing": spacing,
        "iop": iop_text,
        "normal_x": float(normal[0]),
        "normal_y": float(normal[1]),
        "normal_z": float(normal[2]),
        "position_min": position_min,
        "position_max": position_max,
        "regular_spacing": regular,
        "has_geometry": has_geometry,
        "paths": paths[order].tolist(),
        "patient_position": first["patient_position"] or "",
    }


def build_series(instances: pd.DataFrame) -> pd.DataFrame:
    """Group instances into series: one row per (SeriesInstanceUID, orientation).

    Instances without an orientation join their UID's only orientation when it has
    exactly one (the series then has ``has_geometry`` False). When one UID holds
    several orientations, the keys are ``UID``, ``UID#2``, ``UID#3``... in the order
    of the orientation strings. Instances without a SeriesInstanceUID are left out.
    """
    keep = instances["series_instance_uid"] != ""
    frame = instances if bool(keep.all()) else instances[keep]  # a copy only when needed
    if frame.empty:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    iop = frame["iop"].to_numpy(dtype=object)
    keymap = {text: orientation_group_key(text) for text in set(iop.tolist())}
    uids = frame["series_instance_uid"].to_numpy(dtype=object)
    orientation = np.array([keymap[t] for t in iop.tolist()], dtype=object)
    by_uid: dict[str, set[str]] = {}
    for uid, key in set(zip(uids.tolist(), orientation.tolist(), strict=True)):
        by_uid.setdefault(uid, set()).add(key)
    group_names: dict[tuple[str, str], str] = {}
    for uid, keys in by_uid.items():
        distinct = sorted(keys - {""})
        ordered = distinct if len(distinct) == 1 else sorted(keys)
        for i, key in enumerate(ordered):
            group_names[(uid, key)] = uid if i == 0 else f"{uid}#{i + 1}"
        if len(distinct) == 1:
            group_names[(uid, "")] = uid
    series_key = np.array(
        [group_names[(u, k)] for u, k in zip(uids.tolist(), orientation.tolist(), strict=True)],
        dtype=object,
    )
    paths = frame["path"].to_numpy(dtype=object)
    order = np.lexsort((paths.astype(str), series_key.astype(str)))
    cols: dict[str, np.ndarray] = {
        c: frame[c].to_numpy(dtype=object)[order] for c in _FIRST_COLUMNS
    }
    cols["path"] = paths[order].astype(str)
    cols["ipp"] = frame[["ipp_x", "ipp_y", "ipp_z"]].to_numpy(dtype=float)[order]
    cols["instance"] = frame["instance_number"].astype("float64").fillna(math.inf).to_numpy()[order]
    sorted_keys = series_key[order]
    sorted_uids = uids[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    stops = np.r_[starts[1:], len(sorted_keys)]
    orientations: dict[str, tuple[np.ndarray | None, np.ndarray]] = {}
    rows = [
        _series_row(str(sorted_uids[a]), str(sorted_keys[a]), cols, int(a), int(b), orientations)
        for a, b in zip(starts, stops, strict=True)
    ]
    series = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    return series.astype(
        {
            "n_instances": "int64",
            "rows": "Int64",
            "columns": "Int64",
            "regular_spacing": "bool",
            "has_geometry": "bool",
        }
    )


def build_studies(instances: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """One row per StudyInstanceUID: modalities present, counts, reports (SR + PDF instances)."""
    frame = instances[instances["study_instance_uid"] != ""]
    if frame.empty:
        return pd.DataFrame(columns=STUDY_COLUMNS)
    frame = frame.sort_values(["study_instance_uid", "path"], kind="stable")
    uids = frame["study_instance_uid"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, uids[1:] != uids[:-1]])
    stops = np.r_[starts[1:], len(uids)]
    cols = {
        c: frame[c].to_numpy(dtype=object)
        for c in ("study_key", "patient_key", "study_date", "study_description", "modality")
    }
    is_report = frame["kind"].isin(["sr", "pdf"]).to_numpy()
    n_series = series.groupby("study_instance_uid").size().to_dict() if not series.empty else {}
    rows = []
    for a, b in zip(starts, stops, strict=True):
        uid = str(uids[a])
        rows.append(
            {
                "study_instance_uid": uid,
                "study_key": _first_non_empty(cols["study_key"][a:b]),
                "patient_key": _first_non_empty(cols["patient_key"][a:b]),
                "study_date": _first_non_empty(cols["study_date"][a:b]) or "",
                "study_description": _first_non_empty(cols["study_description"][a:b]) or "",
                "modalities": ";".join(sorted({m for m in cols["modality"][a:b] if m})),
                "n_series": int(n_series.get(uid, 0)),
                "n_instances": int(b - a),
                "n_reports": int(is_report[a:b].sum()),
            }
        )
    return pd.DataFrame(rows, columns=STUDY_COLUMNS).astype(
        {"n_series": "int64", "n_instances": "int64", "n_reports": "int64"}
    )
