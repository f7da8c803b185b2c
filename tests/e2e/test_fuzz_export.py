"""Fuzz a demo export (fixed seed, bounded count) and run the real CLI on it (issue 13).

Mutations: CT headers (position, orientation, size, spacing, truncation, UIDs),
annotations (RTSTRUCT, SEG, NIfTI), reports (an SR, the RIS table) and file names.
The run must exit 0 with no traceback on the terminal; every mutated file must be
listed in ``errors.csv`` by its own path; the studies whose measurement inputs were
left alone (renamed files included) must give the clean run's nodes exactly; no
identifier of the demo's headers may appear on the terminal or in any file
outside ``OUT/restricted/``.

Cost: one 6-patient demo export (about 15 s of CPU) and two runs with one Dask worker
(about 30 s each).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom import config as pydicom_config

from imncohort.demo.export import write_demo_export
from imncohort.keys import pseudonym
from imncohort.privacy import PathScrubber

pytestmark = pytest.mark.slow

SEED = 13
DEMO_SEED = 0
N_PATIENTS = 6
N_MUTATED_STUDIES = 3
SECRET = "fuzz-test-secret"
ONE_WORKER = ("--workers", "1")


# --- mutations --------------------------------------------------------------------------


def _save(ds: pydicom.Dataset, path: Path) -> None:
    previous = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        ds.save_as(path)
    finally:
        pydicom_config.settings.writing_validation_mode = previous


def _edit(path: Path, change: Callable[[pydicom.Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    change(ds)
    _save(ds, path)


def _raw(tag: int, vr: str, text: str) -> Callable[[pydicom.Dataset], None]:
    def change(ds: pydicom.Dataset) -> None:
        ds[tag] = pydicom.DataElement(tag, vr, text.encode("ascii"))

    return change


def _attr(keyword: str, value: Any) -> Callable[[pydicom.Dataset], None]:
    def change(ds: pydicom.Dataset) -> None:
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)

    return change


def _truncate_before_pixels(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\xe0\x7f\x10\x00")])


CT_MUTATIONS: dict[str, Callable[[Path], None]] = {
    "NaN position": lambda p: _edit(p, _raw(0x00200032, "DS", "nan\\nan\\nan")),
    "absent position": lambda p: _edit(p, _attr("ImagePositionPatient", None)),
    "short orientation": lambda p: _edit(p, _attr("ImageOrientationPatient", [1, 0, 0, 0, 1])),
    "zero orientation": lambda p: _edit(p, _attr("ImageOrientationPatient", [0] * 6)),
    "Rows 0": lambda p: _edit(p, _attr("Rows", 0)),
    "PixelSpacing 0": lambda p: _edit(p, _attr("PixelSpacing", [0, 0])),
    "PixelSpacing inf": lambda p: _edit(p, _raw(0x00280030, "DS", "inf\\inf")),
    "no pixel data": _truncate_before_pixels,
    "empty SOP class": lambda p: _edit(p, _attr("SOPClassUID", "")),
    "empty series UID": lambda p: _edit(p, _attr("SeriesInstanceUID", "")),
}


def _rtstruct_nan(path: Path, rng: np.random.Generator) -> None:
    def change(ds: pydicom.Dataset) -> None:
        rois = [r for r in ds.ROIContourSequence if len(r.get("ContourSequence", []))]
        roi = rois[int(rng.integers(len(rois)))]
        item = roi.ContourSequence[int(rng.integers(len(roi.ContourSequence)))]
        values = [str(v) for v in item.ContourData]
        values[int(rng.integers(len(values)))] = "nan"
        item.ContourData = values

    _edit(path, change)


def _rtstruct_two_points(path: Path, rng: np.random.Generator) -> None:
    def change(ds: pydicom.Dataset) -> None:
        closed = [
            c
            for r in ds.ROIContourSequence
            for c in r.get("ContourSequence", [])
            if c.ContourGeometricType == "CLOSED_PLANAR"
        ]
        item = closed[int(rng.integers(len(closed)))]
        item.ContourData = list(item.ContourData)[:6]
        item.NumberOfContourPoints = 2

    _edit(path, change)


def _rtstruct_no_contours(path: Path, rng: np.random.Generator) -> None:
    empty = bool(rng.integers(2))

    def change(ds: pydicom.Dataset) -> None:
        if empty:
            ds.ROIContourSequence = pydicom.Sequence([])
        else:
            del ds.ROIContourSequence

    _edit(path, change)


def _seg_frames(path: Path, rng: np.random.Generator) -> None:
    how = int(rng.integers(3))

    def change(ds: pydicom.Dataset) -> None:
        n = int(ds.NumberOfFrames)
        if how == 0:
            ds.NumberOfFrames = n + int(rng.integers(1, 5))
        elif how == 1:
            ds.NumberOfFrames = 0
        else:
            del ds.PerFrameFunctionalGroupsSequence[n // 2 :]

    _edit(path, change)


def _nifti_cut(path: Path, rng: np.random.Generator) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * rng.uniform(0.3, 0.7))])


ANNOTATION_MUTATIONS: dict[str, list[Callable[[Path, np.random.Generator], None]]] = {
    "RTSTRUCT": [_rtstruct_nan, _rtstruct_two_points, _rtstruct_no_contours],
    "SEG": [_seg_frames],
    "NIFTI": [_nifti_cut],
}


def _sr_undecodable(path: Path) -> None:
    def change(ds: pydicom.Dataset) -> None:
        def walk(items: Any) -> bool:
            for item in items:
                if item.get("ValueType") == "TEXT":
                    item[0x0040A160] = pydicom.DataElement(
                        0x0040A160, "UT", b"\x81\x82\x83\x84\x85\x86\x87 IMN"
                    )
                    return True
                if walk(item.get("ContentSequence", [])):
                    return True
            return False

        assert walk(ds.ContentSequence)

    _edit(path, change)


def _ris_mixed_encoding(path: Path) -> None:
    lines = [
        b'FUZZ1,F1,,CT,20210101,"Ganglion mammaire interne gauche pr\xe9sent."',
        b'FUZZ2,F2,,CT,20210101,"\x81\x82\x83\x84 IMN"',
    ]
    data = path.read_bytes().rstrip(b"\r\n")
    path.write_bytes(data + b"\n" + b"\n".join(lines) + b"\n")


# --- the fuzzed export -------------------------------------------------------------------


@dataclass
class Fuzzed:
    export: Path
    mutated_files: dict[str, str] = field(default_factory=dict)  # path -> mutation
    mutated_studies: set[str] = field(default_factory=set)  # study UIDs
    renamed: dict[str, str] = field(default_factory=dict)  # old -> new path


def _annotation_files(export: Path, truth: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Study UID -> [(kind, path)] of its annotation files."""
    out: dict[str, list[tuple[str, str]]] = {}
    for series in truth["series"]:
        if series["modality"] in ("RTSTRUCT", "SEG"):
            for path in series["paths"]:
                out.setdefault(series["study_instance_uid"], []).append((series["modality"], path))
    study_of_series = {s["series_instance_uid"]: s["study_instance_uid"] for s in truth["series"]}
    for aux in truth["aux_files"]:
        if aux["kind"] == "nifti":
            sidecar = json.loads((export / (aux["path"][: -len(".nii.gz")] + ".json")).read_text())
            study = study_of_series[sidecar["SeriesInstanceUID"]]
            out.setdefault(study, []).append(("NIFTI", aux["path"]))
    return out


def fuzz(clean: Path, target: Path, truth: dict[str, Any], seed: int) -> Fuzzed:
    """Copy ``clean`` to ``target`` and mutate it (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    shutil.copytree(clean, target)
    result = Fuzzed(target)
    annotated = _annotation_files(target, truth)
    studies = sorted(annotated)
    chosen = sorted(rng.choice(studies, size=N_MUTATED_STUDIES, replace=False).tolist())
    ct_names = sorted(CT_MUTATIONS)
    for study in chosen:
        result.mutated_studies.add(study)
        ct = [
            s for s in truth["series"] if s["study_instance_uid"] == study and s["modality"] == "CT"
        ]
        paths = ct[0]["paths"]
        slice_path = paths[int(rng.integers(len(paths)))]
        name = ct_names[int(rng.integers(len(ct_names)))]
        CT_MUTATIONS[name](target / slice_path)
        result.mutated_files[slice_path] = name
        kind, path = annotated[study][int(rng.integers(len(annotated[study])))]
        options = ANNOTATION_MUTATIONS[kind]
        mutation = options[int(rng.integers(len(options)))]
        mutation(target / path, rng)
        result.mutated_files[path] = mutation.__name__
    srs = sorted(r["path"] for r in truth["reports"] if r["source"] == "sr")
    sr = srs[int(rng.integers(len(srs)))]
    _sr_undecodable(target / sr)
    result.mutated_files[sr] = "undecodable SR text"
    ris = next(r["path"] for r in truth["reports"] if r["source"] == "table")
    _ris_mixed_encoding(target / ris)
    result.mutated_files[ris] = "mixed-encoding RIS table"
    # File names: CT slices of untouched studies get awkward names (spaces, accents, CJK,
    # a leading dash, the patient's name): nothing may break and nothing may be listed.
    untouched = [s for s in studies if s not in result.mutated_studies]
    awkward = ["IM 0001 (copy) é.dcm", "-lead 中文 #2", "{name} {birth}.dcm"]
    for n, study in enumerate(untouched[: len(awkward)]):
        ct = [
            s for s in truth["series"] if s["study_instance_uid"] == study and s["modality"] == "CT"
        ]
        old = ct[0]["paths"][int(rng.integers(len(ct[0]["paths"])))]
        ds = pydicom.dcmread(target / old, stop_before_pixels=True)
        new_name = awkward[n].format(
            name=str(ds.PatientName).replace("^", " "), birth=ds.PatientBirthDate
        )
        new = str(Path(old).parent / new_name)
        (target / old).rename(target / new)
        result.renamed[old] = new
    # Links: one out of the export (to /: never walked) and a second path to a slice of a
    # mutated study (one file indexed once); both are listed by their own path.
    links = target / "links"
    links.mkdir()
    (links / "to-root").symlink_to("/")
    result.mutated_files["links/to-root"] = "symlink out of the export"
    some_slice = next(p for p, m in result.mutated_files.items() if m in CT_MUTATIONS)
    (links / "again.dcm").symlink_to(target / some_slice)
    result.mutated_files["links/again.dcm"] = "second path to one file"
    return result


# --- checks ------------------------------------------------------------------------------


def identifiers(export: Path) -> set[str]:
    """Patient names (whole, with spaces, and their parts holding a digit), IDs, birth dates
    and accession numbers in the DICOM headers of ``export``."""
    found: set[str] = set()
    for path in sorted(p for p in export.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            continue
        name = str(ds.get("PatientName", "") or "")
        values = [name, name.replace("^", " ")]
        values += [part for part in name.split("^") if any(c.isdigit() for c in part)]
        values += [str(ds.get(k, "") or "") for k in ("PatientID", "PatientBirthDate")]
        values.append(str(ds.get("AccessionNumber", "") or ""))
        found.update(v for v in values if len(v) >= 4)
    return found


def _run_cli(export: Path, out: Path) -> tuple[int, str]:
    env = dict(os.environ)
    env["IMNCOHORT_SECRET"] = SECRET
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "imncohort_flows.cli",
            "run",
            str(export),
            "--out",
            str(out),
            *ONE_WORKER,
        ],
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )
    text = process.stdout.decode("utf-8", "replace") + process.stderr.decode("utf-8", "replace")
    return process.returncode, text


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype(str).to_csv(index=False)
    return path.read_bytes().decode("utf-8", "replace")


def _leaks(out: Path, ids: set[str], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    leaks = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel.startswith("restricted/") or rel.startswith(skip):
            continue
        text = _file_text(path)
        leaks.extend((rel, value) for value in sorted(ids) if value in text)
    return leaks


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("fuzz")
    clean = base / "clean"
    write_demo_export(clean, n_patients=N_PATIENTS, seed=DEMO_SEED)
    truth = json.loads((clean / "ground_truth.json").read_text("utf-8"))
    fuzzed = fuzz(clean, base / "fuzzed", truth, SEED)
    rc_clean, term_clean = _run_cli(clean, base / "out-clean")
    rc, term = _run_cli(fuzzed.export, base / "out-fuzzed")
    return {
        "truth": truth,
        "fuzzed": fuzzed,
        "clean": (rc_clean, term_clean, base / "out-clean"),
        "run": (rc, term, base / "out-fuzzed"),
        "ids": identifiers(clean),
    }


def test_fuzzed_run_exits_0_without_traceback(runs: dict[str, Any]) -> None:
    assert runs["clean"][0] == 0, runs["clean"][1][-3000:]
    rc, term, _ = runs["run"]
    assert rc == 0, term[-3000:]
    assert "Traceback" not in term, term[-3000:]
    assert "Error:" not in term.replace("errors.csv", ""), term[-3000:]


def test_every_mutated_file_is_listed_by_its_own_path(runs: dict[str, Any]) -> None:
    _, _, out = runs["run"]
    fuzzed: Fuzzed = runs["fuzzed"]
    assert len(fuzzed.mutated_files) == 2 * N_MUTATED_STUDIES + 4
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    scrub = PathScrubber.from_out(out)
    listed = set(errors["path"])
    missing = {p: m for p, m in fuzzed.mutated_files.items() if scrub(p) not in listed}
    assert missing == {}
    clean_errors = pd.read_csv(runs["clean"][2] / "errors.csv", dtype=str, keep_default_na=False)
    renamed = {scrub(p) for p in fuzzed.renamed.values()}
    assert renamed.isdisjoint(listed)
    assert len(fuzzed.renamed) == 3
    # the clean run's rows (demo junk) are still there
    assert set(map(tuple, clean_errors.values.tolist())) <= set(map(tuple, errors.values.tolist()))


def test_untouched_studies_keep_every_node(runs: dict[str, Any]) -> None:
    truth = runs["truth"]
    fuzzed: Fuzzed = runs["fuzzed"]
    secret = SECRET.encode()
    untouched = {
        pseudonym(secret, s["study_instance_uid"])
        for s in truth["studies"]
        if s["study_instance_uid"] not in fuzzed.mutated_studies
    }

    def nodes(out: Path) -> pd.DataFrame:
        frame = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
        return frame[frame["study_key"].isin(untouched)].reset_index(drop=True)

    clean, fuzzed_nodes = nodes(runs["clean"][2]), nodes(runs["run"][2])
    n_expected = sum(
        1 for n in truth["nodes"] if n["study_instance_uid"] not in fuzzed.mutated_studies
    )
    assert len(clean) == n_expected > 0
    pd.testing.assert_frame_equal(fuzzed_nodes, clean)


def test_no_identifier_on_the_terminal(runs: dict[str, Any]) -> None:
    ids = runs["ids"]
    assert {"DEMO0001", "Demo^Patient01", "19500101"} <= ids
    for key in ("clean", "run"):
        term = runs[key][1]
        assert [v for v in sorted(ids) if v in term] == [], key


def test_no_identifier_outside_restricted(runs: dict[str, Any]) -> None:
    ids = runs["ids"]
    for key in ("clean", "run"):
        assert _leaks(runs[key][2], ids) == [], key
