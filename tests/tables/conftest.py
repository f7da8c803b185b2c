"""Fixtures of the tables tests: the seed-paper cohort and one build_tables run on it."""

from __future__ import annotations

import pytest
from paper_cohort import SECRET, PaperCohort, build_paper_cohort, write_inputs

from imncohort.config import Config, load_config


@pytest.fixture(scope="session")
def paper() -> PaperCohort:
    return build_paper_cohort()


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def paper_run(tmp_path_factory: pytest.TempPathFactory, paper: PaperCohort, config: Config):
    """Run build_tables once on the paper cohort; return (out, summary)."""
    from imncohort.tables.stage import build_tables

    base = tmp_path_factory.mktemp("paper")
    out, export = base / "out", base / "export"
    clinical = write_inputs(out, paper, export)
    summary = build_tables(out, config, SECRET, clinical, export=export)
    return out, summary
