"""Mentions of one report: sections, prefilter, several terms per sentence, sentence splitting."""

from __future__ import annotations

import math

import pytest

from imncohort.reports.lexicon import load_lexicon
from imncohort.reports.mentions import find_mentions
from imncohort.reports.sentences import segment, split_sentences

LEXICON = load_lexicon()


def test_sections_on_one_line_and_history_context() -> None:
    text = (
        "HISTORY: Left IMN metastasis in 2018. FINDINGS: There is an enlarged left IMN "
        "in the 2nd ICS measuring 15 mm. IMPRESSION: Possible right parasternal node."
    )
    got = [(m.section, m.term, m.assertion, m.side) for m in find_mentions("r1", text, LEXICON)]
    assert got == [
        ("history", "imn", "historical", "left"),
        ("findings", "imn", "affirmed", "left"),
        ("impression", "parasternal node", "uncertain", "right"),
    ]
    second = find_mentions("r1", text, LEXICON)[1]
    assert (second.intercostal_spaces, second.size_long_mm) == ("2", 15.0)
    assert math.isnan(second.size_short_mm)


def test_two_terms_in_one_sentence_get_their_own_attributes() -> None:
    text = (
        "Enlarged left IMN in the 2nd intercostal space; "
        "right parasternal mass measuring 2.0 x 1.5 cm."
    )
    first, second = find_mentions("r2", text, LEXICON)
    assert (first.term, first.side, first.intercostal_spaces, math.isnan(first.size_long_mm)) == (
        "imn",
        "left",
        "2",
        True,
    )
    assert (second.term, second.side, second.size_long_mm, second.size_short_mm) == (
        "parasternal mass",
        "right",
        20.0,
        15.0,
    )


def test_chinese_report_with_sections() -> None:
    text = (
        "病史：内乳淋巴结转移病史。\n"
        "检查所见：右侧内乳区淋巴结肿大，位于第1-2肋间。\n"
        "诊断意见：未见胸骨旁肿块。"
    )
    got = [
        (m.section, m.term, m.assertion, m.side, m.intercostal_spaces)
        for m in find_mentions("r3", text, LEXICON)
    ]
    assert got == [
        ("history", "内乳淋巴结", "historical", "", ""),
        ("findings", "内乳淋巴结", "affirmed", "right", "1;2"),
        ("impression", "胸骨旁肿块", "negated", "", ""),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "FINDINGS: The lungs are clear. No pleural effusion.",
        "FINDINGS: No enlarged internal mammary nodes. Possible left IMLN.",
    ],
)
def test_prefilter_gives_the_same_mentions(text: str) -> None:
    assert find_mentions("r", text, LEXICON) == find_mentions("r", text, LEXICON, prefilter=False)


def test_report_without_terms_has_no_mentions() -> None:
    assert find_mentions("r", "IMPRESSION: No acute process.", LEXICON) == []


def test_mention_ids_are_stable_and_distinct() -> None:
    text = "Possible left IMN. No enlarged IMLNs."
    a = [m.mention_id for m in find_mentions("r9", text, LEXICON)]
    b = [m.mention_id for m in find_mentions("r9", text, LEXICON)]
    assert a == b
    assert len(set(a)) == 2
    assert all(len(i) == 16 for i in a)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Left IMN measures 1.2 x 0.8 cm. The lungs are clear.", 2),
        ("Dr. Smith reviewed. Possible IMN.", 2),
        ("IMPRESSION: 1. Possible IMN. 2. No effusion.", 2),
        ("左侧内乳淋巴结肿大。双肺未见异常！", 2),
        ("Line one wraps\nonto line two. Next.", 2),
        ("First paragraph\n\nSecond paragraph", 2),
    ],
)
def test_sentence_splitting(text: str, sentences: int) -> None:
    pieces = [s.text for s in segment(text, LEXICON)]
    assert len(pieces) == sentences, pieces


def test_list_numbers_stay_with_their_sentence() -> None:
    assert split_sentences("1. Possible IMN. 2. No effusion.") == [
        "1. Possible IMN.",
        "2. No effusion.",
    ]
