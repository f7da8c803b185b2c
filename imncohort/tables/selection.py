"""One CT per patient: which annotated study of each patient the tables use.

Seed 000 measured one axial CT per patient ("the axial CT image with the most
evident mass in the internal mammary node region would be selected ... if
multiple records was retrieved with the same patient"). When a patient has
nodes annotated on several studies (a diagnostic and a planning CT, a re-plan,
a recurrence CT), counting every study would count the same nodes twice and
weigh patients by their number of scans. :func:`select_studies` keeps one
study per patient by one of these rules (config ``tables.study_selection``):

``most_evident`` (default, the seed's rule)
    the study whose largest metastatic node has the largest short axis;
``earliest`` / ``latest``
    the study with the earliest / latest study date;
``all``
    every study (every node counts; NOT the seed's method: a patient with
    several annotated CTs is counted several times in the node tables).

Precisely: only studies holding a metastatic node compete when the patient has
any (a patient is never reduced to a study without metastatic nodes); short
axes equal to 0.01 mm are ties; ties of ``most_evident`` go to the earliest
study, ties of ``earliest`` / ``latest`` (same date) to the most evident one,
and remaining ties to the smallest ``study_key``. A study without a date is
never preferred by ``earliest`` or ``latest`` over a dated one (and counts as
the latest for ``most_evident`` ties).

The patient's group (initial / recurrence) comes from the clinical table per
patient, so a patient whose initial and recurrence CTs are both annotated is
counted once, in the selected study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

StudySelection = Literal["most_evident", "earliest", "latest", "all"]
RULES: tuple[str, ...] = ("most_evident", "earliest", "latest", "all")
RULE_TEXT = {
    "most_evident": "the study whose largest metastatic node has the largest short axis "
    "(ties: the earliest study)",
    "earliest": "the earliest annotated study",
    "latest": "the latest annotated study",
    "all": "every annotated study (not the seed's method: patients with several annotated "
    "CTs count several times)",
}
_NO_DATE_EARLY = "99999999"


@dataclass(frozen=True)
class SelectionSummary:
    """What the selection did: the rule and what it left out of the tables."""

    rule: str
    patients: int
    patients_with_several_studies: int
    studies: int
    studies_left_out: int
    nodes_left_out: int
    metastatic_nodes_left_out: int

    def as_dict(self) -> dict[str, int | str]:
        """JSON-able form (for the stage summary in ``run.json``)."""
        return {
            "rule": self.rule,
            "patients": self.patients,
            "patients_with_several_studies": self.patients_with_several_studies,
            "studies": self.studies,
            "studies_left_out": self.studies_left_out,
            "nodes_left_out": self.nodes_left_out,
            "metastatic_nodes_left_out": self.metastatic_nodes_left_out,
        }


def _study_table(nodes: pd.DataFrame) -> pd.DataFrame:
    """One row per (patient, study): date, has a metastatic node, evidence (mm)."""
    short = pd.to_numeric(nodes["short_axis_mm"], errors="coerce").astype(float)
    meta = nodes["metastatic"].astype(bool)
    frame = pd.DataFrame(
        {
            "patient_key": nodes["patient_key"].fillna("").astype(str),
            "study_key": nodes["study_key"].fillna("").astype(str),
            "study_date": nodes["study_date"].fillna("").astype(str).str.strip(),
            "meta_short": short.where(meta),
            "short": short,
            "meta": meta,
        }
    )
    grouped = frame.groupby(["patient_key", "study_key"], sort=True)
    studies = grouped.agg(
        study_date=("study_date", "max"),
        meta=("meta", "any"),
        meta_short=("meta_short", "max"),
        short=("short", "max"),
    ).reset_index()
    evidence = studies["meta_short"].where(studies["meta"], studies["short"])
    studies["evidence"] = np.round(evidence.fillna(-1.0).to_numpy(dtype=float), 2)
    return studies


def _chosen_study(studies: pd.DataFrame, rule: str) -> str:
    """The study key the rule selects among one patient's studies."""
    pool = studies[studies["meta"]] if studies["meta"].any() else studies
    dated = pool["study_date"].map(lambda d: d if d.isdigit() and len(d) == 8 else "")
    early = dated.where(dated != "", _NO_DATE_EARLY)
    frame = pool.assign(early=early, late=dated)
    if rule == "most_evident":
        order = frame.sort_values(
            ["evidence", "early", "study_key"], ascending=[False, True, True], kind="stable"
        )
    elif rule == "earliest":
        order = frame.sort_values(
            ["early", "evidence", "study_key"], ascending=[True, False, True], kind="stable"
        )
    else:  # latest
        order = frame.sort_values(
            ["late", "evidence", "study_key"], ascending=[False, False, True], kind="stable"
        )
    return str(order["study_key"].iloc[0])


def select_studies(nodes: pd.DataFrame, rule: str = "most_evident") -> pd.Series:
    """Return, per node row, whether its study is the one the tables use (pure).

    Parameters
    ----------
    nodes
        Node rows with ``patient_key, study_key, study_date`` (``YYYYMMDD`` or
        empty), ``short_axis_mm`` (mm) and ``metastatic``.
    rule
        One of :data:`RULES` (see the module docstring).

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``nodes.index``: True for every node of the
        selected study of its patient (every node for ``all``).

    Raises
    ------
    ValueError
        For an unknown rule or missing columns.
    """
    if rule not in RULES:
        raise ValueError(f"study selection {rule!r} is not one of {', '.join(RULES)}")
    missing = [
        c
        for c in ("patient_key", "study_key", "study_date", "short_axis_mm", "metastatic")
        if c not in nodes.columns
    ]
    if missing:
        raise ValueError(f"nodes table lacks column(s) {', '.join(missing)}")
    if nodes.empty or rule == "all":
        return pd.Series(True, index=nodes.index, dtype=bool)
    studies = _study_table(nodes)
    chosen = {
        str(patient): _chosen_study(group, rule)
        for patient, group in studies.groupby("patient_key", sort=True)
    }
    patient = nodes["patient_key"].fillna("").astype(str)
    study = nodes["study_key"].fillna("").astype(str)
    selected = [chosen.get(p) == s for p, s in zip(patient, study, strict=True)]
    return pd.Series(selected, index=nodes.index, dtype=bool)


def selection_summary(nodes: pd.DataFrame, selected: pd.Series, rule: str) -> SelectionSummary:
    """Count what :func:`select_studies` left out (patients, studies, nodes)."""
    if nodes.empty:
        return SelectionSummary(rule, 0, 0, 0, 0, 0, 0)
    pairs = nodes[["patient_key", "study_key"]].astype(str)
    per_patient = pairs.drop_duplicates().groupby("patient_key").size()
    kept = pairs[selected.to_numpy(dtype=bool)].drop_duplicates()
    left = ~selected.to_numpy(dtype=bool)
    return SelectionSummary(
        rule=rule,
        patients=len(per_patient),
        patients_with_several_studies=int((per_patient > 1).sum()),
        studies=int(per_patient.sum()),
        studies_left_out=int(per_patient.sum() - len(kept)),
        nodes_left_out=int(left.sum()),
        metastatic_nodes_left_out=int((left & nodes["metastatic"].astype(bool).to_numpy()).sum()),
    )


def selection_note(summary: SelectionSummary) -> str:
    """The report's sentence on the selection (always given, also when nothing is left out)."""
    rule = RULE_TEXT.get(summary.rule, summary.rule)
    several = summary.patients_with_several_studies
    text = (
        f"One CT per patient (tables.study_selection = {summary.rule}): "
        f"{several} of {summary.patients} patient(s) had nodes annotated on several CT "
        f"studies; the tables use {rule}. "
    )
    if summary.rule == "all":
        text += (
            f"No node is left out; {summary.studies} studies of {summary.patients} "
            "patient(s) are all counted."
        )
    else:
        text += (
            f"{summary.nodes_left_out} node(s) ({summary.metastatic_nodes_left_out} metastatic) "
            f"of {summary.studies_left_out} other studies are left out of the tables "
            "(nodes.csv lists them with selected = False)."
        )
    if several:
        text += (
            " A patient's group (initial / recurrence) comes from the clinical table, so a "
            "patient whose initial and recurrence CTs are both annotated is counted once."
        )
    return text
