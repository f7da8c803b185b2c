"""Duplicate DICOM objects and superseded structure sets, decided before measuring.

Two rules (docs/ARCHITECTURE.md, "measure stage"):

- **One SOP Instance UID, several files.** Byte-identical copies count once (the first
  path). Files that share a UID but differ are a conflict: one is measured (the latest
  content date/time: StructureSetDate/Time, ContentDate/Time or
  InstanceCreationDate/Time; ties go to the first path) and every file of the conflict
  gets an ``errors.csv`` row naming the one used.
- **Several structure sets of one series** (a re-approved RTSTRUCT has new UIDs): a node
  ROI name (case-insensitive) is measured from one structure set only, chosen as: an
  APPROVED set before others, then the latest StructureSetDate/Time, then the first
  path. The other sets' ROIs of that name are dropped with an ``errors.csv`` row naming
  the set used; their other ROIs are kept.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from imncohort.annotations.models import RoiSet
from imncohort.annotations.names import NameMatcher
from imncohort.outputs import ErrorRecord

logger = logging.getLogger(__name__)

STAGE = "measure"
DUPLICATE_KINDS = ("image", "rtstruct", "seg")
_DATE_PAIRS = (
    ("StructureSetDate", "StructureSetTime"),
    ("ContentDate", "ContentTime"),
    ("InstanceCreationDate", "InstanceCreationTime"),
)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return digest.hexdigest()


def datetime_key(date: str, time: str) -> str:
    """``YYYYMMDDHHMMSS.ffffff`` from DICOM DA and TM text (missing parts as zeros)."""
    date = (date or "").strip()[:8].ljust(8, "0")
    head, _, frac = (time or "").strip().partition(".")
    return f"{date}{head[:6].ljust(6, '0')}.{frac[:6].ljust(6, '0')}"


def content_datetime(path: Path) -> str:
    """The object's own date/time (:data:`_DATE_PAIRS`, first present), "" when none."""
    import pydicom  # only when two structure sets compete

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:
        return ""
    for date_kw, time_kw in _DATE_PAIRS:
        date = str(ds.get(date_kw, "") or "")
        if date:
            return datetime_key(date, str(ds.get(time_kw, "") or ""))
    return ""


def duplicate_instances(
    instances: pd.DataFrame, export: Path
) -> tuple[set[str], dict[str, list[str]], list[ErrorRecord]]:
    """Files to leave out because another file holds the same SOP Instance UID.

    Parameters
    ----------
    instances
        ``instances.parquet`` rows (``path``, ``kind``, ``sop_instance_uid``).
    export
        The export root (duplicates are compared byte for byte).

    Returns
    -------
    dropped, groups, errors
        Paths not to measure; for every kept path of a duplicate group all the group's
        paths (their manifest rows enter the study's hash); error rows of conflicts.
    """
    frame = instances[
        instances["kind"].isin(DUPLICATE_KINDS) & (instances["sop_instance_uid"].astype(str) != "")
    ]
    counts = frame["sop_instance_uid"].value_counts()
    shared = counts[counts > 1].index
    dropped: set[str] = set()
    groups: dict[str, list[str]] = {}
    errors: list[ErrorRecord] = []
    if len(shared) == 0:
        return dropped, groups, errors
    sub = frame[frame["sop_instance_uid"].isin(shared)]
    for uid, rows in sub.groupby("sop_instance_uid", sort=True):
        paths = sorted(str(p) for p in rows["path"])
        by_digest: dict[str, str] = {}
        for path in paths:
            by_digest.setdefault(_file_digest(Path(export) / path), path)
        distinct = sorted(by_digest.values())
        if len(distinct) == 1:
            keep = distinct[0]
            logger.info("SOP Instance UID in %d identical files; counted once", len(paths))
        else:
            dated = {p: content_datetime(Path(export) / p) for p in distinct}
            keep = sorted(distinct, key=lambda p: dated[p], reverse=True)[0]
            others = [p for p in distinct if p != keep]
            for path in distinct:
                used = "this file is measured" if path == keep else f"'{keep}' is measured"
                errors.append(
                    ErrorRecord(
                        path,
                        STAGE,
                        f"SOP Instance UID {uid} is shared by {len(distinct)} different files "
                        f"({', '.join(repr(p) for p in distinct if p != path)}); {used} "
                        "(rule: the latest content date/time, then the first path)",
                    )
                )
            logger.info("SOP Instance UID conflict: %d different files", len(others) + 1)
        dropped.update(p for p in paths if p != keep)
        groups[keep] = paths
    return dropped, groups, errors


def _preference(roi_set: RoiSet) -> tuple[int, str]:
    meta = roi_set.meta
    approved = 0 if meta.get("approval", "") == "APPROVED" else 1
    return approved, datetime_key(meta.get("date", ""), meta.get("time", ""))


def select_structure_sets(
    roi_sets: list[RoiSet], matcher: NameMatcher
) -> tuple[list[RoiSet], list[ErrorRecord]]:
    """Measure each node ROI name of a series from one structure set (see module docs).

    Returns the ROI sets (superseded node ROIs removed) and one error row per structure
    set that lost ROIs.
    """
    by_series: dict[str, list[RoiSet]] = {}
    for roi_set in roi_sets:
        if roi_set.annotation == "rtstruct":
            by_series.setdefault(roi_set.series_key, []).append(roi_set)
    replaced: dict[int, RoiSet] = {}
    errors: list[ErrorRecord] = []
    for series_key, sets in sorted(by_series.items()):
        if len(sets) < 2:
            continue
        # APPROVED first, then the latest date/time, then the first path.
        ordered = sorted(sets, key=lambda s: s.path)
        ordered.sort(key=lambda s: _preference(s)[1], reverse=True)
        ordered.sort(key=lambda s: _preference(s)[0])
        taken: dict[str, RoiSet] = {}
        for roi_set in ordered:
            keep = []
            lost: dict[str, list[str]] = {}
            for roi in roi_set.rois:
                name = roi.name.strip().lower()
                if matcher.match(roi.name).roi_class != "node":
                    keep.append(roi)
                elif name in taken:
                    lost.setdefault(taken[name].path, []).append(roi.name)
                else:
                    taken[name] = roi_set
                    keep.append(roi)
            if not lost:
                continue
            replaced[id(roi_set)] = replace(roi_set, rois=keep)
            for used_path, names in sorted(lost.items()):
                used = taken[names[0].strip().lower()]
                status = used.meta.get("approval", "") or "no ApprovalStatus"
                when = " ".join(
                    v for v in (used.meta.get("date", ""), used.meta.get("time", "")) if v
                )
                errors.append(
                    ErrorRecord(
                        roi_set.path,
                        STAGE,
                        f"structure set superseded on series {series_key}: node ROI(s) "
                        f"{', '.join(repr(n) for n in names)} are measured from '{used_path}' "
                        f"({status}, StructureSetDate/Time {when or 'none'}) and not from this "
                        "file (rule: an approved set first, then the latest "
                        "StructureSetDate/Time, then the first path)",
                    )
                )
    return [replaced.get(id(s), s) for s in roi_sets], errors
