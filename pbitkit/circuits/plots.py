"""Plots of a characterization: functions that take table rows (or measurement results) and write PNGs.

Matplotlib with the Agg backend; every file is written atomically (:func:`pbitkit.io.atomic_path`).
``plot_characterization(rows, out_dir)`` and, when the run kept its output bits (``bits.npz``),
``plot_bit_statistics(rows, records, out_dir)`` are what ``pbitkit characterize`` calls.
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
    "plot_bit_statistics",
    "select_bit_rows",
    "exp_acf_model",
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


# --------------------------------------------------------------------------------------------------
# from the raw output bits (bits.npz)


def exp_acf_model(tau_corr_s: float, dt_s: float, n_lags: int) -> np.ndarray:
    """The exponential autocorrelation ``rho_k = exp(-k dt_s / tau)`` implied by a table's ``tau_corr_s``.

    The table stores ``tau_corr_s = tau_int dt_s / 2`` (integrated autocorrelation time). An exponential
    ``exp(-k dt/tau)`` sampled every ``dt`` has ``tau_int = coth(dt / 2 tau)``, so the fitted time constant is
    ``tau = dt / ln((tau_int + 1) / (tau_int - 1))`` and ``rho_k = ((tau_int - 1)/(tau_int + 1))^k``; for
    ``tau >> dt`` this is ``tau = tau_corr_s``, for independent bits (``tau_int = 1``) ``rho_k = 0`` (k >= 1).

    Returns
    -------
    (n_lags,) array, ``rho_k`` for ``k = 0 .. n_lags - 1`` (NaN when ``tau_corr_s`` is not finite).
    """
    k = np.arange(n_lags, dtype=float)
    tau_int = 2.0 * tau_corr_s / dt_s
    if not math.isfinite(tau_int):
        return np.full(n_lags, math.nan)
    r = max(tau_int - 1.0, 0.0) / (tau_int + 1.0)
    return np.where(k == 0, 1.0, r ** np.maximum(k, 1.0) if r > 0 else 0.0)


def select_bit_rows(rows: Sequence[Row], record_ids: Iterable[int],
                    targets: Sequence[float] = (0.5, 0.2, 0.8)) -> list[Row]:
    """Rows to draw bit statistics for: the nominal device (``mc_seed = -1``) of one operating condition
    (tt if present, then the temperature nearest 27 °C, then the first supply), transient tier, with bits;
    the row nearest each P(1) in ``targets`` (the first is 1/2), without repeats, in that order."""
    ids = set(int(i) for i in record_ids)
    cand = [r for r in rows if r.get("tier") == "transient" and r.get("status", "ok") == "ok"
            and math.isfinite(_num(r, "row_id")) and int(_num(r, "row_id")) in ids
            and _num(r, "mc_seed") == -1 and math.isfinite(_num(r, "p1"))]
    if not cand:
        return []
    conds = sorted({(str(r.get("corner")), _num(r, "temp_C"), _num(r, "vdd_V")) for r in cand},
                   key=lambda c: (c[0] != "tt", abs(c[1] - 27.0), c[1], c[2]))
    pick = conds[0]
    group = [r for r in cand if (str(r.get("corner")), _num(r, "temp_C"), _num(r, "vdd_V")) == pick]
    out: list[Row] = []
    for t in targets:
        best = min(group, key=lambda r: (abs(_num(r, "p1") - t), _num(r, "bias_V")))
        if all(best is not o for o in out):
            out.append(best)
    return out


def plot_bit_statistics(rows: Sequence[Row], records: Mapping[int, Any], out_dir: str | Path,
                        targets: Sequence[float] = (0.5, 0.2, 0.8)) -> list[Path]:
    """``autocorrelation.png`` and ``dwell_times.png`` from the raw output bits of selected rows.

    Rows: :func:`select_bit_rows` (nominal device, points nearest P = 1/2, 0.2, 0.8). Autocorrelation:
    the measured ``rho_k`` of the output bits (:func:`pbitkit.circuits.measure.autocorrelation`) with the
    exponential of the table's ``tau_corr_s`` (:func:`exp_acf_model`). Dwell times: histograms of the
    complete dwells in state 1 and state 0 of the flip sequence (the latch's Schmitt trigger) with the
    counts expected from the fitted exponential rates ``rate_down_Hz`` (state 1) and ``rate_up_Hz``
    (state 0); dwells are read in whole samples, so the expected count of the samples ``k1 <= k < k2`` is
    ``n ((1 - q)^(k1 - 1) - (1 - q)^(k2 - 1))`` with ``q = rate dt`` (geometric, -> exponential for
    ``q << 1``).

    Parameters
    ----------
    records
        ``{row_id: BitRecord}`` (:func:`pbitkit.circuits.bits.read_bits`).

    Returns
    -------
    The paths written (empty when no nominal transient row has bits).
    """
    from pbitkit.circuits import measure

    chosen = select_bit_rows(rows, records.keys(), targets)
    if not chosen:
        log.info("no nominal transient rows with bits: no autocorrelation / dwell plots")
        return []
    out = Path(out_dir)
    cell = str(chosen[0].get("cell"))
    cond = f"{chosen[0].get('corner')} {_num(chosen[0], 'temp_C'):g}°C {_num(chosen[0], 'vdd_V'):g} V"
    plt = _figure()
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for j, r in enumerate(chosen):
        rec = records[int(_num(r, "row_id"))]
        tau = _num(r, "tau_corr_s")
        lags = max(10, min(rec.bits.size - 1, int(math.ceil(6 * tau / rec.dt_s)) if math.isfinite(tau) else 50))
        rho = measure.autocorrelation(rec.bits, lags)
        t = np.arange(rho.size) * rec.dt_s
        c = colours[j % len(colours)]
        ax.plot(t, rho, ".", ms=3, color=c, label=f"bias {_num(r, 'bias_V'):.4g} V, P(1) = {_num(r, 'p1'):.2f}")
        model = exp_acf_model(tau, rec.dt_s, rho.size)
        if np.isfinite(model).all():
            ax.plot(t, model, "--", color=c, lw=1, label=f"exp(-t/τ) from tau_corr_s = {tau:.3g} s")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("autocorrelation of the output bit")
    ax.set_title(f"{cell} ({cond}, nominal device): autocorrelation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    paths = [_save(fig, out / "autocorrelation.png")]

    fig, axes = plt.subplots(1, len(chosen), figsize=(4.2 * len(chosen), 3.8), squeeze=False)
    for ax, r in zip(axes[0], chosen):
        rec = records[int(_num(r, "row_id"))]
        ds = measure.dwell_stats(rec.flip_bits, rec.dt_s)
        for d, name, rate, c in ((ds.dwell_high_s, "state 1", _num(r, "rate_down_Hz"), colours[0]),
                                 (ds.dwell_low_s, "state 0", _num(r, "rate_up_Hz"), colours[1])):
            if not d.size:
                continue
            k = np.rint(d / rec.dt_s).astype(int)
            n_bins = min(30, max(4, int(round(2 * math.sqrt(d.size)))))
            width = max(1, int(math.ceil(k.max() / n_bins)))
            edges_k = np.arange(1, k.max() + width + 1, width)
            counts, _ = np.histogram(k, bins=edges_k)
            t_edges = (edges_k - 0.5) * rec.dt_s
            ax.stairs(counts, t_edges, color=c, label=f"{name} (n = {d.size})")
            if math.isfinite(rate) and rate > 0:
                q = min(rate * rec.dt_s, 1.0)
                surv = (1.0 - q) ** (edges_k - 1.0)
                expected = d.size * (surv[:-1] - surv[1:])
                mid = 0.5 * (t_edges[:-1] + t_edges[1:])
                ok = expected > 0
                ax.plot(mid[ok], expected[ok], "--", color=c, lw=1, label=f"exp. rate {rate:.3g} Hz")
        ax.set_yscale("log")
        ax.set_xlabel("dwell time (s)")
        ax.set_ylabel("count")
        hy = getattr(rec, "hysteresis_V", math.nan)
        ax.set_title(f"bias {_num(r, 'bias_V'):.4g} V, P(1) = {_num(r, 'p1'):.2f}"
                     + (f", Schmitt {hy * 1e3:g} mV" if math.isfinite(hy) else ""), fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(f"{cell} ({cond}, nominal device): dwell times", fontsize=9)
    paths.append(_save(fig, out / "dwell_times.png"))
    return paths
