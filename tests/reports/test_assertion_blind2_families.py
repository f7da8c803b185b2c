"""Rules for the failure families of blind2, promoted to development (CONTRACT section 3a).

The sentences here are not blind2's: each is another writer's wording of one family, and
its neighbours that the rule must leave alone.

- a finding described only on a dated, baseline or outside examination ("MRI dated
  2024-06-03 demonstrated ...", "On the prior PET-CT there was ...", 外院CT示, 当时, 初诊时)
  is historical, and a statement about today still wins ("has enlarged", 较前增大);
- a return or recurrence beats a past resolution ("the node that had resolved is again
  seen", "recurrent IMN", 部分消退) and change-free wording is present ("without interval
  change", 变化不大, 上次检查未见的 ... 本次可见);
- a sentence-initial "Normal", physiologic uptake (生理性摄取), "without abnormal X in" and
  "no/nothing ... to suggest" negate; "either X or an IMN", 疑, 不易鉴别 hedge;
- a clause-initial "Should", 如确诊 and a future examination ("on the next scan") make a
  condition; a bare question mark opens its sentence ("? left IMN", "？左侧内乳淋巴结转移");
- a pattern that ends in Chinese takes no ASCII word boundary ("2024年6月CT示").
"""

from __future__ import annotations

import pytest

from imncohort.reports.assertion import classify
from imncohort.reports.lexicon import load_lexicon
from imncohort.reports.lexicon_schema import expand
from imncohort.reports.sentences import split_sentences

# (rule id, target, sentence, assertion, trigger)
FAMILIES = [
    ("affirmed.described", "IMN", "Left IMN 9 mm (8 mm on 2024-06-03).", "affirmed", "9 mm"),
    (
        "affirmed.described",
        "内乳淋巴结",
        "左侧内乳淋巴结约9mm，较2024-06-03片增大。",
        "affirmed",
        "约",
    ),
    (
        "affirmed.described",
        "IMN",
        "Normal breast parenchyma with an enlarged left IMN.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "IMN",
        "Enlarged left IMN with intense uptake, physiologic uptake in the myocardium.",
        "affirmed",
        "Enlarged",
    ),
    (
        "affirmed.described",
        "IMN",
        "Biopsy of the enlarged IMN should be performed.",
        "affirmed",
        "enlarged",
    ),
    ("affirmed.described", "内乳淋巴结", "左侧内乳淋巴结复发，约8mm。", "affirmed", "约"),
    (
        "affirmed.described",
        "IMN",
        "At baseline and today the left IMN measures 9 mm.",
        "affirmed",
        "measures",
    ),
    (
        "affirmed.morphology",
        "内乳淋巴结",
        "右侧内乳淋巴结门部结构消失，约9mm。",
        "affirmed",
        "门部结构消失",
    ),
    (
        "affirmed.morphology",
        "IMN",
        "Enlarged left IMN with loss of the fatty hilum.",
        "affirmed",
        "with loss of the fatty hilum",
    ),
    (
        "affirmed.trend",
        "IMN",
        "Compared with the CT of 2024-06-03, the left IMN has enlarged to 12 mm.",
        "affirmed",
        "has enlarged",
    ),
    (
        "affirmed.trend",
        "IMN",
        "Since 2024-06-03 the left IMN is unchanged at 8 mm.",
        "affirmed",
        "unchanged",
    ),
    (
        "affirmed.trend",
        "内乳淋巴结",
        "与2024-06-03 CT比较，左侧内乳淋巴结较前增大，约12mm。",
        "affirmed",
        "较前",
    ),
    (
        "affirmed.trend",
        "IMN",
        "The left IMN that had resolved is again seen, 7 mm.",
        "affirmed",
        "again seen",
    ),
    ("affirmed.trend", "IMN", "Recurrent left IMN, 8 mm.", "affirmed", "Recurrent"),
    ("affirmed.trend", "内乳淋巴结", "左侧内乳淋巴结部分消退，约6mm。", "affirmed", "部分消退"),
    (
        "affirmed.trend",
        "内乳淋巴结",
        "上次检查未见的右侧内乳淋巴结本次可见，约6mm。",
        "affirmed",
        "上次检查未见的",
    ),
    ("affirmed.trend", "内乳淋巴结", "右侧内乳淋巴结与前片相比变化不大。", "affirmed", "变化不大"),
    (
        "affirmed.trend",
        "IMN",
        "Left IMN without interval change, 8 mm.",
        "affirmed",
        "without interval change",
    ),
    (
        "affirmed.trend",
        "IMN",
        "Left IMN, which currently measures 9 mm.",
        "affirmed",
        "currently measures",
    ),
    ("affirmed.trend", "内乳淋巴结", "前片未见的左侧内乳淋巴结，本次约6mm。", "affirmed", "本次"),
    ("affirmed.trend", "内乳淋巴结", "左侧内乳淋巴结，现约9mm，前次约6mm。", "affirmed", "现"),
    (
        "affirmed.trend",
        "内乳淋巴结",
        "基线时约6mm的左侧内乳淋巴结本次增大至11mm。",
        "affirmed",
        "本次",
    ),
    (
        "historical.past",
        "IMN",
        "COMPARISON: MRI dated 2024-06-03 demonstrated an 8 mm left IMN.",
        "historical",
        "2024-06-03",
    ),
    (
        "historical.past",
        "IMN",
        "On the prior PET-CT there was an FDG-avid right IMN.",
        "historical",
        "On the prior PET-CT there was",
    ),
    (
        "historical.past",
        "内乳淋巴结",
        "对比：2024-06-03 MRI示左侧内乳淋巴结约8mm。",
        "historical",
        "2024-06-03",
    ),
    ("historical.past", "内乳淋巴结", "外院CT示左侧内乳淋巴结肿大。", "historical", "外院"),
    ("historical.past", "内乳淋巴结", "当时左侧内乳淋巴结约10mm。", "historical", "当时"),
    (
        "historical.resolved",
        "IMN",
        "Changes after resection of the left IMN.",
        "historical",
        "resection of",
    ),
    ("historical.past", "内乳淋巴结", "初诊时伴左侧内乳淋巴结转移。", "historical", "初诊时"),
    (
        "historical.past",
        "内乳淋巴结",
        "2024年6月CT示左侧内乳淋巴结约8mm。",
        "historical",
        "2024年6月",
    ),
    (
        "historical.past",
        "IMN",
        "At baseline a 9 mm left IMN was present.",
        "historical",
        "At baseline",
    ),
    (
        "historical.resolved",
        "IMN",
        "The left IMN has resolved; the axillary node is unchanged.",
        "historical",
        "has resolved",
    ),
    ("historical.resolved", "内乳淋巴结", "左侧内乳淋巴结已消失，余同前。", "historical", "已消失"),
    ("historical.resolved", "内乳淋巴结", "左侧内乳淋巴结已消退。", "historical", "已消退"),
    (
        "hypothetical.condition",
        "IMN",
        "Should the IMN enlarge, biopsy is advised.",
        "hypothetical",
        "Should the",
    ),
    (
        "hypothetical.condition",
        "内乳淋巴结",
        "若确诊右侧内乳淋巴结转移，放疗范围应包括内乳区。",
        "hypothetical",
        "若确诊",
    ),
    (
        "historical.past",
        "IMN",
        "Nodular scarring after biopsy of the left IMN.",
        "historical",
        "after biopsy",
    ),
    (
        "historical.resolved",
        "内乳淋巴结",
        "左侧内乳淋巴结，前次约6mm，现已消失。",
        "historical",
        "已消失",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "IMPRESSION: Should IMN metastasis be proven, the chain is treated.",
        "hypothetical",
        "Should",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "Should IMN involvement be confirmed, radiotherapy will include the chain.",
        "hypothetical",
        "Should",
    ),
    (
        "hypothetical.condition",
        "内乳淋巴结",
        "如确诊内乳淋巴结转移，需行放疗。",
        "hypothetical",
        "如确诊",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "IMN enlargement on the next scan would prompt biopsy.",
        "hypothetical",
        "on the next scan",
    ),
    ("hypothetical.condition", "内乳淋巴结", "若内乳淋巴结增大，建议穿刺。", "hypothetical", "若"),
    ("hypothetical.question", "IMN", "? left IMN", "hypothetical", "?"),
    ("hypothetical.question", "内乳淋巴结", "？左侧内乳淋巴结转移", "hypothetical", "？"),
    (
        "negated.after",
        "IMN",
        "IMN regions without abnormal enhancement.",
        "negated",
        "without abnormal enhancement",
    ),
    ("negated.after", "内乳淋巴结", "双侧内乳淋巴结未见肿大。", "negated", "未见肿大"),
    ("negated.before", "IMN", "No abnormal enhancement in the IMN region.", "negated", "No"),
    (
        "negated.before",
        "IMN",
        "No focal uptake to suggest IMN metastasis.",
        "negated",
        "No focal uptake to suggest",
    ),
    (
        "negated.before",
        "IMN",
        "Nothing to suggest IMN involvement.",
        "negated",
        "Nothing to suggest",
    ),
    ("negated.before", "内乳淋巴结", "未见提示内乳淋巴结转移的异常摄取。", "negated", "未见"),
    ("negated.label", "内乳淋巴结", "内乳淋巴结：未见肿大。", "negated", "未见肿大"),
    ("negated.label", "IMN", "Left IMN: normal.", "negated", "normal"),
    ("negated.normal", "IMN", "Normal IMN.", "negated", "Normal"),
    (
        "negated.normal",
        "internal mammary nodes",
        "Normal internal mammary nodes bilaterally.",
        "negated",
        "Normal",
    ),
    (
        "negated.normal",
        "IMN",
        "Physiologic uptake in the IMN region.",
        "negated",
        "Physiologic uptake",
    ),
    ("negated.normal", "内乳淋巴结", "内乳淋巴结区呈生理性摄取。", "negated", "生理性摄取"),
    ("uncertain.hedge", "内乳淋巴结", "疑左侧内乳淋巴结转移。", "uncertain", "疑"),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "左侧内乳区结节，内乳淋巴结与血管不易鉴别。",
        "uncertain",
        "不易鉴别",
    ),
    ("uncertain.hedge", "IMN", "Either a vessel or an IMN.", "uncertain", "Either a vessel or an"),
    (
        "uncertain.hedge",
        "IMN",
        "Small focus, either an intercostal vessel or a left IMN.",
        "uncertain",
        "either an intercostal vessel or a",
    ),
    (
        "uncertain.not-excluded",
        "内乳淋巴结",
        "平扫内乳淋巴结显示不清，转移不除外。",
        "uncertain",
        "不除外",
    ),
    (
        "uncertain.not-excluded",
        "IMN",
        "Metastasis to the left IMN cannot be excluded.",
        "uncertain",
        "cannot be excluded",
    ),
    ("historical.past", "IMN", "The 2024 CT showed a 9 mm left IMN.", "historical", "2024 CT"),
    (
        "historical.past",
        "IMN",
        "MRI dated 06/03/2024 showed an 8 mm right IMN.",
        "historical",
        "06/03/2024",
    ),
    (
        "historical.past",
        "内乳淋巴结",
        "2024.06.03 CT示左侧内乳淋巴结约8mm。",
        "historical",
        "2024.06.03",
    ),
    ("historical.past", "内乳淋巴结", "前片示左侧内乳淋巴结约8mm。", "historical", "前片"),
    (
        "affirmed.described",
        "内乳淋巴结",
        "与前片比较，左侧内乳淋巴结增大，约12mm。",
        "affirmed",
        "增大",
    ),
    ("affirmed.trend", "内乳淋巴结", "左侧内乳淋巴结较前片增大，约12mm。", "affirmed", "较前"),
    ("affirmed.trend", "内乳淋巴结", "左侧内乳淋巴结大小同前片，约8mm。", "affirmed", "同前"),
    (
        "affirmed.trend",
        "IMN",
        "Compared with March 2025, the left IMN has grown to 12 mm.",
        "affirmed",
        "has grown",
    ),
    (
        "affirmed.described",
        "IMN",
        "The left IMN measures 12 mm, up from 8 mm in March 2025.",
        "affirmed",
        "measures",
    ),
    (
        "negated.normal",
        "IMN",
        "Physiologic activity only in the IMN region.",
        "negated",
        "Physiologic activity",
    ),
    ("negated.normal", "内乳淋巴结", "内乳淋巴结区仅见生理性浓聚。", "negated", "仅见生理性浓聚"),
    (
        "affirmed.described",
        "IMN",
        "Enlarged IMN; physiologic uptake in the heart.",
        "affirmed",
        "Enlarged",
    ),
    ("affirmed.trend", "IMN", "An enlarged IMN is new since the 2024 CT.", "affirmed", "is new"),
    ("affirmed.described", "内乳淋巴结", "右侧内乳淋巴结约9mm，前片约6mm。", "affirmed", "约"),
]


@pytest.mark.parametrize(("rule", "target", "sentence", "assertion", "trigger"), FAMILIES)
def test_blind2_family_rule(
    rule: str, target: str, sentence: str, assertion: str, trigger: str
) -> None:
    result = classify(target, sentence)
    assert (result.assertion, result.trigger, result.rule) == (assertion, trigger, rule)


def test_every_blind2_family_rule_is_named_and_in_both_languages() -> None:
    languages: dict[str, set[str]] = {}
    for rule, _, sentence, _, _ in FAMILIES:
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in sentence)
        languages.setdefault(rule, set()).add("zh" if zh else "en")
    assert set(languages) <= set(load_lexicon().rule_ids)
    assert {r: f for r, f in languages.items() if f != {"en", "zh"}} == {}


def test_a_pattern_ending_in_chinese_has_no_ascii_boundary() -> None:
    assert expand("\\d{4}年(?:\\d{1,2}月)?") == "\\d{4}年(?:\\d{1,2}月)?"
    assert expand("nodes?") == "(?<![A-Za-z0-9])nodes?(?![A-Za-z0-9])"
    assert expand("pet(?:[-/]ct)?").endswith("(?![A-Za-z0-9])")


def test_a_bare_question_mark_opens_its_sentence() -> None:
    assert split_sentences("Right IMN enlarged. ? Left IMN") == [
        "Right IMN enlarged.",
        "? Left IMN",
    ]
    assert split_sentences("右侧内乳淋巴结肿大。？左侧内乳淋巴结") == [
        "右侧内乳淋巴结肿大。",
        "？左侧内乳淋巴结",
    ]
    assert split_sentences("Is it? No.") == ["Is it?", "No."]
