"""Tiny synthetic CT exports with RTSTRUCT, SEG and NIfTI annotations for the measure tests.

Everything is analytic: nodes are stacks of ellipses (optionally with a
circular hole), vessels are small circles whose centre moves linearly with z,
ribs are horizontal bars at known z. ``Scene`` describes one study; the
``write_*`` functions write its CT series and annotations with pydicom,
highdicom and nibabel; :func:`index_and_config` runs the real index stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
N_VERTICES = 72


@dataclass
class Slab:
    """A node's ellipse on one slice: centre, semi-axes (a along x, b along y), hole radius."""

    z: float
    cx: float
    cy: float
    a: float
    b: float
    hole: float = 0.0


@dataclass
class Structure:
    """An annotated structure: a node/vessel/CTV as slabs, a rib as a bar, or POINT marks."""

    name: str
    slabs: list[Slab] = field(default_factory=list)
    points: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class CtSpec:
    """Geometry of one synthetic axial CT series."""

    z_positions: list[float]
    rows: int = 96
    columns: int = 112
    spacing: tuple[float, float] = (0.8, 0.9)  # (row, column) mm
    feet_first: bool = False
    reversed_files: bool = False
    tilt_deg: float = 0.0  # rotation about x: > 0 makes the series oblique

    @property
    def iop(self) -> list[float]:
        if self.tilt_deg:
            t = np.radians(self.tilt_deg)
            return [1.0, 0, 0, 0, float(np.cos(t)), float(np.sin(t))]
        return [-1.0, 0, 0, 0, 1, 0] if self.feet_first else [1.0, 0, 0, 0, 1, 0]

    @property
    def origin_xy(self) -> tuple[float, float]:
        half_x = (self.columns - 1) * self.spacing[1] / 2
        x0 = half_x if self.feet_first else -half_x
        return (x0, -70.0)

    def xy_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of every column and y of every row (LPS mm)."""
        sx = -1.0 if self.feet_first else 1.0
        xs = self.origin_xy[0] + sx * np.arange(self.columns) * self.spacing[1]
        ys = self.origin_xy[1] + np.arange(self.rows) * self.spacing[0]
        return xs, ys


def ellipse_ring(cx: float, cy: float, a: float, b: float, n: int = N_VERTICES) -> np.ndarray:
    t = np.arange(n) * 2 * np.pi / n
    return np.column_stack([cx + a * np.cos(t), cy + b * np.sin(t)])


def slab_rings(slab: Slab) -> list[np.ndarray]:
    rings = [ellipse_ring(slab.cx, slab.cy, slab.a, slab.b)]
    if slab.hole > 0:
        rings.append(ellipse_ring(slab.cx, slab.cy, slab.hole, slab.hole)[::-1])
    return rings


def slab_mask(slab: Slab, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(rows, columns) pixel centres inside the slab's ellipse and outside its hole."""
    dx = xs[None, :] - slab.cx
    dy = ys[:, None] - slab.cy
    inside = (dx / slab.a) ** 2 + (dy / slab.b) ** 2 <= 1.0
    if slab.hole > 0:
        inside &= dx**2 + dy**2 > slab.hole**2
    return inside


def structure_mask(struct: Structure, spec: CtSpec) -> np.ndarray:
    """(K, rows, columns) mask, slices in ``spec.z_positions`` order."""
    xs, ys = spec.xy_centres()
    mask = np.zeros((len(spec.z_positions), spec.rows, spec.columns), dtype=bool)
    for slab in struct.slabs:
        k = int(np.argmin(np.abs(np.asarray(spec.z_positions) - slab.z)))
        mask[k] |= slab_mask(slab, xs, ys)
    for x, y, z in struct.points:
        k = int(np.argmin(np.abs(np.asarray(spec.z_positions) - z)))
        i = int(np.argmin(np.abs(xs - x)))
        j = int(np.argmin(np.abs(ys - y)))
        mask[k, j, i] = True
    return mask


def circle_slabs(
    x0: float, y: float, r: float, zs: list[float], slope: float = 0.0, z_ref: float = 0.0
) -> list[Slab]:
    """A vessel: circles of radius r centred at x0 + slope * (z - z_ref)."""
    return [Slab(z, x0 + slope * (z - z_ref), y, r, r) for z in zs]


def rib_slabs(side: str, z_level: float, zs: list[float], half_height: float = 2.0) -> list[Slab]:
    """A horizontal rib bar (x from 14 to 48 mm from the midline) on slices within its height."""
    sign = 1.0 if side == "left" else -1.0
    cx = sign * 31.0
    return [Slab(z, cx, -52.0, 17.0, 3.0) for z in zs if abs(z - z_level) <= half_height + 1e-6]


@dataclass
class Scene:
    """One patient/study: a CT series and its structures."""

    patient_id: str
    spec: CtSpec
    structures: list[Structure]
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    for_uid: str = field(default_factory=generate_uid)


def _base(ds: Dataset, scene: Scene, modality: str) -> None:
    ds.PatientID = scene.patient_id
    ds.PatientName = "Synthetic^" + scene.patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = scene.study_uid
    ds.StudyDate = "20200101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = "A" + scene.patient_id
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    ds.FrameOfReferenceUID = scene.for_uid
    ds.Manufacturer = "synthetic"


def write_ct(scene: Scene, folder: Path) -> list[Dataset]:
    """Write the CT series; return the datasets in ``spec.z_positions`` order."""
    spec = scene.spec
    folder.mkdir(parents=True, exist_ok=True)
    order = list(range(len(spec.z_positions)))
    files = order[::-1] if spec.reversed_files else order
    datasets: list[Dataset] = [Dataset()] * len(order)
    for number, k in enumerate(files, start=1):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        _base(ds, scene, "CT")
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID = scene.series_uid
        ds.SeriesNumber = 1
        ds.InstanceNumber = number
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.PatientPosition = "FFS" if spec.feet_first else "HFS"
        ds.ImageOrientationPatient = spec.iop
        x0, y0 = spec.origin_xy
        ds.ImagePositionPatient = [x0, y0, float(spec.z_positions[k])]
        ds.PixelSpacing = list(spec.spacing)
        ds.SliceThickness = 1.0
        ds.Rows = spec.rows
        ds.Columns = spec.columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        pixels = np.full((spec.rows, spec.columns), 1064, dtype=np.int16)
        ds.PixelData = pixels.tobytes()
        ds.save_as(folder / f"IM{number:04d}", enforce_file_format=True)
        datasets[k] = ds
    return datasets


def write_rtstruct(
    scene: Scene,
    ct: list[Dataset],
    path: Path,
    structures: list[Structure] | None = None,
    reference_series: bool = True,
    series_uid: str | None = None,
) -> Path:
    """Write an RTSTRUCT of ``structures`` (default: all of the scene) on the CT."""
    structures = scene.structures if structures is None else structures
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RTSTRUCT_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    _base(ds, scene, "RTSTRUCT")
    ds.SOPClassUID = RTSTRUCT_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 99
    ds.InstanceNumber = 1
    ds.StructureSetLabel = "synthetic"
    ds.StructureSetDate = "20200101"
    ds.StructureSetTime = "120000"
    frame = Dataset()
    frame.FrameOfReferenceUID = scene.for_uid
    if reference_series:
        series = Dataset()
        series.SeriesInstanceUID = series_uid or scene.series_uid
        series.ContourImageSequence = Sequence([_image_ref(d) for d in ct])
        study = Dataset()
        study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        study.ReferencedSOPInstanceUID = scene.study_uid
        study.RTReferencedSeriesSequence = Sequence([series])
        frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    rois, contours, observations = [], [], []
    for number, struct in enumerate(structures, start=1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = scene.for_uid
        roi.ROIName = struct.name
        roi.ROIGenerationAlgorithm = "MANUAL"
        rois.append(roi)
        items = []
        for slab in struct.slabs:
            for ring in slab_rings(slab):
                item = Dataset()
                item.ContourGeometricType = "CLOSED_PLANAR"
                pts = np.column_stack([ring, np.full(len(ring), slab.z)])
                item.NumberOfContourPoints = len(pts)
                item.ContourData = [f"{v:.4f}" for v in pts.ravel()]
                items.append(item)
        for x, y, z in struct.points:
            item = Dataset()
            item.ContourGeometricType = "POINT"
            item.NumberOfContourPoints = 1
            item.ContourData = [x, y, z]
            items.append(item)
        contour = Dataset()
        contour.ReferencedROINumber = number
        contour.ROIDisplayColor = [255, 0, 0]
        contour.ContourSequence = Sequence(items)
        contours.append(contour)
        obs = Dataset()
        obs.ObservationNumber = number
        obs.ReferencedROINumber = number
        obs.RTROIInterpretedType = "MARKER" if struct.points else "ORGAN"
        obs.ROIInterpreter = ""
        observations.append(obs)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours)
    ds.RTROIObservationsSequence = Sequence(observations)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _image_ref(ds: Dataset) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = ds.SOPClassUID
    ref.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    return ref


def write_seg(
    scene: Scene, ct: list[Dataset], path: Path, structures: list[Structure] | None = None
) -> Path:
    """Write a binary SEG (one segment per structure) with highdicom."""
    structures = scene.structures if structures is None else structures
    masks = np.stack([structure_mask(s, scene.spec) for s in structures], axis=-1)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=s.name,
            segmented_property_category=hd.sr.CodedConcept(
                "91723000", "SCT", "Anatomical Structure"
            ),
            segmented_property_type=hd.sr.CodedConcept("59441001", "SCT", "Lymph node"),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n, s in enumerate(structures, start=1)
    ]
    seg = hd.seg.Segmentation(
        source_images=ct,
        pixel_array=masks.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=98,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="synthetic",
        manufacturer_model_name="synthetic",
        software_versions="1",
        device_serial_number="1",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)
    return path


def write_nifti(
    scene: Scene,
    path: Path,
    structures: list[Structure] | None = None,
    labels: dict[int, str] | None = None,
    write_labels: bool = True,
) -> Path:
    """Write a NIfTI label map (RAS affine) with its sidecar; labels 1..n unless given."""
    structures = scene.structures if structures is None else structures
    spec = scene.spec
    ids = labels or {n: s.name for n, s in enumerate(structures, start=1)}
    by_name = {s.name: s for s in structures}
    data_kji = np.zeros((len(spec.z_positions), spec.rows, spec.columns), dtype=np.int16)
    for label, name in ids.items():
        data_kji[structure_mask(by_name[name], spec)] = label
    zs = np.asarray(spec.z_positions, dtype=float)
    iop = np.asarray(spec.iop)
    affine_lps = np.eye(4)
    affine_lps[:3, 0] = iop[:3] * spec.spacing[1]
    affine_lps[:3, 1] = iop[3:] * spec.spacing[0]
    affine_lps[:3, 2] = [0, 0, (zs[-1] - zs[0]) / max(1, len(zs) - 1)]
    affine_lps[:3, 3] = [spec.origin_xy[0], spec.origin_xy[1], zs[0]]
    affine_ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine_lps
    img = nib.Nifti1Image(np.transpose(data_kji, (2, 1, 0)), affine_ras)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, str(path))
    sidecar: dict[str, object] = {"SeriesInstanceUID": scene.series_uid}
    if write_labels:
        sidecar["labels"] = {str(k): v for k, v in ids.items()}
    stem = str(path)[: -len(".nii.gz")] if str(path).endswith(".nii.gz") else str(path)[:-4]
    Path(stem + ".json").write_text(json.dumps(sidecar))
    return path


def index_export(export: Path, out: Path) -> None:
    """Run the real index stage on ``export`` into ``out``."""
    from imncohort.index.stage import index_export as run_index

    run_index(export, out, chunk_size=500, secret=b"measure-tests")


def read_dicom(path: Path) -> Dataset:
    return pydicom.dcmread(path)
