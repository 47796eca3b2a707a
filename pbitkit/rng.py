"""Explicit randomness: every public entry point takes ``seed: int | Generator`` and calls this once."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator", "SeedLike"]

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed``.

    Parameters
    ----------
    seed
        An int, a ``SeedSequence``, an existing ``Generator`` (returned unchanged) or ``None`` (fresh OS
        entropy; not reproducible, so avoid it in saved runs).

    Raises
    ------
    TypeError
        If ``seed`` is of another type (``np.random.RandomState`` and the global state are refused).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        if isinstance(seed, (int, np.integer)) and seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int, SeedSequence or numpy.random.Generator, got {type(seed).__name__}")
