"""One test per configuration validation rule, with the exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from imncohort.config import load_config
from imncohort.errors import ConfigError

PREFIX = "invalid configuration: "

CASES = [
    (
        "nodez: 1\n",
        "config key 'nodez' is not known; allowed keys here: names, nodes, margins, reports, "
        "clinical, index, dask, schedule, qc, prefect, history, notifications, tables, review",
    ),
    (
        "nodes: {min_short: 3}\n",
        "config key 'nodes.min_short' is not known; allowed keys here: min_short_axis_mm, "
        "imv_extrapolation_limit_mm, growth_min_long_axis_mm, max_slice_gap_factor, "
        "min_node_voxels, min_node_volume_ml, sternal_invasion_min_share, "
        "rib_medial_window_mm, cartilage_max_gap_mm",
    ),
    (
        "nodes: {min_short_axis_mm: -1}\n",
        "config key 'nodes.min_short_axis_mm' has value -1: Input should be greater than or "
        "equal to 0",
    ),
    (
        "nodes: {min_short_axis_mm: five}\n",
        "config key 'nodes.min_short_axis_mm' has value 'five': Input should be a valid number, "
        "unable to parse string as a number",
    ),
    (
        "margins: {medial_lateral_mm: [5, 3]}\n",
        "config key 'margins.medial_lateral_mm' has value [5, 3]: margins must be distinct and "
        "in increasing order",
    ),
    (
        "margins: {dorsal_ventral_mm: [-1, 2]}\n",
        "config key 'margins.dorsal_ventral_mm' has value [-1, 2]: margins must be >= 0 mm",
    ),
    (
        "margins: {targets_percent: [150]}\n",
        "config key 'margins.targets_percent' has value [150]: each target must be a "
        "percentage in (0, 100]",
    ),
    (
        "names: {node: ['(unclosed']}\n",
        "config key 'names.node' has value ['(unclosed']: '(unclosed' is not a valid regular "
        "expression (missing ), unterminated subpattern at position 0)",
    ),
    (
        "names: {node: []}\n",
        "config key 'names.node' has value []: List should have at least 1 item after "
        "validation, not 0",
    ),
    (
        "schedule: {cron: every day}\n",
        "config key 'schedule.cron' has value 'every day': must be a 5-field cron expression "
        "such as '0 2 * * *' or '30 1 * * MON-FRI', or one of @yearly, @annually, @monthly, "
        "@weekly, @daily, @midnight, @hourly",
    ),
    (
        "schedule: {timezone: Mars/Olympus}\n",
        "config key 'schedule.timezone' has value 'Mars/Olympus': must be an IANA time zone "
        "such as 'UTC' or 'Europe/Berlin'",
    ),
    (
        "reports: {fallback_encodings: [klingon]}\n",
        "config key 'reports.fallback_encodings' has value ['klingon']: 'klingon' is not a "
        "text encoding Python knows",
    ),
    (
        "index: {chunk_size: 0}\n",
        "config key 'index.chunk_size' has value 0: Input should be greater than or equal to 1",
    ),
    (
        "index: {progress: sometimes}\n",
        "config key 'index.progress' has value 'sometimes': Input should be 'auto', 'always' "
        "or 'never'",
    ),
    (
        "dask: {workers: 0}\n",
        "config key 'dask.workers' has value 0: Input should be greater than or equal to 1",
    ),
    (
        "qc: {window_width_hu: 0}\n",
        "config key 'qc.window_width_hu' has value 0: Input should be greater than 0",
    ),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_each_rule_names_key_value_and_what_is_allowed(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "user.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == PREFIX + message


def test_user_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "user.yaml"
    path.write_text("nodes: {min_short_axis_mm: 7}\ndask: {workers: 3}\n", encoding="utf-8")
    config = load_config(path)
    assert config.nodes.min_short_axis_mm == 7.0
    assert config.nodes.imv_extrapolation_limit_mm == 10.0
    assert config.dask.workers == 3
    assert config.dask.threads_per_worker == 1
    assert config.margins.medial_lateral_mm == [float(m) for m in range(11)]


def test_defaults_hold_the_contract_values() -> None:
    config = load_config()
    assert config.nodes.min_short_axis_mm == 5.0
    assert config.margins.dorsal_ventral_mm[0] == 0.0
    assert config.margins.dorsal_ventral_mm[-1] == 10.0
    assert config.reports.columns.text == "ReportText"
    assert config.reports.columns.patient_id == "PatientID"
    assert config.schedule.cron == "0 2 * * *"
    assert config.nodes.rib_medial_window_mm == 10.0
    assert config.nodes.cartilage_max_gap_mm == 15.0


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert str(caught.value) == (
        f"cannot read config file '{tmp_path / 'absent.yaml'}': No such file or directory; "
        "pass an existing YAML file"
    )


def test_non_mapping_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"config file '{path}' must hold a mapping of keys, got list"


def test_invalid_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("nodes: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"config file '{path}' is not valid YAML: ")
