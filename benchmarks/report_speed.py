"""Throughput of report mining with the term prefilter vs a plain classify-every-sentence loop.

Usage: ``python benchmarks/report_speed.py [--reports 100000] [--plain 10000] [--seed 0]``

Synthetic radiology reports (HISTORY / FINDINGS / IMPRESSION, 5-9 sentences),
1 % of them with an IMN term. ``mine_reports`` runs with the prefilter (one
term-alternation search per report; only reports and sentences with a term are
split and classified) on all reports; the plain loop splits every report and
runs the trigger scan and term search on every sentence (``prefilter=False``)
on the first ``--plain`` reports (its cost is linear, so reports/s is
comparable). Both must find the same mentions on that subset.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from imncohort.reports.lexicon import load_lexicon
from imncohort.reports.mentions import mine_reports
from imncohort.reports.records import ReportText

HISTORY = (
    "Left breast cancer, status post mastectomy.",
    "Right breast cancer, restaging after neoadjuvant chemotherapy.",
    "Cough for two weeks.",
    "Follow-up of pulmonary nodule.",
)
FINDINGS = (
    "The lungs are clear without focal consolidation.",
    "No pleural effusion or pneumothorax.",
    "The heart size is normal.",
    "There is a 4 mm nodule in the right upper lobe, unchanged from prior.",
    "Mild degenerative changes of the thoracic spine.",
    "No axillary or supraclavicular lymphadenopathy.",
    "The liver and adrenal glands are unremarkable.",
    "Postsurgical changes of the left chest wall.",
    "The mediastinal structures are within normal limits.",
    "Small hiatal hernia.",
    "Scattered calcified granulomas.",
)
IMPRESSION = (
    "No acute cardiopulmonary process.",
    "Stable examination.",
    "No evidence of metastatic disease.",
    "Findings as above.",
)
IMN = (
    "There is an enlarged left internal mammary node in the 2nd intercostal space "
    "measuring 1.2 x 0.8 cm.",
    "No enlarged internal mammary nodes.",
    "Cannot exclude right IMN metastasis.",
    "Small left IM node, likely reactive.",
    "Resolution of the previously seen IM node.",
    "No change in the left IMN.",
)


def synthetic_reports(n: int, share: float, seed: int) -> list[ReportText]:
    """Return ``n`` reports, a ``share`` of them holding one IMN sentence."""
    rng = random.Random(seed)
    reports = []
    for i in range(n):
        findings = rng.sample(FINDINGS, rng.randint(3, 6))
        if rng.random() < share:
            findings.insert(rng.randint(0, len(findings)), rng.choice(IMN))
        text = (
            f"HISTORY: {rng.choice(HISTORY)}\nFINDINGS: {' '.join(findings)}\n"
            f"IMPRESSION: {rng.choice(IMPRESSION)}"
        )
        reports.append(
            ReportText(f"r{i}", "table", "bench.csv", f"P{i}", "", "", "", "CT", "", text)
        )
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--plain", type=int, default=10_000, help="reports for the plain loop")
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lexicon = load_lexicon()
    reports = synthetic_reports(args.reports, args.share, args.seed)
    n_chars = sum(len(r.text) for r in reports)

    started = time.perf_counter()
    mentions = mine_reports(reports, lexicon, prefilter=True)
    fast_seconds = time.perf_counter() - started
    fast_rate = len(reports) / fast_seconds

    subset = reports[: args.plain]
    started = time.perf_counter()
    plain = mine_reports(subset, lexicon, prefilter=False)
    plain_seconds = time.perf_counter() - started
    plain_rate = len(subset) / plain_seconds

    ids = {r.report_id for r in subset}
    fast_subset = mentions[mentions["report_id"].isin(ids)].reset_index(drop=True)
    same = fast_subset.drop(columns=["sentence"]).equals(plain.drop(columns=["sentence"]))
    with_terms = mentions["report_id"].nunique()
    print(
        f"{len(reports):,} synthetic reports ({n_chars / 1e6:.1f} M characters), "
        f"{with_terms:,} with IMN terms, {len(mentions):,} mentions"
    )
    print(f"prefilter + classify : {fast_seconds:8.2f} s  {fast_rate:12,.0f} reports/s")
    print(
        f"plain loop           : {plain_seconds:8.2f} s  {plain_rate:12,.0f} reports/s "
        f"(first {len(subset):,} reports)"
    )
    print(f"speed-up             : {fast_rate / plain_rate:8.1f} x   same mentions: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
