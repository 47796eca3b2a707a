"""Plots of a characterization: functions that take table rows (or measurement results) and write PNGs.

Matplotlib with the Agg backend; every file is written atomically (:func:`pbitkit.io.atomic_path`).
``plot_characterization(rows, out_dir)`` is what ``pbitkit characterize`` calls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.io import atomic_path

__all__ = [
    "plot_characterization",
    "plot_p1_vs_bias",
    "plot_tau_vs_bias",
    "plot_energy_vs_bias",
    "plot_autocorrelation",
    "plot_dwell_histograms",
]

log = logging.getLogger(__name__)

Row = Mapping[str, Any]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    return path


def _num(r: Row, key: str) -> float:
    try:
        v = float(r.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan
    return v


def _groups(rows: Iterable[Row]) -> dict[tuple, list[Row]]:
    """Rows grouped by (cell, tier, corner, temp_C, vdd_V, mc_seed), each sorted by bias."""
    out: dict[tuple, list[Row]] = {}
    for r in rows:
        if r.get("status", "ok") != "ok":
            continue
        key = (r.get("cell"), r.get("tier"), r.get("corner"), _num(r, "temp_C"), _num(r, "vdd_V"),
               int(_num(r, "mc_seed")) if math.isfinite(_num(r, "mc_seed")) else -1)
        out.setdefault(key, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: _num(r, "bias_V"))
    return out


def _label(key: tuple) -> str:
    cell, tier, corner, temp, vdd, seed = key
    s = f"{corner} {temp:g}°C {vdd:g} V"
    if seed >= 0:
        s += f" mc{seed}"
    return s + (" (pred.)" if tier == "predicted" else "")


def plot_p1_vs_bias(rows: Sequence[Row], path: str | Path, title: str = "") -> Path:
    """P(1) vs bias voltage, one curve per corner/temperature/supply/seed; measured points with their
    effective-sample-size CIs as error bars, predicted tier as lines."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key, rs in _groups(rows).items():
        b = np.array([_num(r, "bias_V") for r in rs])
        p = np.array([_num(r, "p1") for r in rs])
        if key[1] == "predicted":
            ax.plot(b, p, "-", lw=1.2, label=_label(key))
        else:
            lo = np.array([_num(r, "p1_lo") for r in rs])
            hi = np.array([_num(r, "p1_hi") for r in rs])
            yerr = np.vstack([np.clip(p - lo, 0, None), np.clip(hi - p, 0, None)])
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
            ax.errorbar(b, p, yerr=yerr, fmt="o", ms=4, capsize=2, label=_label(key))
    ax.set_xlabel("bias voltage (V)")
    ax.set_ylabel("P(1)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title or "P(1) vs bias")
    if len(ax.get_legend_handles_labels()[0]) <= 12:
        ax.legend(fontsize=7)
    return _save(fig, Path(path))


def _plot_column(rows: Sequence[Row], column: str, ylabel: str, path: Path, title: str, log_y: bool) -> Path:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key, rs in _groups(rows).items():
        b = np.array([_num(r, "bias_V") for r in rs])
        y = np.array([_num(r, column) for r in rs])
        ok = np.isfinite(y) & (y > 0 if log_y else np.isfinite(y))
        if ok.any():
            ax.plot(b[ok], y[ok], "-o" if key[1] != "predicted" else "--", ms=3, label=_label(key))
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("bias voltage (V)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    if 0 < len(ax.get_legend_handles_labels()[0]) <= 12:
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_tau_vs_bias(rows: Sequence[Row], path: str | Path) -> Path:
    """Output correlation time ``tau_corr_s`` vs bias (log scale)."""
    return _plot_column(rows, "tau_corr_s", "correlation time (s)", Path(path), "correlation time vs bias", True)


def plot_energy_vs_bias(rows: Sequence[Row], path: str | Path) -> Path:
    """Energy per output bit (and per flip, dashed, where finite) vs bias (log scale)."""
    return _plot_column(rows, "energy_per_bit_J", "energy per output bit (J)", Path(path), "energy vs bias", True)


def plot_autocorrelation(rho: np.ndarray, dt_s: float, path: str | Path, tau_corr_s: float | None = None) -> Path:
    """Autocorrelation ``rho_k`` of a bit sequence vs lag time ``k dt_s``, with ``exp(-t/tau)`` if given."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    t = np.arange(len(rho)) * dt_s
    ax.plot(t, rho, ".-", ms=3, label="measured")
    if tau_corr_s and math.isfinite(tau_corr_s) and tau_corr_s > 0:
        ax.plot(t, np.exp(-t / tau_corr_s), "--", label=f"exp(-t/{tau_corr_s:.3g} s)")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("autocorrelation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def plot_dwell_histograms(dwell_high_s: np.ndarray, dwell_low_s: np.ndarray, path: str | Path) -> Path:
    """Histograms of complete dwell times in state 1 and state 0 (log counts: exponential dwells of a
    telegraph process are straight lines)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for d, name in ((np.asarray(dwell_high_s), "state 1"), (np.asarray(dwell_low_s), "state 0")):
        if d.size:
            ax.hist(d, bins=min(40, max(5, d.size // 5)), histtype="step", label=f"{name} (n={d.size})")
    ax.set_yscale("log")
    ax.set_xlabel("dwell time (s)")
    ax.set_ylabel("count")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def plot_characterization(rows: Sequence[Row], out_dir: str | Path) -> list[Path]:
    """The standard plots of a characterization table: ``p1_vs_bias.png``, ``tau_vs_bias.png``,
    ``energy_vs_bias.png`` (one per cell when the table holds several). Returns the paths written."""
    out = Path(out_dir)
    cells = sorted({str(r.get("cell")) for r in rows})
    paths: list[Path] = []
    for cell in cells:
        rs = [r for r in rows if str(r.get("cell")) == cell]
        prefix = f"{cell}_" if len(cells) > 1 else ""
        if not any(r.get("status", "ok") == "ok" for r in rs):
            log.info("no successful rows for cell %s: no plots", cell)
            continue
        paths.append(plot_p1_vs_bias(rs, out / f"{prefix}p1_vs_bias.png", title=f"{cell}: P(1) vs bias"))
        paths.append(plot_tau_vs_bias(rs, out / f"{prefix}tau_vs_bias.png"))
        paths.append(plot_energy_vs_bias(rs, out / f"{prefix}energy_vs_bias.png"))
    return paths
