"""Plan a research package: which patients, which files, where each copy goes.

Pure functions over the audit's tables (no DICOM reading except the tiny NIfTI
sidecars). A :class:`PatientJob` holds everything a worker needs to write one
patient's de-identified files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.annotations.sidecar import read_sidecar, sidecar_path
from imncohort.errors import ImnCohortError, InputError, StageOrderError
from imncohort.keys import pseudonym
from imncohort.layout import OutLayout
from imncohort.paths import export_file
from imncohort.schemas import index as index_schema
from imncohort.schemas.cohort import read_cohort
from imncohort.schemas.nodes import read_nodes as read_node_table

SELECTIONS = ("confirmed", "candidates", "all")
PACKAGE_ROOT = "dicom"


def read_index_table(out: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read one index table (``instances``, ``series``, ``studies``, ``files``) of OUT."""
    return index_schema.read_index_table(OutLayout(out), name, columns, needed_by="packaging")


@dataclass(frozen=True)
class SourceFile:
    """One file to copy: ``path`` relative to the export, ``role`` and package path."""

    path: str
    role: str  # image | rtstruct | seg | nifti
    study_key: str
    target: str  # relative to the package directory
    sidecar: str = ""
    sidecar_target: str = ""


@dataclass(frozen=True)
class PatientJob:
    """One patient's files: measured image series and candidate annotation files."""

    patient_key: str
    files: list[SourceFile]
    series_uids: list[str] = field(default_factory=list)
    frame_of_reference_uids: list[str] = field(default_factory=list)


def source_export(out: Path) -> Path:
    """The export the audit in OUT read (from ``OUT/run.json``)."""
    record = OutLayout(out).run_json
    try:
        export = json.loads(record.read_text("utf-8"))["export"]
    except (OSError, ValueError, KeyError):
        raise StageOrderError(
            f"'{record}' is missing or has no export; run 'imncohort run EXPORT --out {out}' "
            "before packaging"
        ) from None
    path = Path(export)
    if not path.is_dir():
        raise ImnCohortError(f"the export '{path}' named in {record} is not a directory")
    return path


def select_patients(out: Path, selection: str, studies: pd.DataFrame) -> list[str]:
    """Patient keys for ``confirmed``, ``candidates`` (incl. confirmed) or ``all``."""
    if selection not in SELECTIONS:
        raise ImnCohortError(f"--patients must be one of {', '.join(SELECTIONS)}, got {selection}")
    if selection == "all":
        return sorted(set(studies["patient_key"].astype(str)))
    layout = OutLayout(out)
    if not (layout.cohort_parquet.exists() or layout.cohort_csv.exists()):
        raise StageOrderError(
            f"'{layout.cohort_csv}' does not exist; run the reports and measure stages first"
        )
    cohort = read_cohort(layout)
    wanted = {"confirmed"} if selection == "confirmed" else {"confirmed", "candidate"}
    return sorted(set(cohort.loc[cohort["status"].isin(wanted), "patient_key"]))


def read_nodes(out: Path) -> pd.DataFrame:
    """The typed node table of OUT (``nodes.parquet``, else ``nodes.csv``)."""
    layout = OutLayout(out)
    if not (layout.nodes_parquet.exists() or layout.nodes_csv.exists()):
        raise StageOrderError(f"'{layout.nodes_csv}' does not exist; run the measure stage first")
    return read_node_table(layout)


def short_key(secret: bytes, kind: str, value: str) -> str:
    """A 16-hex name for a package folder or file (keyed, so it says nothing by itself)."""
    return pseudonym(secret, f"package-{kind}\0{value}")


def plan_package(
    out: Path, export: Path, selection: str, secret: bytes
) -> tuple[list[PatientJob], list[str], list[dict[str, Any]]]:
    """Plan the package of the patients ``selection`` names.

    Returns
    -------
    jobs, patients, problems
        One job per selected patient with measured nodes (sorted by key); every
        selected patient key; planning problems as ``{"path", "reason"}`` rows.
    """
    studies = read_index_table(out, "studies")
    patients = select_patients(out, selection, studies)
    nodes = read_nodes(out)
    nodes = nodes[nodes["patient_key"].isin(patients)]
    series = read_index_table(out, "series")
    instances = read_index_table(
        out, "instances", ["path", "kind", "study_key", "patient_key", "series_instance_uid"]
    )
    files = read_index_table(out, "files")
    measured = series[series["series_key"].isin(set(nodes["series_key"]))]
    problems: list[dict[str, Any]] = []
    by_patient: dict[str, list[SourceFile]] = {}
    series_uids: dict[str, set[str]] = {}
    frames: dict[str, set[str]] = {}
    for row in measured.to_dict("records"):
        patient, study = str(row["patient_key"]), str(row["study_key"])
        uid = str(row["series_instance_uid"])
        series_uids.setdefault(patient, set()).add(uid)
        if row.get("frame_of_reference_uid"):
            frames.setdefault(patient, set()).add(str(row["frame_of_reference_uid"]))
        folder = f"{PACKAGE_ROOT}/{patient}/{study}/{short_key(secret, 'series', uid)}"
        for path in row["paths"]:
            name = short_key(secret, "file", str(path))
            by_patient.setdefault(patient, []).append(
                SourceFile(str(path), "image", study, f"{folder}/{name}.dcm")
            )
    measured_studies = set(measured["study_key"].astype(str))
    ann = instances[
        instances["kind"].isin(["rtstruct", "seg"]) & instances["study_key"].isin(measured_studies)
    ]
    for path, kind, study, patient in zip(
        ann["path"], ann["kind"], ann["study_key"], ann["patient_key"], strict=True
    ):
        name = short_key(secret, "file", str(path))
        target = f"{PACKAGE_ROOT}/{patient}/{study}/{str(kind).upper()}_{name}.dcm"
        by_patient.setdefault(str(patient), []).append(
            SourceFile(str(path), str(kind), str(study), target)
        )
    uid_owner = {
        str(r["series_instance_uid"]): (str(r["patient_key"]), str(r["study_key"]))
        for r in measured.to_dict("records")
    }
    for path in sorted(files.loc[files["kind"] == "nifti", "path"].astype(str)):
        side = sidecar_path(path)
        try:
            uid = str(read_sidecar(export_file(export, side))["SeriesInstanceUID"])
        except InputError as exc:
            problems.append({"path": path, "reason": f"{exc}; not packaged"})
            continue
        if uid not in uid_owner:
            continue
        patient, study = uid_owner[uid]
        name = short_key(secret, "file", path)
        suffix = ".nii.gz" if path.lower().endswith(".gz") else ".nii"
        base = f"{PACKAGE_ROOT}/{patient}/{study}/nifti/{name}"
        by_patient.setdefault(patient, []).append(
            SourceFile(path, "nifti", study, base + suffix, side, base + ".json")
        )
    jobs = [
        PatientJob(
            patient,
            sorted(by_patient[patient], key=lambda f: f.target),
            sorted(series_uids.get(patient, set())),
            sorted(frames.get(patient, set())),
        )
        for patient in sorted(by_patient)
    ]
    return jobs, patients, problems


def batches(jobs: list[PatientJob], n_batches: int) -> list[list[PatientJob]]:
    """Split patient jobs into at most ``n_batches`` batches of similar file counts."""
    n = max(1, min(n_batches, len(jobs)))
    groups: list[list[PatientJob]] = [[] for _ in range(n)]
    sizes = [0] * n
    for job in sorted(jobs, key=lambda j: -len(j.files)):
        i = sizes.index(min(sizes))
        groups[i].append(job)
        sizes[i] += len(job.files)
    return [g for g in groups if g]
