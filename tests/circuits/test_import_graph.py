"""The modules of ``pbitkit.circuits`` import each other without cycles.

Static check: every ``import``/``from ... import`` of a ``pbitkit.circuits`` module anywhere in a module
(top level or inside a function: a function-level import still ties the two modules together) is an
edge, except imports under ``if TYPE_CHECKING:``. The graph must be acyclic, and no module may import a
private (``_name``) name from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pbitkit.circuits

ROOT = Path(pbitkit.circuits.__file__).parent
PKG = "pbitkit.circuits"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PKG, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, modules: dict[str, Path], here: str) -> list[tuple[str, list[str]]]:
    """``(imported module, [imported names])`` for every import of a package module in ``tree``."""
    out: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative import
                pkg = here if modules[here].name == "__init__.py" else here.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rsplit(".", 1)[0]
                base = f"{pkg}.{node.module}"
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in modules:  # `from pbitkit.circuits import measure`
                    out.append((sub, []))
                elif base in modules:
                    out.append((base, [a.name]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def import_graph(root_modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over ``pbitkit.circuits`` (package ``__init__`` modules included)."""
    modules = root_modules or _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = {m for m, _ in _imports(tree, modules, name) if m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = dfs(n)
            if found:
                return found
    return None


def test_no_import_cycles_in_circuits() -> None:
    graph = import_graph()
    assert "pbitkit.circuits.registry" in graph and "pbitkit.circuits.cell_base" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_detector_finds_the_old_layout_circle() -> None:
    # negative control: the old layout (cells imports netlist_cell inside a function, netlist_cell imports
    # cells at the top, predict imports cells inside predicted_sigmoid) is a cycle
    graph = {"cells": {"netlist_cell", "predict"}, "netlist_cell": {"cells"}, "predict": {"cells"}}
    assert find_cycle(graph) in (["cells", "netlist_cell", "cells"], ["cells", "predict", "cells"])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_function_level_imports_are_edges(tmp_path) -> None:
    # the old cells.py <-> netlist_cell.py circle, written as files: must be found
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "cells.py").write_text("def get_cell():\n    from pbitkit.circuits.netlist_cell import discover\n")
    (pkg / "netlist_cell.py").write_text("from pbitkit.circuits.cells import Cell\n")
    (pkg / "typing_only.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from pbitkit.circuits.cells import Cell\n")
    mods = {f"{PKG}.{p.stem}": p for p in pkg.glob("*.py")}
    graph = import_graph(mods)
    assert graph[f"{PKG}.typing_only"] == set()
    assert find_cycle(graph) is not None


def test_only_the_registry_imports_both_cell_families() -> None:
    graph = import_graph()
    families = {"pbitkit.circuits.builtin", "pbitkit.circuits.netlist_cell"}
    both = [m for m, deps in graph.items()
            if m not in families and families <= {d if not d.startswith("pbitkit.circuits.builtin.") else
                                                  "pbitkit.circuits.builtin" for d in deps | {m}}]
    assert both == ["pbitkit.circuits.registry"]


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_private_names_imported_across_modules(name: str) -> None:
    modules = _modules()
    tree = ast.parse(modules[name].read_text())
    private = [(m, n) for m, names in _imports(tree, modules, name) for n in names
               if n.startswith("_") and not n.startswith("__")]
    assert not private, f"{name} imports private names {private}"
