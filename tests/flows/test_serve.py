"""The scheduled deployment is defined from the config (no server needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from imncohort_flows.serve import build_deployment, serve_parameters

from imncohort.config import load_config
from imncohort.errors import ConfigError


def test_deployment_carries_cron_and_parameters(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    user = tmp_path / "site.yaml"
    user.write_text("schedule: {cron: '30 3 * * 1-5', timezone: Europe/Berlin}\n")
    config = load_config(user)
    args = argparse.Namespace(
        export=export, out=tmp_path / "out", config=user, workers=3, dask_address=None
    )
    deployment = build_deployment(config, serve_parameters(args, config))
    assert deployment.name == "imncohort-audit"
    assert deployment.flow_name == "audit"
    schedule = deployment.schedules[0].schedule
    assert schedule.cron == "30 3 * * 1-5"
    assert schedule.timezone == "Europe/Berlin"
    assert deployment.parameters["parameters"]["export"] == str(export.resolve())
    assert deployment.parameters["parameters"]["workers"] == 3
    assert deployment.parameters["parameters"]["stages"] == [
        "index",
        "reports",
        "measure",
        "tables",
    ]


def test_serve_without_export_names_the_keys(tmp_path: Path) -> None:
    config = load_config()
    args = argparse.Namespace(export=None, out=None, config=None, workers=None, dask_address=None)
    with pytest.raises(ConfigError, match=r"set schedule\.export and schedule\.out"):
        serve_parameters(args, config)
