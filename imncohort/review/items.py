"""Review items: one per affirmed or uncertain mention, with a stable keyed id (pure).

``item_id`` = first 16 hex of HMAC-SHA256(secret, study UID | report id | sentence |
term | occurrence). The mention is named by its sentence text, its term and which
occurrence of that (sentence, term) pair it is in the report, not by character offsets:
re-indexing, a re-run or a new export keep the id as long as the report and the sentence
are the same, and a report split differently elsewhere keeps it too. The key makes the id
useless to anyone without the secret (it is derived from identifiers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pandas as pd

from imncohort.keys import pseudonym

#: Columns of the item frame (restricted: identifiers and the sentence).
ITEM_COLUMNS = [
    "item_id",
    "patient_key",
    "study_key",
    "PatientID",
    "AccessionNumber",
    "StudyInstanceUID",
    "report_id",
    "modality",
    "study_date",
    "section",
    "term",
    "assertion",
    "trigger",
    "side",
    "intercostal_spaces",
    "size",
    "sentence",
]
#: The marks around the term and the assertion trigger in a marked sentence.
TERM_MARKS = ("[", "]")
TRIGGER_MARKS = ("«", "»")
_SPACES = re.compile(r"\s+")
_POSITIVE = ("affirmed", "uncertain")


def normalise_sentence(sentence: str) -> str:
    """Return ``sentence`` with runs of white space as one space, stripped."""
    return _SPACES.sub(" ", str(sentence)).strip()


def item_id(
    secret: bytes, study_uid: str, report_id: str, sentence: str, term: str, occurrence: int
) -> str:
    """Return the stable 16-hex id of one mention (see the module docstring)."""
    if occurrence < 1:
        raise ValueError(f'Argument "occurrence" must be >= 1, got {occurrence}.')
    parts = [
        "imncohort-review-item",
        study_uid.strip(),
        report_id.strip(),
        normalise_sentence(sentence),
        term.strip().lower(),
        str(occurrence),
    ]
    return pseudonym(secret, "\x1f".join(parts))


def size_text(long_mm: float, short_mm: float) -> str:
    """Return ``"12 x 8 mm"``, ``"15 mm"`` or ``""`` from the parsed size (NaN = none)."""

    def known(value: float) -> bool:
        return value is not None and not (isinstance(value, float) and math.isnan(value))

    if known(long_mm) and known(short_mm):
        return f"{float(long_mm):g} x {float(short_mm):g} mm"
    if known(long_mm):
        return f"{float(long_mm):g} mm"
    return ""


def _first(pattern: str, text: str, taken: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    if not pattern:
        return None
    for match in re.finditer(re.escape(pattern), text, re.IGNORECASE):
        span = (match.start(), match.end())
        if all(span[1] <= a or span[0] >= b for a, b in taken):
            return span
    return None


def sentence_segments(sentence: str, term: str, trigger: str) -> list[tuple[str, str]]:
    """Split ``sentence`` into ``(text, kind)`` pieces, kind ``term``, ``trigger`` or ``""``.

    The first occurrence of the term (case-insensitive) and the first occurrence of the
    assertion trigger that does not overlap it are marked; a section trigger
    (``section:history``) or an empty trigger marks nothing.
    """
    spans: list[tuple[int, int, str]] = []
    term_span = _first(term, sentence, [])
    if term_span:
        spans.append((*term_span, "term"))
    if trigger and not trigger.startswith("section:"):
        trigger_span = _first(trigger, sentence, [term_span] if term_span else [])
        if trigger_span:
            spans.append((*trigger_span, "trigger"))
    pieces: list[tuple[str, str]] = []
    at = 0
    for start, end, kind in sorted(spans):
        if start > at:
            pieces.append((sentence[at:start], ""))
        pieces.append((sentence[start:end], kind))
        at = end
    if at < len(sentence):
        pieces.append((sentence[at:], ""))
    return pieces


def marked_sentence(sentence: str, term: str, trigger: str) -> str:
    """Return the sentence with the term in ``[...]`` and the trigger in ``«...»``."""
    marks = {"term": TERM_MARKS, "trigger": TRIGGER_MARKS, "": ("", "")}
    return "".join(
        f"{marks[kind][0]}{text}{marks[kind][1]}"
        for text, kind in sentence_segments(sentence, term, trigger)
    )


def build_items(mentions: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """Return one review item per affirmed or uncertain mention.

    Parameters
    ----------
    mentions
        Mentions in report order (``mentions.parquet`` joined with the restricted
        sentences and, by ``report_id``, ``PatientID``, ``AccessionNumber`` and
        ``StudyInstanceUID``); other assertions are ignored.
    secret
        The run's pseudonymisation secret (keys the item ids).

    Returns
    -------
    pandas.DataFrame
        :data:`ITEM_COLUMNS`, one row per item, ordered by patient, date, report.
    """
    needed = [c for c in ITEM_COLUMNS if c not in ("item_id", "size")]
    needed += ["size_long_mm", "size_short_mm"]
    missing = [c for c in needed if c not in mentions.columns]
    if missing:
        raise ValueError(f'Argument "mentions" lacks the columns {missing}')
    positive = mentions[mentions["assertion"].isin(_POSITIVE)]
    rows = []
    seen: dict[tuple[str, str, str], int] = {}
    for r in positive.to_dict("records"):
        text = {k: "" if pd.isna(r[k]) else str(r[k]) for k in needed if not k.endswith("_mm")}
        sentence = normalise_sentence(text["sentence"])
        pair = (text["report_id"], sentence, text["term"].lower())
        seen[pair] = seen.get(pair, 0) + 1
        rows.append(
            {
                **{k: text[k] for k in ITEM_COLUMNS if k in text},
                "item_id": item_id(
                    secret,
                    text["StudyInstanceUID"],
                    text["report_id"],
                    sentence,
                    text["term"],
                    seen[pair],
                ),
                "size": size_text(r["size_long_mm"], r["size_short_mm"]),
                "sentence": sentence,
            }
        )
    frame = pd.DataFrame(rows, columns=ITEM_COLUMNS).astype(str)
    frame = frame.drop_duplicates("item_id")
    return frame.sort_values(
        ["PatientID", "study_date", "report_id", "item_id"], kind="stable"
    ).reset_index(drop=True)
