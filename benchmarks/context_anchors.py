"""Run medspaCy's ConText defaults and negspacy on sentences (worker of assertion_corpus.py).

This file runs in the anchors' own environments: medspaCy 1.3.1 pins spaCy < 3.8 and
negspacy 1.1.0 needs spaCy >= 3.8, so each gets its own, e.g.::

    python3 -m venv /work/venvs/medspacy && /work/venvs/medspacy/bin/pip install medspacy==1.3.1
    python3 -m venv /work/venvs/negspacy && /work/venvs/negspacy/bin/pip install negspacy==1.1.0

Usage: ``python context_anchors.py [N] [medspacy|negspacy|both]`` (default: 1 run, both).
It imports nothing from imncohort. Input on standard input: one JSON object per
line, ``{"text": ..., "start": int, "end": int}`` (the target's character span).
Output on standard output: one JSON object keyed by system (``medspacy``,
``negspacy``) with its predictions (a list, one per input line) and the seconds it
took (models loaded beforehand; the median of N runs), or the error that stopped it.

- medspaCy: ``medspacy.load()`` (PyRuSH sentence splitter, default ConText rules,
  no model download); the target span is set as the only entity, then ConText
  runs. Its attributes map to one assertion, in the order family, hypothetical,
  negated, uncertain, historical, else affirmed.
- negspacy: ``spacy.blank("en")`` + sentencizer + ``negex`` with its default
  termset; negated or affirmed only.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any


def _span(doc: Any, start: int, end: int) -> Any:
    span = doc.char_span(start, end, label="IMN", alignment_mode="expand")
    if span is None:  # target inside a token the tokenizer did not split
        span = doc.char_span(0, len(doc.text), label="IMN", alignment_mode="expand")
    return span


def run_medspacy(rows: list[dict[str, Any]], repeat: int = 1) -> tuple[list[str], float]:
    """Return medspaCy ConText assertions and the seconds spent."""
    try:
        from loguru import logger

        logger.remove()  # PyRuSH logs every token at DEBUG level
    except ImportError:
        pass
    import medspacy

    nlp = medspacy.load()
    context = nlp.get_pipe("medspacy_context")
    before = [name for name in nlp.pipe_names if name not in ("medspacy_context",)]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = _medspacy_once(nlp, before, context, rows)
        times.append(time.perf_counter() - started)
    return out, statistics.median(times)


def _medspacy_once(
    nlp: Any, before: list[str], context: Any, rows: list[dict[str, Any]]
) -> list[str]:
    out = []
    for row in rows:
        doc = nlp.make_doc(row["text"])
        for name in before:
            if name == "medspacy_target_matcher":
                continue
            doc = nlp.get_pipe(name)(doc)
        doc.ents = [_span(doc, row["start"], row["end"])]
        doc = context(doc)
        ent = doc.ents[0]
        if ent._.is_family:
            out.append("family")
        elif ent._.is_hypothetical:
            out.append("hypothetical")
        elif ent._.is_negated:
            out.append("negated")
        elif ent._.is_uncertain:
            out.append("uncertain")
        elif ent._.is_historical:
            out.append("historical")
        else:
            out.append("affirmed")
    return out


def run_negspacy(rows: list[dict[str, Any]], repeat: int = 1) -> tuple[list[str], float]:
    """Return negspacy's negated/affirmed and the seconds spent."""
    import spacy
    from negspacy.negation import Negex  # noqa: F401  (registers the factory)

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    negex = nlp.add_pipe("negex", config={"ent_types": ["IMN"]})
    sentencizer = nlp.get_pipe("sentencizer")
    times = []
    for _ in range(repeat):
        out = []
        started = time.perf_counter()
        for row in rows:
            doc = sentencizer(nlp.make_doc(row["text"]))
            doc.ents = [_span(doc, row["start"], row["end"])]
            doc = negex(doc)
            out.append("negated" if doc.ents[0]._.negex else "affirmed")
        times.append(time.perf_counter() - started)
    return out, statistics.median(times)


def main() -> int:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    wanted = sys.argv[2] if len(sys.argv) > 2 else "both"
    rows = [json.loads(line) for line in sys.stdin if line.strip()]
    result: dict[str, Any] = {}
    for name, run in (("medspacy", run_medspacy), ("negspacy", run_negspacy)):
        if wanted not in ("both", name):
            continue
        try:
            predicted, seconds = run(rows, repeat)
            result[name] = {"predicted": predicted, "seconds": seconds}
        except Exception as exc:  # report why an anchor could not run
            result[name] = {"error": f"{type(exc).__name__}: {exc}"}
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
