"""The header parser replays the layout of the last files it walked, with the walk's result.

A replay must give exactly what a walk gives, or fall back to the walk. Checked on real
files this project did not write (pydicom's four-slice CT series and its test files,
rt-utils' CT slices), on a series written by pydicom whose value lengths change from slice
to slice, and by fuzzing: every one of 400 single-byte changes (fixed seed) to a real CT
header parses the same, with the same error where it fails, whether the parser remembers
the unchanged file or not.
"""

from __future__ import annotations

import lzma
import random
from io import BytesIO
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imncohort.dicom import header
from imncohort.dicom.header import NeedMoreData, RawHeader, parse_header

DATA = Path(__file__).resolve().parents[1] / "data"
CT2 = Path(get_testdata_file("dicomdirtests/77654033/CT2/17106")).parent
CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
RT_UTILS_CT = DATA / "rt-utils" / "ct_1.dcm.xz"


@pytest.fixture()
def memo(monkeypatch: pytest.MonkeyPatch) -> header._LayoutMemo:
    fresh = header._LayoutMemo()
    monkeypatch.setattr(header._local, "memo", fresh, raising=False)
    return fresh


def _outcome(data: bytes, first: int = 4096) -> RawHeader | tuple[str, str]:
    """Parse as the index reader does (first block, more on NeedMoreData); or the error."""
    buf = data[:first]
    while True:
        try:
            return parse_header(buf, len(data))
        except NeedMoreData as more:
            want = min(len(data), max(more.needed + 4096, 4 * len(buf)))
            if want <= len(buf):
                return ("NeedMoreData", str(more.needed))
            buf = data[:want]
        except Exception as exc:  # the error a walk raises is part of the result
            return (type(exc).__name__, str(exc))


def _walked(data: bytes) -> RawHeader | tuple[str, str]:
    """The outcome with nothing remembered."""
    saved = header._thread_memo()
    header._local.memo = header._LayoutMemo()
    try:
        return _outcome(data)
    finally:
        header._local.memo = saved


def _series(n: int, syntax: str) -> list[bytes]:
    """``n`` slices whose SOP UID and position change length now and then."""
    files = []
    for i in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.826.0.1.3680043.10.543.9.{i + 1}"
        ds.file_meta.TransferSyntaxUID = syntax
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.543.9.{i + 1}"
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.8.1"
        ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.543.8.2"
        ds.Modality = "CT"
        ds.PatientName = "SERIES^TEST"
        ds.PatientID = "LAYOUT01"
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [-250.0, -250.0, -2.5 * i]
        ds.SliceLocation = -2.5 * i
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.Rows = 4
        ds.Columns = 4
        ds.PixelSpacing = [0.9765625, 0.9765625]
        ds.BitsAllocated = 16
        ds.PixelData = bytes(32)
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        files.append(buffer.getvalue())
    return files


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_a_series_parses_as_walked_and_most_slices_are_replayed(
    memo: header._LayoutMemo, syntax: str
) -> None:
    files = _series(30, syntax)
    replays = 0
    for data in files:
        result = _outcome(data)
        replays += memo.misses == 0
        assert result == _walked(data)
    # walked: the first slice, and where the file grows, so no layout fits: at slice 5
    # (position -7.5 -> -10.0) and slice 10 (SOP UID ...9.9 -> ...9.10, position -22.5)
    assert replays == 27


def test_real_ct_series_and_test_files_parse_as_walked(memo: header._LayoutMemo) -> None:
    datas = [p.read_bytes() for p in sorted(CT2.iterdir())]
    datas.append(CT_SMALL.read_bytes())
    datas.append(lzma.decompress(RT_UTILS_CT.read_bytes()))
    datas += datas  # the second round meets every layout remembered
    walked = [_walked(d) for d in datas]
    assert all(isinstance(w, RawHeader) for w in walked)
    assert [_outcome(d) for d in datas] == walked
    assert walked[0].values[0x00080060] == b"CT"


def _fuzz_cases() -> list[tuple[int, int]]:
    rng = random.Random(20261203)
    size = min(len(CT_SMALL.read_bytes()), 4096)
    return [(rng.randrange(132, size), rng.randrange(256)) for _ in range(400)]


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_single_byte_changes_parse_as_walked_with_the_original_remembered(
    memo: header._LayoutMemo,
) -> None:
    original = CT_SMALL.read_bytes()
    replays = errors = 0
    for position, value in _fuzz_cases():
        changed = bytearray(original)
        changed[position] = value
        data = bytes(changed)
        memo.layouts.clear()
        memo.misses = 0
        assert isinstance(_outcome(original), RawHeader)  # remembered now
        result = _outcome(data)
        replays += memo.misses == 0
        errors += isinstance(result, tuple)
        assert result == _walked(data), (position, value)
    # both kinds happen (this seed): changed values replay, changed headers walk, some fail
    assert (replays, errors) == (232, 90)


def test_an_export_laid_out_anew_each_file_stops_recording_layouts() -> None:
    memo = header._LayoutMemo(limit=4, patience=4)
    files: list[bytes] = []
    base = CT_SMALL.read_bytes()
    for i in range(12):  # the same file padded to a new size each time: no layout fits
        files.append(base + bytes(2 * (i + 1)))
    recorded = []
    for data in files:
        buf = data[:4096]
        memo.parse(buf, len(data), header.read_file_meta(buf, len(data)))
        recorded.append(memo.layouts[0])
    new = [recorded[i] is not recorded[i - 1] for i in range(1, len(recorded))]
    # files 2-4 record a layout each; past patience, only every 4th miss does (the 8th, 12th)
    assert new == [True, True, True, False, False, False, True, False, False, False, True]
    assert memo.misses == 12
    assert len(memo.layouts) == 4


def test_threads_keep_their_own_layouts(memo: header._LayoutMemo) -> None:
    import threading

    files = _series(12, ExplicitVRLittleEndian)
    results: dict[int, list[RawHeader | tuple[str, str]]] = {}

    def read(number: int) -> None:
        results[number] = [_outcome(d) for d in files]

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [_walked(d) for d in files]
    assert [results[n] for n in range(4)] == [expected] * 4
    assert memo.layouts == []  # this thread's memo: the threads used their own
