"""Junk, reports, tables and determinism of the demo export."""

from __future__ import annotations

import csv
from pathlib import Path

import pydicom
import pytest

from imncohort.demo.export import write_demo_export
from imncohort.errors import ImnCohortError

from ._helpers import load_truth


def test_every_junk_file_is_not_readable_dicom(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    assert len(truth["junk"]) == 5
    for junk in truth["junk"]:
        path = demo_export / junk["path"]
        assert path.is_file()
        with pytest.raises(Exception):  # noqa: B017 - any pydicom failure will do
            pydicom.dcmread(path)
        if "truncated" in junk["why"]:
            with pytest.raises(Exception):  # noqa: B017
                pydicom.dcmread(path, force=True)
            continue
        try:  # forced reading may "succeed", but never yields an instance
            forced = pydicom.dcmread(path, force=True)
        except Exception:
            continue
        assert "SOPClassUID" not in forced and "SOPInstanceUID" not in forced
    sizes = sorted((demo_export / j["path"]).stat().st_size for j in truth["junk"])
    assert sizes[0] == 0


def test_dicom_file_count_and_dicomdir(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    junk = {j["path"] for j in truth["junk"]}
    other = {a["path"] for a in truth["aux_files"]}
    dicom = [
        p
        for p in demo_export.rglob("*")
        if p.is_file() and p.relative_to(demo_export).as_posix() not in junk | other
    ]
    assert len(dicom) == truth["instances"]["dicom_files"]
    by_class: dict[str, int] = {}
    for path in dicom:
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPClassUID)
        by_class[uid] = by_class.get(uid, 0) + 1
    assert by_class == truth["instances"]["by_sop_class"]
    dicomdir = pydicom.dcmread(demo_export / truth["dicomdir"]["path"])
    images = [r for r in dicomdir.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE"]
    assert len(images) == truth["dicomdir"]["images"] > 0


def test_reports_sr_and_table(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    sources = {r["source"] for r in truth["reports"]}
    assert sources == {"sr", "table"}
    assert {r["modality"] for r in truth["reports"]} >= {"CT", "MR", "US", "PT"}
    charsets = set()
    for report in truth["reports"]:
        if report["source"] != "sr":
            continue
        ds = pydicom.dcmread(demo_export / report["path"])
        charsets.add(ds.SpecificCharacterSet)
        assert ds.ValueType == "CONTAINER" and str(ds.SOPInstanceUID) == report["report_id"]
        names = [item.ConceptNameCodeSequence[0].CodeMeaning for item in ds.ContentSequence]
        assert names == ["History", "Findings", "Impression"]
        text = " ".join(item.TextValue for item in ds.ContentSequence)
        for mention in report["mentions"]:
            assert mention["term"] in text.lower()
    assert "GB18030" in charsets
    with (demo_export / "ris_reports.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        "PatientID",
        "AccessionNumber",
        "StudyInstanceUID",
        "Modality",
        "StudyDate",
        "ReportText",
    ]
    tables = [r for r in truth["reports"] if r["source"] == "table"]
    assert [r["report_id"] for r in tables] == [
        f"ris_reports.csv#{i}" for i in range(1, len(rows) + 1)
    ]
    assert rows[0]["ReportText"].startswith(("HISTORY:", "病史："))
    with (demo_export / "clinical.csv").open(encoding="utf-8", newline="") as stream:
        clinical = list(csv.DictReader(stream))
    assert [c["PatientID"] for c in clinical] == [p["patient_id"] for p in truth["patients"]]
    assert list(clinical[0]) == ["PatientID", "group", "ER", "PR", "HER2", "T", "N", "M"]


def test_cohort_status_follows_nodes_and_mentions(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    statuses = {p["patient_id"]: p["status"] for p in truth["patients"]}
    assert set(statuses.values()) == {"confirmed", "candidate", "none"}
    for patient in truth["patients"]:
        pid = patient["patient_id"]
        metastatic = any(n["metastatic"] for n in truth["nodes"] if n["patient_id"] == pid)
        flagged = any(
            m["assertion"] in ("affirmed", "uncertain")
            for r in truth["reports"]
            if r["patient_id"] == pid
            for m in r["mentions"]
        )
        assert patient["status"] == (
            "confirmed" if metastatic else "candidate" if flagged else "none"
        )
        assert patient["found_by_reports"] == (metastatic and flagged)
    assert any(not p["found_by_reports"] for p in truth["patients"] if p["status"] == "confirmed")
    assert any(not r["mentions"] for r in truth["reports"])


def test_same_seed_same_ground_truth_and_dir_must_be_empty(tmp_path: Path) -> None:
    first = write_demo_export(tmp_path / "a", n_patients=1, seed=7)
    write_demo_export(tmp_path / "b", n_patients=1, seed=7)
    write_demo_export(tmp_path / "c", n_patients=1, seed=8)
    a = (tmp_path / "a" / "ground_truth.json").read_bytes()
    assert a == (tmp_path / "b" / "ground_truth.json").read_bytes()
    assert a != (tmp_path / "c" / "ground_truth.json").read_bytes()
    assert first["patients"] == 1
    again = write_demo_export(tmp_path / "a", n_patients=1, seed=7)
    assert again["reused"] is True
    assert (tmp_path / "a" / "ground_truth.json").read_bytes() == a
    with pytest.raises(ImnCohortError, match="not empty"):
        write_demo_export(tmp_path / "a", n_patients=2, seed=7)
