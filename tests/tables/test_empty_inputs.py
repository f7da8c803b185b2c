"""Missing or tiny inputs give valid, explicit tables and a report that says so."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from paper_cohort import SECRET, PaperCohort

from imncohort.config import Config
from imncohort.errors import InputError
from imncohort.tables.stage import TABLE_NAMES, build_tables


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f"{name}.csv") for name in TABLE_NAMES}


def test_empty_output_directory(tmp_path: Path, config: Config) -> None:
    summary = build_tables(tmp_path, config, SECRET, None)
    tables = _tables(tmp_path)
    coverage = tables["coverage"]
    assert len(coverage) == 22
    assert set(coverage["nodes_total"]) == {0} and set(coverage["nodes_covered"]) == {0}
    assert coverage["percent"].isna().all() and coverage["ci_low"].isna().all()
    assert len(tables["coverage_2d"]) == 121
    intercostal = tables["intercostal"].astype({"row": str}).set_index("row")
    assert list(intercostal.index) == ["1", "2", "3", "4", "single", "multiple", "total", "unknown"]
    assert intercostal["patients"].sum() == 0
    growth = tables["growth_direction"].set_index("quadrant")
    assert growth.at["all", "nodes"] == 0 and math.isnan(growth.at["all", "p_value"])
    detection = tables["modality_detection"].set_index("modality")
    assert list(detection.index) == ["US", "CT", "MR", "PET-CT", "combined"]
    assert detection["patients_with_report"].sum() == 0
    assert detection["percent"].isna().all()
    characteristics = tables["characteristics"]
    assert characteristics.iloc[0][["initial_n", "recurrence_n", "all_n"]].tolist() == [0, 0, 0]
    assert summary["patients"] == 0 and summary["metastatic_nodes"] == 0
    assert set(summary["empty_tables"]) >= {"coverage", "modality_detection", "characteristics"}
    report = (tmp_path / "report.html").read_text("utf-8")
    for sentence in (
        "nodes.csv is missing in the output directory (run the measure stage first).",
        "mentions.parquet is missing in the output directory (run the reports stage",
        "cohort.csv is missing in the output directory",
        "No measured metastatic node: no margin recommendation can be made.",
        "No confirmed patient in cohort.csv: detection rates have no denominator.",
        "No clinical table: every patient&#x27;s group",
        "No run.json in the output directory",
    ):
        assert sentence in report
    assert len(list((tmp_path / "figures").glob("*.png"))) == 4


def test_empty_files_with_headers(tmp_path: Path, config: Config, paper: PaperCohort) -> None:
    paper.nodes.iloc[0:0].to_csv(tmp_path / "nodes.csv", index=False)
    paper.mentions.iloc[0:0].to_parquet(tmp_path / "mentions.parquet", index=False)
    (tmp_path / "cohort.csv").write_text("")
    summary = build_tables(tmp_path, config, SECRET, None)
    assert summary["nodes"] == 0
    report = (tmp_path / "report.html").read_text("utf-8")
    assert "missing in the output directory" not in report
    assert "No metastatic node in nodes.csv" in report


def test_one_node_no_confirmed_patient_no_clinical(
    tmp_path: Path, config: Config, paper: PaperCohort
) -> None:
    node = paper.nodes.iloc[[0]].copy()
    node["center_ml_mm"] = -3.0
    node["center_dv_mm"] = 6.5
    node.to_csv(tmp_path / "nodes.csv", index=False)
    paper.mentions.iloc[0:0].to_parquet(tmp_path / "mentions.parquet", index=False)
    paper.cohort[paper.cohort["status"] == "candidate"].to_csv(tmp_path / "cohort.csv", index=False)
    summary = build_tables(tmp_path, config, SECRET, None)
    coverage = pd.read_csv(tmp_path / "coverage.csv").set_index(["direction", "margin_mm"])
    assert coverage.at[("medial_lateral", 2.0), "nodes_covered"] == 0
    assert coverage.at[("medial_lateral", 3.0), "nodes_covered"] == 1
    assert coverage.at[("medial_lateral", 3.0), "percent"] == 100.0
    assert coverage.at[("medial_lateral", 3.0), "ci_low"] == pytest.approx(20.654, abs=1e-3)
    assert coverage.at[("dorsal_ventral", 6.0), "nodes_covered"] == 0
    assert coverage.at[("dorsal_ventral", 7.0), "nodes_covered"] == 1
    assert summary["smallest_margin_mm"]["90"] == {"medial_lateral": 3.0, "dorsal_ventral": 7.0}
    detection = pd.read_csv(tmp_path / "modality_detection.csv")
    assert detection["patients_with_report"].sum() == 0
    # The node's patient is the study group even though no cohort row confirms it.
    assert summary["patients"] == 1 and summary["confirmed_patients"] == 0
    characteristics = pd.read_csv(tmp_path / "characteristics.csv").set_index(["variable", "level"])
    assert characteristics.at[("ER", "unknown"), "all_n"] == 1
    assert characteristics.at[("ER", "positive"), "all_n"] == 0
    report = (tmp_path / "report.html").read_text("utf-8")
    assert "Only 1 metastatic node(s): the confidence intervals are wide" in report
    assert "No confirmed patient in cohort.csv" in report
    assert "Smallest margin covering 90% of nodes: medial-lateral 3 mm, dorsal-ventral 7 mm." in (
        report
    )


def test_margin_not_reached_and_unmeasured_nodes(
    tmp_path: Path, config: Config, paper: PaperCohort
) -> None:
    nodes = paper.nodes[paper.nodes["metastatic"]].iloc[:3].copy()
    nodes["center_ml_mm"] = [1.0, 12.0, np.nan]
    nodes["center_dv_mm"] = [1.0, 2.0, np.nan]
    nodes.to_csv(tmp_path / "nodes.csv", index=False)
    build_tables(tmp_path, config, SECRET, None)
    coverage = pd.read_csv(tmp_path / "coverage.csv")
    assert set(coverage["nodes_total"]) == {2}  # the node without IMV is left out
    report = (tmp_path / "report.html").read_text("utf-8")
    assert (
        "Smallest margin covering 90% of nodes: medial-lateral none, dorsal-ventral 2 mm. "
        "No configured margin reaches 90% in the direction medial-lateral (largest margin "
        "tried: 10 mm)." in report
    )
    assert "1 metastatic node(s) without a medial-lateral and 1 without a dorsal-ventral" in report


def test_bad_clinical_table_is_recorded_or_raises(
    tmp_path: Path, config: Config, paper: PaperCohort
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    bad = export / "clinical.csv"
    bad.write_text("Name,group\nsomeone,initial\n")
    out = tmp_path / "out"
    out.mkdir()
    summary = build_tables(out, config, SECRET, bad, export=export)
    assert summary["errors"] == 1 and summary["clinical"] is False
    errors = pd.read_csv(out / "errors.csv")
    assert errors[["path", "stage"]].values.tolist() == [["clinical.csv", "tables"]]
    assert "has no 'PatientID' column" in errors.loc[0, "reason"]
    report = (out / "report.html").read_text("utf-8")
    assert "1 bad input(s)" in report
    assert "someone" not in report
    with pytest.raises(InputError, match="PatientID"):
        build_tables(out, config, SECRET, bad, export=export, strict=True)


def test_figures_without_data_are_placeholders_drawn_without_matplotlib(tmp_path: Path) -> None:
    import subprocess
    import sys

    from PIL import Image

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from imncohort.config import load_config\n"
        "from imncohort.tables.stage import build_tables\n"
        f"build_tables(Path({str(tmp_path)!r}), load_config(), b'secret', None)\n"
        "print(sorted(m for m in ('matplotlib', 'scipy') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    for name in ("coverage_curves", "coverage_2d", "node_scatter", "intercostal"):
        with Image.open(tmp_path / "figures" / f"{name}.png") as image:
            assert (image.format, image.size) == ("PNG", (770, 320))
            assert image.convert("L").getextrema()[0] < 128  # its title and reason are drawn
