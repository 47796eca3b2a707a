"""Every public name of pbitkit.pbitmodel (the package's and each module's ``__all__``) has a docstring and is
named in docs/pbitmodel.md."""

from __future__ import annotations

import types

from tests.public_names import DOCS, public_modules, undocumented


def test_every_public_name_is_documented():
    assert undocumented(public_modules("pbitkit.pbitmodel"), (DOCS / "pbitmodel.md").read_text()) == []


def test_the_check_finds_undocumented_names():
    # negative control: a function without a docstring, a constant without '#:' and a name the text lacks
    mod = types.ModuleType("probe")
    mod.__all__ = ["f", "g", "LIMIT"]

    def f():
        pass

    def g():
        """Documented."""

    mod.f, mod.g, mod.LIMIT = f, g, 3
    assert undocumented([mod], "f and LIMIT") == [
        "probe.f: no docstring", "probe.g: not mentioned in the docs",
        "probe.LIMIT: data without a '#:' comment above its definition"]
