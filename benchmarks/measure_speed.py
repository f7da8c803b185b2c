"""Benchmark: the measure stage vs a naive pixel-loading baseline, on demo studies.

Baseline per study: load the full CT series with SimpleITK, rasterise every ROI
of each RTSTRUCT with rt-utils (which reads the whole series again with
pydicom), read SEG / NIfTI label volumes whole (highdicom / SimpleITK), then
measure from the masks with the same geometry functions. The measure stage
reads geometry from the index and never the CT pixels (QC pictures read one
slice per node; timed separately).

rt-utils is not a dependency of imncohort. Install it outside the project venv,
for example::

    pip download rt-utils opencv-python-headless --no-deps -d /tmp/rtdl
    pip install --target /tmp/rtutils_pkgs --no-deps /tmp/rtdl/*.whl

and pass ``--rt-utils-path /tmp/rtutils_pkgs`` (it is appended to ``sys.path``
so that the project's pydicom and numpy win). Installing rt-utils into the
project venv pulls the ``dataclasses`` backport, which breaks Prefect's
server: run ``pip uninstall -y dataclasses`` afterwards if you do that.

Usage::

    python benchmarks/measure_speed.py --patients 50 --workdir /tmp/imn-bench
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from imncohort.annotations.names import NameMatcher
from imncohort.annotations.sidecar import read_sidecar
from imncohort.config import Config, load_config
from imncohort.geometry.axes import long_short_axis
from imncohort.geometry.components import mask_component_sections
from imncohort.geometry.imv import imv_center_at
from imncohort.geometry.intercostal import intercostal_spaces, rib_level_z
from imncohort.geometry.offsets import node_offsets
from imncohort.geometry.reference import reference_section, volume_ml, z_extent
from imncohort.geometry.sections import sections_from_mask
from imncohort.layout import index_table
from imncohort.measure.plan import StudyJob, plan_jobs
from imncohort.measure.series import SeriesGeometry, load_index
from imncohort.measure.study import measure_study


def build_export(workdir: Path, patients: int, seed: int) -> tuple[Path, Path]:
    """Write the demo export and index it (not timed)."""
    from imncohort.demo.export import write_demo_export
    from imncohort.index.stage import index_export

    export, out = workdir / "export", workdir / "out"
    if not (export / "ground_truth.json").exists():
        shutil.rmtree(workdir, ignore_errors=True)
        write_demo_export(export, patients, seed)
    if not index_table(out, "series").exists():
        index_export(export, out, chunk_size=2000, secret=b"benchmark")
    return export, out


# ----------------------------------------------------------------- baseline


def _affine_from_sitk(image: sitk.Image) -> np.ndarray:
    """(i, j, k) -> LPS of a SimpleITK image (its physical space is LPS)."""
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * np.asarray(image.GetSpacing())[None, :]
    affine[:3, 3] = image.GetOrigin()
    return affine


def _measure_masks(
    masks: dict[str, np.ndarray], affine: np.ndarray, matcher: NameMatcher, config: Config
) -> list[dict[str, Any]]:
    """Measure nodes from full-volume masks (kji) with the geometry functions."""
    spacing = abs(float(affine[2, 2])) or 1.0
    vessels: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ribs: dict[str, dict[int, float]] = {"left": {}, "right": {}}
    for name, mask in masks.items():
        match = matcher.match(name)
        if match.roi_class == "vessel":
            secs = sections_from_mask(mask, affine)
            if secs:
                side = match.side or ("left" if secs[0].centroid_xy_lps[0] > 0 else "right")
                vessels[side] = (
                    np.array([s.z_mm for s in secs]),
                    np.stack([s.centroid_xy_lps for s in secs]),
                )
        elif match.roi_class == "rib" and match.rib is not None and match.side:
            kk, jj, ii = np.nonzero(mask)
            pts = np.column_stack([ii, jj, kk, np.ones(len(ii))]) @ affine[:3].T
            if len(pts):
                ribs[match.side][match.rib] = rib_level_z(pts)
    rows = []
    for name, mask in masks.items():
        match = matcher.match(name)
        if match.roi_class != "node":
            continue
        for comp in mask_component_sections(mask, affine):
            ref = reference_section(comp)
            side = match.side or ("left" if ref.centroid_xy_lps[0] > 0 else "right")
            long_mm, short_mm = long_short_axis(ref.boundary_xy_lps)
            row: dict[str, Any] = {"roi_name": name, "long": long_mm, "short": short_mm}
            row["volume_ml"] = volume_ml(comp, spacing)
            if side in vessels:
                xy, _ = imv_center_at(
                    ref.z_mm, *vessels[side], config.nodes.imv_extrapolation_limit_mm
                )
                row["offsets"] = node_offsets(ref, xy, side)  # type: ignore[arg-type]
            if ribs[side]:
                row["spaces"] = intercostal_spaces(*z_extent(comp), ribs[side])
            rows.append(row)
    return rows


def readable_paths(job: StudyJob, export: Path, scratch: Path) -> dict[str, list[str]]:
    """Series key -> paths whose pixels can be read (the demo hides truncated files in
    series; a naive reader would stop on them). Links them into ``scratch`` for rt-utils.
    Not timed."""
    import pydicom

    result: dict[str, list[str]] = {}
    for key, geometry in job.series.items():
        good = []
        for path in geometry.paths:
            try:
                pydicom.dcmread(export / path).pixel_array  # noqa: B018
                good.append(path)
            except Exception:
                continue
        result[key] = good
        series_dir = scratch / key.replace("#", "_")
        series_dir.mkdir(parents=True, exist_ok=True)
        for n, path in enumerate(good):
            (series_dir / f"{n:05d}.dcm").symlink_to((export / path).resolve())
    return result


def baseline_study(
    job: StudyJob, export: Path, config: Config, scratch: Path, paths: dict[str, list[str]]
) -> int:
    """Naive measurement of one study; returns the number of nodes found."""
    from rt_utils import RTStructBuilder  # type: ignore[import-not-found]

    matcher = NameMatcher(config.names)
    n_nodes = 0
    for ann in job.annotations:
        geometry: SeriesGeometry = max(job.series.values(), key=lambda g: g.grid.n_slices)
        series_dir = scratch / geometry.series_key.replace("#", "_")
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames([str(export / p) for p in paths[geometry.series_key]])
        image = reader.Execute()  # the full CT series, pixels and all
        affine = _affine_from_sitk(image)
        masks: dict[str, np.ndarray] = {}
        if ann.kind == "rtstruct":
            rt = RTStructBuilder.create_from(
                str(series_dir), str(export / ann.path), warn_only=True
            )
            for name in rt.get_roi_names():
                mask_rcs = rt.get_roi_mask_by_name(name)  # (rows, columns, slices), z ascending
                masks[name] = np.transpose(mask_rcs, (2, 0, 1))
            zs = np.array([float(ds.ImagePositionPatient[2]) for ds in rt.series_data])
            affine = affine.copy()
            affine[:3, 3] = np.asarray(rt.series_data[0].ImagePositionPatient, dtype=float)
            if len(zs) > 1:
                affine[:3, 2] = [0.0, 0.0, (zs[-1] - zs[0]) / (len(zs) - 1)]
        elif ann.kind == "nifti":
            labels_img = sitk.ReadImage(str(export / ann.path))
            arr = sitk.GetArrayFromImage(labels_img)  # (k, j, i)
            sidecar = read_sidecar(export / ann.sidecar)
            from imncohort.annotations.nifti import label_names

            for label, name in label_names(sidecar).items():
                if matcher.wanted(name):
                    masks[name] = arr == label
            affine = _affine_from_sitk(labels_img)
        else:
            import highdicom as hd

            seg = hd.seg.segread(export / ann.path)
            volume = seg.get_volume(combine_segments=False)
            array = np.asarray(volume.array)  # (slices, rows, columns, segments)
            # highdicom indexes (slice, row, column): reorder to (i=column, j=row, k=slice)
            affine = np.asarray(volume.affine)[:, [2, 1, 0, 3]]
            for n, number in enumerate(seg.segment_numbers):
                name = seg.get_segment_description(number).segment_label
                if matcher.wanted(name):
                    masks[name] = array[..., n] > 0
        n_nodes += len(_measure_masks(masks, affine, matcher, config))
    return n_nodes


# ----------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "imn-bench")
    parser.add_argument("--rt-utils-path", default="/tmp/rtutils_pkgs")
    args = parser.parse_args(argv)
    sys.path.append(args.rt_utils_path)
    config = load_config()
    export, out = build_export(args.workdir, args.patients, args.seed)

    start = time.perf_counter()
    jobs, _ = plan_jobs(load_index(out), export, config)
    plan_seconds = time.perf_counter() - start
    jobs = jobs[: args.patients]
    kinds = sorted({a.kind for j in jobs for a in j.annotations})

    cpu: list[float] = []

    def run_stage(qc: bool) -> list[float]:
        shutil.rmtree(out / "qc", ignore_errors=True)
        times = []
        cpu.clear()
        for job in jobs:
            t0, c0 = time.perf_counter(), time.process_time()
            measure_study(job, export, out if qc else None, config, qc=qc)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return times

    run_stage(False)  # warm imports and caches once
    stage = run_stage(False)
    stage_cpu = list(cpu)  # process CPU time: less moved by other processes than wall time
    stage_qc = run_stage(True)
    scratch = Path(tempfile.mkdtemp(prefix="imn-bench-series-"))
    baseline = []
    try:
        readable = [readable_paths(job, export, scratch) for job in jobs]
        for job, paths in zip(jobs, readable, strict=True):
            t0 = time.perf_counter()
            baseline_study(job, export, config, scratch, paths)
            baseline.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    total_stage = plan_seconds + sum(stage)
    total_qc = plan_seconds + sum(stage_qc)
    total_base = sum(baseline)
    print(f"studies: {len(jobs)} (annotation kinds: {', '.join(kinds)})")
    print(
        f"measure stage (no QC): total {total_stage:.2f} s (plan {plan_seconds:.2f} s), "
        f"per-study median {statistics.median(stage) * 1000:.0f} ms "
        f"(CPU {statistics.median(stage_cpu) * 1000:.1f} ms)"
    )
    print(
        f"measure stage (QC):    total {total_qc:.2f} s, "
        f"per-study median {statistics.median(stage_qc) * 1000:.0f} ms"
    )
    print(
        f"naive baseline:        total {total_base:.2f} s, "
        f"per-study median {statistics.median(baseline) * 1000:.0f} ms"
    )
    print(
        f"ratio (baseline / stage, no QC): {total_base / total_stage:.1f}x; "
        f"median ratio {statistics.median(baseline) / statistics.median(stage):.1f}x"
    )
    print(f"ratio (baseline / stage with QC pictures): {total_base / total_qc:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
