"""Baseline generative models on binary data (same metrics as the DTM).

- :class:`IndependentPixels`: ``P(x) = prod_i p_i^{[x_i=1]} (1-p_i)^{[x_i=-1]}`` with Laplace-smoothed ``p_i``.
- :class:`BernoulliMixture`: ``P(x) = sum_k pi_k prod_i Bern(x_i; p_ki)``, fitted by EM.
- The third baseline, a single monolithic Boltzmann machine (T = 1) on the same array, is a DTM with
  ``n_steps = 1`` (its only step starts from pure noise), built by :mod:`pbitkit.dtm.model`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

__all__ = ["IndependentPixels", "BernoulliMixture", "fit_independent", "fit_bernoulli_mixture"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndependentPixels:
    """Independent Bernoulli pixels; ``p (D,)`` probability of +1."""

    p: np.ndarray

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, D)`` int8 spins."""
        return np.where(rng.random((n, self.p.size)) < self.p, 1, -1).astype(np.int8)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """``ln P(x)`` for spins ``x (n, D)``."""
        on = x > 0
        return np.sum(np.where(on, np.log(self.p), np.log1p(-self.p)), axis=1)


def fit_independent(x: np.ndarray, alpha: float = 1.0) -> IndependentPixels:
    """Fit with Laplace smoothing: ``p_i = (n_i + alpha) / (n + 2 alpha)``."""
    n_on = np.sum(x > 0, axis=0)
    return IndependentPixels((n_on + alpha) / (len(x) + 2 * alpha))


@dataclass(frozen=True)
class BernoulliMixture:
    """Mixture of ``K`` Bernoulli product distributions: weights ``pi (K,)``, probabilities ``p (K, D)``."""

    pi: np.ndarray
    p: np.ndarray

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        comp = rng.choice(len(self.pi), size=n, p=self.pi)
        return np.where(rng.random((n, self.p.shape[1])) < self.p[comp], 1, -1).astype(np.int8)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        on = (x > 0).astype(np.float64)
        lp = on @ np.log(self.p).T + (1 - on) @ np.log1p(-self.p).T + np.log(self.pi)
        return logsumexp(lp, axis=1)


def fit_bernoulli_mixture(
    x: np.ndarray, n_components: int, rng: np.random.Generator, *, n_iter: int = 100, alpha: float = 1.0, tol: float = 1e-6
) -> BernoulliMixture:
    """EM for a Bernoulli mixture (MAP with a Beta(1+alpha, 1+alpha)-style smoothing of ``p``).

    E-step: ``r_nk ∝ pi_k prod_i Bern(x_ni; p_ki)``; M-step: ``pi_k = mean_n r_nk``,
    ``p_ki = (sum_n r_nk [x_ni=1] + alpha) / (sum_n r_nk + 2 alpha)``.
    """
    on = (x > 0).astype(np.float64)
    n, d = on.shape
    r = rng.dirichlet(np.ones(n_components), size=n)
    prev = -np.inf
    for it in range(n_iter):
        nk = r.sum(0)
        pi = (nk + 1e-9) / (n + 1e-9 * n_components)
        p = (r.T @ on + alpha) / (nk[:, None] + 2 * alpha)
        lp = on @ np.log(p).T + (1 - on) @ np.log1p(-p).T + np.log(pi)
        norm = logsumexp(lp, axis=1, keepdims=True)
        r = np.exp(lp - norm)
        ll = float(norm.mean())
        if ll - prev < tol:
            break
        prev = ll
    log.debug("Bernoulli mixture: %d iterations, mean log-likelihood %.4f", it + 1, prev)
    return BernoulliMixture(pi, p)
