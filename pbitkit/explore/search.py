"""Adaptive search over a design space: a space-filling start, then successive refinement around the front.

Designs live in the unit cube of :class:`~pbitkit.explore.space.DesignSpace` (one coordinate per
dimension; ranges map linearly or logarithmically, levels by bins). Pure functions of arrays and a
``numpy.random.Generator``; :mod:`pbitkit.explore.run` evaluates what they propose.

* :func:`initial_points`: a Latin hypercube (``scipy.stats.qmc``, scrambled, seeded).
* :func:`refine_points`: children of the current parents (the feasible non-dominated designs, or the least
  infeasible ones while none is feasible): each child is a parent plus Gaussian steps of size ``step`` per
  coordinate (a level moves to a neighbouring bin once the step crosses a bin edge), clipped to the cube;
  a fraction ``explore_fraction`` of the children are fresh uniform draws so the search does not lock
  onto one region. The step shrinks round by round (:func:`step_size`).

Every round is a deterministic function of the seed, the round number and the designs of the earlier
rounds, so an interrupted run proposes the same designs again when resumed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["initial_points", "refine_points", "step_size", "round_rng"]


def round_rng(seed: int, round_index: int) -> np.random.Generator:
    """The generator of one round: independent streams per round from one seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(round_index)]))


def initial_points(dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Latin-hypercube points in ``[0, 1]^dim`` (shape (n, dim))."""
    from scipy.stats import qmc

    if n <= 0:
        return np.zeros((0, dim))
    return qmc.LatinHypercube(d=dim, scramble=True, seed=rng).random(n)


def step_size(round_index: int, *, step0: float = 0.15, shrink: float = 0.75, step_min: float = 0.02) -> float:
    """Refinement step (unit-cube units) of round ``round_index`` >= 1: ``max(step_min, step0 shrink^(r-1))``."""
    return max(step_min, step0 * shrink ** max(round_index - 1, 0))


def refine_points(parents: np.ndarray, n: int, step: float, rng: np.random.Generator, *,
                  explore_fraction: float = 0.25) -> np.ndarray:
    """``n`` children around ``parents`` (p, dim) in the unit cube (module docstring); shape (n, dim).

    Parents are used in turn (child k has parent ``k mod p``); with no parents every child is uniform.
    """
    parents = np.atleast_2d(np.asarray(parents, dtype=float))
    dim = parents.shape[1]
    out = np.empty((n, dim))
    for k in range(n):
        if parents.shape[0] == 0 or rng.random() < explore_fraction:
            out[k] = rng.random(dim)
        else:
            out[k] = np.clip(parents[k % parents.shape[0]] + rng.normal(0.0, step, dim), 0.0, 1.0)
    return out
