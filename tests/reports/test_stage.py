"""The reports stage on a synthetic export and index: outputs, modality, privacy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from imncohort.config import load_config
from imncohort.errors import StageOrderError
from imncohort.keys import pseudonym
from imncohort.reports.mentions import resolve_modality
from imncohort.reports.records import ReportSource
from imncohort.reports.stage import (
    MENTIONS_COLUMNS,
    chunk_sources,
    collect_sources,
    matches_globs,
    mine_chunk,
    run_reports_stage,
    write_outputs,
)

from .conftest import text_item, write_index, write_sr

SECRET = b"test-secret"
STUDY_CT = "1.2.826.0.1.3680043.8.498.100"
STUDY_PET = "1.2.826.0.1.3680043.8.498.300"
SENTENCE_AFFIRMED = (
    "There is an enlarged left IMN in the 2nd intercostal space measuring 1.2 x 0.8 cm."
)
SENTENCE_ZH = "右侧内乳淋巴结，转移可能。"


def _build(export: Path, out: Path) -> None:
    write_sr(
        export / "P1" / "sr.dcm",
        [
            text_item("History", "Breast cancer."),
            text_item("Findings", SENTENCE_AFFIRMED + " The lungs are clear."),
        ],
        sop_uid="1.2.826.0.1.3680043.8.498.11",
        patient_id="PAT001",
        study_uid=STUDY_CT,
    )
    write_sr(
        export / "P2" / "sr.dcm",
        [text_item("Findings", "No enlarged internal mammary nodes.")],
        sop_uid="1.2.826.0.1.3680043.8.498.12",
        patient_id="PAT002",
        study_uid=STUDY_PET,
    )
    pd.DataFrame(
        {
            "PatientID": ["PAT003", "PAT004"],
            "AccessionNumber": ["A3", "A4"],
            "StudyInstanceUID": ["", ""],
            "Modality": ["MRI", ""],
            "StudyDate": ["2021-02-03", "2021-03-04"],
            "ReportText": [f"检查所见：{SENTENCE_ZH}", "FINDINGS: Normal study."],
        }
    ).to_csv(export / "ris.csv", index=False)
    (export / "notes").mkdir()
    pd.DataFrame({"PatientID": ["x"], "ReportText": ["Possible IMN."]}).to_csv(
        export / "notes" / "skip.csv", index=False
    )
    write_index(
        out,
        instances=[("P1/sr.dcm", "sr"), ("P2/sr.dcm", "sr"), ("P1/ct1.dcm", "image")],
        files=[("ris.csv", "table"), ("notes/skip.csv", "table")],
        studies=[
            {
                "study_instance_uid": STUDY_CT,
                "study_date": "20200105",
                "modalities": "CT;SR",
                "study_description": "",
            },
            {
                "study_instance_uid": STUDY_PET,
                "study_date": "20200106",
                "modalities": "CT;PT;SR",
                "study_description": "",
            },
        ],
    )


@pytest.fixture()
def ran(export: Path, out: Path) -> dict[str, object]:
    _build(export, out)
    config = load_config()
    config = config.model_copy(
        update={"reports": config.reports.model_copy(update={"tables": ["*.csv"]})}
    )
    return run_reports_stage(export, out, config, SECRET)


def test_summary_and_mentions(ran: dict[str, object], out: Path) -> None:
    assert {
        k: ran[k] for k in ("reports", "mentions", "candidates", "confirmed", "worklist", "errors")
    } == {
        "reports": 4,
        "mentions": 3,
        "candidates": 2,
        "confirmed": 0,
        "worklist": 2,
        "errors": 0,
    }
    mentions = pd.read_parquet(out / "mentions.parquet")
    assert list(mentions.columns) == MENTIONS_COLUMNS
    got = mentions.set_index("report_id")
    first = got.loc["1.2.826.0.1.3680043.8.498.11"]
    assert (first["term"], first["assertion"], first["side"], first["intercostal_spaces"]) == (
        "imn",
        "affirmed",
        "left",
        "2",
    )
    assert (first["size_long_mm"], first["size_short_mm"], first["size_mm"]) == (12.0, 8.0, 12.0)
    assert (first["modality"], first["study_date"], first["section"]) == (
        "CT",
        "20200105",
        "findings",
    )
    assert first["patient_key"] == pseudonym(SECRET, "PAT001")
    assert first["study_key"] == pseudonym(SECRET, STUDY_CT)
    second = got.loc["1.2.826.0.1.3680043.8.498.12"]
    assert (second["assertion"], second["modality"]) == ("negated", "PET-CT")
    third = got.loc["ris.csv#1"]
    assert (third["term"], third["assertion"], third["side"], third["modality"]) == (
        "内乳淋巴结",
        "uncertain",
        "right",
        "MR",
    )
    assert third["study_date"] == "20210203"


def test_worklist_and_cohort(ran: dict[str, object], out: Path) -> None:
    worklist = pd.read_csv(out / "restricted" / "worklist.csv", dtype=str, keep_default_na=False)
    assert list(worklist["PatientID"]) == ["PAT001", "PAT003"]
    assert list(worklist["sentence"]) == [SENTENCE_AFFIRMED, SENTENCE_ZH]
    assert list(worklist["AccessionNumber"]) == ["ACC8.11", "A3"]
    cohort = pd.read_csv(out / "cohort.csv", dtype={"first_mention_date": str})
    assert sorted(cohort["patient_key"]) == sorted(
        [pseudonym(SECRET, "PAT001"), pseudonym(SECRET, "PAT003")]
    )
    assert set(cohort["status"]) == {"candidate"}


def test_no_sentence_text_outside_restricted(ran: dict[str, object], out: Path) -> None:
    from imncohort.review.stage import run_review

    run_review(out, load_config(), SECRET)  # its public outputs are covered too
    assert (out / "review_summary.json").exists()
    assert "PAT001" in (out / "restricted" / "review" / "worklist.csv").read_text("utf-8-sig")
    needles = [
        SENTENCE_AFFIRMED,
        "enlarged left IMN",
        SENTENCE_ZH,
        "内乳淋巴结，转移",
        "PAT001",
        "PAT003",
    ]
    checked = 0
    for path in out.rglob("*"):
        if not path.is_file() or "restricted" in path.relative_to(out).parts:
            continue
        data = path.read_bytes()
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            data = frame.to_csv(index=False).encode("utf-8")
        for needle in needles:
            assert needle.encode("utf-8") not in data, f"{needle!r} found in {path}"
        checked += 1
    assert checked >= 4  # mentions, reports, cohort, errors (the index is restricted)
    sentences = pd.read_parquet(out / "restricted" / "mention_sentences.parquet")
    assert SENTENCE_AFFIRMED in set(sentences["sentence"])


def test_confirmed_when_nodes_exist(export: Path, out: Path) -> None:
    _build(export, out)
    pd.DataFrame({"patient_key": [pseudonym(SECRET, "PAT002")], "metastatic": [True]}).to_csv(
        out / "nodes.csv", index=False
    )
    summary = run_reports_stage(export, out, load_config(), SECRET)
    cohort = pd.read_csv(out / "cohort.csv").set_index("patient_key")
    row = cohort.loc[pseudonym(SECRET, "PAT002")]
    assert (row["status"], bool(row["found_by_reports"])) == ("confirmed", False)
    assert summary["confirmed"] == 1


def test_sources_and_globs(export: Path, out: Path) -> None:
    _build(export, out)
    config = load_config()
    sources = collect_sources(out, config)
    assert [(s.kind, s.path) for s in sources] == [
        ("sr", "P1/sr.dcm"),
        ("sr", "P2/sr.dcm"),
        ("table", "notes/skip.csv"),
        ("table", "ris.csv"),
    ]
    assert [len(c) for c in chunk_sources(sources, 3)] == [3, 1]
    assert matches_globs("ris.csv", ["**/*.csv"])
    assert matches_globs("a/b/ris.csv", ["**/*.csv"])
    assert not matches_globs("a/ris.csv", ["*.csv"])


def test_missing_index_is_a_stage_order_error(out: Path) -> None:
    with pytest.raises(StageOrderError, match="run 'imncohort index"):
        collect_sources(out, load_config())


def test_chunks_merge_like_one_run(export: Path, out: Path, tmp_path: Path) -> None:
    _build(export, out)
    config = load_config()
    sources = collect_sources(out, config)
    single = write_outputs(out, [mine_chunk(export, sources, config)], SECRET)
    one = pd.read_parquet(out / "mentions.parquet")
    parts = [mine_chunk(export, [s], config) for s in sources]
    split = write_outputs(out, parts, SECRET)
    assert single["mentions"] == split["mentions"]
    pd.testing.assert_frame_equal(one, pd.read_parquet(out / "mentions.parquet"))


def test_bad_source_becomes_an_error_record(export: Path, out: Path) -> None:
    (export / "bad.dcm").write_bytes(b"\x00" * 10)
    result = mine_chunk(export, [ReportSource("bad.dcm", "sr")], load_config())
    assert result.mentions.empty
    assert [e.path for e in result.errors] == ["bad.dcm"]


@pytest.mark.parametrize(
    ("images", "table", "description", "modality"),
    [
        (["CT", "PT", "SR"], "", "", "PET-CT"),
        (["MR", "SR"], "CT", "", "MR"),
        (["RTSTRUCT"], "PET/CT", "", "PET-CT"),
        ([], "MRI", "", "MR"),
        ([], "", "超声 乳腺", "US"),
        ([], "", "CT CHEST W CONTRAST", "CT"),
        ([], "", "Mammography bilateral", "MG"),
        ([], "", "", ""),
    ],
)
def test_resolve_modality(images: list[str], table: str, description: str, modality: str) -> None:
    assert resolve_modality(images, table, description) == modality
