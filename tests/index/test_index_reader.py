"""Classifying and reading single files: the junk reasons and the fast header parser."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from index_factory import PATIENT_ID, PATIENT_NAME, PYDICOM_TEST_FILES, UID_ROOT, write_ct

from imncohort.dicom.values import decode_fields
from imncohort.index import reader as reader_module
from imncohort.index.reader import ReadResult, _pydicom_header, read_entry
from imncohort.index.records import (
    REASON_EMPTY,
    REASON_NOT_DICOM,
    REASON_PERMISSION,
    REASON_VANISHED,
    FileEntry,
    kind_of_sop_class,
)


def _read(export: Path, rel: str) -> ReadResult:
    st = os.stat(export / rel)
    return read_entry(str(export), FileEntry(rel, st.st_size, st.st_mtime_ns))


def test_ct_fields_read_from_header(export: Path) -> None:
    write_ct(export / "a" / "IM1", sop=UID_ROOT + "9.1", ipp=(-10.5, 20.25, 30.0), instance=7)
    result = _read(export, "a/IM1")
    assert result.status == "dicom"
    f = result.fields
    assert f["sop_instance_uid"] == UID_ROOT + "9.1"
    assert f["patient_name"] == PATIENT_NAME
    assert f["patient_id"] == PATIENT_ID
    assert f["instance_number"] == 7
    assert list(f["image_position_patient"]) == [-10.5, 20.25, 30.0]
    assert list(f["pixel_spacing"]) == [0.5, 0.75]
    assert (f["rows"], f["columns"]) == (8, 8)
    assert result.transfer_syntax_uid == "1.2.840.10008.1.2.1"


def test_implicit_vr_file_is_read(export: Path) -> None:
    write_ct(export / "IM1", sop=UID_ROOT + "9.2", implicit=True, ipp=(1.0, 2.0, 3.0))
    result = _read(export, "IM1")
    assert result.status == "dicom"
    assert list(result.fields["image_position_patient"]) == [1.0, 2.0, 3.0]
    assert result.transfer_syntax_uid == "1.2.840.10008.1.2"


def test_zero_byte_file(export: Path) -> None:
    (export / "empty").write_bytes(b"")
    assert _read(export, "empty").reason == REASON_EMPTY


def test_truncated_in_header(export: Path) -> None:
    data = write_ct(export / "full", sop=UID_ROOT + "9.3").read_bytes()
    (export / "cut").write_bytes(data[:300])
    result = _read(export, "cut")
    assert result.status == "junk"
    assert result.reason.startswith("truncated DICOM: ")


def test_truncated_in_pixel_data(export: Path) -> None:
    data = write_ct(export / "full", sop=UID_ROOT + "9.4", rows=64).read_bytes()
    (export / "cut.dcm").write_bytes(data[: len(data) - 1000])
    result = _read(export, "cut.dcm")
    assert result.status == "junk"
    assert result.reason.startswith("truncated DICOM: pixel data needs 8192 bytes")


def test_file_without_preamble_is_indexed(export: Path) -> None:
    shutil.copy(PYDICOM_TEST_FILES / "ExplVR_LitEndNoMeta.dcm", export / "noext")
    shutil.copy(PYDICOM_TEST_FILES / "ExplVR_BigEndNoMeta.dcm", export / "big.dcm")
    little, big = _read(export, "noext"), _read(export, "big.dcm")
    assert little.status == big.status == "dicom"
    assert little.fields["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.481.8"  # RT Ion Plan
    assert little.fields["modality"] == big.fields["modality"] == "RTPLAN"
    assert little.fields["sop_instance_uid"] == big.fields["sop_instance_uid"] != ""


def test_non_dicom_named_dcm(export: Path) -> None:
    (export / "note.dcm").write_text("Dear colleague, the scan is attached.\n" * 10)
    (export / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 500)
    assert _read(export, "note.dcm").reason == REASON_NOT_DICOM
    assert _read(export, "photo.jpg").reason == REASON_NOT_DICOM


def test_aux_files_by_name(export: Path) -> None:
    for name in ("a.nii.gz", "a.json", "r.csv", "r.xlsx", "x.pdf", "DICOMDIR"):
        (export / name).write_bytes(b"x")
    kinds = {n: _read(export, n).kind for n in ("a.nii.gz", "a.json", "r.csv", "x.pdf")}
    assert kinds == {"a.nii.gz": "nifti", "a.json": "json", "r.csv": "table", "x.pdf": "pdf"}
    assert _read(export, "r.xlsx").kind == "table"
    assert _read(export, "DICOMDIR").kind == "dicomdir"


def test_permission_denied_is_recorded(export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where chmod 000 still reads: make open() fail as it would.
    write_ct(export / "locked", sop=UID_ROOT + "9.5")
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(reader_module.os, "open", fake_open)
    assert _read(export, "locked").reason == REASON_PERMISSION


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_with_chmod(export: Path) -> None:
    path = write_ct(export / "locked", sop=UID_ROOT + "9.6")
    path.chmod(0)
    try:
        assert _read(export, "locked").reason == REASON_PERMISSION
    finally:
        path.chmod(0o644)


def test_vanished_file(export: Path) -> None:
    entry = FileEntry("gone", 100, 1)
    assert read_entry(str(export), entry).reason == REASON_VANISHED


def test_kind_of_sop_class() -> None:
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.2") == "image"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.481.3") == "rtstruct"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.66.4") == "seg"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.88.33") == "sr"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.104.1") == "pdf"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.481.2") == "other"  # RT Dose


def test_fast_parser_equals_pydicom_on_its_test_files() -> None:
    """Every file the fast path reads gives the same fields as pydicom's own parse."""
    compared = 0
    for path in sorted(PYDICOM_TEST_FILES.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(PYDICOM_TEST_FILES).as_posix()
        result = _read(PYDICOM_TEST_FILES, rel)
        if result.status != "dicom":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header, _ = _pydicom_header(str(path), force=True)
        assert result.fields == decode_fields(header.values, header.little_endian), rel
        compared += 1
    assert compared >= 150


@pytest.mark.parametrize(
    ("implicit", "tag", "old", "length", "rows", "name", "limit"),
    [
        (False, b"\x08\x00\x60\x00CS", b"\x02\x00", 1024, 64, "modality", 135),
        # to the end of the file: the whole rest of the header and the pixels become the date
        (True, b"\x08\x00\x20\x00", b"\x08\x00\x00\x00", -1, 256, "study_date", 18),
    ],
)
def test_runaway_element_length_is_a_bad_file_not_stored_bytes(
    tmp_path: Path,
    implicit: bool,
    tag: bytes,
    old: bytes,
    length: int,
    rows: int,
    name: str,
    limit: int,
) -> None:
    """A damaged length swallowed the name, ID and birth date into modality/study_date."""
    path = write_ct(tmp_path / "IM1", sop=UID_ROOT + "5.1", implicit=implicit, rows=rows)
    data = path.read_bytes()
    at = data.index(tag + old)
    size = len(old)
    if length < 0:
        length = len(data) - (at + len(tag) + size)
    broken = length.to_bytes(size, "little")
    path.write_bytes(data[: at + len(tag)] + broken + data[at + len(tag) + size :])
    st = path.stat()
    result = read_entry(str(tmp_path), FileEntry("IM1", st.st_size, st.st_mtime_ns))
    group_elem = (
        f"({int.from_bytes(tag[:2], 'little'):04X},{int.from_bytes(tag[2:4], 'little'):04X})"
    )
    assert (result.status, result.reason) == (
        "junk",
        f"corrupt DICOM header: element {group_elem} {name} is {length} bytes long, "
        f"at most {limit} expected (a damaged length field?)",
    )
    assert result.fields == {}
