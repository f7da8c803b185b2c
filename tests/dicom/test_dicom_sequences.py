"""The sequence iterator of the one element loop on public structure sets, against pydicom.

dicompyler-core's ``rtss.dcm`` (implicit VR, defined lengths, 10 ROIs, 441 contours,
one ROI without a ContourSequence) and rt-utils' ``rt.dcm``, as
shipped and re-encoded by pydicom: explicit VR with defined and with undefined lengths,
implicit VR with defined lengths; and cut short.
"""

from __future__ import annotations

import struct
from io import BytesIO

import numpy as np
import pytest
import realdata as rd
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imncohort.dicom.elements import (
    UNDEFINED,
    RawElement,
    TruncatedFile,
    UnsupportedEncoding,
    explicit_vr,
    find_element,
    item_value,
    nested_items,
    read_file_meta,
    sequence_items,
)

ROI_CONTOUR_SEQUENCE = 0x30060039
CONTOUR_SEQUENCE = 0x30060040
CONTOUR_GEOMETRIC_TYPE = 0x30060042
CONTOUR_DATA = 0x30060050
REFERENCED_ROI_NUMBER = 0x30060084
DICOMPYLER = "dicompyler-core/rtss.dcm"
RT_UTILS = "rt-utils/rt.dcm"

Contours = list[tuple[int, list[tuple[str, np.ndarray]]]]


def set_lengths(ds: Dataset, undefined: bool) -> None:
    """Mark every sequence and every item of ``ds`` (nested too) undefined or defined."""
    for element in ds:
        if element.VR == "SQ":
            element.is_undefined_length = undefined
            for item in element.value:
                item.is_undefined_length_sequence_item = undefined
                set_lengths(item, undefined)


def encoded(relative: str, syntax: UID | None, undefined: bool) -> bytes:
    """``tests/data/<relative>`` as shipped (``syntax`` None) or re-written by pydicom."""
    if syntax is None:
        return rd.data_bytes(relative)
    ds = rd.read_data(relative)
    set_lengths(ds, undefined)
    ds.file_meta.TransferSyntaxUID = syntax
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def pydicom_contours(relative: str) -> Contours:
    """ROI numbers, geometric types and ContourData as pydicom converts them (DSfloat)."""
    out = []
    for roi in rd.read_data(relative).ROIContourSequence:
        contours = [
            (str(c.ContourGeometricType), np.asarray(c.ContourData, dtype=float).reshape(-1, 3))
            for c in roi.get("ContourSequence", [])
        ]
        out.append((int(roi.ReferencedROINumber), contours))
    return out


def locate(raw: bytes) -> tuple[RawElement, bool]:
    """The ROIContourSequence element and whether the data set is explicit VR."""
    meta_end, syntax = read_file_meta(raw, len(raw))
    explicit = explicit_vr(syntax)
    element = find_element(raw, meta_end, explicit, ROI_CONTOUR_SEQUENCE)
    assert element is not None
    return element, explicit


def raw_contours(raw: bytes) -> Contours:
    """The same values read with :func:`sequence_items` / :func:`nested_items`."""
    seq, _ = locate(raw)
    out = []
    items = sequence_items(
        raw, seq.value_pos, seq.length, seq.explicit, len(raw), ROI_CONTOUR_SEQUENCE
    )
    for roi in items:
        number = int(item_value(raw, roi, REFERENCED_ROI_NUMBER) or b"")
        contours = []
        for contour in nested_items(raw, roi, CONTOUR_SEQUENCE, len(raw)):
            kind = (item_value(raw, contour, CONTOUR_GEOMETRIC_TYPE) or b"").decode().strip()
            text = (item_value(raw, contour, CONTOUR_DATA) or b"").strip(b" \x00")
            contours.append((kind, np.array(text.split(b"\\"), dtype=float).reshape(-1, 3)))
        out.append((number, contours))
    return out


ENCODINGS = [
    pytest.param(None, False, id="as-shipped"),  # implicit VR, defined lengths
    pytest.param(ExplicitVRLittleEndian, False, id="explicit-defined"),
    pytest.param(ExplicitVRLittleEndian, True, id="explicit-undefined"),
    pytest.param(ImplicitVRLittleEndian, False, id="implicit-defined"),
    pytest.param(ImplicitVRLittleEndian, True, id="implicit-undefined"),
]


@pytest.mark.parametrize(("syntax", "undefined"), ENCODINGS)
def test_dicompyler_contours_equal_pydicom_in_every_encoding(
    syntax: UID | None, undefined: bool
) -> None:
    raw = encoded(DICOMPYLER, syntax, undefined)
    seq, explicit = locate(raw)
    assert explicit is (syntax == ExplicitVRLittleEndian)
    assert (seq.length == UNDEFINED) is undefined
    if syntax is None:
        assert (seq.value_pos, seq.length) == (11310, 1928362)
    if undefined:
        assert raw[seq.end - 8 : seq.end] == struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    got, expected = raw_contours(raw), pydicom_contours(DICOMPYLER)
    assert [n for n, _ in got] == [n for n, _ in expected] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert sum(len(c) for _, c in got) == 441
    assert [len(c) for _, c in got].count(0) == 1  # one ROI without a ContourSequence
    for (_, mine), (_, theirs) in zip(got, expected, strict=True):
        assert [kind for kind, _ in mine] == [kind for kind, _ in theirs]
        for (_, a), (_, b) in zip(mine, theirs, strict=True):
            assert a.shape == b.shape
            assert np.array_equal(a, b)


@pytest.mark.parametrize(("syntax", "undefined"), ENCODINGS)
def test_rt_utils_contours_equal_pydicom_in_every_encoding(
    syntax: UID | None, undefined: bool
) -> None:
    raw = encoded(RT_UTILS, syntax, undefined)
    got, expected = raw_contours(raw), pydicom_contours(RT_UTILS)
    assert [(n, [k for k, _ in c]) for n, c in got] == [(1, ["CLOSED_PLANAR"] * 2)]
    assert [(n, [k for k, _ in c]) for n, c in expected] == [(1, ["CLOSED_PLANAR"] * 2)]
    for (_, a), (_, b) in zip(got[0][1], expected[0][1], strict=True):
        assert np.array_equal(a, b)


def test_an_item_of_defined_length_keeps_its_nested_undefined_sequence() -> None:
    """Defined-length items around undefined-length nested sequences (a writer's mix)."""
    ds = rd.read_data(DICOMPYLER)
    set_lengths(ds, False)
    for roi in ds.ROIContourSequence:
        if "ContourSequence" in roi:
            roi["ContourSequence"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    raw = buf.getvalue()
    seq, _ = locate(raw)
    first = next(
        sequence_items(raw, seq.value_pos, seq.length, True, len(raw), ROI_CONTOUR_SEQUENCE)
    )
    assert seq.length != UNDEFINED
    assert first[CONTOUR_SEQUENCE][1] == UNDEFINED
    got = raw_contours(raw)
    assert sum(len(c) for _, c in got) == 441
    assert [len(c) for _, c in got] == [len(c) for _, c in pydicom_contours(DICOMPYLER)]


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
def test_a_cut_file_is_a_truncated_file_naming_the_sequence(undefined: bool) -> None:
    raw = encoded(DICOMPYLER, ExplicitVRLittleEndian, undefined)
    seq, _ = locate(raw)
    cut = raw[: seq.value_pos + (seq.end - seq.value_pos) // 2]
    meta_end, _ = read_file_meta(cut, len(cut))
    if not undefined:
        needs = seq.value_pos + seq.length
        with pytest.raises(
            TruncatedFile,
            match=rf"^the file ends at byte {len(cut)} inside element \(3006,0039\) "
            rf"which needs {needs} bytes$",
        ):
            find_element(cut, meta_end, True, ROI_CONTOUR_SEQUENCE)
        return
    with pytest.raises(TruncatedFile, match=rf"^the file ends at byte {len(cut)} inside element"):
        find_element(cut, meta_end, True, ROI_CONTOUR_SEQUENCE)
    cut = raw[: seq.value_pos + (seq.end - seq.value_pos) * 3 // 4]
    items = sequence_items(cut, seq.value_pos, UNDEFINED, True, len(cut), ROI_CONTOUR_SEQUENCE)
    rois = contours = 0
    with pytest.raises(
        TruncatedFile, match=rf"^the file ends at byte {len(cut)} inside element \(3006,0050\) "
    ):
        for roi in items:
            rois += 1
            contours += sum(1 for _ in nested_items(cut, roi, CONTOUR_SEQUENCE, len(cut)))
    assert (rois, contours) == (5, 141 + 0 + 2 + 48 + 33)  # the ROIs wholly before the cut


def test_a_stray_element_between_items_is_refused() -> None:
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    stray = struct.pack("<HH", 0x0008, 0x0060) + b"CS" + struct.pack("<H", 2) + b"CT"
    buf = item + stray
    with pytest.raises(
        UnsupportedEncoding, match=r"^unexpected tag in sequence \(3006,0039\) at byte 8$"
    ):
        list(sequence_items(buf, 0, len(buf), True, len(buf), ROI_CONTOUR_SEQUENCE))


def test_an_element_past_the_end_of_its_item_is_refused() -> None:
    element = struct.pack("<HH", 0x0008, 0x0060) + b"CS" + struct.pack("<H", 2) + b"CT"
    buf = struct.pack("<HHI", 0xFFFE, 0xE000, 6) + element  # item claims 6 of 10 bytes
    with pytest.raises(
        UnsupportedEncoding, match=r"runs past the end of its item in \(3006,0039\)"
    ):
        list(sequence_items(buf, 0, len(buf), True, len(buf), ROI_CONTOUR_SEQUENCE))


def test_item_value_and_absent_nested_sequence() -> None:
    element = struct.pack("<HH", 0x3006, 0x0084) + b"IS" + struct.pack("<H", 2) + b"7 "
    buf = struct.pack("<HHI", 0xFFFE, 0xE000, len(element)) + element
    (item,) = sequence_items(buf, 0, len(buf), True, len(buf), ROI_CONTOUR_SEQUENCE)
    assert item == {REFERENCED_ROI_NUMBER: (16, 2, True)}
    assert item_value(buf, item, REFERENCED_ROI_NUMBER) == b"7 "
    assert item_value(buf, item, CONTOUR_DATA) is None
    assert list(nested_items(buf, item, CONTOUR_SEQUENCE, len(buf))) == []


def test_an_item_past_the_end_of_its_sequence_is_refused() -> None:
    element = struct.pack("<HH", 0x0008, 0x0060) + b"CS" + struct.pack("<H", 2) + b"CT"
    buf = struct.pack("<HHI", 0xFFFE, 0xE000, len(element)) + element
    items = sequence_items(buf, 0, 12, True, len(buf), ROI_CONTOUR_SEQUENCE)  # 12 of 18 bytes
    assert next(items) == {0x00080060: (16, 2, True)}
    with pytest.raises(
        UnsupportedEncoding, match=r"^an item runs past the end of sequence \(3006,0039\)$"
    ):
        next(items)
