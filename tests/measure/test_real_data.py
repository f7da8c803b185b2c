"""Real public DICOM from other projects (tests/data, docs/TEST_DATA.md) through index and
measure, against independent computations (shapely polygons, highdicom's segread)."""

from __future__ import annotations

import shutil
from pathlib import Path

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
import pytest
import realdata as rd
from pydicom.uid import generate_uid
from scipy import ndimage
from shapely.geometry import Polygon

from imncohort.annotations.models import SliceGrid
from imncohort.annotations.names import NameMatcher
from imncohort.annotations.seg import read_seg
from imncohort.config import load_config
from imncohort.dicom.sop import seg_sop_classes
from imncohort.index.records import kind_of_sop_class
from imncohort.measure.rois import mask_points_lps

CT2_SERIES = "1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.2"
CT2_PIXEL_MM = 0.488281
CT_SMALL_PIXEL_MM = 0.661468
SEG_NAMES = ["^first segment$", "^second segment$"]
DICOMPYLER_ROIS = ["Borders", "Breast", "Heart", "Lt Lung", "Nodes", "Scar", "Tumor Bed"]


def _run(tmp: Path, build, patterns: list[str], extra: str = ""):  # type: ignore[no-untyped-def]
    export = tmp / "export"
    build(export)
    config = rd.config_with_nodes(tmp, patterns, extra)
    return rd.run(export, tmp / "out", config)


def _even_odd_volumes_ml(rtss: pydicom.Dataset, thickness_mm: float) -> dict[str, float]:
    """ROI name -> sum over planes of the even-odd (XOR) area of its rings x thickness."""
    names = {int(r.ROINumber): str(r.ROIName) for r in rtss.StructureSetROISequence}
    out: dict[str, float] = {}
    for roi in rtss.ROIContourSequence:
        planes: dict[float, object] = {}
        for contour in roi.get("ContourSequence", []) or []:
            pts = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
            z = round(float(pts[0, 2]), 3)
            poly = Polygon(pts[:, :2])
            planes[z] = poly if z not in planes else planes[z].symmetric_difference(poly)  # type: ignore[attr-defined]
        area = sum(p.area for p in planes.values())  # type: ignore[attr-defined]
        out[names[int(roi.ReferencedROINumber)]] = area * thickness_mm / 1000.0
    return out


@pytest.fixture(scope="module")
def dicompyler(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("dicompyler")
    patterns = [f"^{name.lower()}$" for name in DICOMPYLER_ROIS]
    return _run(tmp, lambda e: rd.write_dicompyler_export(e / "d"), patterns)


def test_dicompyler_rtstruct_volumes_equal_even_odd_polygons(dicompyler) -> None:  # type: ignore[no-untyped-def]
    nodes, _errors, _summary = dicompyler
    expected = _even_odd_volumes_ml(rd.read_data("dicompyler-core/rtss.dcm"), 3.0)
    measured = nodes.groupby("roi_name")["volume_ml"].sum().to_dict()
    assert sorted(measured) == sorted(DICOMPYLER_ROIS)
    for name in DICOMPYLER_ROIS:
        assert measured[name] == pytest.approx(expected[name], rel=1e-6), name
    assert measured["Nodes"] == pytest.approx(0.6717631, rel=1e-6)


def test_rtutils_rtstruct_even_odd_over_its_two_ct_slices(tmp_path: Path) -> None:
    def build(export: Path) -> None:
        rd.put("rt-utils/ct_1.dcm", export / "ct" / "ct_1.dcm")
        rd.put("rt-utils/ct_2.dcm", export / "ct" / "ct_2.dcm")
        rd.put("rt-utils/rt.dcm", export / "rt.dcm")

    nodes, _errors, _ = _run(tmp_path, build, ["^roi-1$"], "nodes:\n  min_node_volume_ml: 0\n")
    # The two CT slices are 5 mm apart (z 60, 65): the contoured slice stands for 5 mm.
    expected = _even_odd_volumes_ml(rd.read_data("rt-utils/rt.dcm"), 5.0)["ROI-1"]
    assert len(nodes) == 1
    assert nodes["volume_ml"].iloc[0] == pytest.approx(expected, rel=1e-6)


def _ct_grid(paths: list[Path]) -> SliceGrid:
    cts = sorted(
        (pydicom.dcmread(p) for p in paths), key=lambda d: float(d.ImagePositionPatient[2])
    )
    iop = np.asarray(cts[0].ImageOrientationPatient, dtype=float)
    spacing = [float(v) for v in cts[0].PixelSpacing]
    origins = np.array([[float(v) for v in d.ImagePositionPatient] for d in cts])
    step = float(cts[0].SliceThickness) if len(cts) == 1 else 0.0
    return SliceGrid(
        origins,
        iop[:3],
        iop[3:],
        spacing[0],
        spacing[1],
        int(cts[0].Rows),
        int(cts[0].Columns),
        step,
    )


def _segread_points_lps(seg_path: Path, segment: int, threshold: float) -> set[tuple[float, ...]]:
    seg = hd.seg.segread(seg_path)
    spacing = [
        float(v)
        for v in seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
    ]
    iop = np.asarray(
        seg.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient,
        dtype=float,
    )
    points: set[tuple[float, ...]] = set()
    for z, plane in rd.segread_mask_lps(seg_path, segment, threshold).items():
        frame = next(
            f
            for f in seg.PerFrameFunctionalGroupsSequence
            if round(float(f.PlanePositionSequence[0].ImagePositionPatient[2]), 3) == z
        )
        origin = np.asarray(frame.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        jj, ii = np.nonzero(plane)
        xyz = origin + ii[:, None] * iop[:3] * spacing[1] + jj[:, None] * iop[3:] * spacing[0]
        points.update(tuple(np.round(p, 3)) for p in xyz)
    return points


@pytest.mark.parametrize(
    ("name", "segments", "threshold"),
    [
        ("seg_image_ct_binary", [1], 0.0),
        ("seg_image_ct_binary_overlap", [1, 2], 0.0),
        ("seg_image_ct_binary_fractional", [1], 0.5),
        ("seg_image_ct_true_fractional", [1], 0.5),
        ("seg_image_ct_binary_single_frame", [1], 0.0),
        ("labelmap", [1, 2], 0.0),
    ],
)
def test_seg_masks_equal_highdicom_segread_voxel_for_voxel(
    tmp_path: Path, name: str, segments: list[int], threshold: float
) -> None:
    if name == "seg_image_ct_binary_single_frame":
        ct_paths = [Path(shutil.copyfile(rd.CT_SMALL, tmp_path / "ct_small.dcm"))]
    else:
        ct_paths = rd.write_ct2(tmp_path / "ct")
    if name == "labelmap":
        source = rd.put("highdicom/seg_image_ct_binary_overlap.dcm", tmp_path / "overlap.dcm")
        seg_path = rd.write_labelmap_seg(ct_paths, source, tmp_path / "labelmap.dcm")
        assert pydicom.dcmread(seg_path).SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.7"
    else:
        seg_path = rd.put(f"highdicom/{name}.dcm", tmp_path / f"{name}.dcm")
    grid = _ct_grid(ct_paths)
    matcher = NameMatcher(rd.config_with_nodes(tmp_path, SEG_NAMES).names)
    roi_set = read_seg(seg_path, seg_path.name, lambda uids, f: ("S", grid), matcher)
    by_label = {roi.name: roi for roi in roi_set.rois}
    labels = {1: "first segment", 2: "second segment"}
    for segment in segments:
        roi = by_label[labels[segment]]
        ours = {tuple(np.round(p, 3)) for p in mask_points_lps(roi.mask_kji, roi.grid)}  # type: ignore[union-attr]
        theirs = _segread_points_lps(seg_path, segment, threshold)
        assert len(theirs) > 0
        assert ours == theirs


def test_every_segmentation_storage_class_is_indexed_as_seg(tmp_path: Path) -> None:
    assert set(hd.seg.SOP_CLASS_UIDS) <= seg_sop_classes()
    for uid in ("1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7"):
        assert kind_of_sop_class(uid) == "seg"
    assert kind_of_sop_class("1.2.840.10008.5.1.4.1.1.66.5") == "seg"  # surface: listed, not lost

    def build(export: Path) -> None:
        cts = rd.write_ct2(export / "ct")
        source = rd.put("highdicom/seg_image_ct_binary.dcm", tmp_path / "binary.dcm")
        rd.write_labelmap_seg(cts, source, export / "seg" / "labelmap.dcm")
        rd.put("highdicom/seg_image_sm_control_labelmap.dcm", export / "sm" / "sm_labelmap.dcm")

    nodes, errors, summary = _run(tmp_path, build, [*SEG_NAMES, "^rgb.*$"])
    kinds = pd.read_parquet(
        tmp_path / "out" / "restricted" / "index" / "instances.parquet"
    ).set_index("path")["kind"]
    assert kinds["seg/labelmap.dcm"] == "seg"  # was "other": never measured, 0 errors
    assert kinds["sm/sm_labelmap.dcm"] == "seg"
    # The CT label map is measured like the binary SEG it was written from (255 + 256 + 127
    # voxels of 0.488281^2 mm on three 1.25 mm slices).
    assert summary["nodes"] == 1
    assert nodes["annotation"].tolist() == ["seg"]
    assert nodes["volume_ml"].iloc[0] == pytest.approx(
        638 * CT2_PIXEL_MM**2 * 1.25 / 1000, rel=1e-6
    )
    sm = errors[errors["path"] == "sm/sm_labelmap.dcm"]["reason"].tolist()
    assert sm == [
        "SEG references a series that is not an axial image series in the export; "
        "export the segmented CT with it; skipped"
    ]


def test_slice_gap_splits_a_segment_and_each_slab_is_its_own_thickness(tmp_path: Path) -> None:
    def build(export: Path) -> None:
        rd.write_ct2(export / "ct")
        rd.put("highdicom/seg_image_ct_binary_overlap.dcm", export / "seg.dcm")

    extra = "nodes:\n  min_node_volume_ml: 0\n"
    nodes, _errors, _ = _run(tmp_path, build, ["^first segment$"], extra)
    # 16 voxels on each of the 4 slices; -99.48 is 202.5 mm from the next slice (nominal
    # 1.25 mm): two nodes, not one joined across the gap.
    assert len(nodes) == 2
    by_z = nodes.sort_values("centroid_z")
    assert by_z["centroid_z"].round(2).tolist() == [-99.48, 104.27]
    voxel_ml = CT2_PIXEL_MM**2 * 1.25 / 1000
    assert by_z["volume_ml"].tolist() == pytest.approx([16 * voxel_ml, 48 * voxel_ml], rel=1e-6)


def _components_2d(seg_path: Path) -> list[int]:
    plane = next(iter(rd.segread_mask_lps(seg_path, 1).values()))
    labels, n = ndimage.label(plane)
    return sorted(int((labels == k).sum()) for k in range(1, n + 1))


def _single_slice(thickness: bool):  # type: ignore[no-untyped-def]
    def build(export: Path) -> None:
        (export / "ct").mkdir(parents=True)
        ct = pydicom.dcmread(rd.CT_SMALL)
        seg = rd.read_data("highdicom/seg_image_ct_binary_single_frame.dcm")
        if not thickness:
            del ct.SliceThickness
            measures = seg.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
            del measures.SliceThickness
            del measures.SpacingBetweenSlices
        ct.save_as(export / "ct" / "ct_small.dcm")
        (export / "seg").mkdir()
        seg.save_as(export / "seg" / "single.dcm")

    return build


def test_single_slice_series_uses_slice_thickness_and_fragments_are_not_nodes(
    tmp_path: Path,
) -> None:
    nodes, errors, summary = _run(tmp_path, _single_slice(True), ["^first segment$"])
    sizes = _components_2d(rd.DATA / "highdicom" / "seg_image_ct_binary_single_frame.dcm")
    voxel_ml = CT_SMALL_PIXEL_MM**2 * 5.0 / 1000  # SliceThickness 5 mm, not 1 mm
    kept = [n for n in sizes if n >= 4 and n * voxel_ml >= 0.005]
    assert len(sizes) == 18 and len(kept) == 5
    assert sorted(nodes["volume_ml"]) == pytest.approx([n * voxel_ml for n in kept], rel=1e-6)
    assert summary["fragments"] == 13
    fragments = errors[errors["reason"].str.endswith("not counted as a node (fragment)")]
    assert len(fragments) == 13
    assert fragments["reason"].str.contains("fewer than nodes.min_node_voxels = 4").sum() == 13
    # Axes are never below the voxels: at least one pixel wide, long >= short.
    assert (nodes["short_axis_mm"] >= CT_SMALL_PIXEL_MM - 1e-9).all()
    assert (nodes["long_axis_mm"] >= nodes["short_axis_mm"]).all()


def test_single_slice_without_any_thickness_is_an_error_not_1_mm(tmp_path: Path) -> None:
    nodes, errors, _ = _run(tmp_path, _single_slice(False), ["^first segment$"])
    assert len(nodes) == 5
    assert nodes["volume_ml"].isna().all()
    assert (
        "ROI 'first segment': series 1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322 has a single "
        "slice and states no SliceThickness (nor the annotation a SpacingBetweenSlices); "
        "volume_ml left empty"
    ) in errors["reason"].tolist()


def test_identical_copies_count_once_and_conflicts_are_listed(tmp_path: Path) -> None:
    def build(export: Path) -> None:
        rd.write_ct2(export / "ct")
        rd.put("highdicom/seg_image_ct_binary.dcm", export / "a" / "seg.dcm")
        rd.put("highdicom/seg_image_ct_binary.dcm", export / "b" / "seg.dcm")
        rd.write_ct2(export / "ct_copy")  # every CT slice twice
        changed = rd.read_data("highdicom/seg_image_ct_binary.dcm")
        changed.ContentDate = "20990101"
        changed.SeriesDescription = "edited copy"
        (export / "c").mkdir()
        changed.save_as(export / "c" / "seg.dcm")

    nodes, errors, _ = _run(tmp_path, build, ["^first segment$"])
    assert len(nodes) == 1  # was 3: one node per copy
    assert nodes["volume_ml"].iloc[0] == pytest.approx(638 * CT2_PIXEL_MM**2 * 1.25 / 1000)
    conflict = errors[errors["reason"].str.contains("is shared by 2 different files")]
    assert sorted(conflict["path"]) == ["a/seg.dcm", "c/seg.dcm"]
    reasons = dict(zip(conflict["path"], conflict["reason"], strict=True))
    assert "; 'c/seg.dcm' is measured (rule: the latest content date/time" in reasons["a/seg.dcm"]
    assert "; this file is measured" in reasons["c/seg.dcm"]
    assert not errors["path"].str.startswith("b/").any()


def test_reapproved_structure_set_does_not_double_nodes(tmp_path: Path) -> None:
    def build(export: Path) -> None:
        rd.write_dicompyler_export(export / "d")
        ds = pydicom.dcmread(export / "d" / "rtss.dcm")
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StructureSetDate = "20090601"
        ds.save_as(export / "d" / "rtss_reapproved.dcm")

    nodes, errors, _ = _run(tmp_path, build, ["^nodes$", "^scar$", "^tumor bed$"])
    assert sorted(nodes["roi_name"]) == ["Nodes", "Scar", "Tumor Bed"]  # was 6 rows
    superseded = errors[errors["reason"].str.startswith("structure set superseded")]
    assert superseded["path"].tolist() == ["d/rtss.dcm"]
    assert (
        "node ROI(s) 'Nodes', 'Scar', 'Tumor Bed' are measured from 'd/rtss_reapproved.dcm' "
        "(APPROVED, StructureSetDate/Time 20090601 000000)"
    ) in superseded["reason"].iloc[0]


def test_oblique_single_slice_message_prints_plain_numbers(tmp_path: Path) -> None:
    def build(export: Path) -> None:
        ct_path = rd.put("rt-utils/one_slice_0.dcm", export / "ct" / "0.dcm")
        ct = pydicom.dcmread(ct_path)
        rt = rd.read_data("rt-utils/rt.dcm")
        rt.StudyInstanceUID = ct.StudyInstanceUID
        rt.PatientID = ct.get("PatientID", "")
        item = rt.ReferencedFrameOfReferenceSequence[0]
        item.RTReferencedStudySequence[0].RTReferencedSeriesSequence[
            0
        ].SeriesInstanceUID = ct.SeriesInstanceUID
        rt.save_as(export / "rt.dcm")

    _nodes, errors, _ = _run(tmp_path, build, ["^roi-1$"])
    reasons = errors["reason"].tolist()
    assert any(
        "(orientation [0.9542, -0.2081, 0.2151, 0.2786, 0.8801, -0.3844])" in r for r in reasons
    ), reasons
    assert not any("np." in r or "array(" in r for r in reasons)


def test_no_numpy_repr_in_any_reason_of_the_real_runs(dicompyler) -> None:  # type: ignore[no-untyped-def]
    _nodes, errors, _ = dicompyler
    assert len(errors) >= 1
    assert not errors["reason"].str.contains(r"np\.|array\(", regex=True).any()


def test_default_config_thresholds() -> None:
    nodes = load_config().nodes
    assert (nodes.max_slice_gap_factor, nodes.min_node_voxels, nodes.min_node_volume_ml) == (
        2.5,
        4,
        0.005,
    )
