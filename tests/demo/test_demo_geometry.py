"""Re-read the demo's DICOM with pydicom and check it against ground_truth.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from ._helpers import load_truth, series_by_modality, shoelace_centroid

TOLERANCE_MM = 0.2


def _rtstructs(root: Path, truth: dict[str, Any]) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(root / s["paths"][0]) for s in series_by_modality(truth, "RTSTRUCT")]


def _contours(ds: pydicom.Dataset) -> dict[str, list[tuple[str, np.ndarray]]]:
    names = {item.ROINumber: item.ROIName for item in ds.StructureSetROISequence}
    result: dict[str, list[tuple[str, np.ndarray]]] = {}
    for roi in ds.ROIContourSequence:
        name = names[roi.ReferencedROINumber]
        result[name] = [
            (c.ContourGeometricType, np.asarray(c.ContourData, dtype=float).reshape(-1, 3))
            for c in roi.ContourSequence
        ]
    return result


def test_node_contour_centroids_match_truth(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    checked = 0
    for ds in _rtstructs(demo_export, truth):
        contours = _contours(ds)
        nodes = [
            n
            for n in truth["nodes"]
            if n["series_instance_uid"]
            == ds.ReferencedFrameOfReferenceSequence[0]
            .RTReferencedStudySequence[0]
            .RTReferencedSeriesSequence[0]
            .SeriesInstanceUID
        ]
        for node in nodes:
            on_slice = [
                pts
                for kind, pts in contours[node["roi_name"]]
                if kind == "CLOSED_PLANAR" and abs(pts[0, 2] - node["reference_z"]) < 1e-3
            ]
            centroids = [shoelace_centroid(pts[:, :2]) for pts in on_slice]
            distance = min(
                np.hypot(cx - node["centroid_x"], cy - node["centroid_y"]) for cx, cy in centroids
            )
            assert distance < TOLERANCE_MM, node
            assert len(on_slice[0]) % 4 == 0 and len(on_slice[0]) >= 64
            checked += 1
    assert checked >= 3


def test_vessel_contours_follow_the_linear_drift(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    vessels = {(v["series_instance_uid"], v["side"]): v for v in truth["vessels"]}
    kinds = set()
    for ds in _rtstructs(demo_export, truth):
        series_uid = (
            ds.ReferencedFrameOfReferenceSequence[0]
            .RTReferencedStudySequence[0]
            .RTReferencedSeriesSequence[0]
            .SeriesInstanceUID
        )
        for name, contours in _contours(ds).items():
            side = {"_L": "left", "_R": "right"}.get(name[-2:])
            if not name.upper().startswith(("IMV", "A_MAMMARY", "V_MAMMARY", "IM_VESSEL")):
                continue
            assert side is not None
            vessel = vessels[(series_uid, side)]
            for kind, pts in contours:
                kinds.add(kind)
                z = pts[0, 2]
                cx, cy = (
                    (pts[0, 0], pts[0, 1]) if kind == "POINT" else shoelace_centroid(pts[:, :2])
                )
                expected_x = vessel["x0_mm"] + vessel["slope_x_per_z"] * (z - vessel["z_ref_mm"])
                assert abs(cx - expected_x) < TOLERANCE_MM
                assert abs(cy - vessel["y_mm"]) < TOLERANCE_MM
    assert kinds == {"POINT", "CLOSED_PLANAR"}


def test_rib_levels_from_contours_match_truth(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    levels = {(r["series_instance_uid"], r["side"], r["rib"]): r["z_mm"] for r in truth["ribs"]}
    checked = 0
    for ds in _rtstructs(demo_export, truth):
        series_uid = (
            ds.ReferencedFrameOfReferenceSequence[0]
            .RTReferencedStudySequence[0]
            .RTReferencedSeriesSequence[0]
            .SeriesInstanceUID
        )
        for name, contours in _contours(ds).items():
            if not name.startswith("Rib"):
                continue
            points = np.vstack([pts for _, pts in contours])
            ax = np.abs(points[:, 0])
            near = points[ax <= ax.min() + 10.0]
            side = "left" if name.endswith("_L") else "right"
            expected = levels[(series_uid, side, int(name[3:5]))]
            assert abs(near[:, 2].mean() - expected) < TOLERANCE_MM
            checked += 1
    assert checked >= 12


def test_ct_pixel_and_slice_spacing_match_truth(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    for series in series_by_modality(truth, "CT"):
        headers = [
            pydicom.dcmread(demo_export / p, stop_before_pixels=True) for p in series["paths"]
        ]
        assert [float(v) for v in headers[0].PixelSpacing] == pytest.approx(series["pixel_spacing"])
        assert (headers[0].Rows, headers[0].Columns) == (series["rows"], series["columns"])
        z = np.array([float(h.ImagePositionPatient[2]) for h in headers])
        assert np.allclose(np.abs(np.diff(z)), series["slice_spacing"])
        assert z.min() == pytest.approx(series["z_min"]) and z.max() == pytest.approx(
            series["z_max"]
        )
        assert headers[0].PatientPosition == series["patient_position"]
        if series["patient_position"] == "FFS":
            assert [float(v) for v in headers[0].ImageOrientationPatient] == [-1, 0, 0, 0, 1, 0]
            assert np.all(np.diff(z) < 0)  # paths run along the normal, towards the feet
        numbers = [
            int(h.InstanceNumber) for h in sorted(headers, key=lambda h: h.ImagePositionPatient[2])
        ]
        assert numbers == (
            sorted(numbers, reverse=True) if series["reversed_order"] else sorted(numbers)
        )


def test_seg_segments_and_vessel_mask(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    segs = series_by_modality(truth, "SEG")
    assert segs
    vessels = {(v["series_instance_uid"], v["side"]): v for v in truth["vessels"]}
    for record in segs:
        ds = pydicom.dcmread(demo_export / record["paths"][0])
        labels = {s.SegmentNumber: s.SegmentLabel for s in ds.SegmentSequence}
        ct_uid = ds.ReferencedSeriesSequence[0].SeriesInstanceUID
        node_names = {n["roi_name"] for n in truth["nodes"] if n["series_instance_uid"] == ct_uid}
        assert node_names <= set(labels.values())
        frames = ds.pixel_array.reshape(-1, ds.Rows, ds.Columns)
        spacing = [
            float(v)
            for v in ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing
        ]
        iop = [
            float(v)
            for v in ds.SharedFunctionalGroupsSequence[0]
            .PlaneOrientationSequence[0]
            .ImageOrientationPatient
        ]
        for frame, group in zip(frames, ds.PerFrameFunctionalGroupsSequence, strict=True):
            number = group.SegmentIdentificationSequence[0].ReferencedSegmentNumber
            name = labels[number]
            if not name.upper().startswith(("IMV", "A_MAMMARY", "V_MAMMARY", "IM_VESSEL")):
                continue
            ipp = [float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient]
            rows, cols = np.nonzero(frame)
            x = ipp[0] + iop[0] * cols.mean() * spacing[1]
            y = ipp[1] + rows.mean() * spacing[0]
            vessel = vessels[(ct_uid, "left" if name.endswith("_L") else "right")]
            expected_x = vessel["x0_mm"] + vessel["slope_x_per_z"] * (ipp[2] - vessel["z_ref_mm"])
            assert abs(x - expected_x) < 0.5 and abs(y - vessel["y_mm"]) < 0.5
