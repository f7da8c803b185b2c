"""The index plan made ahead of the flow: now, or in a thread while the cluster starts.

The export is pydicom's own four-slice CT series plus one file that is not DICOM (data
this project did not write); the index flow takes the plan the run made, once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from imncohort_flows.runtime import (
    StageSettings,
    forget_index_plans,
    plan_index_ahead,
    take_index_plan,
)
from pydicom.data import get_testdata_file

from imncohort.config import load_config
from imncohort.errors import ExportError

CT2 = Path(get_testdata_file("dicomdirtests/77654033/CT2/17106")).parent


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StageSettings:
    monkeypatch.setenv("IMNCOHORT_SECRET", "plan-ahead-secret")
    export = tmp_path / "export"
    shutil.copytree(CT2, export / "CT2")
    (export / "notes.txt").write_text("not DICOM", "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    return StageSettings(export, out, None, 2, None, False)


@pytest.mark.parametrize("background", [False, True])
def test_the_flow_takes_the_plan_made_ahead_once(settings: StageSettings, background: bool) -> None:
    forget_index_plans()
    answer = plan_index_ahead(settings, load_config(), background)
    assert answer == (None if background else 5)
    plan = take_index_plan(settings.export, settings.out, False)
    assert plan is not None
    assert [e.path for e in plan.entries] == [
        "CT2/17106",
        "CT2/17136",
        "CT2/17166",
        "CT2/17196",
        "notes.txt",
    ]
    assert plan.files_to_read == 5
    assert [len(c.entries) for c in plan.chunks] == [3, 2]  # split over the two workers
    assert take_index_plan(settings.export, settings.out, False) is None  # taken once


def test_a_plan_for_other_options_is_not_taken(settings: StageSettings) -> None:
    forget_index_plans()
    plan_index_ahead(settings, load_config(), True)
    assert take_index_plan(settings.export, settings.out, True) is None  # --rehash differs


def test_a_background_plan_raises_what_planning_raised(settings: StageSettings) -> None:
    forget_index_plans()
    gone = StageSettings(settings.export / "missing", settings.out, None, 2, None, False)
    with pytest.raises(ExportError) as now:
        plan_index_ahead(gone, load_config(), False)
    assert plan_index_ahead(gone, load_config(), True) is None
    with pytest.raises(ExportError) as later:
        take_index_plan(gone.export, gone.out, False)
    assert str(later.value) == str(now.value)
    assert "missing' does not exist or is not a directory" in str(now.value)
