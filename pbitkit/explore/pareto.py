"""Non-dominated (Pareto) filtering of designs: a pure kernel on an objective matrix.

A design ``a`` dominates ``b`` when it is no worse in every objective and strictly better in at least one
(all objectives minimized). NaN counts as the worst value; ``inf`` is compared as a number.
"""

from __future__ import annotations

import numpy as np

__all__ = ["non_dominated", "dominates"]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether objective vector ``a`` dominates ``b`` (minimization)."""
    a = np.nan_to_num(np.asarray(a, dtype=float), nan=np.inf)
    b = np.nan_to_num(np.asarray(b, dtype=float), nan=np.inf)
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(objectives: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """Mask of the non-dominated rows of ``objectives`` (n, k), all minimized.

    Only rows with ``feasible`` (n,) true take part (default: all); an infeasible row is never on the front
    and never dominates. Duplicated rows are all kept. O(n² k) with NumPy broadcasting per row; fine for
    the few thousand designs of an exploration.

    Returns
    -------
    (n,) bool: True for the rows on the front.
    """
    f = np.asarray(objectives, dtype=float)
    if f.ndim != 2:
        raise ValueError(f"non_dominated: objectives must be (n, k), got shape {f.shape}")
    n = f.shape[0]
    ok = np.ones(n, dtype=bool) if feasible is None else np.asarray(feasible, dtype=bool).copy()
    if ok.shape != (n,):
        raise ValueError(f"non_dominated: feasible must have shape ({n},), got {ok.shape}")
    g = np.nan_to_num(f, nan=np.inf, posinf=np.inf)
    idx = np.flatnonzero(ok)
    front = np.zeros(n, dtype=bool)
    sub = g[idx]
    for j, i in enumerate(idx):
        le = np.all(sub <= sub[j], axis=1)
        lt = np.any(sub < sub[j], axis=1)
        front[i] = not np.any(le & lt)
    return front
