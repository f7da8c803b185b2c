"""Report texts of a demo patient, one per study, and their expected mentions.

What a patient's reports say follows its cohort status: confirmed patients found by
reports get an affirmed mention (side, space and size of their largest metastatic
node) in the CT report; confirmed patients not found by reports get negations or
nothing; candidates get uncertain or affirmed mentions without a metastatic node;
the others get negations, history or hypotheticals, or no IMN term at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imncohort.demo import phrasings as ph
from imncohort.demo.plan import PatientPlan

HEADINGS = {
    "en": {
        "Indication": "INDICATION:",
        "History": "HISTORY:",
        "Findings": "FINDINGS:",
        "Impression": "IMPRESSION:",
    },
    "zh": {
        "Indication": "检查目的：",
        "History": "病史：",
        "Findings": "检查所见：",
        "Impression": "诊断意见：",
    },
}
SECTION_ORDER = ("Indication", "History", "Findings", "Impression")
FILLERS = {
    "en": {
        "History": ("Left breast cancer, status post mastectomy.", "Breast cancer, staging."),
        "Findings": ("The lungs are clear.", "No pleural effusion.", "The heart size is normal."),
        "Impression": ("Postoperative status of breast cancer.", "No other abnormality."),
    },
    "zh": {
        "History": ("乳腺癌术后。", "乳腺癌分期检查。"),
        "Findings": ("双肺未见明显异常。", "胸腔未见积液。"),
        "Impression": ("乳腺癌术后改变。",),
    },
}


@dataclass(frozen=True)
class NodeFacts:
    """What a report may say about a metastatic node."""

    side: str
    spaces: tuple[int, ...]
    long_mm: float
    short_mm: float


@dataclass(frozen=True)
class Report:
    """One report: modality of its study, language and sentences per section."""

    modality: str
    language: str
    sections: tuple[tuple[str, tuple[ph.Sentence, ...]], ...]

    def section_texts(self) -> list[tuple[str, str]]:
        """(concept name, text) per non-empty section, e.g. ("Findings", "...")."""
        joiner = "" if self.language == "zh" else " "
        return [
            (name, joiner.join(s.text for s in sents)) for name, sents in self.sections if sents
        ]

    def text(self) -> str:
        """Plain text with section headings, as in a RIS export."""
        headings = HEADINGS[self.language]
        return "\n".join(f"{headings[name]} {body}" for name, body in self.section_texts())

    def mentions(self) -> list[ph.Mention]:
        """Expected mentions in reading order."""
        return [m for _, sents in self.sections for s in sents for m in s.mentions]


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


class _Writer:
    """Draws sentences in one language."""

    def __init__(self, language: str, rng: np.random.Generator) -> None:
        self.language = language
        self.rng = rng

    def term(self, plural: bool = False) -> str:
        if self.language == "zh":
            return _pick(self.rng, ph.ZH_TERMS)
        return _pick(self.rng, ph.EN_PLURAL_TERMS if plural else ph.EN_TERMS)

    def affirmed(self, facts: NodeFacts) -> ph.Sentence:
        long_cm, short_cm = round(facts.long_mm / 10.0, 1), round(facts.short_mm / 10.0, 1)
        if self.language == "zh":
            build = ph.zh_affirmed_impression if self.rng.random() < 0.5 else ph.zh_affirmed
            return build(self.term(), facts.side, facts.spaces, long_cm, short_cm)
        return ph.en_affirmed_size(self.term(), facts.side, facts.spaces, long_cm, short_cm)

    def affirmed_short(self, side: str, space: int) -> ph.Sentence:
        variant = int(self.rng.integers(4))
        if self.language == "zh":
            if variant < 2:
                return ph.zh_affirmed(self.term(), side, (space,), 0.8, 0.6)
            return ph.zh_affirmed_trend(self.term(), side, space)
        if variant == 0:
            return ph.en_affirmed_seen(self.term(), side, space)
        if variant == 1:
            return ph.en_affirmed_cause(self.term(), side, space)
        if variant == 2:
            return ph.en_affirmed_trend(self.term(), side)
        return ph.en_affirmed_unchanged(self.term(), side)

    def negated(self, side: str = "") -> ph.Sentence:
        if self.language == "zh":
            return ph.zh_negated(self.term(), int(self.rng.integers(5)))
        return ph.en_negated(self.term(plural=True), side, int(self.rng.integers(6)))

    def uncertain(self, side: str) -> ph.Sentence:
        variant = int(self.rng.integers(2 if self.language == "zh" else 3))
        if self.language == "zh":
            return ph.zh_uncertain(self.term(), side, variant)
        return ph.en_uncertain(self.term(), side, variant)

    def historical(self, side: str) -> ph.Sentence:
        resolved = self.rng.random() < 0.5
        if self.language == "zh":
            return ph.zh_resolved(self.term(), side) if resolved else ph.zh_historical(self.term())
        return (
            ph.en_resolved(self.term(), side) if resolved else ph.en_historical(self.term(), side)
        )

    def hypothetical(self) -> ph.Sentence:
        variant = int(self.rng.integers(3))
        if self.language == "zh":
            return (ph.zh_hypothetical, ph.zh_request, ph.zh_question)[variant](self.term())
        if variant == 1:
            return ph.en_request(self.term(plural=True))
        return (ph.en_hypothetical, ph.en_hypothetical, ph.en_question)[variant](self.term())

    def indication(self) -> ph.Sentence:
        if self.language == "zh":
            return ph.zh_indication(self.term())
        return ph.en_indication(self.term())

    def family(self) -> ph.Sentence:
        if self.language == "zh":
            return ph.zh_family(self.term())
        return ph.en_family(self.term())

    def filler(self, section: str) -> ph.Sentence:
        return ph.Sentence(_pick(self.rng, FILLERS[self.language][section]))


def compose_reports(
    plan: PatientPlan,
    metastatic: list[NodeFacts],
    modalities: list[str],
    rng: np.random.Generator,
) -> dict[str, Report]:
    """One report per study modality (``CT`` first) following the patient's status."""
    w = _Writer(plan.language, rng)
    side = _pick(rng, ("left", "right"))
    silent = plan.status == "none" and plan.index % 10 == 4
    reports: dict[str, Report] = {}
    for modality in modalities:
        indication: list[ph.Sentence] = []
        history = [w.filler("History")]
        findings = [w.filler("Findings")]
        impression = [w.filler("Impression")]
        if silent:
            pass
        elif plan.status == "confirmed":
            largest = max(metastatic, key=lambda f: f.short_mm)
            if plan.found_by_reports and modality == "CT":
                findings.insert(0, w.affirmed(largest))
            elif plan.found_by_reports and modality == "PT":
                findings.insert(0, w.affirmed_short(largest.side, largest.spaces[0]))
            elif plan.found_by_reports and modality == "MR":
                findings.insert(0, w.uncertain(largest.side))
            else:
                findings.insert(0, w.negated(largest.side))
            if modality == "CT" and plan.index % 2 == 0:
                impression.append(w.hypothetical())
        elif plan.status == "candidate":
            if modality == "CT":
                findings.insert(0, w.uncertain(side))
            elif modality == "US":
                findings.insert(0, w.affirmed_short(side, 2))
            else:
                findings.insert(0, w.negated(side))
        else:
            if modality == "CT":
                findings.insert(0, w.negated(side))
                impression.append(w.hypothetical())
            else:
                history.append(w.historical(side))
        if plan.status != "none" and modality == "US" and plan.index % 3 == 0:
            findings.append(w.historical(side))
        if not silent and modality == "CT" and plan.index % 3 == 1:
            indication.append(w.indication())
        if not silent and modality == "CT" and plan.index % 4 == 2:
            history.append(w.family())
        sections = (
            ("Indication", tuple(indication)),
            ("History", tuple(history)),
            ("Findings", tuple(findings)),
            ("Impression", tuple(impression)),
        )
        reports[modality] = Report(modality, plan.language, sections)
    return reports
