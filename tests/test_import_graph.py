"""The modules of ``imncohort`` import each other without a cycle.

The graph is built from the source with :mod:`ast` (nothing is imported): every
``import`` and ``from ... import`` of an ``imncohort`` module counts, also those inside
functions and under ``if TYPE_CHECKING:`` (a cycle hidden in a function is still a
cycle between two concepts). ``from imncohort.pkg import name`` points at the module
``imncohort.pkg.name`` when there is one, else at ``imncohort.pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "imncohort"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, level: int, current: str, is_package: bool) -> str:
    if level == 0:
        return module
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the ``imncohort`` modules it imports."""
    files = {_module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node.module or "", node.level, name, is_package)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in files else base)
            for target in targets:
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def test_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_graph_resolves_relative_and_submodule_imports(tmp_path: Path) -> None:
    package = tmp_path / "imncohort"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "one.py").write_text("from . import two\n")
    (package / "sub" / "two.py").write_text(
        "def f():\n    from imncohort.sub import one\n    import json\n"
    )
    graph = import_graph(package)
    assert graph["imncohort.sub.one"] == {"imncohort.sub.two"}
    assert graph["imncohort.sub.two"] == {"imncohort.sub.one"}
    assert find_cycles(graph) == [["imncohort.sub.one", "imncohort.sub.two"]]


def test_imncohort_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    cycles = find_cycles(graph)
    assert cycles == [], "import cycles (modules that reach each other):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_flows_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE.parent / "flows")
    assert {"flows.audit", "flows.launch", "flows.guard", "flows.cli"} <= set(graph)
    assert "flows.runtime" in graph["flows.launch"]  # relative imports are resolved
    assert find_cycles(graph) == []
