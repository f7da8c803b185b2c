"""The review loop end to end through the CLI on the 20-patient demo: two readers fill the
workbook, the next run merges their decisions, computes kappa and the outcome, and offers
only what is still open; new reports appear as the only new items."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser import IMAGES_PROBE, probe_page, require_chromium
from conftest import SECRET
from imncohort_flows.cli import main

from imncohort.config import load_config
from imncohort.review.stage import run_review
from imncohort.review.workbook import sheet_values

pytestmark = pytest.mark.slow

MET, NOT, UNSURE = "metastatic IMN", "not metastatic", "unsure"
#: (reader 1, reader 2, consensus, expected outcome) cycled over the workbook rows.
PATTERN = [
    (MET, MET, "", "positive"),
    (NOT, NOT, "", "negative"),
    (MET, NOT, MET, "positive"),
    (NOT, UNSURE, NOT, "negative"),
    (UNSURE, UNSURE, "", "pending"),
    (MET, UNSURE, "", "pending"),
    (NOT, MET, "", "pending"),
]


def _sheet(path: Path, name: str) -> list[dict[str, str]]:
    rows = sheet_values(path)[name]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _fill(source: Path, target: Path, values: dict[str, dict[str, str]]) -> None:
    """Copy the workbook, setting the given columns of the review sheet per item id."""
    from openpyxl import load_workbook

    workbook = load_workbook(source)
    sheet = workbook["review"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        item = row[header.index("item_id")].value
        for column, value in values.get(str(item), {}).items():
            row[header.index(column)].value = value
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)


def reference_kappa(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """Cohen's kappa and its 95% CI by the textbook formulas (Fleiss, Cohen, Everitt 1969)."""
    labels = sorted({a for a, _ in pairs} | {b for _, b in pairs})
    n = len(pairs)
    p = {(a, b): sum(1 for x, y in pairs if (x, y) == (a, b)) / n for a in labels for b in labels}
    row = {a: sum(p[(a, b)] for b in labels) for a in labels}
    col = {b: sum(p[(a, b)] for a in labels) for b in labels}
    po = sum(p[(a, a)] for a in labels)
    pe = sum(row[a] * col[a] for a in labels)
    kappa = (po - pe) / (1 - pe)
    term_a = sum(p[(a, a)] * (1 - (row[a] + col[a]) * (1 - kappa)) ** 2 for a in labels)
    term_b = (1 - kappa) ** 2 * sum(
        p[(a, b)] * (col[a] + row[b]) ** 2 for a in labels for b in labels if a != b
    )
    term_c = (kappa - pe * (1 - kappa)) ** 2
    se = math.sqrt(max(0.0, (term_a + term_b - term_c) / ((1 - pe) ** 2 * n)))
    return kappa, kappa - 1.959963984540054 * se, kappa + 1.959963984540054 * se


@pytest.fixture(scope="module")
def reviewed(run20: Path, demo20: tuple[Path, dict[str, Any]], tmp_path_factory: Any) -> Any:
    """run20's OUT, both readers' returns filled in, and one more ``run``."""
    export, _ = demo20
    out = tmp_path_factory.mktemp("review") / "out"
    shutil.copytree(run20, out)
    folder = out / "restricted" / "review"
    first = _sheet(folder / "worklist.xlsx", "review")
    nodes = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
    annotated = set(nodes["patient_key"])
    plan: dict[str, tuple[str, str, str, str]] = {}
    for k, row in enumerate(first):
        # Patients without any annotated node get an agreed positive: they must be contoured.
        plan[row["item_id"]] = (
            PATTERN[0] if row["patient_key"] not in annotated else PATTERN[k % len(PATTERN)]
        )
    # One annotated patient is reviewed negative throughout (agreed on every item).
    negative = next(r["patient_key"] for r in reversed(first) if r["patient_key"] in annotated)
    for row in first:
        if row["patient_key"] == negative:
            plan[row["item_id"]] = PATTERN[1]
    reader_1 = {
        i: {"reader_1_decision": p[0], "reader_1_initials": "ab", "reader_1_comment": "seen"}
        for i, p in plan.items()
    }
    reader_2 = {
        i: {"reader_2_decision": p[1], "reader_2_initials": "CD", "consensus_decision": p[2]}
        for i, p in plan.items()
    }
    _fill(folder / "worklist.xlsx", folder / "returned" / "reader1.xlsx", reader_1)
    _fill(folder / "worklist.xlsx", folder / "returned" / "reader2.xlsx", reader_2)
    assert main(["run", str(export), "--out", str(out), "--workers", "2"]) == 0
    return out, first, plan


def test_first_run_offers_every_candidate_mention_as_new(
    run20: Path, demo20: tuple[Path, dict[str, Any]]
) -> None:
    _, truth = demo20
    folder = run20 / "restricted" / "review"
    review = _sheet(folder / "worklist.xlsx", "review")
    expected = sum(
        1
        for r in truth["reports"]
        for m in r["mentions"]
        if m["assertion"] in ("affirmed", "uncertain")
    )
    assert len(review) == expected == 21
    assert {r["status"] for r in review} == {"new"}
    assert _sheet(folder / "worklist.xlsx", "decided") == []
    csv = pd.read_csv(folder / "worklist.csv", dtype=str, keep_default_na=False)
    assert (folder / "worklist.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert list(csv["item_id"]) == [r["item_id"] for r in review]
    assert any("内乳淋巴结" in s or "胸骨旁淋巴结" in s for s in csv["sentence"])
    cohort = pd.read_csv(run20 / "cohort.csv")
    assert set(cohort["review_status"]) == {"not_reviewed"}


def test_two_readers_kappa_outcome_and_worklist(reviewed: Any) -> None:
    out, first, plan = reviewed
    folder = out / "restricted" / "review"
    summary = json.loads((out / "review_summary.json").read_text("utf-8"))
    pairs = [(p[0], p[1]) for p in plan.values()]
    kappa, low, high = reference_kappa(pairs)
    assert summary["items_with_both_readers"] == len(plan) == 21
    assert summary["kappa"] == pytest.approx(kappa, abs=1e-6)
    assert summary["kappa_ci_low"] == pytest.approx(low, abs=1e-6)
    assert summary["kappa_ci_high"] == pytest.approx(high, abs=1e-6)
    agreed = sum(1 for a, b in pairs if a == b)
    assert summary["percent_agreement"] == pytest.approx(100 * agreed / len(pairs), abs=1e-6)
    agreement = pd.read_csv(out / "review_agreement.csv")
    overall = agreement[agreement["modality"] == "all"].iloc[0]
    assert overall["kappa"] == pytest.approx(kappa, abs=1e-9)
    modality = {r["item_id"]: r["modality"] for r in first}
    modalities = sorted({modality[i] for i in plan})
    assert list(agreement["modality"]) == ["all", *modalities]
    for name, group in agreement[agreement["modality"] != "all"].groupby("modality"):
        mine = [(p[0], p[1]) for i, p in plan.items() if modality[i] == name]
        assert int(group["items"].iloc[0]) == len(mine), name
        labels_1, labels_2 = {a for a, _ in mine}, {b for _, b in mine}
        if len(labels_1) == len(labels_2) == 1 and labels_1 == labels_2:
            assert math.isnan(group["kappa"].iloc[0]), name  # chance agreement 1: undefined
        else:
            assert group["kappa"].iloc[0] == pytest.approx(reference_kappa(mine)[0], abs=1e-9)
    # Outcome per candidate patient: positive if any item positive, negative if all are.
    by_patient: dict[str, set[str]] = {}
    for row in first:
        by_patient.setdefault(row["patient_key"], set()).add(plan[row["item_id"]][3])
    expected = {
        key: "positive"
        if "positive" in outcomes
        else "negative"
        if outcomes == {"negative"}
        else "pending"
        for key, outcomes in by_patient.items()
    }
    cohort = pd.read_csv(out / "cohort.csv", dtype=str, keep_default_na=False)
    got = dict(zip(cohort["patient_key"], cohort["review_status"], strict=True))
    for key, status in got.items():
        assert status == expected.get(key, "not_reviewed"), key
    assert set(expected) <= set(got)
    assert {"positive", "negative", "pending", "not_reviewed"} <= set(got.values())
    # to_annotate: the consensus-positive patients without annotated nodes.
    nodes = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
    ids = {r["patient_key"]: r["PatientID"] for r in first}
    want = sorted(
        ids[k]
        for k, s in expected.items()
        if s == "positive" and k not in set(nodes["patient_key"])
    )
    annotate = pd.read_csv(folder / "to_annotate.csv", dtype=str, keep_default_na=False)
    assert sorted(annotate["PatientID"]) == want
    assert len(want) >= 1
    assert all(annotate["ct_studies"].str.len() > 0)
    assert summary["consensus_positive_unannotated"] == len(want)
    # Decided items are not offered again; pending ones are, with who must act.
    decided = {i for i, p in plan.items() if p[3] != "pending"}
    review = _sheet(folder / "worklist.xlsx", "review")
    assert {r["item_id"] for r in review} == set(plan) - decided
    assert {r["status"] for r in review} == {"awaiting_review"}
    assert {r["needs"] for r in review} == {"consensus"}
    done = _sheet(folder / "worklist.xlsx", "decided")
    assert {r["item_id"] for r in done} == decided
    for r in done:
        assert (r["reader_1_decision"], r["reader_2_decision"]) == plan[r["item_id"]][:2]
        assert r["outcome"] == plan[r["item_id"]][3]
    assert summary["decided"] == len(decided) and summary["errors"] == 0
    report = (out / "report.html").read_text("utf-8")
    assert (
        'id="review"' in report
        and f"<dt>Decided (consensus reached)</dt><dd>{len(decided)}" in report
    )


def test_decisions_survive_and_same_content_without_new_candidates(
    reviewed: Any, tmp_path: Path
) -> None:
    out, _, _ = reviewed
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    folder = copy / "restricted" / "review"
    before = sheet_values(folder / "worklist.xlsx")
    shutil.rmtree(folder / "returned")  # the returned files are gone: the state keeps them
    summary = run_review(copy, load_config(), SECRET.encode())
    assert sheet_values(folder / "worklist.xlsx") == before
    old = json.loads((out / "review_summary.json").read_text("utf-8"))
    assert (summary["kappa"], summary["decided"]) == (old["kappa"], old["decided"])
    pd.testing.assert_frame_equal(
        pd.read_csv(copy / "cohort.csv", dtype=str), pd.read_csv(out / "cohort.csv", dtype=str)
    )


def test_nothing_identifying_outside_restricted(reviewed: Any) -> None:
    out, _, _ = reviewed
    identities = pd.read_parquet(out / "restricted" / "identities.parquet").fillna("")
    review = pd.read_csv(out / "restricted" / "review" / "worklist.csv", dtype=str)
    needles = {str(v) for v in identities["PatientID"]} | {
        str(v) for v in identities["AccessionNumber"] if str(v)
    }
    needles |= {str(v).replace("^", " ") for v in identities["PatientName"]}
    needles |= {str(v) for v in identities["PatientName"]}
    needles |= {
        s.replace("[", "").replace("]", "").replace("«", "").replace("»", "")[:40]
        for s in review["sentence"]
    }
    checked = 0
    for path in out.rglob("*"):
        parts = path.relative_to(out).parts
        if not path.is_file() or "restricted" in parts:
            continue
        if path.suffix == ".parquet":
            data = pd.read_parquet(path).to_csv(index=False)
        elif path.suffix in (".png", ".xlsx"):
            continue
        else:
            data = path.read_text("utf-8", errors="replace")
        for needle in needles:
            assert needle not in data, f"{needle!r} in {path.relative_to(out)}"
        checked += 1
    assert checked >= 20
    assert (out / "review_summary.json").exists() and (out / "review_agreement.csv").exists()


def test_review_page_and_gallery_images_decode(reviewed: Any, tmp_path: Path) -> None:
    require_chromium()
    out, first, _ = reviewed
    nodes = pd.read_csv(out / "nodes.csv", dtype=str, keep_default_na=False)
    per_patient = nodes.groupby("patient_key").size().to_dict()
    page = probe_page(out / "restricted" / "review" / "index.html", IMAGES_PROBE, tmp_path / "a")
    assert len(page) == sum(per_patient.get(r["patient_key"], 0) for r in first) > 0
    for _, complete, width, height in page:
        assert complete and width > 0 and height > 0
    report = probe_page(out / "report.html", IMAGES_PROBE, tmp_path / "b")
    thumbs = [r for r in report if r[0] == "qc-thumb"]
    assert len(thumbs) == len(nodes) == 38
    for _, complete, width, height in report:
        assert complete and width > 0 and height > 0


def test_new_reports_are_the_only_new_items(
    run20: Path, demo20: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    export, _ = demo20
    new_export = tmp_path / "export"
    shutil.copytree(export, new_export)
    out = tmp_path / "out"
    shutil.copytree(run20, out)
    pd.DataFrame(
        {
            "PatientID": ["DEMO0005", "DEMO0009", "DEMO0010"],
            "AccessionNumber": ["N0000051", "N0000091", "N0000101"],
            "StudyInstanceUID": ["2.25.9001", "2.25.9002", "2.25.9003"],
            "Modality": ["MR", "US", "CT"],
            "StudyDate": ["20230101", "20230202", "20230303"],
            "ReportText": [
                "FINDINGS: There is an enlarged left IMN in the 2nd intercostal space "
                "measuring 1.1 x 0.7 cm.",
                "检查所见：右侧内乳淋巴结，转移可能。",
                "FINDINGS: No enlarged internal mammary nodes.",
            ],
        }
    ).to_csv(new_export / "ris_followup.csv", index=False)
    assert main(["run", str(new_export), "--out", str(out), "--workers", "2"]) == 0
    review = _sheet(out / "restricted" / "review" / "worklist.xlsx", "review")
    new = [r for r in review if r["status"] == "new"]
    assert sorted(r["report_id"] for r in new) == ["ris_followup.csv#1", "ris_followup.csv#2"]
    assert sorted(r["PatientID"] for r in new) == ["DEMO0005", "DEMO0009"]
    old = {
        r["item_id"] for r in _sheet(run20 / "restricted" / "review" / "worklist.xlsx", "review")
    }
    assert {r["item_id"] for r in review if r["status"] != "new"} == old
    assert {r["status"] for r in review if r["item_id"] in old} == {"awaiting_review"}
    assert [r["status"] for r in review[:2]] == ["new", "new"]  # new items come first
