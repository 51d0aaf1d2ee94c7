"""Dependencies run one way: filters <- effects <- models <- lightning, hub, cli (issue 16); the
checkpoint format sits under both `zoo.hub` and `zoo.run_export`, so those two do not import each other.

Every ``import`` of a `zoo` module, at the top of a file or inside a function, counts. The test
prints the package graph when it fails.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "zoo"

#: package -> the zoo packages it may import (besides itself)
ALLOWED = {
    "filters": set(),
    "effects": {"filters"},
    "models": {"filters", "effects"},
    "data": set(),
    "checkpoint": {"__version__", "effects"},  # the folder format: `zoo.hub` and `zoo.run_export` build on it
    "run_export": {"_io", "checkpoint", "effects"},  # not zoo.hub: hub reads training runs through it
}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(zoo)"


def _imports(path: Path) -> set[str]:
    module_parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if module_parts[-1] == "__init__":
        module_parts = module_parts[:-1]
        base = module_parts
    else:
        base = module_parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                if node.module:
                    found.add(".".join(anchor + [node.module]))
                else:  # `from . import name`: the module `name` of the anchor package
                    found.update(".".join(anchor + [a.name]) for a in node.names)
            elif node.module:
                found.add(node.module)
    return {m for m in found if m == "zoo" or m.startswith("zoo.")}


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = collections.defaultdict(set)
    for path in ROOT.rglob("*.py"):
        source = _package(".".join(path.relative_to(ROOT.parent).with_suffix("").parts))
        for target in _imports(path):
            if _package(target) != source:
                graph[source].add(_package(target))
    return graph


def test_lower_layers_import_only_lower_layers() -> None:
    graph = package_graph()
    text = "\n".join(f"{a} -> {', '.join(sorted(b))}" for a, b in sorted(graph.items()))
    for package, allowed in ALLOWED.items():
        extra = graph.get(package, set()) - allowed
        assert not extra, f"zoo.{package} imports {sorted(extra)}; the graph:\n{text}"


def test_no_package_cycles_among_the_layers() -> None:
    graph = package_graph()
    for lower, allowed in ALLOWED.items():
        for upper in graph:
            if lower in graph[upper] and upper in graph.get(lower, set()):
                raise AssertionError(f"zoo.{lower} and zoo.{upper} import each other")
