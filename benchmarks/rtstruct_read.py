"""Is the raw-byte contour walk of ``annotations/rtstruct.py`` faster than pydicom's data sets?

Usage::

    python benchmarks/rtstruct_read.py [--repeats 15] [--copies 1]

Takes the structure set of ``tests/data/dicompyler-core/rtss.dcm.xz`` (10 ROIs, 441
contours; ``--copies`` repeats its contours to reach the size of a planning structure
set) and re-writes it as explicit VR little endian twice: once with defined lengths, once
with every sequence and every item of undefined length (as planning systems write them).
On each file it times, interleaved in one run, the whole reading of the contours into
(N, 3) arrays:

(p) ``pydicom.dcmread`` + walking ``ROIContourSequence`` / ``ContourSequence`` data sets,
    each ContourData parsed from its still-raw element value (``Dataset.get_item``): the
    pydicom path of ``annotations/rtstruct.py`` (``item.ContourData`` would build one
    DSfloat per number: about 30 times slower);
(r) the reader of ``annotations/rtstruct.py``: pydicom reads the file with the
    ROIContourSequence cut out, the contours come from the raw bytes through
    ``dicom.elements.sequence_items`` (the shared element loop).

Reports the median of ``--repeats`` runs per row and the ratio (r)/(p).
"""

from __future__ import annotations

import argparse
import copy
import lzma
import statistics
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

from imncohort.annotations.rtstruct import _raw_roi_contours, _read_structure_set, _roi_names

SOURCE = Path(__file__).resolve().parents[1] / "tests/data/dicompyler-core/rtss.dcm.xz"
CONTOUR_DATA = 0x30060050

Contours = list[tuple[int, list[np.ndarray]]]


class _Everything:
    """A name matcher that wants every ROI."""

    def wanted(self, name: str) -> bool:
        return True


def _points(value: bytes) -> np.ndarray:
    text = bytes(value).strip(b" \x00")
    return np.array(text.split(b"\\"), dtype=float).reshape(-1, 3)


def read_pydicom(path: Path) -> Contours:
    """(p): dcmread + data set walking."""
    ds: Dataset = pydicom.dcmread(path, force=True)
    out = []
    for roi in ds.ROIContourSequence:
        contours = [_points(c.get_item(CONTOUR_DATA).value) for c in roi.get("ContourSequence", [])]
        out.append((int(roi.ReferencedROINumber), contours))
    return out


def read_raw(path: Path) -> Contours:
    """(r): the reader of annotations/rtstruct.py (raw walk of the ROIContourSequence)."""
    ds, raw = _read_structure_set(path)
    assert raw is not None, "the raw walk did not take the file"
    by_roi = _raw_roi_contours(raw, _roi_names(ds), _Everything())  # type: ignore[arg-type]
    return [(number, [points for _, points in contours]) for number, contours in by_roi]


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
