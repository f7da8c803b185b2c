"""Real public DICOM from other projects (tests/data, pydicom's own test files), laid out
as small exports. See tests/data/README.md for provenance and licences and
docs/TEST_DATA.md for what each data set proves.
"""

from __future__ import annotations

import copy
import lzma
import shutil
from pathlib import Path

import highdicom as hd
import numpy as np
import pandas as pd
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from imncohort.config import Config, load_config
from imncohort.index.stage import index_export
from imncohort.measure.stage import run_measure_stage

DATA = Path(__file__).resolve().parent / "data"
SECRET = b"real-data-tests"
CT2_DIR = Path(get_testdata_file("dicomdirtests/77654033/CT2/17106")).parent
CT_SMALL = Path(get_testdata_file("CT_small.dcm"))


def data_bytes(relative: str) -> bytes:
    """Bytes of ``tests/data/<relative>`` (``.xz`` files are decompressed)."""
    path = DATA / relative
    if path.exists():
        return path.read_bytes()
    return lzma.decompress((DATA / f"{relative}.xz").read_bytes())


def put(relative: str, dest: Path) -> Path:
    """Write ``tests/data/<relative>`` (decompressed) to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data_bytes(relative))
    return dest


def read_data(relative: str) -> Dataset:
    """Parse ``tests/data/<relative>``."""
    from io import BytesIO

    return pydicom.dcmread(BytesIO(data_bytes(relative)))


# --- dicompyler-core: one CT slice shipped, the other 97 built from it -----------------


def dicompyler_slice_positions(rtss: Dataset) -> dict[str, float]:
    """SOP Instance UID -> z (mm) of every CT slice the structure set's contours name."""
    z_by_uid: dict[str, float] = {}
    for roi in rtss.ROIContourSequence:
        for contour in roi.get("ContourSequence", []) or []:
            z = float(contour.ContourData[2])
            for ref in contour.get("ContourImageSequence", []) or []:
                z_by_uid.setdefault(str(ref.ReferencedSOPInstanceUID), z)
    return z_by_uid


def write_dicompyler_export(folder: Path) -> dict[str, object]:
    """dicompyler-core's example RTSTRUCT with its CT series under ``folder``.

    dicompyler-core ships one CT slice (``ct.0.dcm``, z = 168.5593 mm) of the 98 its
    structure set references. The other 97 are copies of it with the SOP Instance UID the
    structure set names and the slice position its contours give (z = 168.5593 - 3 n mm,
    the 3 mm grid of the contours); pixel data are the shipped slice's. The structure set
    itself is unchanged.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rtss_path = put("dicompyler-core/rtss.dcm", folder / "rtss.dcm")
    rtss = pydicom.dcmread(rtss_path)
    base = read_data("dicompyler-core/ct.0.dcm")
    z0 = float(base.ImagePositionPatient[2])
    positions = dicompyler_slice_positions(rtss)
    ordered = sorted(positions.items(), key=lambda item: -item[1])
    zs: list[float] = []
    for n, (uid, z_contour) in enumerate(ordered):
        steps = round((z0 - z_contour) / 3.0)
        z = z0 - 3.0 * steps
        ds = base if uid == base.SOPInstanceUID else copy.deepcopy(base)
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.ImagePositionPatient = [base.ImagePositionPatient[0], base.ImagePositionPatient[1], z]
        ds.SliceLocation = z
        ds.InstanceNumber = n + 1
        (folder / "ct").mkdir(exist_ok=True)
        ds.save_as(folder / "ct" / f"ct.{n}.dcm", enforce_file_format=True)
        zs.append(z)
    return {"rtss": rtss_path, "z_mm": sorted(zs), "thickness_mm": 3.0}


# --- highdicom SEG test files over pydicom's dicomdirtests CT ---------------------------


def write_ct2(folder: Path) -> list[Path]:
    """pydicom's ``dicomdirtests/77654033/CT2`` (4 slices, z -99.48 and 103.02-105.52 mm)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(CT2_DIR.iterdir()):
        out.append(Path(shutil.copyfile(src, folder / f"{src.name}.dcm")))
    return out


def write_labelmap_seg(ct_paths: list[Path], binary_seg: Path, dest: Path) -> Path:
    """A Label Map Segmentation (SOP class ...66.7) of ``binary_seg``'s segments, written by
    highdicom on the same CT (segment n = label n; overlapping voxels get the higher label)."""
    ct = [pydicom.dcmread(p) for p in ct_paths]
    seg = hd.seg.segread(binary_seg)
    masks = np.zeros((len(ct), int(ct[0].Rows), int(ct[0].Columns)), dtype=np.uint8)
    for number in seg.segment_numbers:
        planes = segread_mask_lps(binary_seg, number)
        for n, c in enumerate(ct):
            plane = planes.get(round(float(c.ImagePositionPatient[2]), 3))
            if plane is not None:
                masks[n][plane] = number
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=seg.get_segment_description(number).segment_label,
            segmented_property_category=hd.sr.CodedConcept(
                "91723000", "SCT", "Anatomical Structure"
            ),
            segmented_property_type=hd.sr.CodedConcept("59441001", "SCT", "Lymph node"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number in seg.segment_numbers
    ]
    labelmap = hd.seg.Segmentation(
        source_images=ct,
        pixel_array=masks,
        segmentation_type=hd.seg.SegmentationTypeValues.LABELMAP,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=77,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="imncohort tests",
        manufacturer_model_name="realdata.write_labelmap_seg",
        software_versions="1",
        device_serial_number="1",
        omit_empty_frames=False,
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    labelmap.save_as(dest)
    return dest


def segread_mask_lps(
    seg_path: Path, segment: int, threshold: float = 0.0
) -> dict[float, np.ndarray]:
    """z (mm) -> (rows, columns) bool plane of one segment read by highdicom's ``segread``.

    Frames are placed by their own Plane Position (Patient); rows and columns are the
    SEG's, which for these files run along LPS +y and +x (orientation 1,0,0,0,1,0).
    """
    seg = hd.seg.segread(seg_path)
    out: dict[float, np.ndarray] = {}
    pixels = seg.pixel_array
    if pixels.ndim == 2:
        pixels = pixels[None]
    seg_type = str(seg.SegmentationType)
    scale = float(seg.get("MaximumFractionalValue", 1) or 1) if seg_type == "FRACTIONAL" else 1.0
    for n, frame in enumerate(seg.PerFrameFunctionalGroupsSequence):
        if seg_type != "LABELMAP":
            number = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
            if number != segment:
                continue
            plane = pixels[n] > (threshold * scale)
        else:
            plane = pixels[n] == segment
        z = round(float(frame.PlanePositionSequence[0].ImagePositionPatient[2]), 3)
        out[z] = out[z] | plane if z in out else plane
    return out


# --- running the stages ----------------------------------------------------------------


def config_with_nodes(tmp: Path, patterns: list[str], extra: str = "") -> Config:
    """The default config with ``names.node`` set to ``patterns`` (plus ``extra`` YAML)."""
    lines = ["names:", "  node:"] + [f"    - '{p}'" for p in patterns]
    path = tmp / "config.yaml"
    path.write_text("\n".join(lines) + "\n" + extra, "utf-8")
    return load_config(path)


def run(export: Path, out: Path, config: Config) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Index and measure ``export``; return nodes.parquet, errors.csv and the measure summary."""
    index_export(export, out, chunk_size=500, secret=SECRET)
    summary = run_measure_stage(export, out, config, qc=False)
    nodes = pd.read_parquet(out / "nodes.parquet")  # full precision (nodes.csv is rounded)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return nodes, errors, summary
