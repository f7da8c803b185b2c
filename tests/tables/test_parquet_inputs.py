"""The tables read the typed node table (``nodes.parquet``), not its rounded CSV copy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from paper_cohort import SECRET, PaperCohort

from imncohort.config import Config
from imncohort.layout import OutLayout
from imncohort.schemas.nodes import write_nodes
from imncohort.tables.stage import build_tables


def _coverage_at(out: Path, margin_mm: float) -> int:
    coverage = pd.read_csv(out / "coverage.csv")
    row = coverage[
        (coverage["direction"] == "medial_lateral") & (coverage["margin_mm"] == margin_mm)
    ]
    return int(row["nodes_covered"].iloc[0])


def test_a_node_just_outside_the_margin_stays_outside(
    tmp_path: Path, config: Config, paper: PaperCohort
) -> None:
    node = paper.nodes.iloc[[0]].copy()
    node["metastatic"] = True
    node["center_ml_mm"] = 5.004  # the CSV shows 5.0: covered at 5 mm if the tables read it
    node["center_dv_mm"] = 1.0
    layout = OutLayout(tmp_path)
    write_nodes(layout, node)
    assert "5.0," in layout.nodes_csv.read_text("utf-8")
    build_tables(tmp_path, config, SECRET, None)
    assert _coverage_at(tmp_path, 5.0) == 0
    assert _coverage_at(tmp_path, 6.0) == 1
    layout.nodes_parquet.unlink()  # only the CSV: the rounded value is all there is
    build_tables(tmp_path, config, SECRET, None)
    assert _coverage_at(tmp_path, 5.0) == 1
