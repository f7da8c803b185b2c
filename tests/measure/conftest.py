"""One synthetic export (studies A-E of :mod:`tests.measure.scenes`), indexed and measured once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import scenes
from synth import index_export

from imncohort.config import Config, load_config
from imncohort.keys import pseudonym
from imncohort.measure.stage import run_measure_stage

SECRET = b"measure-tests"


@dataclass
class Measured:
    export: Path
    out: Path
    config: Config
    nodes: pd.DataFrame
    errors: pd.DataFrame
    summary: dict[str, object]

    def rows(self, patient_id: str, roi: str, annotation: str | None = None) -> pd.DataFrame:
        key = pseudonym(SECRET, patient_id)
        sel = (self.nodes["patient_key"] == key) & (self.nodes["roi_name"] == roi)
        if annotation is not None:
            sel &= self.nodes["annotation"] == annotation
        return self.nodes[sel]


@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    base = tmp_path_factory.mktemp("measure")
    export, out = base / "export", base / "out"
    for build in (scenes.study_a, scenes.study_b, scenes.study_c, scenes.study_d, scenes.study_e):
        build(export)
    index_export(export, out)
    config = load_config()
    summary = run_measure_stage(export, out, config, qc=False)
    nodes = pd.read_parquet(out / "nodes.parquet")  # full precision (nodes.csv is rounded)
    empty_is_missing = [c for c in nodes.columns if c != "intercostal_spaces"]
    nodes[empty_is_missing] = nodes[empty_is_missing].replace("", None)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return Measured(export, out, config, nodes, errors, summary)
