"""The index on pydicom's own test files, its dicomdirtests tree and the demo export."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pydicom
import pytest
from index_factory import PYDICOM_TEST_FILES, SECRET

from imncohort.index.dicomdir import read_dicomdir
from imncohort.index.stage import index_export
from imncohort.privacy import PathScrubber


def _load(out: Path) -> dict[str, pd.DataFrame]:
    tables = {
        n: pd.read_parquet(out / "restricted" / "index" / f"{n}.parquet")
        for n in ("instances", "series", "studies", "files")
    }
    tables["errors"] = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return tables


@pytest.fixture(scope="module")
def pydicom_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("pydicom_out")
    index_export(PYDICOM_TEST_FILES, out, chunk_size=40, secret=SECRET)
    return _load(out)


def test_every_pydicom_test_file_is_indexed_or_explained(
    pydicom_index: dict[str, pd.DataFrame],
) -> None:
    instances = set(pydicom_index["instances"]["path"])
    aux = set(pydicom_index["files"]["path"])
    error_frame = pydicom_index["errors"]
    errors = dict(zip(error_frame["path"], error_frame["reason"], strict=True))
    walked = sorted(p for p in PYDICOM_TEST_FILES.rglob("*") if p.is_file())
    # indexed files with unusable headers are listed too (imncohort.index.checks)
    assert len(walked) == len(instances) + len(aux) + len(set(errors) - instances)
    assert errors["dicomdirtests/TINY_ALPHA/PT000000/ST000000/SE000000/IM000000"] == (
        "Rows x Columns is None x None (an image needs at least 1 x 1); ImagePositionPatient "
        "is missing, not 3 numbers or NaN; ImageOrientationPatient is missing or does not "
        "hold 6 numbers; PixelSpacing nan/nan mm is missing, zero, negative or infinite; "
        "the slice is left out of its series"
    )
    assert errors["nested_priv_SQ.dcm"].startswith("no SOP Class UID: the file cannot be")
    readable = 0
    for path in walked:
        rel = path.relative_to(PYDICOM_TEST_FILES).as_posix()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pydicom.dcmread(path)
                can_read = True
            except Exception:
                can_read = False
        if can_read:
            readable += 1
            # cut-short files pydicom reads without complaint are junk for the index
            ok = rel in instances or rel in aux or errors.get(rel, "").startswith("truncated")
            assert ok, rel
        else:
            assert rel in errors or rel in instances or rel in aux, rel
            assert errors.get(rel, "x") != "", rel
    assert readable >= 150
    assert errors["MR_truncated.dcm"].startswith("truncated DICOM: pixel data needs 8192")
    assert errors["rtplan_truncated.dcm"].startswith("truncated DICOM: element (300A,00B0)")
    assert errors["zipMR.gz"] == "not a DICOM file (no DICM marker and not parseable)"
    assert "ExplVR_BigEndNoMeta.dcm" in instances  # no preamble, big endian
    assert aux >= {"dicomdirtests/DICOMDIR", "dicomdirtests/DICOMDIR-bigEnd", "test1.json"}


@pytest.mark.parametrize(
    ("tree", "dicomdir"),
    [("dicomdirtests", "DICOMDIR"), ("dicomdirtests/TINY_ALPHA", "DICOMDIR")],
)
def test_dicomdirtests_counts_match_dicomdir_records(
    pydicom_index: dict[str, pd.DataFrame], tree: str, dicomdir: str
) -> None:
    hint = read_dicomdir(PYDICOM_TEST_FILES / tree, dicomdir)
    listed = {f"{tree}/{p}" for p in hint.referenced}
    instances = pydicom_index["instances"]
    mine = instances[instances["path"].isin(listed)]
    assert len(mine) == hint.record_counts["IMAGE"] == len(listed)
    assert mine["patient_key"].nunique() == hint.record_counts["PATIENT"]
    assert mine["study_instance_uid"].nunique() == hint.record_counts["STUDY"]
    assert mine["series_instance_uid"].nunique() == hint.record_counts["SERIES"]
    series = pydicom_index["series"]
    in_tree = series[series["series_instance_uid"].isin(set(mine["series_instance_uid"]))]
    assert int(in_tree["n_instances"].sum()) == len(mine)
    assert not (pydicom_index["errors"]["reason"].str.startswith("DICOMDIR entry")).any()


def test_demo_export_matches_ground_truth(tmp_path: Path) -> None:
    export_module = pytest.importorskip("imncohort.demo.export")
    export = tmp_path / "demo"
    export_module.write_demo_export(export, n_patients=3, seed=5)
    truth = json.loads((export / "ground_truth.json").read_text("utf-8"))
    summary = index_export(export, tmp_path / "out", chunk_size=50, secret=SECRET)
    t = _load(tmp_path / "out")
    assert summary["instances"] == truth["instances"]["dicom_files"]
    by_class = t["instances"]["sop_class_uid"].value_counts().to_dict()
    assert by_class == truth["instances"]["by_sop_class"]
    # studies known only from a report table have no DICOM file to index
    assert set(t["studies"]["study_instance_uid"]) == {
        s["study_instance_uid"] for s in truth["studies"] if s["series_instance_uids"]
    }
    truth_series = {s["series_instance_uid"]: s for s in truth["series"]}
    mine = t["series"].set_index("series_key")
    assert set(mine.index) == set(truth_series)
    for uid, expected in truth_series.items():
        row = mine.loc[uid]
        assert row["n_instances"] == expected["n_instances"], uid
        assert sorted(row["paths"]) == sorted(expected["paths"]), uid
        if expected["rows"] is not None:
            assert (row["rows"], row["columns"]) == (expected["rows"], expected["columns"]), uid
        if bool(row["has_geometry"]) and expected["slice_spacing"] is not None:
            ordered = expected["paths"][::-1] if expected["reversed_order"] else expected["paths"]
            assert list(row["paths"]) in (expected["paths"], ordered), uid
            assert row["slice_spacing"] == pytest.approx(expected["slice_spacing"]), uid
            # positions run along the slice normal (z for head-first, -z for feet-first)
            z_range = sorted(row[k] * row["normal_z"] for k in ("position_min", "position_max"))
            assert z_range == pytest.approx([expected["z_min"], expected["z_max"]]), uid
    junk = {j["path"] for j in truth["junk"]}
    index_errors = t["errors"][t["errors"]["stage"] == "index"]
    # errors.csv names patient folders by their keys, never by the patient ID
    scrub = PathScrubber.from_out(tmp_path / "out")
    assert set(index_errors["path"]) >= {scrub(p) for p in junk}
    assert not index_errors["path"].str.contains("DEMO0").any()
    assert set(t["instances"]["path"]).isdisjoint(junk)
    assert {(a["path"], a["kind"]) for a in truth["aux_files"]} <= set(
        zip(t["files"]["path"], t["files"]["kind"], strict=True)
    )
