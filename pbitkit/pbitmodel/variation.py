"""Cell-to-cell variation: statistics of per-instance fits, Pelgrom area scaling, temperature/supply dependence.

Per Monte-Carlo instance the sigmoid is fitted separately (:func:`pbitkit.pbitmodel.sigmoid.fit_sigmoid`);
the instances' ``(v0, ln vs)`` pairs then give the mean, the covariance, the correlation and a normality
check (Shapiro-Wilk per coordinate). The card stores ``v0_sigma_V`` (std of ``v0``), ``vs_sigma_rel`` (std of
``ln vs``, ~ relative std) and ``v0_vs_corr``. The observed spread includes each fit's own sampling error;
it is removed (``sigma^2 = var(observed) - mean(SE^2)``, floored at 0) so the card holds the device spread.

Pelgrom: ``sigma(v0) = A / sqrt(W L)`` (docs/theory.md §1) fitted through the origin across device sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from pbitkit.pbitmodel.sigmoid import FitError

__all__ = ["VariationStats", "variation_stats", "PelgromFit", "pelgrom_fit", "LinearTrend", "linear_trend"]


@dataclass(frozen=True)
class VariationStats:
    """Statistics of ``n`` instances' ``(v0_V, vs_V)``.

    ``cov`` is the ``(2, 2)`` sample covariance of ``(v0, ln vs)``; ``v0_sigma_V`` and ``vs_sigma_rel`` are the
    device spreads after removing the mean squared fit SE; ``*_sigma_se`` their standard errors
    (``sigma / sqrt(2 (n - 1))`` for a normal sample); ``normality_p`` Shapiro-Wilk p-values (NaN for ``n < 3``).
    """

    n: int
    v0_mean_V: float
    vs_mean_V: float
    v0_sigma_V: float
    v0_sigma_se_V: float
    vs_sigma_rel: float
    vs_sigma_rel_se: float
    corr: float
    cov: np.ndarray = field(repr=False)
    normality_p: dict[str, float]
    v0: np.ndarray = field(repr=False)
    vs: np.ndarray = field(repr=False)


def variation_stats(v0_V, vs_V, *, v0_se_V=None, vs_se_V=None) -> VariationStats:
    """Variation statistics from per-instance fits (arrays of shape ``(n,)``, ``n >= 2``)."""
    v0 = np.asarray(v0_V, dtype=float)
    vs = np.asarray(vs_V, dtype=float)
    if v0.size < 2:
        raise FitError(f"variation statistics need at least 2 Monte-Carlo instances, got {v0.size}")
    lv = np.log(vs)
    cov = np.cov(np.stack([v0, lv]))
    n = v0.size
    se0 = np.zeros(n) if v0_se_V is None else np.asarray(v0_se_V, dtype=float)
    se1 = np.zeros(n) if vs_se_V is None else np.asarray(vs_se_V, dtype=float) / vs
    s0 = math.sqrt(max(cov[0, 0] - float(np.mean(se0**2)), 0.0))
    s1 = math.sqrt(max(cov[1, 1] - float(np.mean(se1**2)), 0.0))
    denom = math.sqrt(cov[0, 0] * cov[1, 1])
    corr = float(np.clip(cov[0, 1] / denom, -1, 1)) if denom > 0 else 0.0
    normality = {"v0": math.nan, "ln_vs": math.nan}
    if n >= 3:
        for name, x in (("v0", v0), ("ln_vs", lv)):
            if np.ptp(x) > 0:
                normality[name] = float(stats.shapiro(x).pvalue)
    k = math.sqrt(2.0 * (n - 1))
    return VariationStats(n, float(v0.mean()), float(np.exp(lv.mean())), s0, s0 / k, s1, s1 / k, corr, cov,
                          normality, v0, vs)


@dataclass(frozen=True)
class PelgromFit:
    """``sigma(v0) = a_V_m / sqrt(area_m2)``: ``a_V_m`` in V·m (1 mV·µm = 1e-9 V·m) with its SE."""

    a_V_m: float
    a_se_V_m: float
    n_sizes: int

    @property
    def a_mV_um(self) -> float:
        return self.a_V_m * 1e9


def pelgrom_fit(area_m2, sigma_V, n_instances) -> PelgromFit:
    """Weighted least squares of ``sigma_i = A x_i`` with ``x_i = 1/sqrt(area_i)``.

    The variance of a sample std of ``n`` normal draws is ``sigma^2 / (2 (n - 1))``; using the model value
    ``A x_i`` for ``sigma`` gives weights ``w_i = 2 (n_i - 1) / x_i^2`` and the closed form
    ``A = sum w x s / sum w x^2``, ``SE(A) = A / sqrt(sum 2 (n_i - 1))``.
    """
    a = np.asarray(area_m2, dtype=float)
    s = np.asarray(sigma_V, dtype=float)
    n = np.asarray(n_instances, dtype=float)
    ok = np.isfinite(a) & (a > 0) & np.isfinite(s) & (n >= 2)
    a, s, n = a[ok], s[ok], n[ok]
    if a.size < 2:
        raise FitError("Pelgrom fit needs at least 2 device sizes with >= 2 instances each")
    x = 1.0 / np.sqrt(a)
    w = 2.0 * (n - 1) / x**2
    A = float(np.sum(w * x * s) / np.sum(w * x * x))
    return PelgromFit(A, A / math.sqrt(float(np.sum(2.0 * (n - 1)))), int(a.size))


@dataclass(frozen=True)
class LinearTrend:
    """``y = y_ref + slope (x - x_ref)`` by weighted least squares; ``slope_se`` from the weights when the
    fit is consistent (reduced chi2 <= 1) and scaled by the dispersion otherwise."""

    x_ref: float
    y_ref: float
    slope: float
    slope_se: float
    n_points: int


def linear_trend(x, y, y_se=None, *, x_ref: float) -> LinearTrend:
    """Weighted straight line (needs 2 distinct ``x``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    se = np.ones_like(y) if y_se is None else np.asarray(y_se, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(se) & (se > 0)
    x, y, se = x[ok], y[ok], se[ok]
    if np.unique(x).size < 2:
        raise FitError("a trend needs at least 2 distinct values")
    w = 1.0 / se**2
    X = np.stack([np.ones_like(x), x - x_ref], axis=1)
    A = X.T @ (X * w[:, None])
    coef = np.linalg.solve(A, X.T @ (w * y))
    cov = np.linalg.inv(A)
    dof = x.size - 2
    if dof > 0:
        chi2 = float(np.sum(w * (y - X @ coef) ** 2) / dof)
        if y_se is None or chi2 > 1.0:
            cov = cov * chi2
    elif y_se is None:
        cov = cov * math.nan
    return LinearTrend(x_ref, float(coef[0]), float(coef[1]), float(math.sqrt(cov[1, 1])), int(x.size))
