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
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from imncohort.demo.dicom_builder import (
    Contour,
    PatientInfo,
    SegmentInfo,
    SeriesInfo,
    StructureRoi,
    StudyHeader,
    ct_slice,
    rtstruct,
    segmentation,
)

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


def _patient(scene: Scene) -> PatientInfo:
    return PatientInfo("Synthetic^" + scene.patient_id, scene.patient_id, "19700101", "F")


def _study(scene: Scene) -> StudyHeader:
    return StudyHeader(scene.study_uid, "20200101", "120000", "A" + scene.patient_id, "1", None, "")


def _synthetic(ds: Dataset, scene: Scene) -> None:
    ds.FrameOfReferenceUID = scene.for_uid
    ds.Manufacturer = "synthetic"


def write_ct(scene: Scene, folder: Path) -> list[Dataset]:
    """Write the CT series; return the datasets in ``spec.z_positions`` order."""
    spec = scene.spec
    folder.mkdir(parents=True, exist_ok=True)
    order = list(range(len(spec.z_positions)))
    files = order[::-1] if spec.reversed_files else order
    datasets: list[Dataset] = [Dataset()] * len(order)
    x0, y0 = spec.origin_xy
    for number, k in enumerate(files, start=1):
        ds = ct_slice(
            generate_uid(),
            _patient(scene),
            _study(scene),
            SeriesInfo(scene.series_uid, "CT", 1),
            pixels=np.full((spec.rows, spec.columns), 1064, dtype=np.int16),
            position_lps=[x0, y0, float(spec.z_positions[k])],
            orientation=spec.iop,
            pixel_spacing=list(spec.spacing),
            slice_thickness=1.0,
            frame_of_reference_uid=scene.for_uid,
            instance_number=number,
            patient_position="FFS" if spec.feet_first else "HFS",
            character_set=None,
        )
        _synthetic(ds, scene)
        ds.save_as(folder / f"IM{number:04d}", enforce_file_format=True)
        datasets[k] = ds
    return datasets


def _contours(struct: Structure) -> list[Contour]:
    contours = [
        Contour(np.column_stack([ring, np.full(len(ring), slab.z)]))
        for slab in struct.slabs
        for ring in slab_rings(slab)
    ]
    contours += [Contour(np.array([point]), "POINT") for point in struct.points]
    return contours


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
    rois = [
        StructureRoi(s.name, _contours(s), interpreted_type="MARKER" if s.points else "ORGAN")
        for s in structures
    ]
    ds = rtstruct(
        generate_uid(),
        _patient(scene),
        _study(scene),
        SeriesInfo(generate_uid(), "RTSTRUCT", 99),
        frame_of_reference_uid=scene.for_uid,
        rois=rois,
        referenced_series_uid=(series_uid or scene.series_uid) if reference_series else None,
        referenced_image_uids=[str(d.SOPInstanceUID) for d in ct],
        label="synthetic",
        date="20200101",
        time="120000",
        character_set=None,
    )
    _synthetic(ds, scene)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_seg(
    scene: Scene, ct: list[Dataset], path: Path, structures: list[Structure] | None = None
) -> Path:
    """Write a binary SEG (one segment per structure) with highdicom."""
    structures = scene.structures if structures is None else structures
    masks = np.stack([structure_mask(s, scene.spec) for s in structures], axis=-1)
    category = hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure")
    lymph_node = hd.sr.CodedConcept("59441001", "SCT", "Lymph node")
    seg = segmentation(
        ct,
        masks,
        [SegmentInfo(s.name, category, lymph_node) for s in structures],
        sop_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(),
        series_number=98,
        manufacturer="synthetic",
        model_name="synthetic",
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
