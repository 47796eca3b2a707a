"""Characterization tables generated from a known DeviceModel: the known-answer input of the fit tests.

Each row simulates what ``pbitkit characterize`` measures on a cell whose true parameters are given:
the output is the exact two-state Markov (telegraph) process read every ``sample_period_s``, i.e. each read
keeps the previous value with probability ``rho = exp(-t_s / tau(V))`` and otherwise is a fresh Bernoulli
draw of ``P(V)`` (this reproduces the telegraph's stationary law and lag correlations exactly). Flip counts
are Poisson with the true rates over the time spent in each state; energies follow
``E_bit = P_static t_s + E_flip * flips per read`` with a 1 % measurement scatter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from pbitkit.pbitmodel.card import DeviceModel, draw_cell_params
from pbitkit.pbitmodel.table import CharTable, rows_to_table

__all__ = ["telegraph_bits", "synthetic_table"]


def telegraph_bits(p1: float, rho: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n,)`` uint8 reads of a stationary two-state Markov chain with ``P(1) = p1`` and lag-one
    correlation ``rho``: ``x_t = x_{t-1}`` with probability ``rho``, else a fresh ``Bernoulli(p1)``."""
    fresh = rng.random(n) < p1
    redraw = rng.random(n) >= rho
    redraw[0] = True
    idx = np.maximum.accumulate(np.where(redraw, np.arange(n), 0))
    return fresh[idx].astype(np.uint8)


def _tau_int_samples(bits: np.ndarray) -> float:
    """Integrated autocorrelation time in reads, measured exactly as the circuits stage does."""
    from pbitkit.circuits.measure import integrated_autocorr_time

    tau = integrated_autocorr_time(bits)
    return tau if math.isfinite(tau) else float(bits.size)


def synthetic_table(
    card: DeviceModel,
    bias_V: Sequence[float],
    *,
    n_samples: int = 4000,
    sample_period_s: float | None = None,
    mc_seeds: Sequence[int] = (-1,),
    corners: Sequence[str] = ("tt",),
    temps_C: Sequence[float] = (27.0,),
    vdds_V: Sequence[float] | None = None,
    corner_shift_V: dict[str, float] | None = None,
    seed: int = 0,
    relative_bias: bool = False,
    cell: str = "synthetic",
) -> CharTable:
    """Rows for every (corner, temperature, supply, MC seed, bias) of a cell with ``card``'s parameters.

    ``mc_seed = -1`` is the nominal cell; other seeds draw ``(v0, vs)`` from the card's variation
    (:func:`draw_cell_params`, stream spawned from ``seed``). ``card.temp_coeffs`` (``v0_V_per_K``,
    ``vs_V_per_K``, ``v0_V_per_V``, ``vs_V_per_V``) shift the parameters away from ``card.temp_C`` and
    ``card.vdd_V``; ``corner_shift_V`` shifts ``v0`` per corner. With ``relative_bias`` each instance's bias
    points are offsets from its own ``v0`` (the "find the centre first" sweep of docs/theory.md §6.8).
    """
    ts = card.dynamics.sample_period_s or (card.dynamics.tau_corr_s / 5.0 if sample_period_s is None else sample_period_s)
    if sample_period_s is not None:
        ts = sample_period_s
    vdds = (card.vdd_V,) if vdds_V is None else tuple(vdds_V)
    root = np.random.SeedSequence(seed)
    mc_rng = np.random.default_rng(root.spawn(1)[0])
    seeds = [s for s in mc_seeds if s >= 0]
    v0_mc, vs_mc = draw_cell_params(card, len(seeds), mc_rng)
    inst = {-1: (card.v0_V, card.vs_V)} | {s: (float(a), float(b)) for s, a, b in zip(seeds, v0_mc, vs_mc)}
    rng = np.random.default_rng(root.spawn(2)[1])
    tc = card.temp_coeffs.to_dict()  # measured coefficients only
    rows: list[dict[str, Any]] = []
    for corner in corners:
        for temp in temps_C:
            for vdd in vdds:
                for mc in mc_seeds:
                    v0, vs = inst[mc]
                    v0 = v0 + (corner_shift_V or {}).get(corner, 0.0)
                    v0 += tc.get("v0_V_per_K", 0.0) * (temp - card.temp_C) + tc.get("v0_V_per_V", 0.0) * (vdd - card.vdd_V)
                    vs += tc.get("vs_V_per_K", 0.0) * (temp - card.temp_C) + tc.get("vs_V_per_V", 0.0) * (vdd - card.vdd_V)
                    inst_card = card.replace(v0_V=v0, vs_V=vs)
                    for b in bias_V:
                        v = v0 + b if relative_bias else float(b)
                        p = float(inst_card.p1(v))
                        up, down = (float(x) for x in inst_card.rates(v))
                        tau = 1.0 / (up + down)
                        rho = math.exp(-ts / tau)
                        bits = telegraph_bits(p, rho, n_samples, rng)
                        k = int(bits.sum())
                        tau_int = _tau_int_samples(bits)
                        n_eff = min(n_samples / tau_int, float(n_samples))
                        t_total = n_samples * ts
                        n_up = rng.poisson(up * t_total * (1 - p))
                        n_down = rng.poisson(down * t_total * p)
                        t_low, t_high = t_total * (1 - p), t_total * p
                        flip_rate = (n_up + n_down) / t_total
                        e_static = card.energy.static_power_W * ts
                        e_dyn = card.energy.energy_per_flip_J * flip_rate * ts
                        scatter = 1.0 + 0.01 * rng.standard_normal(2)
                        rows.append({
                            "cell": cell, "tier": "transient", "corner": corner, "mc_seed": mc, "temp_C": temp,
                            "vdd_V": vdd, "bias_V": v, "n_samples": n_samples, "n_ones": k, "p1": k / n_samples,
                            "n_eff": n_eff, "tau_corr_s": tau_int * ts / 2.0, "flip_rate_Hz": flip_rate,
                            "rate_up_Hz": n_up / t_low if n_up > 0 and t_low > 0 else math.nan,
                            "rate_down_Hz": n_down / t_high if n_down > 0 and t_high > 0 else math.nan,
                            "energy_per_bit_J": (e_static + e_dyn) * scatter[0],
                            "energy_per_flip_J": card.energy.energy_per_flip_J * scatter[1],
                            "static_power_W": card.energy.static_power_W,
                            "dynamic_energy_per_bit_J": e_dyn * scatter[0],
                            "sample_period_s": ts, "sim_time_s": t_total, "status": "ok", "error": "",
                        })
    return rows_to_table(rows, sidecar={"source": "pbitkit.pbitmodel.synthetic", "true_card": card.to_dict(),
                                        "seed": seed})
