"""Built-in p-bit cells: one module per cell (renderer + :class:`~pbitkit.circuits.cell_base.Cell`).

``latch`` (:mod:`.latch`)
    Subthreshold cross-coupled latch whose own channel noise makes it wander between its two states.
``strongarm`` (:mod:`.strongarm`)
    StrongARM clocked comparator sampling amplified resistor thermal noise.
``strongarm_pyspice`` (:mod:`.strongarm_pyspice`)
    The same StrongARM cell with its circuit written in PySpice (rows equal to ``strongarm``'s bit for bit).
``native_latch`` (:mod:`.native_latch`)
    All-transistor p-bit: native-nFET / low-Vt-pFET latch on its own channel noise, pFET-pair bias,
    clocked StrongARM readout with a clock inverter.

A new built-in cell is a module here with a ``Cell`` subclass, listed in :func:`builtin_cells`; the
registry (:mod:`pbitkit.circuits.registry`) picks it up from there.
"""

from __future__ import annotations

from pbitkit.circuits.builtin.latch import LatchCell
from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.builtin.strongarm import StrongArmCell
from pbitkit.circuits.builtin.strongarm_pyspice import PySpiceStrongArmCell
from pbitkit.circuits.cell_base import Cell

__all__ = ["LatchCell", "StrongArmCell", "PySpiceStrongArmCell", "NativeLatchCell", "builtin_cells"]


def builtin_cells() -> tuple[Cell, ...]:
    """One instance of every built-in cell, in listing order."""
    return (LatchCell(), StrongArmCell(), PySpiceStrongArmCell(), NativeLatchCell())
