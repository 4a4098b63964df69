"""The package's import graph has no cycle.

Every `import` counts, including those inside functions (a lazy import only hides a cycle
until someone moves it to the top); imports under `if TYPE_CHECKING:` do not run and do not
count. Importing `a.b.c` also runs the package `a.b`'s __init__, so that is an edge too.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scylla"


def modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def import_graph() -> dict[str, set[str]]:
    """{module: the package modules it imports}."""
    mods = modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        targets = set()
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.startswith("scylla")}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scylla"):
                base = str(node.module)
                targets |= {known(f"{base}.{a.name}") for a in node.names}
        for target in filter(None, targets):
            parent = target
            while "." in parent:  # the packages above it run their __init__ first
                parent = parent.rpartition(".")[0]
                if parent in mods and not f"{mod}.".startswith(f"{parent}."):
                    graph[mod].add(parent)
            if target != mod:
                graph[mod].add(target)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules in order), or [] (the standard library's graphlib)."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert sum(map(len, graph.values())) > 100  # the walk found the package's imports
    assert cycle(graph) == []


def test_a_lazy_import_cycle_is_found(tmp_path, monkeypatch):
    """The check itself: two modules that import each other inside functions are a cycle."""
    pkg = tmp_path / "scylla"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("def f():\n    from scylla.b import g\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from scylla import c\n"
        "def g():\n    import scylla.a\n"
    )
    (pkg / "c.py").write_text("from scylla.b import g\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    found = cycle(import_graph())
    assert sorted(set(found)) == ["scylla.a", "scylla.b"]  # b -> c is only for the type checker
