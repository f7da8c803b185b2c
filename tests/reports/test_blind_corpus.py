"""Integrity of the blind assertion corpus (tests/data/assertion_corpus/blind).

These checks read the TSV only; they never run the classifier. The ``test`` split was
scored twice as a test split on 2026-12-01 and is development data since 2026-12-02 (the
held-out test set is ``blind3/``, ``blind2/`` having been promoted too); the split column
is kept as ``split.py`` made it.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

BLIND = Path(__file__).resolve().parents[1] / "data" / "assertion_corpus" / "blind"
LABELS = {"affirmed", "negated", "uncertain", "historical", "hypothetical", "family"}
LANGUAGES = {"en", "zh"}
MODALITIES = {"CT", "MR", "US", "PET-CT"}
RULE_IDS = {
    "affirmed.seen_size",
    "affirmed.trend",
    "affirmed.new",
    "affirmed.hedged_cause",
    "affirmed.current_over_past",
    "negated.pre_cue",
    "negated.post_cue",
    "negated.normal",
    "negated.label",
    "negated.scope_hedge",
    "uncertain.hedge",
    "uncertain.not_excluded",
    "uncertain.indeterminate",
    "uncertain.suspicious",
    "historical.history_of",
    "historical.resolved",
    "historical.resected_treated",
    "historical.history_section",
    "hypothetical.evaluate_exclude",
    "hypothetical.recommend",
    "hypothetical.conditional",
    "hypothetical.question",
    "hypothetical.indication_section",
    "family.relative",
    "family.family_history",
}


def _split_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("blind_split", BLIND / "split.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def split_module() -> ModuleType:
    return _split_module()


@pytest.fixture(scope="module")
def rows(split_module: ModuleType) -> list[dict[str, str]]:
    return list(split_module.read_rows(BLIND / "blind.tsv"))


def test_row_count_and_language_share(rows: list[dict[str, str]]) -> None:
    languages = Counter(row["language"] for row in rows)
    assert len(rows) == 811
    assert languages == {"en": 395, "zh": 416}
    assert languages["zh"] / len(rows) >= 0.45


def test_cells_are_in_their_allowed_sets(rows: list[dict[str, str]]) -> None:
    assert {row["label"] for row in rows} == LABELS
    assert {row["language"] for row in rows} == LANGUAGES
    assert {row["modality"] for row in rows} == MODALITIES
    assert {row["rule_id"] for row in rows} == RULE_IDS
    assert {row["split"] for row in rows} == {"dev", "test"}
    assert all(row["rule_id"].split(".")[0] == row["label"] for row in rows)


def test_ids_unique_and_targets_in_sentences(rows: list[dict[str, str]]) -> None:
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "BL0001" and ids[-1] == "BL0811"
    missing = [row["id"] for row in rows if row["target"] not in row["sentence"]]
    assert missing == []
    sentences = [row["sentence"] for row in rows]
    assert len(set(sentences)) == len(sentences)


def test_groups_never_cross_splits_or_strata(rows: list[dict[str, str]]) -> None:
    seen: dict[str, tuple[str, str, str]] = {}
    crossing = []
    for row in rows:
        key = (row["split"], row["language"], row["label"])
        if seen.setdefault(row["group"], key) != key:
            crossing.append(row["group"])
    assert crossing == []
    assert len(seen) == 760


def test_split_is_what_split_py_produces(split_module: ModuleType) -> None:
    text = (BLIND / "blind.tsv").read_text(encoding="utf-8")
    assert split_module.render(split_module.read_rows(BLIND / "blind.tsv")) == text


def test_split_sizes(rows: list[dict[str, str]]) -> None:
    splits = Counter(row["split"] for row in rows)
    assert splits == {"dev": 329, "test": 482}


def test_class_minimums(rows: list[dict[str, str]]) -> None:
    per_class = Counter(row["label"] for row in rows)
    test_per_class = Counter(row["label"] for row in rows if row["split"] == "test")
    assert min(per_class.values()) >= 50
    assert min(test_per_class.values()) >= 20
    assert test_per_class["family"] == 37
    strata = Counter((row["language"], row["label"]) for row in rows if row["split"] == "test")
    assert len(strata) == len(LANGUAGES) * len(LABELS)


def test_every_rule_has_twelve_sentences_per_language(rows: list[dict[str, str]]) -> None:
    per_rule = Counter((row["rule_id"], row["language"]) for row in rows)
    short = {key: n for key, n in per_rule.items() if n < 12}
    assert short == {}
    assert len(per_rule) == len(RULE_IDS) * len(LANGUAGES)


def test_every_modality_is_used_in_both_languages(rows: list[dict[str, str]]) -> None:
    pairs = Counter((row["language"], row["modality"]) for row in rows)
    assert min(pairs[(lang, mod)] for lang in LANGUAGES for mod in MODALITIES) >= 50


def test_assign_splits_rejects_a_group_mixing_labels(split_module: ModuleType) -> None:
    base = {"target": "IMN", "sentence": "IMN", "language": "en", "modality": "CT"}
    mixed = [
        {**base, "id": "X1", "label": "affirmed", "rule_id": "r", "group": "g", "split": ""},
        {**base, "id": "X2", "label": "negated", "rule_id": "r", "group": "g", "split": ""},
    ]
    with pytest.raises(ValueError, match="mixes"):
        split_module.assign_splits(mixed)


def test_readme_marks_both_splits_as_development() -> None:
    readme = (BLIND / "README.md").read_text(encoding="utf-8")
    assert "development data, both splits" in readme
    assert "promoted to development on 2026-12-02" in readme
    assert "`../blind3/blind3.tsv`" in readme
    blind2 = (BLIND.parent / "blind2" / "README.md").read_text(encoding="utf-8")
    assert (
        "Scored once on 2026-12-02 (acc 0.935, cand 0.943), promoted to development the\nsame day;"
        " the held-out set is blind3/." in blind2
    )
