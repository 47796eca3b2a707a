"""Shared check for the "every public name is documented" tests of the subpackages."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parent.parent / "docs"


def public_modules(package: str, *, submodules: bool = True) -> list[ModuleType]:
    """The package and (optionally) every module in it."""
    pkg = importlib.import_module(package)
    mods = [pkg]
    if submodules:
        mods += [importlib.import_module(f"{package}.{m.name}") for m in pkgutil.iter_modules(pkg.__path__)]
    return mods


def _has_doc_comment(modules: list[ModuleType], name: str) -> bool:
    """A data name is documented by a ``#:`` comment right above its definition in one of ``modules``."""
    pat = re.compile(rf"^{re.escape(name)}\s*(:[^=]*)?=")
    for mod in modules:
        try:
            lines = inspect.getsource(mod).splitlines()
        except (OSError, TypeError):
            continue
        for i, line in enumerate(lines):
            if pat.match(line):
                return i > 0 and lines[i - 1].startswith("#:")
    return False


def undocumented(modules: list[ModuleType], doc_text: str, sources: list[ModuleType] | None = None) -> list[str]:
    """``module.name: problem`` for every name of the modules' ``__all__`` lacking a docstring (a ``#:``
    comment above its definition in one of ``sources`` (default ``modules``) for data) or not named in
    ``doc_text``."""
    sources = modules if sources is None else sources
    problems = []
    for mod in modules:
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
                if not (own or "").strip():
                    problems.append(f"{mod.__name__}.{name}: no docstring")
            elif not inspect.ismodule(obj) and not _has_doc_comment(sources, name):
                problems.append(f"{mod.__name__}.{name}: data without a '#:' comment above its definition")
            if not re.search(rf"(?<![\w.]){re.escape(name)}\b", doc_text):
                problems.append(f"{mod.__name__}.{name}: not mentioned in the docs")
    return problems
