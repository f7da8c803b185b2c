"""Read the demo CT with SimpleITK and its NIfTI label maps with nibabel."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from ._helpers import load_truth, series_by_modality


def _read_series(root: Path, series: dict[str, Any], scratch: Path) -> sitk.Image:
    """Read a series the way a user would: GDCM sorts the files of a folder."""
    folder = scratch / series["series_instance_uid"]
    folder.mkdir()
    for i, path in enumerate(series["paths"][::-1]):  # hand them over in the wrong order
        (folder / f"f{i:04d}").symlink_to(root / path)
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(
        str(folder), series["series_instance_uid"]
    )
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    return reader.Execute()


def test_ffs_and_reversed_series_have_the_right_z_order(demo_export: Path, tmp_path: Path) -> None:
    truth = load_truth(demo_export)
    kinds = set()
    for series in series_by_modality(truth, "CT"):
        if series["patient_position"] == "HFS" and not series["reversed_order"]:
            continue
        kinds.add((series["patient_position"], series["reversed_order"]))
        image = _read_series(demo_export, series, tmp_path)
        n = image.GetSize()[2]
        assert n == series["n_instances"]
        z_first = image.TransformIndexToPhysicalPoint((0, 0, 0))[2]
        z_last = image.TransformIndexToPhysicalPoint((0, 0, n - 1))[2]
        expected = (
            (series["z_max"], series["z_min"])
            if series["patient_position"] == "FFS"
            else (series["z_min"], series["z_max"])
        )
        assert (z_first, z_last) == pytest.approx(expected)
        assert image.GetSpacing()[:2] == pytest.approx(series["pixel_spacing"][::-1])
        nodes = [
            n for n in truth["nodes"] if n["series_instance_uid"] == series["series_instance_uid"]
        ]
        for node in nodes:
            a, b = node["long_axis_mm"] / 2, node["short_axis_mm"] / 2
            c = node["volume_ml"] * 1000 * 3 / (4 * math.pi * a * b)
            inside = (node["centroid_x"], node["centroid_y"], node["centroid_z"])
            beyond = (
                node["centroid_x"],
                node["centroid_y"],
                node["centroid_z"] + c + 2 * series["slice_spacing"],
            )
            hu_inside = image[image.TransformPhysicalPointToIndex(inside)]
            assert 5 <= hu_inside <= 90  # node (35-50 HU plus noise)
            if series["z_min"] <= beyond[2] <= series["z_max"]:
                assert not 5 <= image[image.TransformPhysicalPointToIndex(beyond)] <= 90
    assert ("FFS", True) in kinds or ("FFS", False) in kinds
    assert any(reversed_ for _, reversed_ in kinds)


def test_nifti_label_maps_are_ras_and_on_the_ct_grid(demo_export: Path) -> None:
    truth = load_truth(demo_export)
    sidecars = [
        a["path"]
        for a in truth["aux_files"]
        if a["kind"] == "json" and a["path"].endswith(".json") and "nifti" in a["path"]
    ]
    assert sidecars
    ct = {s["series_instance_uid"]: s for s in series_by_modality(truth, "CT")}
    levels = {(r["series_instance_uid"], r["side"], r["rib"]): r["z_mm"] for r in truth["ribs"]}
    seen_totalseg = False
    for sidecar in sidecars:
        meta = json.loads((demo_export / sidecar).read_text())
        series = ct[meta["SeriesInstanceUID"]]
        image = nib.load(demo_export / sidecar.replace(".json", ".nii.gz"))
        assert image.shape == (series["columns"], series["rows"], series["n_instances"])
        spacing = np.abs(np.diag(image.affine)[:3])
        assert spacing == pytest.approx([*series["pixel_spacing"][::-1], series["slice_spacing"]])
        assert image.affine[2, 3] == pytest.approx(series["z_min"])
        data = np.asarray(image.dataobj)
        if "labels" in meta:
            assert set(np.unique(data)) - {0} == {int(k) for k in meta["labels"]}
            continue
        seen_totalseg = True
        assert {92, 104, 116, 117} <= set(np.unique(data))
        ijk = np.argwhere(data == 92)  # rib_left_1
        xyz_ras = nib.affines.apply_affine(image.affine, ijk)
        x_lps = -xyz_ras[:, 0]
        near = xyz_ras[x_lps <= x_lps.min() + 10.0]
        expected = levels[(meta["SeriesInstanceUID"], "left", 1)]
        assert near[:, 2].mean() == pytest.approx(expected, abs=0.2)
    assert seen_totalseg
