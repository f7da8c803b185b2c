"""read_rtstruct's raw contour walk against its pydicom path, in every little-endian encoding.

A big-endian copy of the same structure set is read by pydicom alone (the element loop
refuses big endian), so it gives the values the raw walk must reproduce. Damaged files
(cut short, a ContourData count that is not a multiple of 3, an empty sequence) must give
the pydicom path's messages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "measure"))

from synth import CtSpec, Scene, Slab, Structure, write_ct, write_rtstruct

from imncohort.annotations.models import ContourRoi, RoiSet, SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.rtstruct import read_rtstruct
from imncohort.config import load_config
from imncohort.errors import InputError

ZS = [0.0, 2.0, 4.0, 6.0]


def _set_lengths(ds: Dataset, undefined: bool) -> None:
    for element in ds:
        if element.VR == "SQ":
            element.is_undefined_length = undefined
            for item in element.value:
                item.is_undefined_length_sequence_item = undefined
                _set_lengths(item, undefined)


def _copy(src: Path, dst: Path, syntax: UID, undefined: bool) -> Path:
    ds = pydicom.dcmread(src)
    _set_lengths(ds, undefined)
    ds.file_meta.TransferSyntaxUID = syntax
    if syntax == ExplicitVRBigEndian:
        pydicom.dcmwrite(dst, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    else:
        ds.save_as(dst, enforce_file_format=True)
    return dst


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("rtstruct_raw")
    spec = CtSpec(ZS, rows=40, columns=50, spacing=(1.0, 1.0), feet_first=True)
    node = Structure(
        "IMN1_L", [Slab(2.0, 5.0, -50.0, 4.0, 3.0), Slab(4.0, 5.0, -50.0, 4.0, 3.0, hole=1.5)]
    )
    second = Structure(
        "IMN2_R", [Slab(0.0, -20.0, -45.0, 3.0, 2.0), Slab(6.0, -20.0, -45.0, 3.0, 2.0)]
    )
    point = Structure("IMV_L", points=[(1.0, -55.0, 4.0)])
    other = Structure("Heart", [Slab(2.0, -5.0, -50.0, 2.0, 2.0)])
    scene = Scene("R1", spec, [node, second, point, other])
    ct = write_ct(scene, base / "ct")
    iop = np.asarray(spec.iop, dtype=float)
    origins = np.array([[*spec.origin_xy, z] for z in spec.z_positions])
    grid = SliceGrid(
        origins, iop[:3], iop[3:], spec.spacing[0], spec.spacing[1], spec.rows, spec.columns
    )
    rs = write_rtstruct(scene, ct, base / "rs.dcm")
    return {"scene": scene, "grid": grid, "rs": rs, "base": base}


def _read(files: dict[str, object], path: Path) -> RoiSet:
    scene, grid = files["scene"], files["grid"]
    assert isinstance(scene, Scene) and isinstance(grid, SliceGrid)

    def resolve(uids: list[str], for_uid: str) -> tuple[str, SliceGrid] | None:
        return ("S", grid) if scene.series_uid in uids else None

    return read_rtstruct(path, "rs.dcm", resolve, NameMatcher(load_config().names))


def _big_endian(files: dict[str, object]) -> RoiSet:
    base, rs = files["base"], files["rs"]
    assert isinstance(base, Path) and isinstance(rs, Path)
    return _read(files, _copy(rs, base / "rs_big.dcm", ExplicitVRBigEndian, False))


@pytest.mark.parametrize("undefined", [False, True], ids=["defined", "undefined"])
@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=["explicit", "implicit"]
)
def test_raw_walk_equals_the_pydicom_path(
    scene_files: dict[str, object], syntax: UID, undefined: bool
) -> None:
    base, rs = scene_files["base"], scene_files["rs"]
    assert isinstance(base, Path) and isinstance(rs, Path)
    copy = _copy(rs, base / f"rs_{syntax}_{undefined}.dcm", syntax, undefined)
    if undefined:
        assert copy.read_bytes().count(b"\xfe\xff\xdd\xe0") >= 5  # sequence delimiters
    got, expected = _read(scene_files, copy), _big_endian(scene_files)
    assert [r.name for r in got.rois] == [r.name for r in expected.rois]
    assert [r.name for r in got.rois] == ["IMN1_L", "IMN2_R", "IMV_L"]  # Heart is not read
    assert got.errors == expected.errors == []
    assert got.meta == expected.meta
    for a, b in zip(got.rois, expected.rois, strict=True):
        assert isinstance(a, ContourRoi) and isinstance(b, ContourRoi)
        assert sorted(a.rings_by_slice) == sorted(b.rings_by_slice)
        for k, rings in a.rings_by_slice.items():
            assert len(rings) == len(b.rings_by_slice[k])
            for ra, rb in zip(rings, b.rings_by_slice[k], strict=True):
                assert np.array_equal(ra, rb)
        assert np.array_equal(a.points_lps, b.points_lps)
    first = got.rois[0]
    assert isinstance(first, ContourRoi)
    assert sorted(first.rings_by_slice) == [1, 2] and len(first.rings_by_slice[2]) == 2


def test_a_cut_undefined_length_file_gives_pydicoms_message(
    scene_files: dict[str, object],
) -> None:
    base, rs = scene_files["base"], scene_files["rs"]
    assert isinstance(base, Path) and isinstance(rs, Path)
    raw = _copy(rs, base / "rs_undefined.dcm", ExplicitVRLittleEndian, True).read_bytes()
    cut = raw[: raw.find(b"\x06\x30\x39\x00") + (len(raw) - raw.find(b"\x06\x30\x39\x00")) // 2]
    path = base / "rs_cut.dcm"
    path.write_bytes(cut)
    with pytest.raises(InputError) as caught:
        _read(scene_files, path)
    assert (
        str(caught.value) == f"cannot read RTSTRUCT: No tag to read at file position {len(cut):X}"
    )


def test_a_cut_defined_length_file_reads_as_pydicom_reads_it(
    scene_files: dict[str, object],
) -> None:
    """pydicom takes a short value as it is; the raw walk refuses it and leaves it to pydicom."""
    base, rs = scene_files["base"], scene_files["rs"]
    assert isinstance(base, Path) and isinstance(rs, Path)
    raw = _copy(rs, base / "rs_defined.dcm", ExplicitVRLittleEndian, False).read_bytes()
    path = base / "rs_cut_defined.dcm"
    path.write_bytes(raw[:-40])  # inside the last element, the RTROIObservationsSequence
    observations = pydicom.dcmread(path, force=True).get_item(0x30060080)
    assert (observations.length, len(observations.value)) == (200, 160)
    got, expected = _read(scene_files, path), _big_endian(scene_files)
    assert [r.name for r in got.rois] == [r.name for r in expected.rois]
    assert [r.name for r in got.rois] == ["IMN1_L", "IMN2_R", "IMV_L"]


def _edited(files: dict[str, object], name: str, change: object) -> Path:
    base, rs = files["base"], files["rs"]
    assert isinstance(base, Path) and isinstance(rs, Path) and callable(change)
    ds = pydicom.dcmread(rs)
    change(ds)
    ds.save_as(base / name, enforce_file_format=True)
    return _copy(base / name, base / name, ExplicitVRLittleEndian, True)


def test_contour_data_not_a_multiple_of_3_gives_the_same_message(
    scene_files: dict[str, object],
) -> None:
    def change(ds: Dataset) -> None:
        ds.ROIContourSequence[0].ContourSequence[0].ContourData = [1.0, 2.0, 3.0, 4.0]

    path = _edited(scene_files, "rs_four.dcm", change)
    with pytest.raises(InputError) as caught:
        _read(scene_files, path)
    assert str(caught.value) == "ContourData holds 4 numbers, not a multiple of 3"


def test_an_empty_undefined_length_sequence_gives_the_same_message(
    scene_files: dict[str, object],
) -> None:
    def change(ds: Dataset) -> None:
        ds.ROIContourSequence = Sequence([])

    path = _edited(scene_files, "rs_empty.dcm", change)
    with pytest.raises(InputError) as caught:
        _read(scene_files, path)
    assert str(caught.value) == (
        "RTSTRUCT's ROIContourSequence is empty (a structure set without contours)"
    )
