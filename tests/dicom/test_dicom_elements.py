"""The one raw element loop: explicit and implicit VR, sequences of undefined length,
big-endian refusal and a damaged length, on files written by pydicom."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from imncohort.dicom.elements import (
    TruncatedFile,
    UnsupportedEncoding,
    element_header,
    explicit_vr,
    raw_sequence_is_empty,
    read_file_meta,
    skip_sequence,
)
from imncohort.dicom.header import parse_header
from imncohort.dicom.values import decode_fields

SERIES_UID = "1.2.826.0.1.3680043.10.543.7.1"
SOP_UID = "1.2.826.0.1.3680043.10.543.7.2"


def _dataset(syntax: UID, undefined: bool) -> Dataset:
    """A small instance with a nested sequence (0008,1115) before the wanted tags end."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = SOP_UID
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = SOP_UID
    ds.Modality = "CT"
    inner = Dataset()
    inner.ReferencedSOPInstanceUID = "1.2.3.4"
    inner.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item = Dataset()
    item.SeriesInstanceUID = "9.9.9"
    item.ReferencedInstanceSequence = Sequence([inner, inner])
    ds.ReferencedSeriesSequence = Sequence([item, item])
    ds.StudyDescription = "CHEST"
    ds.SeriesInstanceUID = SERIES_UID
    ds.Rows = 2
    ds.Columns = 3
    if undefined:
        for element in (ds["ReferencedSeriesSequence"], item["ReferencedInstanceSequence"]):
            element.is_undefined_length = True
        item.is_undefined_length_sequence_item = True
        inner.is_undefined_length_sequence_item = True
    return ds


def _bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"]
)
def test_header_walk_reads_the_elements_after_a_nested_sequence(
    syntax: UID, undefined: bool
) -> None:
    raw = _bytes(_dataset(syntax, undefined))
    if undefined:
        assert raw.count(b"\xfe\xff\xdd\xe0") == 3  # two nested and one outer delimiter
        assert raw.count(b"\xfe\xff\x0d\xe0") == 6  # 2 items + 2 x 2 inner items
    header = parse_header(raw, len(raw))
    assert header.transfer_syntax_uid == syntax
    assert header.ended_early is True  # no pixel data, whole file in the buffer
    fields = decode_fields(header.values)
    assert fields["modality"] == "CT"
    assert fields["study_description"] == "CHEST"
    assert fields["series_instance_uid"] == SERIES_UID
    assert fields["sop_instance_uid"] == SOP_UID
    assert (fields["rows"], fields["columns"]) == (2, 3)


def test_skip_sequence_returns_the_end_of_defined_and_undefined_items() -> None:
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 10) + b"x" * 10  # defined length 10
    element = struct.pack("<HH", 0x0008, 0x0060) + b"CS" + struct.pack("<H", 2) + b"CT"
    undefined_item = (
        struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + element
        + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    )
    end = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    buf = item + undefined_item + end + b"TAIL"
    assert skip_sequence(buf, 0, True, len(buf), 0x00081115) == len(buf) - 4
    assert len(item) == 18 and len(undefined_item) == 26


def test_element_header_explicit_and_implicit() -> None:
    explicit = struct.pack("<HH", 0x0008, 0x1030) + b"LO" + struct.pack("<H", 6) + b"CHEST "
    assert element_header(explicit, 0, True) == (0x00081030, 8, 6, False)
    long_vr = struct.pack("<HH", 0x0009, 0x0010) + b"UN\x00\x00" + struct.pack("<I", 4)
    assert element_header(long_vr, 0, True) == (0x00090010, 12, 4, True)
    implicit = struct.pack("<HHI", 0x0008, 0x1030, 6) + b"CHEST "
    assert element_header(implicit, 0, False) == (0x00081030, 8, 6, False)
    bad = struct.pack("<HH", 0x0008, 0x1030) + b"l0" + struct.pack("<H", 6)
    with pytest.raises(UnsupportedEncoding, match=r"invalid VR b'l0' at byte 0"):
        element_header(bad, 0, True)


@pytest.mark.parametrize(
    ("syntax", "explicit"),
    [(ExplicitVRLittleEndian, True), (ImplicitVRLittleEndian, False), (JPEGBaseline8Bit, True)],
)
def test_explicit_vr_of_little_endian_syntaxes(syntax: UID, explicit: bool) -> None:
    assert explicit_vr(syntax) is explicit


@pytest.mark.parametrize(
    ("syntax", "message"),
    [
        (ExplicitVRBigEndian, "transfer syntax 1.2.840.10008.1.2.2"),
        (DeflatedExplicitVRLittleEndian, "transfer syntax 1.2.840.10008.1.2.1.99"),
        ("1.2.826.0.1.3680043.99.1", "unknown or private transfer syntax 1.2.826.0.1.3680043.99.1"),
    ],
)
def test_big_endian_deflated_and_private_syntaxes_are_refused(syntax: str, message: str) -> None:
    with pytest.raises(UnsupportedEncoding, match=message):
        explicit_vr(syntax)


def test_a_big_endian_file_is_refused_by_the_header_walk() -> None:
    ds = _dataset(ExplicitVRLittleEndian, False)
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    buf = BytesIO()
    ds.save_as(buf, implicit_vr=False, little_endian=False, enforce_file_format=True)
    raw = buf.getvalue()
    assert read_file_meta(raw, len(raw))[1] == ExplicitVRBigEndian
    with pytest.raises(UnsupportedEncoding, match=r"transfer syntax 1\.2\.840\.10008\.1\.2\.2"):
        parse_header(raw, len(raw))


def test_a_damaged_length_is_a_truncated_file_naming_the_element() -> None:
    raw = bytearray(_bytes(_dataset(ExplicitVRLittleEndian, False)))
    at = raw.find(struct.pack("<HH", 0x0008, 0x1030) + b"LO")
    assert at > 0
    struct.pack_into("<H", raw, at + 6, 60000)  # StudyDescription claims 60,000 bytes
    with pytest.raises(
        TruncatedFile,
        match=rf"the file ends at byte {len(raw)} inside element \(0008,1030\) "
        rf"which needs {at + 8 + 60000} bytes",
    ):
        parse_header(bytes(raw), len(raw))


def test_a_damaged_sequence_item_is_refused_with_its_position() -> None:
    raw = bytearray(_bytes(_dataset(ExplicitVRLittleEndian, True)))
    first_item = raw.find(b"\xfe\xff\x00\xe0")
    raw[first_item : first_item + 2] = b"\x08\x00"  # the item tag loses its FFFE group
    with pytest.raises(
        UnsupportedEncoding, match=f"unexpected tag in sequence at byte {first_item}"
    ):
        parse_header(bytes(raw), len(raw))


def test_raw_sequence_is_empty() -> None:
    assert raw_sequence_is_empty(b"") is True
    assert raw_sequence_is_empty(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)) is True
    assert raw_sequence_is_empty(struct.pack("<HHI", 0xFFFE, 0xE000, 0)) is False
