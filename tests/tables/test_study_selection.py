"""One CT per patient: each rule's selected study and the coverage it gives, on tables alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paper_cohort import SECRET

from imncohort.config import Config, load_config
from imncohort.errors import ConfigError
from imncohort.tables.selection import select_studies, selection_summary
from imncohort.tables.stage import TableInputs, build_tables, compute_tables

# (patient, study, date, [(short axis mm, medial-lateral offset mm), ...]);
# short axis >= 5 mm is metastatic.
STUDIES = [
    ("P1", "A", "20180101", [(8.0, 2.0), (6.0, 6.0)]),
    ("P1", "B", "20180301", [(12.0, 3.0), (3.0, 1.0)]),
    # C and D tie to 0.01 mm (9.0 vs 9.004): most_evident takes the earlier C.
    ("P2", "C", "20170505", [(9.0, 4.0)]),
    ("P2", "D", "20171010", [(9.004, 8.0)]),
    # E has no metastatic node: it never competes, whatever the rule.
    ("P3", "E", "20190101", [(4.0, 0.5)]),
    ("P3", "F", "20190601", [(6.0, 5.0)]),
    ("P4", "G", "20200101", [(7.0, 1.0), (5.5, 9.0)]),
    # H is undated and ties with I: the dated study wins for every rule.
    ("P5", "H", "", [(7.0, 7.0)]),
    ("P5", "I", "20200101", [(7.0, 2.5)]),
]
CHOSEN = {
    "most_evident": {"P1": "B", "P2": "C", "P3": "F", "P4": "G", "P5": "I"},
    "earliest": {"P1": "A", "P2": "C", "P3": "F", "P4": "G", "P5": "I"},
    "latest": {"P1": "B", "P2": "D", "P3": "F", "P4": "G", "P5": "I"},
}
# Metastatic nodes counted and, of them, |ml| <= 5 mm (node coverage at 5 mm); patients
# covered at 5 mm (all their metastatic nodes within 5 mm), of 5.
COVERAGE_5MM = {
    "most_evident": (6, 5, 4),
    "earliest": (7, 5, 3),
    "latest": (6, 4, 3),
    "all": (10, 6, 1),
}


def _nodes() -> pd.DataFrame:
    rows = []
    for patient, study, date, nodes in STUDIES:
        for n, (short, ml) in enumerate(nodes, start=1):
            rows.append(
                {
                    "patient_key": patient,
                    "study_key": study,
                    "study_date": date,
                    "roi_name": f"IMN{n}_L",
                    "annotation": "rtstruct",
                    "component": 1,
                    "side": "left",
                    "center_ml_mm": ml,
                    "center_dv_mm": 0.0,
                    "long_axis_mm": short + 2.0,
                    "short_axis_mm": short,
                    "metastatic": short >= 5.0,
                    "quadrant": "lateral_dorsal",
                    "towards_sternum": False,
                    "intercostal_spaces": "2",
                    "volume_ml": 1.0,
                }
            )
    return pd.DataFrame(rows)


def _config(rule: str) -> Config:
    base = load_config()
    return base.model_copy(
        update={"tables": base.tables.model_copy(update={"study_selection": rule})}
    )


@pytest.mark.parametrize("rule", ["most_evident", "earliest", "latest"])
def test_each_rule_selects_the_documented_study(rule: str) -> None:
    nodes = _nodes()
    selected = select_studies(nodes, rule)
    chosen = nodes[selected].groupby("patient_key")["study_key"].unique()
    assert {p: list(s) for p, s in chosen.items()} == {p: [s] for p, s in CHOSEN[rule].items()}
    # Every node of a selected study is selected, none of another study.
    for patient, study in CHOSEN[rule].items():
        rows = nodes["patient_key"] == patient
        assert selected[rows].to_list() == (nodes.loc[rows, "study_key"] == study).to_list()


def test_all_selects_every_node() -> None:
    nodes = _nodes()
    assert select_studies(nodes, "all").to_list() == [True] * len(nodes)


def test_ties_and_row_order_do_not_change_the_choice() -> None:
    nodes = _nodes()
    shuffled = nodes.sample(frac=1.0, random_state=3)
    for rule in CHOSEN:
        expected = select_studies(nodes, rule)
        again = select_studies(shuffled, rule)
        assert again.sort_index().to_list() == expected.to_list()
    # Two studies of equal evidence on the same date: the smaller study key wins.
    same = pd.DataFrame(
        {
            "patient_key": ["Q", "Q"],
            "study_key": ["s2", "s1"],
            "study_date": ["20200101", "20200101"],
            "short_axis_mm": [7.0, 7.0],
            "metastatic": [True, True],
        }
    )
    for rule in CHOSEN:
        assert select_studies(same, rule).to_list() == [False, True]


@pytest.mark.parametrize("rule", ["most_evident", "earliest", "latest", "all"])
def test_coverage_counts_per_rule(rule: str) -> None:
    inputs = TableInputs(_nodes(), pd.DataFrame(), pd.DataFrame(), None)
    tables = compute_tables(inputs, _config(rule))
    coverage = tables["coverage"].set_index(["direction", "margin_mm"])
    total, covered, patients_covered = COVERAGE_5MM[rule]
    assert coverage.loc[("medial_lateral", 5.0), "nodes_total"] == total
    assert coverage.loc[("medial_lateral", 5.0), "nodes_covered"] == covered
    patients = tables["coverage_patients"].set_index(["direction", "margin_mm"])
    assert patients.loc[("medial_lateral", 5.0), "patients_total"] == 5
    assert patients.loc[("medial_lateral", 5.0), "patients_covered"] == patients_covered
    laterality = tables["laterality"].set_index("side")
    assert laterality.at["all", "nodes"] == total


def test_summary_counts_what_is_left_out() -> None:
    nodes = _nodes()
    summary = selection_summary(nodes, select_studies(nodes), "most_evident")
    assert summary.as_dict() == {
        "rule": "most_evident",
        "patients": 5,
        "patients_with_several_studies": 4,
        "studies": 9,
        "studies_left_out": 4,
        "nodes_left_out": 5,  # A (2), D, E, H
        "metastatic_nodes_left_out": 4,
    }


def test_build_tables_marks_nodes_csv_and_reports_the_rule(tmp_path: Path) -> None:
    nodes = _nodes()
    nodes.to_csv(tmp_path / "nodes.csv", index=False)
    summary = build_tables(tmp_path, _config("most_evident"), SECRET, None)
    written = pd.read_csv(tmp_path / "nodes.csv", dtype={"study_date": str})
    assert len(written) == len(nodes)
    expected = [
        CHOSEN["most_evident"][p] == s
        for p, s in zip(nodes.patient_key, nodes.study_key, strict=True)
    ]
    assert written["selected"].to_list() == expected
    assert summary["study_selection"]["nodes_left_out"] == 5
    assert summary["study_selection"]["patients_with_several_studies"] == 4
    assert summary["nodes"] == 12 and summary["nodes_in_tables"] == 7
    report = (tmp_path / "report.html").read_text("utf-8")
    assert "4 of 5 patient(s) had nodes annotated on several CT studies" in report
    assert "5 node(s) (4 metastatic) of 4 other studies are left out of the tables" in report
    assert "initial and recurrence CTs are both annotated is counted once" in report
    json.dumps(summary)  # run.json takes the summary as it is
    # Another rule on the same nodes.csv rewrites only its selected column.
    build_tables(tmp_path, _config("all"), SECRET, None)
    again = pd.read_csv(tmp_path / "nodes.csv", dtype={"study_date": str})
    assert again["selected"].to_list() == [True] * len(nodes)
    pd.testing.assert_frame_equal(again.drop(columns="selected"), written.drop(columns="selected"))


def test_bad_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("tables:\n  study_selection: biggest\n")
    with pytest.raises(ConfigError, match=r"tables\.study_selection"):
        load_config(path)
    with pytest.raises(ValueError, match="biggest"):
        select_studies(_nodes(), "biggest")
    assert np.all(select_studies(_nodes().iloc[0:0]).to_numpy() == np.array([], dtype=bool))
