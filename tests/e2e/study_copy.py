"""Copy one demo patient's annotated CT as a second, later study with smaller node contours.

Every UID of the copied CT series and its RTSTRUCT (study, series, SOP instances, frame
of reference, and every reference to them) is replaced by a new one, the study date
moves ``days_later`` days on, and each node contour is shrunk around its own centre by
``scale`` (vessels, ribs and the rest are copied as they are).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from imncohort.annotations.names import NameMatcher
from imncohort.config import load_config


def _new_uids(old: str, mapping: dict[str, str]) -> str:
    if old not in mapping:
        mapping[old] = generate_uid(entropy_srcs=["study-copy", old])
    return mapping[old]


def _replace_uids(ds: Dataset, mapping: dict[str, str]) -> None:
    for element in ds.iterall():
        if element.VR == "UI" and isinstance(element.value, str) and element.value in mapping:
            element.value = mapping[element.value]


def _shift_date(text: str, days: int) -> str:
    day = dt.datetime.strptime(text, "%Y%m%d").date() + dt.timedelta(days=days)
    return day.strftime("%Y%m%d")


def copy_annotated_study(
    export: Path,
    truth: dict[str, Any],
    patient_id: str,
    *,
    days_later: int = 200,
    scale: float = 0.8,
) -> dict[str, Any]:
    """Write the copy under ``export/<patient_id>_copy``; return its UIDs, date and ROI names."""
    study = next(
        s
        for s in truth["studies"]
        if s["patient_id"] == patient_id and s["modality"] == "CT" and s["series_instance_uids"]
    )
    series = [
        s
        for s in truth["series"]
        if s["study_instance_uid"] == study["study_instance_uid"]
        and s["modality"] in ("CT", "RTSTRUCT")
    ]
    assert {s["modality"] for s in series} == {"CT", "RTSTRUCT"}, series
    datasets = [pydicom.dcmread(export / p) for s in series for p in s["paths"]]
    mapping: dict[str, str] = {}
    for ds in datasets:
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            _new_uids(str(ds.get(keyword, "")), mapping)
        if "FrameOfReferenceUID" in ds:
            _new_uids(str(ds.FrameOfReferenceUID), mapping)
    mapping.pop("", None)
    matcher = NameMatcher(load_config().names)
    shrunk: list[str] = []
    new_date = _shift_date(study["study_date"], days_later)
    folder = export / f"{patient_id}_copy"
    folder.mkdir()
    for n, ds in enumerate(datasets):
        _replace_uids(ds, mapping)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDate = new_date
        if ds.Modality == "RTSTRUCT":
            names = {int(r.ROINumber): str(r.ROIName) for r in ds.StructureSetROISequence}
            for roi in ds.ROIContourSequence:
                name = names[int(roi.ReferencedROINumber)]
                if matcher.match(name).roi_class != "node":
                    continue
                shrunk.append(name)
                for contour in roi.ContourSequence:
                    pts = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
                    centre = pts[:, :2].mean(axis=0)
                    pts[:, :2] = centre + scale * (pts[:, :2] - centre)
                    contour.ContourData = [float(f"{v:.4f}") for v in pts.ravel()]
        ds.save_as(folder / f"copy_{n:04d}.dcm", enforce_file_format=True)
    return {
        "study_instance_uid": mapping[study["study_instance_uid"]],
        "study_date": new_date,
        "node_rois": sorted(set(shrunk)),
        "files": len(datasets),
    }
