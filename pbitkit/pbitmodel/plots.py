"""Plots of a :class:`~pbitkit.pbitmodel.fit.FitReport` (matplotlib Agg), saved atomically.

Each function takes the report and a directory and returns the file it wrote (or ``None`` when the report
has nothing to show). :func:`plot_all` writes every applicable figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pbitkit.io import atomic_path
from pbitkit.pbitmodel.fit import FitReport

__all__ = ["plot_sigmoid", "plot_residuals", "plot_rates", "plot_energy", "plot_variation", "plot_corners",
           "plot_all"]


def _fig(*a, **k):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*a, **k)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return path


def plot_sigmoid(rep: FitReport, out: Path) -> Path | None:
    """``sigmoid.png``: P(1) data with 95 % error bars (n_eff), the fit with its 95 % band and the other link.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    f = rep.sigmoid
    if f is None:
        return None
    fig, ax = _fig(figsize=(6, 4))
    v = np.linspace(f.bias_V.min(), f.bias_V.max(), 300)
    lo, hi = f.band(v)
    ax.fill_between(v, lo, hi, alpha=0.3, label="95% band")
    ax.plot(v, f.predict(v), label=f"{f.link} fit")
    p = f.k_eff / f.n_eff
    err = 1.96 * np.sqrt(np.clip(p * (1 - p), 1e-12, None) / f.n_eff)
    ax.errorbar(f.bias_V, p, yerr=err, fmt="o", ms=3, label="data (±1.96 SE, n_eff)")
    if rep.links:
        other = rep.links.fits["probit" if f.link == "logistic" else "logistic"]
        ax.plot(v, other.predict(v), "--", lw=1, label=f"{other.link} (ΔAIC {rep.links.delta_aic:.1f})")
    ax.set(xlabel="bias (V)", ylabel="P(1)", title=f"{rep.cell}: v0={f.v0_V:.4g} V, vs={f.vs_V:.3g} V")
    ax.legend(fontsize=8)
    return _save(fig, out / "sigmoid.png")


def plot_residuals(rep: FitReport, out: Path) -> Path | None:
    """``residuals.png``: Pearson residuals of the nominal fit vs bias.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    f = rep.sigmoid
    if f is None:
        return None
    fig, ax = _fig(figsize=(6, 3))
    ax.axhline(0, color="k", lw=0.8)
    for y in (-2, 2):
        ax.axhline(y, color="gray", ls=":", lw=0.8)
    ax.plot(f.bias_V, f.residuals(), "o")
    ax.set(xlabel="bias (V)", ylabel="Pearson residual", title=f"residuals (dispersion {f.dispersion:.2f})")
    return _save(fig, out / "residuals.png")


def plot_rates(rep: FitReport, out: Path) -> Path | None:
    """``rates.png``: telegraph rates and correlation time vs bias with their fits.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    t = rep.nominal_table
    if t is None or (rep.rates is None and rep.tau is None):
        return None
    fig, ax = _fig(figsize=(6, 4))
    v = t["bias_V"]
    vv = np.linspace(np.nanmin(v), np.nanmax(v), 200)
    if rep.rates is not None:
        ax.semilogy(v, t.get("rate_up_Hz"), "^", label="r_up data")
        ax.semilogy(v, t.get("rate_down_Hz"), "v", label="r_down data")
        up, dn = rep.rates.predict(vv)
        ax.semilogy(vv, up, "-", label="r_up fit")
        ax.semilogy(vv, dn, "-", label="r_down fit")
    if rep.tau is not None:
        ax.semilogy(v, 1 / t.get("tau_corr_s"), "s", ms=3, label="1/tau data")
        ax.semilogy(vv, 1 / rep.tau.predict(vv), ":", label="1/tau fit")
    ax.set(xlabel="bias (V)", ylabel="rate (Hz)", title="switching dynamics")
    ax.legend(fontsize=8)
    return _save(fig, out / "rates.png")


def plot_energy(rep: FitReport, out: Path) -> Path | None:
    """``energy.png``: energy per bit vs bias with the centre fit.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    t = rep.nominal_table
    if rep.energy is None or t is None:
        return None
    fig, ax = _fig(figsize=(6, 4))
    v = t["bias_V"]
    ax.plot(v, t.get("energy_per_bit_J"), "o", label="energy per bit")
    if np.isfinite(t.get("dynamic_energy_per_bit_J")).any():
        ax.plot(v, t.get("dynamic_energy_per_bit_J"), "x", label="dynamic part")
    vv = np.linspace(np.nanmin(v), np.nanmax(v), 200)
    ax.plot(vv, rep.energy.energy_per_bit.predict(vv), "-", label="quadratic about v0 (|u|<=4)")
    ax.set(xlabel="bias (V)", ylabel="J", title=f"energy per bit at centre {rep.energy.energy_per_bit_J:.3g} J")
    ax.legend(fontsize=8)
    return _save(fig, out / "energy.png")


def plot_variation(rep: FitReport, out: Path) -> Path | None:
    """``variation.png``: per-instance ``(v0, vs)`` scatter and their histograms.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    v = rep.variation
    if v is None:
        return None
    fig, axs = _fig(1, 3, figsize=(12, 3.6))
    axs[0].plot(v.v0, v.vs, "o")
    axs[0].set(xlabel="v0 (V)", ylabel="vs (V)", title=f"instances (corr {v.corr:.2f})")
    axs[1].hist(v.v0, bins=max(5, v.n // 3))
    axs[1].set(xlabel="v0 (V)", title=f"sigma {v.v0_sigma_V:.3g} V")
    axs[2].hist(v.vs, bins=max(5, v.n // 3))
    axs[2].set(xlabel="vs (V)", title=f"rel. sigma {v.vs_sigma_rel:.3g}")
    return _save(fig, out / "variation.png")


def plot_corners(rep: FitReport, out: Path) -> Path | None:
    """``corners.png``: the sigmoid per corner, temperature and supply.

    Returns the file written, or ``None`` when the report lacks the data.
    """
    if len(rep.corners) + len(rep.by_temp) + len(rep.by_vdd) < 2:
        return None
    fig, ax = _fig(figsize=(6, 4))
    f0 = rep.sigmoid or next(iter(rep.corners.values()))
    lo = f0.v0_V - 6 * f0.vs_V
    hi = f0.v0_V + 6 * f0.vs_V
    allf = [f"corner {k}" for k in rep.corners] + [f"{k:g} degC" for k in rep.by_temp] + [f"Vdd {k:g} V" for k in rep.by_vdd]
    fits = list(rep.corners.values()) + list(rep.by_temp.values()) + list(rep.by_vdd.values())
    for name, f in zip(allf, fits):
        lo, hi = min(lo, f.v0_V - 6 * f.vs_V), max(hi, f.v0_V + 6 * f.vs_V)
    vv = np.linspace(lo, hi, 300)
    for name, f in zip(allf, fits):
        ax.plot(vv, f.predict(vv), label=name)
    ax.set(xlabel="bias (V)", ylabel="P(1)", title="corners / temperature / supply")
    ax.legend(fontsize=7)
    return _save(fig, out / "corners.png")


def plot_all(rep: FitReport, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every applicable figure into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    files = [fn(rep, out) for fn in (plot_sigmoid, plot_residuals, plot_rates, plot_energy, plot_variation, plot_corners)]
    return [f for f in files if f is not None]
