"""The typed shape of ``lexicon.yaml``, validated by pydantic when the lexicon loads.

:func:`validate_lexicon` turns the mapping read from YAML into a
:class:`LexiconFile` or raises :class:`~imncohort.errors.ConfigError` naming the
entry (``rules[12] (negated.after).post[3]``), the bad value and what is allowed.
Compiling the validated file into regular expressions is
:mod:`imncohort.reports.lexicon`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from imncohort.errors import ConfigError

#: Assertions (CONTRACT section 3a).
ASSERTIONS = ("affirmed", "negated", "uncertain", "historical", "hypothetical", "family")
#: Rule kinds that decide an assertion (``past_only`` decides ``historical``).
CATEGORIES = ("negated", "uncertain", "historical", "past_only", "hypothetical", "family")
#: Rule kinds that qualify one (see ``lexicon.yaml``).
QUALIFIERS = ("described", "present", "impression", "cause")
KINDS = (*CATEGORIES, *QUALIFIERS)

Kind = Literal[
    "negated",
    "uncertain",
    "historical",
    "past_only",
    "hypothetical",
    "family",
    "described",
    "present",
    "impression",
    "cause",
]
Category = Literal["negated", "uncertain", "historical", "past_only", "hypothetical", "family"]
Assertion = Literal["affirmed", "negated", "uncertain", "historical", "hypothetical", "family"]

_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


#: escapes, group openers and counted quantifiers: a pattern with no ASCII word outside them
#: (``\d{4}年(?:\d{1,2}月)?``) ends in CJK and needs no trailing word boundary ("2024年CT")
_REGEX_SYNTAX = re.compile(r"\\.|\(\?(?:<?[=!]|:)|\{\d+(?:,\d*)?\}")


def expand(pattern: str, lead: bool = True) -> str:
    """Turn spaces into white-space runs and add ASCII word boundaries.

    With ``lead=False`` the leading boundary is left to the caller (it is
    factored out of an alternation, which makes scanning much faster).
    """
    body = _spaces_outside_classes(pattern)
    if lead and _ASCII_WORD.match(pattern[:1]):
        body = r"(?<![A-Za-z0-9])" + body
    if _ASCII_WORD.match(pattern[-1:]) or (
        pattern.endswith(("?", ")")) and _ASCII_WORD.search(_REGEX_SYNTAX.sub("", pattern))
    ):
        body = body + r"(?![A-Za-z0-9])"
    return body


def _spaces_outside_classes(pattern: str) -> str:
    """Replace each space by a white-space/hyphen run, except inside ``[...]`` classes."""
    out, in_class, escaped = [], False, False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == " " and not in_class:
            out.append(r"[\s\-]+")
        else:
            in_class = (ch == "[") if not in_class else (ch != "]")
            out.append(ch)
    return "".join(out)


def _valid_pattern(pattern: str) -> str:
    if not pattern:
        raise ValueError("has an empty pattern")
    try:
        re.compile(expand(pattern))
    except re.error as exc:
        raise ValueError(
            f"pattern {pattern!r} is not a valid regular expression ({exc}); fix or quote it"
        ) from None
    return pattern


def _none_is_empty(value: object) -> object:
    return [] if value is None else value


Pattern = Annotated[str, Field(strict=True), AfterValidator(_valid_pattern)]
Patterns = Annotated[list[Pattern], BeforeValidator(_none_is_empty)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermModel(_Entry):
    """One canonical term and the patterns of its surface forms."""

    term: Annotated[str, Field(min_length=1)]
    patterns: Patterns = []


class RuleModel(_Entry):
    """One named rule of section 3a: its kind and its cues."""

    id: Annotated[str, Field(strict=True, pattern=r"\S")]
    kind: Kind
    pre: Patterns = []
    post: Patterns = []
    label: Patterns = []
    note: str = ""

    @model_validator(mode="after")
    def _label_only_negated(self) -> RuleModel:
        if self.label and self.kind != "negated":
            raise ValueError("only negated rules take 'label'")
        return self


class SectionModel(_Entry):
    """A family of section headings and the assertion their mentions take."""

    name: Annotated[str, Field(min_length=1)]
    assertion: Assertion | None = None
    headings: Patterns = []
    rule: str = ""


class TerminationModel(_Entry):
    """Patterns that end the scope of the rule kinds in ``categories`` (default: all)."""

    categories: Annotated[list[Kind], BeforeValidator(_none_is_empty)] = []
    patterns: Patterns = []


class DirectionsModel(_Entry):
    """Legacy ``triggers`` entry: cues before and after the target."""

    pre: Patterns = []
    post: Patterns = []


class LimitsModel(_Entry):
    """A per-kind scope override."""

    pre_words: Annotated[int, Field(ge=0)] | None = None
    post_words: Annotated[int, Field(ge=0)] | None = None
    cjk_chars: Annotated[int, Field(ge=0)] | None = None


class WindowModel(_Entry):
    """Scope limits: latin words and CJK characters between a cue and its target."""

    pre_words: Annotated[int, Field(ge=0)] = 8
    post_words: Annotated[int, Field(ge=0)] = 4
    cjk_chars: Annotated[int, Field(ge=0)] = 16
    negated: LimitsModel | None = None
    uncertain: LimitsModel | None = None
    historical: LimitsModel | None = None
    past_only: LimitsModel | None = None
    hypothetical: LimitsModel | None = None
    family: LimitsModel | None = None
    described: LimitsModel | None = None
    present: LimitsModel | None = None
    impression: LimitsModel | None = None
    cause: LimitsModel | None = None


def _empty_window(value: object) -> object:
    return {} if value is None else value


class LexiconFile(_Entry):
    """The whole of ``lexicon.yaml``."""

    version: int = 1
    terms: Annotated[list[TermModel], BeforeValidator(_none_is_empty), Field(min_length=1)]
    sections: Annotated[list[SectionModel], BeforeValidator(_none_is_empty)] = []
    rules: Annotated[list[RuleModel], BeforeValidator(_none_is_empty)] = []
    triggers: Annotated[dict[Category, DirectionsModel | None], BeforeValidator(_empty_window)] = {}
    pseudo: Patterns = []
    terminations: Annotated[list[TerminationModel], BeforeValidator(_none_is_empty)] = []
    window: Annotated[WindowModel, BeforeValidator(_empty_window)] = WindowModel()

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> LexiconFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


_ENTRY_NAMES = {"terms": "term", "rules": "id", "sections": "name"}
_FIELDS: dict[str, type[BaseModel]] = {
    "terms": TermModel,
    "rules": RuleModel,
    "sections": SectionModel,
    "terminations": TerminationModel,
    "window": WindowModel,
}


def _where(loc: Sequence[int | str], raw: Mapping[str, object]) -> str:
    """``rules[3] (negated.after).post[2]`` for the pydantic location of an error."""
    text = ""
    node: object = raw
    for k, part in enumerate(loc):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        name_key = _ENTRY_NAMES.get(str(loc[0])) if k == 1 else None
        if name_key and isinstance(node, Mapping) and node.get(name_key):
            text += f" ({node[name_key]})"
    return text or "the file"


def _owner_model(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model of the entry at ``loc`` (for the list of keys it allows)."""
    if loc and loc[0] == "window":
        return LimitsModel if len(loc) > 1 else WindowModel
    if loc and loc[0] == "triggers":
        return DirectionsModel
    return _FIELDS.get(str(loc[0])) if loc else LexiconFile


def _describe(error: ErrorDetails, raw: Mapping[str, object]) -> str:
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        model = _owner_model(loc[:-1])
        allowed = f"; use {', '.join(sorted(model.model_fields))}" if model else ""
        return f"{_where(loc[:-1], raw)} has unknown keys [{loc[-1]!r}]{allowed}"
    if loc and loc[-1] == "[key]":
        loc, expected = loc[:-1], error.get("ctx", {}).get("expected", "")
        return f"{_where(loc[:1], raw)} category {loc[-1]!r} is not known; use one of {expected}"
    where = _where(loc, raw)
    if kind == "missing":
        return f"{_where(loc[:-1], raw)} needs a text {loc[-1]!r}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        if isinstance(loc[-1], int):
            return f"{where} is {value!r}; use one of {expected}"
        return f"{_where(loc[:-1], raw)} has {loc[-1]} {value!r}; use one of {expected}"
    if kind == "list_type":
        return f"{where} must be a list, got {type(value).__name__}"
    if kind == "string_type":
        return f"{where} must be text, got {value!r}; quote it in YAML"
    if kind == "string_pattern_mismatch" and loc[-1] == "id":
        return f"{_where(loc[:-1], raw)} needs a text 'id'"
    if kind == "too_short" and loc == ["terms"]:
        return "defines no terms; add at least one under 'terms'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:
        return message
    return f"{where}: {message}" + (f" (got {value!r})" if kind != "value_error" else "")


def validate_lexicon(raw: object, source: str) -> LexiconFile:
    """Validate the mapping of a lexicon file.

    Raises
    ------
    ConfigError
        One line per bad entry, naming the entry and the value.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"lexicon '{source}' must hold a mapping with 'terms' and 'rules'")
    try:
        return LexiconFile.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(err, raw) for err in exc.errors()]
        raise ConfigError(f"lexicon '{source}': " + "; ".join(lines)) from None
