"""Read an RTSTRUCT into LPS contours on the slices of its referenced series.

Closed planar contours are grouped per slice (several contours per slice;
holes follow the even-odd rule downstream). POINT contours are kept as points.
Contours are matched to the referenced series' slices by their z, so a
structure set whose ContourImageSequence is missing or stale still works.
The referenced series is the one named in
ReferencedFrameOfReferenceSequence / RTReferencedStudySequence /
RTReferencedSeriesSequence, else the image series sharing its Frame of
Reference UID (resolved by the caller).

The contours are read from the raw bytes of the ROIContourSequence with the element
loop of :mod:`imncohort.dicom.elements` (one pydicom data set per contour item would
cost about as much as the whole measurement); pydicom reads the rest of the file.
Anything that loop does not take (big endian, deflate, damaged or unusual bytes, bad
values) sends the file down the pydicom path, which words every error message.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from imncohort.annotations.models import ContourRoi, Roi, RoiSet, SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.dicom.elements import (
    RawElement,
    explicit_vr,
    find_element,
    item_value,
    nested_items,
    raw_sequence_is_empty,
    read_file_meta,
    sequence_items,
)
from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord

logger = logging.getLogger(__name__)

STAGE = "measure"
CONTOUR_DATA = 0x30060050
CONTOUR_GEOMETRIC_TYPE = 0x30060042
CONTOUR_SEQUENCE = 0x30060040
REFERENCED_ROI_NUMBER = 0x30060084
ROI_CONTOUR_SEQUENCE = 0x30060039

# (referenced series UIDs, frame of reference UID) -> (series_key, grid) or None
SeriesResolver = Callable[[list[str], str], "tuple[str, SliceGrid] | None"]


def z_tolerance_mm(grid: SliceGrid) -> float:
    """How far (mm) a contour's z may lie from a slice and still be on it."""
    return float(min(0.5, max(0.05, 0.25 * grid.slice_spacing_mm)))


def referenced_series_uids(ds: Dataset) -> list[str]:
    """Series Instance UIDs named in the structure set's referenced frame of reference."""
    uids: list[str] = []
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        for study in frame.get("RTReferencedStudySequence", []) or []:
            for series in study.get("RTReferencedSeriesSequence", []) or []:
                uid = str(series.get("SeriesInstanceUID", "") or "")
                if uid and uid not in uids:
                    uids.append(uid)
    return uids


def frame_of_reference_uid(ds: Dataset) -> str:
    """The structure set's Frame of Reference UID (own tag, else the referenced one)."""
    uid = str(ds.get("FrameOfReferenceUID", "") or "")
    if uid:
        return uid
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        uid = str(frame.get("FrameOfReferenceUID", "") or "")
        if uid:
            return uid
    return ""


def _contour_points(item: Dataset) -> np.ndarray:
    """(N, 3) LPS points of one contour item.

    ContourData is parsed from its still-raw element value when pydicom has not
    converted it yet (one DSfloat per number would be about 30 times slower).
    """
    raw = item.get_item(CONTOUR_DATA)
    if raw is None:
        return np.zeros((0, 3))
    value = raw.value
    if isinstance(value, bytes | bytearray):
        return _points_from_text(bytes(value))
    return _points_checked(np.asarray(item.ContourData, dtype=float))


def _points_from_text(value: bytes) -> np.ndarray:
    """(N, 3) points of a raw ContourData value (backslash-separated decimal strings)."""
    text = value.strip(b" \x00")
    return _points_checked(np.array(text.split(b"\\"), dtype=float) if text else np.zeros(0))


def _points_checked(values: np.ndarray) -> np.ndarray:
    if values.size % 3:
        raise InputError(f"ContourData holds {values.size} numbers, not a multiple of 3")
    return values.reshape(-1, 3)


def _roi_contours(
    ds: Dataset, names: dict[int, str], matcher: NameMatcher
) -> list[tuple[int, list[tuple[str, np.ndarray]]]]:
    """(ROI number, [(geometric type, (N, 3) points)]) of the wanted ROIs (pydicom path)."""
    result = []
    for roi_contour in ds.get("ROIContourSequence", []) or []:
        number = int(roi_contour.get("ReferencedROINumber", -1))
        if not matcher.wanted(names.get(number, f"ROI{number}")):
            continue
        contours = [
            (str(c.get("ContourGeometricType", "CLOSED_PLANAR")).upper(), _contour_points(c))
            for c in roi_contour.get("ContourSequence", []) or []
        ]
        result.append((number, contours))
    return result


@dataclass(frozen=True)
class RawContours:
    """The raw bytes of a whole structure set and where its ROIContourSequence lies."""

    buf: bytes
    sequence: RawElement

    def is_empty(self) -> bool:
        """Whether the sequence holds no item."""
        seq = self.sequence
        return raw_sequence_is_empty(self.buf[seq.value_pos : min(seq.end, seq.value_pos + 8)])


def _text(value: bytes | None, default: str) -> str:
    """A CS / IS value as text without its padding (``default`` when absent)."""
    if value is None:
        return default
    return value.decode("ascii").strip(" \x00")


def _raw_roi_contours(
    raw: RawContours, names: dict[int, str], matcher: NameMatcher
) -> list[tuple[int, list[tuple[str, np.ndarray]]]]:
    """Same as :func:`_roi_contours`, from the raw bytes with the shared element loop.

    Raises
    ------
    InputError, ValueError, struct.error
        On anything :func:`_roi_contours` might word otherwise (damaged bytes, bad
        values): the caller then takes the pydicom path.
    """
    buf, seq, size = raw.buf, raw.sequence, len(raw.buf)
    result = []
    items = sequence_items(buf, seq.value_pos, seq.length, seq.explicit, size, ROI_CONTOUR_SEQUENCE)
    for roi in items:
        number = int(_text(item_value(buf, roi, REFERENCED_ROI_NUMBER), "-1"))
        if not matcher.wanted(names.get(number, f"ROI{number}")):
            continue
        contours = []
        for contour in nested_items(buf, roi, CONTOUR_SEQUENCE, size):
            kind = _text(item_value(buf, contour, CONTOUR_GEOMETRIC_TYPE), "CLOSED_PLANAR")
            data = item_value(buf, contour, CONTOUR_DATA)
            points = np.zeros((0, 3)) if data is None else _points_from_text(data)
            contours.append((kind.upper(), points))
        result.append((number, contours))
    return result


@dataclass
class ContourProblems:
    """Counts of unusable contour items of one ROI (each kind becomes one errors.csv line)."""

    empty: int = 0
    not_finite: int = 0
    one_point: int = 0
    two_points: int = 0

    def lines(self) -> list[str]:
        out = []
        if self.not_finite:
            out.append(f"{self.not_finite} contour(s) hold NaN or infinite coordinates; skipped")
        if self.two_points:
            out.append(
                f"{self.two_points} closed contour(s) with 2 points (a closed contour needs "
                "at least 3); skipped"
            )
        if self.one_point:
            out.append(
                f"{self.one_point} closed contour(s) with a single point; read as point marks"
            )
        if self.empty:
            out.append(f"{self.empty} contour(s) without ContourData; skipped")
        return out


def check_roi_contour_sequence(ds: Dataset) -> None:
    """Raise :class:`InputError` when the ROIContourSequence is missing or empty."""
    element = ds.get_item(ROI_CONTOUR_SEQUENCE)
    if element is None:
        raise InputError("RTSTRUCT has no ROIContourSequence (a structure set without contours)")
    value = element.value
    empty = raw_sequence_is_empty(value) if isinstance(value, bytes | bytearray) else not value
    if empty:
        raise InputError(
            "RTSTRUCT's ROIContourSequence is empty (a structure set without contours)"
        )


@dataclass
class _Placed:
    """Contours of one ROI sorted onto the slices (rings) or kept as points."""

    rings: dict[int, list[np.ndarray]] = field(default_factory=dict)
    points: list[np.ndarray] = field(default_factory=list)
    off: int = 0
    problems: ContourProblems = field(default_factory=ContourProblems)


def _place(contours: list[tuple[str, np.ndarray]], grid: SliceGrid, tol: float) -> _Placed:
    """Sort one ROI's contours into slice rings, point marks and counted problems."""
    placed = _Placed()
    problems = placed.problems
    for kind, pts in contours:
        if len(pts) == 0:
            problems.empty += 1
        elif not np.all(np.isfinite(pts)):
            problems.not_finite += 1
        elif kind == "POINT" or len(pts) == 1:
            if kind != "POINT":
                problems.one_point += 1
            placed.points.append(pts)
        elif kind == "CLOSED_PLANAR" and len(pts) < 3:
            problems.two_points += 1
        elif kind == "CLOSED_PLANAR":
            k = grid.slice_index(float(np.mean(pts[:, 2])), tol)
            if k is None or float(np.ptp(pts[:, 2])) > tol:
                placed.off += 1
            else:
                placed.rings.setdefault(k, []).append(pts[:, :2].copy())
    return placed


def _contour_roi(
    name: str,
    contours: list[tuple[str, np.ndarray]],
    grid: SliceGrid,
    tol: float,
    series_key: str,
) -> tuple[ContourRoi | None, list[str]]:
    """One ROI from its contours, and the errors.csv messages about it."""
    placed = _place(contours, grid, tol)
    messages: list[str] = []
    if placed.off:
        messages.append(
            f"ROI '{name}': {placed.off} contour(s) off every slice of series "
            f"{series_key} (more than {tol:.2f} mm from a slice or not planar); skipped"
        )
    problems = placed.problems.lines()
    messages.extend(f"ROI '{name}': {m}" for m in problems)
    pts_all = np.concatenate(placed.points) if placed.points else np.zeros((0, 3))
    if placed.rings or len(pts_all):
        return ContourRoi(name=name, rings_by_slice=placed.rings, points_lps=pts_all), messages
    if not placed.off and not problems:
        messages.append(f"ROI '{name}' holds no closed contour or point; nothing to measure")
    return None, messages


def _dcmread(path: Path) -> Dataset:
    """The whole structure set read by pydicom (the path that words every error)."""
    try:
        return pydicom.dcmread(path, force=True)
    except Exception as exc:
        raise InputError(f"cannot read RTSTRUCT: {exc}") from None


def _read_structure_set(path: Path) -> tuple[Dataset, RawContours | None]:
    """The structure set without its ROIContourSequence, and that sequence's raw bytes.

    pydicom reads the file with the sequence cut out, so it builds no data set per
    contour (it parses undefined-length sequences eagerly). Falls back to the whole
    file read by pydicom, and no raw bytes, when the element loop does not take the
    file (see :mod:`imncohort.dicom.elements`) or the sequence is absent.
    """
    try:
        buf = path.read_bytes()
        meta_end, transfer_syntax = read_file_meta(buf, len(buf))
        sequence = find_element(buf, meta_end, explicit_vr(transfer_syntax), ROI_CONTOUR_SEQUENCE)
    except (OSError, InputError, struct.error):
        sequence = None
    if sequence is None:
        return _dcmread(path), None
    try:
        ds = pydicom.dcmread(BytesIO(buf[: sequence.start] + buf[sequence.end :]), force=True)
    except Exception:  # the whole file, read by pydicom, words the error
        return _dcmread(path), None
    return ds, RawContours(buf, sequence)


def _roi_names(ds: Dataset) -> dict[int, str]:
    """ROI number -> ROI name from the StructureSetROISequence."""
    names: dict[int, str] = {}
    for item in ds.get("StructureSetROISequence", []) or []:
        names[int(item.ROINumber)] = str(item.get("ROIName", "") or "")
    return names


def read_rtstruct(
    path: Path,
    rel_path: str,
    resolve: SeriesResolver,
    matcher: NameMatcher,
) -> RoiSet:
    """Read the wanted ROIs of the RTSTRUCT at ``path``.

    Parameters
    ----------
    path
        The file on disk.
    rel_path
        Its path relative to the export (used in error records).
    resolve
        Maps (referenced series UIDs, frame of reference UID) to the referenced
        series' key and slice grid, or None when it is not in the index.
    matcher
        The ROI name matcher; ROIs of class ``other`` are not parsed.

    Returns
    -------
    RoiSet
        ROIs with contours on slice indices of the referenced grid; contours
        off every slice are left out and listed in ``errors``.

    Raises
    ------
    InputError
        When the file cannot be read or its series is missing (the caller
        records it in ``errors.csv`` and skips the file).
    """
    ds, raw = _read_structure_set(path)
    series_uids = referenced_series_uids(ds)
    for_uid = frame_of_reference_uid(ds)
    resolved = resolve(series_uids, for_uid)
    if resolved is None:
        named = ", ".join(series_uids) if series_uids else f"frame of reference {for_uid or '?'}"
        raise InputError(
            f"RTSTRUCT references series {named}, which is not an axial image series in the "
            "export; export the planning CT with the structure set"
        )
    series_key, grid = resolved
    by_roi = None
    if raw is not None and not raw.is_empty():
        names = _roi_names(ds)
        try:
            by_roi = _raw_roi_contours(raw, names, matcher)
        except (InputError, ValueError, struct.error) as exc:
            logger.debug("raw contour walk stopped (%s); reading with pydicom", type(exc).__name__)
    if by_roi is None:
        if raw is not None:
            ds = _dcmread(path)
        check_roi_contour_sequence(ds)
        names = _roi_names(ds)
        by_roi = _roi_contours(ds, names, matcher)
    tol = z_tolerance_mm(grid)
    rois: list[Roi] = []
    errors: list[ErrorRecord] = []
    contoured: set[int] = set()
    for number, contours in by_roi:
        name = names.get(number, f"ROI{number}")
        contoured.add(number)
        roi, messages = _contour_roi(name, contours, grid, tol, series_key)
        if roi is not None:
            rois.append(roi)
        errors.extend(ErrorRecord(rel_path, STAGE, m) for m in messages)
    for number, name in sorted(names.items()):
        if number not in contoured and matcher.wanted(name):
            errors.append(
                ErrorRecord(
                    rel_path,
                    STAGE,
                    f"ROI '{name}' has no item in ROIContourSequence (no contours); "
                    "nothing to measure",
                )
            )
    logger.debug("RTSTRUCT: %d ROIs on series %s", len(rois), series_key)
    meta = {
        "sop_instance_uid": str(ds.get("SOPInstanceUID", "") or ""),
        "approval": str(ds.get("ApprovalStatus", "") or "").upper(),
        "date": str(ds.get("StructureSetDate", "") or ""),
        "time": str(ds.get("StructureSetTime", "") or ""),
    }
    return RoiSet(rel_path, "rtstruct", series_key, grid, rois, errors, meta)
