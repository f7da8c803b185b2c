"""Header checks of indexed instances: which files cannot be used, and why.

The index keeps every DICOM file it can parse; this module lists those whose
headers make them unusable (a CT slice without a position, a file without a
SOP Class UID, ...) so that ``errors.csv`` names each one by its own path with
a reason a person understands. The measure stage drops the same image slices
(:func:`bad_image_slices`) and keeps the rest of their series.

Pure DataFrame functions over ``instances.parquet`` rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from imncohort.outputs import ErrorRecord

STAGE = "index"
# Bump when the checks change: an unchanged export then gets its error records rebuilt.
CHECKS_VERSION = 1
# Implicit VR Little Endian, Explicit VR Little Endian, Explicit VR Big Endian (as
# pydicom.uid names them; written out so that this module does not import pydicom).
UNCOMPRESSED_SYNTAXES = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}
)
LEFT_OUT = "the slice is left out of its series"
# Cross-sectional modalities whose slices must carry a position, orientation and spacing.
SLICE_MODALITIES = {"CT", "MR", "PT"}
UNIT_TOLERANCE = 0.01


def orientation_problem(iop: str) -> str:
    """Why an ``iop`` text of the index is not a usable orientation ('' when it is)."""
    parts = [p for p in str(iop or "").split("\\") if p.strip()]
    if not parts:  # the index keeps an orientation only when it holds 6 numbers
        return "ImageOrientationPatient is missing or does not hold 6 numbers"
    try:
        values = np.array([float(p) for p in parts], dtype=float)
    except ValueError:
        return f"ImageOrientationPatient {iop!r} is not numeric"
    if values.size != 6:
        return f"ImageOrientationPatient holds {values.size} numbers, not 6"
    if not np.all(np.isfinite(values)):
        return "ImageOrientationPatient holds NaN or infinite numbers"
    row, col = values[:3], values[3:]
    norms = (float(np.linalg.norm(row)), float(np.linalg.norm(col)))
    if min(norms) == 0.0:
        return "ImageOrientationPatient is all zeros (no row or column direction)"
    if abs(norms[0] - 1) > UNIT_TOLERANCE or abs(norms[1] - 1) > UNIT_TOLERANCE:
        return "ImageOrientationPatient directions are not unit vectors"
    if abs(float(np.dot(row, col))) > UNIT_TOLERANCE:
        return "ImageOrientationPatient row and column directions are not perpendicular"
    return ""


def _int_value(value: float | str | None) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def image_problem(row: Mapping[Any, Any]) -> str:
    """Why one image instance cannot be placed or read ('' when it is fine).

    ``row`` holds the ``instances.parquet`` columns ``modality``, ``ipp_x/y/z``, ``iop``,
    ``rows``, ``columns``, ``pixel_spacing_row/col``, ``size`` and
    ``transfer_syntax_uid``. Position, orientation and spacing are required of CT, MR
    and PET slices only (a secondary capture or a mammogram has none).
    """
    reasons: list[str] = []
    n_rows, n_cols = _int_value(row.get("rows")), _int_value(row.get("columns"))
    if n_rows is None or n_rows <= 0 or n_cols is None or n_cols <= 0:
        reasons.append(f"Rows x Columns is {n_rows} x {n_cols} (an image needs at least 1 x 1)")
    if str(row.get("modality", "") or "").upper() in SLICE_MODALITIES:
        reasons.extend(_slice_geometry_problems(row))
    size = _int_value(row.get("size"))
    syntax = str(row.get("transfer_syntax_uid", "") or "")
    if (
        n_rows is not None
        and n_rows > 0
        and n_cols is not None
        and n_cols > 0
        and size is not None
        and syntax in UNCOMPRESSED_SYNTAXES
        and size < n_rows * n_cols
    ):
        reasons.append(
            f"the file ({size} bytes) is too short for its {n_rows} x {n_cols} pixels "
            "(no pixel data: truncated?)"
        )
    return "; ".join(reasons)


def _slice_geometry_problems(row: Mapping[Any, Any]) -> list[str]:
    reasons: list[str] = []
    ipp = [row.get("ipp_x"), row.get("ipp_y"), row.get("ipp_z")]
    try:
        finite = all(v is not None and math.isfinite(float(v)) for v in ipp)
    except (TypeError, ValueError):
        finite = False
    if not finite:
        reasons.append("ImagePositionPatient is missing, not 3 numbers or NaN")
    orientation = orientation_problem(str(row.get("iop", "") or ""))
    if orientation:
        reasons.append(orientation)
    spacing = [row.get("pixel_spacing_row"), row.get("pixel_spacing_col")]
    try:
        spacing_ok = all(
            v is not None and math.isfinite(float(v)) and float(v) > 0 for v in spacing
        )
    except (TypeError, ValueError):
        spacing_ok = False
    if not spacing_ok:
        shown = "/".join("?" if v is None else f"{float(v):g}" for v in spacing)
        reasons.append(f"PixelSpacing {shown} mm is missing, zero, negative or infinite")
    return reasons


def bad_image_slices(instances: pd.DataFrame) -> dict[str, str]:
    """Path -> reason of every image instance that cannot be placed on a slice grid."""
    images = instances[instances["kind"] == "image"]
    columns = [
        c
        for c in (
            "path",
            "modality",
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
        )
        if c in images.columns
    ]
    out: dict[str, str] = {}
    for row in images.loc[_suspects(images), columns].to_dict("records"):
        reason = image_problem(row)
        if reason:
            out[str(row["path"])] = reason
    return out


def _suspects(images: pd.DataFrame) -> np.ndarray:
    """Rows that may have a problem (vectorised superset of :func:`image_problem`)."""
    n_rows = pd.to_numeric(images["rows"], errors="coerce").to_numpy(dtype=float)
    n_cols = pd.to_numeric(images["columns"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        suspect = ~(n_rows > 0) | ~(n_cols > 0)
        size = pd.to_numeric(images["size"], errors="coerce").to_numpy(dtype=float)
        syntax = images["transfer_syntax_uid"].fillna("").astype(str).isin(UNCOMPRESSED_SYNTAXES)
        suspect |= syntax.to_numpy() & (size < n_rows * n_cols)
        slices = images["modality"].fillna("").astype(str).str.upper().isin(SLICE_MODALITIES)
        ipp = images[["ipp_x", "ipp_y", "ipp_z"]].to_numpy(dtype=float)
        spacing = images[["pixel_spacing_row", "pixel_spacing_col"]].to_numpy(dtype=float)
        geometry = ~np.all(np.isfinite(ipp), axis=1)
        geometry |= ~np.all(np.isfinite(spacing) & (spacing > 0), axis=1)
    iop = images["iop"].fillna("").astype(str)
    problems = {text: bool(orientation_problem(text)) for text in iop.unique()}
    geometry |= iop.map(problems).to_numpy(dtype=bool)
    return np.asarray(suspect | (slices.to_numpy() & geometry), dtype=bool)


def instance_problems(instances: pd.DataFrame) -> list[ErrorRecord]:
    """One record per indexed file whose header makes it unusable (sorted by path).

    - any file without a SOP Class UID (it cannot be told what it holds);
    - an image without a SeriesInstanceUID (it belongs to no series);
    - an image slice that cannot be placed or has no pixels (:func:`image_problem`).
    """
    records: list[ErrorRecord] = []
    no_class = instances["sop_class_uid"].fillna("").astype(str).str.strip() == ""
    for path in instances.loc[no_class, "path"]:
        records.append(
            ErrorRecord(
                str(path),
                STAGE,
                "no SOP Class UID: the file cannot be classified (image, RTSTRUCT, SEG, "
                "report) and is not used",
            )
        )
    images = instances[instances["kind"] == "image"]
    no_series = images["series_instance_uid"].fillna("").astype(str).str.strip() == ""
    for path in images.loc[no_series, "path"]:
        records.append(
            ErrorRecord(
                str(path),
                STAGE,
                "image without a SeriesInstanceUID: it belongs to no series and is not used",
            )
        )
    for path, reason in bad_image_slices(images[~no_series]).items():
        records.append(ErrorRecord(path, STAGE, f"{reason}; {LEFT_OUT}"))
    records.sort(key=lambda r: (r.path, r.reason))
    return records
