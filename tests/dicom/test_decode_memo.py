"""decode_fields keeps the decoded values a series repeats; every file still decodes right.

Real files (pydicom's own four-slice CT series, which this project did not write) are
decoded in order, so every slice after the first takes its shared values from the memo;
each field is compared with pydicom's own reading of the same file.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from imncohort.dicom import values
from imncohort.dicom.header import CorruptHeader, parse_header
from imncohort.dicom.values import decode_fields

CT2 = Path(get_testdata_file("dicomdirtests/77654033/CT2/17106")).parent


def _header(path: Path) -> tuple[dict[int, bytes], bool]:
    data = path.read_bytes()
    header = parse_header(data, len(data))
    return dict(header.values), header.little_endian


def test_every_slice_of_a_real_series_matches_pydicom_with_the_memo_warm() -> None:
    values._shared_memo.clear()
    slices = sorted(CT2.iterdir())
    assert len(slices) == 4
    for path in slices:
        raw, little = _header(path)
        fields = decode_fields(raw, little)
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert fields["sop_instance_uid"] == ds.SOPInstanceUID
        assert fields["series_instance_uid"] == ds.SeriesInstanceUID
        assert fields["study_instance_uid"] == ds.StudyInstanceUID
        assert fields["instance_number"] == int(ds.InstanceNumber)
        assert fields["image_position_patient"] == tuple(float(v) for v in ds.ImagePositionPatient)
        assert fields["pixel_spacing"] == tuple(float(v) for v in ds.PixelSpacing)
        assert fields["rows"] == ds.Rows
        assert fields["columns"] == ds.Columns
        assert fields["patient_name"] == str(ds.PatientName)
        assert fields["patient_id"] == ds.PatientID
        assert fields["modality"] == ds.Modality
    # the four slices share one study, series, patient and geometry: one memo entry
    assert len(values._shared_memo) == 1


def test_a_corrupt_per_file_value_is_caught_after_its_series_is_remembered() -> None:
    values._shared_memo.clear()
    raw, little = _header(sorted(CT2.iterdir())[0])
    decode_fields(raw, little)
    broken = {**raw, 0x00080018: b"1.2.3.ABC"}  # SOP Instance UID with letters
    with pytest.raises(CorruptHeader, match=r"\(0008,0018\) sop_instance_uid holds characters"):
        decode_fields(broken, little)


def test_a_corrupt_shared_value_is_never_remembered() -> None:
    values._shared_memo.clear()
    raw, little = _header(sorted(CT2.iterdir())[0])
    broken = {**raw, 0x00080060: b"C" * 200}  # Modality of a runaway length
    for _ in range(2):  # the second time too: the failure was not kept
        with pytest.raises(CorruptHeader, match=r"\(0008,0060\) modality is 200 bytes long"):
            decode_fields(broken, little)
    assert values._shared_memo == {}


def test_the_memo_stays_within_its_limit() -> None:
    values._shared_memo.clear()
    raw, little = _header(sorted(CT2.iterdir())[0])
    for n in range(values._MEMO_LIMIT + 10):  # a new series every time
        fields = decode_fields({**raw, 0x0020000E: f"1.2.{n}".encode()}, little)
        assert fields["series_instance_uid"] == f"1.2.{n}"
    assert 0 < len(values._shared_memo) <= values._MEMO_LIMIT


def test_values_pydicom_converted_decode_as_raw_bytes_do() -> None:
    """The pydicom fallback passes converted (and unhashable) values: same fields."""
    values._shared_memo.clear()
    path = sorted(CT2.iterdir())[1]
    raw, little = _header(path)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    converted = {tag: ds[tag].value for tag in raw if tag in ds}
    assert decode_fields(converted, little) == decode_fields(raw, little)


def test_an_absent_value_and_an_empty_pydicom_value_are_told_apart() -> None:
    """(0004,1200) present with no value (pydicom gives None) still marks a DICOMDIR."""
    values._shared_memo.clear()
    raw, little = _header(sorted(CT2.iterdir())[0])
    assert 0x00041200 not in raw
    assert decode_fields(raw, little)["dicomdir_offset"] is False
    assert decode_fields({**raw, 0x00041200: None}, little)["dicomdir_offset"] is True
    without_position = {k: v for k, v in raw.items() if k != 0x00200032}
    assert decode_fields(without_position, little)["image_position_patient"] == ()
