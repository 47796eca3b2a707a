"""Sampling diagnostics: magnetization, energy, moments, autocorrelation, integrated autocorrelation time,
effective sample size. Pure NumPy functions over sample arrays of shape ``(T, C, N)`` (time, chain, node).
"""

from __future__ import annotations

import numpy as np

from pbitkit.array.graphs import Graph
from pbitkit.errors import ConfigError

__all__ = [
    "magnetization",
    "energy",
    "moments",
    "autocorr",
    "integrated_autocorr_time",
    "effective_sample_size",
    "mc_standard_error",
]


def _check_samples(samples: np.ndarray) -> np.ndarray:
    s = np.asarray(samples)
    if s.ndim != 3:
        raise ConfigError(f"samples must have shape (T, C, N), got {s.shape}")
    return s


def magnetization(samples: np.ndarray) -> np.ndarray:
    """``m(t, c) = (1/N) sum_i s_i``: shape ``(T, C)`` float64."""
    return _check_samples(samples).mean(axis=2, dtype=np.float64)


def energy(samples: np.ndarray, graph: Graph, J_edge: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """Ising energy without ``beta``: ``E(s) = -(sum_{(i,j)} J_ij s_i s_j + sum_i h_i s_i)``; shape ``(T, C)``."""
    s = _check_samples(samples)
    J = graph.check_edge_values(J_edge)
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    hv = None if h is None else np.asarray(h, dtype=np.float64)
    T, C, _ = s.shape
    e = np.zeros((T, C))
    step = max(1, (1 << 22) // max(1, C * max(J.size, 1)))  # time chunks keep temporaries ~4 M elements
    for t0 in range(0, T, step):
        blk = s[t0 : t0 + step]
        e[t0 : t0 + step] = -((blk[:, :, a] * blk[:, :, b]) @ J)
        if hv is not None:
            e[t0 : t0 + step] -= blk @ hv
    return e


def moments(samples: np.ndarray, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """``<s_i>`` (N,) and ``<s_i s_j>`` (E,) over all samples and chains."""
    s = _check_samples(samples)
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    m1 = s.mean(axis=(0, 1), dtype=np.float64)
    m2 = (s[:, :, a] * s[:, :, b]).mean(axis=(0, 1), dtype=np.float64)
    return m1, m2


def autocorr(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalized autocorrelation ``rho(k)`` of time series along axis 0, averaged over the other axes.

    ``x`` has shape ``(T,)`` or ``(T, ...)`` (e.g. ``(T, C)`` one series per chain). Each series is centred
    on its own mean; ``rho(k) = sum_series sum_t x_t x_{t+k} / sum_series sum_t x_t^2`` computed by FFT
    (zero-padded, so no wrap-around). Constant series contribute nothing. Returns ``(max_lag + 1,)``.
    """
    x = np.asarray(x, dtype=np.float64)
    T = x.shape[0]
    if T < 2:
        raise ConfigError(f"need at least 2 time points for an autocorrelation, got {T}")
    x = x.reshape(T, -1)
    x = x - x.mean(axis=0)
    n = 1 << int(np.ceil(np.log2(2 * T)))
    f = np.fft.rfft(x, n=n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=n, axis=0)[:T].sum(axis=1)
    max_lag = T - 1 if max_lag is None else min(int(max_lag), T - 1)
    if acf[0] <= 0:
        out = np.zeros(max_lag + 1)
        out[0] = 1.0
        return out
    return acf[: max_lag + 1] / acf[0]


def integrated_autocorr_time(x: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time ``tau = 1 + 2 sum_{k>=1} rho(k)`` with Sokal's automatic window:
    the smallest ``M`` with ``M >= c tau(M)`` (Sokal 1997; the estimator emcee uses). In sweeps.

    ``x``: ``(T,)`` or ``(T, C)`` (chains pooled in the autocorrelation). Returns at least 1/(2T)... for
    anticorrelated series the estimate can be below 1 (never below 1/T).
    """
    rho = autocorr(x)
    taus = 2.0 * np.cumsum(rho) - 1.0
    m = np.arange(taus.size)
    ok = m >= c * taus
    M = int(np.argmax(ok)) if np.any(ok) else taus.size - 1
    return float(max(taus[M], 1.0 / rho.size))


def effective_sample_size(x: np.ndarray, c: float = 5.0) -> float:
    """ESS of the mean of ``x`` (``(T,)`` or ``(T, C)``): ``T * C / tau_int``."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    return float(n / integrated_autocorr_time(x, c))


def mc_standard_error(x: np.ndarray, c: float = 5.0) -> tuple[float, float]:
    """Mean of ``x`` and its Monte-Carlo standard error ``sd / sqrt(ESS)`` (blackjax style)."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std() / np.sqrt(effective_sample_size(x, c)))
