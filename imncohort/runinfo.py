"""Facts about a run that ``run.json`` and the terminal summary report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.layout import OutLayout
from imncohort.schemas.cohort import read_cohort
from imncohort.schemas.errors import read_errors
from imncohort.schemas.index import read_index_table
from imncohort.schemas.nodes import read_nodes


def _value_counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def input_counts(out: Path) -> dict[str, Any]:
    """Return input counts by SOP class and kind from the index (empty when not indexed)."""
    layout = OutLayout(out)
    counts: dict[str, Any] = {"by_sop_class": {}, "by_kind": {}, "other_files": {}}
    if layout.index_table("instances").exists():
        frame = read_index_table(layout, "instances", ["sop_class_uid", "kind"])
        counts["by_sop_class"] = _value_counts(frame["sop_class_uid"])
        counts["by_kind"] = _value_counts(frame["kind"])
        counts["dicom_files"] = len(frame)
    if layout.index_table("files").exists():
        counts["other_files"] = _value_counts(read_index_table(layout, "files", ["kind"])["kind"])
    return counts


def summary_lines(out: Path) -> list[str]:
    """Return the short end-of-run summary: patients, confirmed, nodes, errors, report."""
    layout = OutLayout(out)
    lines: list[str] = []
    if layout.index_table("studies").exists():
        frame = read_index_table(layout, "studies", ["patient_key", "study_instance_uid"])
        lines.append(f"patients: {frame['patient_key'].nunique()}  studies: {len(frame)}")
    if layout.cohort_parquet.exists() or layout.cohort_csv.exists():
        status = read_cohort(layout)["status"]
        confirmed = int((status == "confirmed").sum())
        candidates = int((status == "candidate").sum())
        lines.append(f"confirmed patients: {confirmed}  candidates: {candidates}")
    if layout.nodes_parquet.exists() or layout.nodes_csv.exists():
        nodes = read_nodes(layout)
        lines.append(f"nodes: {len(nodes)}  metastatic: {int(nodes['metastatic'].sum())}")
    if layout.errors_csv.exists():
        lines.append(f"bad inputs: {len(read_errors(layout))} (see {layout.errors_csv})")
    if layout.report_html.exists():
        lines.append(f"report: {layout.report_html}")
    return lines
