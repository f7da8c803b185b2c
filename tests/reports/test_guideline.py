"""CONTRACT section 3a, rule by rule in English and Chinese; detection and cohort follow it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from imncohort_flows import cli

from imncohort.config import load_config
from imncohort.errors import ConfigError
from imncohort.keys import pseudonym
from imncohort.reports.assertion import classify
from imncohort.reports.cohort import build_cohort, detecting
from imncohort.reports.lexicon import load_lexicon, parse_lexicon
from imncohort.reports.lexicon_schema import expand
from imncohort.reports.stage import run_reports_stage
from imncohort.tables.detection import modality_detection_table

from .conftest import text_item, write_index, write_sr

SECRET = b"guideline-secret"

# (rule id, target, sentence, assertion, trigger): every 3a rule in both languages
GUIDELINE = [
    (
        "affirmed.described",
        "IMN",
        "A 9 mm left IMN is noted in the second interspace.",
        "affirmed",
        "is noted",
    ),
    ("affirmed.described", "内乳淋巴结", "右侧内乳淋巴结增大，短径约9mm。", "affirmed", "增大"),
    (
        "affirmed.trend",
        "internal mammary node",
        "The right internal mammary node is stable at 8 mm.",
        "affirmed",
        "stable",
    ),
    ("affirmed.trend", "内乳淋巴结", "左侧内乳淋巴结较前增大。", "affirmed", "较前"),
    ("affirmed.trend", "IMN", "Left IMN, previously 8 mm, now 14 mm.", "affirmed", "now 14"),
    ("affirmed.cause-hedged", "IMN", "Enlarged right IMN, likely reactive.", "affirmed", "likely"),
    (
        "affirmed.cause-hedged",
        "IMN",
        "Enlarged left IMN, metastasis not excluded.",
        "affirmed",
        "not excluded",
    ),
    (
        "affirmed.cause-hedged",
        "内乳淋巴结",
        "左侧内乳淋巴结肿大，转移可能性大。",
        "affirmed",
        "可能性大",
    ),
    ("affirmed.impression", "内乳淋巴结", "右侧内乳淋巴结肿大，考虑转移。", "affirmed", "考虑"),
    ("affirmed.impression", "内乳淋巴结", "考虑右侧内乳淋巴结转移。", "affirmed", "考虑"),
    (
        "affirmed.impression",
        "IMN",
        "Enlarged left IMN consistent with metastasis.",
        "affirmed",
        "consistent with",
    ),
    (
        "negated.before",
        "internal mammary node",
        "No enlarged internal mammary nodes are seen.",
        "negated",
        "No",
    ),
    ("negated.before", "内乳淋巴结", "未见内乳淋巴结肿大。", "negated", "未见"),
    (
        "negated.after",
        "parasternal node",
        "Parasternal nodes are not enlarged.",
        "negated",
        "not enlarged",
    ),
    ("negated.after", "内乳区", "双侧内乳区未见肿大淋巴结。", "negated", "未见肿大"),
    (
        "negated.normal",
        "internal mammary node",
        "The internal mammary nodes are within normal limits.",
        "negated",
        "within normal limits",
    ),
    ("negated.normal", "内乳淋巴结", "内乳淋巴结大小正常。", "negated", "大小正常"),
    (
        "negated.label",
        "internal mammary node",
        "Internal mammary nodes: not enlarged.",
        "negated",
        "not enlarged",
    ),
    ("negated.label", "内乳区", "内乳区：未见异常。", "negated", "未见异常"),
    ("negated.over-hedge", "IMN", "No suspicious IMN is identified.", "negated", "No"),
    ("negated.over-hedge", "内乳淋巴结", "未见可疑内乳淋巴结。", "negated", "未见"),
    ("uncertain.hedge", "IMN", "Equivocal 5 mm left IMN.", "uncertain", "Equivocal"),
    ("uncertain.hedge", "内乳淋巴结", "疑似左侧内乳淋巴结转移。", "uncertain", "疑似"),
    (
        "uncertain.not-excluded",
        "IMN",
        "Right IMN metastasis cannot be excluded.",
        "uncertain",
        "cannot be excluded",
    ),
    ("uncertain.not-excluded", "内乳淋巴结", "不除外右侧内乳淋巴结转移。", "uncertain", "不除外"),
    ("historical.past", "IMN", "History of right IMN metastasis.", "historical", "History of"),
    ("historical.past", "内乳淋巴结", "既往左侧内乳淋巴结转移病史。", "historical", "既往"),
    (
        "historical.resolved",
        "IMN",
        "The left IMN is no longer seen.",
        "historical",
        "no longer seen",
    ),
    ("historical.resolved", "内乳淋巴结", "原右侧内乳淋巴结现已消失。", "historical", "已消失"),
    (
        "historical.section",
        "IMN",
        "HISTORY: Left IMN metastasis, T2N3b.",
        "historical",
        "section:history",
    ),
    (
        # the sentence's own past reference decides before its section
        "historical.past",
        "IMN",
        "HISTORY: Left IMN metastasis, treated with radiotherapy.",
        "historical",
        "treated with radiotherapy",
    ),
    (
        "historical.section",
        "胸骨旁淋巴结",
        "病史：胸骨旁淋巴结转移。",
        "historical",
        "section:history",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "If an IMN is found, include the internal mammary chain.",
        "hypothetical",
        "If",
    ),
    (
        "hypothetical.condition",
        "内乳淋巴结",
        "如发现内乳淋巴结肿大，建议活检。",
        "hypothetical",
        "如发现",
    ),
    (
        "hypothetical.request",
        "internal mammary node",
        "Recommend ultrasound to assess the internal mammary nodes.",
        "hypothetical",
        "to assess",
    ),
    ("hypothetical.request", "内乳淋巴结", "建议进一步评估内乳淋巴结。", "hypothetical", "评估"),
    ("hypothetical.question", "IMN", "Left IMN involvement?", "hypothetical", "?"),
    ("hypothetical.question", "内乳淋巴结", "内乳淋巴结是否转移？", "hypothetical", "是否"),
    (
        "hypothetical.indication",
        "IMN",
        "INDICATION: Known left IMN metastasis, restaging.",
        "hypothetical",
        "section:indication",
    ),
    (
        "hypothetical.indication",
        "内乳淋巴结",
        "检查目的：内乳淋巴结转移复查。",
        "hypothetical",
        "section:indication",
    ),
    (
        "family.experiencer",
        "IMN",
        "Her sister had breast cancer with IMN metastasis.",
        "family",
        "sister",
    ),
    ("family.experiencer", "内乳淋巴结", "其母亲乳腺癌伴内乳淋巴结转移。", "family", "其母"),
    (
        "hypothetical.follow-up",
        "内乳淋巴结",
        "建议定期复查，观察内乳淋巴结变化。",
        "hypothetical",
        "观察",
    ),
    (
        "hypothetical.follow-up",
        "IMN",
        "Recommend short-interval follow-up of the left IMN.",
        "hypothetical",
        "short-interval follow-up of",
    ),
    (
        "hypothetical.whether",
        "IMN",
        "Please assess whether there is an IMN.",
        "hypothetical",
        "whether there is",
    ),
    (
        "hypothetical.whether",
        "内乳淋巴结",
        "是否存在内乳淋巴结转移，请结合临床。",
        "hypothetical",
        "是否",
    ),
    (
        "uncertain.undecided",
        "internal mammary lymph node",
        "Whether this is an internal mammary lymph node is indeterminate.",
        "uncertain",
        "is indeterminate",
    ),
    (
        "uncertain.undecided",
        "内乳淋巴结",
        "胸骨旁小结节，是否为内乳淋巴结待定。",
        "uncertain",
        "待定",
    ),
    (
        "affirmed.morphology",
        "IMN",
        "Round left IMN, fatty hilum not seen.",
        "affirmed",
        "fatty hilum not seen",
    ),
    ("affirmed.morphology", "内乳淋巴结", "左侧内乳淋巴结淋巴门消失。", "affirmed", "淋巴门消失"),
]

# (rule id, target, sentence, assertion, trigger): the cue families added for text nobody
# tuned for (cues after the term, labels before CJK cues, follow-up requests, the treated
# or resected node, still-present wording), each in its rule
FAMILIES = [
    (
        "negated.after",
        "internal mammary nodes",
        "The internal mammary nodes show no abnormal uptake.",
        "negated",
        "show no abnormal uptake",
    ),
    (
        "negated.after",
        "internal mammary chain",
        "The internal mammary chain is negative for hypermetabolic disease.",
        "negated",
        "is negative for",
    ),
    ("negated.after", "内乳区", "双侧内乳区未见明显肿大淋巴结。", "negated", "未见明显肿大"),
    ("negated.label", "内乳淋巴结", "内乳淋巴结：（－）。", "negated", "（－）"),
    ("negated.label", "内乳淋巴结", "内乳淋巴结：未见FDG高摄取。", "negated", "未见"),
    (
        "negated.before",
        "internal mammary node",
        "Nor is there an internal mammary node on the right.",
        "negated",
        "Nor is there",
    ),
    ("uncertain.hedge", "IMN", "Left IMN, possibly metastatic.", "uncertain", "possibly"),
    ("uncertain.hedge", "内乳淋巴结", "左侧内乳淋巴结疑似转移。", "uncertain", "疑似"),
    (
        "uncertain.hedge",
        "parasternal node",
        "A parasternal node is uncertain.",
        "uncertain",
        "is uncertain",
    ),
    (
        "uncertain.undecided",
        "internal mammary node",
        "It is indeterminate whether an internal mammary node is present.",
        "uncertain",
        "is indeterminate",
    ),
    (
        "uncertain.not-excluded",
        "胸骨旁淋巴结",
        "左侧胸骨旁淋巴结不能完全排除。",
        "uncertain",
        "不能完全排除",
    ),
    (
        "historical.resolved",
        "内乳淋巴结",
        "左侧内乳淋巴结清扫术后，局部未见复发。",
        "historical",
        "清扫术后",
    ),
    (
        "historical.resolved",
        "IMN",
        "The left IMN has disappeared since the previous MRI.",
        "historical",
        "has disappeared",
    ),
    (
        "historical.resolved",
        "IMN",
        "The left IMN seen on the prior study is not seen today.",
        "historical",
        "seen on the prior study is not seen",
    ),
    (
        "historical.resolved",
        "parasternal node",
        "Scar at the site of the resected right parasternal node.",
        "historical",
        "resected",
    ),
    ("historical.past", "内乳淋巴结", "右侧内乳淋巴结转移放疗后2年。", "historical", "放疗后"),
    (
        "historical.past",
        "IMN",
        "The patient had a right IMN on the staging CT of 2021.",
        "historical",
        "on the staging CT",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Known history of breast cancer with internal mammary node metastasis.",
        "historical",
        "Known history of",
    ),
    ("affirmed.trend", "内乳淋巴结", "原左侧内乳淋巴结仍存在，约0.9cm。", "affirmed", "仍存在"),
    (
        "affirmed.trend",
        "internal mammary node",
        "The treated internal mammary node remains visible, 6 mm.",
        "affirmed",
        "remains visible",
    ),
    ("affirmed.trend", "IMN", "The left IMN is smaller, now 5 mm.", "affirmed", "smaller"),
    (
        "affirmed.trend",
        "IMN",
        "COMPARISON: 2025-02-20. The right IMN is stable.",
        "affirmed",
        "stable",
    ),
    (
        "affirmed.cause-hedged",
        "IMN",
        "Subcentimeter left IMN, likely reactive.",
        "affirmed",
        "likely",
    ),
    (
        "hypothetical.request",
        "内乳淋巴结",
        "为明确有无内乳淋巴结转移行胸部CT检查。",
        "hypothetical",
        "有无",
    ),
    (
        "hypothetical.request",
        "内乳区",
        "内乳区需重点扫查，排除淋巴结转移。",
        "hypothetical",
        "需重点扫查",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "Suggest PET/CT if there is clinical concern for an IMN.",
        "hypothetical",
        "if there is",
    ),
    (
        "hypothetical.condition",
        "internal mammary nodes",
        "Radiotherapy to the internal mammary nodes should nodal disease be found.",
        "hypothetical",
        "should nodal disease be found",
    ),
    (
        "hypothetical.follow-up",
        "IMN",
        "The left IMN should be monitored.",
        "hypothetical",
        "should be monitored",
    ),
    ("family.experiencer", "内乳淋巴结", "患者姨母乳腺癌伴内乳淋巴结转移。", "family", "姨母"),
    (
        "negated.after",
        "IMN",
        "The left IMN is not significantly enlarged.",
        "negated",
        "not significantly enlarged",
    ),
    (
        "negated.label",
        "internal mammary lymph node",
        "Internal mammary lymph nodes: within normal limits.",
        "negated",
        "within normal limits",
    ),
    (
        "hypothetical.request",
        "IMN",
        "Biopsy of the left IMN is recommended.",
        "hypothetical",
        "is recommended",
    ),
    (
        "uncertain.hedge",
        "IMN",
        "Left IMN cannot be confidently identified.",
        "uncertain",
        "cannot be confidently identified",
    ),
    ("negated.after", "IMN", "Left IMN is not FDG avid.", "negated", "not FDG avid"),
    (
        "historical.resolved",
        "internal mammary node",
        "Internal mammary node dissection in 2019.",
        "historical",
        "dissection in 2019",
    ),
    (
        "historical.resolved",
        "internal mammary node",
        "Internal mammary node previously biopsied, now not visualized.",
        "historical",
        "now not visualized",
    ),
    (
        "affirmed.described",
        "IMN",
        "Left IMN, 9 mm today versus 5 mm previously.",
        "affirmed",
        "9 mm",
    ),
    # a follow-up verb reported as done is not a request; a described node with advice stays
    ("affirmed.described", "内乳淋巴结", "复查示左侧内乳淋巴结肿大。", "affirmed", "肿大"),
    ("affirmed.described", "内乳淋巴结", "左侧内乳淋巴结肿大，建议随访。", "affirmed", "肿大"),
]


@pytest.mark.parametrize(("rule", "target", "sentence", "assertion", "trigger"), GUIDELINE)
def test_guideline_rule(
    rule: str, target: str, sentence: str, assertion: str, trigger: str
) -> None:
    result = classify(target, sentence)
    assert (result.assertion, result.trigger, result.rule) == (assertion, trigger, rule)


@pytest.mark.parametrize(("rule", "target", "sentence", "assertion", "trigger"), FAMILIES)
def test_cue_family(rule: str, target: str, sentence: str, assertion: str, trigger: str) -> None:
    result = classify(target, sentence)
    assert (result.assertion, result.trigger, result.rule) == (assertion, trigger, rule)


def test_every_rule_is_covered_in_both_languages() -> None:
    languages: dict[str, set[str]] = {}
    for rule, _, sentence, _, _ in GUIDELINE:
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in sentence)
        languages.setdefault(rule, set()).add("zh" if zh else "en")
    assert len(languages) == 23
    assert all(found == {"en", "zh"} for found in languages.values()), languages


def test_every_rule_id_is_named_in_the_lexicon() -> None:
    ids = set(load_lexicon().rule_ids)
    assert {r for r, *_ in GUIDELINE} | {"affirmed.default"} <= ids
    assert classify("IMN", "Left IMN.").rule == "affirmed.default"


def test_classify_prints_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["classify", "--target", "IMN", "Her sister had IMN metastasis."]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "target": "IMN",
        "assertion": "family",
        "trigger": "sister",
        "rule": "family.experiencer",
    }


def _lexicon(rules: list[dict[str, object]]) -> dict[str, object]:
    return {"terms": [{"term": "imn"}], "rules": rules}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"id": "x", "kind": "negated", "pre": ["no"], "direction": "pre"}], "unknown keys"),
        ([{"id": "x", "kind": "negated"}, {"id": "x", "kind": "uncertain"}], "used twice"),
        ([{"id": "x", "kind": "denied", "pre": ["no"]}], "has kind 'denied'"),
        ([{"id": "x", "kind": "uncertain", "label": ["maybe"]}], "only negated rules"),
        ([{"kind": "negated", "pre": ["no"]}], "needs a text 'id'"),
        ([{"id": "x", "kind": "negated", "pre": "no"}], "must be a list"),
        (
            [
                {"id": "a", "kind": "negated", "pre": ["no"]},
                {"id": "b", "kind": "negated", "pre": ["no"]},
            ],
            "listed both in a and in b",
        ),
    ],
)
def test_lexicon_structure_is_validated(rules: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_lexicon(_lexicon(rules))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {
                "terms": [{"term": "imn"}],
                "rules": [{"id": "neg", "kind": "negated", "pre": [False]}],
            },
            "lexicon '<memory>': rules[0] (neg).pre[0] must be text, got False; quote it in YAML",
        ),
        (
            {"terms": [{"term": "imn"}], "window": {"hypothetical": {"cjk": 3}}},
            "lexicon '<memory>': window.hypothetical has unknown keys ['cjk']; "
            "use cjk_chars, post_words, pre_words",
        ),
        (
            {"terms": [{"term": "imn"}], "sections": [{"name": "h", "assertion": "past"}]},
            "lexicon '<memory>': sections[0] (h) has assertion 'past'; use one of 'affirmed', "
            "'negated', 'uncertain', 'historical', 'hypothetical' or 'family'",
        ),
        (
            {"terms": [{"term": "imn"}], "terminations": [{"categories": ["neg"]}]},
            "lexicon '<memory>': terminations[0].categories[0] is 'neg'; use one of 'negated', "
            "'uncertain', 'historical', 'past_only', 'hypothetical', 'family', 'described', "
            "'present', 'impression' or 'cause'",
        ),
        (
            {"terms": [{"term": "imn"}], "bogus": 1},
            "lexicon '<memory>': the file has unknown keys ['bogus']; use pseudo, rules, "
            "sections, terminations, terms, triggers, version, window",
        ),
        ({"terms": []}, "lexicon '<memory>': defines no terms; add at least one under 'terms'"),
    ],
)
def test_lexicon_model_names_the_bad_entry(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_lexicon(raw)
    assert str(caught.value) == message


def test_lexicon_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("terms:\n  - term: imn\nrules:\n  - id: x\n    kind: negated\n    pre: [no]\n")
    with pytest.raises(ConfigError) as caught:
        load_lexicon(path)
    assert str(caught.value) == (
        f"lexicon '{path}': rules[0] (x).pre[0] must be text, got False; quote it in YAML"
    )


def test_legacy_triggers_get_rule_ids() -> None:
    lexicon = parse_lexicon(
        {"terms": [{"term": "imn"}], "triggers": {"negated": {"pre": ["nary a"]}}}
    )
    result = classify("IMN", "Nary a IMN.", lexicon)
    assert (result.assertion, result.rule) == ("negated", "negated.pre")


def test_detecting_excludes_history_and_indication() -> None:
    mentions = pd.DataFrame(
        {
            "assertion": ["affirmed", "affirmed", "affirmed", "uncertain", "family"],
            "section": ["findings", "history", "indication", "findings", "history"],
        }
    )
    assert detecting(mentions).tolist() == [True, False, False, False, False]


STUDY_ZH = "1.2.826.0.1.3680043.8.498.710"
STUDY_IND = "1.2.826.0.1.3680043.8.498.720"


def test_chinese_sr_with_kaolv_zhuanyi_detects_and_indication_never(
    export: Path, out: Path
) -> None:
    write_sr(
        export / "zh" / "sr.dcm",
        [
            text_item("检查所见", "左侧内乳区见肿大淋巴结，短径约1.1cm，增强扫描呈环形强化。"),
            text_item("诊断意见", "左侧内乳淋巴结肿大，考虑转移。"),
        ],
        sop_uid="1.2.826.0.1.3680043.8.498.711",
        patient_id="PATZH1",
        study_uid=STUDY_ZH,
    )
    write_sr(
        export / "ind" / "sr.dcm",
        [
            text_item("Indication", "Breast cancer, known left IMN metastasis, assess response."),
            text_item("Findings", "The lungs are clear."),
        ],
        sop_uid="1.2.826.0.1.3680043.8.498.721",
        patient_id="PATIND",
        study_uid=STUDY_IND,
    )
    studies = [
        {
            "study_instance_uid": uid,
            "study_date": "20240101",
            "modalities": "CT;SR",
            "study_description": "",
        }
        for uid in (STUDY_ZH, STUDY_IND)
    ]
    write_index(out, [("zh/sr.dcm", "sr"), ("ind/sr.dcm", "sr")], studies=studies)
    run_reports_stage(export, out, load_config(), SECRET)
    mentions = pd.read_parquet(out / "mentions.parquet")
    zh_key, ind_key = pseudonym(SECRET, "PATZH1"), pseudonym(SECRET, "PATIND")
    zh = mentions[mentions["patient_key"] == zh_key]
    assert list(zip(zh["term"], zh["assertion"], zh["trigger"], zh["rule"], strict=True)) == [
        ("内乳区", "affirmed", "肿大", "affirmed.described"),
        ("内乳淋巴结", "affirmed", "考虑", "affirmed.impression"),
    ]
    ind = mentions[mentions["patient_key"] == ind_key]
    assert list(zip(ind["assertion"], ind["rule"], strict=True)) == [
        ("hypothetical", "hypothetical.indication")
    ]
    cohort = pd.read_csv(out / "cohort.csv")
    assert cohort["patient_key"].tolist() == [zh_key]
    # both patients confirmed by annotation: the Chinese CT detects, the indication never does
    nodes = pd.DataFrame({"patient_key": [zh_key, ind_key], "metastatic": [True, True]})
    reports = pd.read_parquet(out / "reports.parquet")
    table = modality_detection_table(mentions, build_cohort(mentions, nodes), reports)
    ct = table.set_index("modality").loc["CT"]
    assert (ct["patients_with_report"], ct["detected"]) == (2, 1)


def test_spreadsheet_csvs_carry_a_bom_and_still_read(export: Path, out: Path) -> None:
    write_sr(
        export / "zh" / "sr.dcm",
        [text_item("诊断意见", "左侧内乳淋巴结肿大，考虑转移。")],
        sop_uid="1.2.826.0.1.3680043.8.498.731",
        patient_id="PATZH2",
        study_uid=STUDY_ZH,
    )
    write_index(out, [("zh/sr.dcm", "sr")])
    run_reports_stage(export, out, load_config(), SECRET)
    for path in (out / "cohort.csv", out / "restricted" / "worklist.csv"):
        assert path.read_bytes()[:3] == b"\xef\xbb\xbf", path
    worklist = pd.read_csv(out / "restricted" / "worklist.csv", dtype=str, keep_default_na=False)
    assert worklist.columns[0] == "PatientID"
    assert worklist["sentence"].tolist() == ["左侧内乳淋巴结肿大，考虑转移。"]
    assert pd.read_csv(out / "cohort.csv").columns[0] == "patient_key"


def test_spaces_in_character_classes_stay_literal() -> None:
    assert expand("fdg[- ]avid") == r"(?<![A-Za-z0-9])fdg[- ]avid(?![A-Za-z0-9])"
    assert expand("no change") == r"(?<![A-Za-z0-9])no[\s\-]+change(?![A-Za-z0-9])"
    assert classify("IMN", "FDG-avid left IMN.").trigger == "FDG-avid"
