# ruff: noqa: E501  (template data: one sentence template per line)
"""Write ``corpus.tsv``: labelled IMN sentences written from CONTRACT section 3a.

Usage: ``python tests/data/assertion_corpus/generate.py`` (rewrites ``corpus.tsv``
beside this file; the output is deterministic).

Every template below was written for this project from the annotation guideline
(section 3a of the product contract), as report wording of CT, MR, US and PET-CT
(findings, impressions, indications, comparisons, multi-finding sentences). None
comes from a benchmark. Each template is one phrasing of one rule; its slots
(side, term, size, space, prior study, modality detail) are filled a few times
with a fixed seed. The split is made once, by template: within every rule and
language a seeded shuffle sends about 40 % of the templates (with all their
fills) to ``test`` and the rest to ``dev``, so ``test`` holds phrasings the
engine was never tuned on.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20261201
FILLS = 4
TEST_SHARE = 0.4

EN_TERMS = (
    "internal mammary node",
    "internal mammary lymph node",
    "IMN",
    "IM node",
    "parasternal node",
    "internal mammary chain node",
    "parasternal lymph node",
)
ZH_TERMS = ("内乳淋巴结", "胸骨旁淋巴结", "内乳区淋巴结")
EN_SIZES = ("7 mm", "9 mm", "1.1 cm", "12 x 8 mm", "1.4 x 0.9 cm", "15 mm", "6 mm")
ZH_SIZES = ("约0.9cm", "约1.2×0.8cm", "约12mm×9mm", "约1.5cm×1.0cm", "约0.7cm", "约8mm")
EN_SPACES = (
    "second intercostal space",
    "2nd intercostal space",
    "third intercostal space",
    "3rd interspace",
    "first intercostal space",
)
ZH_SPACES = ("第二肋间", "第3肋间", "第2前肋间", "第一肋间", "第三肋间隙")
EN_PRIORS = (
    "the prior CT of 2021-03-04",
    "the previous study",
    "the prior examination of March 2022",
    "the MRI of 12/2021",
    "the baseline PET-CT",
)
ZH_PRIORS = ("前片", "2021-03-04 CT", "上次检查", "2022年5月MRI", "基线PET-CT")
EN_DESC = {
    "CT": ("heterogeneous enhancement", "central low attenuation", "rim enhancement"),
    "MR": ("restricted diffusion", "T2 hyperintense signal", "avid enhancement"),
    "US": ("loss of the fatty hilum", "a hypoechoic rounded appearance", "cortical thickening"),
    "PET-CT": ("SUVmax 6.2", "intense FDG uptake (SUVmax 8.4)", "SUVmax 4.1"),
}
ZH_DESC = {
    "CT": ("增强扫描呈环形强化", "密度不均", "中央见低密度坏死区"),
    "MR": ("T2WI呈稍高信号，DWI弥散受限", "增强扫描明显强化", "T1WI呈等信号"),
    "US": ("呈低回声，淋巴门结构消失", "皮质增厚", "形态饱满，内部回声不均"),
    "PET-CT": ("FDG摄取增高，SUVmax约5.6", "FDG代谢增高，SUVmax约7.9", "放射性摄取增高"),
}
MODALITIES = ("CT", "MR", "US", "PET-CT")

# (rule_id, label, modality or "*", template[, target]); {T} is the target term.
EN = [
    # affirmed: an IMN is present on this examination
    (
        "affirmed.described",
        "affirmed",
        "CT",
        "There is an enlarged {s} {T} in the {sp} measuring {mm}.",
    ),
    ("affirmed.described", "affirmed", "*", "A {mm} {s} {T} is seen at the level of the {sp}."),
    ("affirmed.described", "affirmed", "*", "{S} {T} measuring {mm} in short axis, with {desc}."),
    (
        "affirmed.described",
        "affirmed",
        "*",
        "Multiple enlarged {s} {T}s, the largest measuring {mm}.",
    ),
    ("affirmed.described", "affirmed", "PET-CT", "FDG-avid {s} {T} in the {sp}, {desc}."),
    ("affirmed.described", "affirmed", "US", "A rounded {s} {T} with {desc} is identified, {mm}."),
    (
        "affirmed.trend",
        "affirmed",
        "*",
        "The {s} {T} is unchanged in size since {prior}, measuring {mm}.",
    ),
    ("affirmed.trend", "affirmed", "*", "Stable {s} {T} compared with {prior}."),
    ("affirmed.trend", "affirmed", "*", "The previously noted {s} {T} persists, now {mm}."),
    ("affirmed.trend", "affirmed", "*", "{S} {T}, previously 5 mm, now {mm}."),
    (
        "affirmed.trend",
        "affirmed",
        "*",
        "Interval decrease in size of the {s} {T}, which is still seen at {mm}.",
    ),
    ("affirmed.trend", "affirmed", "*", "New {s} {T} since {prior}, measuring {mm}."),
    ("affirmed.trend", "affirmed", "*", "The {s} {T} seen on {prior} is again demonstrated."),
    ("affirmed.trend", "affirmed", "*", "{S} {T} not present on {prior}, now measuring {mm}."),
    (
        "affirmed.cause-hedged",
        "affirmed",
        "*",
        "Enlarged {s} {T} measuring {mm}, suspicious for metastasis.",
    ),
    ("affirmed.cause-hedged", "affirmed", "*", "{MM} {s} {T}, likely metastatic."),
    (
        "affirmed.cause-hedged",
        "affirmed",
        "*",
        "An enlarged {s} {T} is seen, metastasis cannot be excluded.",
    ),
    ("affirmed.cause-hedged", "affirmed", "*", "The {s} {T} measures {mm}, probably reactive."),
    (
        "affirmed.cause-hedged",
        "affirmed",
        "*",
        "A {mm} {s} {T} is present, worrisome for metastatic disease.",
    ),
    (
        "affirmed.cause-hedged",
        "affirmed",
        "*",
        "Enlarged {s} {T} with {desc}, possibly metastatic.",
    ),
    ("affirmed.impression", "affirmed", "*", "Findings consistent with {s} {T} metastasis."),
    (
        "affirmed.impression",
        "affirmed",
        "*",
        "Appearances are compatible with {s} {T} involvement.",
    ),
    ("affirmed.impression", "affirmed", "*", "IMPRESSION: {S} {T} metastasis."),
    ("affirmed.impression", "affirmed", "*", "Enlarged {s} {T}, in keeping with nodal metastasis."),
    (
        "affirmed.impression",
        "affirmed",
        "*",
        "Enlarged {s} {T} consistent with metastatic disease.",
    ),
    (
        "affirmed.impression",
        "affirmed",
        "PET-CT",
        "Hypermetabolic {s} {T}, compatible with metastasis.",
    ),
    # negated: no IMN abnormality on this examination
    ("negated.before", "negated", "*", "No enlarged {T}s."),
    ("negated.before", "negated", "*", "No {s} {T} is identified."),
    ("negated.before", "negated", "*", "There is no evidence of {T} enlargement."),
    ("negated.before", "negated", "*", "No axillary, supraclavicular or {T} enlargement."),
    ("negated.before", "negated", "*", "Absence of {T}s on this examination."),
    ("negated.before", "negated", "*", "Negative for {T} metastasis."),
    ("negated.before", "negated", "PET-CT", "Without FDG-avid {T}s."),
    ("negated.after", "negated", "*", "The {T}s are not enlarged."),
    ("negated.after", "negated", "*", "{S} {T} is not seen on this study."),
    ("negated.after", "negated", "*", "{S} {T}s not visualised."),
    ("negated.after", "negated", "*", "Enlarged {T}s are absent."),
    ("negated.after", "negated", "*", "{S} {T} not identified."),
    ("negated.after", "negated", "*", "Enlarged {T}s: none."),
    ("negated.normal", "negated", "*", "The {T}s are normal in size."),
    ("negated.normal", "negated", "*", "The {T}s are within normal limits."),
    ("negated.normal", "negated", "*", "The {T}s are unremarkable."),
    ("negated.normal", "negated", "*", "{T}s appear normal."),
    ("negated.normal", "negated", "*", "The {s} {T}s are normal."),
    ("negated.normal", "negated", "*", "The {T}s are clear."),
    ("negated.label", "negated", "*", "{T}s: none."),
    ("negated.label", "negated", "*", "{T}s: not enlarged."),
    ("negated.label", "negated", "*", "{T}s: normal."),
    ("negated.label", "negated", "*", "{T}s: negative."),
    ("negated.label", "negated", "*", "{S} {T}s: none seen."),
    ("negated.label", "negated", "*", "Lymph nodes: axillary none; {T}s: none."),
    ("negated.over-hedge", "negated", "*", "No suspicious {T}s."),
    ("negated.over-hedge", "negated", "*", "No suspicious {s} {T} is seen."),
    ("negated.over-hedge", "negated", "*", "No definite {T} is identified."),
    ("negated.over-hedge", "negated", "*", "There is no evidence of suspicious {T} enlargement."),
    ("negated.over-hedge", "negated", "*", "No abnormally enlarged or suspicious {T}s."),
    ("negated.over-hedge", "negated", "*", "Without suspicious {T}s."),
    # uncertain: whether an IMN is present is itself in doubt
    ("uncertain.hedge", "uncertain", "*", "Possible {s} {T}."),
    (
        "uncertain.hedge",
        "uncertain",
        "*",
        "A small {s} parasternal soft-tissue focus may represent an {T}.",
    ),
    ("uncertain.hedge", "uncertain", "*", "Questionable {s} {T} in the {sp}."),
    ("uncertain.hedge", "uncertain", "*", "Equivocal {s} {T}; correlate with PET-CT."),
    ("uncertain.hedge", "uncertain", "*", "Indeterminate {s} {T}."),
    ("uncertain.hedge", "uncertain", "*", "Borderline {s} {T} measuring 5 mm."),
    ("uncertain.hedge", "uncertain", "*", "Differential includes a {s} {T}."),
    ("uncertain.hedge", "uncertain", "*", "Probable {s} {T} metastasis."),
    ("uncertain.hedge", "uncertain", "*", "Suspicious {s} {T} in the {sp}."),
    ("uncertain.hedge", "uncertain", "*", "Findings raise the possibility of {s} {T} involvement."),
    ("uncertain.not-excluded", "uncertain", "*", "{S} {T} metastasis cannot be excluded."),
    ("uncertain.not-excluded", "uncertain", "*", "{S} {T} metastasis is not excluded."),
    ("uncertain.not-excluded", "uncertain", "*", "Cannot exclude {s} {T} metastasis."),
    ("uncertain.not-excluded", "uncertain", "*", "{T} involvement cannot be ruled out."),
    ("uncertain.not-excluded", "uncertain", "*", "We cannot rule out a small {s} {T}."),
    # historical: a past IMN finding not described as present now
    (
        "historical.past",
        "historical",
        "*",
        "HISTORY: {S} {T} metastasis treated with radiotherapy in {year}.",
    ),
    ("historical.past", "historical", "*", "History of {s} {T} metastasis."),
    ("historical.past", "historical", "*", "Known history of {T} metastasis, treated in {year}."),
    ("historical.past", "historical", "*", "Prior {s} {T} metastasis, treated with chemotherapy."),
    ("historical.past", "historical", "*", "Past medical history of {T} involvement."),
    ("historical.resolved", "historical", "*", "The previously seen {s} {T} has resolved."),
    ("historical.resolved", "historical", "*", "Interval resolution of the {s} {T}."),
    ("historical.resolved", "historical", "*", "The {s} {T} seen on {prior} is no longer seen."),
    ("historical.resolved", "historical", "*", "Status post resection of the {s} {T}."),
    ("historical.resolved", "historical", "*", "{S} {T} resected in {year}."),
    (
        "historical.resolved",
        "historical",
        "*",
        "The {s} {T} treated with radiotherapy is no longer visible.",
    ),
    # hypothetical: only something to look for, to exclude, or under a condition
    ("hypothetical.request", "hypothetical", "MR", "Recommend MRI to evaluate the {T}s."),
    ("hypothetical.request", "hypothetical", "*", "Please comment on the {T}s."),
    ("hypothetical.request", "hypothetical", "*", "Evaluate for {T} metastasis."),
    (
        "hypothetical.request",
        "hypothetical",
        "US",
        "Ultrasound to assess the {s} {T}s is suggested.",
    ),
    (
        "hypothetical.request",
        "hypothetical",
        "*",
        "Screening for {T} involvement as part of staging.",
    ),
    ("hypothetical.request", "hypothetical", "*", "Follow-up CT to exclude {T} metastasis."),
    ("hypothetical.request", "hypothetical", "*", "Monitor for {s} {T} enlargement on follow-up."),
    (
        "hypothetical.condition",
        "hypothetical",
        "*",
        "If a {s} {T} is confirmed, the radiotherapy field should cover the internal mammary chain.",
    ),
    (
        "hypothetical.condition",
        "hypothetical",
        "*",
        "Should the {s} {T} enlarge, biopsy is advised.",
    ),
    (
        "hypothetical.condition",
        "hypothetical",
        "PET-CT",
        "In case of {T} involvement, PET-CT would be helpful.",
    ),
    (
        "hypothetical.condition",
        "hypothetical",
        "*",
        "If enlarged {T}s develop, further imaging is recommended.",
    ),
    ("hypothetical.question", "hypothetical", "*", "{S} {T} metastasis?"),
    ("hypothetical.question", "hypothetical", "*", "Is there any {T} involvement?"),
    ("hypothetical.question", "hypothetical", "*", "Query {s} {T} metastasis."),
    ("hypothetical.question", "hypothetical", "*", "Any enlarged {T}s?"),
    (
        "hypothetical.indication",
        "hypothetical",
        "*",
        "INDICATION: Breast cancer, assess for {T} metastasis.",
    ),
    (
        "hypothetical.indication",
        "hypothetical",
        "*",
        "REASON FOR EXAM: {S} breast cancer, {T} involvement?",
    ),
    ("hypothetical.indication", "hypothetical", "*", "CLINICAL QUESTION: {T} metastasis."),
    (
        "hypothetical.indication",
        "hypothetical",
        "*",
        "INDICATION: Known {s} {T} metastasis, restaging.",
    ),
    (
        "hypothetical.indication",
        "hypothetical",
        "*",
        "Reason for examination: {T}s enlarged on outside CT.",
    ),
    # family: the finding belongs to someone other than the patient
    (
        "family.experiencer",
        "family",
        "*",
        "Family history: mother with breast cancer and {T} metastasis.",
    ),
    ("family.experiencer", "family", "*", "Her mother had breast cancer with {T} involvement."),
    ("family.experiencer", "family", "*", "The patient's sister was treated for {T} metastasis."),
    (
        "family.experiencer",
        "family",
        "*",
        "Family history of breast cancer with {T} metastasis in her sister.",
    ),
    (
        "family.experiencer",
        "family",
        "*",
        "{T} metastasis in the patient's mother, no personal history.",
    ),
    # the IMN is judged for itself when the sentence also describes another finding
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "No axillary lymphadenopathy; enlarged {s} {T} measuring {mm}.",
    ),
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "No pleural effusion or pulmonary nodule, but a {mm} {s} {T} is present.",
    ),
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "Enlarged {s} {T} measuring {mm}; no axillary or supraclavicular adenopathy.",
    ),
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "The axillary nodes are not enlarged and there is an enlarged {s} {T}.",
    ),
    (
        "scope.other-finding",
        "negated",
        "*",
        "Possible liver metastasis; the {T}s are not enlarged.",
    ),
    ("scope.other-finding", "negated", "*", "Enlarged left axillary nodes, {T}s not enlarged."),
    ("scope.other-finding", "negated", "*", "Suspicious axillary lymph node; no {T} is seen."),
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "Bone metastases cannot be excluded; the {s} {T} measuring {mm} is unchanged.",
    ),
]

ZH = [
    ("affirmed.described", "affirmed", "*", "{s}内乳区见肿大淋巴结，大小{cm}。", "内乳区"),
    ("affirmed.described", "affirmed", "*", "{s}{T}肿大，位于{sp}，大小{cm}。"),
    ("affirmed.described", "affirmed", "*", "{s}{sp}见{T}，短径{mm}。"),
    ("affirmed.described", "affirmed", "*", "{s}{T}增大，{desc}。"),
    ("affirmed.described", "affirmed", "*", "{s}{T}可见，{cm}，{desc}。"),
    ("affirmed.described", "affirmed", "*", "{s}内乳区多发肿大淋巴结，较大者{cm}。", "内乳区"),
    ("affirmed.trend", "affirmed", "*", "{s}{T}较前相仿，大小{cm}。"),
    ("affirmed.trend", "affirmed", "*", "{s}{T}较前增大，现{cm}。"),
    ("affirmed.trend", "affirmed", "*", "{s}{T}较前缩小，仍可见，{cm}。"),
    ("affirmed.trend", "affirmed", "*", "{s}内乳区新发肿大淋巴结，{cm}。", "内乳区"),
    ("affirmed.trend", "affirmed", "*", "与{prior}比较，{s}{T}无明显变化。"),
    ("affirmed.trend", "affirmed", "*", "{s}{T}仍可见，大小同前。"),
    ("affirmed.trend", "affirmed", "*", "原{s}{T}较前略增大，{cm}。"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}{T}肿大，{cm}，转移可能。"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}{T}增大，转移可能性大。"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}内乳区见肿大淋巴结，性质待定。", "内乳区"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}{T}肿大，不除外转移。"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}{T}肿大，{desc}，考虑转移可能。"),
    ("affirmed.cause-hedged", "affirmed", "*", "{s}{T}稍大，反应性增生可能。"),
    ("affirmed.impression", "affirmed", "*", "{s}{T}肿大，考虑转移。"),
    ("affirmed.impression", "affirmed", "*", "{s}{T}增大，符合转移。"),
    ("affirmed.impression", "affirmed", "*", "{s}{T}肿大，{desc}，提示转移。"),
    ("affirmed.impression", "affirmed", "*", "考虑{s}{T}转移。"),
    ("affirmed.impression", "affirmed", "*", "{s}{T}转移。"),
    ("affirmed.impression", "affirmed", "*", "{s}内乳区见肿大淋巴结，考虑转移瘤。", "内乳区"),
    ("affirmed.impression", "affirmed", "*", "符合{s}{T}转移表现。"),
    ("negated.before", "negated", "*", "未见{s}{T}肿大。"),
    ("negated.before", "negated", "*", "未见明显肿大{T}。"),
    ("negated.before", "negated", "*", "无{T}肿大。"),
    ("negated.before", "negated", "*", "未发现{T}转移征象。"),
    ("negated.before", "negated", "*", "未显示{s}{T}。"),
    ("negated.before", "negated", "*", "双侧腋窝及{T}均未见肿大。"),
    ("negated.after", "negated", "*", "双侧内乳区未见肿大淋巴结。", "内乳区"),
    ("negated.after", "negated", "*", "{T}未见肿大。"),
    ("negated.after", "negated", "*", "{s}{T}未见显示。"),
    ("negated.after", "negated", "*", "{s}内乳区未见异常强化淋巴结。", "内乳区"),
    ("negated.after", "negated", "*", "{T}无肿大。"),
    ("negated.after", "negated", "*", "{T}不大。"),
    ("negated.normal", "negated", "*", "{T}未见异常。"),
    ("negated.normal", "negated", "*", "内乳区未见明显异常。", "内乳区"),
    ("negated.normal", "negated", "*", "双侧内乳区清晰。", "内乳区"),
    ("negated.normal", "negated", "*", "{T}大小正常。"),
    ("negated.normal", "negated", "*", "{T}形态、大小正常。"),
    ("negated.normal", "negated", "*", "双侧内乳区结构清楚，未见异常。", "内乳区"),
    ("negated.label", "negated", "*", "{T}：未见。"),
    ("negated.label", "negated", "*", "{T}：无。"),
    ("negated.label", "negated", "*", "内乳区：未见异常。", "内乳区"),
    ("negated.label", "negated", "*", "{T}：阴性。"),
    ("negated.label", "negated", "*", "淋巴结：腋窝（-），{T}：未见肿大。"),
    ("negated.label", "negated", "*", "{s}{T}：未见肿大。"),
    ("negated.over-hedge", "negated", "*", "未见可疑{T}。"),
    ("negated.over-hedge", "negated", "*", "未见明确肿大{T}。"),
    ("negated.over-hedge", "negated", "*", "内乳区未见可疑肿大淋巴结。", "内乳区"),
    ("negated.over-hedge", "negated", "*", "未见明显可疑转移性{T}。"),
    ("negated.over-hedge", "negated", "*", "无可疑{T}转移征象。"),
    ("uncertain.hedge", "uncertain", "*", "{s}内乳区可疑小淋巴结。", "内乳区"),
    ("uncertain.hedge", "uncertain", "*", "{s}内乳区小结节，{T}可能。"),
    ("uncertain.hedge", "uncertain", "*", "疑似{s}{T}转移。"),
    ("uncertain.hedge", "uncertain", "*", "{s}内乳区软组织影，性质待定。", "内乳区"),
    ("uncertain.hedge", "uncertain", "*", "可疑{s}{T}。"),
    ("uncertain.hedge", "uncertain", "*", "{s}{T}转移可能。"),
    ("uncertain.hedge", "uncertain", "*", "{s}{T}，转移可能。"),
    ("uncertain.not-excluded", "uncertain", "*", "{s}{T}转移不除外。"),
    ("uncertain.not-excluded", "uncertain", "*", "不除外{s}{T}转移。"),
    ("uncertain.not-excluded", "uncertain", "*", "不能排除{s}{T}转移。"),
    ("uncertain.not-excluded", "uncertain", "*", "{s}{T}转移待排。"),
    ("uncertain.not-excluded", "uncertain", "*", "{T}转移待除外。"),
    ("historical.past", "historical", "*", "病史：{s}{T}转移放疗后。"),
    ("historical.past", "historical", "*", "既往{s}{T}转移病史。"),
    ("historical.past", "historical", "*", "既往{T}转移，已行放疗。"),
    ("historical.past", "historical", "*", "{year}年{s}{T}转移病史。"),
    ("historical.past", "historical", "*", "简要病史：乳腺癌伴{T}转移，化疗后。"),
    ("historical.resolved", "historical", "*", "原{s}{T}现已消失。"),
    ("historical.resolved", "historical", "*", "{s}{T}放疗后现未见显示。"),
    ("historical.resolved", "historical", "*", "前次所见{s}{T}本次未见显示。"),
    ("historical.resolved", "historical", "*", "{s}{T}切除术后。"),
    ("historical.resolved", "historical", "*", "原{s}{T}转移灶已消失。"),
    ("historical.resolved", "historical", "*", "{s}{T}治疗后消失。"),
    ("hypothetical.request", "hypothetical", "MR", "建议MRI进一步评估{T}。"),
    ("hypothetical.request", "hypothetical", "*", "请评估{s}{T}。"),
    ("hypothetical.request", "hypothetical", "US", "建议超声随访观察{T}。"),
    ("hypothetical.request", "hypothetical", "PET-CT", "建议PET-CT检查以排除{T}转移。"),
    ("hypothetical.request", "hypothetical", "*", "建议进一步检查明确{T}情况。"),
    ("hypothetical.request", "hypothetical", "US", "建议穿刺活检评估{s}{T}性质。"),
    ("hypothetical.condition", "hypothetical", "*", "如发现{T}肿大，建议放疗靶区包括内乳区。"),
    ("hypothetical.condition", "hypothetical", "*", "若{T}转移证实，建议放疗。"),
    ("hypothetical.condition", "hypothetical", "*", "如果{T}进一步增大，建议活检。"),
    ("hypothetical.condition", "hypothetical", "*", "一旦出现{T}转移，需调整治疗方案。"),
    ("hypothetical.condition", "hypothetical", "*", "如{T}有转移，预后较差。"),
    ("hypothetical.question", "hypothetical", "*", "{s}{T}转移？"),
    ("hypothetical.question", "hypothetical", "*", "{T}是否转移？"),
    ("hypothetical.question", "hypothetical", "*", "临床拟诊：{T}转移？"),
    ("hypothetical.question", "hypothetical", "*", "{s}{T}有无转移？"),
    ("hypothetical.question", "hypothetical", "*", "{T}肿大？"),
    ("hypothetical.indication", "hypothetical", "*", "检查目的：排除{T}转移。"),
    ("hypothetical.indication", "hypothetical", "*", "检查目的：评估{T}。"),
    ("hypothetical.indication", "hypothetical", "*", "临床诊断：乳腺癌，{T}转移？"),
    ("hypothetical.indication", "hypothetical", "*", "申请目的：了解{T}情况。"),
    ("hypothetical.indication", "hypothetical", "*", "临床诊断：{s}乳腺癌伴{T}转移。"),
    ("hypothetical.indication", "hypothetical", "*", "检查目的：{T}转移复查。"),
    ("family.experiencer", "family", "*", "家族史：母亲乳腺癌伴{T}转移。"),
    ("family.experiencer", "family", "*", "其母亲曾患乳腺癌，{T}转移。"),
    ("family.experiencer", "family", "*", "姐姐乳腺癌伴{T}转移病史。"),
    ("family.experiencer", "family", "*", "患者母亲有{T}转移病史。"),
    ("family.experiencer", "family", "*", "家族史：姐姐曾行{T}放疗。"),
    ("scope.other-finding", "affirmed", "*", "双侧腋窝未见肿大淋巴结，{s}{T}肿大，{cm}。"),
    ("scope.other-finding", "affirmed", "*", "{s}{T}肿大，{cm}；双侧腋窝未见肿大淋巴结。"),
    (
        "scope.other-finding",
        "affirmed",
        "*",
        "双肺未见明显转移结节，{s}内乳区见肿大淋巴结。",
        "内乳区",
    ),
    ("scope.other-finding", "negated", "*", "左侧腋窝淋巴结肿大，考虑转移，{T}未见肿大。"),
    ("scope.other-finding", "negated", "*", "肝内多发低密度灶，转移可能，{T}未见肿大。"),
    ("scope.other-finding", "negated", "*", "腋窝淋巴结转移可能，内乳区未见异常。", "内乳区"),
    ("scope.other-finding", "affirmed", "*", "胸骨未见骨质破坏，{s}{T}增大，{cm}。"),
]

COLUMNS = [
    "id",
    "target",
    "sentence",
    "label",
    "language",
    "modality",
    "rule_id",
    "template",
    "split",
]


def expand(language: str, entry: tuple, modality: str, rng: random.Random) -> tuple[str, str]:
    """One filled sentence and its target."""
    template = entry[3]
    fixed_target = entry[4] if len(entry) > 4 else None
    if language == "en":
        term = rng.choice(EN_TERMS)
        side = rng.choice(("left", "right"))
        size = rng.choice(EN_SIZES)
        values = {
            "T": term,
            "s": side,
            "S": side.capitalize(),
            "mm": size,
            "MM": size[0].upper() + size[1:],
            "sp": rng.choice(EN_SPACES),
            "prior": rng.choice(EN_PRIORS),
            "year": str(rng.randint(2012, 2022)),
            "desc": rng.choice(EN_DESC[modality]),
        }
        sentence = template.format(**values)
        if template.startswith("{T}"):
            sentence = sentence[0].upper() + sentence[1:]
    else:
        term = rng.choice(ZH_TERMS)
        values = {
            "T": term,
            "s": rng.choice(("左侧", "右侧", "")),
            "cm": rng.choice(ZH_SIZES),
            "mm": rng.choice(("约6mm", "约8mm", "约11mm", "约0.9cm")),
            "sp": rng.choice(ZH_SPACES),
            "prior": rng.choice(ZH_PRIORS),
            "year": str(rng.randint(2012, 2022)),
            "desc": rng.choice(ZH_DESC[modality]),
        }
        sentence = template.format(**values)
    return sentence, fixed_target or term


def build() -> list[dict[str, str]]:
    """Every row of the corpus, with its split."""
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    for language, entries in (("en", EN), ("zh", ZH)):
        by_rule: dict[str, list[int]] = {}
        for k, entry in enumerate(entries):
            by_rule.setdefault(entry[0], []).append(k)
        test_templates: set[int] = set()
        for rule in sorted(by_rule):
            ids = list(by_rule[rule])
            rng.shuffle(ids)
            n_test = max(1, round(TEST_SHARE * len(ids)))
            test_templates.update(ids[:n_test])
        for k, entry in enumerate(entries):
            seen: set[str] = set()
            for _ in range(FILLS * 3):
                if len(seen) >= FILLS:
                    break
                modality = entry[2] if entry[2] != "*" else rng.choice(MODALITIES)
                sentence, target = expand(language, entry, modality, rng)
                if sentence in seen:
                    continue
                seen.add(sentence)
                rows.append(
                    {
                        "id": f"{language}-{len(rows) + 1:04d}",
                        "target": target,
                        "sentence": sentence,
                        "label": entry[1],
                        "language": language,
                        "modality": modality,
                        "rule_id": entry[0],
                        "template": f"{language}{k:03d}",
                        "split": "test" if k in test_templates else "dev",
                    }
                )
    return rows


def main() -> None:
    target = Path(__file__).with_name("corpus.tsv")
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(build())


if __name__ == "__main__":
    main()
