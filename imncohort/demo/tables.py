"""The demo's tables: the RIS report export and ``clinical.csv``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imncohort.demo.plan import PatientPlan

RIS_COLUMNS = (
    "PatientID",
    "AccessionNumber",
    "StudyInstanceUID",
    "Modality",
    "StudyDate",
    "ReportText",
)
CLINICAL_COLUMNS = ("PatientID", "group", "ER", "PR", "HER2", "T", "N", "M")


@dataclass(frozen=True)
class RisRow:
    """One report row of the RIS export."""

    patient_id: str
    accession: str
    study_instance_uid: str
    modality: str
    study_date: str
    text: str


def write_ris_csv(path: Path, rows: list[RisRow]) -> None:
    """Write the RIS export (UTF-8, header ``RIS_COLUMNS``); row n is report ``path#n``."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(RIS_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row.patient_id,
                    row.accession,
                    row.study_instance_uid,
                    row.modality,
                    row.study_date,
                    row.text,
                ]
            )


def clinical_row(plan: PatientPlan, rng: np.random.Generator) -> dict[str, str]:
    """Clinical values of one patient (receptors, TNM; some ``unknown``)."""

    def status() -> str:
        return str(rng.choice(["positive", "negative", "unknown"], p=[0.55, 0.4, 0.05]))

    return {
        "PatientID": plan.patient_id,
        "group": plan.group,
        "ER": status(),
        "PR": status(),
        "HER2": status(),
        "T": str(rng.choice(["T1", "T2", "T3", "T4"])),
        "N": str(rng.choice(["N1", "N2", "N3"])),
        "M": "M1" if rng.random() < 0.2 else "M0",
    }


def write_clinical_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``clinical.csv`` with the contract's columns."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=CLINICAL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
