"""Measurements on simulated waveforms and bit sequences: pure functions, no I/O.

Every function takes arrays (SI units, time in s, voltage in V, current in A) and returns numbers or small
frozen result objects. They are tested on synthetic processes with known answers (AR(1) with known
correlation time, random telegraph processes with known rates, ramps with known energy) in
``tests/circuits/test_measure.py``.

Conventions
-----------
- A *bit sequence* is a 1-D array of 0/1 values read at a fixed sample period ``dt_s``.
- ``tau_int`` is the integrated autocorrelation time in samples, ``tau_int = 1 + 2 sum_{k>=1} rho_k``
  (Sokal's self-consistent window ``M >= c tau_int``); the effective sample size is ``n / tau_int``.
- ``tau_corr_s = tau_int * dt_s / 2`` is the continuous-time correlation time
  ``int_0^inf rho(t) dt``; for an exponential autocorrelation ``exp(-t/tau)`` sampled with ``dt << tau``
  it equals ``tau`` (exactly ``(dt/2) coth(dt / 2 tau)``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

__all__ = [
    "P1Estimate",
    "DwellStats",
    "EnergySplit",
    "binarize",
    "sample_waveform",
    "autocorrelation",
    "integrated_autocorr_time",
    "PooledTauInt",
    "pooled_integrated_autocorr_time",
    "p1_estimate",
    "wilson_interval",
    "dwell_times",
    "dwell_stats",
    "flip_count",
    "energy_split",
    "settling_time",
]


@dataclasses.dataclass(frozen=True)
class P1Estimate:
    """P(1) from a correlated bit sequence.

    Attributes
    ----------
    n_samples, n_ones : int
        Bits read and how many were 1.
    p1, p1_lo, p1_hi : float
        Point estimate and the Wilson interval computed with the effective sample size ``n_eff``.
    n_eff : float
        ``n_samples / tau_int`` (at most ``n_samples``).
    tau_int : float
        Integrated autocorrelation time in samples (1 for independent bits).
    """

    n_samples: int
    n_ones: int
    p1: float
    p1_lo: float
    p1_hi: float
    n_eff: float
    tau_int: float


@dataclasses.dataclass(frozen=True)
class DwellStats:
    """Dwell times of a two-state sequence and the telegraph rates they imply.

    ``rate_up_Hz = 1 / mean_dwell_low_s`` (0 -> 1 transitions), ``rate_down_Hz = 1 / mean_dwell_high_s``.
    Only complete dwells (bounded by two transitions) are used; the first and last are censored. A rate
    is NaN when no complete dwell of that state exists. ``flip_rate_Hz`` counts all transitions
    over the record length.
    """

    dwell_high_s: np.ndarray
    dwell_low_s: np.ndarray
    mean_dwell_high_s: float
    mean_dwell_low_s: float
    rate_up_Hz: float
    rate_down_Hz: float
    n_flips: int
    flip_rate_Hz: float


@dataclasses.dataclass(frozen=True)
class EnergySplit:
    """Supply energy over a record, split into a static (quiescent) and a dynamic part.

    ``energy_J = int V I dt``; ``static_power_W = V * I_q`` with ``I_q`` the quiescent current (a low
    percentile of the supply current); ``dynamic_energy_J = energy_J - static_power_W * duration_s``.
    """

    energy_J: float
    duration_s: float
    static_power_W: float
    dynamic_energy_J: float


def binarize(v: np.ndarray, threshold_V: float, hysteresis_V: float = 0.0) -> np.ndarray:
    """Digitize a waveform with a Schmitt trigger.

    The output switches to 1 when ``v > threshold_V + hysteresis_V / 2`` and to 0 when
    ``v < threshold_V - hysteresis_V / 2``; in between it keeps its previous value (the initial state
    is ``v[0] > threshold_V``). Flip counts depend on ``hysteresis_V``: state it with every flip rate.

    Parameters
    ----------
    v : (n,) array, V
    threshold_V, hysteresis_V : float, V (``hysteresis_V >= 0``)

    Returns
    -------
    (n,) uint8 array of 0/1.
    """
    v = np.asarray(v, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"binarize: expected a 1-D waveform, got shape {v.shape}")
    if hysteresis_V < 0:
        raise ValueError(f"binarize: hysteresis_V must be >= 0, got {hysteresis_V}")
    hi = v > threshold_V + hysteresis_V / 2
    lo = v < threshold_V - hysteresis_V / 2
    if v.size == 0:
        return np.zeros(0, dtype=np.uint8)
    # state = value at the last decisive sample; forward-fill the decisive samples
    decisive = hi | lo
    idx = np.where(decisive, np.arange(v.size), -1)
    np.maximum.accumulate(idx, out=idx)
    init = np.uint8(v[0] > threshold_V)
    out = np.where(idx >= 0, hi[np.maximum(idx, 0)], init).astype(np.uint8)
    return out


def sample_waveform(t_s: np.ndarray, v: np.ndarray, dt_s: float, t_start_s: float = 0.0) -> np.ndarray:
    """Read a (non-uniformly sampled) waveform every ``dt_s`` from ``t_start_s`` by linear interpolation.

    Returns the values at ``t_start_s + k dt_s`` for all ``k`` inside the record.
    """
    t_s = np.asarray(t_s, dtype=float)
    if dt_s <= 0:
        raise ValueError(f"sample_waveform: dt_s must be > 0, got {dt_s}")
    n = int(math.floor((t_s[-1] - t_start_s) / dt_s)) + 1
    if n < 1:
        raise ValueError(f"sample_waveform: record [{t_s[0]}, {t_s[-1]}] s is shorter than t_start_s={t_start_s}")
    tk = t_start_s + dt_s * np.arange(n)
    return np.interp(tk, t_s, np.asarray(v, dtype=float))


def autocorrelation(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalized autocorrelation ``rho_k`` for ``k = 0..max_lag`` (FFT, biased estimator).

    ``rho_k = sum_t (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2``. A constant sequence has no defined
    autocorrelation; it returns ``rho_0 = 1`` and zeros.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 2:
        raise ValueError(f"autocorrelation: need at least 2 samples, got {n}")
    max_lag = n - 1 if max_lag is None else min(int(max_lag), n - 1)
    y = x - x.mean()
    var = float(np.dot(y, y))
    if var == 0.0:
        out = np.zeros(max_lag + 1)
        out[0] = 1.0
        return out
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    f = np.fft.rfft(y, nfft)
    acf = np.fft.irfft(f * np.conj(f), nfft)[: max_lag + 1]
    return acf / var


def integrated_autocorr_time(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time in samples, ``tau_int = 1 + 2 sum_{k=1}^{M} rho_k``.

    The window ``M`` is the smallest ``M >= c * tau_int(M)`` (Sokal 1997; the rule emcee uses). The
    result is at least 1. A constant sequence returns ``inf`` (no information about mixing).
    """
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        raise ValueError(f"integrated_autocorr_time: need at least 2 samples, got {x.size}")
    if np.all(x == x[0]):
        return math.inf
    rho = autocorrelation(x)
    taus = 2.0 * np.cumsum(rho) - 1.0
    m = np.arange(taus.size)
    ok = m >= c * taus
    if np.any(ok):
        tau = float(taus[int(np.argmax(ok))])
    else:
        tau = float(taus[-1])
    return max(tau, 1.0)


@dataclasses.dataclass(frozen=True)
class PooledTauInt:
    """Integrated autocorrelation time of several independent records of one process, with its error.

    Attributes
    ----------
    tau_int : float
        ``1 + 2 sum_{k=1}^{M} rho_k`` (samples) of the pooled autocorrelation (below); not clamped at 1.
    se : float
        Standard error of ``tau_int``: delete-one-record jackknife (the records are independent, so this
        needs no model of the autocorrelation's own error).
    window : int
        The summation window ``M`` (Sokal: the smallest ``M >= c tau_int(M)``), also used for the jackknife.
    n_records, n_samples : int
        Records that vary (a constant record carries no correlation information and is left out) and their
        samples in total.
    """

    tau_int: float
    se: float
    window: int
    n_records: int
    n_samples: int


def _pooled_acf_sums(ys: list[np.ndarray], max_lag: int) -> np.ndarray:
    """Per-record lagged products ``sum_t y_t y_{t+k}`` for ``k = 0..max_lag``: ``(n_records, max_lag+1)``."""
    out = np.zeros((len(ys), max_lag + 1))
    for i, y in enumerate(ys):
        n = y.size
        nfft = 1 << int(math.ceil(math.log2(2 * n)))
        f = np.fft.rfft(y, nfft)
        acov = np.fft.irfft(f * np.conj(f), nfft)[: min(max_lag, n - 1) + 1]
        out[i, : acov.size] = acov
    return out


def _pooled_tau(lag_sums: np.ndarray, lengths: np.ndarray, window: int) -> float:
    """``tau_int`` at ``window`` from the records' lagged products, corrected for the records' own means.

    ``rho_k = [sum_r sum_t y_t y_t+k / sum_r (n_r - k)] / [sum_r sum_t y_t^2 / sum_r n_r]``; centring each
    record on its own mean lowers every ``rho_k`` by ``~tau_int / n`` (``n`` = mean record length) relative to
    ``1 - tau_int / n``, so ``S = sum_{k<=M} rho_k`` gives ``tau_int = (1 + 2 S) / (1 - 2 (M - S) / n)``.
    """
    n_tot, r = float(lengths.sum()), lengths.size
    k = np.arange(1, window + 1)
    pairs = np.maximum(lengths[:, None] - k[None, :], 0).sum(axis=0)
    s = float(np.sum(lag_sums[:, 1: window + 1].sum(axis=0) / pairs) / (lag_sums[:, 0].sum() / n_tot))
    n_mean = n_tot / r
    return (1.0 + 2.0 * s) / (1.0 - 2.0 * (window - s) / n_mean)


def pooled_integrated_autocorr_time(records: list[np.ndarray] | tuple[np.ndarray, ...],
                                    c: float = 5.0) -> PooledTauInt:
    """``tau_int`` of independent records of one stationary process, pooled, with a jackknife error.

    Each record is centred on its own mean (records at slightly different P(1) pool as one process with
    record-wise means); the pooled autocorrelation ``rho_k`` (lagged products summed over the records, per
    pair of samples, over the pooled variance) is summed to the window of :func:`integrated_autocorr_time`
    and corrected for the bias of the record-wise means (:func:`_pooled_tau`; without it ``tau_int`` of
    200-read records at ``tau_int = 1.5`` comes out ~8 % low). The standard error is the delete-one-record
    jackknife at that window. Records shorter than 2 samples or constant are left out.

    Raises
    ------
    ValueError
        Fewer than 2 records that vary (no error can be estimated).
    """
    ys = [np.asarray(r, dtype=float) for r in records]
    ys = [y - y.mean() for y in ys if y.size >= 2 and not np.all(y == y[0])]
    if len(ys) < 2:
        raise ValueError(f"pooled_integrated_autocorr_time: need >= 2 records that vary, got {len(ys)}")
    lengths = np.array([y.size for y in ys], dtype=float)
    lag_sums = _pooled_acf_sums(ys, int(lengths.max()) - 1)
    rho = lag_sums.sum(axis=0) / lag_sums[:, 0].sum()
    taus = 2.0 * np.cumsum(rho) - 1.0
    ok = np.arange(taus.size) >= c * taus
    window = max(1, int(np.argmax(ok)) if np.any(ok) else taus.size - 1)
    tau = _pooled_tau(lag_sums, lengths, window)
    r = len(ys)
    keep = ~np.eye(r, dtype=bool)
    loo = np.array([_pooled_tau(lag_sums[keep[i]], lengths[keep[i]], window) for i in range(r)])
    se = float(math.sqrt((r - 1) / r * np.sum((loo - loo.mean()) ** 2)))
    return PooledTauInt(tau_int=tau, se=se, window=window, n_records=r, n_samples=int(lengths.sum()))


def wilson_interval(n_ones: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion with (effective) ``n`` trials.

    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with ``z = Phi^-1((1+confidence)/2)``.
    """
    if n <= 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = n_ones / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def p1_estimate(bits: np.ndarray, confidence: float = 0.95) -> P1Estimate:
    """P(1) of a correlated bit sequence with a binomial CI that uses the effective sample size.

    ``n_eff = n / tau_int`` (see :func:`integrated_autocorr_time`); the interval is the Wilson interval
    with ``n_eff`` trials and ``p1 * n_eff`` successes. A constant sequence has ``tau_int = inf``; then
    ``n_eff = 1`` is used (the record shows one state, nothing about its probability).
    """
    b = np.asarray(bits)
    if b.ndim != 1 or b.size == 0:
        raise ValueError(f"p1_estimate: expected a non-empty 1-D bit sequence, got shape {b.shape}")
    if not np.all((b == 0) | (b == 1)):
        raise ValueError("p1_estimate: bits must be 0 or 1")
    n = int(b.size)
    n_ones = int(np.count_nonzero(b))
    p1 = n_ones / n
    tau = integrated_autocorr_time(b) if n >= 2 else 1.0
    n_eff = 1.0 if not math.isfinite(tau) else min(n / tau, float(n))
    lo, hi = wilson_interval(p1 * n_eff, n_eff, confidence)
    return P1Estimate(n, n_ones, p1, lo, hi, n_eff, tau)


def dwell_times(bits: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Complete dwell times (s) in state 1 and in state 0 of a bit sequence read every ``dt_s``.

    A dwell is a maximal run of equal bits bounded by transitions on both sides; the first and last
    runs are censored (their true length is unknown) and dropped.
    """
    b = np.asarray(bits).astype(np.int8)
    change = np.flatnonzero(np.diff(b)) + 1  # index where a new run starts
    if change.size < 2:
        return np.zeros(0), np.zeros(0)
    lengths = np.diff(change) * dt_s
    states = b[change[:-1]]
    return lengths[states == 1], lengths[states == 0]


def flip_count(bits: np.ndarray) -> int:
    """Number of transitions (0->1 or 1->0) in a bit sequence."""
    b = np.asarray(bits).astype(np.int8)
    return int(np.count_nonzero(np.diff(b)))


def dwell_stats(bits: np.ndarray, dt_s: float) -> DwellStats:
    """Dwell-time distributions, telegraph rates and flip rate of a bit sequence read every ``dt_s``.

    ``r_up = 1/<dwell_low>``, ``r_down = 1/<dwell_high>`` (maximum-likelihood rates of exponential dwells),
    ``flip_rate_Hz = n_flips / (n dt_s)``. For a telegraph process ``P(1) = r_up/(r_up + r_down)`` and
    the correlation time is ``1/(r_up + r_down)`` (docs/theory.md §1.4).
    """
    b = np.asarray(bits)
    hi, lo = dwell_times(b, dt_s)
    mh = float(hi.mean()) if hi.size else math.nan
    ml = float(lo.mean()) if lo.size else math.nan
    n_flips = flip_count(b)
    duration = b.size * dt_s
    return DwellStats(
        dwell_high_s=hi,
        dwell_low_s=lo,
        mean_dwell_high_s=mh,
        mean_dwell_low_s=ml,
        rate_up_Hz=1.0 / ml if ml > 0 else math.nan,
        rate_down_Hz=1.0 / mh if mh > 0 else math.nan,
        n_flips=n_flips,
        flip_rate_Hz=n_flips / duration if duration > 0 else math.nan,
    )


def energy_split(
    t_s: np.ndarray, i_supply_A: np.ndarray, vdd_V: float, *, quiescent_percentile: float = 10.0
) -> EnergySplit:
    """Energy drawn from a supply of constant voltage ``vdd_V`` carrying current ``i_supply_A(t)``.

    ``E = vdd_V * int i dt`` (trapezoid on the simulator's own time points; ``i`` positive when the
    supply delivers power). The quiescent current ``I_q`` is the ``quiescent_percentile``-th percentile of
    ``i`` weighted by time; static power ``P_s = vdd_V I_q``; dynamic energy ``E - P_s T``.
    """
    t = np.asarray(t_s, dtype=float)
    i = np.asarray(i_supply_A, dtype=float)
    if t.shape != i.shape or t.ndim != 1 or t.size < 2:
        raise ValueError(f"energy_split: t_s and i_supply_A must be equal-length 1-D arrays, got {t.shape}, {i.shape}")
    dt = np.diff(t)
    if np.any(dt < 0):
        raise ValueError("energy_split: t_s must be non-decreasing")
    duration = float(t[-1] - t[0])
    charge = float(np.sum(0.5 * (i[1:] + i[:-1]) * dt))
    energy = vdd_V * charge
    # time-weighted percentile of the midpoint currents
    mid = 0.5 * (i[1:] + i[:-1])
    order = np.argsort(mid)
    w = np.cumsum(dt[order])
    if w[-1] > 0:
        k = int(np.searchsorted(w, quiescent_percentile / 100.0 * w[-1]))
        iq = float(mid[order][min(k, mid.size - 1)])
    else:
        iq = float(np.median(i))
    iq = max(iq, 0.0)
    p_static = vdd_V * iq
    return EnergySplit(energy, duration, p_static, energy - p_static * duration)


def settling_time(t_s: np.ndarray, v: np.ndarray, t_step_s: float, tol: float = 0.01) -> float:
    """Time after ``t_step_s`` until ``v`` stays within ``tol * |v_final - v_start|`` of ``v_final``.

    ``v_start`` is the value at ``t_step_s``, ``v_final`` the last value of the record. Returns NaN when
    the step is zero, ``inf`` when the record ends before the waveform settles (it never enters the band
    for good before the last sample). For a first-order response ``exp(-t/tau)`` this is
    ``tau ln(1/tol)``.
    """
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(v, dtype=float)
    v0 = float(np.interp(t_step_s, t, v))
    vf = float(v[-1])
    step = abs(vf - v0)
    if step == 0:
        return math.nan
    after = t >= t_step_s
    ta, va = t[after], v[after]
    outside = np.abs(va - vf) > tol * step
    if not np.any(outside):
        return 0.0
    last = int(np.flatnonzero(outside)[-1])
    if last >= ta.size - 1:
        return math.inf
    # interpolate the crossing into the band between samples last and last+1
    e0 = abs(va[last] - vf) - tol * step
    e1 = abs(va[last + 1] - vf) - tol * step
    frac = e0 / (e0 - e1) if e0 != e1 else 1.0
    return float(ta[last] + frac * (ta[last + 1] - ta[last]) - t_step_s)
