"""ConText-style assertion of a target phrase in a sentence (CONTRACT section 3a).

The engine (own implementation; see CHANGELOG for why not negspacy/medspaCy):

1. one scan of the sentence with the lexicon's cue alternation (longest pattern
   first, so ``cannot exclude`` wins over ``not`` and the pseudo-trigger ``no
   change`` hides ``no``);
2. a ``pre`` cue modifies a target after it, a ``post`` cue one before it, when
   no termination of its kind lies between them and the gap is within the
   kind's window (latin words / CJK characters); the nearest cue of each kind
   is kept; a negation or hedge about another finding does not reach a target
   that opens a described finding of its own after a comma, "and" or "，"
   (``cue.new-finding``: "No axillary adenopathy, enlarged right IMN"; "right IMN
   enlarged, axillary nodes negative"), while a list stays under its cue ("No
   axillary, supraclavicular or IMN adenopathy");
3. the rules resolve in this order, each named by its lexicon rule id:

   - ``negated.label``: the target is a label ("IMN: none", "内乳区：未见异常");
   - ``family``: the finding belongs to a relative;
   - ``hypothetical``: a request, condition or question names the IMN; an open
     question (``hypothetical.whether``) that the sentence answers with a hedge
     after the target is ``uncertain.undecided`` ("whether this is an IMN is
     indeterminate");
   - ``past_only`` (``historical.resolved``): resolved, resected, no longer seen
     (beats a negation: the finding was there and is gone), unless a statement about
     this examination follows it or stands nearer the target ("the node that had
     resolved is again visible", "recurrent IMN in the field of the resection");
   - ``negated`` against ``uncertain``: a negation before a hedge before the
     target scopes over it ("no suspicious node"); otherwise the nearer wins;
   - ``affirmed.cause-hedged``: a hedge after a *described* node that is about
     its cause (a ``cause`` cue next to the hedge, in the same clause: "enlarged
     node, likely metastatic", "肿大，转移可能"), or right before a cause before
     the target of a node described elsewhere ("likely metastatic right IMN,
     12 mm"), leaves the node affirmed; when no node is named between the
     target and the hedge (a nodule, soft tissue: "右侧内乳结节约5mm，性质待定")
     it stays ``uncertain.not-a-node``;
   - ``historical`` against ``present``: a statement about this examination
     ("persists", "较前增大") beats a reference to the past; a negation after the
     target with a past reference before it ("the previously seen node is not
     seen") is historical, otherwise the negation wins;
   - otherwise ``affirmed``, with the ``impression``, ``present`` or
     ``described`` cue that supports it as trigger;

4. the section: HISTORY turns an affirmed or uncertain mention into historical,
   INDICATION / REASON FOR EXAM any but a negated or family one into hypothetical.
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

logger = logging.getLogger(__name__)

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
    rule: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return ``{"target", "assertion", "trigger", "rule"}``."""
        return {
            "target": self.target,
            "assertion": self.assertion,
            "trigger": self.trigger,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class TriggerHit:
    """One trigger found in a sentence (character offsets into the sentence)."""

    start: int
    end: int
    spec: TriggerSpec
    text: str


def scan_triggers(sentence: str, lexicon: Lexicon, pos: int = 0) -> list[TriggerHit]:
    """Return every trigger, pseudo-trigger and termination of ``sentence``, in order.

    ``pos`` starts the scan there; look-behinds still see the text before it, and ``^``
    matches only at the sentence start.
    """
    hits = []
    for match in lexicon.trigger_regex.finditer(sentence, pos):
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
        hits = scan_triggers(sentence[:start], lexicon) + scan_triggers(sentence, lexicon, end)
    best: dict[str, _Cue] = {}
    for hit in hits:
        kind = hit.spec.kind
        if kind in ("pseudo", "termination", "cause"):
            continue
        pre_words, post_words, cjk_chars = lexicon.window.limits(kind)
        if hit.end <= start and hit.spec.pre:
            lo, hi, max_words, before = hit.end, start, pre_words, True
        elif hit.start >= end and hit.spec.post:
            lo, hi, max_words, before = end, hit.start, post_words, False
        else:
            continue
        words, cjk = _gap(sentence[lo:hi])
        if words > max_words or cjk > cjk_chars or _terminated(hits, lo, hi, kind):
            continue
        if (
            before
            and kind in ("negated", "uncertain")
            and _new_finding(sentence, hit, start, end, hits, lexicon)
        ):
            continue
        if (
            not before
            and kind in ("negated", "uncertain")
            and _other_subject(sentence, hit, start, end, hits, lexicon)
        ):
            continue
        distance = words + cjk / 2.0
        if kind not in best or distance < best[kind].distance:
            best[kind] = _Cue(distance, hit, before)
    assertion, cue, rule = _resolve(sentence, start, end, best, hits, lexicon)
    modifiers: tuple[str, ...] = tuple(
        c
        for c in ("negated", "uncertain", "historical", "hypothetical", "family")
        if c in best or (c == "historical" and "past_only" in best)
    )
    if assertion == "historical" and "past_only" in best and "negated" not in modifiers:
        modifiers = ("negated", *modifiers)  # gone now: absent on this examination
    trigger = cue.text if cue is not None else ""
    # INDICATION-like sections make any mention but a negated or family one hypothetical;
    # other sections (HISTORY) turn affirmed and uncertain mentions into their assertion
    overridden = ("negated", "family") if section_assertion == "hypothetical" else None
    if section_assertion and (
        assertion not in overridden if overridden else assertion in ("affirmed", "uncertain")
    ):
        assertion, trigger = section_assertion, f"section:{section}"
        rule = _section_rule(lexicon, section, section_assertion)
        if section_assertion not in modifiers:
            modifiers = (*modifiers, section_assertion)
    return Classification(
        target=sentence[start:end] if target is None else target,
        assertion=assertion,
        trigger=trigger,
        modifiers=modifiers,
        rule=rule,
    )


_SEPARATOR = re.compile(r"[,，]|(?<![A-Za-z])and(?![A-Za-z])", re.IGNORECASE)
_LIST_WORD = re.compile(r"(?<![A-Za-z])(?:or|nor)(?![A-Za-z])|[/及和或与、]", re.IGNORECASE)
_NODE_WORD = re.compile(r"(?<![A-Za-z])(?:lymph )?nodes?(?![A-Za-z])|淋巴结", re.IGNORECASE)
_WORD_OR_CJK = re.compile(r"[A-Za-z0-9]+|[\u3400-\u9fff]")
#: what makes a finding a node for ``affirmed.cause-hedged`` (``uncertain.not-a-node``)
_NODE_FINDING = re.compile(
    r"(?<![A-Za-z])(?:(?:lymph )?nodes?|nodal|im(?:l)?ns?|(?:lymph)?adenopathy|mass(?:es)?|lumps?)"
    r"(?![A-Za-z])|淋巴结|肿块|包块",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,，;；]")


def _new_finding(
    sentence: str,
    cue: TriggerHit,
    start: int,
    end: int,
    hits: Sequence[TriggerHit],
    lexicon: Lexicon,
) -> bool:
    """True when the target opens a finding of its own after a comma or ``and``.

    ``cue.new-finding`` (CONTRACT 3a: judged for the IMN itself): in "No axillary
    adenopathy, enlarged right IMN", "Mastectomy site unremarkable, left IMN 9 mm" or
    "Indeterminate lung nodule and enlarged IMN" the negation or hedge before the
    separator is about another finding. The target's phrase must carry its own
    description (a ``described`` cue after the separator, or after the target when
    the separator is a comma), the cue must have an object of its own before the
    separator (a word that is no cue), and no ``or``/``nor`` may follow the separator
    (a list under one negation stays negated: "No axillary, supraclavicular or IMN
    adenopathy"; in Chinese the separator is "，" and 及/和/或/与/、 make the list:
    "右乳结节，考虑纤维腺瘤可能，右侧内乳淋巴结肿大").
    """
    lo = cue.end
    gap = sentence[lo:start]
    separators = list(_SEPARATOR.finditer(gap))
    if not separators:
        return False
    last = separators[-1]
    sep_start, sep_end = lo + last.start(), lo + last.end()
    if _LIST_WORD.search(sentence[sep_end:start]):
        return False
    # a cause is the hedge's own object ("腋窝淋巴结或为反应性，右侧内乳淋巴结肿大")
    covered = [(h.start, h.end) for h in hits if h.spec.kind != "cause"]
    own_object = any(
        not any(a <= lo + w.start() and lo + w.end() <= b for a, b in covered)
        for w in _WORD_OR_CJK.finditer(sentence[lo:sep_start])
    )
    if not own_object and not (cue.spec.post and _WORD_OR_CJK.search(sentence[: cue.start])):
        return False
    _, post_words, cjk_chars = lexicon.window.limits("described")
    for h in hits:
        if h.spec.kind != "described":
            continue
        if h.spec.pre and sep_end <= h.start and h.end <= start:
            return True
        if (
            last.group() in ",，"
            and h.spec.post
            and h.start >= end
            and _gap(sentence[end : h.start])[0] <= post_words
            and _gap(sentence[end : h.start])[1] <= cjk_chars
            and not _terminated(hits, end, h.start, "described")
        ):
            return True
    return False


def _other_subject(
    sentence: str,
    cue: TriggerHit,
    start: int,
    end: int,
    hits: Sequence[TriggerHit],
    lexicon: Lexicon,
) -> bool:
    """True when a negation or hedge after the target has a subject of its own.

    ``cue.new-finding`` after the target: in "Right IMN enlarged, axillary nodes
    negative" or "Enlarged right IMN and possible left axillary node" the cue is
    about the finding named after the separator. The target must carry its own
    description (a ``described`` or ``present`` cue before the separator, or one
    right before the target), and a word that is no cue must stand between the
    separator and the cue; "IMN and axillary nodes are not enlarged" (no description
    of its own) stays negated.
    """
    separators = list(_SEPARATOR.finditer(sentence, end, cue.start))
    if not separators:
        return False
    first = separators[0]
    between = sentence[first.end() : cue.start]
    if _LIST_WORD.search(between):
        return False
    covered = [(h.start, h.end) for h in hits]

    def free(lo: int, text: str) -> list[bool]:
        # a node word restates the target's own finding ("淋巴结可能", "node versus vessel")
        text = _NODE_WORD.sub(lambda m: " " * len(m.group()), text)
        return [
            not any(a <= lo + w.start() and lo + w.end() <= b for a, b in covered)
            for w in _WORD_OR_CJK.finditer(text)
        ]

    subject = any(free(first.end(), between))
    if not subject and cue.spec.pre:
        # a cue that may stand before its own finding ("possible left axillary node");
        # not before a cause ("likely metastatic", "可疑转移")
        follows = re.match(r"\s*[^\W_]", sentence[cue.end :])
        after = free(cue.end, sentence[cue.end : cue.end + 40]) if follows else []
        subject = bool(after) and after[0]
    if not subject:
        return False
    pre_words, _, cjk_chars = lexicon.window.limits("described")
    for h in hits:
        if h.spec.kind not in ("described", "present"):
            continue
        if h.spec.post and end <= h.start and h.end <= first.start():
            return True
        if h.spec.pre and h.end <= start:
            words, cjk = _gap(sentence[h.end : start])
            if (
                words <= pre_words
                and cjk <= cjk_chars
                and not _terminated(hits, h.end, start, "described")
            ):
                return True
    return False


@dataclass(frozen=True)
class _Cue:
    """The nearest in-scope cue of one kind: distance, the hit, and its side."""

    distance: float
    hit: TriggerHit
    before: bool

    @property
    def text(self) -> str:
        return self.hit.text

    @property
    def rule(self) -> str:
        return self.hit.spec.rule_for(self.before)


_LABEL_GAP = re.compile(r"[^.;:：。；!?！？\n]{0,40}?[:：][ \t]*")


def _label_cue(sentence: str, end: int, lexicon: Lexicon) -> tuple[str, str] | None:
    """Return ``(cue, rule)`` when the target is a label followed by a negation cue."""
    if lexicon.label_regex is None or lexicon.label_rules is None:
        return None
    gap = _LABEL_GAP.match(sentence, end)
    if gap is None or len(_LATIN_WORD.findall(sentence[end : gap.end()])) > 4:
        return None
    match = lexicon.label_regex.match(sentence, gap.end())
    if match is None or match.lastgroup is None:
        return None
    tail = sentence[match.end() : match.end() + 1]
    cue_end = match.group()[-1:]
    if tail and tail.isalnum() and tail.isascii() and cue_end.isalnum() and cue_end.isascii():
        return None
    return match.group(), lexicon.label_rules[match.lastgroup]


def _cause_next_to(hit: TriggerHit, hits: Sequence[TriggerHit], sentence: str) -> bool:
    """True when a ``cause`` cue stands right before or after the hedge ``hit``."""
    for other in hits:
        if other.spec.kind != "cause":
            continue
        lo, hi = (other.end, hit.start) if other.end <= hit.start else (hit.end, other.start)
        if hi < lo or _CLAUSE_BREAK.search(sentence, lo, hi):
            continue  # a cause in another clause has a hedge of its own
        words, cjk = _gap(sentence[lo:hi])
        if words <= 2 and cjk <= 4:
            return True
    return False


def _resolve(
    sentence: str,
    start: int,
    end: int,
    best: dict[str, _Cue],
    hits: Sequence[TriggerHit],
    lexicon: Lexicon,
) -> tuple[str, _Cue | TriggerHit | None, str]:
    """Apply the rules of the module docstring; return (assertion, cue, rule id)."""
    label = _label_cue(sentence, end, lexicon)
    if label is not None:
        text, label_rule = label
        hit = TriggerHit(end, end, TriggerSpec("negated", False, True, (), text), text)
        return "negated", hit, label_rule
    if "family" in best:
        return "family", best["family"], best["family"].rule
    hyp, unc = best.get("hypothetical"), best.get("uncertain")
    if hyp is not None:
        undecided = _undecided(hyp, unc, hits, sentence)
        if undecided is not None:
            return "uncertain", undecided, "uncertain.undecided"
        return "hypothetical", hyp, hyp.rule
    if "past_only" in best and not _back_now(sentence, best["past_only"], best.get("present")):
        return "historical", best["past_only"], best["past_only"].rule
    neg = best.get("negated")
    if neg is not None and unc is not None:
        if neg.before and unc.before and neg.hit.start < unc.hit.start:
            return "negated", neg, "negated.over-hedge"
        if neg.distance < unc.distance:
            unc = None
        else:
            neg = None
    if unc is not None:
        if _cause_hedged(unc, best, hits, sentence, start):
            lo, hi = min(start, unc.hit.end), max(end, unc.hit.start)
            if not _NODE_FINDING.search(sentence, lo, hi):
                return "uncertain", unc, "uncertain.not-a-node"
            return "affirmed", unc, "affirmed.cause-hedged"
        return "uncertain", unc, unc.rule
    return _negated_past_or_present(best, neg)


def _back_now(sentence: str, past: _Cue, present: _Cue | None) -> bool:
    """True when a statement about this examination outweighs a finding gone in the past.

    ``affirmed.trend`` over ``historical.resolved``: the present cue comes after the
    past one in its clause ("the node that had resolved in 2025 is again visible") or
    stands before the target and nearer it ("recurrent IMN ... in the field of the 2021
    resection"); "stable changes after resection of the IMN" and "内乳淋巴结，前次约6mm，
    现已消失" stay historical.
    """
    if present is None:
        return False
    if present.before and present.distance < past.distance:
        return True
    # after it and in the same clause: "已消失，余同前" is about the rest
    lo, hi = past.hit.end, present.hit.start
    return lo <= hi and not _CLAUSE_BREAK.search(sentence, lo, hi)


def _negated_past_or_present(
    best: dict[str, _Cue], neg: _Cue | None
) -> tuple[str, _Cue | TriggerHit | None, str]:
    """Negated, historical or affirmed: a statement about this examination beats the past."""
    hist, present = best.get("historical"), best.get("present")
    if neg is not None:
        if hist is not None and hist.before and not neg.before and present is None:
            return "historical", hist, hist.rule
        return "negated", neg, neg.rule
    if hist is not None and present is None:
        return "historical", hist, hist.rule
    for kind in ("impression", "present", "described"):
        if kind in best:
            return "affirmed", best[kind], best[kind].rule
    return "affirmed", None, "affirmed.default"


def _undecided(
    hyp: _Cue, unc: _Cue | None, hits: Sequence[TriggerHit], sentence: str
) -> _Cue | TriggerHit | None:
    """The hedge that answers an open question as undecided, if any.

    "whether this is an IMN is indeterminate" (a hedge after the target) and "it is
    indeterminate whether / unclear if an IMN is present" (a hedge right before the
    question or condition).
    """
    if hyp.rule == "hypothetical.whether" and unc is not None and not unc.before:
        return unc
    if (
        hyp.rule == "hypothetical.question"
        and not hyp.before
        and hyp.text not in ("?", "？")
        and unc is not None
        and not unc.before
        and unc.hit.start >= hyp.hit.end
    ):
        return unc  # "内乳淋巴结是否受累待定": the question word after the term, then the hedge
    if hyp.rule not in ("hypothetical.whether", "hypothetical.condition") or not hyp.before:
        return None
    for hit in hits:
        if (
            hit.spec.kind == "uncertain"
            and hit.end <= hyp.hit.start
            and not sentence[hit.end : hyp.hit.start].strip()
        ):
            return hit
    return None


def _cause_hedged(
    unc: _Cue,
    best: dict[str, _Cue],
    hits: Sequence[TriggerHit],
    sentence: str,
    start: int,
) -> bool:
    """A node said to be there (described, or unchanged/persisting) whose cause is hedged.

    The hedge stands after the node ("enlarged node, likely metastatic", "肿大，转移可能")
    or right before a cause before the target of a node described elsewhere in the
    sentence ("likely metastatic right IMN, 12 mm").
    """
    described = best.get("described") or best.get("present")
    if described is None:
        return False
    if unc.before:
        return _cause_before_target(unc.hit, hits, sentence, start)
    node_first = described.before or described.hit.start < unc.hit.start
    return node_first and _cause_next_to(unc.hit, hits, sentence)


def _cause_before_target(
    hedge: TriggerHit, hits: Sequence[TriggerHit], sentence: str, start: int
) -> bool:
    """True when a ``cause`` cue follows the hedge ``hedge`` directly, before the target."""
    for other in hits:
        if other.spec.kind != "cause" or not hedge.end <= other.start <= other.end <= start:
            continue
        words, cjk = _gap(sentence[hedge.end : other.start])
        if words == 0 and cjk <= 1 and not _CLAUSE_BREAK.search(sentence, hedge.end, start):
            return True
    return False


def _section_rule(lexicon: Lexicon, section: str, assertion: str) -> str:
    for entry in lexicon.sections:
        if entry.name == section and entry.rule:
            return entry.rule
    return f"{assertion}.section"


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
        logger.debug("target %r not found in the sentence", target)
        return Classification(target, "affirmed", "target-not-found", rule="target-not-found")
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

    Writes the same rows with added ``assertion``, ``trigger`` and ``rule`` columns as TSV
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
        out_fields = fields + [c for c in ("assertion", "trigger", "rule") if c not in fields]
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
            out["rule"] = result.rule
            writer.writerow(out)
            n += 1
    return n
