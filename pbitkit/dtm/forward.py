"""The forward (noising) process of a binary denoising thermodynamic model.

Each bit is redrawn uniformly at random at rate ``gamma`` (a uniform-jump Markov process). Over an interval
``dt`` a bit therefore keeps its value with probability

.. math:: p_\\mathrm{keep}(\\gamma, dt) = \\frac{1 + e^{-\\gamma\\,dt}}{2},

and in spin form (``s in {-1,+1}``) the transition kernel is a coupling between ``x^{t-1}`` and ``x^t``,
``P(x^t | x^{t-1}) ∝ exp(J_fwd x^t x^{t-1})`` with

.. math:: J_\\mathrm{fwd} = -\\tfrac12 \\ln \\tanh(\\gamma\\,dt / 2)

(``p_keep / (1 - p_keep) = exp(2 J_fwd)``). Source: docs/theory.md §4 (Extropic DTM paper, arXiv 2510.23972).

Times follow a schedule ``t_0 = 0 < t_1 < ... < t_T``: the log schedule ``t_i = -ln(1 - i/T)`` (so
``t_T = inf``: the last step is pure noise), a linear schedule ``t_i = t_max * i / T``, or explicit times
(``ForwardConfig.times``, e.g. small steps near the data and large ones near the noise). Image and label
bits have separate rates (the replication uses 0.9 and 0.2).

All kernels work on spins: ``int8`` arrays in {-1, +1}.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pbitkit.errors import ConfigError

__all__ = [
    "ForwardConfig",
    "ForwardProcess",
    "schedule_times",
    "check_times",
    "keep_probability",
    "forward_coupling",
    "noise_spins",
]


def schedule_times(n_steps: int, kind: Literal["log", "linear"] = "log", t_max: float = 5.0) -> np.ndarray:
    """Schedule times ``t_0 .. t_T`` (dimensionless; a rate ``gamma`` multiplies them).

    ``log``: ``t_i = -ln(1 - i/T)`` for ``i = 0..T`` (``t_T = inf``, pure noise).
    ``linear``: ``t_i = t_max * i / T``.

    Returns
    -------
    numpy.ndarray, shape (T + 1,), float64
    """
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ConfigError(f"n_steps must be a positive integer, got {n_steps!r}")
    i = np.arange(n_steps + 1, dtype=np.float64)
    if kind == "log":
        with np.errstate(divide="ignore"):
            return -np.log1p(-i / n_steps)
    if kind == "linear":
        if not t_max > 0:
            raise ConfigError(f"t_max must be > 0 for a linear schedule, got {t_max!r}")
        return t_max * i / n_steps
    raise ConfigError(f"schedule must be 'log' or 'linear', got {kind!r}")


def keep_probability(gamma_dt: np.ndarray | float) -> np.ndarray:
    """``p_keep = (1 + exp(-gamma dt)) / 2`` (``gamma dt = inf`` gives 1/2). Elementwise."""
    x = np.asarray(gamma_dt, dtype=np.float64)
    if np.any(x < 0):
        raise ValueError(f"gamma*dt must be >= 0, got {x}")
    return 0.5 * (1.0 + np.exp(-x))


def forward_coupling(gamma_dt: np.ndarray | float) -> np.ndarray:
    """``J_fwd = -1/2 ln tanh(gamma dt / 2)`` (``inf`` for ``dt = 0``; ``0`` for ``dt = inf``). Elementwise."""
    x = np.asarray(gamma_dt, dtype=np.float64)
    if np.any(x < 0):
        raise ValueError(f"gamma*dt must be >= 0, got {x}")
    with np.errstate(divide="ignore"):
        return -0.5 * np.log(np.tanh(0.5 * x))


def noise_spins(x: np.ndarray, keep_prob: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Apply the uniform-jump kernel once: each spin keeps its value with ``keep_prob`` else is negated.

    (Redrawing uniformly with probability ``q`` flips with ``q/2``; ``keep = 1 - q/2``.)

    Parameters
    ----------
    x : array (..., D) int8 in {-1, +1}
    keep_prob : float or array broadcastable to ``x`` (per-bit keep probabilities, e.g. image vs label)
    rng : numpy.random.Generator

    Returns
    -------
    array like ``x``, int8
    """
    flip = rng.random(x.shape) >= np.asarray(keep_prob)
    return np.where(flip, -x, x).astype(np.int8)


@dataclass(frozen=True)
class ForwardConfig:
    """Forward-process settings.

    Attributes
    ----------
    n_steps : T, number of denoising steps.
    schedule : ``"linear"`` (default: on digits it gave a lower Fréchet distance than ``"log"``, docs/dtm.md)
        or ``"log"`` (the DTM paper's; its last step is pure noise).
    t_max : end time of the linear schedule (ignored by ``log``); ``rate_image * t_max`` = 4.5 leaves image
        bits 50.6 % correlated with the data at the end.
    rate_image : jump rate of image bits (0.9 in the replication).
    rate_label : jump rate of label bits (0.2 in the replication).
    times : explicit schedule ``t_0 .. t_T`` (dimensionless, ``n_steps + 1`` values: ``t_0 = 0``, then
        strictly increasing finite positive times), or ``None`` (default) for ``schedule``. When set it
        replaces ``schedule`` and ``t_max``; e.g. ``[0, 0.4, 0.8, 1.25, 2.5, 5.0]`` for ``n_steps = 5``. A
        run's other-T machines (the T = 1 baseline, ``extra_T``) use the linear schedule to ``t_T``.
    """

    n_steps: int = 4
    schedule: Literal["log", "linear"] = "linear"
    t_max: float = 5.0
    rate_image: float = 0.9
    rate_label: float = 0.2
    times: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_steps < 1:
            raise ConfigError(f"forward.n_steps must be >= 1, got {self.n_steps}")
        if self.schedule not in ("log", "linear"):
            raise ConfigError(f"forward.schedule must be 'log' or 'linear', got {self.schedule!r}")
        for name in ("rate_image", "rate_label", "t_max"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"forward.{name} must be a positive finite number, got {v!r}")
        if self.times is not None:
            check_times(self.times, self.n_steps)

    def with_steps(self, n_steps: int) -> "ForwardConfig":
        """The same process with ``n_steps`` steps (the other-T machines of a run): ``n_steps`` replaced, and
        an explicit ``times`` schedule becomes the linear schedule to its end time ``t_T`` (a list of
        ``T + 1`` times has no natural counterpart for another T)."""
        if self.times is None:
            return dataclasses.replace(self, n_steps=n_steps)
        return dataclasses.replace(self, n_steps=n_steps, schedule="linear", t_max=float(self.times[-1]), times=None)

    def schedule_times(self) -> np.ndarray:
        """Schedule times ``t_0 .. t_T``, shape ``(T + 1,)``: ``times`` if set, else ``schedule``'s."""
        if self.times is not None:
            return np.asarray(self.times, dtype=np.float64)
        return schedule_times(self.n_steps, self.schedule, self.t_max)


def check_times(times: object, n_steps: int) -> None:
    """Validate an explicit schedule ``forward.times`` for ``n_steps`` steps.

    Raises
    ------
    ConfigError
        naming ``forward.times``: not a list of ``n_steps + 1`` numbers, ``t_0 != 0``, a later time not
        finite and positive, or the times not strictly increasing.
    """
    if isinstance(times, (str, bytes)) or not hasattr(times, "__len__"):
        raise ConfigError(f"forward.times must be a list of {n_steps + 1} numbers (t_0 = 0 .. t_T), got {times!r}")
    ts = list(times)  # type: ignore[call-overload]
    if len(ts) != n_steps + 1:
        raise ConfigError(f"forward.times must have n_steps + 1 = {n_steps + 1} values (t_0 = 0 .. t_{n_steps}), "
                          f"got {len(ts)}: {ts!r}")
    for i, v in enumerate(ts):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ConfigError(f"forward.times[{i}] must be a number, got {v!r}")
    if ts[0] != 0:
        raise ConfigError(f"forward.times[0] must be 0 (the data), got {ts[0]!r}")
    for i, v in enumerate(ts[1:], start=1):
        if not (v > 0 and math.isfinite(v)):
            raise ConfigError(f"forward.times[{i}] must be a positive finite time, got {v!r}")
        if not v > ts[i - 1]:
            raise ConfigError(f"forward.times must be strictly increasing: times[{i}] = {v!r} "
                              f"<= times[{i - 1}] = {ts[i - 1]!r}")


@dataclass(frozen=True)
class ForwardProcess:
    """A forward process over ``D = n_image + n_label`` bits (image bits first, then label bits).

    Step ``t`` (1-based, ``1..T``) takes ``x^{t-1}`` to ``x^t`` over ``dt_t = t_t - t_{t-1}``.
    """

    config: ForwardConfig
    n_image: int
    n_label: int = 0

    @property
    def times(self) -> np.ndarray:
        """Schedule times ``(T + 1,)``."""
        return self.config.schedule_times()

    @property
    def rates(self) -> np.ndarray:
        """Per-bit jump rate ``(D,)``."""
        return np.concatenate(
            [np.full(self.n_image, self.config.rate_image), np.full(self.n_label, self.config.rate_label)]
        )

    def _gamma_dt(self, t_from: int, t_to: int) -> np.ndarray:
        ts = self.times
        if not (0 <= t_from <= t_to <= self.config.n_steps):
            raise ValueError(f"need 0 <= t_from <= t_to <= {self.config.n_steps}, got {t_from}, {t_to}")
        dt = ts[t_to] - ts[t_from] if math.isfinite(ts[t_to]) else np.inf
        if t_from == t_to:
            dt = 0.0
        return self.rates * dt

    def keep_prob(self, step: int) -> np.ndarray:
        """Per-bit keep probability of step ``step`` (x^{step-1} -> x^step), shape ``(D,)``."""
        return keep_probability(self._gamma_dt(step - 1, step))

    def coupling(self, step: int) -> np.ndarray:
        """Per-bit forward coupling ``J_fwd`` of step ``step``, shape ``(D,)`` (0 for the pure-noise step)."""
        return forward_coupling(self._gamma_dt(step - 1, step))

    def cumulative_gamma_dt(self, t: int) -> np.ndarray:
        """Per-bit ``gamma * t_t`` from the data to step ``t``'s output time, shape ``(D,)`` (``inf`` for
        the log schedule's last step)."""
        return self._gamma_dt(0, t)

    def sample_marginal(self, x0: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``x^t`` given ``x^0`` directly (cumulative time ``t_t``), shape like ``x0``."""
        if t == 0:
            return np.asarray(x0, dtype=np.int8).copy()
        return noise_spins(x0, keep_probability(self._gamma_dt(0, t)), rng)

    def sample_pair(self, x0: np.ndarray, step: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Noised training pair ``(x^{step-1}, x^step)`` for data ``x0`` of shape ``(B, D)``."""
        if x0.shape[-1] != self.n_image + self.n_label:
            raise ValueError(f"data has {x0.shape[-1]} bits, the process expects {self.n_image + self.n_label}")
        prev = self.sample_marginal(x0, step - 1, rng)
        nxt = noise_spins(prev, self.keep_prob(step), rng)
        return prev, nxt
