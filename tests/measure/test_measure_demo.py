"""Measure on a small demo export reproduces ground_truth.json within the issue's tolerances."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from groundtruth import assert_nodes_match, read_nodes

from imncohort.config import load_config
from imncohort.measure.columns import NODE_COLUMNS
from imncohort.measure.stage import run_measure_stage

demo_export = pytest.importorskip("imncohort.demo.export")
index_build = pytest.importorskip("imncohort.index.build")

SECRET = b"demo-measure"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], pd.DataFrame]:
    base = tmp_path_factory.mktemp("demo")
    export, out = base / "export", base / "out"
    demo_export.write_demo_export(export, 6, 7)
    index_build.index_export(export, out, chunk_size=2000, secret=SECRET)
    run_measure_stage(export, out, load_config(), qc=False)
    truth = json.loads((export / "ground_truth.json").read_text("utf-8"))
    nodes = read_nodes(out)
    return truth, nodes


def test_demo_nodes_match_ground_truth(demo: tuple[dict[str, object], pd.DataFrame]) -> None:
    truth, nodes = demo
    assert list(nodes.columns) == NODE_COLUMNS
    assert assert_nodes_match(truth, nodes, SECRET) == len(truth["nodes"])  # type: ignore[arg-type]
    assert set(nodes["annotation"]) == {"rtstruct", "seg", "nifti"}
