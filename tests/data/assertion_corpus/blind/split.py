"""Assign the dev/test split of the blind assertion corpus, once, by group.

Run ``python tests/data/assertion_corpus/blind/split.py`` to rewrite the
``split`` column of ``blind.tsv`` in place. The result depends only on the
group ids and their rows, so a re-run reproduces the committed file byte for
byte.

Groups are visited in sorted order and each takes one draw from
``random.Random(20261202)``. The chance of going to dev starts at 40% and is
pulled towards 40% of the rows of its (language, label) stratum seen so far,
so every stratum ends near 40% dev / 60% test. Because a group's draw and
decision depend only on the groups sorting before it, groups added later with
ids that sort after the existing ones (``g2-...`` after ``g1-...``) never move
an existing group to the other split.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

SEED = 20261202
DEV_FRACTION = 0.4
COLUMNS = ("id", "target", "sentence", "label", "language", "modality", "rule_id", "group", "split")
CORPUS = Path(__file__).with_name("blind.tsv")


def read_rows(path: Path = CORPUS) -> list[dict[str, str]]:
    """Read the corpus rows as dicts keyed by ``COLUMNS`` (tab-separated, UTF-8)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = tuple(lines[0].split("\t"))
    if header != COLUMNS:
        raise ValueError(f"{path}: header {header!r} is not {COLUMNS!r}; fix the header row.")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(COLUMNS):
            raise ValueError(f"{path}:{number}: {len(cells)} cells, expected {len(COLUMNS)}.")
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def assign_splits(rows: list[dict[str, str]]) -> dict[str, str]:
    """Return ``{group: "dev" | "test"}`` for the groups of ``rows``.

    Every group must hold one language and one label. Raises ``ValueError``
    when a (language, label) stratum would have no test rows.
    """
    strata: dict[str, tuple[str, str]] = {}
    sizes: dict[str, int] = {}
    for row in rows:
        stratum = (row["language"], row["label"])
        if strata.setdefault(row["group"], stratum) != stratum:
            raise ValueError(f"group {row['group']!r} mixes {strata[row['group']]} and {stratum}.")
        sizes[row["group"]] = sizes.get(row["group"], 0) + 1
    rng = random.Random(SEED)
    dev_rows: dict[tuple[str, str], int] = {}
    all_rows: dict[tuple[str, str], int] = {}
    splits: dict[str, str] = {}
    for group in sorted(strata):
        stratum = strata[group]
        seen = all_rows.get(stratum, 0)
        fraction = dev_rows.get(stratum, 0) / seen if seen else DEV_FRACTION
        chance = min(0.95, max(0.05, DEV_FRACTION + 2 * (DEV_FRACTION - fraction)))
        split = "dev" if rng.random() < chance else "test"
        splits[group] = split
        all_rows[stratum] = seen + sizes[group]
        if split == "dev":
            dev_rows[stratum] = dev_rows.get(stratum, 0) + sizes[group]
    for stratum, total in sorted(all_rows.items()):
        if dev_rows.get(stratum, 0) == total:
            raise ValueError(f"stratum {stratum} has no test rows; add sentences to it.")
    return splits


def render(rows: list[dict[str, str]]) -> str:
    """The corpus text with the ``split`` column filled in from ``assign_splits``."""
    splits = assign_splits(rows)
    lines = ["\t".join(COLUMNS)]
    for row in rows:
        lines.append("\t".join({**row, "split": splits[row["group"]]}[c] for c in COLUMNS))
    return "\n".join(lines) + "\n"


def main(path: Path = CORPUS) -> int:
    """Rewrite ``path`` with its split column assigned."""
    path.write_text(render(read_rows(path)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS))
