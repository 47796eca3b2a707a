"""Plots for the array stage (matplotlib, Agg). Each function takes result data and a path; files are
written atomically. Kept apart from the numerics."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from pbitkit.io import atomic_path

__all__ = ["plot_phase_transition", "plot_calibration", "plot_trim_bits"]


def _fig(ncols: int, width: float = 4.2, height: float = 3.4):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), constrained_layout=True)
    return plt, fig, np.atleast_1d(axes)


def _save(plt, fig, path: str | os.PathLike[str]) -> None:
    with atomic_path(path, suffix=os.path.splitext(str(path))[1]) as tmp:
        fig.savefig(tmp, dpi=120, format=os.path.splitext(str(path))[1].lstrip(".") or "png")
    plt.close(fig)


def plot_phase_transition(
    temperatures: np.ndarray,
    curves: dict[str, dict[str, np.ndarray]],
    onsager_energy: np.ndarray | None,
    path: str | os.PathLike[str],
    t_c: float = 2.0 / np.log(1 + np.sqrt(2)),
) -> None:
    """``<|m|>`` and energy per spin vs temperature for several samplers (``curves[label] = {"abs_m",
    "abs_m_se", "energy", "energy_se"}``), with Onsager's exact energy and T_c."""
    plt, fig, ax = _fig(2)
    for label, c in curves.items():
        ax[0].errorbar(temperatures, c["abs_m"], yerr=c.get("abs_m_se"), marker="o", ms=3, capsize=2, label=label)
        ax[1].errorbar(temperatures, c["energy"], yerr=c.get("energy_se"), marker="o", ms=3, capsize=2, label=label)
    if onsager_energy is not None:
        ax[1].plot(temperatures, onsager_energy, "k--", lw=1, label="Onsager (exact, L = inf)")
    for a in ax:
        a.axvline(t_c, color="grey", lw=0.8, ls=":")
        a.set_xlabel("temperature T = 1 / beta (J = 1)")
        a.legend(fontsize=7)
    ax[0].set_ylabel("<|m|>")
    ax[1].set_ylabel("energy per spin")
    ax[0].set_title("2-D Ising: magnetization")
    ax[1].set_title("2-D Ising: energy")
    _save(plt, fig, path)


def plot_calibration(
    marginals_before: np.ndarray, marginals_after: np.ndarray, residual_before_V: np.ndarray,
    residual_after_V: np.ndarray, path: str | os.PathLike[str],
) -> None:
    """Histograms of the unbiased array's marginals and of the offset residuals before/after trimming."""
    plt, fig, ax = _fig(2)
    bins = np.linspace(-1, 1, 41)
    ax[0].hist(marginals_before, bins=bins, alpha=0.6, label=f"before (std {np.std(marginals_before):.3f})")
    ax[0].hist(marginals_after, bins=bins, alpha=0.6, label=f"after (std {np.std(marginals_after):.3f})")
    ax[0].set_xlabel("<s_i> at J = 0, h = 0")
    ax[0].set_ylabel("cells")
    ax[0].legend(fontsize=7)
    r0, r1 = 1e3 * residual_before_V, 1e3 * residual_after_V
    lim = max(np.abs(r0).max(), 1e-6)
    b2 = np.linspace(-lim, lim, 41)
    ax[1].hist(r0, bins=b2, alpha=0.6, label=f"before (rms {np.sqrt(np.mean(r0**2)):.2f} mV)")
    ax[1].hist(r1, bins=b2, alpha=0.6, label=f"after (rms {np.sqrt(np.mean(r1**2)):.2f} mV)")
    ax[1].set_xlabel("offset error V0_i - V0_nom - trim_i (mV)")
    ax[1].legend(fontsize=7)
    ax[0].set_title("marginals of an unbiased array")
    ax[1].set_title("cell offsets")
    _save(plt, fig, path)


def plot_trim_bits(bits: Sequence[int], spread_after: Sequence[float], residual_rms_V: Sequence[float],
                   moment_err: dict[str, Sequence[float]] | None, path: str | os.PathLike[str]) -> None:
    """Calibration quality vs trim-DAC resolution (and optionally sampled-moment errors)."""
    plt, fig, ax = _fig(2)
    ax[0].semilogy(bits, 1e3 * np.asarray(residual_rms_V), "o-", label="residual offset rms (mV)")
    ax[0].semilogy(bits, spread_after, "s-", label="marginal spread after")
    ax[0].set_xlabel("trim DAC bits")
    ax[0].legend(fontsize=7)
    if moment_err:
        for k, v in moment_err.items():
            ax[1].plot(bits, v, "o-", label=k)
        ax[1].set_xlabel("trim DAC bits")
        ax[1].set_ylabel("rms error vs ideal sampler")
        ax[1].legend(fontsize=7)
    _save(plt, fig, path)
