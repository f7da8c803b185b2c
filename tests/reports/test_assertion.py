"""Assertion of IMN mentions: the radiology phrasings of the issue, English and Chinese."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from imncohort.errors import ConfigError, InputError
from imncohort.reports.assertion import Classification, classify, classify_tsv
from imncohort.reports.lexicon import load_lexicon, parse_lexicon

PHRASINGS = [
    # (target, sentence, assertion, trigger)
    ("internal mammary node", "No enlarged internal mammary nodes.", "negated", "No"),
    (
        "internal mammary node",
        "The internal mammary nodes are not enlarged.",
        "negated",
        "not enlarged",
    ),
    ("IMN", "The left IMNs are unremarkable.", "negated", "unremarkable"),
    ("IMN", "Cannot exclude IMN metastasis.", "uncertain", "Cannot exclude"),
    ("IMN", "Cannot exclude left IMN metastasis.", "uncertain", "Cannot exclude"),
    ("IM node", "Indeterminate right IM node, likely reactive.", "uncertain", "likely"),
    ("IMLN", "Possible bilateral IMLN.", "uncertain", "Possible"),
    ("IM node", "Resolution of the previously seen IM node.", "historical", "Resolution of"),
    (
        "IMN",
        "If IMN involvement is confirmed, radiotherapy should include the IMN region.",
        "hypothetical",
        "If",
    ),
    (
        "IMN region",
        "If IMN involvement is confirmed, radiotherapy should include the IMN region.",
        "hypothetical",
        "If",
    ),
    ("IMN", "No change in the left IMN.", "affirmed", "No change in the"),
    (
        "internal mammary lymph node",
        "There is an enlarged left internal mammary lymph node in the 2nd intercostal space "
        "measuring 1.2 x 0.8 cm.",
        "affirmed",
        "enlarged",
    ),
    (
        "parasternal mass",
        "A right parasternal mass is seen at the second intercostal space.",
        "affirmed",
        "is seen",
    ),
    (
        "IMN",
        "HISTORY: Left IMN metastasis treated with radiotherapy.",
        "historical",
        "treated with radiotherapy",
    ),
    ("IMN", "IMPRESSION: Left IMN metastasis.", "affirmed", ""),
    ("IMN", "No axillary adenopathy, but there is a new left IMN.", "affirmed", "new"),
    ("内乳淋巴结", "左侧内乳淋巴结肿大，位于第二肋间，大小约1.2×0.8cm。", "affirmed", "肿大"),
    ("内乳淋巴结", "未见内乳淋巴结肿大。", "negated", "未见"),
    ("内乳淋巴结", "右侧内乳淋巴结，转移可能。", "uncertain", "可能"),
    ("内乳淋巴结", "内乳淋巴结不除外转移。", "uncertain", "不除外"),
    ("内乳淋巴结", "内乳淋巴结转移病史。", "historical", "病史"),
    ("内乳淋巴结", "如内乳淋巴结转移证实，建议放疗。", "hypothetical", "如"),
    ("胸骨旁淋巴结", "病史：胸骨旁淋巴结转移。", "historical", "section:history"),
    ("内乳淋巴结", "内乳淋巴结较前无变化。", "affirmed", "较前无变化"),
    ("内乳淋巴结", "双肺未见明显异常，右侧内乳淋巴结肿大。", "affirmed", "肿大"),
]


@pytest.mark.parametrize(("target", "sentence", "assertion", "trigger"), PHRASINGS)
def test_radiology_phrasings(target: str, sentence: str, assertion: str, trigger: str) -> None:
    result = classify(target, sentence)
    assert result.assertion == assertion
    assert result.trigger == trigger


def test_as_dict_has_target_assertion_trigger_and_rule() -> None:
    result = classify("IMN", "Cannot exclude IMN metastasis.")
    assert isinstance(result, Classification)
    assert result.as_dict() == {
        "target": "IMN",
        "assertion": "uncertain",
        "trigger": "Cannot exclude",
        "rule": "uncertain.not-excluded",
    }


def test_target_inside_a_pseudo_trigger_is_atomic() -> None:
    # the target is "change in vision": the pseudo-trigger "no change" must not hide "no"
    assert classify("change in vision", "In general, no change in vision.").assertion == "negated"


def test_termination_ends_negation_scope() -> None:
    assert classify("IMN", "No pleural effusion; left IMN enlarged.").assertion == "affirmed"


def test_target_not_found_is_reported() -> None:
    result = classify("IMN", "The lungs are clear.")
    assert (result.assertion, result.trigger) == ("affirmed", "target-not-found")


def test_user_lexicon_extends_triggers_without_code(tmp_path: Path) -> None:
    raw = {
        "terms": [{"term": "imn", "patterns": ["imns?"]}],
        "triggers": {"negated": {"pre": ["nary a"]}},
    }
    lexicon = parse_lexicon(raw)
    assert classify("IMN", "Nary a IMN.", lexicon).assertion == "negated"
    assert classify("IMN", "Nary a IMN.").assertion == "affirmed"


def test_bad_lexicon_pattern_names_the_entry() -> None:
    with pytest.raises(ConfigError, match=r"terms\[0\].*not a valid regular expression"):
        parse_lexicon({"terms": [{"term": "x", "patterns": ["(unclosed"]}]})


def test_pattern_in_two_categories_is_refused() -> None:
    raw = {
        "terms": [{"term": "imn"}],
        "triggers": {"negated": {"pre": ["no"]}, "uncertain": {"pre": ["no"]}},
    }
    with pytest.raises(ConfigError, match=r"listed both in negated\.pre and in uncertain\.pre"):
        parse_lexicon(raw)


def test_packaged_lexicon_has_seed_terms() -> None:
    terms = {t.term for t in load_lexicon().terms}
    assert {
        "internal mammary node",
        "im node",
        "imn",
        "imln",
        "parasternal mass",
        "内乳淋巴结",
    } <= terms


def test_classify_tsv_adds_assertion_and_trigger(tmp_path: Path) -> None:
    path = tmp_path / "in.tsv"
    path.write_text(
        "target\tsentence\nIMN\tNo enlarged IMNs.\n内乳淋巴结\t右侧内乳淋巴结，转移可能。\n",
        encoding="utf-8",
    )
    stream = io.StringIO()
    assert classify_tsv(path, stream) == 2
    lines = stream.getvalue().splitlines()
    assert lines[0] == "target\tsentence\tassertion\ttrigger\trule"
    assert lines[1] == "IMN\tNo enlarged IMNs.\tnegated\tNo\tnegated.before"
    assert lines[2] == "内乳淋巴结\t右侧内乳淋巴结，转移可能。\tuncertain\t可能\tuncertain.hedge"


def test_classify_tsv_without_columns_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks column"):
        classify_tsv(path, io.StringIO())
