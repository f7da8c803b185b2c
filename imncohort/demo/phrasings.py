"""Report sentences of the demo, exactly the templates of docs/ARCHITECTURE.md.

Each builder returns the sentence and the mentions it holds (``term`` lower-cased,
singular; side ``left|right|bilateral|""``; spaces; sizes in mm or None). Between
them the templates exercise every rule of CONTRACT section 3a in both languages
(the lexicon rule id is named in each builder's docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EN_TERMS = (
    "internal mammary node",
    "internal mammary lymph node",
    "IM node",
    "IMN",
    "IMLN",
    "parasternal node",
    "parasternal mass",
)
#: Terms whose plural is "<term>s" in the negated templates.
EN_PLURAL_TERMS = (
    "internal mammary node",
    "internal mammary lymph node",
    "IM node",
    "parasternal node",
)
ZH_TERMS = ("内乳淋巴结", "胸骨旁淋巴结")
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}
ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
ZH_NUMBERS = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五"}
ZH_SIDES = {"left": "左侧", "right": "右侧", "bilateral": "双侧", "": ""}


@dataclass(frozen=True)
class Mention:
    """One expected term mention of a report."""

    term: str
    assertion: str
    side: str = ""
    intercostal_spaces: tuple[int, ...] = ()
    size_long_mm: float | None = None
    size_short_mm: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The ground_truth.json form."""
        return {
            "term": self.term,
            "assertion": self.assertion,
            "side": self.side,
            "intercostal_spaces": list(self.intercostal_spaces),
            "size_long_mm": self.size_long_mm,
            "size_short_mm": self.size_short_mm,
        }


@dataclass(frozen=True)
class Sentence:
    """A sentence and the mentions it holds."""

    text: str
    mentions: tuple[Mention, ...] = field(default=())


def _side(side: str) -> str:
    return f"{side} " if side else ""


def _en_spaces(spaces: tuple[int, ...], words: bool = False) -> str:
    names = ORDINAL_WORDS if words else ORDINALS
    if len(spaces) == 1:
        return f"{names[spaces[0]]} intercostal space"
    return f"{names[spaces[0]]}-{names[spaces[-1]]} intercostal spaces"


def en_affirmed_size(
    term: str, side: str, spaces: tuple[int, ...], long_cm: float, short_cm: float
) -> Sentence:
    """ "There is an enlarged {side} {term} in the {2nd} intercostal space measuring ..." """
    text = (
        f"There is an enlarged {_side(side)}{term} in the {_en_spaces(spaces)} "
        f"measuring {long_cm:.1f} x {short_cm:.1f} cm."
    )
    mention = Mention(term.lower(), "affirmed", side, spaces, long_cm * 10.0, short_cm * 10.0)
    return Sentence(text, (_rounded(mention),))


def en_affirmed_unchanged(term: str, side: str) -> Sentence:
    """ "No change in the {side} {term}." """
    return Sentence(
        f"No change in the {_side(side)}{term}.", (Mention(term.lower(), "affirmed", side),)
    )


def en_affirmed_seen(term: str, side: str, space: int) -> Sentence:
    """ "A {side} {term} is seen at the {second} intercostal space." (side required)"""
    text = f"A {side} {term} is seen at the {ORDINAL_WORDS[space]} intercostal space."
    return Sentence(text, (Mention(term.lower(), "affirmed", side, (space,)),))


def en_negated(term: str, side: str, variant: int) -> Sentence:
    """The six negated templates (plural terms); ``side`` is used by variant 2 only.

    negated.before, negated.after, negated.normal, negated.label, negated.over-hedge.
    """
    if variant == 0:
        text, side = f"No enlarged {term}s.", ""
    elif variant == 1:
        text, side = f"The {term}s are not enlarged.", ""
    elif variant == 2:
        text = f"The {_side(side)}{term}s are unremarkable."
    elif variant == 3:
        text, side = f"{term[0].upper()}{term[1:]}s: none.", ""
    elif variant == 4:
        text, side = f"No suspicious {term}s.", ""
    else:
        text, side = f"The {term}s are normal in size.", ""
    return Sentence(text, (Mention(term.lower(), "negated", side),))


def en_affirmed_cause(term: str, side: str, space: int) -> Sentence:
    """affirmed.cause-hedged: "A {side} {term} is seen at the {second} intercostal space,
    likely metastatic." """
    text = (
        f"A {side} {term} is seen at the {ORDINAL_WORDS[space]} intercostal space, "
        "likely metastatic."
    )
    return Sentence(text, (Mention(term.lower(), "affirmed", side, (space,)),))


def en_affirmed_trend(term: str, side: str) -> Sentence:
    """affirmed.trend: "The previously noted {side} {term} persists." """
    return Sentence(
        f"The previously noted {_side(side)}{term} persists.",
        (Mention(term.lower(), "affirmed", side),),
    )


def en_resolved(term: str, side: str) -> Sentence:
    """historical.resolved: "The previously seen {side} {term} has resolved." """
    text = f"The previously seen {_side(side)}{term} has resolved."
    return Sentence(text, (Mention(term.lower(), "historical", side),))


def en_request(term: str) -> Sentence:
    """hypothetical.request: "Recommend MRI to evaluate the {term}s." (plural terms)"""
    return Sentence(
        f"Recommend MRI to evaluate the {term}s.", (Mention(term.lower(), "hypothetical"),)
    )


def en_question(term: str) -> Sentence:
    """hypothetical.question: "{Term} metastasis?" """
    return Sentence(
        f"{term[0].upper()}{term[1:]} metastasis?", (Mention(term.lower(), "hypothetical"),)
    )


def en_indication(term: str) -> Sentence:
    """hypothetical.indication (in INDICATION):
    "Breast cancer, assess for {term} metastasis." """
    return Sentence(
        f"Breast cancer, assess for {term} metastasis.", (Mention(term.lower(), "hypothetical"),)
    )


def en_family(term: str) -> Sentence:
    """family.experiencer: "Her mother had breast cancer with {term} metastasis." """
    return Sentence(
        f"Her mother had breast cancer with {term} metastasis.", (Mention(term.lower(), "family"),)
    )


def en_uncertain(term: str, side: str, variant: int) -> Sentence:
    """The three uncertain templates."""
    text = (
        f"Cannot exclude {_side(side)}{term} metastasis.",
        f"Indeterminate {_side(side)}{term}, likely reactive.",
        f"Possible {_side(side)}{term}.",
    )[variant]
    return Sentence(text, (Mention(term.lower(), "uncertain", side),))


def en_historical(term: str, side: str) -> Sentence:
    """ "Resolution of the previously seen {side} {term}." """
    text = f"Resolution of the previously seen {_side(side)}{term}."
    return Sentence(text, (Mention(term.lower(), "historical", side),))


def en_hypothetical(term: str) -> Sentence:
    """The hypothetical template; "the IMN region" is a second mention."""
    text = f"If {term} involvement is confirmed, radiotherapy should include the IMN region."
    return Sentence(text, (Mention(term.lower(), "hypothetical"), Mention("imn", "hypothetical")))


def _zh_spaces(spaces: tuple[int, ...]) -> str:
    if len(spaces) == 1:
        return f"第{ZH_NUMBERS[spaces[0]]}肋间"
    return f"第{spaces[0]}-{spaces[-1]}肋间"


def zh_affirmed(
    term: str, side: str, spaces: tuple[int, ...], long_cm: float, short_cm: float
) -> Sentence:
    """ "{左侧}{内乳淋巴结}肿大，位于第{二}肋间，大小约{1.2×0.8}cm。" """
    text = (
        f"{ZH_SIDES[side]}{term}肿大，位于{_zh_spaces(spaces)}，"
        f"大小约{long_cm:.1f}×{short_cm:.1f}cm。"
    )
    mention = Mention(term, "affirmed", side, spaces, long_cm * 10.0, short_cm * 10.0)
    return Sentence(text, (_rounded(mention),))


def zh_negated(term: str, variant: int = 0) -> Sentence:
    """ "未见{内乳淋巴结}肿大。" and four more: negated.before, negated.label,
    negated.normal, negated.over-hedge, negated.after."""
    text = (
        f"未见{term}肿大。",
        f"{term}：未见。",
        f"{term}未见异常。",
        f"未见可疑{term}。",
        f"{term}不大。",
    )[variant]
    return Sentence(text, (Mention(term, "negated"),))


def zh_affirmed_impression(
    term: str, side: str, spaces: tuple[int, ...], long_cm: float, short_cm: float
) -> Sentence:
    """affirmed.impression:
    "{左侧}{内乳淋巴结}肿大，位于第{二}肋间，大小约{1.2×0.8}cm，考虑转移。" """
    text = (
        f"{ZH_SIDES[side]}{term}肿大，位于{_zh_spaces(spaces)}，"
        f"大小约{long_cm:.1f}×{short_cm:.1f}cm，考虑转移。"
    )
    mention = Mention(term, "affirmed", side, spaces, long_cm * 10.0, short_cm * 10.0)
    return Sentence(text, (_rounded(mention),))


def zh_affirmed_trend(term: str, side: str, space: int) -> Sentence:
    """affirmed.trend: "{左侧}{内乳淋巴结}较前相仿，位于第{二}肋间，转移可能。" (cause hedged)"""
    text = f"{ZH_SIDES[side]}{term}较前相仿，位于{_zh_spaces((space,))}，转移可能。"
    return Sentence(text, (Mention(term, "affirmed", side, (space,)),))


def zh_resolved(term: str, side: str) -> Sentence:
    """historical.resolved: "原{左侧}{内乳淋巴结}现已消失。" """
    return Sentence(f"原{ZH_SIDES[side]}{term}现已消失。", (Mention(term, "historical", side),))


def zh_request(term: str) -> Sentence:
    """hypothetical.request: "建议MRI进一步评估{内乳淋巴结}。" """
    return Sentence(f"建议MRI进一步评估{term}。", (Mention(term, "hypothetical"),))


def zh_question(term: str) -> Sentence:
    """hypothetical.question: "{内乳淋巴结}转移？" """
    return Sentence(f"{term}转移？", (Mention(term, "hypothetical"),))


def zh_indication(term: str) -> Sentence:
    """hypothetical.indication (检查目的 section): "排除{内乳淋巴结}转移。" """
    return Sentence(f"排除{term}转移。", (Mention(term, "hypothetical"),))


def zh_family(term: str) -> Sentence:
    """family.experiencer: "母亲乳腺癌伴{内乳淋巴结}转移。" """
    return Sentence(f"母亲乳腺癌伴{term}转移。", (Mention(term, "family"),))


def zh_uncertain(term: str, side: str, variant: int) -> Sentence:
    """ "{右侧}{内乳淋巴结}，转移可能。" / "{内乳淋巴结}不除外转移。" (no side)"""
    if variant == 0:
        return Sentence(f"{ZH_SIDES[side]}{term}，转移可能。", (Mention(term, "uncertain", side),))
    return Sentence(f"{term}不除外转移。", (Mention(term, "uncertain"),))


def zh_historical(term: str) -> Sentence:
    """ "{内乳淋巴结}转移病史。" (in 病史)"""
    return Sentence(f"{term}转移病史。", (Mention(term, "historical"),))


def zh_hypothetical(term: str) -> Sentence:
    """ "如{内乳淋巴结}转移证实，建议放疗。" """
    return Sentence(f"如{term}转移证实，建议放疗。", (Mention(term, "hypothetical"),))


def _rounded(mention: Mention) -> Mention:
    return Mention(
        mention.term,
        mention.assertion,
        mention.side,
        mention.intercostal_spaces,
        None if mention.size_long_mm is None else round(mention.size_long_mm, 1),
        None if mention.size_short_mm is None else round(mention.size_short_mm, 1),
    )
