"""One fit run: read a characterization run directory, fit, write the card, report, parameter table and plots.

This is what ``pbitkit fit`` and the pipeline's ``fit_<cell>`` stage call::

    from pbitkit.pbitmodel.run import fit_run
    res = fit_run("runs/sa", "runs/sa-fit", FitConfig())
    res.card_path, res.summary()

Files written into ``out_dir`` (atomically): ``device_card.json``, ``fit_report.md``, ``fit_params.csv``,
``fit.json`` (settings, input table and its hash, outputs, summary) and ``fit_plots/*.png``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbitkit.config import to_dict
from pbitkit.io import atomic_write_json, atomic_write_text, sha256_file
from pbitkit.pbitmodel.export import card_to_csv
from pbitkit.pbitmodel.fit import FitConfig, FitReport, fit_characterization
from pbitkit.pbitmodel.report import render_report
from pbitkit.pbitmodel.table import read_characterization
from pbitkit.progress import ProgressCallback

__all__ = ["FitRunResult", "fit_run", "CARD_NAME", "REPORT_NAME", "PARAMS_NAME", "PLOTS_DIR", "RECORD_NAME"]

#: File names :func:`fit_run` writes into its output directory: the card, the report, the parameter table,
#: the plot directory and the run record.
CARD_NAME = "device_card.json"
#: See :data:`CARD_NAME`.
REPORT_NAME = "fit_report.md"
#: See :data:`CARD_NAME`.
PARAMS_NAME = "fit_params.csv"
#: See :data:`CARD_NAME`.
PLOTS_DIR = "fit_plots"
#: See :data:`CARD_NAME`.
RECORD_NAME = "fit.json"


@dataclass(frozen=True)
class FitRunResult:
    """Where a fit run wrote its files, and the :class:`FitReport` it computed."""

    out_dir: Path
    card_path: Path
    report_path: Path
    params_path: Path
    plots: list[Path] = field(default_factory=list)
    report: FitReport | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """A small JSON-ready summary (card path and headline numbers) for stage records and logs."""
        rep = self.report
        c = rep.card if rep else None
        out: dict[str, Any] = {"card": str(self.card_path), "report": str(self.report_path),
                               "plots": [str(p) for p in self.plots]}
        if c is not None and rep is not None:
            out.update(cell=c.cell, process=c.process, link=c.link, v0_V=c.v0_V, v0_se_V=c.v0_se_V, vs_V=c.vs_V,
                       vs_se_V=c.vs_se_V, v0_sigma_V=c.variation.v0_sigma_V, vs_sigma_rel=c.variation.vs_sigma_rel,
                       tau_corr_s=c.dynamics.tau_corr_s, rate_form=c.dynamics.rate_model.form,
                       energy_per_bit_J=c.energy.energy_per_bit_J,
                       sample_period_s=c.dynamics.sample_period_s,
                       n_instances=rep.variation.n if rep.variation else 0,
                       delta_aic=rep.links.delta_aic if rep.links else None, notes=list(rep.notes))
        return out


def fit_run(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    config: FitConfig | None = None,
    *,
    plots: bool = True,
    progress: ProgressCallback | None = None,
) -> FitRunResult:
    """Fit the characterization in ``run_dir`` (directory or CSV) and write the results into ``out_dir``
    (default: next to the table). The run's ``bits.npz``, when present next to the table, gives a clocked
    cell's pooled correlation time (:func:`~pbitkit.pbitmodel.fit.fit_dynamics_step`; its hash goes into
    ``fit.json``).

    Raises
    ------
    PbitkitError
        Missing or malformed table (names the file).
    FitError
        Nothing fittable (see :func:`~pbitkit.pbitmodel.fit.fit_characterization`).
    """
    src = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else (src if src.is_dir() else src.parent)
    cfg = config or FitConfig()
    table = read_characterization(src)
    bits_file = (src if src.is_dir() else src.parent) / "bits.npz"
    bits = None
    if bits_file.is_file():  # the run's output bits: pooled correlation time of a clocked cell
        from pbitkit.circuits.bits import read_bits

        bits = read_bits(bits_file)
    rep = fit_characterization(table, cfg, progress=progress, bits=bits)
    card_path = rep.card.save(out / CARD_NAME)
    params_path = atomic_write_text(out / PARAMS_NAME, card_to_csv(rep.card))
    plot_files: list[Path] = []
    if plots:
        from pbitkit.pbitmodel.plots import plot_all

        plot_files = plot_all(rep, out / PLOTS_DIR)
    report_path = atomic_write_text(out / REPORT_NAME,
                                    render_report(rep, plots=[f"{PLOTS_DIR}/{p.name}" for p in plot_files]))
    res = FitRunResult(out, card_path, report_path, params_path, plot_files, rep)
    atomic_write_json(out / RECORD_NAME, {"config": to_dict(cfg), "table": table.source, "table_sha256": table.sha256,
                                          "bits_sha256": sha256_file(bits_file) if bits is not None else None,
                                          "outputs": [CARD_NAME, PARAMS_NAME, REPORT_NAME]
                                          + [f"{PLOTS_DIR}/{p.name}" for p in plot_files],
                                          "summary": res.summary()})
    return res
