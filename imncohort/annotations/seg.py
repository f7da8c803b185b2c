"""Read a DICOM Segmentation (SEG) into LPS masks on its referenced series' slices.

Segment labels are the ROI names. Only frames of segments whose names the
measure stage uses are decoded. Each frame is placed by its Plane Position
(Patient) on the slice of the referenced series at the same z; the in-plane
grid is the SEG's own (orientation, pixel spacing, first frame's position).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np

from imncohort.annotations.models import MaskRoi, RoiSet, SliceGrid, cropped_mask_roi
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.rtstruct import SeriesResolver, z_tolerance_mm
from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord

log = logging.getLogger(__name__)

STAGE = "measure"


def _referenced_series(ds: Any) -> list[str]:
    uids: list[str] = []
    for item in ds.get("ReferencedSeriesSequence", []) or []:
        uid = str(item.get("SeriesInstanceUID", "") or "")
        if uid and uid not in uids:
            uids.append(uid)
    return uids


def _group(ds: Any, frame: Any, name: str) -> Any:
    """Functional group ``name`` of one frame, else the shared one."""
    if frame is not None and name in frame:
        return frame[name].value[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared and name in shared[0]:
        return shared[0][name].value[0]
    return None


def read_seg(path: Path, rel_path: str, resolve: SeriesResolver, matcher: NameMatcher) -> RoiSet:
    """Read the wanted segments of the SEG at ``path``.

    Parameters
    ----------
    path, rel_path
        The file on disk and its path relative to the export.
    resolve
        Maps (referenced series UIDs, frame of reference UID) to the
        referenced series' key and slice grid, or None.
    matcher
        ROI name matcher; segments of class ``other`` are not decoded.

    Returns
    -------
    RoiSet
        One :class:`MaskRoi` per wanted segment on a grid whose slices are
        those of the referenced series.

    Raises
    ------
    InputError
        Unreadable file, missing series or oblique segmentation.
    """
    try:
        seg = hd.seg.segread(path, lazy_frame_retrieval=True)
    except Exception as exc:
        raise InputError(f"cannot read SEG: {exc}") from None
    resolved = resolve(_referenced_series(seg), str(seg.get("FrameOfReferenceUID", "") or ""))
    if resolved is None:
        raise InputError(
            "SEG references a series that is not an axial image series in the export; "
            "export the segmented CT with it"
        )
    series_key, ct_grid = resolved
    labels = {
        int(item.SegmentNumber): str(item.get("SegmentLabel", "") or "")
        for item in seg.get("SegmentSequence", []) or []
    }
    wanted = {n for n, label in labels.items() if matcher.wanted(label)}
    seg_type = str(seg.get("SegmentationType", "BINARY")).upper()
    frames = seg.get("PerFrameFunctionalGroupsSequence", []) or []
    n_frames = int(seg.get("NumberOfFrames", len(frames)) or len(frames))
    orientation = _group(seg, frames[0] if frames else None, "PlaneOrientationSequence")
    measures = _group(seg, frames[0] if frames else None, "PixelMeasuresSequence")
    if orientation is None or measures is None:
        raise InputError("SEG has no plane orientation or pixel spacing; cannot place it")
    iop = np.asarray(orientation.ImageOrientationPatient, dtype=float)
    row_dir, col_dir = iop[:3], iop[3:]
    if abs(np.cross(row_dir, col_dir)[2]) < 0.999:
        raise InputError(f"SEG is not axial (orientation {list(np.round(iop, 4))}); skipped")
    spacing = np.asarray(measures.PixelSpacing, dtype=float)
    rows, cols = int(seg.Rows), int(seg.Columns)
    tol = z_tolerance_mm(ct_grid)
    per_segment: dict[int, list[tuple[int, int]]] = {}
    origin_xy: np.ndarray | None = None
    off = 0
    for index in range(n_frames):
        frame = frames[index] if index < len(frames) else None
        if seg_type == "LABELMAP":
            numbers = sorted(wanted)
        else:
            ident = _group(seg, frame, "SegmentIdentificationSequence")
            numbers = [int(ident.ReferencedSegmentNumber)] if ident is not None else []
            if not numbers or numbers[0] not in wanted:
                continue
        position = _group(seg, frame, "PlanePositionSequence")
        if position is None:
            raise InputError(f"SEG frame {index + 1} has no plane position; cannot place it")
        ipp = np.asarray(position.ImagePositionPatient, dtype=float)
        if origin_xy is None:
            origin_xy = ipp[:2]
        k = ct_grid.slice_index(float(ipp[2]), tol)
        if k is None:
            off += 1
            continue
        for number in numbers:
            per_segment.setdefault(number, []).append((index, k))
    errors: list[ErrorRecord] = []
    if off:
        errors.append(
            ErrorRecord(
                rel_path, STAGE, f"{off} SEG frame(s) off every slice of series {series_key}"
            )
        )
    if origin_xy is None:
        return RoiSet(rel_path, "seg", series_key, ct_grid, [], errors)
    origins = np.column_stack(
        [
            np.full(ct_grid.n_slices, origin_xy[0]),
            np.full(ct_grid.n_slices, origin_xy[1]),
            ct_grid.z_mm,
        ]
    )
    grid = SliceGrid(origins, row_dir, col_dir, float(spacing[0]), float(spacing[1]), rows, cols)
    needed = sorted({index for pairs in per_segment.values() for index, _ in pairs})
    stored: dict[int, np.ndarray] = {}
    if needed:
        stack = seg.get_stored_frames([i + 1 for i in needed])
        stored = {i: stack[n] for n, i in enumerate(needed)}
    threshold = 0.5
    if seg_type == "FRACTIONAL":
        threshold = float(seg.get("MaximumFractionalValue", 255)) / 2.0
    rois: list[MaskRoi] = []
    for number in sorted(per_segment):
        mask = np.zeros((ct_grid.n_slices, rows, cols), dtype=bool)
        for index, k in per_segment[number]:
            pixels = stored[index]
            if seg_type == "LABELMAP":
                mask[k] |= pixels == number
            elif seg_type == "FRACTIONAL":
                mask[k] |= pixels > threshold
            else:
                mask[k] |= pixels > 0
        roi = cropped_mask_roi(labels[number], mask, grid)
        if roi is not None:
            rois.append(roi)
    log.debug("SEG %s: %d segments on series %s", rel_path, len(rois), series_key)
    return RoiSet(rel_path, "seg", series_key, grid, list(rois), errors)
