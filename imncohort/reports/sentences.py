"""Split report text into sections and sentences (English and Chinese punctuation).

A section starts at a known heading of the lexicon (``FINDINGS:``, ``病史：`` ...)
at the start of a line and lasts until the next known heading. Unknown
``Word:`` prefixes stay part of the text. Sentences end at ``. ! ?`` followed by
white space (not after abbreviations, list numbers or decimals), at ``。！？``,
at blank lines and before numbered list items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imncohort.reports.lexicon import Lexicon

_PARAGRAPH = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:\d{1,2}[.)、]|[-*•])[ \t])")
_LATIN_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_CJK_END = re.compile(r"(?<=[。！？])|(?<=\s)(?=\(?\d{1,2}\)\s)")
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "e.g",
        "i.e",
        "vs",
        "approx",
        "fig",
        "no",
        "st",
        "nd",
        "rd",
        "th",
        "cf",
        "etc",
        "al",
        "resp",
        "ca",
        "incl",
        "max",
        "min",
    ]
)
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}|[a-z])[.)]\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One sentence with its section (``section`` is the section name or "")."""

    text: str
    section: str
    section_assertion: str | None
    index: int


def _split_latin(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _LATIN_END.finditer(paragraph):
        before = paragraph[start : match.start()].rstrip("\"')]")
        last_word = before.rsplit(None, 1)[-1] if before.split() else ""
        word = last_word.rstrip(".!?").lower()
        nxt = paragraph[match.end() : match.end() + 1]
        if last_word.endswith(".") and (
            word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
        ):
            continue
        if nxt and nxt.islower():
            continue
        if not any(ch.isalnum() for ch in before):
            continue  # a mark with no word before it opens the sentence ("? R IMN mets")
        pieces.append(paragraph[start : match.start()])
        start = match.end()
    pieces.append(paragraph[start:])
    return pieces


def _join_bare_marks(chunks: list[str]) -> list[str]:
    """Join a chunk without a word ("？" opening "？内乳淋巴结转移") to the chunk after it."""
    out: list[str] = []
    carry = ""
    for chunk in chunks:
        if chunk.strip() and not any(ch.isalnum() for ch in chunk):
            carry += chunk
            continue
        out.append(carry + chunk)
        carry = ""
    if carry:
        out.append(carry)
    return out


def split_sentences(text: str) -> list[str]:
    """Split a block of text (no headings) into sentences, stripped, empty ones dropped."""
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        flat = " ".join(paragraph.split()) if "\n" in paragraph else paragraph.strip()
        for chunk in _join_bare_marks(_CJK_END.split(flat)):
            for piece in _split_latin(chunk):
                piece = piece.strip()
                if not piece:
                    continue
                if out and _LIST_MARKER.match(out[-1]):
                    out[-1] = f"{out[-1]} {piece}"
                else:
                    out.append(piece)
    return out


def segment(text: str, lexicon: Lexicon) -> list[Sentence]:
    """Split report ``text`` into sentences carrying their section.

    Parameters
    ----------
    text
        The whole report (sections may be introduced by headings of the lexicon).
    lexicon
        Gives the heading patterns and what each section implies.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[tuple[str, str | None, str]] = []
    name, assertion, start = "", None, 0
    for match in lexicon.heading_regex.finditer(text):
        section = lexicon.section_of(match.group("heading"))
        if section is None:
            continue
        blocks.append((name, assertion, text[start : match.start()]))
        name, assertion, start = section.name, section.assertion, match.end()
    blocks.append((name, assertion, text[start:]))
    sentences: list[Sentence] = []
    for block_name, block_assertion, block in blocks:
        for piece in split_sentences(block):
            sentences.append(Sentence(piece, block_name, block_assertion, len(sentences)))
    return sentences
