"""Is a raw-byte walk of an RTSTRUCT's contours faster than pydicom's data sets?

Usage::

    python benchmarks/rtstruct_read.py [--repeats 15] [--copies 4]

Takes the structure set of ``tests/data/dicompyler-core/rtss.dcm.xz`` (10 ROIs, 441
contours; its contours are repeated ``--copies`` times to reach the size of a planning
structure set) and re-writes it as explicit VR little endian twice: once with defined
lengths, once with every sequence and every item of undefined length (as planning systems
write them). On each file it times, side by side in one run, the whole reading of the
contours into (N, 3) arrays:

(p) ``pydicom.dcmread`` + walking ``ROIContourSequence`` / ``ContourSequence`` data sets,
    each ContourData parsed from its still-raw element value (``Dataset.get_item``), as
    ``annotations/rtstruct.py`` does (``item.ContourData`` would build one DSfloat per
    number: about 30 times slower);
(r) ``pydicom.dcmread`` + the raw-byte walk of the old ``annotations/rawseq.py`` (kept
    here, in this file only, as the thing measured), falling back to (p) when pydicom
    has already parsed the sequence (it does so for undefined lengths).

Reports the median of ``--repeats`` runs per row and the ratio (r)/(p).
"""

from __future__ import annotations

import argparse
import copy
import lzma
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

SOURCE = Path(__file__).resolve().parents[1] / "tests/data/dicompyler-core/rtss.dcm.xz"
ROI_CONTOUR_SEQUENCE = 0x30060039
CONTOUR_SEQUENCE = 0x30060040
CONTOUR_DATA = 0x30060050
REFERENCED_ROI_NUMBER = 0x30060084
ITEM, ITEM_END, SEQUENCE_END, UNDEFINED = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD, 0xFFFFFFFF
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}
_TAG, _U32, _U16 = struct.Struct("<HH"), struct.Struct("<I"), struct.Struct("<H")

RawItem = dict[int, tuple[bytes, object]]


# --- the raw walk being measured (the deleted annotations/rawseq.py, condensed) -----------


def _raw_items(buf: memoryview, pos: int, end: int) -> tuple[list[RawItem], int]:
    out: list[RawItem] = []
    while pos + 8 <= end:
        group, elem = _TAG.unpack_from(buf, pos)
        tag, length = (group << 16) | elem, _U32.unpack_from(buf, pos + 4)[0]
        pos += 8
        if tag == SEQUENCE_END:
            return out, pos
        if length == UNDEFINED:
            item, pos = _raw_elements(buf, pos, len(buf))
        else:
            item, _ = _raw_elements(buf, pos, pos + length)
            pos += length
        out.append(item)
    return out, pos


def _raw_elements(buf: memoryview, pos: int, end: int) -> tuple[RawItem, int]:
    out: RawItem = {}
    while pos + 8 <= end:
        group, elem = _TAG.unpack_from(buf, pos)
        tag = (group << 16) | elem
        if tag == ITEM_END:
            return out, pos + 8
        vr = bytes(buf[pos + 4 : pos + 6])
        if vr in LONG_VRS:
            length, pos = _U32.unpack_from(buf, pos + 8)[0], pos + 12
        else:
            length, pos = _U16.unpack_from(buf, pos + 6)[0], pos + 8
        if length == UNDEFINED:
            nested, pos = _raw_items(buf, pos, len(buf))
            out[tag] = (b"SQ", nested)
            continue
        out[tag] = (vr, buf[pos : pos + length])
        pos += length
    return out, pos


def _points(value: bytes | memoryview) -> np.ndarray:
    text = bytes(value).strip(b" \x00")
    return np.array(text.split(b"\\"), dtype=float).reshape(-1, 3)


def read_pydicom(path: Path) -> list[tuple[int, list[np.ndarray]]]:
    """(p): dcmread + data set walking."""
    return _walk_datasets(pydicom.dcmread(path, force=True))


def _walk_datasets(ds: Dataset) -> list[tuple[int, list[np.ndarray]]]:
    out = []
    for roi in ds.ROIContourSequence:
        contours = [_points(c.get_item(CONTOUR_DATA).value) for c in roi.get("ContourSequence", [])]
        out.append((int(roi.ReferencedROINumber), contours))
    return out


def read_raw(path: Path) -> list[tuple[int, list[np.ndarray]]]:
    """(r): dcmread + raw walk of the still-raw ROIContourSequence, else (p)."""
    ds = pydicom.dcmread(path, force=True)
    value = ds.get_item(ROI_CONTOUR_SEQUENCE).value
    if not isinstance(value, bytes | bytearray):
        return _walk_datasets(ds)  # pydicom parsed it already (undefined length)
    view = memoryview(value)
    out = []
    for roi in _raw_items(view, 0, len(view))[0]:
        number = int(bytes(roi[REFERENCED_ROI_NUMBER][1]).strip(b" \x00"))
        nested = roi.get(CONTOUR_SEQUENCE)
        items = []
        if nested is not None:
            raw = nested[1]
            items = raw if isinstance(raw, list) else _raw_items(raw, 0, len(raw))[0]  # type: ignore[arg-type]
        out.append((number, [_points(item[CONTOUR_DATA][1]) for item in items]))
    return out


# --- test files --------------------------------------------------------------------------


def _mark_undefined(ds: Dataset) -> None:
    for element in ds:
        if element.VR == "SQ":
            element.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
                _mark_undefined(item)


def make_files(workdir: Path, copies: int) -> dict[str, Path]:
    """Write the defined-length and undefined-length explicit VR little endian copies."""
    ds = pydicom.dcmread(BytesIO(lzma.decompress(SOURCE.read_bytes())))
    for roi in ds.ROIContourSequence:
        items = list(roi.get("ContourSequence", []))
        roi.ContourSequence = Sequence([copy.deepcopy(c) for _ in range(copies) for c in items])
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    files = {}
    defined = workdir / "rtss_defined.dcm"
    ds.save_as(defined, enforce_file_format=True)
    files["defined lengths"] = defined
    _mark_undefined(ds)
    undefined = workdir / "rtss_undefined.dcm"
    ds.save_as(undefined, enforce_file_format=True)
    files["undefined lengths"] = undefined
    raw = undefined.read_bytes()
    assert b"\xfe\xff\xdd\xe0" in raw and b"\xfe\xff\x0d\xe0" in raw, "no undefined lengths written"
    return files


def _median_s(fn: Callable[[Path], object], path: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Print the table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--copies", type=int, default=1, help="copies of every contour")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), args.copies)
        print(
            f"| file ({args.copies} x 441 contours) | size KB | (p) pydicom ms | (r) raw ms "
            "| (r)/(p) |"
        )
        print("|---|---:|---:|---:|---:|")
        for label, path in files.items():
            a, b = read_pydicom(path), read_raw(path)
            assert len(a) == len(b) and all(
                n1 == n2 and all(np.array_equal(x, y) for x, y in zip(c1, c2, strict=True))
                for (n1, c1), (n2, c2) in zip(a, b, strict=True)
            ), "the two readers disagree"
            p = r = 0.0
            p_times, r_times = [], []
            for _ in range(args.repeats):  # interleaved, so both see the same machine load
                p_times.append(_median_s(read_pydicom, path, 1))
                r_times.append(_median_s(read_raw, path, 1))
            p, r = statistics.median(p_times), statistics.median(r_times)
            size = path.stat().st_size / 1024
            print(f"| {label} | {size:.0f} | {p * 1e3:.1f} | {r * 1e3:.1f} | {r / p:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
