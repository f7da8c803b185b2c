"""OutLayout: every OUT path in one place, on its side of the restricted line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from imncohort.layout import INDEX_TABLES, STAGES, OutLayout

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "nodes_parquet": "nodes.parquet",
    "nodes_csv": "nodes.csv",
    "mentions_parquet": "mentions.parquet",
    "reports_parquet": "reports.parquet",
    "cohort_parquet": "cohort.parquet",
    "cohort_csv": "cohort.csv",
    "errors_csv": "errors.csv",
    "run_json": "run.json",
    "report_html": "report.html",
    "tables_xlsx": "tables.xlsx",
    "figures_dir": "figures",
    "qc_dir": "qc",
    "review_agreement_csv": "review_agreement.csv",
    "review_summary_json": "review_summary.json",
    "changes_csv": "changes.csv",
    "changes_json": "changes.json",
    "runs_dir": "runs",
    "lock": ".imncohort.lock",
}
RESTRICTED = {
    "restricted": "restricted",
    "secret": "restricted/secret",
    "index_dir": "restricted/index",
    "index_shards_dir": "restricted/index/shards",
    "identity_shards_dir": "restricted/index_shards",
    "identities_parquet": "restricted/identities.parquet",
    "worklist_csv": "restricted/worklist.csv",
    "mention_sentences_parquet": "restricted/mention_sentences.parquet",
    "state_dir": "restricted/state",
    "index_state_json": "restricted/state/index.json",
    "measure_state_dir": "restricted/state/measure",
    "review_dir": "restricted/review",
    "review_returned_dir": "restricted/review/returned",
    "review_state_json": "restricted/review/state.json",
    "review_workbook_xlsx": "restricted/review/worklist.xlsx",
    "review_workbook_csv": "restricted/review/worklist.csv",
    "review_page_html": "restricted/review/index.html",
    "to_annotate_csv": "restricted/review/to_annotate.csv",
    "review_agreement_private_csv": "restricted/review/agreement.csv",
}


def _properties() -> set[str]:
    return {n for n, v in vars(OutLayout).items() if isinstance(v, property)}


def test_every_property_is_listed_on_one_side() -> None:
    assert _properties() == set(PUBLIC) | set(RESTRICTED)


@pytest.mark.parametrize(("name", "relative"), sorted(PUBLIC.items()))
def test_public_paths(tmp_path: Path, name: str, relative: str) -> None:
    layout = OutLayout(tmp_path)
    path = getattr(layout, name)
    assert path == tmp_path / relative
    assert not layout.is_restricted(path)


@pytest.mark.parametrize(("name", "relative"), sorted(RESTRICTED.items()))
def test_restricted_paths(tmp_path: Path, name: str, relative: str) -> None:
    layout = OutLayout(tmp_path)
    path = getattr(layout, name)
    assert path == tmp_path / relative
    assert layout.is_restricted(path) == (name != "restricted")


def test_methods(tmp_path: Path) -> None:
    layout = OutLayout(tmp_path)
    assert layout.table_csv("coverage") == tmp_path / "coverage.csv"
    assert layout.figure("coverage_curves") == tmp_path / "figures" / "coverage_curves.png"
    assert layout.run_dir("r1").run_json == tmp_path / "runs" / "r1" / "run.json"
    assert layout.index_table("series") == tmp_path / "restricted" / "index" / "series.parquet"
    assert layout.stage_errors_csv("measure") == (
        tmp_path / "restricted" / "state" / "errors_measure.csv"
    )
    assert layout.package_record_dir("p") == tmp_path / "restricted" / "packages" / "p"
    assert layout.is_restricted("restricted/x.csv") and not layout.is_restricted("x.csv")
    assert STAGES == ("index", "reports", "measure", "review", "tables")
    assert INDEX_TABLES == ("instances", "series", "studies", "files", "manifest")
    assert OutLayout(tmp_path) == layout and len({layout, OutLayout(tmp_path)}) == 1


def _names() -> set[str]:
    """Every file and folder name the layout knows (the last part of each path)."""
    layout = OutLayout("/o")
    names = {getattr(layout, p).name for p in _properties()}
    return names | {f"{t}.parquet" for t in INDEX_TABLES}


def _hand_joined(path: Path, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant)
            and node.right.value in names
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: / {node.right.value!r}")
    return found


def test_no_module_joins_an_out_path_by_hand() -> None:
    names = _names()
    sources = [
        p
        for folder in ("imncohort", "flows")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p.name != "layout.py" and "demo" not in p.parts
    ]
    found = [hit for p in sources for hit in _hand_joined(p, names)]
    assert found == []
