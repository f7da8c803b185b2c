"""The SEG frame-to-slice mapper against highdicom's ``Segmentation.get_volume()``.

Usage::

    python benchmarks/seg_read.py [--repeats 15]

On highdicom's own test SEGs (``tests/data/highdicom``) over pydicom's CT2 series (4 slices
at z -99.48 and 103.02-105.52 mm), times, side by side in one run, the whole reading of
every segment into slice planes of the referenced CT:

(m) ``imncohort.annotations.seg.read_seg``: each frame placed on the CT slice at its z;
(v) ``highdicom.seg.segread(...).get_volume()`` (highdicom 0.28.2), then each volume
    slice placed on the CT slice at its z (the least the audit needs on top of
    ``get_volume``; timing only, fractional thresholds are not applied).

Also prints how many volume slices ``get_volume`` creates: it fills the gaps between
frames with empty planes (165 slices for the 8 frames of the overlap SEG), so a frame
that lies off every CT slice can no longer be told from a filled gap; the audit lists
such frames in ``errors.csv``. Reports medians of ``--repeats`` runs and the ratio (v)/(m).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import realdata as rd

from imncohort.annotations.models import SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.rtstruct import z_tolerance_mm
from imncohort.annotations.seg import read_seg

NAMES = ["^first segment$", "^second segment$"]


def ct_grid(paths: list[Path]) -> SliceGrid:
    """The slice grid of a CT series (sorted by z)."""
    cts = sorted(
        (pydicom.dcmread(p) for p in paths), key=lambda d: float(d.ImagePositionPatient[2])
    )
    iop = np.asarray(cts[0].ImageOrientationPatient, dtype=float)
    spacing = [float(v) for v in cts[0].PixelSpacing]
    origins = np.array([[float(v) for v in d.ImagePositionPatient] for d in cts])
    return SliceGrid(
        origins, iop[:3], iop[3:], spacing[0], spacing[1], int(cts[0].Rows), int(cts[0].Columns)
    )


def by_volume(path: Path, grid: SliceGrid) -> dict[int, dict[int, np.ndarray]]:
    """(v): segment -> CT slice index -> plane, through ``get_volume``."""
    seg = hd.seg.segread(path)
    tol = z_tolerance_mm(grid)
    out: dict[int, dict[int, np.ndarray]] = {}
    for number in seg.segment_numbers:
        volume = seg.get_volume(segment_numbers=[number], combine_segments=True)
        array = volume.array
        for k in range(array.shape[0]):
            z = float((volume.affine @ np.array([k, 0, 0, 1.0]))[2])
            slice_index = grid.slice_index(z, tol)
            if slice_index is not None and array[k].any():
                out.setdefault(number, {})[slice_index] = array[k] > 0
    return out


def _median_ms(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        grid = ct_grid(rd.write_ct2(tmp / "ct"))
        matcher = NameMatcher(rd.config_with_nodes(tmp, NAMES).names)
        print(
            "| SEG | frames | get_volume slices | (m) read_seg ms | (v) get_volume ms | (v)/(m) |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name in (
            "seg_image_ct_binary",
            "seg_image_ct_binary_overlap",
            "seg_image_ct_binary_fractional",
        ):
            path = rd.put(f"highdicom/{name}.dcm", tmp / f"{name}.dcm")
            seg = hd.seg.segread(path)
            slices = seg.get_volume().spatial_shape[0]
            m = _median_ms(
                lambda p=path: read_seg(p, p.name, lambda u, f: ("S", grid), matcher), args.repeats
            )
            v = _median_ms(lambda p=path: by_volume(p, grid), args.repeats)
            print(f"| {name} | {seg.NumberOfFrames} | {slices} | {m:.1f} | {v:.1f} | {v / m:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
