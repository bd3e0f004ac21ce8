"""The package's structure (CONTRIBUTING.md, "Layers"): every import, also those inside functions, points down
the layers ground -> codecs -> harness -> studies -> command line, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

# folder -> package, as pyproject.toml's package-dir maps them
PACKAGES = {
    "bench": "ssicbench",
    "bench/metrics": "ssicbench.metrics",
    "bench/training": "ssicbench.training",
    "codecs": "ssicbench.codecs",
    "codecs/ssic": "ssicbench.codecs.ssic",
    "tasks": "ssicbench.tasks",
}
GROUND = {"errors", "registry", "validate", "files", "jsonfile", "weights", "imageio", "metrics"}
COMMAND_LINE = {"ssicbench.cli", "ssicbench.cli_options", "ssicbench.tasks.cli", "ssicbench.training.cli"}
LAYERS = ("ground", "codecs", "harness", "studies", "command line")


def layer(module: str) -> int:
    parts = module.split(".")
    if module in COMMAND_LINE:
        return LAYERS.index("command line")
    if parts[1:2] == ["codecs"]:
        return LAYERS.index("codecs")
    if parts[1:2] in (["tasks"], ["training"]):
        return LAYERS.index("studies")
    if module == "ssicbench" or parts[1] in GROUND:
        return LAYERS.index("ground")
    return LAYERS.index("harness")


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (anywhere in its body)."""
    modules = {}
    for folder, package in PACKAGES.items():
        for path in sorted((REPO / folder).glob("*.py")):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ssicbench"):
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("ssicbench")}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_modules_import_each_other_in_a_circle():
    assert cycles(import_graph()) == []


def test_imports_point_down_the_layers():
    upward = [
        f"{m} ({LAYERS[layer(m)]}) imports {d} ({LAYERS[layer(d)]})"
        for m, deps in sorted(import_graph().items())
        for d in sorted(deps)
        if layer(d) > layer(m)
    ]
    assert upward == []


def test_the_walker_sees_imports_inside_functions(tmp_path):
    graph = import_graph()
    assert "ssicbench.tasks.cli" in graph["ssicbench.cli"]  # imported inside build_parser
    assert len(graph) > 60 and all(m.startswith("ssicbench") for m in graph)


def test_every_public_module_says_what_it_exports():
    missing = []
    for folder in PACKAGES:
        for path in sorted((REPO / folder).glob("*.py")):
            tree = ast.parse(path.read_text())
            public = path.stem != "__main__" and not path.stem.startswith("_") or path.stem == "__init__"
            names = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
            if public and "__all__" not in names:
                missing.append(str(Path(folder) / path.name))
    assert missing == []
