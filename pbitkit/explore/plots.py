"""Figures of an exploration (matplotlib Agg, written atomically): the Pareto front with the dominated and
infeasible designs greyed, and DTM sample quality vs energy per sample across cell designs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.io import atomic_path

__all__ = ["plot_front", "plot_quality_vs_energy", "plot_breakdown"]

_PANELS = (("tau_corr_s", "correlation time of the read bits τ (s)"),
           ("sigma_v0_over_vs", "variation σ(V0)/Vs (mismatch)"),
           ("area_um2", "area proxy Σ W·L (µm²)"))


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _col(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    out = []
    for r in rows:
        try:
            out.append(float(r.get(key, math.nan)))
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.array(out, dtype=float)


def plot_front(rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Energy per independent bit against τ, variation and area, one panel each.

    ``rows``: one per design with the figures, ``feasible`` and ``on_front`` (0/1) and ``origin`` (the
    ``"reference"`` design is drawn as a star). Infeasible designs are light grey crosses, feasible but
    dominated ones grey dots, the front coloured. An infinite σ(V0)/Vs (fewer than two mismatch
    instances centred in the window) is drawn at the panel's top edge with a triangle.
    """
    plt = _plt()
    e = _col(rows, "energy_per_independent_bit_J") * 1e15
    feas = _col(rows, "feasible") > 0
    front = _col(rows, "on_front") > 0
    ref = np.array([r.get("origin") == "reference" for r in rows], dtype=bool)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), sharey=True)
    for ax, (key, label) in zip(axes, _PANELS, strict=True):
        x = _col(rows, key)
        finite = np.isfinite(x)
        top = np.nanmax(x[finite]) * 2 if finite.any() else 1.0
        xp = np.where(np.isinf(x), top, x)
        inf = np.isinf(x)
        ax.scatter(xp[~feas], e[~feas], marker="x", s=14, c="0.82", label="infeasible")
        ax.scatter(xp[feas & ~front], e[feas & ~front], s=16, c="0.55", label="feasible, dominated")
        sc = ax.scatter(xp[front & ~inf], e[front & ~inf], s=36, c="C3", edgecolors="k", linewidths=0.5,
                        label="front", zorder=3)
        ax.scatter(xp[front & inf], e[front & inf], s=40, c="C3", marker="^", edgecolors="k", linewidths=0.5,
                   zorder=3, label="front, σ(V0)/Vs = ∞" if (front & inf).any() else None)
        ax.scatter(xp[ref], e[ref], s=160, marker="*", c="gold", edgecolors="k", zorder=4, label="cell default")
        del sc
        ax.set_xscale("log")
        ax.set_xlabel(label + (" (▲: ∞)" if key == "sigma_v0_over_vs" and inf.any() else ""))
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("energy per independent bit (fJ)")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_quality_vs_energy(points: Sequence[Mapping[str, Any]], path: str | Path, *,
                           ideal_energy_J: float | None = None, gpu_energy_J: float | None = None,
                           ideal_fd: float | None = None, xlabel: str = "energy per generated sample (J)",
                           quality_label: str = "Fréchet distance (lower is better)", title: str = "") -> Path:
    """DTM sample quality vs energy per sample, one point per cell design.

    ``points``: ``label``, ``energy_per_sample_J``, ``fd`` (and optionally ``fd_lo``/``fd_hi`` for an
    interval; ``fd_hw`` with ``fd_hw_lo``/``fd_hw_hi``: a hardware-aware model on the same chip, drawn open with
    an arrow from the first). ``ideal_energy_J`` (the paper's idealized 2 fJ per cell per sweep at this DTM's size) and
    ``gpu_energy_J`` (a digital GPU chain for the same samples) are drawn as vertical lines, ``ideal_fd`` (the
    same model on the ideal array) as a horizontal one.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for k, p in enumerate(points):
        x, y = float(p["energy_per_sample_J"]), float(p["fd"])
        lo, hi = float(p.get("fd_lo", y)), float(p.get("fd_hi", y))
        eb = ax.errorbar([x], [y], yerr=[[max(y - lo, 0.0)], [max(hi - y, 0.0)]], fmt="o" if k else "*",
                         ms=8 if k else 14, capsize=3, label=str(p["label"]))
        yh = float(p.get("fd_hw", math.nan))
        if math.isfinite(yh):  # the hardware-aware model on the same chip: open marker, arrow from the first
            col = eb[0].get_color()
            hlo, hhi = float(p.get("fd_hw_lo", yh)), float(p.get("fd_hw_hi", yh))
            ax.errorbar([x * 1.04], [yh], yerr=[[max(yh - hlo, 0.0)], [max(hhi - yh, 0.0)]], fmt="o", mfc="none",
                        mec=col, ecolor=col, ms=9, capsize=3)
            ax.annotate("", xy=(x * 1.04, yh), xytext=(x, y), arrowprops={"arrowstyle": "->", "color": col, "lw": 0.8})
    if ideal_fd is not None and math.isfinite(ideal_fd):
        ax.axhline(ideal_fd, ls="-.", c="C2", lw=1, label="same DTM on the ideal array")
    if ideal_energy_J is not None:
        ax.axvline(ideal_energy_J, ls="--", c="0.3", label="paper's idealized 2 fJ/cell/sweep")
    if gpu_energy_J is not None:
        ax.axvline(gpu_energy_J, ls=":", c="C7", label="GPU (A100, the same chain, digital)")
    ax.set_xscale("log")
    fds = [float(p["fd"]) for p in points if float(p["fd"]) > 0] + ([ideal_fd] if ideal_fd and ideal_fd > 0 else [])
    if fds and max(fds) > 10 * min(fds):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(quality_label)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_breakdown(bars: Sequence[Mapping[str, Any]], path: str | Path, *, parts: Sequence[str],
                   target_J: float | None = None, floor_J: float | None = None, title: str = "") -> Path:
    """Stacked bars, one per design: its energy per independent bit split into ``parts``.

    ``bars``: ``label`` and one value (J) per part; ``target_J`` (half the default's energy) and ``floor_J``
    (the lowest readout/clock part in the space) are drawn as horizontal lines.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(bars) + 2), 4.4))
    x = np.arange(len(bars))
    bottom = np.zeros(len(bars))
    for k, part in enumerate(parts):
        v = np.nan_to_num(_col(bars, part) * 1e15, nan=0.0)
        v = np.maximum(v, 0.0)
        ax.bar(x, v, bottom=bottom, color=f"C{k}", label=part.replace("_", " + "), width=0.8)
        bottom += v
    if target_J is not None and math.isfinite(target_J):
        ax.axhline(target_J * 1e15, ls="--", c="k", lw=1, label="factor-2 target (½ default)")
    if floor_J is not None and math.isfinite(floor_J):
        ax.axhline(floor_J * 1e15, ls=":", c="C3", lw=1.2, label="lowest readout + clock part in the space")
    ax.set_xticks(x, [str(b["label"]) for b in bars], rotation=90, fontsize=7)
    ax.set_ylabel("energy per independent bit (fJ)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)
