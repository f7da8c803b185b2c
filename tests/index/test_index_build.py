"""Whole-index behaviour: tables, series geometry, incremental runs, PHI, errors.csv."""

from __future__ import annotations

import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from index_factory import (
    ACCESSION,
    BIRTH_DATE,
    PATIENT_ID,
    PATIENT_NAME,
    SECRET,
    UID_ROOT,
    write_ct,
    write_series,
)

from imncohort.index.plan import plan_index
from imncohort.index.records import (
    INSTANCE_COLUMNS,
    REASON_VANISHED,
    SERIES_COLUMNS,
    STUDY_COLUMNS,
)
from imncohort.index.shards import index_chunk
from imncohort.index.stage import finalize_index, index_export
from imncohort.keys import pseudonym


def _index(export: Path, out: Path, chunk_size: int = 4) -> dict[str, object]:
    return index_export(export, out, chunk_size=chunk_size, secret=SECRET)


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    names = ("instances", "series", "studies", "files")
    tables = {n: pd.read_parquet(out / "restricted" / "index" / f"{n}.parquet") for n in names}
    tables["errors"] = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    tables["identities"] = pd.read_parquet(out / "restricted" / "identities.parquet")
    return tables


def _mixed_export(export: Path) -> None:
    write_series(export / "p1" / "ct", 5, series=UID_ROOT + "1.1", reverse_names=True)
    write_series(export / "p1" / "ct2", 3, series=UID_ROOT + "1.2", dz=-3.0)
    (export / "junk.dcm").write_text("not dicom")
    (export / "empty").write_bytes(b"")
    (export / "reports.csv").write_text("PatientID,ReportText\n")


def test_tables_have_schema_columns_and_values(export: Path, out: Path) -> None:
    _mixed_export(export)
    summary = _index(export, out)
    t = _tables(out)
    assert list(t["instances"].columns) == INSTANCE_COLUMNS
    assert list(t["series"].columns) == SERIES_COLUMNS
    assert list(t["studies"].columns) == STUDY_COLUMNS
    assert (summary["files_seen"], summary["files_read"]) == (11, 11)
    assert (summary["instances"], summary["series"], summary["studies"]) == (8, 2, 1)
    assert summary["junk"] == 2
    assert t["files"][["path", "kind"]].values.tolist() == [["reports.csv", "table"]]
    assert sorted(t["errors"]["path"]) == ["empty", "junk.dcm"]
    inst = t["instances"].set_index("path").loc["p1/ct/IM004"]
    assert inst["patient_key"] == pseudonym(SECRET, PATIENT_ID)
    assert inst["study_key"] == pseudonym(SECRET, UID_ROOT + "1")
    assert inst["ipp_z"] == 0.0 and inst["instance_number"] == 1
    assert inst["iop"] == "1\\0\\0\\0\\1\\0"
    assert inst["kind"] == "image" and inst["rows"] == 8
    study = t["studies"].iloc[0]
    assert (study["modalities"], study["n_series"], study["n_instances"]) == ("CT", 2, 8)
    assert study["study_date"] == "20240115" and study["n_reports"] == 0


def test_series_sorted_along_normal_with_spacing(export: Path, out: Path) -> None:
    write_series(export / "s", 5, series=UID_ROOT + "2.1", z0=-10.0, reverse_names=True)
    _index(export, out)
    series = _tables(out)["series"].iloc[0]
    # names run backwards (IM004 is the lowest slice): sorted by position, not by name
    assert list(series["paths"]) == [f"s/IM{i:03d}" for i in (4, 3, 2, 1, 0)]
    assert series["slice_spacing"] == pytest.approx(2.5)
    assert bool(series["regular_spacing"]) and bool(series["has_geometry"])
    assert (series["position_min"], series["position_max"]) == (-10.0, 0.0)
    assert (series["normal_x"], series["normal_y"], series["normal_z"]) == (0.0, 0.0, 1.0)
    assert (series["pixel_spacing_row"], series["pixel_spacing_col"]) == (0.5, 0.75)
    assert series["slice_thickness"] == 2.5 and series["n_instances"] == 5


def test_irregular_spacing_is_flagged(export: Path, out: Path) -> None:
    for i, z in enumerate((0.0, 2.5, 5.0, 10.0)):
        sop = f"{UID_ROOT}3.1.{i}"
        write_ct(export / f"IM{i}", series=UID_ROOT + "3.1", sop=sop, ipp=(0, 0, z))
    _index(export, out)
    series = _tables(out)["series"].iloc[0]
    assert not bool(series["regular_spacing"])
    assert series["slice_spacing"] == pytest.approx(2.5)


def test_series_with_missing_image_position(export: Path, out: Path) -> None:
    uid = UID_ROOT + "4.1"
    write_ct(export / "a", series=uid, sop=uid + ".1", ipp=(0, 0, 5), instance=3)
    write_ct(export / "b", series=uid, sop=uid + ".2", ipp=None, instance=1)
    write_ct(export / "c", series=uid, sop=uid + ".3", ipp=(0, 0, 0), instance=2)
    _index(export, out)
    t = _tables(out)
    assert len(t["series"]) == 1
    series = t["series"].iloc[0]
    assert not bool(series["has_geometry"])
    assert list(series["paths"]) == ["b", "c", "a"]  # by instance number
    assert np.isnan(series["position_min"]) and np.isnan(series["slice_spacing"])
    assert np.isnan(t["instances"].set_index("path").loc["b", "ipp_z"])


def test_one_uid_two_orientations_makes_two_series(export: Path, out: Path) -> None:
    uid = UID_ROOT + "5.1"
    write_series(export / "ax", 3, series=uid, sop_prefix=uid + ".1.")
    write_series(export / "cor", 2, series=uid, sop_prefix=uid + ".2.", iop=(1, 0, 0, 0, 0, -1))
    _index(export, out)
    series = _tables(out)["series"].set_index("series_key")
    assert sorted(series.index) == [uid, uid + "#2"]
    assert set(series["series_instance_uid"]) == {uid}
    by_n = {int(r["n_instances"]): r for _, r in series.iterrows()}
    assert by_n[3]["normal_z"] == 1.0 and by_n[2]["normal_y"] == 1.0
    assert by_n[2]["paths"].tolist() == ["cor/IM000", "cor/IM001"]
    assert bool(by_n[3]["has_geometry"]) and bool(by_n[2]["has_geometry"])


def test_deleted_between_walk_and_read(export: Path, out: Path) -> None:
    write_series(export / "s", 3, series=UID_ROOT + "6.1")
    plan = plan_index(export, out, 10, SECRET)
    (export / "s" / "IM001").unlink()
    # the calls of flows/index.py: plan, one index_chunk per chunk, finalize
    summaries = [index_chunk(export, out, c.shard, c.entries, SECRET) for c in plan.chunks]
    summary = finalize_index(plan, sum(s.files_read for s in summaries))
    errors = _tables(out)["errors"]
    assert errors[["path", "reason"]].values.tolist() == [["s/IM001", REASON_VANISHED]]
    assert summary["instances"] == 2


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_incremental_equals_fresh(export: Path, tmp_path: Path) -> None:
    _mixed_export(export)
    write_series(export / "p2", 4, series=UID_ROOT + "7.1")
    out = tmp_path / "out_incremental"
    first = _index(export, out, chunk_size=3)
    assert first["files_read"] == 15
    again = _index(export, out, chunk_size=3)
    assert again["files_read"] == 0 and again["instances"] == first["instances"]
    # change one slice, add one, delete one (in another shard), replace junk by a slice
    write_ct(export / "p2" / "IM001", series=UID_ROOT + "7.1", sop=UID_ROOT + "7.1.2",
             ipp=(0, 0, 2.5), instance=2, rows=16)  # fmt: skip
    _touch_later(export / "p2" / "IM001")
    write_ct(export / "p2" / "IM010", series=UID_ROOT + "7.1", sop=UID_ROOT + "7.1.99",
             ipp=(0, 0, 10.0), instance=5)  # fmt: skip
    (export / "p1" / "ct" / "IM002").unlink()
    (export / "junk.dcm").unlink()
    third = _index(export, out, chunk_size=3)
    assert third["files_read"] == 2
    fresh_out = tmp_path / "out_fresh"
    fresh = _index(export, fresh_out, chunk_size=5)
    assert fresh["files_read"] == 14
    incremental, reference = _tables(out), _tables(fresh_out)
    for name in ("instances", "series", "studies", "files", "errors", "identities"):
        pd.testing.assert_frame_equal(incremental[name], reference[name], obj=name)
    assert incremental["instances"].set_index("path").loc["p2/IM001", "rows"] == 16
    assert {k: third[k] for k in ("instances", "series", "studies", "junk")} == {
        k: fresh[k] for k in ("instances", "series", "studies", "junk")
    }
    # shards of the incremental index hold no rows of deleted files
    shard_rows = pd.concat(
        pd.read_parquet(p)
        for p in (out / "restricted" / "index" / "shards").glob("*.instances.parquet")
    )
    assert "p1/ct/IM002" not in set(shard_rows["path"])
    assert len(shard_rows) == third["instances"]


def test_other_secret_rebuilds_from_scratch(export: Path, out: Path) -> None:
    write_series(export, 2, series=UID_ROOT + "8.1")
    _index(export, out)
    summary = index_export(export, out, chunk_size=4, secret=b"another")
    assert summary["files_read"] == 2 and not summary["incremental"]
    keys = set(_tables(out)["instances"]["patient_key"])
    assert keys == {pseudonym(b"another", PATIENT_ID)}


def test_executor_gives_same_tables(export: Path, tmp_path: Path) -> None:
    _mixed_export(export)
    _index(export, tmp_path / "serial", chunk_size=2)
    with ThreadPoolExecutor(2) as pool:
        seen: list[tuple[int, int]] = []
        index_export(
            export,
            tmp_path / "pooled",
            chunk_size=2,
            secret=SECRET,
            executor=pool,
            on_progress=lambda done, total: seen.append((done, total)),
        )
    assert seen[-1] == (11, 11)
    a, b = _tables(tmp_path / "serial"), _tables(tmp_path / "pooled")
    for name in ("instances", "series", "studies", "errors"):
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_no_identity_outside_restricted(
    export: Path, out: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _mixed_export(export)
    caplog.set_level(logging.DEBUG)
    _index(export, out)
    identities = _tables(out)["identities"]
    assert identities[
        ["PatientID", "PatientName", "PatientBirthDate", "AccessionNumber"]
    ].values.tolist() == [[PATIENT_ID, PATIENT_NAME, BIRTH_DATE, ACCESSION]]
    needles = [PATIENT_ID, "SENTINELNAME", BIRTH_DATE, ACCESSION]
    public = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and "restricted" not in p.relative_to(out).parts
    )
    assert public == ["errors.csv"]  # the index tables live under restricted/index
    data = (out / "errors.csv").read_bytes()
    for needle in needles:
        assert needle.encode() not in data, needle
    for needle in needles:
        assert needle not in caplog.text


def test_missing_export_is_an_export_error(tmp_path: Path) -> None:
    from imncohort.errors import ExportError

    with pytest.raises(ExportError, match="does not exist"):
        _index(tmp_path / "nowhere", tmp_path / "out")


def test_mtime_only_change_rereads_file(export: Path, out: Path) -> None:
    write_series(export, 2, series=UID_ROOT + "9.1")
    _index(export, out)
    time.sleep(0.01)
    _touch_later(export / "IM000")
    assert _index(export, out)["files_read"] == 1


def test_dicomdir_entry_pointing_at_missing_file(tmp_path: Path) -> None:
    from index_factory import PYDICOM_TEST_FILES

    export = tmp_path / "export"
    shutil.copytree(PYDICOM_TEST_FILES / "dicomdirtests" / "TINY_ALPHA", export)
    (export / "PT000000" / "ST000000" / "SE000000" / "IM000005").unlink()
    (export / "README").unlink()
    summary = _index(export, tmp_path / "out", chunk_size=100)
    errors = _tables(tmp_path / "out")["errors"]
    dicomdir = errors[errors["reason"].str.startswith("DICOMDIR")]
    assert dicomdir["path"].tolist() == ["PT000000/ST000000/SE000000/IM000005"]
    assert dicomdir["reason"].iloc[0].startswith("DICOMDIR entry points at a missing file")
    # the other 49 are header-only CT files (pydicom's test set): each listed by its own path
    assert len(errors) == 50 and errors["reason"].str.contains("Rows x Columns is None").sum() == 49
    assert summary["instances"] == 49


def test_orphan_shards_of_an_interrupted_run_are_removed(export: Path, out: Path) -> None:
    write_series(export, 2, series=UID_ROOT + "10.1")
    _index(export, out)
    orphan = out / "restricted" / "index" / "shards" / "interrupted-00000.instances.parquet"
    orphan.write_bytes(b"left by a killed run")
    (export / "IM000").unlink()
    summary = _index(export, out)
    assert not orphan.exists()
    assert summary["instances"] == 1 and summary["files_read"] == 0


def test_dask_executor_on_local_scheduler(export: Path, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    _mixed_export(export)
    _index(export, tmp_path / "serial", chunk_size=3)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp",
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        summary = index_export(
            export,
            tmp_path / "dask",
            chunk_size=3,
            secret=SECRET,
            executor=client.get_executor(pure=False),
        )
    assert summary["files_read"] == 11 and summary["shards"] == 4
    a, b = _tables(tmp_path / "serial"), _tables(tmp_path / "dask")
    for name in ("instances", "series", "studies", "errors", "identities"):
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_non_utf8_names_are_indexed_not_fatal(export: Path, out: Path) -> None:
    """A Latin-1 folder name from an SMB share: read, stored losslessly, never a crash."""
    folder = Path(os.fsdecode(os.fsencode(export) + b"/M\xfcller"))
    write_series(folder, 2, series=UID_ROOT + "9.1")
    Path(os.fsdecode(os.fsencode(export) + b"/notes\xff.txt")).write_text("not dicom")
    summary = _index(export, out)
    t = _tables(out)
    assert summary["instances"] == 2
    assert sorted(t["instances"]["path"]) == ["M\\xfcller/IM000", "M\\xfcller/IM001"]
    assert t["series"]["paths"].tolist()[0].tolist() == ["M\\xfcller/IM000", "M\\xfcller/IM001"]
    assert t["errors"]["path"].tolist() == ["notes\\xff.txt"]
    again = _index(export, out)  # the manifest round-trips the names: nothing to re-read
    assert again["files_read"] == 0


def test_rehash_catches_same_size_same_mtime_replacement(export: Path, out: Path) -> None:
    write_series(export / "p1" / "ct", 2, series=UID_ROOT + "8.1")
    target = export / "p1" / "ct" / "IM001"
    first = index_export(export, out, chunk_size=4, secret=SECRET, rehash=False)
    assert first["instances"] == 2
    stat_before = target.stat()
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # one pixel byte differs: same size
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))  # same mtime
    assert index_export(export, out, chunk_size=4, secret=SECRET)["files_read"] == 0  # unseen
    hashed = index_export(export, out, chunk_size=4, secret=SECRET, rehash=True)
    assert hashed["files_read"] == 2  # the first --rehash has no hashes to compare: reads all
    data[-1] ^= 0x0F
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    again = index_export(export, out, chunk_size=4, secret=SECRET, rehash=True)
    assert again["files_read"] == 1  # only the replaced file
    manifest = pd.read_parquet(out / "restricted" / "index" / "manifest.parquet")
    assert manifest["content_hash"].str.len().tolist() == [64, 64]
