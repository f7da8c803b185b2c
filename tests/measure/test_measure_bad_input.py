"""Bad CT slices and broken annotation objects cost only themselves (issue 13).

One synthetic study (17 slices, 2.5 mm; node IMN1_L on z = 5..15 with its
reference section at z = 10; IMV_L) is measured clean once; each test breaks one
file, runs the real index and measure stages and checks the exact errors.csv
reason and that the node is still there with the clean values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom import config as pydicom_config
from scenes import IMV_L, grid, n1
from synth import (
    CtSpec,
    Scene,
    Structure,
    circle_slabs,
    index_export,
    write_ct,
    write_nifti,
    write_rtstruct,
    write_seg,
)

from imncohort.config import load_config
from imncohort.measure.stage import run_measure_stage

ZS = grid(-10, 30, 2.5)
# columns that do not depend on which slices hold the node (volume and z extent do)
STABLE = [
    "roi_name",
    "annotation",
    "component",
    "side",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "reference_z",
    "imv_x",
    "imv_y",
    "center_ml_mm",
    "center_dv_mm",
    "extent_medial_mm",
    "extent_lateral_mm",
    "extent_ventral_mm",
    "extent_dorsal_mm",
    "quadrant",
    "long_axis_mm",
    "short_axis_mm",
    "metastatic",
]
LEFT_OUT = "the slice is left out of its series"


@dataclass
class Run:
    export: Path
    nodes: pd.DataFrame
    errors: pd.DataFrame
    scene: Scene

    def reasons(self, path: str) -> list[str]:
        return sorted(self.errors.loc[self.errors["path"] == path, "reason"])


def _scene() -> Scene:
    imv = Structure("IMV_L", circle_slabs(IMV_L[0], IMV_L[1], 1.5, ZS, IMV_L[2]))
    return Scene("Bad^Input-777", CtSpec(ZS), [n1(ZS), imv])


def _build(base: Path, kinds: tuple[str, ...] = ("rtstruct",)) -> tuple[Path, Scene, list]:
    export = base / "export"
    scene = _scene()
    ct = write_ct(scene, export / "s" / "ct")
    if "rtstruct" in kinds:
        write_rtstruct(scene, ct, export / "s" / "rs.dcm")
    if "seg" in kinds:
        write_seg(scene, ct, export / "s" / "seg.dcm")
    if "nifti" in kinds:
        write_nifti(scene, export / "s" / "labels.nii.gz")
    return export, scene, ct


def _run(export: Path, scene: Scene) -> Run:
    out = export.parent / "out"
    index_export(export, out)
    run_measure_stage(export, out, load_config(), qc=False)
    nodes = pd.read_csv(out / "nodes.csv", keep_default_na=False, na_values=[""])
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return Run(export, nodes, errors, scene)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    export, scene, _ = _build(tmp_path_factory.mktemp("clean"))
    run = _run(export, scene)
    assert len(run.nodes) == 1 and run.errors.empty
    return run


def _edit(path: Path, change: object) -> None:
    """Apply ``change(ds)`` to the DICOM file at ``path`` and save it without validation."""
    ds = pydicom.dcmread(path)
    change(ds)  # type: ignore[operator]
    previous = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        ds.save_as(path)
    finally:
        pydicom_config.settings.writing_validation_mode = previous


def _set(keyword: str, value: object) -> object:
    def change(ds: pydicom.Dataset) -> None:
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)

    return change


def _set_raw(tag: int, vr: str, text: str) -> object:
    def change(ds: pydicom.Dataset) -> None:
        ds[tag] = pydicom.DataElement(tag, vr, text.encode("ascii"))

    return change


def _assert_node_kept(run: Run, clean: Run) -> None:
    assert len(run.nodes) == 1
    got, want = run.nodes.iloc[0], clean.nodes.iloc[0]
    for column in STABLE:
        if isinstance(want[column], float):
            assert got[column] == pytest.approx(want[column], abs=1e-9), column
        else:
            assert got[column] == want[column], column


SLICE_CASES = {
    "absent position": (
        _set("ImagePositionPatient", None),
        "ImagePositionPatient is missing, not 3 numbers or NaN",
    ),
    "NaN position": (
        _set_raw(0x00200032, "DS", "nan\\nan\\nan"),
        "ImagePositionPatient is missing, not 3 numbers or NaN",
    ),
    "short orientation": (
        _set("ImageOrientationPatient", [1, 0, 0, 0, 1]),
        "ImageOrientationPatient is missing or does not hold 6 numbers",
    ),
    "orientation all zeros": (
        _set("ImageOrientationPatient", [0, 0, 0, 0, 0, 0]),
        "ImageOrientationPatient is all zeros (no row or column direction)",
    ),
    "Rows 0": (
        _set("Rows", 0),
        "Rows x Columns is 0 x 112 (an image needs at least 1 x 1)",
    ),
    "PixelSpacing 0": (
        _set("PixelSpacing", [0, 0.9]),
        "PixelSpacing 0/0.9 mm is missing, zero, negative or infinite",
    ),
    "PixelSpacing inf": (
        _set_raw(0x00280030, "DS", "inf\\0.9"),
        "PixelSpacing inf/0.9 mm is missing, zero, negative or infinite",
    ),
}


@pytest.mark.parametrize("case", sorted(SLICE_CASES))
def test_bad_slice_in_the_node_is_dropped_and_the_node_joined(
    case: str, clean: Run, tmp_path: Path
) -> None:
    change, reason = SLICE_CASES[case]
    export, scene, _ = _build(tmp_path)
    _edit(export / "s" / "ct" / "IM0010", change)  # z = 12.5, inside the node
    run = _run(export, scene)
    assert run.reasons("s/ct/IM0010") == [f"{reason}; {LEFT_OUT}"]
    assert run.reasons("s/rs.dcm") == sorted(
        [
            f"ROI 'IMN1_L': 1 contour(s) off every slice of series {scene.series_uid} "
            "(more than 0.50 mm from a slice or not planar); skipped",
            f"ROI 'IMV_L': 1 contour(s) off every slice of series {scene.series_uid} "
            "(more than 0.50 mm from a slice or not planar); skipped",
            f"ROI 'IMN1_L': joined across CT slices missing between z=10.0 and z=15.0 mm of "
            f"series {scene.series_uid} (dropped for bad headers, listed in errors.csv); its "
            "volume lacks them",
        ]
    )
    _assert_node_kept(run, clean)
    assert run.nodes.iloc[0]["volume_ml"] < clean.nodes.iloc[0]["volume_ml"]


def test_bad_first_slice_keeps_every_value(clean: Run, tmp_path: Path) -> None:
    # The series' spacing and orientation come from the first slice: it must not poison them.
    export, scene, _ = _build(tmp_path)
    _edit(export / "s" / "ct" / "IM0001", _set("PixelSpacing", [0, 0.9]))
    run = _run(export, scene)
    assert run.reasons("s/ct/IM0001") == [
        f"PixelSpacing 0/0.9 mm is missing, zero, negative or infinite; {LEFT_OUT}"
    ]
    assert run.reasons("s/rs.dcm") == [
        f"ROI 'IMV_L': 1 contour(s) off every slice of series {scene.series_uid} "
        "(more than 0.50 mm from a slice or not planar); skipped"
    ]
    _assert_node_kept(run, clean)
    assert run.nodes.iloc[0]["volume_ml"] == pytest.approx(clean.nodes.iloc[0]["volume_ml"])


def test_truncated_slice_without_pixel_data(clean: Run, tmp_path: Path) -> None:
    export, scene, _ = _build(tmp_path)
    path = export / "s" / "ct" / "IM0010"
    data = path.read_bytes()
    cut = data.index(b"\xe0\x7f\x10\x00")  # the Pixel Data element
    path.write_bytes(data[:cut])
    run = _run(export, scene)
    assert run.reasons("s/ct/IM0010") == [
        f"the file ({cut} bytes) is too short for its 96 x 112 pixels (no pixel data: "
        f"truncated?); {LEFT_OUT}"
    ]
    _assert_node_kept(run, clean)


def test_slice_without_sop_class_is_listed_and_bridged(clean: Run, tmp_path: Path) -> None:
    export, scene, _ = _build(tmp_path)
    _edit(export / "s" / "ct" / "IM0010", _set("SOPClassUID", ""))
    run = _run(export, scene)
    assert run.reasons("s/ct/IM0010") == [
        "no SOP Class UID: the file cannot be classified (image, RTSTRUCT, SEG, report) and "
        "is not used"
    ]
    _assert_node_kept(run, clean)


def test_slice_without_series_uid_is_listed_and_the_split_noted(clean: Run, tmp_path: Path) -> None:
    export, scene, _ = _build(tmp_path)
    _edit(export / "s" / "ct" / "IM0010", _set("SeriesInstanceUID", ""))
    run = _run(export, scene)
    assert run.reasons("s/ct/IM0010") == [
        "image without a SeriesInstanceUID: it belongs to no series and is not used"
    ]
    # Nothing links the file to its series: the gap is real as far as the data say, so
    # the node stays two pieces, and errors.csv says why.
    assert len(run.nodes) == 2
    assert (
        f"ROI 'IMN1_L': nodes 1 and 2 overlap across a gap between z=10.0 and z=15.0 mm of "
        f"series {scene.series_uid} (slices missing?); they are counted as two nodes"
    ) in run.reasons("s/rs.dcm")


def test_every_slice_bad_blames_the_slices(tmp_path: Path) -> None:
    export, scene, _ct = _build(tmp_path)
    for n in range(1, len(ZS) + 1):
        _edit(export / "s" / "ct" / f"IM{n:04d}", _set("PixelSpacing", [0, 0.9]))
    run = _run(export, scene)
    assert run.nodes.empty
    assert len(run.errors[run.errors["path"].str.startswith("s/ct/")]) == len(ZS)
    assert run.reasons("s/rs.dcm") == [
        f"series {scene.series_uid}: none of its {len(ZS)} slice(s) is usable (each is "
        "listed in errors.csv with its reason); skipped"
    ]


def test_seg_is_placed_on_the_kept_slices(clean: Run, tmp_path: Path) -> None:
    export, scene, _ = _build(tmp_path, ("seg",))
    first = _run(export, scene)
    assert len(first.nodes) == 1
    _edit(export / "s" / "ct" / "IM0010", _set("ImagePositionPatient", None))
    run = _run(export, scene)
    assert len(run.nodes) == 1  # mask frames stay neighbours across the dropped slice
    assert run.reasons("s/seg.dcm") == [
        f"2 SEG frame(s) off every slice of series {scene.series_uid}"
    ]
    for column in ("centroid_x", "centroid_y", "reference_z", "center_ml_mm", "long_axis_mm"):
        assert run.nodes.iloc[0][column] == pytest.approx(first.nodes.iloc[0][column]), column


# --- RTSTRUCT objects -----------------------------------------------------------------


def _extra_rtstruct(export: Path, scene: Scene, ct: list, name: str) -> Path:
    """A second structure set of the same series holding one more node, IMN2_L."""
    from scenes import ellipsoid

    extra = ellipsoid("IMN2_L", 24.0, -40.0, 3.0, 3.0, 22.5, 3.0, ZS)
    return write_rtstruct(scene, ct, export / "s" / name, structures=[extra])


def _rewrite_contour(path: Path, roi_index: int, contour_index: int, values: list) -> None:
    def change(ds: pydicom.Dataset) -> None:
        item = ds.ROIContourSequence[roi_index].ContourSequence[contour_index]
        item.ContourData = values
        item.NumberOfContourPoints = len(values) // 3

    _edit(path, change)


def test_nan_in_an_extra_rtstruct_costs_only_that_contour(
    clean: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export, scene, ct = _build(tmp_path)
    extra = _extra_rtstruct(export, scene, ct, "rs_extra.dcm")
    ds = pydicom.dcmread(extra)
    points = list(ds.ROIContourSequence[0].ContourSequence[0].ContourData)
    points[4] = "nan"
    _rewrite_contour(extra, 0, 0, points)
    caplog.set_level("WARNING")
    run = _run(export, scene)
    assert run.reasons("s/rs_extra.dcm") == [
        "ROI 'IMN2_L': 1 contour(s) hold NaN or infinite coordinates; skipped"
    ]
    assert run.reasons("s/rs.dcm") == []
    by_roi = run.nodes.set_index("roi_name")
    assert sorted(by_roi.index) == ["IMN1_L", "IMN2_L"]
    valid = run.nodes[run.nodes["roi_name"] == "IMN1_L"]
    for column in [*STABLE, "volume_ml"]:
        value = clean.nodes.iloc[0][column]
        got = valid.iloc[0][column]
        assert got == (pytest.approx(value) if isinstance(value, float) else value), column
    assert not [r for r in caplog.records if r.exc_info]


def test_nan_everywhere_in_an_extra_rtstruct(clean: Run, tmp_path: Path) -> None:
    export, scene, ct = _build(tmp_path)
    extra = _extra_rtstruct(export, scene, ct, "rs_extra.dcm")

    def poison(ds: pydicom.Dataset) -> None:
        for item in ds.ROIContourSequence[0].ContourSequence:
            item.ContourData = ["nan"] * len(item.ContourData)

    _edit(extra, poison)
    run = _run(export, scene)
    n_contours = len(pydicom.dcmread(extra).ROIContourSequence[0].ContourSequence)
    assert run.reasons("s/rs_extra.dcm") == [
        f"ROI 'IMN2_L': {n_contours} contour(s) hold NaN or infinite coordinates; skipped"
    ]
    assert run.nodes["roi_name"].tolist() == ["IMN1_L"]


def test_one_and_two_point_closed_contours_are_listed(clean: Run, tmp_path: Path) -> None:
    export, scene, _ct = _build(tmp_path)
    rs = export / "s" / "rs.dcm"
    ds = pydicom.dcmread(rs)
    first = [float(v) for v in ds.ROIContourSequence[0].ContourSequence[0].ContourData]
    contours = ds.ROIContourSequence[0].ContourSequence
    z = first[2]
    one, two = pydicom.Dataset(), pydicom.Dataset()
    for item, values in ((one, [30.0, -45.0, z]), (two, [30.0, -45.0, z, 31.0, -45.0, z])):
        item.ContourGeometricType = "CLOSED_PLANAR"
        item.NumberOfContourPoints = len(values) // 3
        item.ContourData = values
        contours.append(item)
    ds.save_as(rs)
    run = _run(export, scene)
    assert run.reasons("s/rs.dcm") == [
        "ROI 'IMN1_L': 1 closed contour(s) with 2 points (a closed contour needs at least 3); "
        "skipped",
        "ROI 'IMN1_L': 1 closed contour(s) with a single point; read as point marks",
    ]
    _assert_node_kept(run, clean)


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_rtstruct_without_contours_is_listed(how: str, clean: Run, tmp_path: Path) -> None:
    export, scene, ct = _build(tmp_path)
    extra = _extra_rtstruct(export, scene, ct, "rs_extra.dcm")

    def change(ds: pydicom.Dataset) -> None:
        if how == "missing":
            del ds.ROIContourSequence
        else:
            ds.ROIContourSequence = pydicom.Sequence([])

    _edit(extra, change)
    run = _run(export, scene)
    expected = {
        "missing": "RTSTRUCT has no ROIContourSequence (a structure set without contours)",
        "empty": "RTSTRUCT's ROIContourSequence is empty (a structure set without contours)",
    }[how]
    assert run.reasons("s/rs_extra.dcm") == [f"{expected}; skipped"]
    _assert_node_kept(run, clean)


def test_roi_without_contour_item_is_listed(clean: Run, tmp_path: Path) -> None:
    export, scene, ct = _build(tmp_path)
    extra = _extra_rtstruct(export, scene, ct, "rs_extra.dcm")

    def change(ds: pydicom.Dataset) -> None:
        del ds.ROIContourSequence[0].ContourSequence

    _edit(extra, change)
    run = _run(export, scene)
    assert run.reasons("s/rs_extra.dcm") == [
        "ROI 'IMN2_L' holds no closed contour or point; nothing to measure"
    ]
    _assert_node_kept(run, clean)


# --- SEG objects ----------------------------------------------------------------------


def _seg_export(tmp_path: Path) -> tuple[Path, Scene]:
    export, scene, _ct = _build(tmp_path, ("rtstruct", "seg"))
    return export, scene


def _seg_nodes(run: Run) -> pd.DataFrame:
    return run.nodes[run.nodes["annotation"] == "seg"]


def test_seg_with_wrong_number_of_frames(clean: Run, tmp_path: Path) -> None:
    export, scene = _seg_export(tmp_path)
    seg = export / "s" / "seg.dcm"
    n = int(pydicom.dcmread(seg).NumberOfFrames)
    _edit(seg, _set("NumberOfFrames", n + 3))
    run = _run(export, scene)
    assert run.reasons("s/seg.dcm") == [
        f"SEG declares NumberOfFrames {n + 3} but its per-frame functional groups hold {n} "
        "item(s) (cut file or wrong header); skipped"
    ]
    assert _seg_nodes(run).empty
    rt = run.nodes[run.nodes["annotation"] == "rtstruct"]
    assert len(rt) == 1 and rt.iloc[0]["long_axis_mm"] == pytest.approx(
        clean.nodes.iloc[0]["long_axis_mm"]
    )


def test_seg_with_zero_frames(tmp_path: Path) -> None:
    export, scene = _seg_export(tmp_path)
    _edit(export / "s" / "seg.dcm", _set("NumberOfFrames", 0))
    run = _run(export, scene)
    assert run.reasons("s/seg.dcm") == ["SEG holds no frames (NumberOfFrames 0); skipped"]
    assert run.nodes["annotation"].tolist() == ["rtstruct"]


def test_seg_with_cut_functional_groups(tmp_path: Path) -> None:
    export, scene = _seg_export(tmp_path)
    seg = export / "s" / "seg.dcm"
    n = int(pydicom.dcmread(seg).NumberOfFrames)

    def cut(ds: pydicom.Dataset) -> None:
        del ds.PerFrameFunctionalGroupsSequence[n // 2 :]

    _edit(seg, cut)
    run = _run(export, scene)
    assert run.reasons("s/seg.dcm") == [
        f"SEG declares NumberOfFrames {n} but its per-frame functional groups hold {n // 2} "
        "item(s) (cut file or wrong header); skipped"
    ]
    assert run.nodes["annotation"].tolist() == ["rtstruct"]


def test_seg_with_cut_pixel_data(tmp_path: Path) -> None:
    export, scene = _seg_export(tmp_path)
    seg = export / "s" / "seg.dcm"
    ds = pydicom.dcmread(seg)
    need = (int(ds.NumberOfFrames) * ds.Rows * ds.Columns + 7) // 8
    half = need // 2 + (need // 2) % 2

    def cut(ds: pydicom.Dataset) -> None:
        ds.PixelData = ds.PixelData[:half]

    _edit(seg, cut)
    run = _run(export, scene)
    assert run.reasons("s/seg.dcm") == [
        f"SEG pixel data hold {half} bytes but {int(ds.NumberOfFrames)} frame(s) of "
        f"{ds.Rows} x {ds.Columns} need {need} (cut file or wrong NumberOfFrames); skipped"
    ]
    assert run.nodes["annotation"].tolist() == ["rtstruct"]


# --- NIfTI ------------------------------------------------------------------------------


def test_nifti_label_without_voxels_is_listed(clean: Run, tmp_path: Path) -> None:
    import json

    export, scene, _ = _build(tmp_path, ("nifti",))
    sidecar = export / "s" / "labels.json"
    data = json.loads(sidecar.read_text())
    data["labels"]["7"] = "IMN3_R"
    sidecar.write_text(json.dumps(data))
    run = _run(export, scene)
    assert run.reasons("s/labels.nii.gz") == [
        "sidecar label(s) 7 ('IMN3_R') match no voxel of the label map; nothing to measure for them"
    ]
    assert run.nodes["roi_name"].tolist() == ["IMN1_L"]
    assert not math.isnan(float(run.nodes.iloc[0]["center_ml_mm"]))
    assert np.isfinite(run.nodes["long_axis_mm"]).all()


def test_unexpected_failure_of_one_file_is_blamed_on_it(
    clean: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export, scene, ct = _build(tmp_path)
    extra = _extra_rtstruct(export, scene, ct, "rs_extra.dcm")
    _edit(extra, _set_raw_in_roi_sequence())
    caplog.set_level("DEBUG")
    run = _run(export, scene)
    assert run.reasons("s/rs_extra.dcm") == [
        "cannot read RTSTRUCT (ValueError: invalid literal for int() with base 10: 'x1'); skipped"
    ]
    assert run.reasons("s/rs.dcm") == []
    _assert_node_kept(run, clean)
    assert not [r for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if "rs_extra" in r.getMessage()]


def _set_raw_in_roi_sequence() -> object:
    """ROINumber 'x1' (not a number: pydicom raises ValueError when it is read)."""
    from pydicom.dataelem import RawDataElement

    def change(ds: pydicom.Dataset) -> None:
        item = ds.StructureSetROISequence[0]
        item._dict[0x30060022] = RawDataElement(
            pydicom.tag.Tag(0x30060022), "IS", 2, b"x1", 0, False, True
        )

    return change
