"""Plan the measure stage: one :class:`StudyJob` per study that holds annotations.

A job carries everything a worker needs (series geometry from the index,
annotation paths, a hash of the inputs' manifest rows) so that workers never
read the index tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imncohort.annotations.sidecar import read_sidecar, sidecar_path
from imncohort.config import Config
from imncohort.errors import InputError
from imncohort.index.checks import bad_image_slices
from imncohort.measure.duplicates import duplicate_instances
from imncohort.measure.series import (
    IndexTables,
    SeriesGeometry,
    drop_bad_slices,
    series_geometry,
)
from imncohort.outputs import ErrorRecord
from imncohort.paths import export_file

logger = logging.getLogger(__name__)

STAGE = "measure"
# Bump when the measurement changes so that cached per-study results are recomputed.
MEASURE_VERSION = "2"


@dataclass(frozen=True, eq=False)
class StudyResult:
    """A study's node rows (nodes.csv columns) and error records."""

    study_key: str
    manifest_hash: str
    rows: list[dict[str, Any]]
    errors: list[ErrorRecord]


@dataclass(frozen=True)
class AnnotationFile:
    """One annotation input: ``path`` relative to the export, ``kind`` and NIfTI sidecar."""

    path: str
    kind: str  # rtstruct | seg | nifti
    sidecar: str = ""
    series_instance_uid: str = ""


@dataclass(frozen=True, eq=False)
class StudyJob:
    """Everything needed to measure one study."""

    study_key: str
    patient_key: str
    annotations: list[AnnotationFile]
    series: dict[str, SeriesGeometry]
    series_problems: dict[str, str] = field(default_factory=dict)
    series_uid_keys: dict[str, list[str]] = field(default_factory=dict)
    manifest_hash: str = ""


def config_fingerprint(config: Config) -> str:
    """Hash of the config sections that change measurements or QC pictures."""
    data = {
        "names": config.names.model_dump(mode="json"),
        "nodes": config.nodes.model_dump(mode="json"),
        "qc": config.qc.model_dump(mode="json"),
        "version": MEASURE_VERSION,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def manifest_hash(manifest: pd.DataFrame, paths: Iterable[str], salt: str) -> str:
    """SHA-256 over the sorted (path, size, mtime_ns) rows of ``paths`` plus ``salt``."""
    wanted = sorted(set(paths))
    sub = manifest[manifest["path"].isin(wanted)].sort_values("path")
    digest = hashlib.sha256(salt.encode())
    for path, size, mtime in zip(sub["path"], sub["size"], sub["mtime_ns"], strict=True):
        digest.update(f"{path}\0{int(size)}\0{int(mtime)}\n".encode())
    missing = set(wanted) - set(sub["path"])
    for path in sorted(missing):
        digest.update(f"{path}\0?\n".encode())
    return digest.hexdigest()


def _series_with(instances: pd.DataFrame, paths: Iterable[str]) -> set[str]:
    """Series UIDs of the instances at ``paths``."""
    wanted = set(paths)
    return set(instances.loc[instances["path"].isin(wanted), "series_instance_uid"].astype(str))


def plan_jobs(
    tables: IndexTables, export: Path, config: Config
) -> tuple[list[StudyJob], list[ErrorRecord]]:
    """Build one job per study holding an RTSTRUCT, a SEG or a NIfTI label map.

    Parameters
    ----------
    tables
        The index tables.
    export
        The export root (NIfTI sidecars are read here, they are tiny).
    config
        The run configuration (its fingerprint enters the hash).

    Returns
    -------
    jobs, errors
        Jobs sorted by study key; errors for NIfTI files without a usable sidecar.
    """
    errors: list[ErrorRecord] = []
    inst = tables.instances
    duplicate_copies: set[str] = set()
    duplicate_groups: dict[str, list[str]] = {}
    if "sop_instance_uid" in inst.columns:
        duplicate_copies, duplicate_groups, duplicate_errors = duplicate_instances(inst, export)
        errors.extend(duplicate_errors)
        if duplicate_copies:
            inst = inst[~inst["path"].isin(duplicate_copies)]
    series = tables.series
    images = series[series["kind"] == "image"]
    ipp = inst[inst["kind"] == "image"]
    ipp_by_path = {
        str(p): np.array([x, y, z], dtype=float)
        for p, x, y, z in zip(ipp["path"], ipp["ipp_x"], ipp["ipp_y"], ipp["ipp_z"], strict=True)
    }
    bad = bad_image_slices(ipp)
    unclassified = inst[(inst["kind"] == "other") & (inst["series_instance_uid"] != "")]
    strays = unclassified.groupby("series_instance_uid").size().to_dict()
    damaged = _series_with(ipp, bad) | {str(u) for u in strays}
    slice_values = (
        {
            str(r["path"]): r
            for r in ipp[ipp["series_instance_uid"].isin(damaged)].to_dict("records")
        }
        if damaged
        else {}
    )
    uid_to_study: dict[str, str] = {}
    for uid, study in zip(images["series_instance_uid"], images["study_key"], strict=True):
        uid_to_study.setdefault(str(uid), str(study))
    annotations: dict[str, list[AnnotationFile]] = {}
    ann = inst[inst["kind"].isin(["rtstruct", "seg"])]
    for path, kind, study in zip(ann["path"], ann["kind"], ann["study_key"], strict=True):
        annotations.setdefault(str(study), []).append(AnnotationFile(str(path), str(kind)))
    files = tables.files
    for path in sorted(files.loc[files["kind"] == "nifti", "path"].astype(str)):
        side = sidecar_path(path)
        try:
            data = read_sidecar(export_file(export, side))
        except InputError as exc:
            errors.append(ErrorRecord(path, STAGE, f"{exc}; skipped"))
            continue
        uid = str(data["SeriesInstanceUID"])
        study = uid_to_study.get(uid)
        if study is None:
            errors.append(
                ErrorRecord(
                    path,
                    STAGE,
                    f"NIfTI sidecar names series {uid}, which is not an image series in the "
                    "export; skipped",
                )
            )
            continue
        annotations.setdefault(study, []).append(AnnotationFile(path, "nifti", side, uid))
    salt = config_fingerprint(config)
    jobs: list[StudyJob] = []
    by_study = {str(key): frame for key, frame in images.groupby("study_key", sort=False)}
    empty = images.iloc[0:0]
    for study in sorted(annotations):
        study_series = by_study.get(study, empty)
        geoms: dict[str, SeriesGeometry] = {}
        problems: dict[str, str] = {}
        uid_keys: dict[str, list[str]] = {}
        for row in study_series.to_dict("records"):
            if duplicate_copies:
                row["paths"] = [p for p in list(row["paths"]) if str(p) not in duplicate_copies]
            key = str(row["series_key"])
            uid_keys.setdefault(str(row["series_instance_uid"]), []).append(key)
            n_strays = int(strays.get(str(row["series_instance_uid"]), 0))
            row, dropped = drop_bad_slices(row, slice_values, bad, n_strays)
            if dropped and not row["paths"]:
                problems[key] = (
                    f"series {key}: none of its {len(dropped)} slice(s) is usable "
                    "(each is listed in errors.csv with its reason)"
                )
                continue
            try:
                geoms[key] = series_geometry(row, ipp_by_path)
            except (InputError, KeyError, ValueError, TypeError) as exc:
                problems[key] = str(exc)
        patient = (
            str(study_series["patient_key"].iloc[0])
            if len(study_series)
            else str(inst.loc[inst["study_key"] == study, "patient_key"].iloc[0])
        )
        paths = [a.path for a in annotations[study]] + [
            a.sidecar for a in annotations[study] if a.sidecar
        ]
        for geom in geoms.values():
            paths.extend(geom.paths)
        paths.extend(p for kept in list(paths) for p in duplicate_groups.get(kept, []))
        jobs.append(
            StudyJob(
                study_key=study,
                patient_key=patient,
                annotations=sorted(annotations[study], key=lambda a: a.path),
                series=geoms,
                series_problems=problems,
                series_uid_keys=uid_keys,
                manifest_hash=manifest_hash(tables.manifest, paths, salt),
            )
        )
    return jobs, errors
