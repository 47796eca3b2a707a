"""The adaptive correlation penalty (ACP) update rule (docs/theory.md §4, DTM paper/replication).

Once per epoch the trainer measures the lag-``K`` autocorrelation ``rho`` of a longer free-running chain
and updates the penalty strength ``lambda``:

- ``rho < eps``                         → ``lambda *= (1 - delta)``  (mixing is fine: relax);
- ``rho >= eps`` and ``rho <= rho_prev`` → keep ``lambda``           (not getting worse);
- ``rho >= eps`` and ``rho > rho_prev``  → ``lambda *= (1 + delta)`` (mixing degrades: push harder);
- then if ``lambda < lambda_min`` → ``lambda = 0``.

A zero ``lambda`` that must increase restarts from ``lambda_init`` (multiplying zero would never grow).
Defaults: eps 0.03, delta 0.2, lambda_min 1e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pbitkit.errors import ConfigError

__all__ = ["ACPConfig", "acp_update"]


@dataclass(frozen=True)
class ACPConfig:
    """ACP settings. ``enabled=False`` keeps a fixed ``lambda_init`` (plain correlation penalty; 0 = none)."""

    enabled: bool = True
    eps: float = 0.03
    delta: float = 0.2
    lambda_min: float = 1e-4
    lambda_init: float = 0.01

    def __post_init__(self) -> None:
        if not (0 < self.eps < 1):
            raise ConfigError(f"acp.eps must be in (0, 1), got {self.eps}")
        if not (0 < self.delta < 1):
            raise ConfigError(f"acp.delta must be in (0, 1), got {self.delta}")
        if not (self.lambda_min >= 0 and self.lambda_init >= 0):
            raise ConfigError("acp.lambda_min and acp.lambda_init must be >= 0")


def acp_update(lam: float, rho: float, rho_prev: float | None, cfg: ACPConfig) -> float:
    """One ACP step: the new ``lambda`` from the current one and the measured autocorrelations.

    Parameters
    ----------
    lam : current penalty strength (>= 0)
    rho : lag-K autocorrelation measured this epoch
    rho_prev : the previous epoch's (``None`` on the first epoch: treated as "did not grow")
    cfg : ACPConfig

    Returns
    -------
    float, the new penalty strength
    """
    if not cfg.enabled:
        return lam
    if not math.isfinite(rho):
        raise ValueError(f"autocorrelation must be finite, got {rho}")
    if rho < cfg.eps:
        new = lam * (1.0 - cfg.delta)
    elif rho_prev is None or rho <= rho_prev:
        new = lam
    else:
        new = lam * (1.0 + cfg.delta) if lam > 0 else cfg.lambda_init
    if new < cfg.lambda_min:
        new = 0.0
    return new
