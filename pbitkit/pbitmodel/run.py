"""Fit a characterization run directory into a DeviceModel card with its report, CSV and plots.

This is what ``pbitkit fit RUN_DIR`` and the pipeline's fit stage call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.io import atomic_write_json, atomic_write_text
from pbitkit.progress import ProgressCallback

__all__ = ["FitRun", "fit_run", "CARD_NAME", "REPORT_NAME", "PARAMS_NAME", "PLOTS_DIR"]

log = logging.getLogger(__name__)

CARD_NAME = "device_card.json"
REPORT_NAME = "fit_report.md"
PARAMS_NAME = "fit_params.csv"
PLOTS_DIR = "fit_plots"


@dataclass(frozen=True)
class FitRun:
    """The outputs of :func:`fit_run`: the fit report object and the files written."""

    report: Any  # pbitkit.pbitmodel.fit.FitReport
    card_path: Path
    report_path: Path
    params_path: Path
    plots: tuple[Path, ...]

    def summary(self) -> dict[str, Any]:
        """JSON-ready headline numbers of the card."""
        c = self.report.card
        return {
            "card": self.card_path.name,
            "cell": c.cell,
            "link": c.link,
            "v0_V": c.v0_V,
            "vs_V": c.vs_V,
            "v0_sigma_V": c.v0_sigma_V,
            "tau_corr_s": c.tau_corr_s,
            "energy_per_bit_J": c.energy_per_bit_J,
            "energy_per_flip_J": c.energy_per_flip_J,
            "static_power_W": c.static_power_W,
            "notes": list(self.report.notes),
        }


def fit_run(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    config: Any = None,
    *,
    plots: bool = True,
    progress: ProgressCallback | None = None,
) -> FitRun:
    """Fit ``src`` (a characterization run directory or its CSV) and write the card, ``fit_report.md``,
    ``fit_params.csv``, ``fit.json`` and ``fit_plots/*.png`` into ``out`` (default: next to the table).

    Raises
    ------
    FitError, PbitkitError
        Unreadable table, no usable rows, no resolvable sigmoid (the message names the file and the cause).
    """
    from pbitkit.pbitmodel.export import card_to_csv
    from pbitkit.pbitmodel.fit import FitConfig, fit_characterization
    from pbitkit.pbitmodel.report import render_report
    from pbitkit.pbitmodel.table import read_characterization

    src_p = Path(src)
    out_p = Path(out) if out is not None else (src_p if src_p.is_dir() else src_p.parent)
    cfg = config or FitConfig()
    table = read_characterization(src_p)
    log.info("fitting %s: %d rows", table.source, table.n_rows)
    rep = fit_characterization(table, cfg, progress=progress)
    card_path = rep.card.save(out_p / CARD_NAME)
    params_path = atomic_write_text(out_p / PARAMS_NAME, card_to_csv(rep.card))
    plot_paths: list[Path] = []
    if plots:
        from pbitkit.pbitmodel.plots import plot_all

        plot_paths = list(plot_all(rep, out_p / PLOTS_DIR))
    rel = [f"{PLOTS_DIR}/{p.name}" for p in plot_paths]
    report_path = atomic_write_text(out_p / REPORT_NAME, render_report(rep, plots=rel))
    atomic_write_json(
        out_p / "fit.json",
        {
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
            "table": table.source,
            "table_sha256": table.sha256,
            "outputs": [CARD_NAME, PARAMS_NAME, REPORT_NAME, *rel],
        },
    )
    c = rep.card
    log.info("card %s: %s v0=%.6g V vs=%.4g V tau=%.3g s E/bit=%.3g J (sigma(v0)=%.3g V)",
             card_path, c.link, c.v0_V, c.vs_V, c.tau_corr_s, c.energy_per_bit_J, c.v0_sigma_V)
    for n in rep.notes:
        log.info("note: %s", n)
    return FitRun(rep, card_path, report_path, params_path, tuple(plot_paths))
