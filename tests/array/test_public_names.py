"""Every name pbitkit.array exports (its ``__all__``) has a docstring and is named in docs/array.md."""

from __future__ import annotations

from tests.public_names import DOCS, public_modules, undocumented


def test_every_public_name_is_documented():
    package = public_modules("pbitkit.array", submodules=False)
    assert undocumented(package, (DOCS / "array.md").read_text(), sources=public_modules("pbitkit.array")) == []
