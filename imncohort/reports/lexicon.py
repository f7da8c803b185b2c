"""The IMN lexicon: terms, section headings and ConText triggers from ``lexicon.yaml``.

Everything the assertion engine knows about language lives in the YAML file so
that users extend it without code. This module compiles it once into a few
regular expressions:

- ``Lexicon.term_regex``: one alternation of every term pattern (named groups),
  used both as the fast prefilter and to find mentions;
- ``Lexicon.trigger_regex``: one alternation of every trigger, pseudo-trigger and
  termination, longest pattern first, so ``cannot exclude`` wins over ``not``;
- ``Lexicon.heading_regex``: section headings at the start of a line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imncohort.config import default_lexicon_path
from imncohort.errors import ConfigError

#: Assertions (CONTRACT section 3a).
ASSERTIONS = ("affirmed", "negated", "uncertain", "historical", "hypothetical", "family")
#: Rule kinds that decide an assertion (``past_only`` decides ``historical``).
CATEGORIES = ("negated", "uncertain", "historical", "past_only", "hypothetical", "family")
#: Rule kinds that qualify one (see ``lexicon.yaml``).
QUALIFIERS = ("described", "present", "impression", "cause")
KINDS = (*CATEGORIES, *QUALIFIERS)
_RULE_KEYS = {"id", "kind", "pre", "post", "label", "note"}
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
        """Return the trigger spec of a named group ``g<k>`` of ``trigger_regex``."""
        return self.triggers[int(group[1:])]

    def section_of(self, heading: str) -> Section | None:
        """Return the known section whose heading pattern matches ``heading`` fully."""
        text = " ".join(heading.split())
        for section in self.sections:
            for pattern in section.headings:
                if re.fullmatch(_expand(pattern), text, flags=re.IGNORECASE):
                    return section
        return None


def _expand(pattern: str, lead: bool = True) -> str:
    """Turn spaces into white-space runs and add ASCII word boundaries.

    With ``lead=False`` the leading boundary is left to the caller (it is
    factored out of an alternation, which makes scanning much faster).
    """
    body = pattern.replace(" ", r"[\s\-]+")
    if lead and _ASCII_WORD.match(pattern[:1]):
        body = r"(?<![A-Za-z0-9])" + body
    if _ASCII_WORD.match(pattern[-1:]) or pattern.endswith(("?", ")")):
        body = body + r"(?![A-Za-z0-9])"
    return body


def _alternation(items: list[tuple[str, str]]) -> re.Pattern[str]:
    """Compile named alternatives into one fast regex.

    ASCII-led alternatives share one leading word boundary and are dispatched
    on their first letter by a lookahead; the others (CJK, punctuation) come
    after a lookahead on non-ASCII-letter characters. Within a group the order
    of ``items`` is kept (longest first), so the longest trigger wins.
    """
    by_letter: dict[str, list[tuple[str, str]]] = {}
    generic: list[tuple[str, str]] = []
    literal: list[tuple[str, str]] = []
    for group, pattern in items:
        first = pattern[:1]
        if first.isascii() and first.isalpha():
            by_letter.setdefault(first.lower(), []).append((group, pattern))
        elif first.isascii() and (first.isdigit() or first in "\\([.^$*+?{|"):
            generic.append((group, pattern))
        else:
            literal.append((group, pattern))
    parts = []
    if by_letter:
        branches = []
        for letter, alts in sorted(by_letter.items()):
            inner = "|".join(f"(?P<{g}>{_expand(p, lead=False)})" for g, p in alts)
            branches.append(f"(?=[{letter}{letter.upper()}])(?:{inner})")
        parts.append(f"(?<![A-Za-z0-9])(?:{'|'.join(branches)})")
    parts.extend(f"(?P<{g}>{_expand(p)})" for g, p in generic)
    if literal:
        inner = "|".join(f"(?P<{g}>{_expand(p)})" for g, p in literal)
        parts.append(f"(?=[^A-Za-z0-9\\s])(?:{inner})")
    return re.compile("|".join(parts), re.IGNORECASE)


def _check(pattern: str, where: str, source: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(
            f"lexicon '{source}': {where} has an empty or non-text pattern {pattern!r}"
        )
    try:
        re.compile(_expand(pattern))
    except re.error as exc:
        raise ConfigError(
            f"lexicon '{source}': {where} pattern {pattern!r} is not a valid regular "
            f"expression ({exc}); fix or quote it"
        ) from None
    return pattern


def _list(raw: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"lexicon '{source}': '{key}' must be a list, got {type(value).__name__}")
    return value


def parse_lexicon(raw: Mapping[str, Any], source: str = "<memory>") -> Lexicon:
    """Compile a lexicon mapping (the content of ``lexicon.yaml``).

    Raises
    ------
    ConfigError
        Naming the entry and pattern that is wrong.
    """
    terms: list[TermEntry] = []
    for i, entry in enumerate(_list(raw, "terms", source)):
        if not isinstance(entry, Mapping) or not entry.get("term"):
            raise ConfigError(f"lexicon '{source}': terms[{i}] needs a 'term' and 'patterns'")
        patterns = tuple(
            _check(p, f"terms[{i}] ({entry['term']})", source) for p in entry.get("patterns") or []
        )
        if not patterns:
            patterns = (re.escape(str(entry["term"])).replace(r"\ ", " "),)
        terms.append(TermEntry(term=str(entry["term"]).lower(), patterns=patterns))
    if not terms:
        raise ConfigError(f"lexicon '{source}' defines no terms; add at least one under 'terms'")

    term_alternatives: list[tuple[str, str, str]] = []
    for k, term in enumerate(terms):
        for j, pattern in enumerate(term.patterns):
            term_alternatives.append((f"t{k}_{j}", term.term, pattern))
    term_alternatives.sort(key=lambda item: -len(item[2]))
    term_regex = _alternation([(g, p) for g, _, p in term_alternatives])
    term_groups = {g: t for g, t, _ in term_alternatives}

    by_pattern: dict[str, dict[str, Any]] = {}

    def add(
        pattern: str,
        kind: str,
        direction: str,
        categories: tuple[str, ...],
        where: str,
        rule: str = "",
    ) -> None:
        _check(pattern, where, source)
        key = pattern.lower()
        spec = by_pattern.get(key)
        if spec is None:
            by_pattern[key] = {
                "kind": kind,
                "pre": direction in ("pre", "both"),
                "post": direction in ("post", "both"),
                "categories": categories,
                "text": pattern,
                "rules": {d: rule for d in ("pre", "post") if direction in (d, "both")},
            }
            return
        clash = any(
            spec["rules"].get(d, rule) != rule for d in ("pre", "post") if direction in (d, "both")
        )
        if spec["kind"] != kind or clash:
            first = ", ".join(sorted(set(spec["rules"].values()))) or spec["kind"]
            raise ConfigError(
                f"lexicon '{source}': pattern {pattern!r} is listed both in {first} "
                f"and in {rule or kind} ({where}); keep it in one place"
            )
        spec["pre"] = spec["pre"] or direction in ("pre", "both")
        spec["post"] = spec["post"] or direction in ("post", "both")
        spec["categories"] = tuple(dict.fromkeys((*spec["categories"], *categories)))
        for d in ("pre", "post"):
            if direction in (d, "both"):
                spec["rules"][d] = rule

    labels: list[tuple[str, str]] = []
    rule_ids = [str(e.get("id")) for e in _list(raw, "rules", source) if isinstance(e, Mapping)]
    for rule_id, kind, direction, pattern, where in _rule_cues(raw, source):
        if direction == "label":
            _check(pattern, where, source)
            labels.append((rule_id, pattern))
        else:
            add(pattern, kind, direction, (kind,), where, rule_id)
    for pattern in _list(raw, "pseudo", source):
        add(pattern, "pseudo", "both", (), "pseudo")
    for i, entry in enumerate(_list(raw, "terminations", source)):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"lexicon '{source}': terminations[{i}] must be a mapping")
        cats = tuple(entry.get("categories") or KINDS)
        bad = [c for c in cats if c not in KINDS]
        if bad:
            raise ConfigError(
                f"lexicon '{source}': terminations[{i}] has unknown categories {bad}; "
                f"use {', '.join(KINDS)}"
            )
        for pattern in entry.get("patterns") or []:
            add(pattern, "termination", "both", cats, f"terminations[{i}]")

    ordered = sorted(by_pattern.values(), key=lambda s: -len(s["text"]))
    triggers = tuple(
        TriggerSpec(
            kind=s["kind"],
            pre=s["pre"],
            post=s["post"],
            categories=tuple(s["categories"]),
            text=s["text"],
            rule=s["rules"].get("pre") or s["rules"].get("post", ""),
            post_rule=s["rules"].get("post") or s["rules"].get("pre", ""),
        )
        for s in ordered
    )
    trigger_regex = _alternation([(f"g{k}", t.text) for k, t in enumerate(triggers)])

    labels.sort(key=lambda item: -len(item[1]))
    label_rules = {f"l{k}": rule_id for k, (rule_id, _) in enumerate(labels)}
    label_regex = (
        re.compile(
            "|".join(f"(?P<l{k}>{_expand(p)})" for k, (_, p) in enumerate(labels)), re.IGNORECASE
        )
        if labels
        else None
    )

    sections: list[Section] = []
    for i, entry in enumerate(_list(raw, "sections", source)):
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise ConfigError(f"lexicon '{source}': sections[{i}] needs a 'name' and 'headings'")
        assertion = entry.get("assertion")
        if assertion is not None and assertion not in ASSERTIONS:
            raise ConfigError(
                f"lexicon '{source}': sections[{i}] assertion {assertion!r} is not one of "
                f"{', '.join(ASSERTIONS)} (or null)"
            )
        headings = tuple(_check(h, f"sections[{i}]", source) for h in entry.get("headings") or [])
        rule = str(entry.get("rule") or (f"{assertion}.section" if assertion else ""))
        sections.append(
            Section(name=str(entry["name"]), assertion=assertion, headings=headings, rule=rule)
        )
    heading_regex = re.compile(
        r"(?:^|(?<=[.!?;。！？；]))[ \t]*"
        r"(?P<heading>[A-Za-z][A-Za-z /&()\-]{1,40}?|[\u4e00-\u9fff]{2,10})"
        r"[ \t]*[:：][ \t]*",
        re.MULTILINE,
    )

    window_raw = raw.get("window") or {}
    pre_words = int(window_raw.get("pre_words", 8))
    post_words = int(window_raw.get("post_words", 4))
    cjk_chars = int(window_raw.get("cjk_chars", 16))
    overrides = []
    unknown = [k for k in window_raw if k not in ("pre_words", "post_words", "cjk_chars", *KINDS)]
    if unknown:
        raise ConfigError(
            f"lexicon '{source}': window has unknown keys {unknown}; use pre_words, post_words, "
            f"cjk_chars or a rule kind ({', '.join(KINDS)})"
        )
    for category in KINDS:
        spec = window_raw.get(category)
        if isinstance(spec, Mapping):
            overrides.append(
                (
                    category,
                    int(spec.get("pre_words", pre_words)),
                    int(spec.get("post_words", post_words)),
                    int(spec.get("cjk_chars", cjk_chars)),
                )
            )
    window = Window(pre_words, post_words, cjk_chars, tuple(overrides))
    return Lexicon(
        terms=tuple(terms),
        term_regex=term_regex,
        term_groups=term_groups,
        triggers=triggers,
        trigger_regex=trigger_regex,
        sections=tuple(sections),
        heading_regex=heading_regex,
        window=window,
        source=source,
        label_regex=label_regex,
        label_rules=label_rules,
        rule_ids=tuple(dict.fromkeys([*rule_ids, *(s.rule for s in sections if s.rule)])),
    )


def _rule_cues(raw: Mapping[str, Any], source: str) -> list[tuple[str, str, str, str, str]]:
    """Return ``(rule id, kind, direction, pattern, where)`` of every cue of the lexicon.

    Reads ``rules`` (a list of ``{id, kind, pre, post, label}``) and, for lexicons
    written before rules had ids, ``triggers`` (``{category: {pre, post}}``; the
    rule id is ``<category>.<direction>``).
    """
    cues: list[tuple[str, str, str, str, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(_list(raw, "rules", source)):
        where = f"rules[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"lexicon '{source}': {where} must be a mapping with 'id' and 'kind'")
        extra = sorted(set(entry) - _RULE_KEYS)
        if extra:
            raise ConfigError(
                f"lexicon '{source}': {where} has unknown keys {extra}; "
                f"use {', '.join(sorted(_RULE_KEYS))}"
            )
        rule_id, kind = entry.get("id"), entry.get("kind")
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise ConfigError(f"lexicon '{source}': {where} needs a text 'id'")
        if rule_id in seen:
            raise ConfigError(f"lexicon '{source}': rule id {rule_id!r} is used twice")
        seen.add(rule_id)
        if kind not in KINDS:
            raise ConfigError(
                f"lexicon '{source}': {where} ({rule_id}) has kind {kind!r}; use one of "
                f"{', '.join(KINDS)}"
            )
        for direction in ("pre", "post", "label"):
            values = entry.get(direction) or []
            if not isinstance(values, list):
                raise ConfigError(f"lexicon '{source}': {where}.{direction} must be a list")
            if direction == "label" and values and kind != "negated":
                raise ConfigError(f"lexicon '{source}': {where}: only negated rules take 'label'")
            for pattern in values:
                cues.append((rule_id, kind, direction, pattern, f"{where}.{direction} ({rule_id})"))
    triggers_raw = raw.get("triggers") or {}
    if not isinstance(triggers_raw, Mapping):
        raise ConfigError(f"lexicon '{source}': 'triggers' must be a mapping of categories")
    for category, spec in triggers_raw.items():
        if category not in CATEGORIES:
            raise ConfigError(
                f"lexicon '{source}': trigger category {category!r} is not known; "
                f"use one of {', '.join(CATEGORIES)}"
            )
        for direction in ("pre", "post"):
            for pattern in (spec or {}).get(direction) or []:
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
        raise ConfigError(f"lexicon '{path}' must hold a mapping with 'terms' and 'triggers'")
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
