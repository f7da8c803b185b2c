"""IMN assertions of imncohort beside medspaCy's ConText defaults and negspacy.

Usage::

    python benchmarks/assertion_corpus.py [--sets all|NAME,NAME...] [--kit FILE]
        [--medspacy-python PATH] [--negspacy-python PATH] [--errors N] [--repeat N]

Data sets (``--sets``, default every one found), one block each:

- ``old-dev`` / ``old-test``: the project's corpus ``tests/data/assertion_corpus/corpus.tsv``
  (written from CONTRACT section 3a; six classes with ``family``). ``dev`` is what the
  lexicon is tuned on; ``test`` is not tuned on, but the lexicon's authors knew all its
  templates;
- ``holdout``: ``holdout.tsv``, 85 sentences written after the lexicon was first frozen;
  development data since the lexicon was revised against it;
- ``blind-dev`` / ``blind-test``: ``blind/blind.tsv``, written by an engineer who did not
  see the lexicon; ``test`` was scored twice as a test split (2026-12-01) and is
  development data since 2026-12-02, like ``dev`` (both are tuned on);
- ``blind-dev2``: ``blind/dev2.tsv``, a second blind development set (all rows ``dev``),
  written by another engineer who did not see the lexicon, affirmed-heavy;
- ``blind2``: ``blind2/blind2.tsv`` (``--blind2 FILE``), written from the guideline alone
  by an annotator who never saw the engine; scored once as the held-out test set on
  2026-12-02 (accuracy 0.935, candidate 0.943) and development data since the same day
  (every row is read, any ``split`` column is ignored; ``--errors`` lists its errors);
- ``blind3``: ``blind3/blind3.tsv`` (``--blind3 FILE``), the held-out test set written by
  another annotator from the guideline alone; every row is test, errors are never
  listed, and it is skipped while the file does not exist. The columns of ``blind2`` and
  ``blind3`` are ``id, target, sentence, label, language, modality, section, rule``; the
  ``section`` (``FINDINGS``, ``INDICATION``, ``RECOMMENDATION`` ...), when not empty, is
  put before the sentence as its heading (``INDICATION: ...``) unless the sentence starts
  with a heading already;
- ``kit``: the public NegEx test kit (Chapman et al., 2,376 sentences; see
  ``../shared/benchmarks/negex/README.md``), measured only. Its three labels
  (negation, temporality, experiencer) map to one assertion in the order
  family (experiencer other), hypothetical, negated, uncertain (possible),
  historical, affirmed. Negation F1 counts a mention as negated when the
  assertion is ``negated`` or, for imncohort, ``historical`` with the negation
  in scope (``resolved``, ``no longer``: gone now, which the kit labels as
  negated).

``--errors N`` lists up to N imncohort errors of the development sets only
(``old-dev``, ``holdout``, ``blind-dev``, ``blind-test``, ``blind-dev2``, ``blind2``); the
test sets (``old-test``, ``blind3``) and the kit never list errors.

Anchors: medspaCy 1.3.1 (``medspacy.load()``, default ConText rules) and negspacy
1.1.0 (default termset) run through ``benchmarks/context_anchors.py`` in their own
environments (medspaCy pins spaCy < 3.8, negspacy needs >= 3.8), named by
``--medspacy-python`` / ``--negspacy-python`` or the environment variables
``IMNCOHORT_MEDSPACY_PYTHON`` / ``IMNCOHORT_NEGSPACY_PYTHON`` (``--anchor-python`` /
``IMNCOHORT_ANCHOR_PYTHON``: one environment for both); without one a system is
reported as not run. Every system gets the same sentence and the same target span.

Figures: accuracy over all classes (overall and per language), per-class F1,
candidate-decision accuracy (affirmed or uncertain = candidate, CONTRACT 3a; overall
and per language), and sentences per second (classification only, models loaded; one
process; the median of ``--repeat`` timed runs).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imncohort.reports.assertion import classify
from imncohort.reports.lexicon import load_lexicon, term_pattern

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "tests" / "data" / "assertion_corpus" / "corpus.tsv"
HOLDOUT = CORPUS.with_name("holdout.tsv")
BLIND = CORPUS.parent / "blind" / "blind.tsv"
DEV2 = BLIND.with_name("dev2.tsv")
BLIND2 = CORPUS.parent / "blind2" / "blind2.tsv"
BLIND3 = CORPUS.parent / "blind3" / "blind3.tsv"
#: name -> (file, split or "all", development data: errors may be listed)
SETS: dict[str, tuple[Path, str, bool]] = {
    "old-dev": (CORPUS, "dev", True),
    "old-test": (CORPUS, "test", False),
    "holdout": (HOLDOUT, "all", True),
    "blind-dev": (BLIND, "dev", True),
    # scored twice as a test split (2026-12-01), development data since 2026-12-02
    "blind-test": (BLIND, "test", True),
    "blind-dev2": (DEV2, "dev", True),
    # scored once as the held-out test set, development data since 2026-12-02
    "blind2": (BLIND2, "all", True),
    # the held-out test set: every row is test, whatever its split column says
    "blind3": (BLIND3, "all", False),
}
KIT = HERE.parents[1] / "shared" / "benchmarks" / "negex" / "rsAnnotations-1-120-random.txt"
CLASSES = ("affirmed", "negated", "uncertain", "historical", "hypothetical", "family")
CANDIDATE = ("affirmed", "uncertain")


@dataclass(frozen=True)
class Row:
    target: str
    sentence: str
    label: str
    language: str


def with_section(sentence: str, section: str | None) -> str:
    """``sentence`` under the heading ``section`` (``INDICATION: ...``), as in a report.

    Unchanged when ``section`` is empty or ``-``, or when the sentence starts with a
    heading of the lexicon already.
    """
    section = (section or "").strip().rstrip(":：").strip()
    if not section or section == "-":
        return sentence
    lexicon = load_lexicon()
    heading = lexicon.heading_regex.match(sentence.lstrip())
    if heading and lexicon.section_of(heading.group("heading")) is not None:
        return sentence
    separator = "：" if any("\u3400" <= ch <= "\u9fff" for ch in section) else ": "
    return f"{section}{separator}{sentence}"


def read_corpus(path: Path, split: str) -> list[Row]:
    """Rows of the corpus TSV in ``split`` (``all`` for every row)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Row(
            r["target"].strip(),
            with_section(r["sentence"], r.get("section")),
            r["label"].strip().lower(),
            r["language"].strip().lower(),
        )
        for r in rows
        if split == "all" or r.get("split") == split
    ]


def read_kit(path: Path) -> list[Row]:
    """The NegEx kit rows, their three labels mapped to one assertion."""
    rows = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for fields in reader:
            if len(fields) < 6:
                continue
            negation, temporality, experiencer = (f.strip().lower() for f in fields[3:6])
            if experiencer == "other":
                label = "family"
            elif temporality == "hypothetical":
                label = "hypothetical"
            elif negation == "negated":
                label = "negated"
            elif negation == "possible":
                label = "uncertain"
            elif temporality == "historical":
                label = "historical"
            else:
                label = "affirmed"
            rows.append(Row(fields[1].strip(), fields[2], label, "en"))
    return rows


def target_span(row: Row) -> tuple[int, int]:
    """The character span of the target in the sentence (whole sentence if absent)."""
    match = term_pattern(row.target).search(row.sentence)
    return match.span() if match else (0, len(row.sentence))


def run_imncohort(rows: Sequence[Row], repeat: int = 3) -> tuple[list[str], list[bool], float]:
    """Assertions, kit-style negation flags and sentences per second (median of runs)."""
    lexicon = load_lexicon()
    classify("warm up", "warm up", lexicon)
    times = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        results = [classify(r.target, r.sentence, lexicon) for r in rows]
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    negated = [
        c.assertion == "negated" or (c.assertion == "historical" and "negated" in c.modifiers)
        for c in results
    ]
    return [c.assertion for c in results], negated, len(rows) / seconds


def run_anchor(rows: Sequence[Row], name: str, python: str, repeat: int = 3) -> dict:
    """One anchor's predictions from its own environment (median seconds)."""
    payload = "\n".join(
        json.dumps({"text": r.sentence, "start": s, "end": e}, ensure_ascii=False)
        for r, (s, e) in ((r, target_span(r)) for r in rows)
    )
    done = subprocess.run(
        [python, str(HERE / "context_anchors.py"), str(max(1, repeat)), name],
        input=payload,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0]}
    got: dict = json.loads(done.stdout).get(name, {"error": "no result"})
    return got


def f1(truth: Sequence[str], predicted: Sequence[str], cls: str) -> float:
    tp = sum(t == cls and p == cls for t, p in zip(truth, predicted, strict=True))
    fp = sum(t != cls and p == cls for t, p in zip(truth, predicted, strict=True))
    fn = sum(t == cls and p != cls for t, p in zip(truth, predicted, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / max(1, len(truth))


def candidate_accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(
        (t in CANDIDATE) == (p in CANDIDATE) for t, p in zip(truth, predicted, strict=True)
    ) / max(1, len(truth))


def report(
    title: str, rows: Sequence[Row], systems: dict[str, tuple[list[str], float] | str]
) -> None:
    """Print one block: accuracy, candidate accuracy per language, per-class F1, speed."""
    truth = [r.label for r in rows]
    languages = sorted({r.language for r in rows})
    counts = {c: truth.count(c) for c in CLASSES if truth.count(c)}
    print(f"\n{title}: {len(rows)} sentences; " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    header = f"{'system':<14}{'acc':>7}"
    for lang in languages if len(languages) > 1 else []:
        header += f"{'acc ' + lang:>8}"
    header += f"{'cand':>7}"
    for lang in languages if len(languages) > 1 else []:
        header += f"{'cand ' + lang:>9}"
    header += "".join(f"{'F1 ' + c[:5]:>10}" for c in counts) + f"{'sent/s':>9}"
    print(header)
    for name, outcome in systems.items():
        if isinstance(outcome, str):
            print(f"{name:<14} not run: {outcome}")
            continue
        predicted, speed = outcome
        line = f"{name:<14}{accuracy(truth, predicted):7.3f}"
        by_lang = {
            lang: [k for k, r in enumerate(rows) if r.language == lang] for lang in languages
        }
        if len(languages) > 1:
            for lang in languages:
                ks = by_lang[lang]
                line += f"{accuracy([truth[k] for k in ks], [predicted[k] for k in ks]):8.3f}"
        line += f"{candidate_accuracy(truth, predicted):7.3f}"
        if len(languages) > 1:
            for lang in languages:
                ks = by_lang[lang]
                t, p = [truth[k] for k in ks], [predicted[k] for k in ks]
                line += f"{candidate_accuracy(t, p):9.3f}"
        line += "".join(f"{f1(truth, predicted, c):10.3f}" for c in counts)
        line += f"{speed:9.0f}"
        print(line)


def negation_line(name: str, truth: Sequence[bool], predicted: Sequence[bool]) -> str:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f"{name:<14}{precision:7.3f}{recall:7.3f}{score:7.3f}"


def evaluate(
    title: str,
    rows: list[Row],
    pythons: dict[str, str | None],
    errors: int,
    repeat: int = 3,
) -> dict[str, tuple[list[str], float] | str]:
    """Score imncohort and the anchors on ``rows``; list up to ``errors`` imncohort errors."""
    predicted, negated, speed = run_imncohort(rows, repeat)
    systems: dict[str, tuple[list[str], float] | str] = {"imncohort": (predicted, speed)}
    for name in ("medspacy", "negspacy"):
        python = pythons.get(name)
        got = run_anchor(rows, name, python, repeat) if python else None
        if got is None:
            systems[name] = f"no environment (--{name}-python / IMNCOHORT_{name.upper()}_PYTHON)"
        elif "error" in got:
            systems[name] = str(got["error"])
        else:
            systems[name] = (got["predicted"], len(rows) / max(got["seconds"], 1e-9))
    report(title, rows, systems)
    if title.startswith("NegEx"):
        truth = [r.label == "negated" for r in rows]
        print(f"\nNegEx kit negation (P, R, F1):\n{'system':<14}{'P':>7}{'R':>7}{'F1':>7}")
        print(negation_line("imncohort", truth, negated))
        for name in ("medspacy", "negspacy"):
            outcome = systems[name]
            if not isinstance(outcome, str):
                print(negation_line(name, truth, [p == "negated" for p in outcome[0]]))
    shown = 0
    for r, p in zip(rows, predicted, strict=True):
        if r.label != p and shown < errors:
            print(f"ERR\t{r.label}\t{p}\t{r.target}\t{' '.join(r.sentence.split())}")
            shown += 1
    return systems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        default="all",
        help=f"comma-separated data sets of {', '.join([*SETS, 'kit'])}, or all",
    )
    parser.add_argument("--kit", type=Path, default=KIT)
    parser.add_argument("--blind", type=Path, default=BLIND, help="the blind corpus TSV")
    parser.add_argument(
        "--blind2", type=Path, default=BLIND2, help="the blind2 development TSV (every row)"
    )
    parser.add_argument(
        "--blind3", type=Path, default=BLIND3, help="the held-out test TSV (all rows test)"
    )
    shared = os.environ.get("IMNCOHORT_ANCHOR_PYTHON")
    parser.add_argument("--anchor-python", default=shared, help="one python for both anchors")
    for name in ("medspacy", "negspacy"):
        parser.add_argument(
            f"--{name}-python",
            default=os.environ.get(f"IMNCOHORT_{name.upper()}_PYTHON"),
            help=f"python of the {name} environment",
        )
    parser.add_argument(
        "--errors", type=int, default=0, help="list N imncohort errors (development sets only)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median reported)")
    args = parser.parse_args(argv)
    wanted = [*SETS, "kit"] if args.sets == "all" else args.sets.split(",")
    unknown = [w for w in wanted if w not in (*SETS, "kit")]
    if unknown:
        parser.error(f"unknown data sets {unknown}; use {', '.join([*SETS, 'kit'])} or all")
    pythons = {
        "medspacy": args.medspacy_python or args.anchor_python,
        "negspacy": args.negspacy_python or args.anchor_python,
    }
    for name in wanted:
        if name == "kit":
            continue
        path, split, development = SETS[name]
        path = args.blind if name in ("blind-dev", "blind-test") else path
        path = {"blind2": args.blind2, "blind3": args.blind3}.get(name, path)
        if not path.exists():
            print(f"\n{name}: {path} not found; skipped")
            continue
        rows = read_corpus(path, split)
        title = f"{name} ({path.name}, {split})"
        evaluate(title, rows, pythons, args.errors if development else 0, args.repeat)
    if "kit" in wanted:
        if args.kit.exists():
            # the kit is for measuring only: its errors are not listed
            evaluate("NegEx kit", read_kit(args.kit), pythons, 0, args.repeat)
        else:
            print(f"\nNegEx kit not found at {args.kit}; pass --kit FILE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
