"""The IMN lexicon: terms, section headings and ConText triggers from ``lexicon.yaml``.

Everything the assertion engine knows about language lives in the YAML file so
that users extend it without code. This module compiles it once into a few
regular expressions:

- ``Lexicon.term_regex``: one alternation of every term pattern (named groups),
  used both as the fast prefilter and to find mentions;
- ``Lexicon.trigger_regex``: one alternation of every trigger, pseudo-trigger and
  termination, longest pattern first, so ``cannot exclude`` wins over ``not``;
- ``Lexicon.heading_regex``: section headings at the start of a line.

The file's structure is validated first by the pydantic model of
:mod:`imncohort.reports.lexicon_schema`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from imncohort.config import default_lexicon_path
from imncohort.errors import ConfigError
from imncohort.reports.lexicon_schema import (
    KINDS,
    LexiconFile,
    WindowModel,
    expand,
    validate_lexicon,
)

_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class TermEntry:
    """One canonical term (``term``) and the regexes of its surface forms."""

    term: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class TriggerSpec:
    """What a matched trigger text means.

    ``kind`` is one of :data:`KINDS`, ``"pseudo"`` or ``"termination"``;
    ``pre``/``post`` say whether it modifies targets after/before it; a termination
    ends the scope of the kinds in ``categories``; ``rule`` is the lexicon rule id.
    """

    kind: str
    pre: bool
    post: bool
    categories: tuple[str, ...]
    text: str
    rule: str = ""
    post_rule: str = ""

    def rule_for(self, before: bool) -> str:
        """The rule id of this cue used as a ``pre`` (``before``) or ``post`` cue."""
        return self.rule if before else (self.post_rule or self.rule)


@dataclass(frozen=True)
class Section:
    """A section heading family and the assertion its mentions take (or None)."""

    name: str
    assertion: str | None
    headings: tuple[str, ...]
    rule: str = ""


@dataclass(frozen=True)
class Window:
    """Scope limits between a trigger and its target (latin words, CJK characters)."""

    pre_words: int
    post_words: int
    cjk_chars: int
    overrides: tuple[tuple[str, int, int, int], ...] = ()

    def limits(self, category: str) -> tuple[int, int, int]:
        """Return ``(pre_words, post_words, cjk_chars)`` for a trigger category."""
        for name, pre, post, cjk in self.overrides:
            if name == category:
                return pre, post, cjk
        return self.pre_words, self.post_words, self.cjk_chars


@dataclass(frozen=True)
class Lexicon:
    """The compiled lexicon (see the module docstring)."""

    terms: tuple[TermEntry, ...]
    term_regex: re.Pattern[str]
    term_groups: Mapping[str, str]
    triggers: tuple[TriggerSpec, ...]
    trigger_regex: re.Pattern[str]
    sections: tuple[Section, ...]
    heading_regex: re.Pattern[str]
    window: Window
    source: str
    label_regex: re.Pattern[str] | None = None
    label_rules: Mapping[str, str] | None = None
    rule_ids: tuple[str, ...] = ()

    def term_of(self, group: str) -> str:
        """Return the canonical term of a named group of ``term_regex``."""
        return self.term_groups[group]

    def trigger_of(self, group: str) -> TriggerSpec:
        """Return the trigger spec of a named group ``g<k>_<j>`` of ``trigger_regex``."""
        return self.triggers[int(group[1:].split("_", 1)[0])]

    def section_of(self, heading: str) -> Section | None:
        """Return the known section whose heading pattern matches ``heading`` fully."""
        text = " ".join(heading.split())
        for section in self.sections:
            for pattern in section.headings:
                if re.fullmatch(_expand(pattern), text, flags=re.IGNORECASE):
                    return section
        return None


_expand = expand


_WORDS_GROUP = re.compile(
    r"\(\?:((?:[A-Za-z][A-Za-z '’\-]*\??\|)+[A-Za-z][A-Za-z '’\-]*\??)\)(?![?*+{])"
)


def split_leading_words(pattern: str) -> list[str]:
    """``(?:is|are) normal`` -> ``["is normal", "are normal"]``; other patterns unchanged.

    A pattern that opens with a group of plain English words is scanned as one
    alternative per word, so it joins the first-letter dispatch of
    :func:`_alternation` (where the longest pattern wins) instead of being tried
    at every position.
    """
    match = _WORDS_GROUP.match(pattern)
    if match is None:
        return [pattern]
    rest = pattern[match.end() :]
    return [word + rest for word in match.group(1).split("|")]


def _alternation(items: list[tuple[str, str]]) -> re.Pattern[str]:
    """Compile named alternatives into one fast regex.

    ASCII-led alternatives share one leading word boundary and are dispatched
    on their first letter by a lookahead; digit-led ones stand behind a lookahead
    on a digit; the others (CJK, punctuation) come after a lookahead on
    non-ASCII-letter characters. Within a group the order
    of ``items`` is kept (longest first), so the longest trigger wins.
    """
    by_letter: dict[str, list[tuple[str, str]]] = {}
    digit: list[tuple[str, str]] = []
    generic: list[tuple[str, str]] = []
    literal: list[tuple[str, str]] = []
    for group, pattern in items:
        first = pattern[:1]
        if first.isascii() and first.isalpha():
            by_letter.setdefault(first.lower(), []).append((group, pattern))
        elif pattern.startswith("\\d") or first.isdigit():
            digit.append((group, pattern))
        elif first.isascii() and first in "\\([.^$*+?{|":
            generic.append((group, pattern))
        else:
            literal.append((group, pattern))
    parts = []
    if by_letter:
        branches = []
        for letter, unsorted in sorted(by_letter.items()):
            alts = sorted(unsorted, key=lambda item: -len(item[1]))
            inner = "|".join(f"(?P<{g}>{_expand(p, lead=False)})" for g, p in alts)
            branches.append(f"(?=[{letter}{letter.upper()}])(?:{inner})")
        parts.append(f"(?<![A-Za-z0-9])(?:{'|'.join(branches)})")
    if digit:
        # digit-led alternatives ("\\d+ mm", "1.5 cm") are tried only where a digit stands
        inner = "|".join(f"(?P<{g}>{_expand(p)})" for g, p in digit)
        parts.append(f"(?=\\d)(?:{inner})")
    parts.extend(f"(?P<{g}>{_expand(p)})" for g, p in generic)
    if literal:
        inner = "|".join(f"(?P<{g}>{_expand(p)})" for g, p in literal)
        parts.append(f"(?=[^A-Za-z0-9\\s])(?:{inner})")
    return re.compile("|".join(parts), re.IGNORECASE)


def parse_lexicon(raw: Mapping[str, object], source: str = "<memory>") -> Lexicon:
    """Validate (:mod:`imncohort.reports.lexicon_schema`) and compile a lexicon mapping.

    Raises
    ------
    ConfigError
        Naming the entry and pattern that is wrong.
    """
    model = validate_lexicon(raw, source)
    terms = tuple(
        TermEntry(
            term=entry.term.lower(),
            patterns=tuple(entry.patterns) or (re.escape(entry.term).replace(r"\ ", " "),),
        )
        for entry in model.terms
    )
    term_regex, term_groups = _compile_terms(terms)
    table = _TriggerTable(source)
    labels: list[tuple[str, str]] = []
    for rule_id, kind, direction, pattern, where in _rule_cues(model):
        if direction == "label":
            labels.append((rule_id, pattern))
        else:
            table.add(pattern, kind, direction, (kind,), where, rule_id)
    for pattern in model.pseudo:
        table.add(pattern, "pseudo", "both", (), "pseudo")
    for i, entry in enumerate(model.terminations):
        cats = tuple(entry.categories) or KINDS
        for pattern in entry.patterns:
            table.add(pattern, "termination", "both", cats, f"terminations[{i}]")
    triggers = table.specs()
    trigger_regex = _alternation(
        [
            (f"g{k}_{j}", alternative)
            for k, t in enumerate(triggers)
            for j, alternative in enumerate(split_leading_words(t.text))
        ]
    )
    label_regex, label_rules = _compile_labels(labels)
    sections = tuple(
        Section(
            name=entry.name,
            assertion=entry.assertion,
            headings=tuple(entry.headings),
            rule=entry.rule or (f"{entry.assertion}.section" if entry.assertion else ""),
        )
        for entry in model.sections
    )
    rule_ids = [rule.id for rule in model.rules]
    return Lexicon(
        terms=terms,
        term_regex=term_regex,
        term_groups=term_groups,
        triggers=triggers,
        trigger_regex=trigger_regex,
        sections=sections,
        heading_regex=_HEADING,
        window=_window(model.window),
        source=source,
        label_regex=label_regex,
        label_rules=label_rules,
        rule_ids=tuple(dict.fromkeys([*rule_ids, *(s.rule for s in sections if s.rule)])),
    )


_HEADING = re.compile(
    r"(?:^|(?<=[.!?;。！？；]))[ \t]*"
    r"(?P<heading>[A-Za-z][A-Za-z /&()\-]{1,40}?|[\u4e00-\u9fff]{2,10})"
    r"[ \t]*[:：][ \t]*",
    re.MULTILINE,
)


def _compile_terms(terms: tuple[TermEntry, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every term pattern (longest first) and its group -> term map."""
    alternatives = [
        (f"t{k}_{j}", term.term, pattern)
        for k, term in enumerate(terms)
        for j, pattern in enumerate(term.patterns)
    ]
    alternatives.sort(key=lambda item: -len(item[2]))
    regex = _alternation([(g, p) for g, _, p in alternatives])
    return regex, {g: t for g, t, _ in alternatives}


def _compile_labels(
    labels: list[tuple[str, str]],
) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """The regex of label cues ("IMN: none"), longest first, and its group -> rule map."""
    labels = sorted(labels, key=lambda item: -len(item[1]))
    rules = {f"l{k}": rule_id for k, (rule_id, _) in enumerate(labels)}
    if not labels:
        return None, rules
    body = "|".join(f"(?P<l{k}>{_expand(p)})" for k, (_, p) in enumerate(labels))
    return re.compile(body, re.IGNORECASE), rules


def _window(model: WindowModel) -> Window:
    """Scope limits with the per-kind overrides of the lexicon."""
    overrides = []
    for category in KINDS:
        spec = getattr(model, category)
        if spec is not None:
            overrides.append(
                (
                    category,
                    model.pre_words if spec.pre_words is None else spec.pre_words,
                    model.post_words if spec.post_words is None else spec.post_words,
                    model.cjk_chars if spec.cjk_chars is None else spec.cjk_chars,
                )
            )
    return Window(model.pre_words, model.post_words, model.cjk_chars, tuple(overrides))


@dataclass
class _Cue:
    """A trigger pattern being collected: its kind, sides, categories and rule per side."""

    kind: str
    pre: bool
    post: bool
    categories: tuple[str, ...]
    text: str
    rules: dict[str, str]


class _TriggerTable:
    """Collects every cue pattern once; a pattern may serve one rule per side."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.by_pattern: dict[str, _Cue] = {}

    def add(
        self,
        pattern: str,
        kind: str,
        direction: str,
        categories: tuple[str, ...],
        where: str,
        rule: str = "",
    ) -> None:
        sides = [d for d in ("pre", "post") if direction in (d, "both")]
        key = pattern.lower()
        cue = self.by_pattern.get(key)
        if cue is None:
            self.by_pattern[key] = _Cue(
                kind,
                "pre" in sides,
                "post" in sides,
                categories,
                pattern,
                {d: rule for d in sides},
            )
            return
        if cue.kind != kind or any(cue.rules.get(d, rule) != rule for d in sides):
            first = ", ".join(sorted(set(cue.rules.values()))) or cue.kind
            raise ConfigError(
                f"lexicon '{self.source}': pattern {pattern!r} is listed both in {first} "
                f"and in {rule or kind} ({where}); keep it in one place"
            )
        cue.pre = cue.pre or "pre" in sides
        cue.post = cue.post or "post" in sides
        cue.categories = tuple(dict.fromkeys((*cue.categories, *categories)))
        cue.rules.update({d: rule for d in sides})

    def specs(self) -> tuple[TriggerSpec, ...]:
        """Every cue as a :class:`TriggerSpec`, longest pattern first."""
        ordered = sorted(self.by_pattern.values(), key=lambda c: -len(c.text))
        return tuple(
            TriggerSpec(
                kind=c.kind,
                pre=c.pre,
                post=c.post,
                categories=c.categories,
                text=c.text,
                rule=c.rules.get("pre") or c.rules.get("post", ""),
                post_rule=c.rules.get("post") or c.rules.get("pre", ""),
            )
            for c in ordered
        )


def _rule_cues(model: LexiconFile) -> list[tuple[str, str, str, str, str]]:
    """Return ``(rule id, kind, direction, pattern, where)`` of every cue of the lexicon.

    Reads ``rules`` and, for lexicons written before rules had ids, ``triggers``
    (``{category: {pre, post}}``; the rule id is ``<category>.<direction>``).
    """
    cues: list[tuple[str, str, str, str, str]] = []
    for i, rule in enumerate(model.rules):
        for direction in ("pre", "post", "label"):
            for pattern in getattr(rule, direction):
                where = f"rules[{i}].{direction} ({rule.id})"
                cues.append((rule.id, rule.kind, direction, pattern, where))
    for category, spec in model.triggers.items():
        for direction in ("pre", "post"):
            for pattern in getattr(spec, direction) if spec is not None else []:
                where = f"triggers.{category}.{direction}"
                cues.append((f"{category}.{direction}", category, direction, pattern, where))
    return cues


def load_lexicon(path: Path | str | None = None) -> Lexicon:
    """Load and compile a lexicon YAML file (the packaged ``lexicon.yaml`` when None).

    Parameters
    ----------
    path
        A YAML file with ``terms``, ``sections``, ``triggers``, ``pseudo``,
        ``terminations`` and ``window`` (see the packaged file for the format).
    """
    resolved = Path(path) if path is not None else default_lexicon_path()
    return _load_cached(str(resolved))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str) -> Lexicon:
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read lexicon '{path}': {exc.strerror}; set reports.lexicon to an existing file"
        ) from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"lexicon '{path}' is not valid YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"lexicon '{path}' must hold a mapping with 'terms' and 'rules'")
    return parse_lexicon(raw, source=path)


@functools.lru_cache(maxsize=4096)
def term_pattern(phrase: str) -> re.Pattern[str]:
    """Return a regex for an arbitrary target ``phrase`` (flexible spaces, optional plural)."""
    words = phrase.split()
    if not words:
        raise ConfigError("the target phrase is empty; give the words to classify")
    body = r"[\s\-]+".join(re.escape(w) for w in words)
    if _ASCII_WORD.match(words[-1][-1:]):
        body += r"(?:s|es)?"
    return re.compile(_expand_bounds(body, words[0][:1], words[-1][-1:]), re.IGNORECASE)


def _expand_bounds(body: str, first: str, last: str) -> str:
    if _ASCII_WORD.match(first):
        body = r"(?<![A-Za-z0-9])" + body
    if _ASCII_WORD.match(last):
        body += r"(?![A-Za-z0-9])"
    return body
