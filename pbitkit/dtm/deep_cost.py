"""Cost of a generated sample from a conventional deep generative model, and energy at equal quality.

Pure NumPy (no JAX needed): the report and the tests use it without the ``deep`` extra.

**Counting.** Per generated sample, from the architecture (forward passes only; training is not counted):

- a dense layer ``n_in -> n_out``: ``2 n_in n_out`` FLOPs (one multiply-add = 2) + ``n_out`` (bias) +
  ``n_out`` (activation, hidden layers only);
- every random draw (a Bernoulli pixel, a Gaussian latent): ``OPS_PER_RANDOM`` = 20 operations for the
  random number, the non-linearity and the compare — the same allowance the same-chain digital baseline
  of :mod:`pbitkit.dtm.energy` makes per Gibbs update;
- memory traffic (bytes, FP32): each network evaluation reads its weights once per batch of ``batch``
  samples (``4 P / batch`` per sample, ``P`` parameters) and reads each layer's input and writes its
  output (``4 (n_in + n_out)`` per sample per layer).

**Pricing** (:func:`roofline_energy`): a device at its peak, ``t = max(F / F_peak, B / BW_peak)``,
``E = P_device * t`` — the device's best case (full utilisation at its rated power). The A100 figures are
from NVIDIA's A100 datasheet (:data:`A100_SXM4`).

**Equal quality** (:func:`energy_at_fd`): one model family's quality-vs-cost points are fitted by a
non-increasing curve of FD against energy per one-knob group, the lower envelope across groups kept
(:func:`quality_cost_curve`), and interpolated linearly in ``(FD, ln E)`` at the target FD. A target outside the curve's FD range is reported as such
(``status``), with a bound, never extrapolated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from pbitkit.errors import ConfigError

__all__ = [
    "OPS_PER_RANDOM",
    "BYTES_PER_VALUE",
    "HardwareSpec",
    "A100_SXM4",
    "SampleCost",
    "mlp_cost",
    "vae_sample_cost",
    "diffusion_sample_cost",
    "roofline_energy",
    "EqualFD",
    "quality_cost_curve",
    "energy_at_fd",
]

#: Operations charged per random draw (RNG + non-linearity + compare), as in :func:`pbitkit.dtm.energy.digital_energy`.
OPS_PER_RANDOM = 20.0
#: FP32 storage.
BYTES_PER_VALUE = 4


@dataclass(frozen=True)
class HardwareSpec:
    """A digital device priced at its peak: FLOP/s, memory bandwidth (B/s) and power (W), with the source."""

    name: str
    peak_flops_per_s: float
    bandwidth_B_per_s: float
    power_W: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "peak_flops_per_s": self.peak_flops_per_s,
                "bandwidth_B_per_s": self.bandwidth_B_per_s, "power_W": self.power_W, "source": self.source}


#: NVIDIA A100 SXM4 80 GB: 19.5 TFLOP/s FP32 (non-tensor), 2,039 GB/s HBM2e, 400 W max TDP (NVIDIA A100
#: Tensor Core GPU datasheet). The same FLOP/s and power as :data:`pbitkit.dtm.energy.A100_J_PER_OP`.
A100_SXM4 = HardwareSpec(
    name="NVIDIA A100 SXM4 80GB (peak FP32, TDP)",
    peak_flops_per_s=19.5e12,
    bandwidth_B_per_s=2.039e12,
    power_W=400.0,
    source="NVIDIA A100 Tensor Core GPU datasheet: 19.5 TFLOP/s FP32 (non-tensor), 2,039 GB/s HBM2e, 400 W TDP",
)


@dataclass(frozen=True)
class SampleCost:
    """Operations and memory traffic per generated sample.

    Attributes
    ----------
    flops : network FLOPs (multiply-adds as 2, bias adds, activations).
    random_ops : ``OPS_PER_RANDOM`` × random draws.
    bytes : FP32 bytes moved (weights amortised over ``batch``, activations per sample).
    params : network parameters evaluated (all networks used in generation).
    batch : batch size the weight traffic is amortised over.
    """

    flops: float
    random_ops: float
    bytes: float
    params: int
    batch: int

    @property
    def ops(self) -> float:
        """Total operations charged: ``flops + random_ops``."""
        return self.flops + self.random_ops

    def as_dict(self) -> dict[str, Any]:
        return {"flops": self.flops, "random_ops": self.random_ops, "ops": self.ops, "bytes": self.bytes,
                "params": self.params, "batch": self.batch}


def mlp_cost(sizes: Sequence[int], *, batch: int = 1000) -> SampleCost:
    """Cost of one forward pass of a dense MLP with layer sizes ``sizes`` (input, hidden..., output) per sample.

    ``flops = sum_l (2 n_l n_{l+1} + n_{l+1}) + sum_hidden n`` (bias on every layer, activation on the
    hidden ones); ``bytes = 4 (P / batch + sum_l (n_l + n_{l+1}))``, ``P = sum_l (n_l + 1) n_{l+1}``.
    """
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError(f"an MLP needs >= 2 positive layer sizes, got {list(sizes)}")
    if batch < 1:
        raise ConfigError(f"batch must be >= 1, got {batch}")
    pairs = list(zip(sizes[:-1], sizes[1:]))
    flops = sum(2.0 * a * b + b for a, b in pairs) + float(sum(sizes[1:-1]))
    params = int(sum((a + 1) * b for a, b in pairs))
    act = sum(a + b for a, b in pairs)
    return SampleCost(flops, 0.0, float(BYTES_PER_VALUE * (params / batch + act)), params, batch)


def vae_sample_cost(n_pixels: int, latent: int, hidden: int, depth: int = 2, *, batch: int = 1000) -> SampleCost:
    """One VAE sample: draw ``z ~ N(0, I)`` (``latent`` draws), decode ``latent -> hidden^depth -> n_pixels``
    logits, draw each pixel (``n_pixels`` draws). The encoder is not used for generation."""
    net = mlp_cost([latent] + [hidden] * depth + [n_pixels], batch=batch)
    rnd = OPS_PER_RANDOM * (latent + n_pixels)
    # the z draw is written and the sampled pixels written: one value each
    extra_bytes = BYTES_PER_VALUE * (latent + n_pixels)
    return SampleCost(net.flops, rnd, net.bytes + extra_bytes, net.params, batch)


def diffusion_sample_cost(n_pixels: int, hidden: int, depth: int, n_steps: int, t_features: int, *,
                          batch: int = 1000, posterior_flops_per_pixel: float = 10.0) -> SampleCost:
    """One sample of a binary (bit-flip) diffusion model with ``n_steps`` reverse steps.

    Each step evaluates the denoiser ``n_pixels + t_features -> hidden^depth -> n_pixels`` once, forms the
    per-pixel reverse probability from its ``x0`` prediction (``posterior_flops_per_pixel`` FLOPs: the
    closed-form bit-flip posterior mixed over ``x0``) and draws every pixel. The initial noise adds one
    draw per pixel. The time features are computed once per step for the whole batch (not counted).
    """
    if n_steps < 1:
        raise ConfigError(f"n_steps must be >= 1, got {n_steps}")
    net = mlp_cost([n_pixels + t_features] + [hidden] * depth + [n_pixels], batch=batch)
    flops = n_steps * (net.flops + posterior_flops_per_pixel * n_pixels)
    rnd = OPS_PER_RANDOM * n_pixels * (n_steps + 1)
    return SampleCost(flops, rnd, n_steps * net.bytes + BYTES_PER_VALUE * n_pixels, net.params, batch)


def roofline_energy(cost: SampleCost, hw: HardwareSpec) -> tuple[float, str]:
    """Energy per sample (J) on ``hw`` at its peak: ``P * max(ops / F_peak, bytes / BW)``, and which bound
    (``"compute"`` or ``"memory"``) sets the time."""
    t_c = cost.ops / hw.peak_flops_per_s
    t_m = cost.bytes / hw.bandwidth_B_per_s
    return hw.power_W * max(t_c, t_m), ("compute" if t_c >= t_m else "memory")


@dataclass(frozen=True)
class EqualFD:
    """Energy per sample of one model family at a target FD.

    Attributes
    ----------
    status : ``"interpolated"`` (target inside the curve's FD range); ``"not_reached"`` (the family's
        best FD is worse than the target: ``energy_J`` is ``inf`` and ``bound_J`` the energy of its best
        point, a lower bound in the sense "more than this"); ``"cheapest_suffices"`` (even the cheapest point
        is at least as good: ``energy_J`` is ``nan`` and ``bound_J`` that point's energy, an upper bound).
    energy_J : interpolated energy per sample (J) when ``status == "interpolated"``.
    bound_J : the bound described above (J), else the interpolated value.
    bracket : the two curve points ``((fd, E), (fd, E))`` interpolated between (empty otherwise).
    """

    status: Literal["interpolated", "not_reached", "cheapest_suffices"]
    energy_J: float
    bound_J: float
    bracket: tuple[tuple[float, float], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "energy_J": self.energy_J, "bound_J": self.bound_J,
                "bracket": [list(b) for b in self.bracket]}


def _isotonic(e: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-increasing least-squares fit of ``f`` against ``e`` (pool-adjacent-violators); each pooled block
    at its cheapest member's energy."""
    order = np.lexsort((f, e))
    blocks: list[list[float]] = []  # [sum of FD, count, energy of the cheapest member]
    for i in order:
        blocks.append([float(f[i]), 1.0, float(e[i])])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] <= blocks[-1][0] / blocks[-1][1]:
            s_, c_, _ = blocks.pop()
            blocks[-1][0] += s_
            blocks[-1][1] += c_
    return np.array([b[2] for b in blocks]), np.array([b[0] / b[1] for b in blocks])


def quality_cost_curve(energy_J: Sequence[float], fd: Sequence[float],
                       groups: Sequence[object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A family's quality-vs-cost curve: the least energy at which it reaches each FD.

    Within each group (one knob varied, e.g. the diffusion steps at one width; default: one group) the
    points sorted by energy get the least-squares non-increasing fit of their FDs (pool-adjacent-violators:
    a point worse than a cheaper one of the same group is pooled with it, both taking their mean), so noise
    in single FD estimates is averaged instead of picked; each pooled block sits at its cheapest member's
    energy. Across groups the lower envelope is kept (a configuration nobody would choose — dearer and
    worse than another — does not count). Returns ``(energy, fd)``: energy increasing, FD strictly
    decreasing.
    """
    e = np.asarray(energy_J, dtype=np.float64)
    f = np.asarray(fd, dtype=np.float64)
    if e.shape != f.shape or e.ndim != 1 or e.size == 0:
        raise ConfigError(f"energy and FD must be equal-length non-empty 1-D sequences, got {e.shape} and {f.shape}")
    if not (np.all(np.isfinite(e)) and np.all(e > 0) and np.all(np.isfinite(f))):
        raise ConfigError("energies must be finite and positive and FDs finite")
    g = np.zeros(e.size, dtype=object) if groups is None else np.asarray(groups, dtype=object)
    if g.shape != e.shape:
        raise ConfigError(f"groups must have one entry per point, got {g.shape} for {e.shape}")
    fits = [_isotonic(e[g == k], f[g == k]) for k in dict.fromkeys(g.tolist())]
    ae = np.concatenate([x[0] for x in fits])
    af = np.concatenate([x[1] for x in fits])
    keep_e, keep_f, best = [], [], math.inf
    for i in np.lexsort((af, ae)):
        if af[i] < best:
            best = af[i]
            keep_e.append(ae[i])
            keep_f.append(af[i])
    return np.array(keep_e), np.array(keep_f)


def energy_at_fd(energy_J: Sequence[float], fd: Sequence[float], target_fd: float,
                 groups: Sequence[object] | None = None) -> EqualFD:
    """Energy per sample at which a model family reaches ``target_fd`` (see :class:`EqualFD`).

    On the curve of :func:`quality_cost_curve`, between the adjacent points ``a`` (cheaper, ``FD_a >
    target``) and ``b`` (``FD_b <= target``): ``ln E = ln E_a + (FD_a - target) / (FD_a - FD_b) (ln E_b -
    ln E_a)``. Known answer: points on ``E = exp(c0 - c1 FD)`` give that curve's value exactly.
    """
    if not math.isfinite(target_fd):
        raise ConfigError(f"target FD must be finite, got {target_fd}")
    e, f = quality_cost_curve(energy_J, fd, groups)
    if target_fd >= f[0]:
        return EqualFD("cheapest_suffices", math.nan, float(e[0]))
    if target_fd < f[-1]:
        return EqualFD("not_reached", math.inf, float(e[-1]))
    j = int(np.nonzero(f <= target_fd)[0][0])  # first curve point good enough; j >= 1 here
    fa, fb, ea, eb = f[j - 1], f[j], e[j - 1], e[j]
    w = (fa - target_fd) / (fa - fb)
    val = float(np.exp(np.log(ea) + w * (np.log(eb) - np.log(ea))))
    return EqualFD("interpolated", val, val, ((float(fa), float(ea)), (float(fb), float(eb))))
