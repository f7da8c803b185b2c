"""Packaging throughput (files/s, whole process) against shutil.copy and dicognito's CLI.

    python benchmarks/package_speed.py [--patients 10] [--repeats 3] [--workers 2]

Writes a demo export, audits it once (``imncohort run``), then times, each as a
separate process from start to exit, on the same files (the image series with nodes,
their RTSTRUCT/SEG and NIfTI label maps with sidecars):

- ``imncohort package OUT --to DIR --patients all`` (Prefect flow on Dask, de-identified
  DICOM, cleaned NIfTI, tables, manifest);
- ``shutil.copy`` of the same files (baseline: the cost of the bytes alone);
- ``python -m dicognito --output-directory D --seed S FILES`` on the same DICOM files
  (the chosen library's own command line; it does not read NIfTI);

and, for reference, the library call ``imncohort.package.stage.run_package`` in this
process (no Prefect). Prints medians and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "package-speed-benchmark"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["IMNCOHORT_SECRET"] = SECRET
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return env


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


COPY = (
    "import shutil, sys, pathlib\n"
    "root, dest, listing = map(pathlib.Path, sys.argv[1:4])\n"
    "for i, rel in enumerate(listing.read_text().splitlines()):\n"
    "    target = dest / f'{i:06d}_{pathlib.Path(rel).name}'\n"
    "    shutil.copy(root / rel, target)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["IMNCOHORT_SECRET"] = SECRET

    from imncohort.config import load_config
    from imncohort.demo.export import write_demo_export
    from imncohort.package.plan import plan_package
    from imncohort.package.stage import run_package

    base = Path(tempfile.mkdtemp(prefix="package-speed-"))
    export, out = base / "export", base / "out"
    write_demo_export(export, n_patients=args.patients, seed=args.seed)
    cli = [sys.executable, "-m", "imncohort_flows.cli"]
    subprocess.run(
        [*cli, "run", str(export), "--out", str(out), "--workers", str(args.workers)],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    jobs, _, _ = plan_package(out, export, "all", SECRET.encode())
    files = [f.path for j in jobs for f in j.files] + [
        f.sidecar for j in jobs for f in j.files if f.sidecar
    ]
    dicoms = [f.path for j in jobs for f in j.files if f.role != "nifti"]
    listing = base / "files.txt"
    listing.write_text("\n".join(files) + "\n")
    megabytes = sum((export / p).stat().st_size for p in files) / 1e6
    print(f"{len(files)} files ({len(dicoms)} DICOM), {megabytes:.1f} MB, {args.patients} patients")

    times: dict[str, list[float]] = {"package": [], "copy": [], "dicognito": [], "library": []}
    for i in range(args.repeats):
        target = base / f"pkg{i}"
        times["package"].append(
            _timed(
                [
                    *cli,
                    "package",
                    str(out),
                    "--to",
                    str(target),
                    "--patients",
                    "all",
                    "--workers",
                    str(args.workers),
                ]
            )
        )
        dest = base / f"copy{i}"
        dest.mkdir()
        times["copy"].append(
            _timed([sys.executable, "-c", COPY, str(export), str(dest), str(listing)])
        )
        anon = base / f"dicognito{i}"
        times["dicognito"].append(
            _timed(
                [
                    sys.executable,
                    "-m",
                    "dicognito",
                    "--output-directory",
                    str(anon),
                    "--seed",
                    SECRET,
                    "--quiet",
                    *[str(export / p) for p in dicoms],
                ]
            )
        )
        start = time.perf_counter()
        run_package(out, base / f"lib{i}", "all", load_config())
        times["library"].append(time.perf_counter() - start)
        for path in (target, dest, anon, base / f"lib{i}"):
            shutil.rmtree(path)

    median = {k: statistics.median(v) for k, v in times.items()}
    rate = {
        "package": len(files) / median["package"],
        "copy": len(files) / median["copy"],
        "dicognito": len(dicoms) / median["dicognito"],
        "library": len(files) / median["library"],
    }
    print(f"{'run':<34} {'median s':>9} {'files/s':>9}")
    names = {
        "package": "imncohort package (CLI, Dask)",
        "copy": "shutil.copy (process)",
        "dicognito": "dicognito CLI (DICOM only)",
        "library": "run_package (in process)",
    }
    for key, label in names.items():
        print(f"{label:<34} {median[key]:9.2f} {rate[key]:9.1f}")
    print(f"ratio package / shutil.copy (files/s): {rate['package'] / rate['copy']:.3f}")
    print(f"ratio package / dicognito CLI (files/s): {rate['package'] / rate['dicognito']:.3f}")
    print(f"ratio run_package / dicognito CLI (files/s): {rate['library'] / rate['dicognito']:.3f}")
    shutil.rmtree(base)


if __name__ == "__main__":
    main()
