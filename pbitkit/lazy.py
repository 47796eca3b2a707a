"""Lazy package exports: a sub-package's public names are imported on first use, not at import time.

Importing ``pbitkit.array`` must not pull in numba, nor ``pbitkit.circuits`` scipy.stats: the CLI answers
``--help`` and ``--version`` in a fraction of a second, and a user who needs one function pays for one
module. A package declares its exports as ordinary ``from ... import ...`` statements inside an
``if TYPE_CHECKING:`` block (so readers, IDEs and type checkers see them) and then calls
:func:`lazy_package`::

    from typing import TYPE_CHECKING

    from pbitkit.lazy import lazy_package

    if TYPE_CHECKING:
        from pbitkit.array.graphs import Graph, grid_graph

    __all__ = ["Graph", "grid_graph"]

    lazy_package(__name__)

On first access of ``pbitkit.array.grid_graph`` the source module is imported and the value cached in the
package. An export that has the same name as a submodule (``pbitkit.array.ledger`` the function, in
``pbitkit/array/ledger.py``) keeps meaning the exported object, as it did with eager imports, even after
the submodule has been imported by someone else. Other submodules are reachable as attributes as before.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path

__all__ = ["lazy_package", "LazyPackage"]


def _exports(package: str, init_file: str) -> dict[str, tuple[str, str]]:
    """``{exported name: (module, attribute)}`` from the ``if TYPE_CHECKING:`` imports of ``init_file``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"), filename=init_file)
    out: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                continue
            if stmt.level:  # relative import: resolve against the package
                base = package.rsplit(".", stmt.level - 1)[0] if stmt.level > 1 else package
                module = f"{base}.{stmt.module}" if stmt.module else base
            else:
                module = stmt.module or ""
            for alias in stmt.names:
                out[alias.asname or alias.name] = (module, alias.name)
    return out


class LazyPackage(types.ModuleType):
    """Module type of a lazily exporting package (see the module docstring)."""

    def __getattr__(self, name: str) -> object:
        exports: dict[str, tuple[str, str]] = self.__dict__["__lazy_exports__"]
        if name in exports:
            module, attr = exports[name]
            value = getattr(importlib.import_module(module), attr)
            self.__dict__[name] = value
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{self.__name__}.{name}") is not None:
            return importlib.import_module(f"{self.__name__}.{name}")
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name: str, value: object) -> None:
        # The import system binds a freshly imported submodule onto its package. When the package exports
        # an object of the same name (a function ``ledger`` from ``ledger.py``), keep the export.
        exports = self.__dict__.get("__lazy_exports__", {})
        if (
            name in exports
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
            and exports[name] != (value.__name__.rsplit(".", 1)[0], name)
        ):
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__["__lazy_exports__"]))


def lazy_package(name: str) -> None:
    """Turn the package ``name`` (call with ``__name__`` from its ``__init__``) into a :class:`LazyPackage`.

    Raises
    ------
    ImportError
        If a name in the package's ``__all__`` is neither a lazy export nor defined in the package.
    """
    module = sys.modules[name]
    exports = _exports(name, module.__file__ or "")
    module.__dict__["__lazy_exports__"] = exports
    missing = [n for n in module.__dict__.get("__all__", ()) if n not in exports and n not in module.__dict__]
    if missing:
        raise ImportError(f"{name}.__all__ names {missing}, which the package neither defines nor imports")
    module.__class__ = LazyPackage
