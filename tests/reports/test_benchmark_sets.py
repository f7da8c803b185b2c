"""The assertion benchmark: ``blind2`` is development data, ``blind3`` the held-out test set.

``blind2/blind2.tsv`` was scored once as the held-out set and promoted to development on
2026-12-02 (its errors may be listed); ``blind3/blind3.tsv`` is written by someone else from
the guideline alone and is scored when it exists, never listing errors. These tests use a
tiny TSV of their own in a temporary directory, never real data.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "assertion_corpus.py"
HEADER = "id\ttarget\tsentence\tlabel\tlanguage\tmodality\tsection\trule\n"
ROWS = [
    ("T1", "IMN", "Enlarged left IMN, 11 mm.", "affirmed", "en", "CT", "FINDINGS", "r"),
    ("T2", "IMN", "No IMN.", "negated", "en", "CT", "IMPRESSION", "r"),
    ("T3", "IMN", "IMN metastasis.", "hypothetical", "en", "MR", "INDICATION", "r"),
    ("T4", "内乳淋巴结", "右侧内乳淋巴结肿大。", "affirmed", "zh", "CT", "检查所见", "r"),
    ("T5", "内乳淋巴结", "内乳淋巴结转移。", "historical", "zh", "US", "病史", "r"),
    # a wrong label on purpose: the block must show a score below 1
    ("T6", "内乳淋巴结", "未见内乳淋巴结肿大。", "affirmed", "zh", "PET-CT", "", "r"),
]
# blind3 may also hold RECOMMENDATION rows
ROWS3 = [
    *ROWS[:5],
    ("T7", "IMN", "MRI of the IMN.", "hypothetical", "en", "MR", "RECOMMENDATION", "r"),
]
ROWS3.append(ROWS[5])


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("assertion_corpus_bench", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.parent.mkdir()
    path.write_text(HEADER + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def blind2(tmp_path: Path) -> Path:
    return _write(tmp_path / "blind2" / "blind2.tsv", ROWS)


@pytest.fixture()
def blind3(tmp_path: Path) -> Path:
    return _write(tmp_path / "blind3" / "blind3.tsv", ROWS3)


def test_blind2_is_development_and_blind3_the_test_set_of_every_row(bench: ModuleType) -> None:
    path, split, development = bench.SETS["blind2"]
    assert path.parts[-2:] == ("blind2", "blind2.tsv")
    assert (split, development) == ("all", True)  # promoted to development on 2026-12-02
    path3, split3, development3 = bench.SETS["blind3"]
    assert path3.parts[-2:] == ("blind3", "blind3.tsv")
    assert (split3, development3) == ("all", False)
    assert bench.SETS["blind-test"][1:] == ("test", True)  # promoted to development


def test_section_column_becomes_the_heading(bench: ModuleType, blind2: Path) -> None:
    rows = bench.read_corpus(blind2, "all")
    assert [r.sentence for r in rows] == [
        "FINDINGS: Enlarged left IMN, 11 mm.",
        "IMPRESSION: No IMN.",
        "INDICATION: IMN metastasis.",
        "检查所见：右侧内乳淋巴结肿大。",
        "病史：内乳淋巴结转移。",
        "未见内乳淋巴结肿大。",
    ]
    assert bench.with_section("HISTORY: IMN metastasis.", "INDICATION") == (
        "HISTORY: IMN metastasis."
    )


def test_sets_blind2_scores_the_file_and_lists_its_errors(
    bench: ModuleType, blind2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench.main(
        ["--sets", "blind2", "--blind2", str(blind2), "--errors", "9", "--repeat", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "blind2 (blind2.tsv, all): 6 sentences; affirmed 3, negated 1, historical 1, hypothetical 1"
        in out
    )
    line = next(x for x in out.splitlines() if x.startswith("imncohort"))
    # accuracy 5/6, en 3/3, zh 2/3; candidate 5/6, en 1.000, zh 0.667
    assert line.split()[1:7] == ["0.833", "1.000", "0.667", "0.833", "1.000", "0.667"]
    errors = [x for x in out.splitlines() if x.startswith("ERR")]
    assert errors == ["ERR\taffirmed\tnegated\t内乳淋巴结\t未见内乳淋巴结肿大。"]


def test_sets_blind3_scores_the_file_and_lists_no_errors(
    bench: ModuleType, blind3: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench.main(
        ["--sets", "blind3", "--blind3", str(blind3), "--errors", "9", "--repeat", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "blind3 (blind3.tsv, all): 7 sentences; affirmed 3, negated 1, historical 1, hypothetical 2"
        in out
    )
    line = next(x for x in out.splitlines() if x.startswith("imncohort"))
    # accuracy 6/7, en 4/4, zh 2/3; candidate 6/7, en 1.000, zh 0.667
    assert line.split()[1:7] == ["0.857", "1.000", "0.667", "0.857", "1.000", "0.667"]
    assert "ERR" not in out


def test_recommendation_section_becomes_the_heading(bench: ModuleType, blind3: Path) -> None:
    rows = bench.read_corpus(blind3, "all")
    assert rows[5].sentence == "RECOMMENDATION: MRI of the IMN."
    assert bench.classify(rows[5].target, rows[5].sentence).rule == ("hypothetical.recommendation")


@pytest.mark.parametrize("name", ["blind2", "blind3"])
def test_missing_file_is_skipped(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    missing = tmp_path / f"{name}.tsv"
    assert bench.main(["--sets", name, f"--{name}", str(missing)]) == 0
    assert f"{name}: {missing} not found; skipped" in capsys.readouterr().out
