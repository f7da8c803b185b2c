"""Rules for the failure families of the promoted blind split (CONTRACT section 3a).

Each rule is general: a past reference by time ("two years ago", "三年前", "at diagnosis",
"in 2021"), treatment or procedure ("was irradiated", "曾行穿刺活检"); an inverted conditional
("Were an IMN present"); label, elliptical ("... are not") and normal-size negations; hedges
("perhaps", "或为", "鉴别", "难以确定"); a nature or cause hedge of a finding that is not named
as a node (``uncertain.not-a-node``). Every rule is checked in both languages and in both
directions: the sentences it must decide and the sentences next to them that it must leave
alone.
"""

from __future__ import annotations

import pytest

from imncohort.reports.assertion import classify, scan_triggers
from imncohort.reports.lexicon import load_lexicon

# (rule id, target, sentence, assertion, trigger)
FAMILIES = [
    (
        "affirmed.cause-hedged",
        "内乳淋巴结",
        "右侧内乳淋巴结肿大，约12mm，反应性增生与转移鉴别。",
        "affirmed",
        "鉴别",
    ),
    (
        "affirmed.cause-hedged",
        "internal mammary node",
        "Enlarged internal mammary node, metastasis cannot be excluded.",
        "affirmed",
        "cannot be excluded",
    ),
    ("affirmed.cause-hedged", "内乳区", "左侧内乳区见肿大淋巴结，性质待定。", "affirmed", "待定"),
    (
        "affirmed.cause-hedged",
        "IMN",
        "Enlarged right IMN, likely metastatic.",
        "affirmed",
        "likely",
    ),
    ("affirmed.cause-hedged", "IMN", "Likely metastatic right IMN, 12 mm.", "affirmed", "Likely"),
    (
        "affirmed.cause-hedged",
        "internal mammary node",
        "Internal mammary node enlargement, reactive versus metastatic.",
        "affirmed",
        "versus",
    ),
    ("affirmed.cause-hedged", "内乳淋巴结", "右侧内乳淋巴结约8mm，性质不明。", "affirmed", "不明"),
    (
        "affirmed.cause-hedged",
        "IMN",
        "Enlarged right IMN of uncertain etiology.",
        "affirmed",
        "of uncertain",
    ),
    ("affirmed.default", "IMN", "IMN: clearly enlarged, 14 mm.", "affirmed", ""),
    ("affirmed.default", "IMNs", "Axillary nodes are not enlarged; the IMNs are.", "affirmed", ""),
    ("affirmed.default", "内乳淋巴结", "内乳淋巴结：转移（穿刺证实）。", "affirmed", ""),
    (
        "affirmed.described",
        "internal mammary node",
        "Soft tissue extending past the sternal border and an enlarged internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary nodes",
        "Internal mammary nodes were enlarged, up to 11 mm.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "内乳淋巴结",
        "乳腺未见明显异常，右侧内乳淋巴结肿大。",
        "affirmed",
        "肿大",
    ),
    (
        "affirmed.described",
        "内乳淋巴结",
        "腋窝淋巴结或为反应性，右侧内乳淋巴结肿大。",
        "affirmed",
        "肿大",
    ),
    (
        "affirmed.trend",
        "IMN",
        "The right IMN has grown since the CT two years ago.",
        "affirmed",
        "has grown",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "The left internal mammary node was irradiated in 2022 and has since enlarged to 12 mm.",
        "affirmed",
        "and has since enlarged",
    ),
    (
        "affirmed.trend",
        "IMN",
        "Following radiotherapy to the chest wall, the left IMN persists at 9 mm.",
        "affirmed",
        "persists",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "Following surgery in 2023, the internal mammary node is still enlarged, 10 mm.",
        "affirmed",
        "still enlarged",
    ),
    ("affirmed.trend", "内乳淋巴结", "右侧内乳淋巴结放疗后较前缩小，现约5mm。", "affirmed", "较前"),
    ("affirmed.trend", "内乳淋巴结", "前次右侧内乳淋巴结约8mm，本次约14mm。", "affirmed", "本次"),
    ("affirmed.trend", "IMN", "Right IMN is not resolved.", "affirmed", "is not resolved"),
    (
        "affirmed.trend",
        "内乳淋巴结",
        "疗效评价：右侧内乳淋巴结较前缩小，约6mm。",
        "affirmed",
        "较前",
    ),
    (
        "affirmed.trend",
        "内乳淋巴结",
        "右侧内乳淋巴结已行放疗，现仍可见，约6mm。",
        "affirmed",
        "仍可见",
    ),
    ("affirmed.trend", "IMN", "Right IMN, stable since 2021.", "affirmed", "stable"),
    (
        "affirmed.trend",
        "internal mammary node",
        "The left internal mammary node, first seen in 2024, is again visualised at 8 mm.",
        "affirmed",
        "again visualised",
    ),
    (
        "historical.past",
        "IMN",
        "Right IMN metastasis diagnosed two years ago.",
        "historical",
        "two years ago",
    ),
    ("historical.past", "内乳淋巴结", "三年前发现右侧内乳淋巴结转移。", "historical", "三年前"),
    (
        "historical.past",
        "内乳淋巴结",
        "2019年右侧内乳淋巴结转移，已行放疗。",
        "historical",
        "2019年",
    ),
    (
        "historical.past",
        "IMN",
        "IMN positive at diagnosis, treated with chemotherapy.",
        "historical",
        "at diagnosis",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Past internal mammary node involvement on the right.",
        "historical",
        "Past",
    ),
    (
        "historical.past",
        "internal mammary node",
        "The left internal mammary node was irradiated in 2022.",
        "historical",
        "was irradiated",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Internal mammary node metastasis, treated with radiotherapy in 2020.",
        "historical",
        "treated with radiotherapy",
    ),
    (
        "historical.past",
        "internal mammary nodes",
        "Changes following radiotherapy to the internal mammary nodes.",
        "historical",
        "following radiotherapy",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Internal mammary node on the 2023 outside staging CT, per the outside records.",
        "historical",
        "on the 2023 outside staging CT",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Internal mammary node on prior staging MRI.",
        "historical",
        "on prior staging MRI",
    ),
    ("historical.past", "内乳淋巴结", "右侧内乳淋巴结转移（外院资料）。", "historical", "外院资料"),
    (
        "historical.past",
        "IMN",
        "IMN involvement at presentation in 2021.",
        "historical",
        "at presentation",
    ),
    (
        "historical.past",
        "IMN",
        "Left IMN metastasis at initial staging, treated.",
        "historical",
        "at initial staging",
    ),
    (
        "historical.past",
        "internal mammary nodes",
        "Internal mammary nodes were included in the radiation field in 2023.",
        "historical",
        "were included in the radiation field",
    ),
    (
        "historical.past",
        "internal mammary node",
        "An internal mammary node was biopsied in 2020 (benign).",
        "historical",
        "was biopsied",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Remote internal mammary node metastasis, treated with chemoradiation.",
        "historical",
        "Remote",
    ),
    (
        "historical.past",
        "internal mammary node",
        "The internal mammary node described on the previous report.",
        "historical",
        "described on the previous report",
    ),
    ("historical.past", "内乳淋巴结", "右侧内乳淋巴结曾行穿刺活检。", "historical", "曾行穿刺"),
    ("historical.past", "内乳淋巴结", "内乳淋巴结转移已行放疗。", "historical", "已行放疗"),
    (
        "historical.resolved",
        "IMN",
        "Surgical clips from a prior IMN dissection.",
        "historical",
        "dissection",
    ),
    (
        "historical.resolved",
        "internal mammary node",
        "Clips at the right 3rd intercostal space after excision of an internal mammary node.",
        "historical",
        "excision of",
    ),
    (
        "historical.resolved",
        "内乳淋巴结",
        "右侧内乳淋巴结清扫术后，局部未见复发。",
        "historical",
        "清扫术后",
    ),
    (
        "historical.resolved",
        "IMNs",
        "The IMNs were resected in 2015.",
        "historical",
        "were resected",
    ),
    (
        "historical.section",
        "内乳淋巴结",
        "病史摘要：右乳癌，内乳淋巴结转移。",
        "historical",
        "section:history",
    ),
    (
        "historical.section",
        "internal mammary node",
        "Pertinent history: internal mammary node on the left.",
        "historical",
        "section:history",
    ),
    (
        "hypothetical.condition",
        "internal mammary node",
        "Were an internal mammary node present, the stage would be N3b.",
        "hypothetical",
        "Were",
    ),
    (
        "hypothetical.condition",
        "IMN",
        "Were the IMN to enlarge, biopsy would be advised.",
        "hypothetical",
        "Were",
    ),
    (
        "hypothetical.condition",
        "internal mammary node",
        "Biopsy of the internal mammary node will be performed if it exceeds 8 mm.",
        "hypothetical",
        "will be performed",
    ),
    (
        "hypothetical.condition",
        "内乳淋巴结",
        "若内乳淋巴结增大，建议穿刺活检。",
        "hypothetical",
        "若",
    ),
    (
        "hypothetical.indication",
        "内乳淋巴结",
        "申请单：乳腺癌术前，内乳淋巴结？",
        "hypothetical",
        "section:indication",
    ),
    (
        "hypothetical.indication",
        "internal mammary nodes",
        "Reason for request: internal mammary nodes?",
        "hypothetical",
        "section:indication",
    ),
    (
        "hypothetical.request",
        "internal mammary nodes",
        "Radiotherapy to the internal mammary nodes is planned.",
        "hypothetical",
        "is planned",
    ),
    (
        "hypothetical.request",
        "IMN",
        "IMN dissection is recommended.",
        "hypothetical",
        "is recommended",
    ),
    (
        "hypothetical.request",
        "internal mammary node",
        "Excision of the enlarged internal mammary node is planned.",
        "hypothetical",
        "is planned",
    ),
    (
        "hypothetical.request",
        "内乳淋巴结",
        "本次检查主要为评价内乳淋巴结。",
        "hypothetical",
        "评价",
    ),
    (
        "hypothetical.request",
        "internal mammary node",
        "Correlate for internal mammary node on MRI.",
        "hypothetical",
        "Correlate for",
    ),
    (
        "negated.after",
        "internal mammary nodes",
        "Internal mammary nodes were not enlarged.",
        "negated",
        "not enlarged",
    ),
    (
        "negated.after",
        "internal mammary nodes",
        "Axillary nodes are enlarged; internal mammary nodes are not.",
        "negated",
        "are not",
    ),
    (
        "negated.after",
        "IMNs",
        "The axillary nodes are enlarged but the IMNs are not.",
        "negated",
        "are not",
    ),
    (
        "negated.after",
        "internal mammary region",
        "Internal mammary region free of adenopathy.",
        "negated",
        "free of",
    ),
    ("negated.after", "内乳淋巴结", "双侧内乳淋巴结无肿大。", "negated", "无肿大"),
    ("negated.after", "内乳淋巴结", "腋窝或内乳淋巴结未见肿大。", "negated", "未见肿大"),
    (
        "negated.before",
        "internal mammary node",
        "No internal mammary node, perhaps a vessel.",
        "negated",
        "No",
    ),
    ("negated.before", "IMN", "No IMN enlargement.", "negated", "No"),
    ("negated.before", "内乳淋巴结", "未见右侧内乳淋巴结，血管显示清楚。", "negated", "未见"),
    (
        "negated.before",
        "internal mammary node",
        "No internal mammary node or vessel abnormality.",
        "negated",
        "No",
    ),
    ("negated.label", "IMN", "IMN: clear.", "negated", "clear"),
    (
        "negated.label",
        "internal mammary nodes",
        "Internal mammary nodes: not visualized.",
        "negated",
        "not visualized",
    ),
    ("negated.label", "IMN", "Left IMN: not detected.", "negated", "not detected"),
    ("negated.label", "内乳区", "内乳区：未见异常。", "negated", "未见异常"),
    (
        "negated.normal",
        "internal mammary nodes",
        "The internal mammary nodes are of normal size.",
        "negated",
        "are of normal size",
    ),
    (
        "negated.normal",
        "internal mammary node",
        "Internal mammary node of normal size and appearance.",
        "negated",
        "of normal size",
    ),
    ("negated.normal", "胸骨旁淋巴结", "未见异常胸骨旁淋巴结。", "negated", "未见异常"),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Small parasternal soft tissue, perhaps an internal mammary node.",
        "uncertain",
        "perhaps",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Maybe a small internal mammary node at the left 2nd intercostal space.",
        "uncertain",
        "Maybe",
    ),
    ("uncertain.hedge", "内乳淋巴结", "右侧胸骨旁小结节，或为内乳淋巴结。", "uncertain", "或为"),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "左侧胸骨旁点状强化，需与内乳淋巴结鉴别。",
        "uncertain",
        "鉴别",
    ),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "右侧胸骨旁软组织影，内乳淋巴结与血管难以区分。",
        "uncertain",
        "难以区分",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Findings are equivocal for an internal mammary node.",
        "uncertain",
        "are equivocal for",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "The differential for the parasternal nodule includes an internal mammary node.",
        "uncertain",
        "differential for the parasternal nodule includes",
    ),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "左侧内乳淋巴结与血管鉴别困难，性质待定。",
        "uncertain",
        "鉴别困难",
    ),
    ("uncertain.hedge", "IMN", "Probable metastatic right IMN.", "uncertain", "Probable"),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Differential considerations include an internal mammary node.",
        "uncertain",
        "Differential considerations include",
    ),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "右侧内乳区结节，需鉴别内乳淋巴结与血管。",
        "uncertain",
        "需鉴别",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "An internal mammary node of uncertain significance.",
        "uncertain",
        "of uncertain",
    ),
    (
        "uncertain.hedge",
        "parasternal nodule",
        "A parasternal nodule of indeterminate nature is noted on the left.",
        "uncertain",
        "of indeterminate",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "A vessel or a small internal mammary node.",
        "uncertain",
        "A vessel or",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Small internal mammary node or vessel at the 2nd interspace.",
        "uncertain",
        "or vessel",
    ),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "右侧内乳区点状强化，考虑血管或内乳淋巴结。",
        "uncertain",
        "血管或",
    ),
    (
        "uncertain.hedge",
        "内乳淋巴结",
        "右侧内乳区小结节，内乳淋巴结或血管。",
        "uncertain",
        "或血管",
    ),
    ("uncertain.not-a-node", "内乳结节", "右侧内乳结节约5mm，性质待定。", "uncertain", "待定"),
    (
        "uncertain.not-a-node",
        "parasternal nodule",
        "Right parasternal nodule, 8 mm, likely metastatic.",
        "uncertain",
        "likely",
    ),
    ("uncertain.not-a-node", "内乳结节", "左侧内乳结节，约6mm，性质不明。", "uncertain", "不明"),
    (
        "uncertain.not-excluded",
        "internal mammary node",
        "An internal mammary node at the 2nd intercostal space cannot be excluded.",
        "uncertain",
        "at the 2nd intercostal space cannot be excluded",
    ),
    (
        "uncertain.not-excluded",
        "internal mammary nodal metastasis",
        "Internal mammary nodal metastasis cannot be completely excluded.",
        "uncertain",
        "cannot be completely excluded",
    ),
    (
        "uncertain.not-excluded",
        "内乳淋巴结",
        "右侧内乳淋巴结转移不能完全排除。",
        "uncertain",
        "不能完全排除",
    ),
    (
        "uncertain.undecided",
        "内乳淋巴结",
        "右侧胸骨旁结节，是否为内乳淋巴结难以确定。",
        "uncertain",
        "难以确定",
    ),
    (
        "uncertain.undecided",
        "internal mammary node",
        "Whether this is an internal mammary node is indeterminate.",
        "uncertain",
        "is indeterminate",
    ),
]


@pytest.mark.parametrize(("rule", "target", "sentence", "assertion", "trigger"), FAMILIES)
def test_family_rule(rule: str, target: str, sentence: str, assertion: str, trigger: str) -> None:
    result = classify(target, sentence)
    assert (result.assertion, result.trigger, result.rule) == (assertion, trigger, rule)


def test_every_family_rule_is_named_and_in_both_languages() -> None:
    languages: dict[str, set[str]] = {}
    for rule, _, sentence, _, _ in FAMILIES:
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in sentence)
        languages.setdefault(rule, set()).add("zh" if zh else "en")
    assert set(languages) <= set(load_lexicon().rule_ids)
    assert "uncertain.not-a-node" in languages
    assert {r: f for r, f in languages.items() if f != {"en", "zh"}} == {}


def test_a_scan_after_the_target_keeps_the_sentence_start() -> None:
    # "Were" opens a conditional only at the start of the sentence, not after the target
    sentence = "The IMNs were resected in 2015."
    after = scan_triggers(sentence, load_lexicon(), 8)
    assert [(h.text, h.spec.kind) for h in after][:1] == [("were resected", "past_only")]
    first = scan_triggers("Were an IMN present, N3b.", load_lexicon())[0]
    assert (first.text, first.spec.kind) == ("Were", "hypothetical")
