"""The RTSTRUCT, SEG and NIfTI readers on tiny synthetic files (LPS output, errors)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "measure"))

from synth import (
    CtSpec,
    Scene,
    Slab,
    Structure,
    write_ct,
    write_nifti,
    write_rtstruct,
    write_seg,
)

from imncohort.annotations.models import ContourRoi, MaskRoi, SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.nifti import (
    grid_from_affine_ras,
    label_names,
    read_nifti,
    read_sidecar,
)
from imncohort.annotations.rtstruct import read_rtstruct
from imncohort.annotations.seg import read_seg
from imncohort.config import load_config
from imncohort.errors import InputError

ZS = [0.0, 2.0, 4.0, 6.0]


def _grid(spec: CtSpec) -> SliceGrid:
    iop = np.asarray(spec.iop, dtype=float)
    x0, y0 = spec.origin_xy
    origins = np.array([[x0, y0, z] for z in spec.z_positions])
    return SliceGrid(
        origins, iop[:3], iop[3:], spec.spacing[0], spec.spacing[1], spec.rows, spec.columns
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("readers")
    spec = CtSpec(ZS, rows=40, columns=50, spacing=(1.0, 1.0), feet_first=True)
    node = Structure(
        "IMN1_L", [Slab(2.0, 5.0, -50.0, 4.0, 3.0), Slab(4.0, 5.0, -50.0, 4.0, 3.0, hole=1.5)]
    )
    point = Structure("IMV_L", points=[(1.0, -55.0, 4.0)])
    other = Structure("Heart", [Slab(2.0, -5.0, -50.0, 2.0, 2.0)])
    scene = Scene("R1", spec, [node, point, other])
    ct = write_ct(scene, base / "ct")
    return {
        "scene": scene,
        "grid": _grid(spec),
        "rs": write_rtstruct(scene, ct, base / "rs.dcm"),
        "seg": write_seg(scene, ct, base / "seg.dcm", [node, other]),
        "nii": write_nifti(scene, base / "lab.nii.gz", [node, other]),
        "base": base,
    }


def _resolver(scene: Scene, grid: SliceGrid):  # type: ignore[no-untyped-def]
    def resolve(uids: list[str], for_uid: str) -> tuple[str, SliceGrid] | None:
        if scene.series_uid in uids or (not uids and for_uid == scene.for_uid):
            return "S", grid
        return None

    return resolve


def test_rtstruct_rings_points_and_skipped_rois(files: dict[str, object]) -> None:
    scene, grid = files["scene"], files["grid"]
    matcher = NameMatcher(load_config().names)
    roi_set = read_rtstruct(files["rs"], "rs.dcm", _resolver(scene, grid), matcher)  # type: ignore[arg-type]
    names = [r.name for r in roi_set.rois]
    assert names == ["IMN1_L", "IMV_L"]  # Heart is not read
    node = roi_set.rois[0]
    assert isinstance(node, ContourRoi)
    assert sorted(node.rings_by_slice) == [1, 2]  # z = 2 and z = 4
    assert len(node.rings_by_slice[2]) == 2  # outer ring and hole on one slice
    assert np.allclose(node.rings_by_slice[1][0].mean(axis=0), [5.0, -50.0], atol=1e-3)
    imv = roi_set.rois[1]
    assert isinstance(imv, ContourRoi)
    assert np.allclose(imv.points_lps, [[1.0, -55.0, 4.0]])
    assert roi_set.errors == []


def test_rtstruct_missing_series_raises(files: dict[str, object]) -> None:
    matcher = NameMatcher(load_config().names)
    with pytest.raises(InputError, match="not an axial image series"):
        read_rtstruct(files["rs"], "rs.dcm", lambda uids, for_uid: None, matcher)  # type: ignore[arg-type]


def test_seg_frames_on_ct_slices_in_lps(files: dict[str, object]) -> None:
    scene, grid = files["scene"], files["grid"]
    matcher = NameMatcher(load_config().names)
    roi_set = read_seg(files["seg"], "seg.dcm", _resolver(scene, grid), matcher)  # type: ignore[arg-type]
    assert [r.name for r in roi_set.rois] == ["IMN1_L"]
    node = roi_set.rois[0]
    assert isinstance(node, MaskRoi)
    assert node.mask_kji.shape[0] == 2  # cropped to the node's slices
    assert np.allclose(node.grid.z_mm, [2.0, 4.0])
    _kk, jj, ii = np.nonzero(node.mask_kji[0:1])
    xy = node.grid.pixel_to_xy_lps(0, ii, jj)
    assert np.allclose(xy.mean(axis=0), [5.0, -50.0], atol=0.5)
    assert node.mask_kji[1].sum() < node.mask_kji[0].sum()  # the hole


def test_nifti_ras_to_lps(files: dict[str, object]) -> None:
    scene, grid = files["scene"], files["grid"]
    matcher = NameMatcher(load_config().names)
    base = files["base"]
    sidecar = read_sidecar(base / "lab.json")  # type: ignore[operator]
    roi_set = read_nifti(files["nii"], "lab.nii.gz", sidecar, _resolver(scene, grid), matcher)  # type: ignore[arg-type]
    node = roi_set.rois[0]
    assert isinstance(node, MaskRoi)
    assert np.allclose(node.grid.z_mm, [2.0, 4.0])
    assert node.grid.slice_spacing_mm == pytest.approx(2.0)
    assert np.allclose(node.grid.row_dir_lps, [-1, 0, 0])  # feet-first: columns run to the right
    _kk, jj, ii = np.nonzero(node.mask_kji[0:1])
    xy = node.grid.pixel_to_xy_lps(0, ii, jj)
    assert np.allclose(xy.mean(axis=0), [5.0, -50.0], atol=0.5)


def test_nifti_grid_flips_and_permutes() -> None:
    affine_ras = np.array([[0, 0, -0.8, 10], [-0.7, 0, 0, 20], [0, 2.5, 0, -5], [0, 0, 0, 1.0]])
    grid, axes = grid_from_affine_ras(affine_ras, (30, 8, 40))
    assert axes == (0, 2, 1)  # the second array axis runs along z
    assert np.allclose(grid.z_mm, -5 + 2.5 * np.arange(8))
    assert np.allclose(grid.origins_lps[0], [-10, -20, -5])
    assert np.allclose(grid.row_dir_lps, [0, 1, 0]) and grid.spacing_col_mm == pytest.approx(0.7)
    assert np.allclose(grid.col_dir_lps, [1, 0, 0]) and grid.spacing_row_mm == pytest.approx(0.8)
    oblique = np.array([[1, 0, 0, 0], [0, 0.94, 0.34, 0], [0, -0.34, 0.94, 0], [0, 0, 0, 1.0]])
    with pytest.raises(InputError, match="oblique"):
        grid_from_affine_ras(oblique, (4, 4, 4))


def test_label_names_default_to_totalsegmentator() -> None:
    assert label_names({"SeriesInstanceUID": "1.2"})[116] == "sternum"
    assert label_names({"SeriesInstanceUID": "1.2", "labels": {"3": "IMN1_L"}}) == {3: "IMN1_L"}


def _implicit_copy(src: Path, dst: Path) -> Path:
    import pydicom
    from pydicom.uid import ImplicitVRLittleEndian

    ds = pydicom.dcmread(src)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.save_as(dst, implicit_vr=True, little_endian=True)
    return dst


def test_implicit_and_explicit_vr_copies_give_the_same_rois(files: dict[str, object]) -> None:
    """An implicit VR copy of a structure set gives the same ROIs as the explicit VR file."""
    scene, grid, base = files["scene"], files["grid"], files["base"]
    matcher = NameMatcher(load_config().names)
    resolve = _resolver(scene, grid)  # type: ignore[arg-type]
    fast = read_rtstruct(files["rs"], "rs.dcm", resolve, matcher)  # type: ignore[arg-type]
    slow = read_rtstruct(
        _implicit_copy(files["rs"], base / "rs_implicit.dcm"), "x", resolve, matcher
    )  # type: ignore[arg-type, operator]
    assert [r.name for r in slow.rois] == [r.name for r in fast.rois]
    for a, b in zip(fast.rois, slow.rois, strict=True):
        assert isinstance(a, ContourRoi) and isinstance(b, ContourRoi)
        assert sorted(a.rings_by_slice) == sorted(b.rings_by_slice)
        for k in a.rings_by_slice:
            for ra, rb in zip(a.rings_by_slice[k], b.rings_by_slice[k], strict=True):
                assert np.allclose(ra, rb)
        assert np.allclose(a.points_lps, b.points_lps)
    seg_fast = read_seg(files["seg"], "seg.dcm", resolve, matcher)  # type: ignore[arg-type]
    seg_slow = read_seg(
        _implicit_copy(files["seg"], base / "seg_implicit.dcm"), "x", resolve, matcher
    )  # type: ignore[arg-type, operator]
    assert len(seg_fast.rois) == len(seg_slow.rois) == 1
    a_mask, b_mask = seg_fast.rois[0], seg_slow.rois[0]
    assert isinstance(a_mask, MaskRoi) and isinstance(b_mask, MaskRoi)
    assert np.array_equal(a_mask.mask_kji, b_mask.mask_kji)
    assert np.allclose(a_mask.grid.origins_lps, b_mask.grid.origins_lps)


def test_compressed_seg_is_decoded_by_highdicom(tmp_path: Path, files: dict[str, object]) -> None:
    import highdicom as hd
    import pydicom
    from pydicom.uid import RLELossless

    scene, grid = files["scene"], files["grid"]
    source = hd.seg.segread(files["seg"])  # type: ignore[arg-type]
    ds = pydicom.dcmread(files["seg"])  # type: ignore[arg-type]
    pixels = np.asarray(ds.pixel_array, dtype=np.uint8)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.SegmentationType = "FRACTIONAL"  # 8-bit frames, as RLE needs
    ds.SegmentationFractionalType = "PROBABILITY"
    ds.MaximumFractionalValue = 1
    ds.compress(RLELossless, pixels)
    del source
    path = tmp_path / "seg_rle.dcm"
    ds.save_as(path)
    matcher = NameMatcher(load_config().names)
    plain = read_seg(files["seg"], "seg.dcm", _resolver(scene, grid), matcher)  # type: ignore[arg-type]
    rle = read_seg(path, "seg_rle.dcm", _resolver(scene, grid), matcher)  # type: ignore[arg-type]
    a, b = plain.rois[0], rle.rois[0]
    assert isinstance(a, MaskRoi) and isinstance(b, MaskRoi)
    assert np.array_equal(a.mask_kji, b.mask_kji)
