"""Shared statistical harness: exact enumeration of small Ising models and a z-test of sampled moments.

Tolerances come from the Monte-Carlo standard error: for each statistic x (a spin s_i or an edge product
s_i s_j, values +-1) the standard error of its sample mean is sqrt(Var / ESS) with the exact variance
Var = 1 - mu_exact^2 and ESS = T * C / tau_int estimated from the samples (Sokal window). The family of
M statistics is tested at family-wise false-alarm probability ALPHA with a Bonferroni threshold
z_crit = Phi^-1(1 - ALPHA / (2 M)).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import norm

from pbitkit.array import Graph
from pbitkit.array.diagnostics import effective_sample_size

ALPHA = 1e-3


def exact_moments(
    graph: Graph, J_edge: np.ndarray, h: np.ndarray, beta: float, clamp: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact <s_i> and <s_i s_j> (edges) by enumerating all 2^N states (N <= 16); with ``clamp = (mask,
    values)`` the conditional distribution given the clamped spins."""
    n = graph.n_nodes
    assert n <= 16
    S = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.float64)
    if clamp is not None:
        mask, vals = clamp
        S = S[np.all(S[:, mask] == vals[mask], axis=1)]
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    logw = beta * ((S[:, a] * S[:, b]) @ J_edge + S @ h)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return w @ S, w @ (S[:, a] * S[:, b])


def max_z(samples: np.ndarray, graph: Graph, m1: np.ndarray, m2: np.ndarray, free: np.ndarray | None = None) -> tuple[float, float]:
    """Largest |z| over all free-node marginals and edge correlations, and the Bonferroni threshold."""
    s = samples.astype(np.float64)
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    stats = [(s[:, :, i], m1[i]) for i in range(graph.n_nodes) if free is None or free[i]]
    stats += [(s[:, :, i] * s[:, :, j], m2[e]) for e, (i, j) in enumerate(zip(a, b)) if free is None or (free[i] or free[j])]
    zs = []
    for x, mu in stats:
        var = max(1.0 - mu * mu, 1e-12)
        ess = effective_sample_size(x)
        zs.append(abs(x.mean() - mu) / np.sqrt(var / ess))
    zcrit = norm.isf(ALPHA / (2 * len(stats)))
    return float(max(zs)), float(zcrit)


def random_model(n: int, p_edge: float, seed: int) -> tuple[Graph, np.ndarray, np.ndarray]:
    from pbitkit.array import from_edges

    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.uniform() < p_edge]
    g = from_edges(pairs, n)
    J = rng.normal(0, 0.5, g.n_edges)
    h = rng.normal(0, 0.3, n)
    return g, J, h
