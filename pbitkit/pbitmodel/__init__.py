"""Fitted p-bit device models: sigmoid/dynamics/energy fits, variation statistics, sympy derivations, export.

The stage turns a characterization table from :mod:`pbitkit.circuits` into a :class:`DeviceModel` card.
"""

from pbitkit.pbitmodel.card import SCHEMA_VERSION, DeviceModel, draw_cell_params

__all__ = ["DeviceModel", "SCHEMA_VERSION", "draw_cell_params"]
