"""How fast is the index? Builds a synthetic CT export and times five ways to scan it.

Usage::

    python benchmarks/index_speed.py [--files 20000] [--repeats 3] [--prefect] [--sparse]
    python benchmarks/index_speed.py --only-whole-process [--baseline OTHER/bin/imncohort]

The whole-process rows run ``imncohort index EXPORT --out OUT`` as a user types it
(a fresh OUT for "cold"; the same OUT again, nothing changed, for "re-run") and are
compared with BOTH naive loops, (a0) and the stricter (a), side by side.

Measures medians of repeated runs (warm page cache). The whole-process rows run in rounds:
each round times the naive loops once and then every installation once (cold, then
re-run), the installations taking turns to go first.

(a0) the naive loop a user writes: ``pydicom.dcmread(f)`` over the files, one process;
(a) the stricter loop ``pydicom.dcmread(f, stop_before_pixels=True)``, one process;
(b) ``imncohort`` index cold (no previous index) with a local Dask cluster of 2 workers
    (library level; cluster start-up reported apart), also in one process, and once
    through the Prefect flow with ``--prefect``;
(c) the index re-run with nothing changed;
(d) the physical floor: open + read the first 8 KB of every file;
(e) a bare ``os.scandir`` + ``stat`` walk.

Every CT file is 512 x 512 x 16 bit (``--rows`` changes it); the files are written from one template
dataset whose UIDs and positions are patched in place, so building 20,000 takes
seconds. 1 % of the files are junk (truncated, empty, text named .dcm, random bytes).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

ROWS = COLUMNS = 512  # a CT slice; --rows changes it
SLICES_PER_SERIES = 100
SERIES_PER_STUDY = 2
UID_ROOT = "1.2.826.0.1.3680043.10.543."
SECRET = b"benchmark-secret"


def _placeholder_uid(tag: str) -> str:
    return f"{UID_ROOT}{tag}.{'9' * 12}"


PLACEHOLDERS = {
    "sop": _placeholder_uid("1"),
    "study": _placeholder_uid("2"),
    "series": _placeholder_uid("3"),
    "for": _placeholder_uid("4"),
    "pid": "PID99999999",
    "pname": "PNAME^PLACEHOLDER9",
    "inst": "99999 ",
    "ipp": "-250.000\\-250.000\\+9999.000",
    "sloc": "+9999.000",
}


def template_bytes() -> tuple[bytes, int]:
    """Return (header bytes up to and including the PixelData element header, pixel bytes)."""
    import numpy as np
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import CTImageStorage

    from imncohort.demo.dicom_builder import PatientInfo, SeriesInfo, StudyHeader, ct_slice

    ds = ct_slice(
        PLACEHOLDERS["sop"],
        PatientInfo(PLACEHOLDERS["pname"], PLACEHOLDERS["pid"], "19600101", "F"),
        StudyHeader(
            PLACEHOLDERS["study"],
            "20240115",
            "101500.000000",
            "ACC0000001",
            "1",
            "CT CHEST WITH CONTRAST",
            "REF^DOCTOR",
        ),
        SeriesInfo(PLACEHOLDERS["series"], "CT", "2", "AXIAL 2.5MM"),
        pixels=np.zeros((ROWS, COLUMNS), dtype=np.int16),
        position_lps=PLACEHOLDERS["ipp"],
        orientation=[1, 0, 0, 0, 1, 0],
        pixel_spacing=["0.9765625", "0.9765625"],
        slice_thickness="2.5",
        frame_of_reference_uid=PLACEHOLDERS["for"],
        instance_number=PLACEHOLDERS["inst"],
        rescale=("-1024", "1"),
        implementation_class_uid=UID_ROOT + "0",
    )
    # CT acquisition details a scanner writes (the index reads none of them).
    for name in ("SeriesDate", "AcquisitionDate", "ContentDate"):
        setattr(ds, name, "20240115")
    for name in ("SeriesTime", "AcquisitionTime", "ContentTime"):
        setattr(ds, name, "101500.000000")
    ds.Manufacturer = "SYNTHETIC"
    ds.InstitutionName = "Benchmark Hospital"
    ds.StationName = "CT01"
    ds.ManufacturerModelName = "Model X"
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = UID_ROOT + "5.1"
    ds.ReferencedImageSequence = Sequence([ref])
    ds.PatientAge = "064Y"
    ds.BodyPartExamined = "CHEST"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.SoftwareVersions = "1.0"
    ds.ReconstructionDiameter = "500"
    ds.DistanceSourceToDetector = "1040"
    ds.GantryDetectorTilt = "0"
    ds.TableHeight = "150"
    ds.RotationDirection = "CW"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "200"
    ds.Exposure = "100"
    ds.FilterType = "BODY"
    ds.GeneratorPower = "24"
    ds.FocalSpots = "1.2"
    ds.ConvolutionKernel = "STANDARD"
    ds.AcquisitionNumber = "1"
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = PLACEHOLDERS["sloc"]
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.RescaleType = "HU"
    n_pixel = ROWS * COLUMNS * 2
    buffer = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    return data[: len(data) - n_pixel], n_pixel


def _fill(value: str, placeholder: str) -> bytes:
    if len(value) > len(placeholder):
        raise ValueError(f"{value!r} longer than its placeholder {placeholder!r}")
    return value.ljust(len(placeholder)).encode("ascii")


def build_export(root: Path, n_files: int, sparse: bool, seed: int = 0) -> list[Path]:
    """Write ``n_files`` CT files (99 %) and junk (1 %) under ``root``; return all paths."""
    header, n_pixel = template_bytes()
    pixels = b"\0" * n_pixel
    rng = random.Random(seed)
    n_junk = max(1, n_files // 100)
    n_ct = n_files - n_junk
    placeholders = {k: v.encode("ascii") for k, v in PLACEHOLDERS.items()}
    paths: list[Path] = []
    slices_per_study = SLICES_PER_SERIES * SERIES_PER_STUDY
    for i in range(n_ct):
        study, rest = divmod(i, slices_per_study)
        series, index = divmod(rest, SLICES_PER_SERIES)
        values = {
            "sop": f"{UID_ROOT}1.1{i + 1:011d}",
            "study": f"{UID_ROOT}2.1{study + 1:011d}",
            "series": f"{UID_ROOT}3.1{study + 1:09d}{series:02d}",
            "for": f"{UID_ROOT}4.1{study + 1:011d}",
            "pid": f"PID{study + 1:08d}",
            "pname": f"DOE^JANE{study + 1:06d}",
            "inst": str(index + 1),
            "ipp": f"-250.000\\-250.000\\{-2.5 * index:+.3f}",
            "sloc": f"{-2.5 * index:+.3f}",
        }
        data = header
        for key, value in values.items():
            new = _fill(value, PLACEHOLDERS[key])
            data = data.replace(placeholders[key], new)
        directory = root / f"P{study:05d}" / f"S{series}"
        if index == 0:
            directory.mkdir(parents=True, exist_ok=True)
        name = f"IM{index:04d}" if i % 2 else f"IM{index:04d}.dcm"
        path = directory / name
        with open(path, "wb") as handle:
            handle.write(data)
            if sparse:
                handle.seek(n_pixel - 1, os.SEEK_CUR)
                handle.write(b"\0")
            else:
                handle.write(pixels)
        paths.append(path)
    junk_dir = root / "misc"
    junk_dir.mkdir(exist_ok=True)
    for j in range(n_junk):
        kind = j % 4
        path = junk_dir / ("note.dcm" if kind == 1 else f"junk{j:05d}")
        path = path.with_name(f"{j:05d}_{path.name}")
        if kind == 0:  # truncated DICOM
            path.write_bytes(header[: rng.randint(200, len(header) - 10)])
        elif kind == 1:
            path.write_text("This is a note, not an image.\n" * 20)
        elif kind == 2:
            path.write_bytes(b"")
        else:
            path.write_bytes(rng.randbytes(2048))
        paths.append(path)
    return paths


def naive_pydicom(paths: list[Path], stop_before_pixels: bool = True) -> int:
    """(a) dcmread(f, stop_before_pixels=True), or (a0) plain dcmread(f), of every file."""
    from pydicom import dcmread

    ok = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            try:
                dcmread(path, stop_before_pixels=stop_before_pixels)
                ok += 1
            except Exception:
                pass
    return ok


def read_8k(paths: list[Path]) -> int:
    """(d) open + read the first 8 KB of every file."""
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += len(handle.read(8192))
    return total


def scandir_walk(root: Path) -> int:
    """(e) bare os.scandir + stat of every file."""
    n = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat()
                    n += 1
    return n


def timed(fn: Callable[[], Any], repeats: int, before: Callable[[], None] | None = None) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` (``before`` runs untimed before each)."""
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _worker_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    """Build the export, run the measurements, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20000, help="files in the export")
    parser.add_argument(
        "--rows", type=int, default=512, help="rows = columns of every CT slice (default 512)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--prefect", action="store_true", help="also time the Prefect flow")
    parser.add_argument("--sparse", action="store_true", help="write pixel data as holes")
    parser.add_argument("--skip-naive", action="store_true", help="skip (a) (slow at 100k)")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="also time `imncohort index EXPORT --out OUT` as a user types it (cold, re-run)",
    )
    parser.add_argument(
        "--only-whole-process",
        action="store_true",
        help="skip the library rows (b), (b1), (c): naive loop vs whole process only",
    )
    parser.add_argument("--baseline", help="another installation's imncohort for (w) rows")
    args = parser.parse_args(argv)
    global ROWS, COLUMNS
    ROWS = COLUMNS = args.rows
    if args.only_whole_process:
        return _main_whole_process(args)

    from distributed import Client, LocalCluster

    from imncohort.index.stage import index_export

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="imncohort-bench-", dir=args.workdir))
    # Start the workers first: a child process's ru_maxrss starts at its parent's RSS.
    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    client = Client(cluster)
    cluster_seconds = time.perf_counter() - start
    baseline_rss = client.run(_worker_maxrss_mb)
    export = workdir / "export"
    out = workdir / "out"
    try:
        start = time.perf_counter()
        paths = build_export(export, args.files, args.sparse)
        build_seconds = time.perf_counter() - start
        print(f"built {len(paths)} files in {build_seconds:.1f} s under {export}", flush=True)
        read_8k(paths)  # warm the page cache for every measurement alike
        results: dict[str, float] = {}
        results["e"] = timed(lambda: scandir_walk(export), args.repeats)
        results["d"] = timed(lambda: read_8k(paths), args.repeats)
        if not args.skip_naive:
            results["a0"] = timed(lambda: naive_pydicom(paths, False), args.repeats)
            results["a"] = timed(lambda: naive_pydicom(paths), args.repeats)

        def clean() -> None:
            shutil.rmtree(out, ignore_errors=True)

        def index(executor: Any = None) -> dict[str, Any]:
            return index_export(export, out, chunk_size=2000, secret=SECRET, executor=executor)

        executor = client.get_executor(pure=False)
        summary: dict[str, Any] = {}

        def cold() -> None:
            summary.update(index(executor))

        clean()
        cold()  # warm-up: imports in the worker processes
        results["b"] = timed(cold, args.repeats, before=clean)
        worker_rss = client.run(_worker_maxrss_mb)
        driver_rss = _worker_maxrss_mb()
        rerun: dict[str, Any] = {}

        def warm() -> None:
            rerun.update(index(executor))

        results["c"] = timed(warm, args.repeats)
        client.close()
        cluster.close()
        results["b1"] = timed(index, args.repeats, before=clean)
        driver_rss_serial = _worker_maxrss_mb()
        if args.prefect:
            results["bp"] = _time_prefect(export, out)
        if args.whole_process:
            current = str(Path(sys.executable).parent / "imncohort")
            results["w"], results["w2"] = _whole_process(current, export, out, args.repeats)

        n = len(paths)
        rows = [
            ("a0", "naive loop: pydicom dcmread(f), 1 process"),
            ("a", "stricter loop: dcmread(f, stop_before_pixels=True)"),
            ("b", "imncohort index cold, Dask 2 workers (library)"),
            ("b1", "imncohort index cold, 1 process (library)"),
            ("bp", "imncohort index cold via Prefect flow (1 run)"),
            ("c", "imncohort index re-run, nothing changed"),
            ("w", "`imncohort index` cold, whole process"),
            ("w2", "`imncohort index` re-run, whole process"),
            ("d", "open + read first 8 KB of every file"),
            ("e", "bare os.scandir + stat walk"),
        ]
        print()
        print(
            f"files: {n} ({n - n // 100} CT {ROWS}x{COLUMNS} + {n // 100} junk), "
            f"repeats: {args.repeats}"
        )
        print(f"{'':3} {'measurement':58} {'median s':>9} {'files/s':>10}")
        for key, label in rows:
            if key in results:
                seconds = results[key]
                print(f"({key:2}) {label:57} {seconds:9.3f} {n / seconds:10.0f}")
        print()
        if "a" in results:
            for key in ("a0", "a"):
                ratio = results[key] / results["b"]
                print(f"({key})/(b)  = {ratio:6.1f}x faster than ({key})   (target >= 5x)")
                print(f"({key})/(b1) = {results[key] / results['b1']:6.1f}x (one process, no Dask)")
                for w in ("w", "w2"):
                    if w in results:
                        print(f"({key})/({w}) = {results[key] / results[w]:6.2f}x (whole process)")
        print(f"(c)/(e)  = {results['c'] / results['e']:6.2f}x of a bare walk     (target <= 3x)")
        print(f"(b)/(d)  = {results['b'] / results['d']:6.2f}x of the 8 KB read floor")
        print(f"local Dask cluster start-up (not in (b)): {cluster_seconds:.2f} s")
        print(
            f"peak RSS during (b): driver {driver_rss:.0f} MB, workers "
            + ", ".join(f"{v:.0f} MB" for v in worker_rss.values())
            + " (at start: "
            + ", ".join(f"{v:.0f} MB" for v in baseline_rss.values())
            + ")  (target < 1 GB each at 100,000 files)"
        )
        print(f"peak RSS of the driver after (b1), one process: {driver_rss_serial:.0f} MB")
        print(
            f"index: {summary.get('instances')} instances, {summary.get('series')} series, "
            f"{summary.get('studies')} studies, {summary.get('junk')} junk; "
            f"re-run read {rerun.get('files_read')} files"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _whole_process(
    binary: str,
    export: Path,
    out: Path,
    repeats: int,
    cpu: dict[str, float] | None = None,
    used_paths: set[str] | None = None,
    home: Path | None = None,
) -> tuple[float, float]:
    """Medians of ``imncohort index`` cold (fresh OUT) and re-run (nothing changed).

    ``cpu`` (when given) receives the median CPU seconds (user + system) of the process
    and the children it waited for (its Dask workers), as ``cold`` and ``rerun``.
    """
    import subprocess

    env = {**os.environ, "IMNCOHORT_SECRET": SECRET.decode(), "CI": "1"}
    if home is not None:  # each installation its own shared server and warm launcher
        env["IMNCOHORT_PREFECT_HOME"] = str(home)
    if Path(binary).resolve().parent != Path(sys.executable).resolve().parent:
        env.pop("PYTHONPATH", None)  # another installation: never this checkout

    def attempt() -> tuple[subprocess.CompletedProcess[str], float, float]:
        """One ``imncohort index`` process: its result, wall seconds and CPU seconds."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [binary, "index", str(export), "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return done, wall, used

    def once() -> tuple[float, float]:
        done, wall, used = attempt()
        if done.returncode != 0:  # a loaded machine can time out a Dask nanny: once more
            print(f"retrying after a failure: {binary} index", flush=True)
            if not (out / "run.json").exists():
                shutil.rmtree(out, ignore_errors=True)
            done, wall, used = attempt()
        if done.returncode != 0:
            raise SystemExit(f"{binary} index failed:\n{done.stderr[-2000:]}")
        return wall, used

    cold, rerun, cold_cpu, rerun_cpu = [], [], [], []
    paths: set[str] = set()
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        wall, used = once()
        cold.append(wall)
        cold_cpu.append(used)
        paths.add(_path_used(out))
        wall, used = once()
        rerun.append(wall)
        rerun_cpu.append(used)
        paths.add(_path_used(out))
    if cpu is not None:
        cpu["cold"] = statistics.median(cold_cpu)
        cpu["rerun"] = statistics.median(rerun_cpu)
    if used_paths is not None:
        used_paths.update(paths)
    return statistics.median(cold), statistics.median(rerun)


def _path_used(out: Path) -> str:
    """How the run started, from ``run.json``: warm (the warm launcher) or direct."""
    import json

    try:
        record = json.loads((out / "run.json").read_text("utf-8"))
    except (OSError, ValueError):
        return "?"
    return str(record.get("launcher", "direct"))  # versions without a launcher: direct


def _cpu_timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median CPU seconds (this process) of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def _main_whole_process(args: argparse.Namespace) -> int:
    """Both naive loops vs the whole ``imncohort index`` process (this and a baseline)."""
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="imncohort-bench-", dir=args.workdir))
    export = workdir / "export"
    current = str(Path(sys.executable).parent / "imncohort")
    bins = [("this", current)] + ([("baseline", args.baseline)] if args.baseline else [])
    try:
        paths = build_export(export, args.files, args.sparse)
        print(f"built {len(paths)} files under {export}", flush=True)
        read_8k(paths)
        # Warm-up (Prefect database migration, imports, page cache): not timed.
        naive_pydicom(paths, False)
        homes = {label: workdir / f"prefect-home-{label}" for label, _ in bins}
        for label, binary in bins:
            _whole_process(binary, export, workdir / "out-warm", 1, home=homes[label])
        # Rounds, each timing the naive loops and then every installation (in turn
        # first), so that a machine that slows down or speeds up (page cache, other
        # load) shifts every row alike; medians over the rounds.
        naive_runs: list[float] = []
        strict_runs: list[float] = []
        runs: dict[str, dict[str, list[float]]] = {
            label: {"cold": [], "rerun": [], "cold_cpu": [], "rerun_cpu": []} for label, _ in bins
        }
        launched: dict[str, set[str]] = {label: set() for label, _ in bins}
        for round_number in range(args.repeats):
            naive_runs.append(timed(lambda: naive_pydicom(paths, False), 1))
            strict_runs.append(timed(lambda: naive_pydicom(paths, True), 1))
            order = bins if round_number % 2 == 0 else bins[::-1]
            for label, binary in order:
                cpu: dict[str, float] = {}
                out = workdir / f"out-{label}"
                cold, rerun = _whole_process(
                    binary, export, out, 1, cpu, launched[label], homes[label]
                )
                runs[label]["cold"].append(cold)
                runs[label]["rerun"].append(rerun)
                runs[label]["cold_cpu"].append(cpu["cold"])
                runs[label]["rerun_cpu"].append(cpu["rerun"])
        naive = statistics.median(naive_runs)
        strict = statistics.median(strict_runs)
        naive_cpu = _cpu_timed(lambda: naive_pydicom(paths, False), 1)
        strict_cpu = _cpu_timed(lambda: naive_pydicom(paths, True), 1)
        rows = [
            ("(a0) naive loop: dcmread(f), 1 process", naive, naive_cpu),
            ("(a) stricter: dcmread(f, stop_before_pixels=True)", strict, strict_cpu),
        ]
        for label, _ in bins:
            path = f" [{'/'.join(sorted(launched[label]))}]"
            median = {key: statistics.median(values) for key, values in runs[label].items()}
            for case, key in (("cold", "cold"), ("re-run", "rerun")):
                row = f"{label}: `imncohort index` {case}{path}"
                rows.append((row, median[key], median[f"{key}_cpu"]))
        n = len(paths)
        print(
            f"\nfiles: {n} ({n - n // 100} CT {ROWS}x{COLUMNS}x16 bit"
            f"{' sparse' if args.sparse else ''} + {n // 100} junk), "
            f"repeats: {args.repeats} (medians)"
        )
        print(
            f"{'measurement':<56}{'wall s':>8}{'files/s':>9}{'a0/x':>7}{'a/x':>7}"
            f"{'cpu s':>8}{'a0/x':>7}{'a/x':>7}"
        )
        for label, seconds, used in rows:
            print(
                f"{label:<56}{seconds:8.2f}{n / seconds:9.0f}"
                f"{naive / seconds:7.2f}{strict / seconds:7.2f}"
                f"{used:8.2f}{naive_cpu / used:7.2f}{strict_cpu / used:7.2f}"
            )
        print(
            "\ntargets: cold >= 5x faster than the naive loop, re-run >= 8x "
            "(a0/x: against the naive dcmread(f); a/x: against the stricter loop; "
            "cpu: user+system seconds of the process and the workers it waited for; "
            "[warm]: served by the warm launcher, whose run's CPU is not the client's, "
            "so its cpu column counts the client only)"
        )
    finally:
        import subprocess

        for label, binary in bins:  # the shared server (and launcher) the runs started
            env = {**os.environ, "IMNCOHORT_PREFECT_HOME": str(workdir / f"prefect-home-{label}")}
            subprocess.run([binary, "server", "stop"], env=env, capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _time_prefect(export: Path, out: Path) -> float:
    """One cold run of the Prefect flow (includes the embedded API and cluster start-up)."""
    import imncohort_flows  # noqa: F401  (configures Prefect's environment)
    from imncohort_flows.index import run_index
    from imncohort_flows.runtime import StageSettings

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run_index(StageSettings(export, out, None, 2, None, False))
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
