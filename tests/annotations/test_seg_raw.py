"""The SEG reader's raw per-frame walk against pydicom's data sets, on highdicom's files.

Every frame's ReferencedSegmentNumber and ImagePositionPatient must equal what pydicom's
PerFrameFunctionalGroupsSequence data sets give, explicit and implicit VR; a sequence
pydicom has parsed already (undefined length) or damaged bytes leave it to pydicom.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ImplicitVRLittleEndian

from imncohort.annotations.seg import _frame_info, _raw_frames

HIGHDICOM = Path(__file__).resolve().parents[1] / "data" / "highdicom"
FILES = {
    "seg_image_ct_binary.dcm": 3,
    "seg_image_ct_binary_overlap.dcm": 8,
    "seg_image_ct_binary_fractional.dcm": 3,
    "seg_image_ct_true_fractional.dcm": 3,
    "seg_image_ct_binary_single_frame.dcm": 1,
}


def _implicit(ds: Dataset) -> Dataset:
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(BytesIO(buf.getvalue()))


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
@pytest.mark.parametrize("name", sorted(FILES))
def test_raw_frames_equal_pydicoms_per_frame_groups(name: str, implicit: bool) -> None:
    ds = pydicom.dcmread(HIGHDICOM / name)
    if implicit:
        ds = _implicit(ds)
    raw = _raw_frames(ds)
    assert raw is not None
    assert len(raw) == FILES[name]
    expected = _frame_info(pydicom.dcmread(HIGHDICOM / name), None)
    got = _frame_info(ds, raw)
    assert [segment for segment, _ in got] == [segment for segment, _ in expected]
    assert all(segment is not None for segment, _ in got)
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert a is not None and b is not None
        assert np.array_equal(a, b)


def test_undefined_length_and_cut_sequences_are_left_to_pydicom() -> None:
    ds = pydicom.dcmread(HIGHDICOM / "seg_image_ct_binary.dcm")
    ds["PerFrameFunctionalGroupsSequence"].is_undefined_length = True
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    assert _raw_frames(pydicom.dcmread(BytesIO(buf.getvalue()))) is None  # parsed on reading
    cut = pydicom.dcmread(HIGHDICOM / "seg_image_ct_binary.dcm")
    element = cut.get_item(0x52009230)
    cut[0x52009230] = type(element)(
        element.tag,
        element.VR,
        element.length,
        element.value[:-10],
        element.value_tell,
        element.is_implicit_VR,
        element.is_little_endian,
    )
    assert _raw_frames(cut) is None
