"""Fitted p-bit device models: sigmoid/dynamics/energy fits, variation statistics, sympy derivations, export.

The stage turns a characterization table from :mod:`pbitkit.circuits` into a :class:`DeviceModel` card
(see ``docs/pbitmodel.md``)::

    from pbitkit.pbitmodel import read_characterization, fit_characterization
    report = fit_characterization(read_characterization("runs/sa"))
    report.card.save("card.json")

Heavier pieces (plots, SPICE macro-model runs, sympy derivations) live in their modules:
:mod:`~pbitkit.pbitmodel.plots`, :mod:`~pbitkit.pbitmodel.macromodel`, :mod:`~pbitkit.pbitmodel.symbolic`.
"""

from typing import TYPE_CHECKING

from pbitkit.lazy import lazy_package

if TYPE_CHECKING:  # the exports; imported on first use (pbitkit.lazy)
    from pbitkit.pbitmodel.card import SCHEMA_VERSION, DeviceModel, draw_cell_params
    from pbitkit.pbitmodel.export import card_to_csv, export_card, export_spice, spice_macromodel
    from pbitkit.pbitmodel.fit import FitConfig, FitReport, fit_characterization
    from pbitkit.pbitmodel.report import render_report
    from pbitkit.pbitmodel.run import FitRunResult, fit_run
    from pbitkit.pbitmodel.sigmoid import FitError, SigmoidFit, compare_links, fit_sigmoid
    from pbitkit.pbitmodel.synthetic import synthetic_table
    from pbitkit.pbitmodel.table import CharTable, read_characterization


__all__ = [
    "DeviceModel",
    "SCHEMA_VERSION",
    "draw_cell_params",
    "CharTable",
    "read_characterization",
    "FitConfig",
    "FitReport",
    "fit_characterization",
    "FitError",
    "SigmoidFit",
    "fit_sigmoid",
    "compare_links",
    "render_report",
    "fit_run",
    "FitRunResult",
    "card_to_csv",
    "export_card",
    "export_spice",
    "spice_macromodel",
    "synthetic_table",
]

lazy_package(__name__)
