"""Read a DICOM Segmentation (SEG) into LPS masks on its referenced series' slices.

Segment labels are the ROI names. Only frames of segments whose names the
measure stage uses are decoded. Each frame is placed by its Plane Position
(Patient) on the slice of the referenced series at the same z; the in-plane
grid is the SEG's own (orientation, pixel spacing, first frame's position).

The per-frame functional groups (one item per frame) are read from the raw bytes
pydicom keeps for a sequence of defined length, with the element loop of
:mod:`imncohort.dicom.elements`; anything that loop does not take sends the SEG down
the pydicom path, which words every error message.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from imncohort.annotations.models import MaskRoi, RoiSet, SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.rtstruct import SeriesResolver, z_tolerance_mm
from imncohort.dicom.elements import RawItem, item_value, nested_items, sequence_items
from imncohort.dicom.sop import NON_PIXEL_SEG_SOP_CLASSES
from imncohort.errors import InputError
from imncohort.geometry.orientation import is_axial
from imncohort.outputs import ErrorRecord
from imncohort.textfmt import numbers as fmt_numbers

logger = logging.getLogger(__name__)

STAGE = "measure"


def _referenced_series(ds: Dataset) -> list[str]:
    uids: list[str] = []
    for item in ds.get("ReferencedSeriesSequence", []) or []:
        uid = str(item.get("SeriesInstanceUID", "") or "")
        if uid and uid not in uids:
            uids.append(uid)
    return uids


def _group(ds: Dataset, frame: Dataset | None, name: str) -> Dataset | None:
    """Functional group ``name`` of one frame, else the shared one."""
    if frame is not None and name in frame:
        return frame[name].value[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared and name in shared[0]:
        return shared[0][name].value[0]
    return None


def _native_pixels(ds: Dataset) -> bool:
    """Whether the Pixel Data are native (not encapsulated) little-endian bytes.

    Deflated data sets count as native: pydicom has inflated them on reading.
    """
    uid = UID(str(ds.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
    return uid.is_transfer_syntax and uid.is_little_endian and not uid.is_encapsulated


def _stored_frames(ds: Dataset, path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Stored values of the 0-based frames ``indices``.

    Uncompressed data are sliced from the Pixel Data bytes (1-bit BINARY
    frames are unpacked, little-endian bit order, frames packed back to back);
    compressed data are decoded by highdicom, frame by frame.
    """
    rows, cols = int(ds.Rows), int(ds.Columns)
    n_pixels = rows * cols
    bits = int(ds.get("BitsAllocated", 1))
    if _native_pixels(ds) and bits in (1, 8, 16):
        data = ds.PixelData
        out: dict[int, np.ndarray] = {}
        for index in indices:
            if bits == 1:
                start = index * n_pixels
                first, last = start // 8, (start + n_pixels + 7) // 8 + 1
                chunk = np.frombuffer(data[first:last], dtype=np.uint8)
                flat = np.unpackbits(chunk, bitorder="little")[start - first * 8 :][:n_pixels]
            else:
                dtype = np.uint8 if bits == 8 else np.dtype("<u2")
                size = n_pixels * (bits // 8)
                flat = np.frombuffer(data[index * size : (index + 1) * size], dtype=dtype)
            if flat.size != n_pixels:
                raise InputError(f"SEG pixel data end before frame {index + 1}")
            out[index] = flat.reshape(rows, cols)
        return out
    seg = hd.seg.segread(path, lazy_frame_retrieval=True)
    stack = seg.get_stored_frames([i + 1 for i in indices])
    return {i: stack[n] for n, i in enumerate(indices)}


PER_FRAME = 0x52009230
PLANE_POSITION = 0x00209113
IMAGE_POSITION = 0x00200032
SEGMENT_IDENTIFICATION = 0x0062000A
REFERENCED_SEGMENT_NUMBER = 0x0062000B
_US = struct.Struct("<H")

# (ReferencedSegmentNumber, ImagePositionPatient) of one frame
FrameInfo = tuple[int | None, np.ndarray | None]


def _frame_info(ds: Dataset, raw: list[FrameInfo] | None) -> list[FrameInfo]:
    """(referenced segment number, ImagePositionPatient) of every frame.

    ``raw`` is :func:`_raw_frames` (None: the pydicom path). The shared functional
    groups supply what a frame does not hold.
    """
    if raw is not None:
        return _with_shared_groups(ds, raw)
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    frames = ds.get("PerFrameFunctionalGroupsSequence", []) or []
    result: list[FrameInfo] = []
    for index in range(n_frames):
        frame = frames[index] if index < len(frames) else None
        ident = _group(ds, frame, "SegmentIdentificationSequence")
        position = _group(ds, frame, "PlanePositionSequence")
        result.append(
            (
                int(ident.ReferencedSegmentNumber) if ident is not None else None,
                np.asarray(position.ImagePositionPatient, dtype=float)
                if position is not None
                else None,
            )
        )
    return result


def _with_shared_groups(ds: Dataset, raw: list[FrameInfo]) -> list[FrameInfo]:
    """The raw frames' values, the shared functional groups' where a frame has none."""
    if all(segment is not None and ipp is not None for segment, ipp in raw):
        return raw
    ident = _group(ds, None, "SegmentIdentificationSequence")
    position = _group(ds, None, "PlanePositionSequence")
    shared_segment = int(ident.ReferencedSegmentNumber) if ident is not None else None
    shared_ipp = (
        np.asarray(position.ImagePositionPatient, dtype=float) if position is not None else None
    )
    return [
        (
            shared_segment if segment is None else segment,
            shared_ipp if ipp is None else ipp,
        )
        for segment, ipp in raw
    ]


def _raw_frames(ds: Dataset) -> list[FrameInfo] | None:
    """Each frame's own (ReferencedSegmentNumber, ImagePositionPatient) from raw bytes.

    None stands for a value the frame's own functional groups do not hold. Returns
    None for the whole list when pydicom has parsed the sequence already (undefined
    length), it is absent, or its bytes or values are anything but plain (the pydicom
    path then reads it and words the error).
    """
    element = ds.get_item(PER_FRAME)
    if not isinstance(element, RawDataElement) or not element.is_little_endian:
        return None
    value = element.value
    if not isinstance(value, bytes):
        return None
    explicit = not element.is_implicit_VR and element.VR != "UN"
    try:
        return [
            (_raw_segment_number(value, item), _raw_position(value, item))
            for item in sequence_items(value, 0, len(value), explicit, len(value), PER_FRAME)
        ]
    except (InputError, ValueError, struct.error) as exc:
        logger.debug("raw per-frame walk stopped (%s); reading with pydicom", type(exc).__name__)
        return None


def _first_nested(buf: bytes, item: RawItem, tag: int) -> RawItem | None:
    """The first item of nested sequence ``tag`` (None when the tag is absent).

    Raises
    ------
    ValueError
        When the sequence is present but empty.
    """
    if tag not in item:
        return None
    for nested in nested_items(buf, item, tag, len(buf)):
        return nested
    raise ValueError(f"empty functional group {tag:08X}")


def _raw_segment_number(buf: bytes, frame: RawItem) -> int | None:
    ident = _first_nested(buf, frame, SEGMENT_IDENTIFICATION)
    if ident is None:
        return None
    value = item_value(buf, ident, REFERENCED_SEGMENT_NUMBER)
    if value is None or len(value) != 2:
        raise ValueError("ReferencedSegmentNumber is not one US value")
    return int(_US.unpack(value)[0])


def _raw_position(buf: bytes, frame: RawItem) -> np.ndarray | None:
    position = _first_nested(buf, frame, PLANE_POSITION)
    if position is None:
        return None
    value = item_value(buf, position, IMAGE_POSITION)
    text = value.strip(b" \x00") if value is not None else b""
    numbers = np.array(text.split(b"\\"), dtype=float) if text else np.zeros(0)
    if numbers.size != 3:
        raise ValueError("ImagePositionPatient is not three numbers")
    return numbers


def seg_slice_step_mm(ct_grid: SliceGrid, measures: Dataset) -> float:
    """Stated slice step of a SEG on a single-slice series, else 0 (spacing from positions).

    The series' own step (its SliceThickness) comes first, then the SEG's
    SpacingBetweenSlices, then its SliceThickness (Pixel Measures functional group).
    """
    if ct_grid.n_slices != 1:
        return 0.0
    if ct_grid.slice_step_mm > 0:
        return float(ct_grid.slice_step_mm)
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            value = float(measures.get(keyword, 0) or 0)
        except (TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            return value
    return 0.0


def _cropped(name: str, planes: dict[int, np.ndarray], grid: SliceGrid) -> MaskRoi | None:
    """A mask ROI on the bounding box of the non-empty planes (slice index -> mask)."""
    boxes = []
    for k, plane in planes.items():
        rows_any = np.flatnonzero(plane.any(axis=1))
        if rows_any.size:
            cols_any = np.flatnonzero(plane.any(axis=0))
            boxes.append((k, rows_any[0], rows_any[-1], cols_any[0], cols_any[-1]))
    if not boxes:
        return None
    box = np.asarray(boxes)
    k0, k1 = int(box[:, 0].min()), int(box[:, 0].max()) + 1
    j0, j1 = int(box[:, 1].min()), int(box[:, 2].max()) + 1
    i0, i1 = int(box[:, 3].min()), int(box[:, 4].max()) + 1
    mask = np.zeros((k1 - k0, j1 - j0, i1 - i0), dtype=bool)
    for k, plane in planes.items():
        if k0 <= k < k1:
            mask[k - k0] |= plane[j0:j1, i0:i1]
    return MaskRoi(name, mask, grid.crop(k0, k1, j0, j1, i0, i1))


def _per_frame_items(ds: Dataset, raw: list[FrameInfo] | None) -> int | None:
    """Number of PerFrameFunctionalGroupsSequence items (None when the sequence is absent)."""
    if raw is not None:
        return len(raw)
    if ds.get_item(PER_FRAME) is None:
        return None
    return len(ds.get("PerFrameFunctionalGroupsSequence") or [])


def check_frames(ds: Dataset, raw: list[FrameInfo] | None = None) -> None:
    """Raise :class:`InputError` when the SEG's frame count does not hold together.

    ``raw`` is :func:`_raw_frames` (None: count the items with pydicom).

    NumberOfFrames must be at least 1, equal the number of per-frame functional
    group items and, for uncompressed data, fit the Pixel Data length.
    """
    declared = ds.get("NumberOfFrames")
    try:
        n_frames = int(declared) if declared not in (None, "") else 1
    except (TypeError, ValueError):
        raise InputError(f"SEG NumberOfFrames {declared!r} is not a number") from None
    if n_frames < 1:
        raise InputError(f"SEG holds no frames (NumberOfFrames {n_frames})")
    items = _per_frame_items(ds, raw)
    if items is None:
        raise InputError("SEG has no PerFrameFunctionalGroupsSequence; its frames cannot be placed")
    if items != n_frames:
        raise InputError(
            f"SEG declares NumberOfFrames {n_frames} but its per-frame functional groups hold "
            f"{items} item(s) (cut file or wrong header)"
        )
    pixels = ds.get_item(0x7FE00010)
    if not _native_pixels(ds):
        return
    if pixels is None or pixels.value is None:
        raise InputError("SEG has no Pixel Data")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    bits = int(ds.get("BitsAllocated", 1) or 1)
    if rows <= 0 or cols <= 0:
        raise InputError(f"SEG Rows x Columns is {rows} x {cols}")
    needed = (n_frames * rows * cols * bits + 7) // 8
    have = len(pixels.value)
    if have < needed:
        raise InputError(
            f"SEG pixel data hold {have} bytes but {n_frames} frame(s) of {rows} x {cols} "
            f"need {needed} (cut file or wrong NumberOfFrames)"
        )
    frame_bytes = rows * cols * bits / 8
    if have - needed >= max(2.0, frame_bytes):
        raise InputError(
            f"SEG pixel data hold {have} bytes, more than the {n_frames} frame(s) declared "
            f"by NumberOfFrames (wrong NumberOfFrames)"
        )


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
    seg = _read_pixel_seg(path)
    raw_frames = _raw_frames(seg)
    check_frames(seg, raw_frames)
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
    seg_type = str(seg.get("SegmentationType", "BINARY")).upper()
    # Label 0 of a label map is the background (whatever its segment description says).
    wanted = {n for n, label in labels.items() if matcher.wanted(label) and n > 0}
    frame_info = _frame_info(seg, raw_frames)
    iop, spacing, measures = _plane_geometry(seg)
    placed = _place_frames(frame_info, seg_type, wanted, ct_grid)
    errors = [ErrorRecord(rel_path, STAGE, m) for m in placed.messages(series_key)]
    if placed.origin_xy is None:
        return RoiSet(rel_path, "seg", series_key, ct_grid, [], errors)
    origins = np.column_stack(
        [
            np.full(ct_grid.n_slices, placed.origin_xy[0]),
            np.full(ct_grid.n_slices, placed.origin_xy[1]),
            ct_grid.z_mm,
        ]
    )
    grid = SliceGrid(
        origins,
        iop[:3],
        iop[3:],
        float(spacing[0]),
        float(spacing[1]),
        int(seg.Rows),
        int(seg.Columns),
        slice_step_mm=seg_slice_step_mm(ct_grid, measures),
    )
    rois = _segment_rois(seg, path, placed.per_segment, labels, grid)
    logger.debug("SEG: %d segments on series %s", len(rois), series_key)
    return RoiSet(rel_path, "seg", series_key, grid, list(rois), errors)


def _read_pixel_seg(path: Path) -> Dataset:
    """Read a SEG; raise for classes without a voxel mask (Surface, Heightmap)."""
    try:
        seg = pydicom.dcmread(path)
    except Exception as exc:
        raise InputError(f"cannot read SEG: {exc}") from None
    sop_class = str(seg.get("SOPClassUID", "") or "")
    if sop_class in NON_PIXEL_SEG_SOP_CLASSES:
        raise InputError(
            f"{NON_PIXEL_SEG_SOP_CLASSES[sop_class]} object (SOP class {sop_class}) holds no "
            "voxel mask; nodes are measured from Segmentation or Label Map Segmentation objects"
        )
    return seg


def _plane_geometry(seg: Dataset) -> tuple[np.ndarray, np.ndarray, Dataset]:
    """(ImageOrientationPatient, PixelSpacing, Pixel Measures item) of an axial SEG.

    Raises
    ------
    InputError
        No orientation or spacing, not in patient coordinates, or not axial
        (:func:`imncohort.geometry.orientation.is_axial`).
    """
    first = None
    if (
        _group(seg, None, "PlaneOrientationSequence") is None
        or _group(seg, None, "PixelMeasuresSequence") is None
    ):
        first = (seg.get("PerFrameFunctionalGroupsSequence") or [None])[0]
    orientation = _group(seg, first, "PlaneOrientationSequence")
    measures = _group(seg, first, "PixelMeasuresSequence")
    if orientation is None or measures is None:
        raise InputError("SEG has no plane orientation or pixel spacing; cannot place it")
    if "ImageOrientationPatient" not in orientation or "PixelSpacing" not in measures:
        raise InputError(
            "SEG is not placed in patient coordinates (no ImageOrientationPatient or "
            "PixelSpacing, e.g. a slide microscopy segmentation); cannot place it"
        )
    iop = np.asarray(orientation.ImageOrientationPatient, dtype=float)
    if not is_axial(iop):
        raise InputError(f"SEG is not axial (orientation {fmt_numbers(np.round(iop, 4))}); skipped")
    return iop, np.asarray(measures.PixelSpacing, dtype=float), measures


@dataclass
class _PlacedFrames:
    """Which frames go on which slice, per wanted segment."""

    labelmap: bool
    per_segment: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    origin_xy: np.ndarray | None = None
    off: int = 0
    unnamed: int = 0

    def messages(self, series_key: str) -> list[str]:
        """The errors.csv messages about unplaced frames."""
        out = []
        if self.unnamed and not self.labelmap:
            out.append(
                f"{self.unnamed} SEG frame(s) name no segment (no SegmentIdentificationSequence); "
                "skipped"
            )
        if self.off:
            out.append(f"{self.off} SEG frame(s) off every slice of series {series_key}")
        return out


def _place_frames(
    frame_info: list[tuple[int | None, np.ndarray | None]],
    seg_type: str,
    wanted: set[int],
    ct_grid: SliceGrid,
) -> _PlacedFrames:
    """Map each frame of a wanted segment to the CT slice at its z (hand-written mapper).

    Raises
    ------
    InputError
        When a wanted frame has no plane position.
    """
    tol = z_tolerance_mm(ct_grid)
    placed = _PlacedFrames(labelmap=seg_type == "LABELMAP")
    placed.unnamed = sum(1 for segment, _ in frame_info if segment is None)
    for index, (segment, ipp) in enumerate(frame_info):
        if placed.labelmap:
            numbers = sorted(wanted)
        elif segment is None or segment not in wanted:
            continue
        else:
            numbers = [segment]
        if ipp is None:
            raise InputError(f"SEG frame {index + 1} has no plane position; cannot place it")
        if placed.origin_xy is None:
            placed.origin_xy = ipp[:2]
        k = ct_grid.slice_index(float(ipp[2]), tol)
        if k is None:
            placed.off += 1
            continue
        for number in numbers:
            placed.per_segment.setdefault(number, []).append((index, k))
    return placed


def _segment_rois(
    seg: Dataset,
    path: Path,
    per_segment: dict[int, list[tuple[int, int]]],
    labels: dict[int, str],
    grid: SliceGrid,
) -> list[MaskRoi]:
    """Decode the placed frames and build one cropped mask ROI per segment."""
    seg_type = str(seg.get("SegmentationType", "BINARY")).upper()
    needed = sorted({index for pairs in per_segment.values() for index, _ in pairs})
    stored = _stored_frames(seg, path, needed) if needed else {}
    threshold = 0.5
    if seg_type == "FRACTIONAL":
        threshold = float(seg.get("MaximumFractionalValue", 255)) / 2.0
    rois: list[MaskRoi] = []
    for number in sorted(per_segment):
        planes: dict[int, np.ndarray] = {}
        for index, k in per_segment[number]:
            pixels = stored[index]
            if seg_type == "LABELMAP":
                plane = pixels == number
            elif seg_type == "FRACTIONAL":
                plane = pixels > threshold
            else:
                plane = pixels > 0
            planes[k] = planes[k] | plane if k in planes else plane
        roi = _cropped(labels[number], planes, grid)
        if roi is not None:
            rois.append(roi)
    return rois
