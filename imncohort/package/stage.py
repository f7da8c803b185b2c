"""Write a research package: de-identified files, shifted tables, manifest.

``flows/package.py`` maps :func:`package_batch` over batches of patients on Dask;
:func:`run_package` does the same in this process (tests, benchmarks). Everything
is written into a staging directory beside ``--to`` and renamed onto it at the
end, so an interrupted run leaves no half package.

Package layout::

    DIR/dicom/<patient_key>/<study_key>/<series>/<file>.dcm   image series with nodes
    DIR/dicom/<patient_key>/<study_key>/RTSTRUCT_<file>.dcm   (and SEG_<file>.dcm)
    DIR/dicom/<patient_key>/<study_key>/nifti/<file>.nii.gz   with <file>.json
    DIR/tables/{nodes,cohort,mentions,studies}.csv           dates shifted
    DIR/manifest.csv, DIR/excluded.csv, DIR/unresolved_references.csv, DIR/package.json

``OUT/restricted/packages/<DIR name>/`` keeps the date shifts and the source paths.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import logging
import os
import secrets as secrets_module
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
import pydicom
from pydicom.datadict import DicomDictionary, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from imncohort import __version__
from imncohort.annotations.nifti import label_names
from imncohort.annotations.rtstruct import frame_of_reference_uid, referenced_series_uids
from imncohort.annotations.sidecar import read_sidecar
from imncohort.config import Config, config_as_dict, secret_from_env
from imncohort.errors import ImnCohortError, InputError
from imncohort.keys import load_or_create_secret, pseudonym, restricted_dir
from imncohort.layout import OutLayout
from imncohort.outputs import write_csv, write_json
from imncohort.package.deid import (
    Deidentifier,
    date_shift_days,
    exclusion_reason,
    new_uid,
    profile_description,
)
from imncohort.package.plan import (
    PatientJob,
    SourceFile,
    batches,
    plan_package,
    read_index_table,
    read_nodes,
    source_export,
)
from imncohort.paths import export_file
from imncohort.schemas.cohort import read_cohort
from imncohort.schemas.mentions import read_mentions
from imncohort.schemas.nodes import NODES

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = [
    "path",
    "role",
    "sop_class_uid",
    "patient_key",
    "study_key",
    "series_instance_uid",
    "sop_instance_uid",
    "size",
    "sha256",
]
EXCLUDED_COLUMNS = ["patient_key", "study_key", "role", "sop_class_uid", "reason"]
UNRESOLVED_COLUMNS = ["path", "attribute", "uid"]
REFERENCE_KEYWORDS = {
    "ReferencedSOPInstanceUID",
    "SeriesInstanceUID",
    "StudyInstanceUID",
    "FrameOfReferenceUID",
    "ReferencedFrameOfReferenceUID",
}
_REFERENCE_TAGS = frozenset(int(tag_for_keyword(k) or 0) for k in REFERENCE_KEYWORDS)
_SEQUENCE_TAGS = frozenset(t for t, entry in DicomDictionary.items() if entry[0] == "SQ")
OWN_KEYWORDS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID")
NIFTI_TEXT_FIELDS = ("descrip", "aux_file", "db_name", "intent_name")


@dataclass
class BatchResult:
    """What one batch wrote: manifest rows, left-out files, UIDs held and referenced."""

    manifest: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    own_uids: set[str] = field(default_factory=set)
    references: list[tuple[str, str, str]] = field(default_factory=list)  # path, attr, uid


def shift_date(value: object, days: int) -> str:
    """``YYYYMMDD`` moved by ``days``; "" for an empty or unreadable date."""
    text = str(value).strip() if value is not None else ""
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) != 8 or not text.isdigit():
        return ""
    try:
        day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return ""
    return (day + datetime.timedelta(days=days)).strftime("%Y%m%d")


def _references(ds: Dataset, path: str, parent: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, attribute path, UID) of every UID a nested item of ``ds`` refers to.

    Only sequences and the reference elements are decoded (not contour points).
    """
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        if raw is None:
            continue
        if raw.VR == "SQ" or (raw.VR is None and int(tag) in _SEQUENCE_TAGS):
            elem = ds[tag]
            for item in elem.value or []:
                yield from _references(item, path, f"{parent}{elem.keyword}>")
        elif parent and int(tag) in _REFERENCE_TAGS:
            elem = ds[tag]
            values = elem.value if isinstance(elem.value, list | tuple) else [elem.value]
            for value in values:
                if value:
                    yield path, parent + elem.keyword, str(value)


def _own_uids(ds: Dataset) -> set[str]:
    return {str(ds.get(k)) for k in OWN_KEYWORDS if ds.get(k)}


def _annotation_series(ds: Dataset, role: str) -> tuple[list[str], str]:
    if role == "rtstruct":
        return referenced_series_uids(ds), frame_of_reference_uid(ds)
    uids = [
        str(item.get("SeriesInstanceUID", ""))
        for item in ds.get("ReferencedSeriesSequence", []) or []
    ]
    return [u for u in uids if u], str(ds.get("FrameOfReferenceUID", "") or "")


def _write_bytes(target: Path, data: bytes) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def check_complete(ds: Dataset) -> None:
    """Raise :class:`InputError` when a data set read with ``force=True`` is not a whole file.

    A file damaged after the audit (cut short, overwritten) still "reads" with
    ``force=True``; it must be left out of the package, not copied as a broken file.
    Native (not encapsulated) pixel data must hold every frame the header announces.
    """
    for keyword in ("SOPClassUID", "SOPInstanceUID"):
        if not str(ds.get(keyword, "") or ""):
            raise InputError(f"no {keyword}: not a whole DICOM file")
    if "PixelData" not in ds:
        return
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is not None and pydicom.uid.UID(syntax).is_encapsulated:
        return
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.get("BitsAllocated", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    expected = (rows * columns * samples * frames * bits + 7) // 8
    if len(ds.PixelData) < expected:
        raise InputError(f"pixel data holds {len(ds.PixelData)} of {expected} bytes (cut short)")


def _package_dicom(
    job: PatientJob,
    item: SourceFile,
    export: Path,
    staging: Path,
    deid: Deidentifier,
    result: BatchResult,
) -> None:
    ds = pydicom.dcmread(export_file(export, item.path), force=True)
    check_complete(ds)
    sop_class = str(ds.get("SOPClassUID", "") or "")
    reason = exclusion_reason(ds)
    if not reason and item.role in ("rtstruct", "seg"):
        uids, frame = _annotation_series(ds, item.role)
        if not (set(uids) & set(job.series_uids)) and frame not in job.frame_of_reference_uids:
            reason = "annotation of a series without measured nodes"
    if reason:
        result.excluded.append(
            {
                "patient_key": job.patient_key,
                "study_key": item.study_key,
                "role": item.role,
                "sop_class_uid": sop_class,
                "reason": reason,
                "source_path": item.path,
            }
        )
        return
    deid(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    data = buffer.getvalue()
    digest = _write_bytes(staging / item.target, data)
    result.own_uids |= _own_uids(ds)
    result.references.extend(_references(ds, item.target))
    result.manifest.append(
        {
            "path": item.target,
            "role": item.role,
            "sop_class_uid": sop_class,
            "patient_key": job.patient_key,
            "study_key": item.study_key,
            "series_instance_uid": str(ds.get("SeriesInstanceUID", "")),
            "sop_instance_uid": str(ds.get("SOPInstanceUID", "")),
            "size": len(data),
            "sha256": digest,
            "source_path": item.path,
        }
    )


def clean_nifti(source: Path, target: Path) -> None:
    """Copy a NIfTI image with its free-text header fields emptied and extensions dropped."""
    img: Any = nib.load(str(source))
    header: Any = img.header.copy()
    for name in NIFTI_TEXT_FIELDS:
        if name in header:
            header[name] = b""
    header.extensions.clear()
    slope, inter = img.header.get_slope_inter()
    if slope not in (None, 1.0) or inter not in (None, 0.0):
        data = img.dataobj  # scaled data: let nibabel keep the stored values and scaling
    else:
        data = np.asanyarray(img.dataobj)
    copy: Any = type(img)(data, img.affine, header=header)
    copy.set_data_dtype(img.get_data_dtype())
    copy.set_qform(img.get_qform(), code=int(img.header["qform_code"]))
    copy.set_sform(img.get_sform(), code=int(img.header["sform_code"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    nib.save(copy, str(target))


def _package_nifti(
    job: PatientJob,
    item: SourceFile,
    export: Path,
    staging: Path,
    secret: bytes,
    result: BatchResult,
) -> None:
    sidecar = read_sidecar(export_file(export, item.sidecar))
    uid = new_uid(secret, str(sidecar["SeriesInstanceUID"]))
    clean: dict[str, Any] = {"SeriesInstanceUID": uid}
    if sidecar.get("labels"):
        clean["labels"] = {str(k): v for k, v in sorted(label_names(sidecar).items())}
    clean_nifti(export_file(export, item.path), staging / item.target)
    text = (json.dumps(clean, indent=2, sort_keys=True) + "\n").encode("utf-8")
    side_digest = _write_bytes(staging / item.sidecar_target, text)
    result.references.append((item.sidecar_target, "SeriesInstanceUID", uid))
    for target, role, digest, source in (
        (item.target, "nifti", _sha256(staging / item.target), item.path),
        (item.sidecar_target, "nifti_sidecar", side_digest, item.sidecar),
    ):
        result.manifest.append(
            {
                "path": target,
                "role": role,
                "sop_class_uid": "",
                "patient_key": job.patient_key,
                "study_key": item.study_key,
                "series_instance_uid": uid,
                "sop_instance_uid": "",
                "size": (staging / target).stat().st_size,
                "sha256": digest,
                "source_path": source,
            }
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_batch(
    jobs: Sequence[PatientJob], export: str | Path, out: str | Path, staging: str | Path
) -> BatchResult:
    """De-identify and write the files of a batch of patients into ``staging``.

    A file that cannot be read or written is left out with its reason instead of
    stopping the batch.
    """
    secret = load_or_create_secret(Path(out), secret_from_env())
    result = BatchResult()
    for job in jobs:
        deid = Deidentifier(secret, job.patient_key)
        for item in job.files:
            try:
                if item.role == "nifti":
                    _package_nifti(job, item, Path(export), Path(staging), secret, result)
                else:
                    _package_dicom(job, item, Path(export), Path(staging), deid, result)
            except (OSError, ValueError, TypeError, KeyError, InputError, InvalidDicomError) as exc:
                # The message may quote the source path: only the error's type is logged.
                logger.warning(
                    "package: a file of patient %s failed (%s)", job.patient_key, type(exc).__name__
                )
                result.excluded.append(
                    {
                        "patient_key": job.patient_key,
                        "study_key": item.study_key,
                        "role": item.role,
                        "sop_class_uid": "",
                        "reason": f"unreadable: {type(exc).__name__}",
                        "source_path": item.path,
                    }
                )
    return result


def merge_results(results: Sequence[BatchResult]) -> BatchResult:
    """One result from the batches' results."""
    merged = BatchResult()
    for r in results:
        merged.manifest.extend(r.manifest)
        merged.excluded.extend(r.excluded)
        merged.own_uids |= r.own_uids
        merged.references.extend(r.references)
    return merged


def unresolved_references(result: BatchResult) -> pd.DataFrame:
    """References whose UID no packaged file holds (path, attribute, new UID)."""
    rows = sorted({r for r in result.references if r[2] not in result.own_uids})
    return pd.DataFrame(rows, columns=UNRESOLVED_COLUMNS)


def _map_series_key(secret: bytes, key: str) -> str:
    uid, sep, rest = str(key).partition("#")
    return new_uid(secret, uid) + (sep + rest if sep else "")


def _shift_dates(frame: pd.DataFrame, shifts: dict[str, int]) -> pd.DataFrame:
    """Move every ``*_date`` column (``YYYYMMDD``) of ``frame`` by its patient's shift."""
    frame = frame.copy()
    for column in [c for c in frame.columns if str(c).endswith("_date")]:
        frame[column] = [
            shift_date(d, shifts[str(p)])
            for d, p in zip(frame[column], frame["patient_key"], strict=True)
        ]
    return frame


def package_tables(out: Path, patients: Sequence[str], secret: bytes) -> dict[str, pd.DataFrame]:
    """The pseudonymous research tables of ``patients``, dates moved by each one's shift.

    Every ``*_date`` column is shifted (``study_date`` of nodes, studies and mentions,
    ``first_mention_date`` of the cohort).
    """
    keep = set(patients)
    shifts = {p: date_shift_days(secret, p) for p in keep}
    tables: dict[str, pd.DataFrame] = {}
    nodes = read_nodes(out)
    nodes = nodes[nodes["patient_key"].isin(keep)].drop(columns=["qc_png"], errors="ignore")
    nodes["series_key"] = [_map_series_key(secret, k) for k in nodes["series_key"]]
    tables["nodes"] = _shift_dates(nodes, shifts)
    studies = read_index_table(out, "studies")
    studies = studies[studies["patient_key"].astype(str).isin(keep)].copy()
    studies["study_instance_uid"] = [new_uid(secret, str(u)) for u in studies["study_instance_uid"]]
    studies = _shift_dates(studies, shifts)
    tables["studies"] = studies.drop(columns=["study_description"], errors="ignore")
    layout = OutLayout(out)
    if layout.cohort_parquet.exists() or layout.cohort_csv.exists():
        cohort = read_cohort(layout)
        cohort = cohort[cohort["patient_key"].isin(keep)].copy()
        tables["cohort"] = _shift_dates(cohort, shifts)
    if layout.mentions_parquet.exists():
        mentions = read_mentions(layout)
        mentions = mentions[mentions["patient_key"].astype(str).isin(keep)].copy()
        mentions = _shift_dates(mentions, shifts)
        # mention_id is an unkeyed hash of the report's UID or path: keyed again here.
        mentions["mention_id"] = [
            pseudonym(secret, f"package-mention\0{m}") for m in mentions["mention_id"]
        ]
        tables["mentions"] = mentions.drop(columns=["source_path", "report_id"], errors="ignore")
    return {
        name: frame.sort_values(list(frame.columns[:2]), kind="stable").reset_index(drop=True)
        for name, frame in tables.items()
    }


def check_target(to: Path, export: Path, out: Path, overwrite: bool) -> Path:
    """Refuse a package directory that exists (without overwrite) or lies in the inputs."""
    to = Path(to)
    resolved = to.resolve()
    for base, what in ((export, "the export, which is read-only"), (out, "OUT")):
        base = Path(base).resolve()
        if resolved == base or base in resolved.parents:
            raise ImnCohortError(f"--to '{to}' lies inside {what}; choose a directory outside it")
    if (to.exists() or to.is_symlink()) and not overwrite:
        raise ImnCohortError(
            f"package directory '{to}' already exists; pass --overwrite to replace it"
        )
    return to


@contextlib.contextmanager
def staging_dir(to: Path) -> Iterator[Path]:
    """A fresh directory beside ``to``; renamed onto ``to`` on success, removed on failure."""
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    staging = to.parent / f".{to.name}.partial-{secrets_module.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if to.exists() or to.is_symlink():
        old = to.parent / f".{to.name}.old-{secrets_module.token_hex(4)}"
        os.rename(to, old)
    os.rename(staging, to)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _public(rows: Sequence[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[*columns, "source_path"])
    return frame.sort_values([*columns[:1], "source_path"], kind="stable").reset_index(drop=True)


def finish_package(
    out: Path,
    staging: Path,
    name: str,
    selection: str,
    config: Config,
    patients: Sequence[str],
    result: BatchResult,
    problems: Sequence[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """Write tables, manifest, lists and ``package.json`` into ``staging``; return counts."""
    secret = load_or_create_secret(Path(out), secret_from_env())
    tables = package_tables(out, patients, secret)
    for table, frame in tables.items():
        shown = NODES.rounded(frame) if table == "nodes" else frame  # as in OUT/nodes.csv
        write_csv(shown, staging / "tables" / f"{table}.csv")
    manifest = _public(result.manifest, MANIFEST_COLUMNS)
    excluded = _public(result.excluded, EXCLUDED_COLUMNS)
    unresolved = unresolved_references(result)
    write_csv(manifest[MANIFEST_COLUMNS], staging / "manifest.csv")
    write_csv(excluded[EXCLUDED_COLUMNS], staging / "excluded.csv")
    write_csv(unresolved, staging / "unresolved_references.csv")
    restricted_dir(out)  # 0700
    private = OutLayout(out).package_record_dir(name)
    shifts = pd.DataFrame(
        [(p, date_shift_days(secret, p)) for p in sorted(patients)],
        columns=["patient_key", "date_shift_days"],
    )
    write_csv(shifts, private / "date_shifts.csv")
    write_csv(manifest[["path", "source_path"]], private / "files.csv")
    write_csv(excluded, private / "excluded.csv")
    write_csv(pd.DataFrame(list(problems), columns=["path", "reason"]), private / "problems.csv")
    roles = manifest["role"].value_counts().sort_index()
    counts = {
        "patients_selected": len(patients),
        "patients_with_files": int(manifest["patient_key"].nunique()),
        "studies_with_files": int(manifest["study_key"].nunique()),
        "files": len(manifest),
        "files_by_role": {str(k): int(v) for k, v in roles.items()},
        "excluded": len(excluded),
        "unresolved_references": len(unresolved),
        "planning_problems": len(problems),
        "nodes": len(tables["nodes"]),
    }
    record = {
        "imncohort_version": __version__,
        "selection": selection,
        "config": config_as_dict(config),
        "deidentification": profile_description(),
        "counts": counts,
        "layout": {
            "dicom": "dicom/<patient_key>/<study_key>/...: an export imncohort can audit",
            "tables": "tables/*.csv: pseudonymous keys, dates shifted like the DICOM dates",
            "manifest": "manifest.csv: every file with its SOP class, keys and sha256",
        },
    }
    write_json(record, staging / "package.json")
    return {**counts, "seconds": round(seconds, 3)}


def run_package(
    out: Path,
    to: Path,
    selection: str,
    config: Config,
    overwrite: bool = False,
    mapper: Callable[[list[list[PatientJob]], str, str, str], list[BatchResult]] | None = None,
    n_batches: int = 1,
) -> dict[str, Any]:
    """Package the ``selection`` patients of OUT into ``to`` (in this process or via ``mapper``)."""
    start = time.perf_counter()
    out = Path(out)
    export = source_export(out)
    to = check_target(Path(to), export, out, overwrite)
    secret = load_or_create_secret(out, secret_from_env())
    jobs, patients, problems = plan_package(out, export, selection, secret)
    groups = batches(jobs, n_batches)
    with staging_dir(to) as staging:
        if mapper is None:
            results = [package_batch(g, export, out, staging) for g in groups]
        else:
            results = mapper(groups, str(export), str(out), str(staging))
        summary = finish_package(
            out,
            staging,
            to.name,
            selection,
            config,
            patients,
            merge_results(results),
            problems,
            time.perf_counter() - start,
        )
    logger.info(
        "package: %d patients, %d files, %d left out, %d unresolved references",
        summary["patients_selected"],
        summary["files"],
        summary["excluded"],
        summary["unresolved_references"],
    )
    return summary
