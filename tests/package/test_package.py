# ruff: noqa: F811  (pytest fixtures imported from pkgsupport are parameters here)
"""The research package, written in this process from an in-process audit of the demo."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from pkgsupport import PACKAGE_SECRET as SECRET
from pkgsupport import (  # noqa: F401 (fixtures)
    audit_in_process,
    audited_demo,
    copy_export,
    package_secret,
)

from imncohort.config import load_config
from imncohort.errors import ImnCohortError
from imncohort.package.deid import date_shift_days, new_uid
from imncohort.package.stage import run_package, shift_date

CONFIG = load_config()


@pytest.fixture(scope="module")
def package_all(audited_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setenv("IMNCOHORT_SECRET", SECRET)
    try:
        to = tmp_path_factory.mktemp("pkg") / "package"
        run_package(audited_demo, to, "all", CONFIG)
        return to
    finally:
        mp.undo()


def _dicoms(package: Path) -> list[tuple[str, pydicom.Dataset]]:
    manifest = pd.read_csv(package / "manifest.csv", dtype=str, keep_default_na=False)
    rows = manifest[manifest["sop_class_uid"] != ""]
    return [(p, pydicom.dcmread(package / p)) for p in rows["path"]]


def _days(a: str, b: str) -> int:
    parse = datetime.datetime.strptime
    return (parse(b, "%Y%m%d") - parse(a, "%Y%m%d")).days


def test_dates_shift_alike_within_a_patient_and_differ_across(
    audited_demo: Path, package_all: Path
) -> None:
    secret = SECRET.encode()
    studies = pd.read_parquet(audited_demo / "restricted" / "index" / "studies.parquet")
    by_new_uid = {
        new_uid(secret, str(uid)): str(date)
        for uid, date in zip(studies["study_instance_uid"], studies["study_date"], strict=True)
    }
    shifts: dict[str, set[int]] = {}
    for _, ds in _dicoms(package_all):
        date = by_new_uid[str(ds.StudyInstanceUID)]
        found = shifts.setdefault(str(ds.PatientID), set())
        found.add(_days(date, str(ds.StudyDate)))
        found.add(_days(date, str(ds.SeriesDate)))
    assert len(shifts) == 6
    per_patient = {p: s for p, s in shifts.items()}
    assert all(len(s) == 1 for s in per_patient.values()), per_patient
    values = [next(iter(s)) for s in per_patient.values()]
    assert len(set(values)) == 6
    assert all(-3650 <= v <= -365 for v in values)
    assert {p: next(iter(s)) for p, s in per_patient.items()} == {
        p: date_shift_days(secret, p) for p in per_patient
    }
    table = pd.read_csv(package_all / "tables" / "studies.csv", dtype=str, keep_default_na=False)
    assert len(table) == len(studies)
    merged = table.merge(
        studies[["study_key", "study_date"]], on="study_key", suffixes=("", "_src")
    )
    for row in merged.to_dict("records"):
        assert _days(row["study_date_src"], row["study_date"]) == date_shift_days(
            secret, row["patient_key"]
        )
    several = 0
    for _, group in merged.groupby("patient_key"):
        if len(group) < 2:
            continue
        several += 1
        src = sorted(group["study_date_src"])
        new = sorted(group["study_date"])
        assert [_days(src[0], d) for d in src] == [_days(new[0], d) for d in new]
    assert several >= 3
    cohort = pd.read_csv(package_all / "tables" / "cohort.csv", dtype=str, keep_default_na=False)
    source = pd.read_csv(audited_demo / "cohort.csv", dtype=str, keep_default_na=False)
    dated = source[source["first_mention_date"] != ""]
    assert len(dated) >= 3
    for row in dated.to_dict("records"):
        got = cohort.loc[cohort["patient_key"] == row["patient_key"], "first_mention_date"].item()
        want = shift_date(row["first_mention_date"], date_shift_days(secret, row["patient_key"]))
        assert got == want


def test_shift_date() -> None:
    assert shift_date("20200301", -1) == "20200229"
    assert shift_date("20191017.0", 10) == "20191027"
    assert shift_date("", -5) == ""
    assert shift_date("2020", -5) == ""


def test_references_resolve_and_no_source_uid_is_left(
    audited_demo: Path, demo_export: Path, package_all: Path
) -> None:
    own: set[str] = set()
    refs: list[str] = []
    roles: dict[str, int] = {}
    for _, ds in _dicoms(package_all):
        own |= {str(ds.get(k)) for k in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")}
        own.add(str(ds.get("FrameOfReferenceUID", "")))
        roles[str(ds.Modality)] = roles.get(str(ds.Modality), 0) + 1
        for elem in ds.iterall():
            if elem.keyword in ("ReferencedSOPInstanceUID", "ReferencedFrameOfReferenceUID"):
                refs.append(str(elem.value))
        for item in ds.get("ReferencedSeriesSequence", []):
            refs.append(str(item.SeriesInstanceUID))
        assert ds.PatientIdentityRemoved == "YES"
        codes = [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113107"]
        assert not any(e.tag.is_private for e in ds.iterall())
    for sidecar in package_all.glob("dicom/**/*.json"):
        refs.append(json.loads(sidecar.read_text("utf-8"))["SeriesInstanceUID"])
    assert roles == {"CT": 325, "RTSTRUCT": 2, "SEG": 2}
    assert len(refs) > 325  # every RTSTRUCT contour image and SEG source frame
    assert set(refs) <= own
    assert pd.read_csv(package_all / "unresolved_references.csv").empty
    instances = pd.read_parquet(audited_demo / "restricted" / "index" / "instances.parquet")
    source_uids = set(instances["sop_instance_uid"]) | set(instances["series_instance_uid"])
    source_uids |= set(instances["study_instance_uid"])
    assert not own & source_uids
    blob = b"".join(p.read_bytes() for p in package_all.rglob("*") if p.is_file())
    for uid in sorted(source_uids)[:200]:
        assert uid.encode() not in blob


def test_manifest_hashes_and_counts(package_all: Path) -> None:
    manifest = pd.read_csv(package_all / "manifest.csv", dtype=str, keep_default_na=False)
    on_disk = sorted(str(p.relative_to(package_all)) for p in (package_all / "dicom").rglob("*"))
    on_disk = [p for p in on_disk if (package_all / p).is_file()]
    assert sorted(manifest["path"]) == on_disk
    for row in manifest.to_dict("records"):
        data = (package_all / row["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert int(row["size"]) == len(data)
    record = json.loads((package_all / "package.json").read_text("utf-8"))
    assert record["counts"]["files"] == len(manifest) == 341
    assert record["counts"]["files_by_role"] == {
        "image": 325,
        "nifti": 6,
        "nifti_sidecar": 6,
        "rtstruct": 2,
        "seg": 2,
    }
    assert record["deidentification"]["library"]["name"] == "dicognito"
    assert record["config"]["nodes"]["min_short_axis_mm"] == 5.0
    assert record["counts"]["nodes"] == 13
    assert "source_path" not in manifest.columns
    assert "DEMO0" not in (package_all / "manifest.csv").read_text("utf-8")
    nodes = pd.read_csv(package_all / "tables" / "nodes.csv", dtype=str)
    assert "qc_png" not in nodes.columns
    assert set(nodes["series_key"]) <= set(manifest["series_instance_uid"])


def test_mentions_table_carries_no_source_link(audited_demo: Path, package_all: Path) -> None:
    source = pd.read_parquet(audited_demo / "mentions.parquet")
    mentions = pd.read_csv(package_all / "tables" / "mentions.csv", dtype=str)
    assert len(mentions) == len(source) > 0
    assert not set(mentions["mention_id"]) & set(source["mention_id"])
    assert not {"source_path", "report_id"} & set(mentions.columns)


def test_restricted_keeps_the_shifts_and_the_source_paths(
    audited_demo: Path, demo_export: Path, package_all: Path
) -> None:
    private = audited_demo / "restricted" / "packages" / package_all.name
    shifts = pd.read_csv(private / "date_shifts.csv", dtype={"patient_key": str})
    assert len(shifts) == 6
    text = "".join(
        p.read_text("utf-8") for p in package_all.rglob("*") if p.suffix in (".csv", ".json")
    )
    assert "date_shift" not in text
    files = pd.read_csv(private / "files.csv", dtype=str)
    assert all((demo_export / p).is_file() for p in files["source_path"])
    assert files["path"].str.startswith("dicom/").all()
    assert len(files) == 341


def test_source_export_is_never_written(
    audited_demo: Path, demo_export: Path, tmp_path: Path
) -> None:
    before = {
        p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in demo_export.rglob("*")
        if p.is_file()
    }
    run_package(audited_demo, tmp_path / "confirmed", "confirmed", CONFIG)
    after = {
        p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in demo_export.rglob("*")
        if p.is_file()
    }
    assert after == before
    record = json.loads((tmp_path / "confirmed" / "package.json").read_text("utf-8"))
    assert record["counts"]["patients_selected"] == 4
    assert record["selection"] == "confirmed"


def test_existing_directory_refused_and_interruption_leaves_nothing(
    audited_demo: Path, tmp_path: Path
) -> None:
    to = tmp_path / "pkg"
    to.mkdir()
    (to / "keep.txt").write_text("x")
    with pytest.raises(ImnCohortError, match="already exists; pass --overwrite"):
        run_package(audited_demo, to, "all", CONFIG)

    def broken(groups: object, *args: str) -> list:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_package(audited_demo, to, "all", CONFIG, overwrite=True, mapper=broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]
    assert sorted(p.name for p in to.iterdir()) == ["keep.txt"]
    with pytest.raises(ImnCohortError, match="inside the export"):
        run_package(
            audited_demo,
            Path(json.loads((audited_demo / "run.json").read_text())["export"]) / "x",
            "all",
            CONFIG,
        )
    run_package(audited_demo, to, "candidates", CONFIG, overwrite=True)
    assert not (to / "keep.txt").exists()
    assert (to / "package.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def _mark_missing_reference_and_burned_in(export: Path, out: Path) -> tuple[str, str]:
    """Add a contour image reference to a slice that is not in the export; flag one slice."""
    instances = pd.read_parquet(out / "restricted" / "index" / "instances.parquet")
    rt = instances[instances["kind"] == "rtstruct"].iloc[0]
    ds = pydicom.dcmread(export / rt["path"])
    series = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
    images = series.RTReferencedSeriesSequence[0].ContourImageSequence
    ghost = pydicom.Dataset()
    ghost.ReferencedSOPClassUID = images[0].ReferencedSOPClassUID
    ghost.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.9.7777.1"
    images.append(ghost)
    ds.save_as(export / rt["path"])
    nodes = pd.read_csv(out / "nodes.csv", dtype=str)
    nifti_series = nodes.loc[nodes["annotation"] == "nifti", "series_key"].iloc[0]
    slices = pd.read_parquet(out / "restricted" / "index" / "series.parquet").set_index(
        "series_key"
    )
    path = sorted(slices.loc[nifti_series, "paths"])[0]
    flagged = pydicom.dcmread(export / path)
    flagged.BurnedInAnnotation = "YES"
    flagged.save_as(export / path)
    return str(rt["patient_key"]), str(slices.loc[nifti_series, "patient_key"])


def test_missing_reference_and_burned_in_file_are_listed(demo_export: Path, tmp_path: Path) -> None:
    export = copy_export(demo_export, tmp_path / "export")
    first = audit_in_process(export, tmp_path / "first")
    rt_patient, burned_patient = _mark_missing_reference_and_burned_in(export, first)
    out = audit_in_process(export, tmp_path / "out")
    summary = run_package(out, tmp_path / "pkg", "all", CONFIG)
    unresolved = pd.read_csv(tmp_path / "pkg" / "unresolved_references.csv", dtype=str)
    assert len(unresolved) == 1
    row = unresolved.iloc[0]
    assert row["uid"] == new_uid(SECRET.encode(), "1.2.826.0.1.3680043.9.7777.1")
    assert row["attribute"].endswith("ContourImageSequence>ReferencedSOPInstanceUID")
    assert row["path"].startswith(f"dicom/{rt_patient}/") and "RTSTRUCT_" in row["path"]
    excluded = pd.read_csv(tmp_path / "pkg" / "excluded.csv", dtype=str)
    assert excluded.to_dict("records") == [
        {
            "patient_key": burned_patient,
            "study_key": excluded["study_key"].iloc[0],
            "role": "image",
            "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
            "reason": "BurnedInAnnotation=YES",
        }
    ]
    assert summary["files"] == 340
    assert summary["excluded"] == 1 and summary["unresolved_references"] == 1
    manifest = pd.read_csv(tmp_path / "pkg" / "manifest.csv", dtype=str)
    assert len(manifest) == 340
    for p in manifest["path"]:
        if p.endswith(".dcm"):
            assert "BurnedInAnnotation" not in pydicom.dcmread(tmp_path / "pkg" / p) or (
                pydicom.dcmread(tmp_path / "pkg" / p).BurnedInAnnotation != "YES"
            )


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_file_broken_after_the_audit_is_excluded_not_fatal(
    audited_demo: Path, demo_export: Path, tmp_path: Path, damage: str
) -> None:
    """A slice that became unreadable after the audit is listed in excluded.csv, the rest packs."""
    export = copy_export(demo_export, tmp_path / "export")
    out = tmp_path / "out"
    shutil.copytree(audited_demo, out)
    run_json = json.loads((out / "run.json").read_text())
    run_json["export"] = str(export.resolve())
    (out / "run.json").write_text(json.dumps(run_json))
    nodes = pd.read_csv(out / "nodes.csv", dtype=str)
    series_key = nodes.loc[nodes["annotation"] == "rtstruct", "series_key"].iloc[0]
    series = pd.read_parquet(out / "restricted" / "index" / "series.parquet")
    row = series.set_index("series_key").loc[series_key]
    victim = export / sorted(row["paths"])[0]
    data = victim.read_bytes()
    victim.write_bytes(data[:200] if damage == "truncated" else b"\x00\x01not a dicom file" * 9)
    summary = run_package(out, tmp_path / "pkg", "all", CONFIG)
    excluded = pd.read_csv(tmp_path / "pkg" / "excluded.csv", dtype=str)
    broken = excluded[excluded["reason"].str.startswith("unreadable")]
    assert len(broken) == 1
    assert broken.iloc[0]["patient_key"] == row["patient_key"]
    assert broken.iloc[0]["role"] == "image"
    assert "source_path" not in excluded.columns
    assert summary["files"] == 341 - 1  # the whole demo package holds 341 files
    manifest = pd.read_csv(tmp_path / "pkg" / "manifest.csv", dtype=str)
    assert len(manifest) == 340
    text = (tmp_path / "pkg" / "excluded.csv").read_text()
    assert victim.name not in text and str(export) not in text
