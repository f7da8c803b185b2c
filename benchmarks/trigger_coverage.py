"""Which cues of NegEx, medspaCy's ConText defaults and pyConTextNLP the lexicon covers.

Usage::

    python benchmarks/trigger_coverage.py --medspacy-python PATH --negspacy-python PATH \\
        --pycontext-kb FILE --doc docs/trigger_coverage.md

Sources (read, never copied into the lexicon):

- the published NegEx trigger list as packaged by negspacy (``termset("en_clinical")``),
  read in the negspacy environment (``--negspacy-python``, see
  ``benchmarks/context_anchors.py``);
- medspaCy 1.3.1's default ConText rules (``medspacy.load()``), read in the medspaCy
  environment (``--medspacy-python``; ``--anchor-python`` names one environment for both);
- pyConTextNLP's lexical knowledge base (``KB/lexical_kb_05042016.tsv`` of the
  pyConTextNLP repository), a local copy named by ``--pycontext-kb``.

A cue counts as *covered* when the lexicon's cue scan of the cue's own text finds
a cue of the same category covering at least half of it; *other category* when
the lexicon knows the words under a different category on purpose (CONTRACT
section 3a: "stable", "unchanged", "persistent" are statements about this
examination, hence affirmed; "evaluate for", "rule out" are requests, hence
hypothetical); otherwise *not covered*.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from imncohort.reports.assertion import scan_triggers
from imncohort.reports.lexicon import load_lexicon

#: lexicon kinds -> category of the table
KIND_CATEGORY = {
    "negated": "negated",
    "uncertain": "uncertain",
    "historical": "historical",
    "past_only": "historical",
    "hypothetical": "hypothetical",
    "family": "family",
    "pseudo": "pseudo",
    "termination": "termination",
    "described": "affirmed",
    "present": "affirmed",
    "impression": "affirmed",
}
MEDSPACY = {
    "NEGATED_EXISTENCE": "negated",
    "POSSIBLE_EXISTENCE": "uncertain",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "FAMILY": "family",
    "PSEUDO": "pseudo",
}
PYCONTEXT = {
    "DEFINITE_NEGATED_EXISTENCE": "negated",
    "PROBABLE_NEGATED_EXISTENCE": "negated",
    "PROBABLE_EXISTENCE": "uncertain",
    "AMBIVALENT_EXISTENCE": "uncertain",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "FUTURE": "hypothetical",
    "INDICATION": "hypothetical",
    "PSEUDONEG": "pseudo",
    "CONJ": "termination",
    "DEFINITE_EXISTENCE": "affirmed",
}
NEGEX = {
    "preceding_negations": "negated",
    "following_negations": "negated",
    "pseudo_negations": "pseudo",
    "termination": "termination",
}
CATEGORIES = (
    "negated",
    "uncertain",
    "historical",
    "hypothetical",
    "family",
    "affirmed",
    "pseudo",
    "termination",
)
_DUMP_MEDSPACY = r"""
import json
from loguru import logger
logger.remove()
import medspacy
nlp = medspacy.load()
rules = [(r.literal, r.category, r.direction) for r in nlp.get_pipe("medspacy_context").rules]
json.dump(rules, __import__("sys").stdout)
"""
_DUMP_NEGEX = r"""
import json
from negspacy.termsets import termset
json.dump(termset("en_clinical").get_patterns(), __import__("sys").stdout)
"""


def _dump(python: str, script: str) -> object:
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def anchor_cues(
    medspacy_python: str, negspacy_python: str | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(NegEx cues, medspaCy cues) as (text, category).

    medspaCy 1.3.1 pins spaCy < 3.8 and negspacy 1.1.0 needs >= 3.8, so the two lists
    may come from two environments (``negspacy_python`` defaults to ``medspacy_python``).
    """
    patterns = _dump(negspacy_python or medspacy_python, _DUMP_NEGEX)
    assert isinstance(patterns, dict)
    negex = [(c, NEGEX[k]) for k, cues in patterns.items() if k in NEGEX for c in cues]
    medspacy = []
    rules = _dump(medspacy_python, _DUMP_MEDSPACY)
    assert isinstance(rules, list)
    for literal, category, direction in rules:
        cat = "termination" if direction.upper() == "TERMINATE" else MEDSPACY.get(category)
        if cat:
            medspacy.append((literal, cat))
    return negex, medspacy


def pycontext_cues(path: Path) -> list[tuple[str, str]]:
    """pyConTextNLP KB cues as (literal, category)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    out = []
    for row in rows:
        cat = PYCONTEXT.get((row.get("Type") or "").strip())
        lex = (row.get("Lex") or "").strip()
        if cat and lex and not lex.startswith("#"):
            out.append((lex, cat))
    return out


def judge(cue: str, category: str) -> tuple[str, str]:
    """('covered' | 'other' | 'missing', the lexicon category found)."""
    lexicon = load_lexicon()
    text = " ".join(cue.split())
    hits = [h for h in scan_triggers(text, lexicon) if h.end - h.start >= len(text) / 2]
    found = {KIND_CATEGORY.get(h.spec.kind, h.spec.kind) for h in hits}
    if category in found:
        return "covered", category
    if found:
        return "other", ", ".join(sorted(found))
    return "missing", ""


def table(name: str, cues: list[tuple[str, str]]) -> list[str]:
    """Markdown lines of one source."""
    rows: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for cue, category in dict.fromkeys(cues):
        verdict, found = judge(cue, category)
        label = cue if verdict != "other" else f"{cue} (as {found})"
        rows[category][verdict].append(label)
    lines = [
        f"### {name}",
        "",
        "| category | cues | covered | other category (3a) | not covered (examples) |",
        "|---|---|---|---|---|",
    ]
    for category in CATEGORIES:
        if category not in rows:
            continue
        got = rows[category]
        total = sum(len(v) for v in got.values())
        other = "; ".join(got["other"][:6]) + (" ..." if len(got["other"]) > 6 else "")
        missing = "; ".join(got["missing"][:8]) + (" ..." if len(got["missing"]) > 8 else "")
        share = 100 * len(got["covered"]) / total
        lines.append(
            f"| {category} | {total} | {len(got['covered'])} ({share:.0f} %) "
            f"| {len(got['other'])}{': ' + other if other else ''} | {len(got['missing'])}"
            f"{': ' + missing if missing else ''} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor-python", help="one python for both lists")
    parser.add_argument("--medspacy-python", help="python of the medspaCy 1.3.1 environment")
    parser.add_argument("--negspacy-python", help="python of the negspacy environment")
    parser.add_argument("--pycontext-kb", type=Path, required=True)
    parser.add_argument(
        "--doc",
        type=Path,
        help="rewrite the tables of this Markdown page in place (its text before the "
        "first '### ' heading is kept) instead of printing them",
    )
    args = parser.parse_args(argv)
    medspacy_python = args.medspacy_python or args.anchor_python
    if not medspacy_python:
        parser.error("give --medspacy-python (and --negspacy-python) or --anchor-python")
    negex, medspacy = anchor_cues(medspacy_python, args.negspacy_python or args.anchor_python)
    lines = table("NegEx trigger list (negspacy en_clinical termset)", negex)
    lines += table("medspaCy 1.3.1 default ConText rules", medspacy)
    lines += table(
        "pyConTextNLP lexical KB (lexical_kb_05042016.tsv)", pycontext_cues(args.pycontext_kb)
    )
    text = "\n".join(lines)
    if args.doc is None:
        sys.stdout.write("## Trigger coverage\n\n" + text)
        return 0
    page = args.doc.read_text(encoding="utf-8")
    keep = page[: page.index("\n### ") + 1] if "\n### " in page else page + "\n"
    args.doc.write_text(keep + text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
