"""docs/ARCHITECTURE.md names every module of the library's top level and of flows/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _tree_blocks() -> str:
    """The text of the fenced blocks that draw the trees (imncohort/ and flows/)."""
    blocks = re.findall(r"```\n(.*?)```", DOC, flags=re.S)
    return "\n".join(b for b in blocks if b.startswith(("imncohort/", "flows/")))


TREE = _tree_blocks()


def _names(folder: Path) -> list[str]:
    names = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            names.append(path.name + "/")
        elif path.suffix == ".py":
            names.append(path.name)
    return names


@pytest.mark.parametrize("name", _names(ROOT / "imncohort"))
def test_every_library_module_is_in_the_tree(name: str) -> None:
    assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", TREE, flags=re.M), name


@pytest.mark.parametrize("name", _names(ROOT / "flows"))
def test_every_flows_module_is_in_the_tree(name: str) -> None:
    assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", TREE, flags=re.M), name


def test_the_tree_names_no_module_that_is_gone() -> None:
    listed = set(re.findall(r"^\s{2}(\S+\.py)\s", TREE, flags=re.M))
    present = {p.name for p in (ROOT / "imncohort").glob("*.py")}
    present |= {p.name for p in (ROOT / "flows").glob("*.py")}
    assert listed - present == set()
