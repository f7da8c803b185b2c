"""The tables stage: read nodes, mentions and cohort from OUT; write tables, figures, report.

``build_tables`` is the one entry point. Every input may be missing or empty;
the tables are then written with their columns and explicit zero counts, and
the report says what is missing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from imncohort.config import Config
from imncohort.errors import InputError
from imncohort.outputs import ErrorRecord, atomic_path, write_csv, write_stage_errors
from imncohort.review.report import read_review_outputs, review_section_html
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
from imncohort.tables.report import ReportContent, ReportFigure, ReportTable, render_report
from imncohort.tables.selection import (
    SelectionSummary,
    select_studies,
    selection_note,
    selection_summary,
)

logger = logging.getLogger(__name__)

STAGE = "tables"
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
_WRITER = {"nodes.csv": "measure", "mentions.parquet": "reports", "cohort.csv": "reports"}
_DIRECTION_TEXT = {"medial_lateral": "medial-lateral", "dorsal_ventral": "dorsal-ventral"}


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


def study_group(nodes: pd.DataFrame, cohort: pd.DataFrame) -> list[str]:
    """Return the study group: confirmed patients and patients with metastatic nodes."""
    keys = set(confirmed_patients(cohort))
    keys.update(metastatic_nodes(nodes)["patient_key"].astype(str))
    keys.discard("")
    return sorted(keys)


def recommendation_lines(coverage: pd.DataFrame, config: Config) -> list[str]:
    """Return the recommendation sentences: smallest margin reaching each target percent."""
    totals = coverage.groupby("direction")["nodes_total"].max() if len(coverage) else pd.Series()
    if totals.empty or int(totals.max()) == 0:
        return ["No measured metastatic node: no margin recommendation can be made."]
    lines = []
    for target in config.margins.targets_percent:
        parts = []
        missing = []
        for direction, margins in (
            ("medial_lateral", config.margins.medial_lateral_mm),
            ("dorsal_ventral", config.margins.dorsal_ventral_mm),
        ):
            text = _DIRECTION_TEXT[direction]
            margin = smallest_margin(coverage, direction, target)
            if margin is None:
                parts.append(f"{text} none")
                missing.append(f"{text} (largest margin tried: {max(margins):g} mm)")
            else:
                parts.append(f"{text} {margin:g} mm")
        line = f"Smallest margin covering {target:g}% of nodes: {', '.join(parts)}."
        if missing:
            line += f" No configured margin reaches {target:g}% in the direction " + "; ".join(
                missing
            )
            line += "."
        lines.append(line)
    return lines


def _imv_extrapolated(frame: pd.DataFrame) -> int:
    if "imv_extrapolated" not in frame.columns or frame.empty:
        return 0
    values = frame["imv_extrapolated"].map(lambda v: str(v).strip().lower() in ("true", "1"))
    return int(values.sum())


def data_notes(
    tables: dict[str, pd.DataFrame],
    nodes: pd.DataFrame,
    cohort: pd.DataFrame,
    clinical: pd.DataFrame | None,
    missing_files: list[str],
    reports_listed: bool,
) -> tuple[list[str], dict[str, str]]:
    """Return the report's notes and, per table, the reason it is empty (if it is)."""
    notes = [
        f"{name} is missing in the output directory (run the {_WRITER.get(name, 'earlier')} "
        "stage first)."
        for name in missing_files
    ]
    empty: dict[str, str] = {}
    meta = metastatic_nodes(nodes)
    n_meta = len(meta)
    if n_meta == 0:
        reason = "No metastatic node in nodes.csv: every count is 0 and no percentage exists."
        notes.append(reason)
        for name in ("coverage", "coverage_patients", "coverage_2d", "intercostal"):
            empty[name] = reason
        empty["growth_direction"] = reason
        empty["laterality"] = reason
    else:
        unmeasured_ml = int(meta["center_ml_mm"].isna().sum())
        unmeasured_dv = int(meta["center_dv_mm"].isna().sum())
        if unmeasured_ml or unmeasured_dv:
            notes.append(
                f"{unmeasured_ml} metastatic node(s) without a medial-lateral and "
                f"{unmeasured_dv} without a dorsal-ventral IMV offset (no vessel) are left "
                "out of the coverage denominators."
            )
        if n_meta < 10:
            notes.append(
                f"Only {n_meta} metastatic node(s): the confidence intervals are wide and the "
                "recommendation is not reliable."
            )
        extrapolated = _imv_extrapolated(meta)
        if extrapolated:
            notes.append(
                f"{extrapolated} metastatic node(s) were measured against an IMV centre "
                "extrapolated beyond the contoured vessel (imv_extrapolated)."
            )
        growth = tables["growth_direction"]
        if int(growth.loc[growth["quadrant"] == "all", "nodes"].iloc[0]) == 0:
            empty["growth_direction"] = (
                "No metastatic node with a long axis above the growth threshold."
            )
    unknown = tables["intercostal"]
    unknown_patients = int(unknown.loc[unknown["row"] == "unknown", "patients"].iloc[0])
    if unknown_patients:
        notes.append(
            f"{unknown_patients} patient(s) without intercostal spaces (no rib annotation) "
            "are counted in the row 'unknown' and left out of the intercostal percentages."
        )
    if not confirmed_patients(cohort):
        reason = "No confirmed patient in cohort.csv: detection rates have no denominator."
        notes.append(reason)
        empty["modality_detection"] = reason
    elif not reports_listed:
        notes.append(
            "Detection rates: a patient counts as having a report of a modality when one of "
            "its IMN mentions comes from such a report (no full report list available); "
            "reports that never name the IMN region are not counted."
        )
    if clinical is None:
        reason = (
            "No clinical table: every patient's group and clinical values are 'unknown' and "
            "the intercostal table has no group x M columns."
        )
        notes.append(reason)
        empty["characteristics"] = reason
    elif clinical.empty:
        notes.append("The clinical table has no usable row (no PatientID).")
    if not study_group(nodes, cohort):
        empty["characteristics"] = "No confirmed patient: the study group is empty."
    return notes, empty


_CAPTIONS = {
    "coverage": (
        "Node coverage by expansion margin",
        "Metastatic nodes whose centre lies within the margin of the IMV centre on that axis "
        "(abs(center offset) <= margin); percent with Wilson 95% CI.",
    ),
    "coverage_patients": (
        "Patient coverage by expansion margin",
        "A patient is covered when all its metastatic nodes are; Wilson 95% CI.",
    ),
    "coverage_2d": (
        "Coverage in both directions",
        "Percent of metastatic nodes covered by the medial-lateral and the dorsal-ventral "
        "margin at once (shown here as rows = dorsal-ventral margin, columns = "
        "medial-lateral margin; the CSV has one row per pair).",
    ),
    "intercostal": (
        "Intercostal spaces",
        "Patients (and nodes) per intercostal space; percent of patients with known spaces "
        "(row total); 'unknown' = patients without rib annotation, not in the denominator. "
        "Columns <group>_<M> give patient counts by group and M stage.",
    ),
    "growth_direction": (
        "Growth direction",
        "Quadrant of the node point farthest from the IMV (medial = towards the sternum), "
        "nodes with a long axis above the threshold; chi-square test against equal quadrants. "
        "Rows over_sternum and sternal_invasion: of the nodes towards the sternum whose study "
        "has a sternum annotation (denominator), those reaching medially past the sternum's "
        "lateral border and those overlapping it; Wilson 95% CI.",
    ),
    "laterality": ("Laterality", "Metastatic nodes per side, with mean volume (ml)."),
    "modality_detection": (
        "Detection rate per imaging modality",
        "Confirmed patients with a report of the modality; detected = an affirmed IMN "
        "mention in such a report; combined = detected by any modality. Wilson 95% CI.",
    ),
    "characteristics": (
        "Patient characteristics",
        "n and percent of the study group (confirmed patients) per group; unknown values "
        "stay 'unknown'.",
    ),
}


def sternum_sentence(growth: pd.DataFrame, min_long_axis_mm: float) -> str:
    """The seed's sentence on growth towards the sternum, with this cohort's counts."""
    counts = dict(zip(growth["quadrant"].astype(str), growth["nodes"].astype(int), strict=True))
    of = dict(zip(growth["quadrant"].astype(str), growth["denominator"].astype(int), strict=True))
    total = counts.get("all", 0)
    towards = counts.get("towards_sternum", 0)
    if total == 0:
        return ""
    text = (
        f"{towards} metastatic node(s) larger than {min_long_axis_mm:g} mm grow towards the "
        f"sternum ({100.0 * towards / total:.1f}%, {towards}/{total})"
    )
    if "over_sternum" not in counts or towards == 0:
        return text + "."
    measured = of["over_sternum"]
    if measured == 0:
        return text + "; no study of theirs has a sternum annotation (over_sternum is empty)."
    over = counts["over_sternum"]
    invaded = counts["sternal_invasion"]
    text += (
        f"; {over} of them ({100.0 * over / measured:.1f}%, {over}/{measured}) reach over the "
        f"sternum, with invasion of the sternum in {invaded} ({100.0 * invaded / measured:.1f}%, "
        f"{invaded}/{measured})"
    )
    if measured < towards:
        text += f" ({towards - measured} without a sternum annotation are not counted)"
    return text + "."


TABLE2_CAPTION = (
    " Rows ALN_I, ALN_II, ALN_III, SCN and local_recurrence (the seed's Table 2, from the "
    "clinical table's yes/no columns) count the patients with known spaces; local_recurrence "
    "is a share of the recurrence group's patients with known spaces."
)


def _safe_read(reader: Any, out: Path, records: list[ErrorRecord], strict: bool) -> Any:
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
    """Select one study per patient; make ``nodes.csv``'s ``selected`` column say so.

    Study dates missing from ``nodes.csv`` (written by an older version) come
    from the index. When the rule differs from the one the measure stage used,
    only the ``selected`` column of ``nodes.csv`` is rewritten (every other
    value is kept as text).
    """
    rule = config.tables.study_selection
    if len(nodes) and not (nodes["study_date"] != "").any():
        by_study = read_study_dates(out)
        nodes = nodes.assign(study_date=nodes["study_key"].map(lambda k: by_study.get(k, "")))
    selected = select_studies(nodes, rule)
    summary = selection_summary(nodes, selected, rule)
    path = Path(out) / "nodes.csv"
    if len(nodes) and path.exists():
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        wanted = selected.map(lambda v: "True" if v else "False").to_list()
        dates = nodes["study_date"].to_list()
        if len(raw) == len(nodes) and (
            "selected" not in raw.columns
            or raw["selected"].to_list() != wanted
            or "study_date" not in raw.columns
            or raw["study_date"].to_list() != dates
        ):
            raw["selected"] = wanted
            raw["study_date"] = dates
            write_csv(raw, path)
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
    records: list[ErrorRecord] = []
    missing = [
        name
        for name in ("nodes.csv", "mentions.parquet", "cohort.csv")
        if not (out / name).exists()
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
        write_csv(tables[name], out / f"{name}.csv", spreadsheet=True) for name in TABLE_NAMES
    ]
    workbook = write_workbook(tables, out / "tables.xlsx")

    figure_dir = out / "figures"
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
                figure_dir / "coverage_curves.png",
            ),
        ),
        ReportFigure(
            "Coverage in both directions",
            "Percent of nodes covered by a medial-lateral and a dorsal-ventral margin together.",
            figures.coverage_heatmap_figure(tables["coverage_2d"], figure_dir / "coverage_2d.png"),
        ),
        ReportFigure(
            "Node points around the IMV",
            "Farthest extent of each node in its growth quadrant (coloured) and node centres "
            "(grey), mm from the IMV centre; drawn as a left-sided node on an axial CT in "
            "radiological view (medial, towards the sternum, on the left; ventral up), right "
            "nodes mirrored.",
            figures.node_scatter_figure(
                nodes, config.margins.guideline_mm, figure_dir / "node_scatter.png"
            ),
        ),
        ReportFigure(
            "Intercostal spaces",
            "Percent of patients with known spaces having a metastatic node in each space, "
            "Wilson 95% error bars; pts = patients.",
            figures.intercostal_figure(tables["intercostal"], figure_dir / "intercostal.png"),
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
    captions = {name: _CAPTIONS[name][1] for name in TABLE_NAMES}
    sentence = sternum_sentence(tables["growth_direction"], config.nodes.growth_min_long_axis_mm)
    if sentence:
        captions["growth_direction"] += " " + sentence
    if set(CLINICAL_TABLE2) & set(tables["intercostal"]["row"].astype(str)):
        captions["intercostal"] += TABLE2_CAPTION
    report_tables = [
        ReportTable(name, _CAPTIONS[name][0], captions[name], shown[name], empty.get(name, ""))
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
    report = out / "report.html"
    with atomic_path(report) as tmp:
        tmp.write_text(render_report(content), encoding="utf-8")

    margins: dict[str, dict[str, float | None]] = {}
    for target in config.margins.targets_percent:
        margins[f"{target:g}"] = {
            d: smallest_margin(tables["coverage"], d, target) for d in _DIRECTION_TEXT
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
