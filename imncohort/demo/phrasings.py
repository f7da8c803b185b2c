"""Report sentences of the demo, exactly the templates of docs/ARCHITECTURE.md.

Each builder returns the sentence and the mentions it holds (``term`` lower-cased,
singular; side ``left|right|bilateral|""``; spaces; sizes in mm or None).
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
    """The three negated templates (plural terms); ``side`` is used by variant 2 only."""
    if variant == 0:
        text, side = f"No enlarged {term}s.", ""
    elif variant == 1:
        text, side = f"The {term}s are not enlarged.", ""
    else:
        text = f"The {_side(side)}{term}s are unremarkable."
    return Sentence(text, (Mention(term.lower(), "negated", side),))


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


def zh_negated(term: str) -> Sentence:
    """ "未见{内乳淋巴结}肿大。" """
    return Sentence(f"未见{term}肿大。", (Mention(term, "negated"),))


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
