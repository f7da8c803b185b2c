"""Which cues of NegEx, medspaCy's ConText defaults and pyConTextNLP the lexicon covers.

Usage::

    python benchmarks/trigger_coverage.py --anchor-python PATH --pycontext-kb FILE \\
        > docs/trigger_coverage.md

Sources (read, never copied into the lexicon):

- the published NegEx trigger list as packaged by negspacy (``termset("en_clinical")``),
  read in the anchor environment (``--anchor-python``, see
  ``benchmarks/context_anchors.py``);
- medspaCy 1.3.1's default ConText rules (``medspacy.load()``), same environment;
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
_DUMP = r"""
import json
from loguru import logger
logger.remove()
import medspacy
from negspacy.termsets import termset
nlp = medspacy.load()
rules = [(r.literal, r.category, r.direction) for r in nlp.get_pipe("medspacy_context").rules]
out = {"medspacy": rules, "negex": termset("en_clinical").get_patterns()}
json.dump(out, __import__("sys").stdout)
"""


def anchor_cues(python: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(NegEx cues, medspaCy cues) as (text, category)."""
    done = subprocess.run([python, "-c", _DUMP], capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    negex = [(c, NEGEX[k]) for k, cues in data["negex"].items() if k in NEGEX for c in cues]
    medspacy = []
    for literal, category, direction in data["medspacy"]:
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
    parser.add_argument("--anchor-python", required=True)
    parser.add_argument("--pycontext-kb", type=Path, required=True)
    args = parser.parse_args(argv)
    negex, medspacy = anchor_cues(args.anchor_python)
    lines = ["## Trigger coverage", ""]
    lines += table("NegEx trigger list (negspacy en_clinical termset)", negex)
    lines += table("medspaCy 1.3.1 default ConText rules", medspacy)
    lines += table(
        "pyConTextNLP lexical KB (lexical_kb_05042016.tsv)", pycontext_cues(args.pycontext_kb)
    )
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
