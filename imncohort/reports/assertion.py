"""ConText-style assertion of a target phrase in a sentence.

The engine (own implementation; see CHANGELOG for why not negspacy/medspaCy):

1. one scan of the sentence with the lexicon's trigger alternation (longest
   pattern first, so ``cannot exclude`` wins over ``not`` and the pseudo-trigger
   ``no change`` hides ``no``);
2. a ``pre`` trigger modifies a target after it, a ``post`` trigger one before
   it, when no termination of that category lies between them and the gap is
   within the category's window (latin words / CJK characters);
3. the nearest trigger of each category is kept; ``hypothetical`` wins, then the
   nearer of ``negated`` / ``uncertain``, then ``historical``; otherwise
   ``affirmed``;
4. the section (e.g. HISTORY) turns an affirmed or uncertain mention into the
   section's assertion.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from imncohort.errors import InputError
from imncohort.reports.lexicon import Lexicon, TriggerSpec, load_lexicon, term_pattern
from imncohort.reports.sentences import segment

log = logging.getLogger(__name__)

_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LABEL = re.compile(r"\s*[:：]")
_UPPER_RUN = re.compile(r"[A-Z][A-Z0-9'/\-]*(?:[ \t]+[A-Z][A-Z0-9'/\-]*)*")


@dataclass(frozen=True)
class Classification:
    """The assertion of ``target`` in one sentence.

    ``trigger`` is the text that decided it (``""`` for affirmed without one,
    ``section:<name>`` when the section decided); ``modifiers`` lists every
    category found in scope (e.g. ``("negated", "historical")``).
    """

    target: str
    assertion: str
    trigger: str
    modifiers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        """Return ``{"target", "assertion", "trigger"}``."""
        return {"target": self.target, "assertion": self.assertion, "trigger": self.trigger}


@dataclass(frozen=True)
class TriggerHit:
    """One trigger found in a sentence (character offsets into the sentence)."""

    start: int
    end: int
    spec: TriggerSpec
    text: str


def scan_triggers(sentence: str, lexicon: Lexicon) -> list[TriggerHit]:
    """Return every trigger, pseudo-trigger and termination of ``sentence``, in order."""
    hits = []
    for match in lexicon.trigger_regex.finditer(sentence):
        group = match.lastgroup
        if group is None:
            continue
        hits.append(
            TriggerHit(match.start(), match.end(), lexicon.trigger_of(group), match.group())
        )
    return hits


def _gap(text: str) -> tuple[int, int]:
    return len(_LATIN_WORD.findall(text)), len(_CJK.findall(text))


def _terminated(hits: Sequence[TriggerHit], lo: int, hi: int, category: str) -> bool:
    return any(
        h.spec.kind == "termination" and category in h.spec.categories and lo <= h.start < hi
        for h in hits
    )


def assert_span(
    sentence: str,
    start: int,
    end: int,
    lexicon: Lexicon,
    hits: Sequence[TriggerHit] | None = None,
    section: str = "",
    section_assertion: str | None = None,
    target: str | None = None,
) -> Classification:
    """Classify the mention at ``sentence[start:end]``.

    Parameters
    ----------
    sentence
        One sentence.
    start, end
        Character offsets of the target in ``sentence``.
    lexicon
        Triggers, terminations and windows.
    hits
        The result of :func:`scan_triggers` on ``sentence`` (computed if None).
    section, section_assertion
        The section name and the assertion it imposes on affirmed/uncertain
        mentions (None: none).
    target
        The target text reported back (default: the span).
    """
    if hits is None or any(h.start < end and h.end > start for h in hits):
        # the target is atomic: triggers are matched on either side of it only
        hits = scan_triggers(sentence[:start], lexicon) + [
            TriggerHit(h.start + end, h.end + end, h.spec, h.text)
            for h in scan_triggers(sentence[end:], lexicon)
        ]
    best: dict[str, tuple[float, str]] = {}
    for hit in hits:
        kind = hit.spec.kind
        if kind in ("pseudo", "termination"):
            continue
        pre_words, post_words, cjk_chars = lexicon.window.limits(kind)
        if hit.end <= start and hit.spec.pre:
            lo, hi, max_words = hit.end, start, pre_words
        elif hit.start >= end and hit.spec.post:
            lo, hi, max_words = end, hit.start, post_words
        else:
            continue
        words, cjk = _gap(sentence[lo:hi])
        if words > max_words or cjk > cjk_chars or _terminated(hits, lo, hi, kind):
            continue
        distance = words + cjk / 2.0
        if kind not in best or distance < best[kind][0]:
            best[kind] = (distance, hit.text)
    modifiers: tuple[str, ...] = tuple(
        c for c in ("negated", "uncertain", "historical", "hypothetical") if c in best
    )
    if "hypothetical" in best:
        assertion = "hypothetical"
    elif "negated" in best and "uncertain" in best:
        assertion = "negated" if best["negated"][0] < best["uncertain"][0] else "uncertain"
    elif "negated" in best:
        assertion = "negated"
    elif "uncertain" in best:
        assertion = "uncertain"
    elif "historical" in best:
        assertion = "historical"
    else:
        assertion = "affirmed"
    trigger = best[assertion][1] if assertion in best else ""
    if section_assertion and assertion in ("affirmed", "uncertain"):
        assertion, trigger = section_assertion, f"section:{section}"
        if section_assertion not in modifiers and section_assertion != "affirmed":
            modifiers = (*modifiers, section_assertion)
    return Classification(
        target=sentence[start:end] if target is None else target,
        assertion=assertion,
        trigger=trigger,
        modifiers=modifiers,
    )


def _locate(target: str, sentence: str, lexicon: Lexicon) -> tuple[int, int] | None:
    """Find ``target`` in ``sentence``: as a phrase, else as its longest upper-case run."""
    match = term_pattern(target).search(sentence)
    if match:
        return match.span()
    wanted = {w.lower() for w in _LATIN_WORD.findall(target)}
    best: tuple[int, int] | None = None
    best_overlap = 0
    for run in _UPPER_RUN.finditer(sentence):
        overlap = len(wanted & {w.lower() for w in _LATIN_WORD.findall(run.group())})
        if overlap > best_overlap:
            best, best_overlap = run.span(), overlap
    if best is not None:
        return best
    term = lexicon.term_regex.search(sentence)
    return term.span() if term else None


def classify(target: str, sentence: str, lexicon: Lexicon | None = None) -> Classification:
    """Return the assertion of ``target`` in ``sentence``.

    The text may carry a section heading (``HISTORY: ...``); the first sentence
    holding the target is classified. A target that cannot be found is reported
    as affirmed with the trigger ``target-not-found``.

    Parameters
    ----------
    target
        Any phrase (case-insensitive, plural ``s`` allowed).
    sentence
        The sentence (or a short text) to look in.
    lexicon
        The compiled lexicon (default: the packaged ``lexicon.yaml``).

    Examples
    --------
    >>> classify("IMN", "Cannot exclude left IMN metastasis.").assertion
    'uncertain'
    """
    lex = lexicon or load_lexicon()
    pattern = term_pattern(target)
    for piece in segment(sentence, lex):
        spans = [m.span() for m in pattern.finditer(piece.text)]
        if spans:
            # an occurrence used as a label ("ALLERGIES: ...") is not the mention
            labels = [s for s in spans if _LABEL.match(piece.text, s[1])]
            span = next((s for s in spans if s not in labels), spans[0])
            return assert_span(
                piece.text,
                span[0],
                span[1],
                lex,
                section=piece.section,
                section_assertion=piece.section_assertion,
                target=target,
            )
    span2 = _locate(target, sentence, lex)
    if span2 is None:
        log.debug("target %r not found in the sentence", target)
        return Classification(target, "affirmed", "target-not-found")
    pieces = segment(sentence, lex)
    section, section_assertion = ("", None)
    if pieces:
        section, section_assertion = pieces[0].section, pieces[0].section_assertion
    return assert_span(
        sentence,
        span2[0],
        span2[1],
        lex,
        section=section,
        section_assertion=section_assertion,
        target=target,
    )


def classify_tsv(path: Path | str, stream: IO[str], lexicon: Lexicon | None = None) -> int:
    """Classify every row of a TSV with columns ``target`` and ``sentence``.

    Writes the same rows with added ``assertion`` and ``trigger`` columns as TSV
    to ``stream``; returns the number of rows.

    Raises
    ------
    InputError
        When the file cannot be read or lacks the two columns.
    """
    lex = lexicon or load_lexicon()
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (error message)
    except OSError as exc:
        raise InputError(f"cannot read TSV '{path}': {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle, delimiter="\t")
        fields = list(reader.fieldnames or [])
        missing = [c for c in ("target", "sentence") if c not in fields]
        if missing:
            raise InputError(
                f"TSV '{path}' lacks column(s) {', '.join(missing)}; its header is "
                f"{fields!r}; add a header line 'target<TAB>sentence'"
            )
        out_fields = fields + [c for c in ("assertion", "trigger") if c not in fields]
        writer = csv.DictWriter(
            stream,
            fieldnames=out_fields,
            delimiter="\t",
            lineterminator="\n",
            extrasaction="ignore",
        )
        writer.writeheader()
        n = 0
        for row in reader:
            result = classify(row.get("target") or "", row.get("sentence") or "", lex)
            out: dict[str, Any] = dict(row)
            out["assertion"] = result.assertion
            out["trigger"] = result.trigger
            writer.writerow(out)
            n += 1
    return n
