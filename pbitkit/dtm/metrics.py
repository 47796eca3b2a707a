"""Offline sample-quality metrics for binary generative models.

All take spins (``int8`` in {-1,+1}) of shape ``(n, D)`` unless stated.

- :func:`frechet_distance` of Gaussian fits to features: ``|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½)``.
- :func:`kernel_inception_distance`: unbiased MMD² with the cubic polynomial kernel
  ``k(a,b) = (a·b / d + 1)^3``, averaged over random subsets (Bińkowski et al. 2018).
- :func:`marginal_error`, :func:`pair_correlation_error`: RMS error of ``<s_i>`` and of ``<s_i s_j>``.
- :func:`lag_autocorrelation`: variance-weighted lag-``k`` autocorrelation of spin chains.
- :func:`bootstrap_ci`: normal-approximation bootstrap CI of any two-sample statistic.
- :func:`exact_kl`, :func:`total_variation`: against an enumerated distribution for tiny models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "ci_order",
    "matching_point",
    "frechet_distance",
    "frechet_from_features",
    "kernel_inception_distance",
    "marginal_error",
    "pair_correlation_error",
    "lag_autocorrelation",
    "LagAutocorrelation",
    "bootstrap_ci",
    "paired_difference_ci",
    "CI",
    "SampleQuality",
    "ConditionalAccuracy",
    "conditional_accuracy",
    "empirical_distribution",
    "states_to_index",
    "exact_kl",
    "total_variation",
]


@dataclass(frozen=True)
class CI:
    """A point estimate with a bootstrap confidence interval."""

    value: float
    lo: float
    hi: float
    level: float = 0.95

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "level": self.level}

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}]"


@dataclass(frozen=True)
class SampleQuality:
    """Offline quality of one sample set against held-out data (see ``pbitkit.dtm.evaluate_samples``).

    Attributes
    ----------
    n : number of samples evaluated.
    fd : Fréchet classifier distance with its bootstrap CI.
    kid : kernel distance (KID) in the same features.
    marginal_err, pair_err : RMS errors of ``<s_i>`` and ``<s_i s_j>`` (spins).
    fd_floor : the same distance between real data and the reference (real-vs-real floor), if measured.
    """

    n: int
    fd: CI
    kid: float
    marginal_err: float
    pair_err: float
    fd_floor: CI | None = None

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"n": self.n, "fd": self.fd.as_dict(), "kid": self.kid,
                                "marginal_err": self.marginal_err, "pair_err": self.pair_err}
        if self.fd_floor is not None:
            d["fd_floor"] = self.fd_floor.as_dict()
        return d


@dataclass(frozen=True)
class ConditionalAccuracy:
    """Fraction of label-clamped samples the frozen classifier assigns to their label, binomial SE, count."""

    accuracy: float
    se: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "se": self.se, "n": self.n}


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(0.5 * (a + a.T))
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of feature sets ``f1 (n1, H)``, ``f2 (n2, H)``.

    ``d² = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1^½ S2 S1^½)^½)`` (symmetric PSD form, no complex sqrtm).
    """
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1 = np.cov(f1, rowvar=False)
    s2 = np.cov(f2, rowvar=False)
    r1 = _sqrtm_psd(s1)
    m = r1 @ s2 @ r1
    tr_sqrt = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(0.5 * (m + m.T)), 0.0, None))))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def frechet_distance(x1: np.ndarray, x2: np.ndarray, features: Callable[[np.ndarray], np.ndarray]) -> float:
    """Fréchet distance between sample sets in the feature space ``features`` (e.g. a frozen classifier)."""
    return frechet_from_features(features(x1), features(x2))


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    d = a.shape[1]
    kaa = (a @ a.T / d + 1.0) ** 3
    kbb = (b @ b.T / d + 1.0) ** 3
    kab = (a @ b.T / d + 1.0) ** 3
    m, n = len(a), len(b)
    return float(
        (kaa.sum() - np.trace(kaa)) / (m * (m - 1)) + (kbb.sum() - np.trace(kbb)) / (n * (n - 1)) - 2 * kab.mean()
    )


def kernel_inception_distance(
    f1: np.ndarray, f2: np.ndarray, rng: np.random.Generator, *, n_subsets: int = 20, subset_size: int = 200
) -> float:
    """KID: mean unbiased MMD² (cubic polynomial kernel) over ``n_subsets`` random subsets of features."""
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    vals = [
        _mmd2_unbiased(f1[rng.choice(len(f1), m, replace=False)], f2[rng.choice(len(f2), m, replace=False)])
        for _ in range(n_subsets)
    ]
    return float(np.mean(vals))


def marginal_error(x: np.ndarray, ref: np.ndarray) -> float:
    """RMS difference of per-pixel means ``<s_i>`` between samples ``x`` and reference ``ref``."""
    return float(np.sqrt(np.mean((x.mean(0, dtype=np.float64) - ref.mean(0, dtype=np.float64)) ** 2)))


def pair_correlation_error(x: np.ndarray, ref: np.ndarray) -> float:
    """RMS difference of all off-diagonal pair moments ``<s_i s_j>`` (i < j)."""
    xf, rf = x.astype(np.float64), ref.astype(np.float64)
    cx, cr = xf.T @ xf / len(xf), rf.T @ rf / len(rf)
    iu = np.triu_indices(x.shape[1], 1)
    return float(np.sqrt(np.mean((cx[iu] - cr[iu]) ** 2)))


def lag_autocorrelation(chain: np.ndarray, lag: int, groups: np.ndarray | None = None) -> float:
    """Variance-weighted lag-``lag`` autocorrelation of spin chains.

    ``chain`` has shape ``(n_times, C, N)``. Spins are centred on the mean of their *group* — all chains
    that sample the same distribution (``groups (C,)`` integer ids; default: all chains one group) — over
    time and the group's chains, then ``rho = sum cov(lag) / sum var`` over chains and nodes. Centring on
    the ensemble (not on each chain's own time average) is what exposes a chain stuck in one mode: its
    deviation from the ensemble mean persists, so ``rho`` stays near 1. Weighting by variance ignores
    frozen nodes instead of dividing by zero; a fully constant chain set returns 1.0 (no mixing).

    Known answer: a two-state telegraph chain flipping with probability ``q`` per step has ``rho(k) =
    (1 - 2q)^k``.
    """
    s = np.asarray(chain, dtype=np.float64)
    if s.ndim != 3:
        raise ValueError(f"chain must have shape (n_times, C, N), got {s.shape}")
    if not 0 < lag < s.shape[0]:
        raise ValueError(f"lag must be in 1..{s.shape[0] - 1}, got {lag}")
    g = np.zeros(s.shape[1], dtype=np.int64) if groups is None else np.asarray(groups)
    if g.shape != (s.shape[1],):
        raise ValueError(f"groups must have shape ({s.shape[1]},), got {g.shape}")
    centred = np.empty_like(s)
    for gid in np.unique(g):
        sel = g == gid
        centred[:, sel] = s[:, sel] - s[:, sel].mean(axis=(0, 1), keepdims=True)
    var = float(np.sum(centred * centred)) / s.shape[0]
    if var <= 0.0:
        return 1.0
    cov = float(np.sum(centred[:-lag] * centred[lag:])) / (s.shape[0] - lag)
    return cov / var


class LagAutocorrelation:
    """:func:`lag_autocorrelation` of a chain fed one state at a time, without storing the chain.

    Memory is ``lag`` states (a ring buffer) plus a few ``(C, N)`` accumulators instead of the whole
    ``(n_times, C, N)`` record: at ``lag`` = 2,000 sweeps of a 4,900-node array the record would be
    gigabytes. The result equals :func:`lag_autocorrelation` of the stacked states up to floating-point
    rounding (same centring on group means, same sums, expanded algebraically):
    ``sum (s_t - m)(s_{t+k} - m) = X - m (H + E) + (n - k) m^2`` with ``X = sum s_t s_{t+k}``, ``H``, ``E``
    the sums of ``s_t`` over ``t < n - k`` and ``t >= k``.

    Parameters
    ----------
    lag : the lag ``k`` in states (sweeps).
    groups : ``(C,)`` group ids of the chains (see :func:`lag_autocorrelation`; ``None``: one group).
    """

    def __init__(self, lag: int, groups: np.ndarray | None = None) -> None:
        if lag < 1:
            raise ValueError(f"lag must be >= 1, got {lag}")
        self.lag = int(lag)
        self.groups = None if groups is None else np.asarray(groups)
        self._ring: list[np.ndarray] = []
        self._n = 0
        self._sum: np.ndarray | None = None
        self._sq: np.ndarray | None = None
        self._cross: np.ndarray | None = None
        self._first_sum: np.ndarray | float = 0.0  # sum of the first `lag` states (for the tail sum)

    def add(self, state: np.ndarray) -> None:
        """Append the chains' state at the next time, shape ``(C, N)``."""
        raw = np.array(state)  # kept in its own dtype (int8 spins) in the ring: lag x C x N bytes
        s = raw.astype(np.float64)
        if self._sum is None:
            if s.ndim != 2:
                raise ValueError(f"state must have shape (C, N), got {s.shape}")
            if self.groups is not None and self.groups.shape != (s.shape[0],):
                raise ValueError(f"groups must have shape ({s.shape[0]},), got {self.groups.shape}")
            self._sum, self._sq, self._cross = np.zeros_like(s), np.zeros_like(s), np.zeros_like(s)
        assert self._sum is not None and self._sq is not None and self._cross is not None
        self._sum += s
        self._sq += s * s
        if self._n >= self.lag:
            self._cross += self._ring[self._n % self.lag] * s
        if len(self._ring) < self.lag:
            self._ring.append(raw)
            self._first_sum = raw.astype(np.float64) + (self._first_sum if self._n else 0.0)
        else:
            self._ring[self._n % self.lag] = raw
        self._n += 1

    def value(self) -> float:
        """The lag autocorrelation of the states added so far (needs more than ``lag`` states)."""
        n, k = self._n, self.lag
        if self._sum is None or n <= k:
            raise ValueError(f"need more than lag={k} states, got {n}")
        assert self._sq is not None and self._cross is not None
        # tail E = sum_{t >= k} s_t = total - first k; head H = sum_{t < n-k} s_t = total - last k (ring)
        tail = self._sum - self._first_sum
        head = self._sum - np.sum(self._ring, axis=0, dtype=np.float64)
        g = np.zeros(self._sum.shape[0], dtype=np.int64) if self.groups is None else self.groups
        m = np.empty_like(self._sum)
        for gid in np.unique(g):
            sel = g == gid
            m[sel] = self._sum[sel].sum(axis=0) / (n * int(sel.sum()))
        var = float(np.sum(self._sq - 2.0 * m * self._sum + n * m * m)) / n
        if var <= 1e-12 * self._sum.size:
            return 1.0
        cov = float(np.sum(self._cross - m * (head + tail) + (n - k) * m * m)) / (n - k)
        return cov / var


def bootstrap_ci(
    stat: Callable[[np.ndarray, np.ndarray], float],
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 100,
    level: float = 0.95,
    resample: Literal["both", "first"] = "both",
) -> CI:
    """Bootstrap CI of ``stat(a, b)``, resampling rows of both sets with replacement (``resample="both"``)
    or only of ``a`` (``"first"``: ``b`` is a fixed reference, e.g. the held-out set every model is compared
    with, and the interval covers the sampling noise of ``a`` alone).

    Normal-approximation interval ``θ ± z_{(1+level)/2} · sd_boot`` around the point estimate ``θ``, with
    ``sd_boot`` the standard deviation of the bootstrap replicates. (Percentile intervals are misleading for
    the Fréchet distance: resampling with replacement duplicates rows, shrinks the feature covariance and
    biases every replicate upward, so the percentile interval often excludes the point estimate.)
    """
    from scipy.stats import norm

    if resample not in ("both", "first"):
        raise ValueError(f"resample must be 'both' or 'first', got {resample!r}")
    point = stat(a, b)
    vals = np.array([stat(a[rng.integers(0, len(a), len(a))],
                          b[rng.integers(0, len(b), len(b))] if resample == "both" else b) for _ in range(n_boot)])
    half = float(norm.ppf(0.5 + level / 2) * np.std(vals, ddof=1))
    return CI(float(point), float(point) - half, float(point) + half, level)


def ci_order(a: dict[str, float], b: dict[str, float]) -> int:
    """Order of two intervals ``{"lo", "hi", ...}`` (e.g. Fréchet distances with their 95 % CIs): ``-1`` when
    ``a`` lies entirely below ``b``, ``1`` entirely above, ``0`` when they overlap (no significant difference)."""
    if a["hi"] < b["lo"]:
        return -1
    if a["lo"] > b["hi"]:
        return 1
    return 0


def matching_point(point: dict[str, Any], candidates: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """The evaluation point of ``candidates`` to compare ``point`` with (e.g. the monolithic machine's points
    for a DTM point): the first at the same energy per sample (``energy.total_J`` within 1e-6 relative; the
    evaluation's ``equal_energy`` runs), else the first at the same ``K``; with ``"same energy"`` or
    ``"same K"``, or ``None`` when neither exists."""
    e = (point.get("energy") or {}).get("total_J")
    for q in candidates:
        e_q = (q.get("energy") or {}).get("total_J")
        if e and e_q and abs(e_q - e) <= 1e-6 * e:
            return q, "same energy"
    return next(((q, "same K") for q in candidates if q.get("K") == point.get("K")), None)


def paired_difference_ci(
    stat: Callable[[np.ndarray, np.ndarray], float],
    a: np.ndarray,
    b: np.ndarray,
    ref: np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 200,
    level: float = 0.95,
) -> CI:
    """Bootstrap CI of ``stat(a, ref) - stat(b, ref)``: two sample sets compared against the *same* reference.

    Each replicate resamples ``a``, ``b`` and ``ref`` with replacement and uses the one resampled reference
    for both terms, so the reference's own sampling noise — which dominates the CI of each distance when the
    reference is small — largely cancels in the difference. Normal interval around the point estimate (as
    :func:`bootstrap_ci`). An interval below 0 means ``a`` is closer to the reference than ``b``.
    """
    from scipy.stats import norm

    point = stat(a, ref) - stat(b, ref)
    vals = np.empty(n_boot)
    for i in range(n_boot):
        r = ref[rng.integers(0, len(ref), len(ref))]
        vals[i] = stat(a[rng.integers(0, len(a), len(a))], r) - stat(b[rng.integers(0, len(b), len(b))], r)
    half = float(norm.ppf(0.5 + level / 2) * np.std(vals, ddof=1))
    return CI(float(point), float(point) - half, float(point) + half, level)


def conditional_accuracy(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples ``x`` that the classifier assigns to the label they were generated for."""
    return float(np.mean(predict(x) == np.asarray(labels)))


def states_to_index(x: np.ndarray) -> np.ndarray:
    """Spin rows ``(n, D)`` (D <= 30) to integer indices ``sum_i [s_i = +1] 2^i``."""
    bits = (np.asarray(x) > 0).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1], dtype=np.int64))


def empirical_distribution(x: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Histogram of the ``2^D`` states of ``x (n, D)``, normalized (optionally with a pseudocount)."""
    d = x.shape[1]
    if d > 24:
        raise ValueError(f"empirical_distribution enumerates 2^D states; D = {d} is too large")
    counts = np.bincount(states_to_index(x), minlength=1 << d).astype(np.float64) + pseudocount
    return counts / counts.sum()


def exact_kl(p: np.ndarray, q: np.ndarray) -> float:
    """``KL(p || q) = sum_x p(x) ln(p(x)/q(x))`` over enumerated states (``inf`` if q = 0 where p > 0)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = p > 0
    if np.any(q[m] <= 0):
        return float("inf")
    return float(np.sum(p[m] * (np.log(p[m]) - np.log(q[m]))))


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """``TV(p, q) = 1/2 sum_x |p(x) - q(x)|``."""
    return float(0.5 * np.sum(np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64))))
