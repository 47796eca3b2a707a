"""Generation: chain the T trained steps from the forward process's end point, on the array sampler.

``x^T`` is drawn from the forward process's marginal at ``t_T``: image bits uniform random (the image rate
and the schedule leave them within about 1 % of uniform), label bits the one-hot code of a class drawn from
``class_prior`` (default uniform) noised to ``t_T``. The label rate is lower, so at ``t_T`` the label bits
still carry their class (keep probability 0.68 on the default digits schedule); uniform label bits would
feed step ``T`` inputs it never saw in training (codes with several classes on). For ``t = T .. 1`` the
chains of step ``t`` start with visible nodes at ``x^t`` (latents random), run ``K_t`` sweeps with the
per-chain input field ``J_fwd * x^t`` and the step's output ``x^{t-1}`` is read from the visible nodes.
``K`` is one sweep count for every step or one per step (``K_1 .. K_T``, step 1 first): the steps near the
noise mix in a few sweeps, the last one (step 1) needs the long chain (docs/dtm.md), so e.g. ``(20, 5, 5, 5)``
costs 35 sweeps per sample instead of 80.
Label-clamped generation fixes the label nodes to the requested class's one-hot code (and sets the same
bits in every input) at every step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbitkit.dtm.datasets import one_hot_spins
from pbitkit.dtm.energy import step_sweeps, sweeps_per_sample
from pbitkit.dtm.forward import keep_probability, noise_spins
from pbitkit.dtm.model import DTM, input_fields
from pbitkit.dtm.runner import SamplerSpec, make_runner
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback
from pbitkit.rng import SeedLike, as_generator

__all__ = ["GenerationResult", "generate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationResult:
    """Generated samples.

    Attributes
    ----------
    pixels : (n, n_pixels) int8 spins
    labels : (n,) int64 requested labels (-1 for unconditional samples)
    label_bits : (n, n_label_bits) int8 label nodes at the end of the chain
    K, T : sweeps of step 1 (every step's unless ``step_K`` differ) and steps used
    step_K : sweeps of steps ``1 .. T`` (step 1 first)
    """

    pixels: np.ndarray
    labels: np.ndarray
    label_bits: np.ndarray
    K: int
    T: int
    step_K: tuple[int, ...] = ()

    @property
    def sweeps_per_sample(self) -> int:
        """Array sweeps spent on one sample: ``sum(step_K)`` (``T * K`` for one K)."""
        return sweeps_per_sample(self.T, self.K, self.step_K or None)


def generate(
    dtm: DTM,
    n: int,
    *,
    K: int | Sequence[int],
    labels: np.ndarray | None = None,
    sampler: SamplerSpec | None = None,
    seed: SeedLike = 0,
    batch: int = 256,
    class_prior: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    hardware: Any = None,
) -> GenerationResult:
    """Draw ``n`` samples from a DTM with ``K`` sweeps per step.

    Parameters
    ----------
    K : sweeps of every step, or of steps ``1 .. T`` (a list, step 1 first: e.g. ``(20, 5, 5, 5)``).
    labels : (n,) class labels to clamp, or ``None`` for unconditional samples.
    sampler : array mode and hardware (default ideal).
    batch : chains per array call.
    class_prior : (n_classes,) class probabilities of the unconditional start ``x^T`` (label bits = a drawn
        class's code noised to ``t_T``); default uniform. Ignored for label-clamped samples.
    hardware : the chip to run on (device mode): :func:`pbitkit.dtm.runner.make_hardware_for` with
        ``sampler``, to reuse one drawn and calibrated chip across calls; default: drawn here.

    Returns
    -------
    GenerationResult
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got n={n}")
    ks = step_sweeps(K, dtm.n_steps)
    lay = dtm.layout
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (n,):
            raise ConfigError(f"labels must have shape ({n},), got {labels.shape}")
        if lay.n_label_bits == 0:
            raise ConfigError("this DTM has no label nodes (model.label_repeat = 0): cannot clamp labels")
    prior = None
    if labels is None and lay.n_label_bits:
        prior = (np.full(lay.n_classes, 1.0 / lay.n_classes) if class_prior is None
                 else np.asarray(class_prior, dtype=np.float64))
        if prior.shape != (lay.n_classes,) or np.any(prior < 0) or not np.isclose(prior.sum(), 1.0):
            raise ConfigError(f"class_prior must be {lay.n_classes} non-negative probabilities summing to 1, "
                              f"got {class_prior!r}")
    keep_T = keep_probability(dtm.forward.cumulative_gamma_dt(dtm.n_steps))[lay.n_pixels:]  # type: ignore[attr-defined]
    rng = as_generator(seed)
    runner = make_runner(lay.graph, sampler or SamplerSpec(), hardware)
    T = dtm.n_steps
    out_pix = np.empty((n, lay.n_pixels), dtype=np.int8)
    out_lab = np.empty((n, lay.n_label_bits), dtype=np.int8)
    lab_nodes = lay.visible[lay.n_pixels:]
    done = 0
    total = T * ((n + batch - 1) // batch)
    for start in range(0, n, batch):
        c = min(batch, n - start)
        x = (2 * rng.integers(0, 2, size=(c, lay.n_visible), dtype=np.int8) - 1).astype(np.int8)
        clamp = None
        if labels is not None:
            code = one_hot_spins(labels[start:start + c], lay.n_classes, lay.label_repeat)
            x[:, lay.n_pixels:] = code
            clamp = np.zeros(lay.n_nodes, dtype=bool)
            clamp[lab_nodes] = True
        elif prior is not None:  # unconditional: the label bits of x^T from the forward process
            y = rng.choice(lay.n_classes, size=c, p=prior)
            x[:, lay.n_pixels:] = noise_spins(one_hot_spins(y, lay.n_classes, lay.label_repeat), keep_T, rng)
        for t in range(T, 0, -1):
            sp = dtm.steps[t - 1]
            fields = input_fields(lay, sp.h, sp.j_fwd, x)
            state = (2 * rng.integers(0, 2, size=(c, lay.n_nodes), dtype=np.int8) - 1).astype(np.int8)
            state[:, lay.visible] = x
            state = runner.sweeps(runner.program(sp.J_edge, fields, clamp), state, ks[t - 1], rng)
            x = state[:, lay.visible].copy()
            done += 1
            if progress:
                progress(done, total, f"step {t}")
        out_pix[start:start + c] = x[:, :lay.n_pixels]
        out_lab[start:start + c] = x[:, lay.n_pixels:]
    req = labels if labels is not None else np.full(n, -1, dtype=np.int64)
    return GenerationResult(out_pix, req, out_lab, ks[0], T, ks)
