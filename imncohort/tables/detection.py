"""Detection rate of the reports per imaging modality (the seed paper's diagnostic rates).

The reference standard is the confirmed patients of ``cohort.csv`` (an
annotated metastatic node). For each modality, the denominator is the
confirmed patients with a report of that modality; of them, *detected* are
those with a detecting IMN mention in a report of that modality: affirmed and
outside the HISTORY and INDICATION sections (CONTRACT section 3a,
:func:`imncohort.reports.cohort.detecting`). ``combined``
counts confirmed patients with a report of any modality, detected by any.
"""

from __future__ import annotations

import pandas as pd

from imncohort.reports.cohort import detecting
from imncohort.tables.inputs import normalise_mentions, normalise_reports
from imncohort.tables.wilson import wilson_percent

DETECTION_COLUMNS = [
    "modality",
    "label",
    "patients_with_report",
    "detected",
    "percent",
    "ci_low",
    "ci_high",
]
PAPER_MODALITIES = ("US", "CT", "MR", "PET-CT")
# The reports stage names PET/CT studies "PET-CT"; the DICOM modality code PT means the same.
MODALITY_ALIASES = {"PT": "PET-CT"}
MODALITY_LABELS = {
    "US": "Ultrasound",
    "CT": "CT",
    "MR": "MRI",
    "PET-CT": "PET-CT",
    "MG": "Mammography",
    "": "unknown modality",
}


def confirmed_patients(cohort: pd.DataFrame) -> list[str]:
    """Return the sorted ``patient_key`` values of confirmed patients in ``cohort``."""
    if cohort.empty:
        return []
    confirmed = cohort[cohort["status"].astype(str).str.lower() == "confirmed"]
    return sorted(set(confirmed["patient_key"].astype(str)))


def modality_detection_table(
    mentions: pd.DataFrame, cohort: pd.DataFrame, reports: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return ``modality_detection.csv``.

    Parameters
    ----------
    mentions
        ``mentions.parquet`` rows (patient_key, modality, assertion, ...).
    cohort
        ``cohort.csv`` rows; confirmed patients are the reference standard.
    reports
        Optional list of every report (``patient_key, study_key, modality,
        report_id``), including reports without any IMN term. Without it, a
        patient has a report of a modality when some mention comes from one,
        which misses reports that never name the IMN region.

    Returns
    -------
    pandas.DataFrame
        One row per modality (US, CT, MR, PET-CT always; others when present),
        then ``combined``; columns ``modality, label, patients_with_report,
        detected, percent, ci_low, ci_high`` (Wilson 95 %).
    """
    mentions = normalise_mentions(mentions)
    detects = detecting(mentions)
    confirmed = set(confirmed_patients(cohort))
    if reports is not None:
        listed = normalise_reports(reports)[["patient_key", "modality"]]
        listed = pd.concat([listed, mentions[["patient_key", "modality"]]], ignore_index=True)
    else:
        listed = mentions[["patient_key", "modality"]]
    listed = listed.assign(modality=listed["modality"].replace(MODALITY_ALIASES))
    listed = listed[listed["patient_key"].isin(confirmed)].drop_duplicates()
    affirmed = mentions[detects & mentions["patient_key"].isin(confirmed)][
        ["patient_key", "modality"]
    ]
    affirmed = affirmed.assign(modality=affirmed["modality"].replace(MODALITY_ALIASES))
    affirmed = affirmed.drop_duplicates()

    present = set(listed["modality"])
    modalities = list(PAPER_MODALITIES) + sorted(present - set(PAPER_MODALITIES))
    rows = []
    for modality in modalities:
        having = set(listed.loc[listed["modality"] == modality, "patient_key"])
        detected = having & set(affirmed.loc[affirmed["modality"] == modality, "patient_key"])
        rows.append(_row(modality, MODALITY_LABELS.get(modality) or modality, having, detected))
    having_any = set(listed["patient_key"])
    detected_any = having_any & set(affirmed["patient_key"])
    rows.append(_row("combined", "any modality", having_any, detected_any))
    return pd.DataFrame(rows, columns=DETECTION_COLUMNS)


def _row(modality: str, label: str, having: set[str], detected: set[str]) -> tuple:
    percent, low, high = wilson_percent(len(detected), len(having))
    return (
        modality,
        label,
        len(having),
        len(detected),
        round(percent, 4),
        round(low, 4),
        round(high, 4),
    )
