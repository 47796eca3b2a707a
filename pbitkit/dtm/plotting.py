"""Plots of DTM results (matplotlib Agg), saved atomically. Separate from the numerics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.io import atomic_path

__all__ = ["plot_sample_grid", "plot_training_curves", "plot_quality_vs_energy"]


def _fig():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_sample_grid(pixels: np.ndarray, shape: tuple[int, int], path: str | Path, *, ncol: int = 10,
                     title: str = "", row_labels: list[str] | None = None) -> Path:
    """Save a grid of binary images ``pixels (n, H*W)`` (spins) as PNG."""
    plt = _fig()
    n = len(pixels)
    nrow = max(1, (n + ncol - 1) // ncol)
    h, w = shape
    canvas = np.ones((nrow * (h + 1) + 1, ncol * (w + 1) + 1)) * 0.5
    for k in range(n):
        r, c = divmod(k, ncol)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = (pixels[k].reshape(h, w) > 0)
    fig, ax = plt.subplots(figsize=(ncol * 0.5 + 0.5, nrow * 0.5 + 0.6))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if row_labels:
        ax.set_yticks([1 + r * (h + 1) + h / 2 for r in range(len(row_labels))], row_labels, fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    p = Path(path)
    with atomic_path(p, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    return p


def plot_training_curves(curves: dict[int, dict[str, list[float]]], path: str | Path, *, eps: float | None = None) -> Path:
    """Per-step training curves: lag-K autocorrelation, penalty lambda, denoising error, gradient RMS."""
    plt = _fig()
    keys = [("rho", "lag-K autocorrelation"), ("lambda", "penalty λ"), ("denoise_err", "free-phase error vs x^{t-1}"),
            ("grad_rms_J", "RMS gradient of J")]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    for ax, (k, title) in zip(axes, keys):
        for t, c in sorted(curves.items()):
            ax.plot(np.arange(1, len(c[k]) + 1), c[k], marker=".", label=f"step {t}")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        if k == "rho" and eps is not None:
            ax.axhline(eps, color="k", ls=":", lw=1)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    p = Path(path)
    with atomic_path(p, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return p


def plot_quality_vs_energy(points: list[dict[str, Any]], path: str | Path, *, floor: float | None = None,
                           baselines: dict[str, float] | None = None) -> Path:
    """Fréchet classifier distance (with CI) vs energy per sample, one series per ``series`` key.

    Each point: ``{"series", "energy_J", "fd", "fd_lo", "fd_hi", "label"}``.
    """
    plt = _fig()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s in dict.fromkeys(p["series"] for p in points):
        pts = sorted((p for p in points if p["series"] == s), key=lambda p: p["energy_J"])
        e = np.array([p["energy_J"] for p in pts])
        fd = np.array([p["fd"] for p in pts])
        err = np.array([[p["fd"] - p["fd_lo"] for p in pts], [p["fd_hi"] - p["fd"] for p in pts]])
        ax.errorbar(e, fd, yerr=np.clip(err, 0, None), marker="o", capsize=2, label=s)
        for p in pts:
            ax.annotate(p.get("label", ""), (p["energy_J"], p["fd"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if floor is not None:
        ax.axhline(floor, color="k", ls=":", lw=1, label="real-vs-real floor")
    for name, v in (baselines or {}).items():
        ax.axhline(v, ls="--", lw=1, color="gray")  # baselines have no energy axis: named on their line
        ax.annotate(f"{name} {v:.3g}", (0.0, v), xycoords=("axes fraction", "data"), xytext=(3, 2),
                    textcoords="offset points", fontsize=6, color="dimgray", va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("energy per sample on the p-bit array (J)")
    ax.set_ylabel("Fréchet classifier distance")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = Path(path)
    with atomic_path(p, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return p
