"""The tables stage: read nodes, mentions and cohort from OUT; write tables, figures, report.

``build_tables`` is the one entry point. Every input may be missing or empty;
the tables are then written with their columns and explicit zero counts, and
the report says what is missing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from imncohort.config import Config
from imncohort.errors import InputError
from imncohort.layout import OutLayout
from imncohort.outputs import ErrorRecord, atomic_path, write_csv
from imncohort.review.report import read_review_outputs, review_section_html
from imncohort.schemas.errors import write_stage_errors
from imncohort.schemas.nodes import read_nodes as read_stored_nodes
from imncohort.schemas.nodes import write_nodes
from imncohort.tables import figures
from imncohort.tables.characteristics import characteristics_table
from imncohort.tables.coverage import (
    coverage_2d_matrix,
    coverage_2d_table,
    coverage_patients_table,
    coverage_table,
    metastatic_nodes,
    smallest_margin,
)
from imncohort.tables.detection import confirmed_patients, modality_detection_table
from imncohort.tables.gallery import gallery_html
from imncohort.tables.growth import growth_direction_table, laterality_table
from imncohort.tables.inputs import (
    CLINICAL_TABLE2,
    normalise_cohort,
    normalise_mentions,
    normalise_nodes,
    pseudonymise_clinical,
    read_clinical,
    read_cohort,
    read_errors,
    read_mentions,
    read_nodes,
    read_reports,
    read_run_json,
    read_study_dates,
)
from imncohort.tables.intercostal import intercostal_table
from imncohort.tables.narrative import (
    CAPTIONS,
    DIRECTION_TEXT,
    TABLE2_CAPTION,
    data_notes,
    recommendation_lines,
    sternum_sentence,
    study_group,
)
from imncohort.tables.report import ReportContent, ReportFigure, ReportTable, render_report
from imncohort.tables.selection import (
    SelectionSummary,
    select_studies,
    selection_note,
    selection_summary,
)

logger = logging.getLogger(__name__)

STAGE = "tables"
T = TypeVar("T")
TABLE_NAMES = (
    "coverage",
    "coverage_patients",
    "coverage_2d",
    "intercostal",
    "growth_direction",
    "laterality",
    "modality_detection",
    "characteristics",
)


@dataclass(frozen=True)
class TableInputs:
    """The inputs of the tables, already read and pseudonymised."""

    nodes: pd.DataFrame
    mentions: pd.DataFrame
    cohort: pd.DataFrame
    clinical: pd.DataFrame | None
    reports: pd.DataFrame | None = None


def selected_nodes(nodes: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The nodes of the study each patient is measured on (``tables.study_selection``)."""
    nodes = normalise_nodes(nodes)
    return nodes[select_studies(nodes, config.tables.study_selection)].reset_index(drop=True)


def compute_tables(inputs: TableInputs, config: Config) -> dict[str, pd.DataFrame]:
    """Return every table of contract section 5, keyed by file stem (pure).

    Every table counts the nodes of one study per patient (see
    :mod:`imncohort.tables.selection`); ``inputs.nodes`` may hold them all.
    """
    nodes = selected_nodes(inputs.nodes, config)
    mentions = normalise_mentions(inputs.mentions)
    cohort = normalise_cohort(inputs.cohort)
    ml = list(config.margins.medial_lateral_mm)
    dv = list(config.margins.dorsal_ventral_mm)
    group = study_group(nodes, cohort)
    return {
        "coverage": coverage_table(nodes, ml, dv),
        "coverage_patients": coverage_patients_table(nodes, ml, dv),
        "coverage_2d": coverage_2d_table(nodes, ml, dv),
        "intercostal": intercostal_table(nodes, inputs.clinical),
        "growth_direction": growth_direction_table(nodes, config.nodes.growth_min_long_axis_mm),
        "laterality": laterality_table(nodes),
        "modality_detection": modality_detection_table(mentions, cohort, inputs.reports),
        "characteristics": characteristics_table(group, inputs.clinical),
    }


def _safe_read(
    reader: Callable[[Path], T], out: Path, records: list[ErrorRecord], strict: bool
) -> T | None:
    try:
        return reader(out)
    except InputError as exc:
        if strict:
            raise
        records.append(
            ErrorRecord(path=reader.__name__.removeprefix("read_"), stage=STAGE, reason=str(exc))
        )
        return None


def _load_clinical(
    clinical_path: Path | None,
    secret: bytes,
    export: Path | None,
    records: list[ErrorRecord],
    strict: bool,
) -> pd.DataFrame | None:
    if clinical_path is None:
        return None
    clinical_path = Path(clinical_path)
    shown = clinical_path.name
    if export is not None:
        try:
            shown = clinical_path.resolve().relative_to(Path(export).resolve()).as_posix()
        except ValueError:
            shown = clinical_path.name
    try:
        raw = read_clinical(clinical_path)
    except InputError as exc:
        if strict:
            raise
        records.append(ErrorRecord(path=shown, stage=STAGE, reason=str(exc)))
        return None
    ids = raw["PatientID"].astype(str).str.strip()
    duplicated = int(ids[ids != ""].duplicated().sum())
    if duplicated:
        reason = f"clinical table lists {duplicated} PatientID value(s) twice; first rows used"
        if strict:
            raise InputError(f"{shown}: {reason}")
        records.append(ErrorRecord(path=shown, stage=STAGE, reason=reason))
    return pseudonymise_clinical(raw, secret)


def _apply_selection(
    out: Path, nodes: pd.DataFrame, config: Config
) -> tuple[pd.DataFrame, SelectionSummary]:
    """Select one study per patient; make the node table's ``selected`` column say so.

    Study dates missing from the node table (written by an older version) come
    from the index. When the rule differs from the one the measure stage used,
    only the ``selected`` and ``study_date`` columns of the stored node table are
    replaced (every other value is kept).
    """
    rule = config.tables.study_selection
    if len(nodes) and not (nodes["study_date"] != "").any():
        by_study = read_study_dates(out)
        nodes = nodes.assign(study_date=nodes["study_key"].map(lambda k: by_study.get(k, "")))
    selected = select_studies(nodes, rule)
    summary = selection_summary(nodes, selected, rule)
    layout = OutLayout(out)
    if len(nodes) and (layout.nodes_parquet.exists() or layout.nodes_csv.exists()):
        stored = read_stored_nodes(layout)
        wanted = [bool(v) for v in selected]
        dates = nodes["study_date"].to_list()
        if len(stored) == len(nodes) and (
            [None if pd.isna(v) else bool(v) for v in stored["selected"]] != wanted
            or stored["study_date"].to_list() != dates
        ):
            write_nodes(layout, stored.assign(selected=wanted, study_date=dates))
    return nodes.assign(selected=selected.to_numpy()), summary


def write_workbook(tables: dict[str, pd.DataFrame], target: Path) -> Path:
    """Write every table as one sheet of an Excel workbook, atomically."""
    with atomic_path(target) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
    return Path(target)


def build_tables(
    out: Path,
    config: Config,
    secret: bytes,
    clinical_path: Path | None,
    *,
    export: Path | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Build every table, the workbook, the figures and ``report.html`` in ``out``.

    Parameters
    ----------
    out
        The output directory holding ``nodes.csv``, ``mentions.parquet`` and
        ``cohort.csv`` (each may be missing or empty).
    config
        The run's configuration (margins, growth threshold).
    secret
        The pseudonymisation secret used to key the clinical table's PatientID.
    clinical_path
        The clinical table (CSV or XLSX), or None.
    export
        The export root, to record the clinical table's path relative to it.
    strict
        Raise :class:`~imncohort.errors.InputError` at the first bad input
        instead of recording it in ``errors.csv``.

    Returns
    -------
    dict
        JSON-able summary: counts, written files, recommended margins.
    """
    out = Path(out)
    layout = OutLayout(out)
    records: list[ErrorRecord] = []
    missing = [
        path.name
        for path in (layout.nodes_csv, layout.mentions_parquet, layout.cohort_csv)
        if not path.exists()
    ]
    nodes = _safe_read(read_nodes, out, records, strict)
    mentions = _safe_read(read_mentions, out, records, strict)
    cohort = _safe_read(read_cohort, out, records, strict)
    reports = _safe_read(read_reports, out, records, strict)
    all_nodes = normalise_nodes(nodes if nodes is not None else pd.DataFrame())
    mentions = normalise_mentions(mentions if mentions is not None else pd.DataFrame())
    cohort = normalise_cohort(cohort if cohort is not None else pd.DataFrame())
    clinical = _load_clinical(clinical_path, secret, export, records, strict)

    all_nodes, selection = _apply_selection(out, all_nodes, config)
    inputs = TableInputs(all_nodes, mentions, cohort, clinical, reports)
    tables = compute_tables(inputs, config)
    nodes = selected_nodes(all_nodes, config)
    written = [
        write_csv(tables[name], layout.table_csv(name), spreadsheet=True) for name in TABLE_NAMES
    ]
    workbook = write_workbook(tables, layout.tables_xlsx)

    figure_list = [
        ReportFigure(
            "Coverage by margin",
            "Percent of metastatic nodes covered against the margin around the IMV centre, "
            f"Wilson 95% band; dashed line: {config.margins.guideline_mm:g} mm guideline; "
            "triangles: smallest margin reaching each target.",
            figures.coverage_curves_figure(
                tables["coverage"],
                config.margins.guideline_mm,
                list(config.margins.targets_percent),
                layout.figure("coverage_curves"),
            ),
        ),
        ReportFigure(
            "Coverage in both directions",
            "Percent of nodes covered by a medial-lateral and a dorsal-ventral margin together.",
            figures.coverage_heatmap_figure(tables["coverage_2d"], layout.figure("coverage_2d")),
        ),
        ReportFigure(
            "Node points around the IMV",
            "Farthest extent of each node in its growth quadrant (coloured) and node centres "
            "(grey), mm from the IMV centre; drawn as a left-sided node on an axial CT in "
            "radiological view (medial, towards the sternum, on the left; ventral up), right "
            "nodes mirrored.",
            figures.node_scatter_figure(
                nodes, config.margins.guideline_mm, layout.figure("node_scatter")
            ),
        ),
        ReportFigure(
            "Intercostal spaces",
            "Percent of patients with known spaces having a metastatic node in each space, "
            "Wilson 95% error bars; pts = patients.",
            figures.intercostal_figure(tables["intercostal"], layout.figure("intercostal")),
        ),
    ]

    write_stage_errors(out, STAGE, records)
    errors = read_errors(out)

    notes, empty = data_notes(
        tables, nodes, cohort, clinical, missing, reports_listed=reports is not None
    )
    notes.insert(len(missing), selection_note(selection))
    recommendation = recommendation_lines(tables["coverage"], config)
    meta = metastatic_nodes(nodes)
    group = study_group(nodes, cohort)
    summary_items = [
        ("Confirmed patients (study group)", str(len(group))),
        ("Candidate patients (reports only)", str(int((cohort["status"] == "candidate").sum()))),
        ("Annotated nodes", str(len(all_nodes))),
        (
            "Patients with several annotated CT studies",
            str(selection.patients_with_several_studies),
        ),
        ("Study selection (one CT per patient)", selection.rule),
        ("Nodes of other studies left out", str(selection.nodes_left_out)),
        ("Nodes in the tables", str(len(nodes))),
        ("Metastatic nodes", str(len(meta))),
        ("Patients with metastatic nodes", str(meta["patient_key"].nunique())),
        ("Clinical table", "yes" if clinical is not None else "none"),
        ("Bad inputs (errors.csv)", str(len(errors))),
    ]
    shown = dict(tables)
    shown["coverage_2d"] = coverage_2d_matrix(tables["coverage_2d"])
    captions = {name: CAPTIONS[name][1] for name in TABLE_NAMES}
    sentence = sternum_sentence(tables["growth_direction"], config.nodes.growth_min_long_axis_mm)
    if sentence:
        captions["growth_direction"] += " " + sentence
    if set(CLINICAL_TABLE2) & set(tables["intercostal"]["row"].astype(str)):
        captions["intercostal"] += TABLE2_CAPTION
    report_tables = [
        ReportTable(name, CAPTIONS[name][0], captions[name], shown[name], empty.get(name, ""))
        for name in TABLE_NAMES
    ]
    content = ReportContent(
        summary=summary_items,
        recommendation=recommendation,
        notes=notes,
        tables=report_tables,
        figures=figure_list,
        errors=errors,
        run=read_run_json(out),
        generated=dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=[
            ("review", "Review", review_section_html(*read_review_outputs(out))),
            ("qc-gallery", "QC gallery", gallery_html(nodes, out)),
        ],
    )
    report = layout.report_html
    with atomic_path(report) as tmp:
        tmp.write_text(render_report(content), encoding="utf-8")

    margins: dict[str, dict[str, float | None]] = {}
    for target in config.margins.targets_percent:
        margins[f"{target:g}"] = {
            d: smallest_margin(tables["coverage"], d, target) for d in DIRECTION_TEXT
        }
    logger.info("tables written for %d metastatic nodes of %d patients", len(meta), len(group))
    return {
        "nodes": len(all_nodes),
        "nodes_in_tables": len(nodes),
        "study_selection": selection.as_dict(),
        "metastatic_nodes": len(meta),
        "patients": len(group),
        "confirmed_patients": len(confirmed_patients(cohort)),
        "clinical": clinical is not None,
        "errors": len(records),
        "tables": [p.name for p in written] + [workbook.name],
        "figures": [f.path.name for f in figure_list],
        "report": report.name,
        "smallest_margin_mm": margins,
        "notes": len(notes),
        "empty_tables": sorted(empty),
    }
