"""Which cell ``default`` names: the pipeline's default cell, one definition for every place a cell is named.

``pbitkit characterize --cell default``, ``pbitkit fit --cell default``, ``pbitkit export default``,
``pbitkit cells show default``, a sweep spec's ``cell = "default"``, a pipeline config's ``array_cell`` /
``[characterize] cells`` and :func:`pbitkit.circuits.registry.get_cell` all resolve the alias
:data:`DEFAULT_CELL_ALIAS` to :data:`DEFAULT_CELL` through :func:`resolve_cell_name`, so the alias never
reaches a table, a cache key or a run directory name. This module imports nothing (the pipeline's
configuration and ``pbitkit --help`` use it without loading the cells).
"""

from __future__ import annotations

__all__ = ["DEFAULT_CELL", "DEFAULT_CELL_ALIAS", "resolve_cell_name"]

#: The pipeline's default cell (the array and the DTM run on its card): the all-transistor ``native_latch``.
DEFAULT_CELL = "native_latch"

#: The name that means :data:`DEFAULT_CELL` wherever a cell is named.
DEFAULT_CELL_ALIAS = "default"


def resolve_cell_name(name: str) -> str:
    """``name``, or :data:`DEFAULT_CELL` when ``name`` is :data:`DEFAULT_CELL_ALIAS` (other names unchanged;
    whether the cell exists is :func:`pbitkit.circuits.registry.get_cell`'s concern)."""
    return DEFAULT_CELL if name == DEFAULT_CELL_ALIAS else name
