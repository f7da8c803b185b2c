"""Write the synthetic PACS export and its answers (``ground_truth.json``).

``write_demo_export`` is the entry point of ``imncohort demo``. The export mixes
nested and flat folders, random file names with and without ``.dcm``, a DICOMDIR
for part of the tree, report SRs, a RIS CSV, a clinical CSV, NIfTI label maps and
junk. Everything is derived from the seed; no clock is read.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from imncohort.demo.answers import intercostal_spaces
from imncohort.demo.ct import ct_datasets
from imncohort.demo.dataset import StudyInfo
from imncohort.demo.dicomdir import write_file_set
from imncohort.demo.junk import write_junk
from imncohort.demo.naming import demo_uid, random_name, study_date
from imncohort.demo.nifti import write_label_maps
from imncohort.demo.node_truth import node_answer
from imncohort.demo.phantom import Phantom, build_phantom
from imncohort.demo.plan import PatientPlan, plan_patient
from imncohort.demo.reports import NodeFacts, compose_reports
from imncohort.demo.rois import annotation_rois
from imncohort.demo.rtstruct import rtstruct_dataset
from imncohort.demo.seg import seg_dataset
from imncohort.demo.small_series import N_IMAGES, small_series
from imncohort.demo.sr import STUDY_DESCRIPTIONS, sr_dataset
from imncohort.demo.tables import RisRow, clinical_row, write_clinical_csv, write_ris_csv
from imncohort.errors import ImnCohortError

logger = logging.getLogger(__name__)

GROUND_TRUTH = "ground_truth.json"
RIS_TABLE = "ris_reports.csv"
CLINICAL_TABLE = "clinical.csv"
FILE_SET_FOLDER = "media"
#: Third seed word of the generator that places the nodes around their vessels.
OFFSET_STREAM = 1


@dataclass
class _Truth:
    """Accumulates the content of ground_truth.json."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    studies: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    ribs: list[dict[str, Any]] = field(default_factory=list)
    vessels: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    aux_files: list[dict[str, str]] = field(default_factory=list)
    by_sop_class: Counter[str] = field(default_factory=Counter)
    ris_rows: list[RisRow] = field(default_factory=list)
    clinical: list[dict[str, str]] = field(default_factory=list)
    dicomdir: dict[str, object] = field(default_factory=dict)


class _Placer:
    """Chooses where a patient's files go (nested, shared flat or patient flat folder)."""

    def __init__(self, root: Path, plan: PatientPlan, rng: np.random.Generator) -> None:
        self.root, self.plan, self.rng = root, plan, rng
        self.study_dirs: dict[int, str] = {}

    def path(self, study_index: int, series_dir: str) -> Path:
        plan = self.plan
        if plan.layout == "nested":
            if study_index not in self.study_dirs:
                tag = "".join(self.rng.choice(list("0123456789abcdef"), size=6))
                self.study_dirs[study_index] = f"ST{study_index + 1:02d}_{tag}"
            folder = self.root / plan.patient_id / self.study_dirs[study_index] / series_dir
        elif plan.layout == "incoming":
            folder = self.root / "incoming"
        else:
            folder = self.root / plan.patient_id
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / random_name(self.rng, plan.extension)
            if not path.exists():
                return path


def _existing_demo(directory: Path, n_patients: int, seed: int) -> dict[str, Any] | None:
    """Return a summary when ``directory`` already holds this very demo (same seed and size).

    This keeps ``imncohort demo`` safe to re-run: the export is left as it is.
    """
    truth_path = directory / GROUND_TRUTH
    if not truth_path.is_file():
        return None
    try:
        truth = json.loads(truth_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if truth.get("seed") != seed or truth.get("n_patients") != n_patients:
        return None
    logger.info("demo export %s already written with seed %d; kept as it is", directory, seed)
    return {
        "directory": str(directory),
        "patients": n_patients,
        "nodes": len(truth.get("nodes", [])),
        "reports": len(truth.get("reports", [])),
        "reused": True,
    }


def _prepare(directory: Path) -> Path:
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ImnCohortError(
            f"demo directory {str(root)!r} is a file; give a new or empty directory"
        )
    if root.exists() and any(root.iterdir()):
        raise ImnCohortError(
            f"demo directory {str(root)!r} is not empty; give a new or empty directory "
            "(the demo never overwrites files)"
        )
    root.mkdir(parents=True, exist_ok=True)
    return root


def _write(ds: Dataset, path: Path, root: Path, truth: _Truth) -> str:
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    truth.by_sop_class[str(ds.SOPClassUID)] += 1
    return path.relative_to(root).as_posix()


def _series_record(
    uid: str, study: StudyInfo, modality: str, paths: list[str], **geometry: object
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "series_instance_uid": uid,
        "study_instance_uid": study.study_instance_uid,
        "modality": modality,
        "n_instances": len(paths),
        "rows": None,
        "columns": None,
        "pixel_spacing": None,
        "slice_thickness": None,
        "slice_spacing": None,
        "patient_position": None,
        "reversed_order": False,
        "z_min": None,
        "z_max": None,
        "paths": paths,
    }
    record.update(geometry)
    return record


def _write_ct(
    root: Path,
    seed: int,
    phantom: Phantom,
    study: StudyInfo,
    placer: _Placer,
    rng: np.random.Generator,
    truth: _Truth,
    to_file_set: bool,
) -> tuple[str, str, list[Dataset]]:
    plan, g = phantom.plan, phantom.geometry
    pid = plan.patient_id
    series_uid = demo_uid(seed, f"{pid}/ct/series")
    frame_uid = demo_uid(seed, f"{pid}/ct/frame")
    sop_uids = [demo_uid(seed, f"{pid}/ct/{j}") for j in range(len(g.z_positions))]
    datasets = ct_datasets(phantom, study, series_uid, frame_uid, sop_uids, rng)
    if to_file_set:
        by_uid, truth.dicomdir = write_file_set(
            root, FILE_SET_FOLDER, datasets, demo_uid(seed, "file-set")
        )
        paths = [by_uid[u] for u in sop_uids]
        truth.by_sop_class[str(datasets[0].SOPClassUID)] += len(datasets)
        truth.aux_files.append({"path": str(truth.dicomdir["path"]), "kind": "dicomdir"})
    else:
        paths = [_write(ds, placer.path(0, "SE002_CT"), root, truth) for ds in datasets]
    if g.patient_position == "FFS":  # slice normal points to the feet
        paths = paths[::-1]
    truth.series.append(
        _series_record(
            series_uid,
            study,
            "CT",
            paths,
            rows=g.rows,
            columns=g.columns,
            pixel_spacing=[g.pixel_spacing_row, g.pixel_spacing_col],
            slice_thickness=g.slice_spacing,
            slice_spacing=g.slice_spacing,
            patient_position=g.patient_position,
            reversed_order=plan.reversed_order,
            z_min=g.z_positions[0],
            z_max=g.z_positions[-1],
        )
    )
    return series_uid, frame_uid, datasets


def _write_annotation(
    root: Path,
    seed: int,
    phantom: Phantom,
    study: StudyInfo,
    placer: _Placer,
    truth: _Truth,
    ct_series_uid: str,
    frame_uid: str,
    ct: list[Dataset],
) -> list[str]:
    plan = phantom.plan
    pid = plan.patient_id
    if plan.annotation == "nifti":
        folder = root / pid / "nifti"
        for path in write_label_maps(
            phantom, folder, f"ct_labels_{plan.index + 1:02d}", ct_series_uid
        ):
            kind = "json" if path.suffix == ".json" else "nifti"
            truth.aux_files.append({"path": path.relative_to(root).as_posix(), "kind": kind})
        return []
    rois = annotation_rois(phantom)
    series_uid = demo_uid(seed, f"{pid}/{plan.annotation}/series")
    sop_uid = demo_uid(seed, f"{pid}/{plan.annotation}/0")
    if plan.annotation == "rtstruct":
        ds = rtstruct_dataset(
            phantom,
            rois,
            study,
            sop_instance_uid=sop_uid,
            series_instance_uid=series_uid,
            ct_series_instance_uid=ct_series_uid,
            frame_of_reference_uid=frame_uid,
            ct_sop_instance_uids=[str(d.SOPInstanceUID) for d in ct],
        )
        modality = "RTSTRUCT"
    else:
        ds = seg_dataset(
            phantom, rois, study, ct, sop_instance_uid=sop_uid, series_instance_uid=series_uid
        )
        modality = "SEG"
    written = _write(ds, placer.path(0, f"SE090_{modality}"), root, truth)
    truth.series.append(_series_record(series_uid, study, modality, [written]))
    return [series_uid]


def _record_anatomy(phantom: Phantom, ct_series_uid: str, study: StudyInfo, truth: _Truth) -> None:
    plan = phantom.plan
    if plan.has_ribs:
        for side in ("left", "right"):
            for number, z in enumerate(phantom.rib_levels(side), start=1):
                truth.ribs.append(
                    {"series_instance_uid": ct_series_uid, "side": side, "rib": number, "z_mm": z}
                )
    for side, tube in phantom.vessels.items():
        truth.vessels.append(
            {
                "series_instance_uid": ct_series_uid,
                "side": side,
                "x0_mm": tube.x0,
                "y_mm": tube.y,
                "slope_x_per_z": tube.slope,
                "z_ref_mm": tube.z_ref,
            }
        )
    for node in phantom.nodes:
        record = {
            "patient_id": plan.patient_id,
            "study_instance_uid": study.study_instance_uid,
            "series_instance_uid": ct_series_uid,
            "roi_name": node.roi_name,
            "annotation": plan.annotation,
            "component": node.component,
            "side": node.side,
        }
        record.update(node_answer(phantom, node))
        truth.nodes.append(record)


def _node_facts(phantom: Phantom) -> list[NodeFacts]:
    dz = phantom.geometry.slice_spacing
    facts = []
    for node in phantom.nodes:
        if node.metastatic:
            zc = node.shape.center_lps[2]
            lo, hi = zc - node.half_slices * dz, zc + node.half_slices * dz
            spaces = tuple(intercostal_spaces(lo, hi, phantom.rib_levels(node.side)))
            facts.append(NodeFacts(node.side, spaces, 2 * node.shape.a, 2 * node.shape.b))
    return facts


def _write_patient(root: Path, seed: int, index: int, truth: _Truth, to_file_set: bool) -> Dataset:
    rng = np.random.default_rng([seed, index])
    plan = plan_patient(index, rng)
    phantom = build_phantom(plan, rng, np.random.default_rng([seed, index, OFFSET_STREAM]))
    pid = plan.patient_id
    placer = _Placer(root, plan, rng)
    day = int(rng.integers(0, 1500))
    modalities = ["CT", *plan.other_studies]
    studies = [
        StudyInfo(
            study_instance_uid=demo_uid(seed, f"{pid}/study/{k}"),
            modality=modality,
            study_date=study_date(day - (0 if k == 0 else int(rng.integers(5, 60)))),
            accession=f"A{seed % 100:02d}{index + 1:04d}{k:02d}",
            description=STUDY_DESCRIPTIONS[modality],
            study_id=str(k + 1),
        )
        for k, modality in enumerate(modalities)
    ]
    series_of: dict[int, list[str]] = {k: [] for k in range(len(studies))}
    ct_uid, frame_uid, ct = _write_ct(
        root, seed, phantom, studies[0], placer, rng, truth, to_file_set
    )
    series_of[0].append(ct_uid)
    series_of[0] += _write_annotation(
        root, seed, phantom, studies[0], placer, truth, ct_uid, frame_uid, ct
    )
    _record_anatomy(phantom, ct_uid, studies[0], truth)

    reports = compose_reports(plan, _node_facts(phantom), modalities, rng)
    for k, study in enumerate(studies):
        if k > 0 and (index + k) % 2 == 0:
            uid = demo_uid(seed, f"{pid}/{study.modality}/series")
            sops = [
                demo_uid(seed, f"{pid}/{study.modality}/{j}")
                for j in range(N_IMAGES[study.modality])
            ]
            datasets = small_series(
                plan,
                study,
                series_instance_uid=uid,
                frame_of_reference_uid=demo_uid(seed, f"{pid}/{study.modality}/frame"),
                sop_instance_uids=sops,
            )
            paths = [_write(ds, placer.path(k, "SE003"), root, truth) for ds in datasets]
            truth.series.append(_series_record(uid, study, study.modality, paths))
            series_of[k].append(uid)
        report = reports[study.modality]
        in_table = plan.ct_report_in_table if k == 0 else (index + k) % 2 == 1
        record: dict[str, Any] = {
            "patient_id": pid,
            "study_instance_uid": study.study_instance_uid,
            "accession": study.accession,
            "modality": study.modality,
            "study_date": study.study_date,
            "mentions": [m.as_dict() for m in report.mentions()],
        }
        if in_table:
            truth.ris_rows.append(
                RisRow(
                    pid,
                    study.accession,
                    study.study_instance_uid,
                    study.modality,
                    study.study_date,
                    report.text(),
                )
            )
            record.update(
                report_id=f"{RIS_TABLE}#{len(truth.ris_rows)}", source="table", path=RIS_TABLE
            )
        else:
            charset = "ISO_IR 100"
            if plan.language == "zh":
                charset = "GB18030" if plan.gb18030 and k == 0 else "ISO_IR 192"
            uid = demo_uid(seed, f"{pid}/sr/{k}/series")
            sop = demo_uid(seed, f"{pid}/sr/{k}/0")
            ds = sr_dataset(
                plan,
                study,
                report,
                sop_instance_uid=sop,
                series_instance_uid=uid,
                character_set=charset,
            )
            path = _write(ds, placer.path(k, "SE900_SR"), root, truth)
            truth.series.append(_series_record(uid, study, "SR", [path]))
            series_of[k].append(uid)
            record.update(report_id=sop, source="sr", path=path)
        truth.reports.append(record)
    for k, study in enumerate(studies):
        truth.studies.append(
            {
                "study_instance_uid": study.study_instance_uid,
                "patient_id": pid,
                "modality": study.modality,
                "study_date": study.study_date,
                "accession": study.accession,
                "series_instance_uids": series_of[k],
            }
        )
    clinical = clinical_row(plan, rng)
    truth.clinical.append(clinical)
    _record_patient(plan, clinical["M"], truth)
    return ct[0]


def _record_patient(plan: PatientPlan, m_stage: str, truth: _Truth) -> None:
    pid = plan.patient_id
    confirmed = any(n["metastatic"] for n in truth.nodes if n["patient_id"] == pid)
    flagged = any(
        m["assertion"] in ("affirmed", "uncertain")
        for r in truth.reports
        if r["patient_id"] == pid
        for m in r["mentions"]
    )
    status = "confirmed" if confirmed else ("candidate" if flagged else "none")
    if status != plan.status:  # pragma: no cover - guards the generator itself
        raise AssertionError(f"demo patient {pid}: status {status}, planned {plan.status}")
    truth.patients.append(
        {
            "patient_id": pid,
            "status": status,
            "found_by_reports": confirmed and flagged,
            "has_ribs": plan.has_ribs,
            "group": plan.group,
            "M": m_stage,
        }
    )


def write_demo_export(directory: Path, n_patients: int, seed: int) -> dict[str, Any]:
    """Write a synthetic PACS export with its answers in ``ground_truth.json``.

    Parameters
    ----------
    directory : Path
        New or empty directory to write into.
    n_patients : int
        Number of patients (at least 1).
    seed : int
        Seed of every random choice; the same seed gives the same ground truth.

    Returns
    -------
    dict
        Summary: directory, patients, files, dicom_files, nodes, metastatic_nodes,
        reports, junk.

    Raises
    ------
    ImnCohortError
        If ``directory`` exists and is not an empty directory, or ``n_patients < 1``.
    """
    if n_patients < 1:
        raise ImnCohortError(f"n_patients must be at least 1, got {n_patients}")
    directory = Path(directory).absolute()  # a relative DIR works like an absolute one
    existing = _existing_demo(directory, n_patients, seed)
    if existing is not None:
        return existing
    root = _prepare(directory)
    truth = _Truth()
    file_set_patient = min(1, n_patients - 1)
    first_ct: Dataset | None = None
    for index in range(n_patients):
        ct = _write_patient(root, seed, index, truth, index == file_set_patient)
        first_ct = first_ct or ct
        logger.info("demo patient %d of %d written", index + 1, n_patients)
    assert first_ct is not None
    write_ris_csv(root / RIS_TABLE, truth.ris_rows)
    write_clinical_csv(root / CLINICAL_TABLE, truth.clinical)
    truth.aux_files += [
        {"path": RIS_TABLE, "kind": "table"},
        {"path": CLINICAL_TABLE, "kind": "table"},
        {"path": GROUND_TRUTH, "kind": "json"},
    ]
    to_cut = copy.deepcopy(first_ct)
    to_cut.SOPInstanceUID = demo_uid(seed, "junk/truncated")
    to_cut.file_meta.MediaStorageSOPInstanceUID = to_cut.SOPInstanceUID
    folders = sorted({Path(s["paths"][0]).parent.as_posix() for s in truth.series})
    junk = write_junk(root, folders, np.random.default_rng([seed, 10**6]), to_cut)
    content = {
        "version": 1,
        "seed": seed,
        "n_patients": n_patients,
        "patients": truth.patients,
        "studies": truth.studies,
        "series": truth.series,
        "instances": {
            "dicom_files": sum(truth.by_sop_class.values()),
            "by_sop_class": dict(sorted(truth.by_sop_class.items())),
        },
        "junk": junk,
        "dicomdir": truth.dicomdir,
        "aux_files": sorted(truth.aux_files, key=lambda a: a["path"]),
        "reports": truth.reports,
        "ribs": truth.ribs,
        "vessels": truth.vessels,
        "nodes": truth.nodes,
    }
    text = json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    (root / GROUND_TRUTH).write_text(text + "\n", encoding="utf-8")
    n_files = sum(1 for p in root.rglob("*") if p.is_file())
    return {
        "directory": str(root),
        "patients": n_patients,
        "files": n_files,
        "dicom_files": content["instances"]["dicom_files"],  # type: ignore[index]
        "nodes": len(truth.nodes),
        "metastatic_nodes": sum(1 for n in truth.nodes if n["metastatic"]),
        "reports": len(truth.reports),
        "junk": len(junk),
    }
