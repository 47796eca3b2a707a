"""Simulate the SPICE macro-model in ngspice (through :mod:`pbitkit.circuits.ngspice`) and measure it.

- :func:`simulate_macromodel_sweep`: one ngspice session with one independent macro-model instance per bias
  point (each its own seeded noise); the outputs are read every ``read_period_s`` and measured with the
  circuits stage's estimators (:func:`pbitkit.circuits.measure.p1_estimate`, integrated autocorrelation
  time), so macro-model and transistor-level numbers come from the same code.
- :func:`simulate_coupled_pair`: two instances whose bias nodes are resistive dividers between the other
  cell's output and a reference voltage; returns the sampled joint distribution of the two outputs and the
  Boltzmann distribution that heat-bath dynamics with those couplings must sample.

Both are real ngspice runs (marked ``ngspice`` in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.export import macromodel_noise, spice_macromodel
from pbitkit.rng import SeedLike, as_generator

__all__ = ["MacroSweep", "simulate_macromodel_sweep", "CoupledPair", "simulate_coupled_pair", "pair_boltzmann",
           "P1Agreement", "compare_p1"]


@dataclass(frozen=True)
class MacroSweep:
    """Per-bias measurements of the macro-model: ``p1``, ``n_eff`` (from the measured autocorrelation),
    ``tau_corr_s`` (integrated autocorrelation time), and the raw reads ``bits`` of shape ``(m, n_reads)``."""

    bias_V: np.ndarray
    p1: np.ndarray
    n_eff: np.ndarray
    tau_corr_s: np.ndarray
    read_period_s: float
    bits: np.ndarray = field(repr=False)
    wall_time_s: float = 0.0


def _tran_step(card: DeviceModel) -> float:
    from pbitkit.pbitmodel.export import tran_step

    return tran_step(card)


def _read(t: np.ndarray, v: np.ndarray, period: float, t0: float, vdd: float) -> np.ndarray:
    from pbitkit.circuits.measure import sample_waveform

    return (sample_waveform(t, v, period, t0) > vdd / 2).astype(np.uint8)


def _measure(bits: np.ndarray, period: float) -> tuple[float, float, float]:
    from pbitkit.circuits.measure import integrated_autocorr_time, p1_estimate

    est = p1_estimate(bits)
    tau_int = integrated_autocorr_time(bits)
    return est.p1, est.n_eff, (tau_int * period / 2.0 if math.isfinite(tau_int) else math.nan)


def simulate_macromodel_sweep(
    card: DeviceModel, bias_V, *, t_stop_s: float | None = None, read_period_s: float | None = None,
    seed: SeedLike = 0, timeout_s: float = 300.0,
) -> MacroSweep:
    """Run the macro-model at every bias in ``bias_V`` (V) in one ngspice transient.

    ``t_stop_s`` defaults to ``2000 u``; reads every ``read_period_s`` after a ``5 u`` start-up, with ``u`` =
    :func:`~pbitkit.pbitmodel.export.time_unit` (the clock period of a clocked cell, else ``tau``). Default
    read period: ``tau / 2``, or for a clocked cell once per clock, half a period after the decision (as the
    cell's readout does). The transient's maximum step is ``u / 100``.
    """
    from pbitkit.circuits.ngspice import SimJob, run

    rng = as_generator(seed)
    bias = np.atleast_1d(np.asarray(bias_V, dtype=float))
    from pbitkit.pbitmodel.export import time_unit

    unit = time_unit(card)
    clocked = card.dynamics.sample_period_s > 0
    t_stop = 2000.0 * max(unit, card.dynamics.tau_corr_s) if t_stop_s is None else float(t_stop_s)
    period = (unit if clocked else card.dynamics.tau_corr_s / 4.0) if read_period_s is None else float(read_period_s)
    t_read0 = 5.5 * unit if clocked else 5 * max(unit, card.dynamics.tau_corr_s)
    streams = rng.spawn(bias.size)
    files: dict[str, str] = {}
    lines = [f"pbitkit macro-model sweep of {card.cell}"]
    for i, (b, r) in enumerate(zip(bias.tolist(), streams)):
        fname = f"noise{i}.txt"
        files[fname] = macromodel_noise(card, t_stop * 1.01, r)
        lines.append(spice_macromodel(card, f"pbit{i}", fname))
        lines.append(f"VB{i} b{i} 0 {b:.12g}")
        lines.append(f"X{i} b{i} o{i} pbit{i}")
    step = _tran_step(card)
    lines += [".options noacct", f".tran {step:.6g} {t_stop:.6g} 0 {step:.6g}", ".end", ""]
    res = run(SimJob(netlist="\n".join(lines), files=files, vectors=tuple(f"v(o{i})" for i in range(bias.size)),
                     timeout_s=timeout_s, label="macro-model sweep"))
    t = res.vector("time")
    bits = np.stack([_read(t, res.vector(f"v(o{i})"), period, t_read0, card.vdd_V) for i in range(bias.size)])
    meas = np.array([_measure(b, period) for b in bits])
    return MacroSweep(bias, meas[:, 0], meas[:, 1], meas[:, 2], period, bits, res.wall_time_s)


@dataclass(frozen=True)
class CoupledPair:
    """Two coupled macro-model cells: sampled joint frequencies ``freq[s1, s2]`` (index 0 = low, 1 = high)
    from ``n_reads`` reads (``n_eff`` effective), and the couplings ``J``, fields ``h`` (spin units) that
    the bias network implements; ``boltzmann`` is the exact joint distribution for them."""

    freq: np.ndarray
    boltzmann: np.ndarray
    J: float
    h: tuple[float, float]
    n_reads: int
    n_eff: float


def pair_boltzmann(J: float, h1: float, h2: float) -> np.ndarray:
    """``P(s1, s2) ∝ exp(J s1 s2 + h1 s1 + h2 s2)`` over ``s in {-1, +1}``, as a ``(2, 2)`` array indexed
    by ``(s + 1) / 2``."""
    s = np.array([-1.0, 1.0])
    e = J * s[:, None] * s[None, :] + h1 * s[:, None] + h2 * s[None, :]
    w = np.exp(e - e.max())
    return w / w.sum()


def simulate_coupled_pair(
    card: DeviceModel, *, coupling_frac: float, v_ref_V: tuple[float, float], t_stop_s: float | None = None,
    seed: SeedLike = 0, r_total_ohm: float = 100e3, timeout_s: float = 300.0,
) -> CoupledPair:
    """Two macro-model cells, each biased by a divider ``G_c`` to the other's output and ``G_r`` to ``v_ref``.

    With ``a = G_c / (G_c + G_r)`` (``coupling_frac``) and outputs ``y in {0, vdd}``, ``s = 2 y / vdd - 1``,
    the bias is ``V_b,i = a vdd (s_j + 1)/2 + (1 - a) v_ref,i`` (:func:`symbolic.bias_network_voltage`), so
    for a logistic card ``P(s_i = 1) = sigmoid(2 (J s_j + h_i))`` with
    ``J = a vdd / (4 vs)`` and ``h_i = (a vdd / 2 + (1 - a) v_ref,i - v0) / (2 vs)``. The dividers have no
    capacitance (instant settling), so each noise event is a heat-bath update and the pair samples
    :func:`pair_boltzmann`. Requires a logistic card.
    """
    from pbitkit.circuits.ngspice import SimJob, run
    from pbitkit.circuits.measure import integrated_autocorr_time

    if card.link != "logistic":
        raise ValueError("simulate_coupled_pair needs a logistic card (the Boltzmann mapping uses the logistic)")
    if card.dynamics.sample_period_s > 0:
        raise ValueError("simulate_coupled_pair models asynchronous (unclocked) cells; this card is clocked "
                         f"(sample_period_s = {card.dynamics.sample_period_s})")
    if not 0 < coupling_frac < 1:
        raise ValueError(f"coupling_frac must be in (0, 1), got {coupling_frac!r}")
    rng = as_generator(seed)
    tau = card.dynamics.tau_corr_s
    t_stop = 2000.0 * tau if t_stop_s is None else float(t_stop_s)
    a = coupling_frac
    rc, rr = r_total_ohm / a, r_total_ohm / (1 - a)
    s1, s2 = rng.spawn(2)
    files = {"noise0.txt": macromodel_noise(card, t_stop * 1.01, s1), "noise1.txt": macromodel_noise(card, t_stop * 1.01, s2)}
    lines = [f"pbitkit coupled macro-model pair of {card.cell}",
             spice_macromodel(card, "pbit0", "noise0.txt"), spice_macromodel(card, "pbit1", "noise1.txt"),
             "X0 b0 o0 pbit0", "X1 b1 o1 pbit1",
             f"VR0 r0 0 {v_ref_V[0]:.12g}", f"VR1 r1 0 {v_ref_V[1]:.12g}",
             f"RC0 o1 b0 {rc:.9g}", f"RR0 r0 b0 {rr:.9g}", f"RC1 o0 b1 {rc:.9g}", f"RR1 r1 b1 {rr:.9g}"]
    step = _tran_step(card)
    lines += [f".tran {step:.6g} {t_stop:.6g} 0 {step:.6g}", ".end", ""]
    res = run(SimJob(netlist="\n".join(lines), files=files, vectors=("v(o0)", "v(o1)"), timeout_s=timeout_s,
                     label="macro-model coupled pair"))
    t = res.vector("time")
    period = tau / 2.0
    y0 = _read(t, res.vector("v(o0)"), period, 5 * tau, card.vdd_V)
    y1 = _read(t, res.vector("v(o1)"), period, 5 * tau, card.vdd_V)
    freq = np.zeros((2, 2))
    np.add.at(freq, (y0, y1), 1.0)
    freq /= freq.sum()
    vdd, vs, v0 = card.vdd_V, card.vs_V, card.v0_V
    J = a * vdd / (4 * vs)
    h = tuple((a * vdd / 2 + (1 - a) * vr - v0) / (2 * vs) for vr in v_ref_V)
    joint = (2 * y0 + y1).astype(float)
    taus = [integrated_autocorr_time(x) for x in (y0, y1, joint)]
    tau_max = max(x for x in taus if math.isfinite(x)) if any(math.isfinite(x) for x in taus) else float(y0.size)
    return CoupledPair(freq, pair_boltzmann(J, h[0], h[1]), J, (float(h[0]), float(h[1])), int(y0.size),
                       float(y0.size / tau_max))


@dataclass(frozen=True)
class P1Agreement:
    """Point-by-point comparison of two P(1) curves measured on the same biases.

    ``z = (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b))`` with the pooled ``p`` and effective sample counts;
    ``chi2 = sum z^2`` with ``dof`` points and its p-value ``p_value`` (two independent binomial estimates
    of the same probability at every point under the null hypothesis).
    """

    bias_V: np.ndarray
    p_a: np.ndarray
    p_b: np.ndarray
    z: np.ndarray
    chi2: float
    dof: int
    p_value: float

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.p_a - self.p_b)))


def compare_p1(bias_V, p_a, n_a, p_b, n_b) -> P1Agreement:
    """Two-sample comparison of P(1) at each bias (see :class:`P1Agreement`)."""
    from scipy import stats

    pa, pb = np.asarray(p_a, float), np.asarray(p_b, float)
    na, nb = np.asarray(n_a, float), np.asarray(n_b, float)
    p = (pa * na + pb * nb) / (na + nb)
    var = np.clip(p * (1 - p), 0.25 / np.minimum(na, nb), None) * (1 / na + 1 / nb)  # floor: no 0/0 at p = 0, 1
    z = (pa - pb) / np.sqrt(var)
    chi2 = float(np.sum(z**2))
    return P1Agreement(np.asarray(bias_V, float), pa, pb, z, chi2, int(z.size), float(stats.chi2.sf(chi2, z.size)))
