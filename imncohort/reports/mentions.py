"""Find IMN term mentions in report texts and classify each one.

``mine_reports`` is the core: for each report, one search of the lexicon's term
alternation decides whether the report holds any term (the fast prefilter);
only such reports are split into sections and sentences, and only sentences
holding a term are classified. Each mention carries its assertion, trigger and
attributes (side, intercostal spaces, size).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from imncohort.reports.assertion import assert_span, scan_triggers
from imncohort.reports.attributes import parse_intercostal_spaces, parse_side, parse_size
from imncohort.reports.lexicon import Lexicon
from imncohort.reports.records import ReportText
from imncohort.reports.sentences import segment
from imncohort.schemas.mentions import MINED_MENTION_COLUMNS

#: Columns of the restricted mention frame (``sentence`` never leaves OUT/restricted).
MENTION_COLUMNS = MINED_MENTION_COLUMNS
_SIDE_BEFORE = 40
_SIDE_AFTER = 30
_PET = re.compile(r"\bPET\b|PET[-/ ]?CT|正电子", re.IGNORECASE)
_DESCRIPTION_MODALITY = (
    ("PET-CT", _PET),
    ("MR", re.compile(r"\bMRI?\b|magnetic resonance|磁共振|核磁", re.IGNORECASE)),
    (
        "CT",
        re.compile(r"\bCT\b|computed tomography|(?<![A-Za-z])CT(?=[\u4e00-\u9fff])", re.IGNORECASE),
    ),
    ("US", re.compile(r"\bUS\b|ultrasound|sonograph|超声|彩超|B超", re.IGNORECASE)),
    ("MG", re.compile(r"\bMG\b|mammogra|钼靶|乳腺X线", re.IGNORECASE)),
)
#: Image modalities that name a report's modality, most specific first.
IMAGE_MODALITIES = ("PT", "MR", "CT", "US", "MG")


@dataclass(frozen=True)
class Mention:
    """One classified term mention of one report (restricted: holds the sentence)."""

    mention_id: str
    report_id: str
    section: str
    term: str
    assertion: str
    trigger: str
    rule: str
    side: str
    intercostal_spaces: str
    size_long_mm: float
    size_short_mm: float
    sentence: str


def mention_id(report_id: str, sentence_index: int, start: int) -> str:
    """Return a stable 16-hex id of a mention (report, sentence number, offset)."""
    digest = hashlib.sha256(f"{report_id}|{sentence_index}|{start}".encode()).hexdigest()
    return digest[:16]


def find_mentions(
    report_id: str, text: str, lexicon: Lexicon, prefilter: bool = True
) -> list[Mention]:
    """Return the classified mentions of one report's text.

    Parameters
    ----------
    report_id
        The report's id (used for ``mention_id``).
    text
        The report text with its section headings.
    lexicon
        Terms, triggers and sections.
    prefilter
        When False every sentence is scanned for triggers even without a term
        (the plain loop of ``benchmarks/report_speed.py``); the result is the same.
    """
    term_regex = lexicon.term_regex
    if prefilter and term_regex.search(text) is None:
        return []
    mentions: list[Mention] = []
    for sentence in segment(text, lexicon):
        if not prefilter:
            hits = scan_triggers(sentence.text, lexicon)
        matches = list(term_regex.finditer(sentence.text))
        if not matches:
            continue
        if prefilter:
            hits = scan_triggers(sentence.text, lexicon)
        for k, match in enumerate(matches):
            lo = matches[k - 1].end() if k else 0
            hi = matches[k + 1].start() if k + 1 < len(matches) else len(sentence.text)
            result = assert_span(
                sentence.text,
                match.start(),
                match.end(),
                lexicon,
                hits=hits,
                section=sentence.section,
                section_assertion=sentence.section_assertion,
            )
            side_lo = max(lo, match.start() - _SIDE_BEFORE)
            side_hi = min(hi, match.end() + _SIDE_AFTER)
            window = sentence.text[side_lo:side_hi]
            segment_text = sentence.text[lo:hi]
            size = parse_size(segment_text)
            spaces = parse_intercostal_spaces(segment_text)
            group = match.lastgroup or ""
            mentions.append(
                Mention(
                    mention_id=mention_id(report_id, sentence.index, match.start()),
                    report_id=report_id,
                    section=sentence.section,
                    term=lexicon.term_of(group),
                    assertion=result.assertion,
                    trigger=result.trigger,
                    rule=result.rule,
                    side=parse_side(window, anchor=match.start() - side_lo),
                    intercostal_spaces=";".join(str(s) for s in spaces),
                    size_long_mm=size.long_mm if size else math.nan,
                    size_short_mm=size.short_mm if size else math.nan,
                    sentence=sentence.text,
                )
            )
    return mentions


def mine_reports(
    reports: Iterable[ReportText], lexicon: Lexicon, prefilter: bool = True
) -> pd.DataFrame:
    """Classify the mentions of many reports; return the restricted mention frame.

    Returns
    -------
    pandas.DataFrame
        :data:`MENTION_COLUMNS` (with ``sentence``; keep it under OUT/restricted).
    """
    rows = []
    for report in reports:
        for m in find_mentions(report.report_id, report.text, lexicon, prefilter=prefilter):
            rows.append(
                (
                    m.mention_id,
                    m.report_id,
                    m.section,
                    m.term,
                    m.assertion,
                    m.trigger,
                    m.rule,
                    m.side,
                    m.intercostal_spaces,
                    m.size_long_mm,
                    m.size_short_mm,
                    m.sentence,
                )
            )
    frame = pd.DataFrame(rows, columns=MENTION_COLUMNS)
    return frame.astype({"size_long_mm": "float64", "size_short_mm": "float64"})


def modality_from_codes(modalities: Iterable[str]) -> str:
    """Return the report modality of a study's image modalities (PT gives ``PET-CT``)."""
    present = {m.strip().upper() for m in modalities if m and m.strip()}
    for code in IMAGE_MODALITIES:
        if code in present:
            return "PET-CT" if code == "PT" else code
    return ""


def normalize_modality(value: str) -> str:
    """Return a table's modality value as CT, MR, US, MG, PET-CT (or as given, upper-cased)."""
    text = value.strip()
    if not text:
        return ""
    upper = text.upper()
    if upper in ("PT", "PET", "PET-CT", "PET/CT", "PETCT", "PET CT"):
        return "PET-CT"
    if upper in ("MRI", "MR"):
        return "MR"
    if upper in ("CT", "US", "MG"):
        return upper
    return modality_from_description(text) or upper


def modality_from_description(description: str) -> str:
    """Return the modality named by keywords of a study description, or ``""``."""
    for modality, pattern in _DESCRIPTION_MODALITY:
        if pattern.search(description):
            return modality
    return ""


def resolve_modality(image_modalities: Iterable[str], table_modality: str, description: str) -> str:
    """Report modality: the study's image series, else the table column, else the description."""
    return (
        modality_from_codes(image_modalities)
        or normalize_modality(table_modality)
        or modality_from_description(description)
    )
