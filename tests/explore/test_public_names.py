"""Every public name of pbitkit.explore has a docstring and appears in docs/explore.md."""

from __future__ import annotations

from tests.public_names import DOCS, public_modules, undocumented


def test_every_public_name_is_documented() -> None:
    assert undocumented(public_modules("pbitkit.explore"), (DOCS / "explore.md").read_text()) == []
