"""Cue scope and comparison rules learnt from the second blind development set (dev2)."""

from __future__ import annotations

import pytest

from imncohort.reports.assertion import classify

# (rule id, target, sentence, assertion, trigger)
SCOPE = [
    # a hedge, negation or past reference of another finding ends at a new finding
    (
        "affirmed.described",
        "internal mammary node",
        "The liver lesion is possibly a cyst, and an enlarged internal mammary node "
        "measures 12 mm.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "A probable hepatic cyst and a 10 mm internal mammary node.",
        "affirmed",
        "10 mm",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Without axillary involvement, an internal mammary node measures 1 cm.",
        "affirmed",
        "measures",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Prior lumpectomy and a 9 mm internal mammary node.",
        "affirmed",
        "9 mm",
    ),
    # a new finding with its own description after a comma or "and" (cue.new-finding)
    (
        "affirmed.described",
        "internal mammary node",
        "No axillary adenopathy, enlarged right internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Mastectomy site unremarkable, left internal mammary node enlarged.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Likely benign liver cyst, right internal mammary node 9 mm.",
        "affirmed",
        "9 mm",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Indeterminate 4 mm lung nodule and enlarged right internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "negated.before",
        "internal mammary nodes",
        "No left axillary and left internal mammary nodes are identified.",
        "negated",
        "No",
    ),
    (
        "negated.over-hedge",
        "internal mammary nodes",
        "No suspicious, enlarged internal mammary nodes.",
        "negated",
        "No",
    ),
    (
        "negated.before",
        "internal mammary adenopathy",
        "No axillary, supraclavicular or internal mammary adenopathy.",
        "negated",
        "No",
    ),
    (
        "affirmed.described",
        "内乳淋巴结",
        "右乳结节可疑恶性，右侧内乳淋巴结可见，短径约8mm。",
        "affirmed",
        "可见",
    ),
    # 及/、 make a list under one hedge; a hedge right before the term is its own
    ("uncertain.hedge", "内乳淋巴结", "可疑左侧腋窝及内乳淋巴结肿大。", "uncertain", "可疑"),
    ("uncertain.hedge", "内乳淋巴结", "右乳癌，可疑腋窝、内乳淋巴结转移。", "uncertain", "可疑"),
    ("uncertain.hedge", "内乳淋巴结", "右乳肿块，可疑右侧内乳淋巴结肿大。", "uncertain", "可疑"),
    # after the target: a negation or hedge with a subject of its own (cue.new-finding)
    (
        "affirmed.described",
        "internal mammary node",
        "Right internal mammary node enlarged, axillary nodes negative.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Enlarged right internal mammary node and possible left axillary node.",
        "affirmed",
        "Enlarged",
    ),
    (
        "affirmed.described",
        "内乳淋巴结",
        "右侧内乳淋巴结肿大，腋窝淋巴结未见肿大。",
        "affirmed",
        "肿大",
    ),
    ("affirmed.described", "内乳淋巴结", "右侧内乳淋巴结肿大，可疑肝转移。", "affirmed", "肿大"),
    (
        "negated.after",
        "internal mammary node",
        "Right internal mammary node, axillary nodes not seen.",
        "negated",
        "not seen",
    ),
    (
        "negated.after",
        "internal mammary nodes",
        "Internal mammary and axillary nodes are not enlarged.",
        "negated",
        "not enlarged",
    ),
    ("negated.after", "内乳淋巴结", "右侧内乳淋巴结及腋窝淋巴结未见肿大。", "negated", "未见肿大"),
    (
        "affirmed.cause-hedged",
        "internal mammary node",
        "Enlarged internal mammary node, likely metastatic.",
        "affirmed",
        "likely",
    ),
    ("affirmed.cause-hedged", "内乳淋巴结", "右侧内乳淋巴结可见，可疑转移。", "affirmed", "可疑"),
    # a node word after the separator restates the target's own finding
    (
        "uncertain.hedge",
        "内乳链",
        "右侧内乳链小结节样强化，淋巴结可能，血管断面不除外。",
        "uncertain",
        "可能",
    ),
    # PET: uptake in a node describes it; a hedge of its cause leaves it affirmed
    (
        "affirmed.cause-hedged",
        "internal mammary node",
        "Low-level uptake in a right internal mammary node, likely reactive.",
        "affirmed",
        "likely",
    ),
    (
        "negated.before",
        "internal mammary node",
        "No abnormal uptake in the internal mammary nodes.",
        "negated",
        "No",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "No enlargement of the known right internal mammary node.",
        "affirmed",
        "No enlargement of the known",
    ),
    (
        "negated.before",
        "internal mammary nodes",
        "No enlargement of the internal mammary nodes.",
        "negated",
        "No",
    ),
    # an exception to a negation names a present finding
    (
        "affirmed.described",
        "internal mammary node",
        "No other suspicious lymph nodes besides the enlarged right internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.default",
        "internal mammary node",
        "No additional adenopathy beyond the known right internal mammary node.",
        "affirmed",
        "",
    ),
    # a list under one negation stays negated
    (
        "negated.before",
        "internal mammary adenopathy",
        "No pleural effusion, pericardial effusion or internal mammary adenopathy.",
        "negated",
        "No",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Possible axillary and internal mammary node metastases.",
        "uncertain",
        "Possible",
    ),
    # a statement about today ends a reference to the past
    (
        "affirmed.described",
        "internal mammary node",
        "Previously treated left breast cancer, now with an enlarged left internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Prior left mastectomy with an enlarged left internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "Previously resected, now recurrent internal mammary node.",
        "affirmed",
        "recurrent",
    ),
    (
        "historical.past",
        "internal mammary node",
        "History of breast cancer with internal mammary node metastasis.",
        "historical",
        "History of",
    ),
    (
        "historical.resolved",
        "internal mammary node",
        "The previously seen internal mammary node is now not seen.",
        "historical",
        "now not seen",
    ),
    # an earlier value of the same finding describes it today
    (
        "affirmed.value-comparison",
        "internal mammary lymph node",
        "Decreased but still visible uptake in the right internal mammary lymph node "
        "(SUVmax 2.4, previously 7.1).",
        "affirmed",
        "previously 7.1",
    ),
    (
        "affirmed.value-comparison",
        "internal mammary node",
        "The internal mammary node measures 9 mm, previously 6 mm.",
        "affirmed",
        "previously 6",
    ),
    (
        "affirmed.value-comparison",
        "内乳淋巴结",
        "左侧内乳淋巴结SUVmax 2.4，前次7.1。",
        "affirmed",
        "前次7.1",
    ),
    ("affirmed.trend", "IMN", "Left IMN, previously 8 mm, now 14 mm.", "affirmed", "now 14"),
    (
        "affirmed.trend",
        "parasternal node",
        "Persistent FDG uptake in the left parasternal node, SUVmax 3.1 versus 5.0 previously.",
        "affirmed",
        "Persistent",
    ),
    (
        "historical.resolved",
        "内乳淋巴结",
        "左侧内乳淋巴结，前次约6mm，现已消失。",
        "historical",
        "已消失",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "Internal mammary node metastasis, not previously seen.",
        "affirmed",
        "not previously seen",
    ),
    # a hedge about a named (not described) node doubts the node
    (
        "uncertain.not-excluded",
        "IM node",
        "Right IM node metastasis is not excluded.",
        "uncertain",
        "is not excluded",
    ),
    ("uncertain.hedge", "IMN", "Right IMN, possibly.", "uncertain", "possibly"),
    ("uncertain.hedge", "内乳淋巴结", "右侧内乳淋巴结，可能为转移。", "uncertain", "可能"),
    # partly resolved is still there; an earlier state compared with today
    (
        "affirmed.trend",
        "internal mammary node",
        "Right internal mammary node has almost resolved, now 3 mm.",
        "affirmed",
        "has almost resolved",
    ),
    ("affirmed.trend", "内乳淋巴结", "右侧内乳淋巴结明显缩小，部分消失。", "affirmed", "部分消失"),
    ("historical.resolved", "内乳淋巴结", "右侧内乳淋巴结已消失。", "historical", "已消失"),
    (
        "historical.resolved",
        "internal mammary node",
        "Right internal mammary node has resolved.",
        "historical",
        "has resolved",
    ),
    (
        "affirmed.trend",
        "internal mammary node",
        "Right internal mammary node, previously hypermetabolic, now shows mild uptake.",
        "affirmed",
        "now shows",
    ),
    (
        "affirmed.default",
        "internal mammary node",
        "Right internal mammary node, less avid than previously.",
        "affirmed",
        "",
    ),
    (
        "affirmed.default",
        "internal mammary node",
        "Not significantly changed right internal mammary node.",
        "affirmed",
        "",
    ),
    (
        "historical.past",
        "internal mammary node",
        "Right internal mammary node was previously enlarged.",
        "historical",
        "previously",
    ),
    # significance in doubt
    (
        # a density, not named as a node: its significance in doubt leaves it uncertain
        "uncertain.not-a-node",
        "internal mammary chain",
        "A tiny nodular density in the right internal mammary chain is of uncertain significance.",
        "uncertain",
        "is of uncertain",
    ),
    (
        "uncertain.hedge",
        "internal mammary lymph node",
        "Equivocal low-grade uptake in the region of the left internal mammary lymph node.",
        "uncertain",
        "Equivocal",
    ),
    # the past examination named with its year
    (
        "historical.past",
        "IMN",
        "A right IMN was present on the 2019 staging CT; not seen today.",
        "historical",
        "on the 2019 staging CT",
    ),
    (
        "historical.section",
        "Internal mammary lymph node",
        "PAST HISTORY: Internal mammary lymph node biopsy positive, 2020.",
        "historical",
        "section:history",
    ),
    (
        "historical.section",
        "internal mammary node",
        "Oncologic history: internal mammary node metastasis, 2018.",
        "historical",
        "section:history",
    ),
    (
        # a year after the finding is a past reference of its own
        "historical.past",
        "internal mammary node",
        "Oncologic history: internal mammary node metastasis in 2018.",
        "historical",
        "in 2018",
    ),
    (
        "family.experiencer",
        "internal mammary lymph node",
        "A first-degree relative had an internal mammary lymph node recurrence.",
        "family",
        "relative",
    ),
    (
        "family.experiencer",
        "parasternal node",
        "Her niece was found to have a parasternal node metastasis.",
        "family",
        "niece",
    ),
    # the question word after the term, answered by a hedge: undecided
    ("uncertain.undecided", "内乳淋巴结", "右侧内乳淋巴结是否受累待定。", "uncertain", "待定"),
    ("hypothetical.question", "内乳淋巴结", "右侧内乳淋巴结是否受累？", "hypothetical", "是否"),
    # no longer shown on this examination
    (
        "historical.resolved",
        "内乳淋巴结",
        "前片所见左侧内乳淋巴结本次未再显示。",
        "historical",
        "本次未再显示",
    ),
    # a request ends at the report of what the examination shows, a reason, a new clause
    (
        "affirmed.described",
        "internal mammary node",
        "Staging CT to evaluate the breast cancer shows an enlarged right internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Recommend biopsy of the breast mass given the enlarged right internal mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "Recommend biopsy of the right breast mass, and an enlarged right internal mammary node "
        "is noted.",
        "affirmed",
        "is noted",
    ),
    (
        "affirmed.described",
        "internal mammary node",
        "If clinically indicated, the enlarged right internal mammary node can be biopsied.",
        "affirmed",
        "enlarged",
    ),
    (
        "hypothetical.request",
        "internal mammary nodes",
        "Recommend MRI to evaluate the axilla and the internal mammary nodes.",
        "hypothetical",
        "to evaluate",
    ),
    (
        "uncertain.hedge",
        "internal mammary node",
        "Findings suggest metastatic involvement of the right internal mammary node.",
        "uncertain",
        "Findings suggest",
    ),
    # the patient's own finding after a relative's
    (
        "affirmed.described",
        "internal mammary node",
        "Her mother had breast cancer and the patient now has an enlarged right internal "
        "mammary node.",
        "affirmed",
        "enlarged",
    ),
    (
        "affirmed.described",
        "内乳淋巴结",
        "母亲乳腺癌，本次右侧内乳淋巴结肿大。",
        "affirmed",
        "肿大",
    ),
    # a relative's examination stays the relative's
    (
        "family.experiencer",
        "IM node",
        "Mother's staging CT reportedly showed an IM node.",
        "family",
        "Mother",
    ),
    ("family.experiencer", "内乳淋巴结", "女儿诊断乳腺癌，内乳淋巴结肿大。", "family", "女儿"),
    # plans and conditions
    (
        "hypothetical.request",
        "internal mammary chain",
        "Radiotherapy planning: the internal mammary chain is to be included "
        "if nodes are confirmed.",
        "hypothetical",
        "is to be included",
    ),
    (
        "hypothetical.condition",
        "internal mammary region",
        "Boost the internal mammary region if nodes are confirmed.",
        "hypothetical",
        "if nodes are confirmed",
    ),
    (
        "hypothetical.condition",
        "IMN region",
        "If IMN involvement is confirmed, radiotherapy should include the IMN region.",
        "hypothetical",
        "If",
    ),
]


@pytest.mark.parametrize(("rule", "target", "sentence", "assertion", "trigger"), SCOPE)
def test_scope_rule(rule: str, target: str, sentence: str, assertion: str, trigger: str) -> None:
    result = classify(target, sentence)
    assert (result.assertion, result.trigger, result.rule) == (assertion, trigger, rule)
