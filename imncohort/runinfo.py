"""Facts about a run that ``run.json`` and the terminal summary report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.layout import index_table


def input_counts(out: Path) -> dict[str, Any]:
    """Return input counts by SOP class and kind from the index (empty when not indexed)."""
    instances = index_table(out, "instances")
    files = index_table(out, "files")
    counts: dict[str, Any] = {"by_sop_class": {}, "by_kind": {}, "other_files": {}}
    if instances.exists():
        frame = pd.read_parquet(instances, columns=["sop_class_uid", "kind"])
        counts["by_sop_class"] = {
            str(k): int(v) for k, v in frame["sop_class_uid"].value_counts().sort_index().items()
        }
        counts["by_kind"] = {
            str(k): int(v) for k, v in frame["kind"].value_counts().sort_index().items()
        }
        counts["dicom_files"] = len(frame)
    if files.exists():
        other = pd.read_parquet(files, columns=["kind"])
        counts["other_files"] = {
            str(k): int(v) for k, v in other["kind"].value_counts().sort_index().items()
        }
    return counts


def summary_lines(out: Path) -> list[str]:
    """Return the short end-of-run summary: patients, confirmed, nodes, errors, report."""
    out = Path(out)
    lines: list[str] = []
    studies = index_table(out, "studies")
    if studies.exists():
        frame = pd.read_parquet(studies, columns=["patient_key", "study_instance_uid"])
        lines.append(f"patients: {frame['patient_key'].nunique()}  studies: {len(frame)}")
    cohort = out / "cohort.csv"
    if cohort.exists():
        table = pd.read_csv(cohort)
        confirmed = int((table["status"] == "confirmed").sum()) if len(table) else 0
        candidates = int((table["status"] == "candidate").sum()) if len(table) else 0
        lines.append(f"confirmed patients: {confirmed}  candidates: {candidates}")
    nodes = out / "nodes.csv"
    if nodes.exists():
        table = pd.read_csv(nodes)
        metastatic = int(table["metastatic"].astype(bool).sum()) if len(table) else 0
        lines.append(f"nodes: {len(table)}  metastatic: {metastatic}")
    errors = out / "errors.csv"
    if errors.exists():
        lines.append(f"bad inputs: {len(pd.read_csv(errors))} (see {errors})")
    report = out / "report.html"
    if report.exists():
        lines.append(f"report: {report}")
    return lines
