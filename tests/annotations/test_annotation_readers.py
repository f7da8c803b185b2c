"""The RTSTRUCT, SEG and NIfTI readers on tiny synthetic files (LPS output, errors)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "measure"))

from synth import (  # noqa: E402
    CtSpec,
    Scene,
    Slab,
    Structure,
    write_ct,
    write_nifti,
    write_rtstruct,
    write_seg,
)

from imncohort.annotations.models import ContourRoi, MaskRoi, SliceGrid  # noqa: E402
from imncohort.annotations.names import NameMatcher  # noqa: E402
from imncohort.annotations.nifti import (  # noqa: E402
    grid_from_affine_ras,
    label_names,
    read_nifti,
    read_sidecar,
)
from imncohort.annotations.rtstruct import read_rtstruct  # noqa: E402
from imncohort.annotations.seg import read_seg  # noqa: E402
from imncohort.config import load_config  # noqa: E402
from imncohort.errors import InputError  # noqa: E402

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
    kk, jj, ii = np.nonzero(node.mask_kji[0:1])
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
    kk, jj, ii = np.nonzero(node.mask_kji[0:1])
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
