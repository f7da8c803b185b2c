"""The words of ``report.html``: recommendation, notes on the data, table captions.

Pure functions of the computed tables and the inputs; :mod:`imncohort.tables.stage`
puts them into the report.
"""

from __future__ import annotations

import pandas as pd

from imncohort.config import Config
from imncohort.schemas.base import as_bool
from imncohort.tables.coverage import metastatic_nodes, smallest_margin
from imncohort.tables.detection import confirmed_patients

#: Which stage writes each input of the tables (for "run the ... stage first").
WRITER = {"nodes.csv": "measure", "mentions.parquet": "reports", "cohort.csv": "reports"}
DIRECTION_TEXT = {"medial_lateral": "medial-lateral", "dorsal_ventral": "dorsal-ventral"}


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
            text = DIRECTION_TEXT[direction]
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
    return int(as_bool(frame["imv_extrapolated"]).sum())


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
        f"{name} is missing in the output directory (run the {WRITER.get(name, 'earlier')} "
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


CAPTIONS = {
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
