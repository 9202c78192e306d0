"""The shape of the code: data flows one way (recipe -> backbone -> method -> task -> loop ->
artifacts -> report), so no module imports, directly or through others, a module that
imports it back: a static import graph over every import statement (function-level lazy
imports included, since a lazy import back up the flow is still a back-edge)."""

from __future__ import annotations

import ast
from pathlib import Path

import peftgov

ROOT = Path(peftgov.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        if "modules" in path.relative_to(ROOT).parts:  # evaluate scripts, loaded by path
            continue
        parts = ("peftgov", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            # Every module imported counts (``from . import a, b`` imports both); names that
            # are not modules (``from .x import f``) point at the module they come from.
            direct = {t for t in targets[:-1] if t in modules} if len(targets) > 1 else set()
            for target in sorted(direct) or targets:
                while target and target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    graph[name].add(target)
                    if not direct:
                        break
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30  # the walk really found the package
    assert cycles(graph) == []


def test_the_cycle_check_can_fail():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_config_knows_no_method_or_task():
    graph = import_graph()
    below = {m for m in graph if m.startswith(("peftgov.methods", "peftgov.tasks"))}
    assert not graph["peftgov.config"] & (below | {"peftgov.recipe", "peftgov.loop"})
    assert "peftgov.recipe" in graph["peftgov"]  # the public API loads recipes through it
