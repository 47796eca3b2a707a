"""The cell registry: every p-bit cell by name, whatever family defines it.

Families, searched in this order (the first that defines a name wins):

1. **built-in** Python cells (:mod:`pbitkit.circuits.builtin`) and cells registered in this process with
   :func:`register_cell`;
2. **netlist** cells: a ``NAME.cir`` template + ``NAME.toml`` description in a directory of
   ``$PBITKIT_CELLS`` (colon-separated, searched first) or the shipped ``netlists/cells``
   (:mod:`pbitkit.circuits.netlist_cell`);
3. **PySpice** cells: a ``NAME.py`` defining ``circuit(p, ctx)`` (a PySpice ``Circuit``) + ``NAME.toml``
   in the same directories (:mod:`pbitkit.circuits.pyspice_cell`);
4. families added with :func:`register_family`, then those installed packages provide through the
   entry-point group ``pbitkit.cells`` (:data:`ENTRY_POINT_GROUP`).

A family is any object with a ``name``, ``discover() -> {cell name: where it is defined}`` and
``load(cell name) -> Cell`` (:class:`CellFamily`; an entry point may name such an object or its class).
An entry point may also load to a single :class:`~pbitkit.circuits.cell_base.Cell` (instance or
subclass). Worker processes resolve cells through
the same search, so a cell must be findable there too: built-in, in ``$PBITKIT_CELLS`` or installed
with an entry point (a cell registered with :func:`register_cell` exists only in this process).

This is the only module that imports more than one cell family.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pbitkit.circuits.builtin import builtin_cells
from pbitkit.circuits.builtin.latch import render_latch
from pbitkit.circuits.builtin.native_latch import render_native_latch
from pbitkit.circuits.builtin.strongarm import render_strongarm
from pbitkit.circuits.cell_base import Cell
from pbitkit.circuits.default_cell import DEFAULT_CELL, DEFAULT_CELL_ALIAS, resolve_cell_name
from pbitkit.circuits.models import SLIM_DEVICES, ModelLibrary
from pbitkit.circuits.netlist_cell import discover, load_netlist_cell
from pbitkit.circuits.pyspice_cell import PySpiceFamily
from pbitkit.circuits.testbenches import render_bias_network_tb, render_inverter_tb, render_noise_node_tb
from pbitkit.errors import ConfigError

__all__ = [
    "CellFamily",
    "DEFAULT_CELL",
    "DEFAULT_CELL_ALIAS",
    "ENTRY_POINT_GROUP",
    "get_cell",
    "list_cells",
    "resolve_cell_name",
    "cell_origins",
    "register_cell",
    "unregister_cell",
    "register_family",
    "unregister_family",
    "families",
    "refresh",
    "reference_netlists",
]

log = logging.getLogger(__name__)

#: Entry-point group through which installed packages provide cells or cell families.
ENTRY_POINT_GROUP = "pbitkit.cells"


@runtime_checkable
class CellFamily(Protocol):
    """A source of cells (netlist cells, PySpice cells, a plug-in package...)."""

    name: str

    def discover(self) -> Mapping[str, str]:
        """``{cell name: where it is defined}`` (a path or module, for listings and messages)."""
        ...

    def load(self, name: str) -> Cell:
        """The cell ``name`` (one of :meth:`discover`'s names)."""
        ...


class NetlistFamily:
    """Netlist cells (:mod:`pbitkit.circuits.netlist_cell`): ``NAME.cir`` + ``NAME.toml`` files."""

    name = "netlist"

    def discover(self) -> dict[str, str]:
        return {n: str(p) for n, p in discover().items()}

    def load(self, name: str) -> Cell:
        path = discover().get(name)
        if path is None:
            raise ConfigError(f"no netlist cell {name!r} in the cell directories")
        return load_netlist_cell(path)


class _SingleCell:
    """A family of one cell (an entry point that loads to a Cell)."""

    def __init__(self, cell: Cell, origin: str) -> None:
        self.name = f"entry point {origin}"
        self._cell, self._origin = cell, origin

    def discover(self) -> dict[str, str]:
        return {self._cell.name: self._origin}

    def load(self, name: str) -> Cell:
        return self._cell


_BUILTIN: dict[str, Cell] = {c.name: c for c in builtin_cells()}
_REGISTERED: dict[str, Cell] = {}
_EXTRA_FAMILIES: list[CellFamily] = []


def register_cell(cell: Cell) -> None:
    """Make ``cell`` available by its name in this process (tests, notebooks).

    Raises
    ------
    ConfigError
        If ``cell`` is not a :class:`Cell` with a name, or the name is a built-in cell or ``"default"``.
    """
    if not isinstance(cell, Cell) or not cell.name:
        raise ConfigError(f"register_cell: expected a named Cell, got {cell!r}")
    if cell.name in _BUILTIN:
        raise ConfigError(f"register_cell: {cell.name!r} is a built-in cell")
    if cell.name == DEFAULT_CELL_ALIAS:
        raise ConfigError(f"register_cell: {DEFAULT_CELL_ALIAS!r} names the pipeline's default cell "
                          f"({DEFAULT_CELL!r}); choose another name")
    _REGISTERED[cell.name] = cell


def unregister_cell(name: str) -> None:
    """Undo :func:`register_cell` (no error if ``name`` is not registered)."""
    _REGISTERED.pop(name, None)


def register_family(family: CellFamily) -> None:
    """Search ``family`` after the netlist cells (before entry-point families) in this process."""
    if not isinstance(family, CellFamily):
        raise ConfigError(f"register_family: {family!r} has no name/discover()/load()")
    if family not in _EXTRA_FAMILIES:
        _EXTRA_FAMILIES.append(family)


def unregister_family(family: CellFamily) -> None:
    """Undo :func:`register_family` (no error if ``family`` is not registered)."""
    if family in _EXTRA_FAMILIES:
        _EXTRA_FAMILIES.remove(family)


@functools.cache
def _entry_point_families() -> tuple[CellFamily, ...]:
    out: list[CellFamily] = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"{ep.name} = {ep.value}"
        try:
            obj: Any = ep.load()
            if isinstance(obj, type):  # a Cell subclass or a family class: one instance
                obj = obj()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not break every command
            log.warning("cell entry point %r (%s) failed to load: %s: %s", ENTRY_POINT_GROUP, origin,
                        type(exc).__name__, exc)
            continue
        if isinstance(obj, Cell):
            out.append(_SingleCell(obj, origin))
        elif isinstance(obj, CellFamily):
            out.append(obj)
        else:
            log.warning("cell entry point %r (%s) is neither a Cell nor a cell family (name, discover, load): "
                        "skipped", ENTRY_POINT_GROUP, origin)
    return tuple(out)


def refresh() -> None:
    """Re-read the entry points (after installing a package that provides cells in this process)."""
    _entry_point_families.cache_clear()


def families() -> tuple[CellFamily, ...]:
    """The non-built-in families, in search order: netlist cells, PySpice cells, registered families,
    entry points."""
    return (NetlistFamily(), PySpiceFamily(), *_EXTRA_FAMILIES, *_entry_point_families())


def cell_origins() -> dict[str, str]:
    """``{cell name: where it is defined}`` for every cell :func:`get_cell` can return."""
    out = {n: f"built-in ({type(c).__module__})" for n, c in _BUILTIN.items()}
    for n, c in _REGISTERED.items():
        out.setdefault(n, f"registered ({type(c).__module__})")
    for fam in families():
        for n, where in fam.discover().items():
            out.setdefault(n, f"{fam.name}: {where}")
    return out


def list_cells() -> list[str]:
    """Names of every cell: built-in, registered, netlist cells (``netlists/cells`` and
    ``$PBITKIT_CELLS``), and the cells of other families."""
    return sorted(cell_origins())


def get_cell(name: str) -> Cell:
    """The cell ``name``, from the first family that defines it (see the module docstring); ``"default"``
    is the pipeline's default cell (:data:`DEFAULT_CELL`).

    Raises
    ------
    ConfigError
        For an unknown name (listing the known ones) or a cell whose files are invalid.
    """
    name = resolve_cell_name(name)
    if name in _BUILTIN:
        return _BUILTIN[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    for fam in families():
        if name in fam.discover():
            return fam.load(name)
    raise ConfigError(f"unknown cell {name!r}; known cells: {list_cells()} (or {DEFAULT_CELL_ALIAS!r} = "
                      f"{DEFAULT_CELL!r}, the pipeline's default cell)")


# --------------------------------------------------------------------------------------------------
# reference netlists shipped in netlists/cells and netlists/testbenches


def _reference_library() -> ModelLibrary:
    return ModelLibrary(name="sky130", version="(see provenance)", corner="tt", mismatch=False,
                        include_line='.include "SKY130_SLIM_LIBRARY"  $ pbitkit.circuits.models.sky130_library()',
                        nfet="sky130_fd_pr__nfet_01v8", pfet="sky130_fd_pr__pfet_01v8", instance_prefix="X",
                        path=Path("SKY130_SLIM_LIBRARY"), files={}, devices=dict(SLIM_DEVICES))


def reference_netlists() -> dict[str, str]:
    """The built-in cells and the testbenches rendered at their defaults (nominal tt, 27 °C), keyed by
    their path under ``netlists/``. They are documentation: what pbitkit simulates, readable without
    Python. The model include is a placeholder (the slim library lives in the cache);
    ``tests/circuits/test_cells.py`` checks that the shipped files equal this rendering."""
    lib = _reference_library()
    latch, sa, nl = _BUILTIN["latch"], _BUILTIN["strongarm"], _BUILTIN["native_latch"]
    head = "* generated by pbitkit.circuits.registry.reference_netlists(); do not edit (rendered from Python)\n"
    return {
        "cells/latch.cir": head + render_latch(lib, latch.params(), vdd_V=latch.default_vdd_V, temp_C=27.0,
                                               bias_V=latch.params()["ref_V"]) + ".end\n",
        "cells/strongarm.cir": head + render_strongarm(lib, sa.params(), vdd_V=sa.default_vdd_V, temp_C=27.0,
                                                       bias_V=0.0) + ".end\n",
        "cells/native_latch.cir": head + render_native_latch(lib, nl.params(), vdd_V=nl.default_vdd_V, temp_C=27.0,
                                                             bias_V=nl.params()["ref_V"]) + ".end\n",
        "testbenches/inverter_energy.cir": head + render_inverter_tb(lib),
        "testbenches/bias_network_fanin4.cir": head + render_bias_network_tb(lib, fan_in=4,
                                                                             states_after=[1, 1, 0, 0]),
        "testbenches/noise_node.cir": head + render_noise_node_tb(lib, noise_gain=1e-15),
    }
