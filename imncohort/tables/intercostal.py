"""Intercostal distribution of metastatic nodes (the seed paper's Table 2).

Patients are counted per intercostal space they have a metastatic node in;
the percentages are of patients whose nodes have intercostal spaces
(``intercostal_spaces`` not empty). Patients whose nodes have none (no rib
annotation) are left out of every denominator and counted in the row
``unknown``.
"""

from __future__ import annotations

import math

import pandas as pd

from imncohort.tables.coverage import metastatic_nodes
from imncohort.tables.inputs import CLINICAL_TABLE2, UNKNOWN, parse_spaces
from imncohort.tables.wilson import wilson_percent

INTERCOSTAL_COLUMNS = ["row", "nodes", "patients", "percent", "ci_low", "ci_high"]
MIN_SPACES_SHOWN = 4
GROUP_ORDER = ("initial", "recurrence", UNKNOWN)


def patient_spaces(nodes: pd.DataFrame) -> dict[str, frozenset[int]]:
    """Return each patient's union of intercostal spaces over its metastatic nodes."""
    spaces: dict[str, set[int]] = {}
    for key, text in metastatic_nodes(nodes)[["patient_key", "intercostal_spaces"]].itertuples(
        index=False
    ):
        spaces.setdefault(str(key), set()).update(parse_spaces(text))
    return {key: frozenset(value) for key, value in spaces.items()}


def _subgroup_label(group: str, m_stage: str) -> str:
    return f"{group}_{m_stage}"


def _subgroup_order(label: str) -> tuple[int, str]:
    group = label.split("_", 1)[0]
    rank = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
    return (rank, label)


def intercostal_table(nodes: pd.DataFrame, clinical: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return ``intercostal.csv``.

    Parameters
    ----------
    nodes
        ``nodes.csv`` rows (normalised); metastatic nodes only are counted.
    clinical
        Optional pseudonymised clinical rows (``patient_key, group, M``); when
        given, one extra column per ``<group>_<M>`` holds the patient counts of
        that subgroup (e.g. ``initial_M0``), like the seed paper's Table 2.

    Returns
    -------
    pandas.DataFrame
        Rows ``1`` ... ``n`` (intercostal space; at least 1-4), ``single``,
        ``multiple`` (patients with one / several spaces), ``total`` (patients
        with known spaces: the denominator) and ``unknown`` (patients without
        spaces, outside the denominator); columns ``row, nodes, patients,
        percent, ci_low, ci_high`` (percent of patients, Wilson 95 %) and the
        subgroup columns. When the clinical table has the optional Table 2
        columns, rows ``ALN_I``, ``ALN_II``, ``ALN_III``, ``SCN`` and
        ``local_recurrence`` follow: patients with known spaces whose value is
        ``yes`` (and their nodes), percent of the ``total`` row; for
        ``local_recurrence`` percent of the recurrence group's patients with
        known spaces (the seed's "relapsed population").
    """
    meta = metastatic_nodes(nodes)
    per_patient = patient_spaces(meta)
    known = {k: v for k, v in per_patient.items() if v}
    unknown = sorted(k for k, v in per_patient.items() if not v)
    node_spaces = [parse_spaces(t) for t in meta["intercostal_spaces"]]
    highest = max((max(s) for s in known.values()), default=0)
    n_spaces = max(MIN_SPACES_SHOWN, highest)
    denominator = len(known)

    subgroup_of: dict[str, str] = {}
    subgroups: list[str] = []
    if clinical is not None:
        info = clinical.set_index("patient_key")
        for key in per_patient:
            if key in info.index:
                group = str(info.at[key, "group"])
                m_stage = str(info.at[key, "M"])
            else:
                group, m_stage = UNKNOWN, UNKNOWN
            subgroup_of[key] = _subgroup_label(group, m_stage)
        subgroups = sorted(set(subgroup_of.values()), key=_subgroup_order)

    def row(
        label: str,
        n_nodes: float,
        members: list[str],
        in_denominator: bool,
        of: int | None = None,
    ) -> dict:
        count = len(members)
        if in_denominator:
            percent, low, high = wilson_percent(count, denominator if of is None else of)
        else:
            percent = low = high = math.nan
        record: dict = {
            "row": label,
            "nodes": n_nodes,
            "patients": count,
            "percent": round(percent, 4),
            "ci_low": round(low, 4),
            "ci_high": round(high, 4),
        }
        for subgroup in subgroups:
            record[subgroup] = sum(1 for m in members if subgroup_of[m] == subgroup)
        return record

    rows = []
    for space in range(1, n_spaces + 1):
        members = sorted(k for k, v in known.items() if space in v)
        n_nodes = sum(1 for s in node_spaces if space in s)
        rows.append(row(str(space), n_nodes, members, True))
    single = sorted(k for k, v in known.items() if len(v) == 1)
    multiple = sorted(k for k, v in known.items() if len(v) > 1)
    nodes_of = meta.groupby("patient_key").size().to_dict() if len(meta) else {}
    rows.append(row("single", sum(nodes_of.get(k, 0) for k in single), single, True))
    rows.append(row("multiple", sum(nodes_of.get(k, 0) for k in multiple), multiple, True))
    rows.append(row("total", sum(nodes_of.get(k, 0) for k in known), sorted(known), True))
    rows.append(row(UNKNOWN, sum(nodes_of.get(k, 0) for k in unknown), unknown, False))
    if clinical is not None:
        info = clinical.set_index("patient_key")
        for column in (c for c in CLINICAL_TABLE2 if c in clinical.columns):

            def value(key: str, column: str = column) -> str:
                return str(info.at[key, column]) if key in info.index else UNKNOWN

            members = sorted(k for k in known if value(k) == "yes")
            of = None
            if column == "local_recurrence":
                of = sum(1 for k in known if subgroup_of[k].startswith("recurrence_"))
            n_nodes = sum(nodes_of.get(k, 0) for k in members)
            rows.append(row(column, n_nodes, members, True, of))
    columns = INTERCOSTAL_COLUMNS + subgroups
    return pd.DataFrame(rows, columns=columns)
