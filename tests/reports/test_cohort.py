"""Cohort rules of docs/ARCHITECTURE.md."""

from __future__ import annotations

import pandas as pd
import pytest

from imncohort.reports.cohort import COHORT_COLUMNS, build_cohort


def _mentions() -> pd.DataFrame:
    rows = [
        # patient_key, assertion, study_date, modality
        ("pA", "affirmed", "20200301", "CT"),
        ("pA", "uncertain", "20200105", "MR"),
        ("pA", "affirmed", "20200401", "CT"),
        ("pB", "uncertain", "20190101", "US"),
        ("pC", "negated", "20200101", "CT"),
        ("pD", "historical", "20200101", "CT"),
        ("pE", "hypothetical", "20200101", "PET-CT"),
    ]
    return pd.DataFrame(rows, columns=["patient_key", "assertion", "study_date", "modality"])


def test_candidates_without_nodes() -> None:
    cohort = build_cohort(_mentions(), None)
    assert list(cohort.columns) == COHORT_COLUMNS
    assert cohort.to_dict("records") == [
        {
            "patient_key": "pA",
            "status": "candidate",
            "found_by_reports": False,
            "first_mention_date": "20200105",
            "modalities": "CT;MR",
            "n_affirmed": 2,
        },
        {
            "patient_key": "pB",
            "status": "candidate",
            "found_by_reports": False,
            "first_mention_date": "20190101",
            "modalities": "US",
            "n_affirmed": 0,
        },
    ]


@pytest.mark.parametrize("metastatic", [[True, False, True, False], ["True", "False", "true", "0"]])
def test_confirmed_by_nodes(metastatic: list[object]) -> None:
    nodes = pd.DataFrame({"patient_key": ["pA", "pB", "pC", "pZ"], "metastatic": metastatic})
    cohort = build_cohort(_mentions(), nodes).set_index("patient_key")
    assert list(cohort.index) == ["pA", "pB", "pC"]
    assert cohort.loc["pA", "status"] == "confirmed"
    assert bool(cohort.loc["pA", "found_by_reports"]) is True
    # pB's only node is not metastatic: stays a candidate
    assert cohort.loc["pB", "status"] == "candidate"
    # pC is confirmed although its report negated the node
    assert cohort.loc["pC", "status"] == "confirmed"
    assert bool(cohort.loc["pC", "found_by_reports"]) is False
    assert cohort.loc["pC", "first_mention_date"] == ""
    assert cohort.loc["pC", "n_affirmed"] == 0


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="assertion"):
        build_cohort(pd.DataFrame({"patient_key": ["p"]}), None)
