"""Deep generative baselines (VAE, binary diffusion) measured like the DTM: quality vs cost per sample.

:func:`run_deep_baselines` trains each model of :class:`DeepBaselineConfig` on the DTM's training split,
draws ``n_samples`` samples per setting (VAE: each hidden width; diffusion: each width × number of
reverse steps), and records for every point

- the Fréchet classifier distance to the held-out split with the same frozen classifier, bootstrap and
  real-vs-real floor as the DTM (:func:`pbitkit.dtm.pipeline.evaluate_samples`);
- FLOPs, random draws and bytes per sample counted from the architecture (:mod:`pbitkit.dtm.deep_cost`)
  and XLA's own count of the compiled sampler (``xla_*``; for diffusion the per-step count × steps);
- energy per sample on the A100 at peak (roofline, analytic counts; ``gpu_xla_J`` with XLA's counts) and
  on this CPU as measured: the CPU time (all threads of the process, ``time.process_time``) of the compiled
  sampler for the whole batch, best of ``cpu_repeats`` calls, × the stated power per busy core
  ``cpu_core_power_W``. CPU time rather than wall time: on a shared machine the wall time includes waiting
  for other processes' turns, the CPU time only this sampler's work (the wall time is recorded too).

The result (:class:`DeepBaselineResult`) is JSON (``deep_baselines.json``); :mod:`pbitkit.dtm.deep_report`
compares it with DTM evaluation points at equal FD. Loading a result needs no JAX; running needs the
``deep`` extra.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.config import to_dict
from pbitkit.dtm.deep_cost import A100_SXM4, HardwareSpec, SampleCost, diffusion_sample_cost, roofline_energy, vae_sample_cost
from pbitkit.dtm.metrics import SampleQuality
from pbitkit.dtm.pipeline import DataConfig, evaluate_samples, prepare_data
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_write_json, read_json
from pbitkit.progress import ProgressCallback

__all__ = ["DeepBaselineConfig", "DeepPoint", "DeepBaselineResult", "run_deep_baselines", "load_deep_results",
           "RESULT_SCHEMA"]

log = logging.getLogger(__name__)

RESULT_SCHEMA = 1


def _positive(name: str, values: tuple[int, ...]) -> None:
    if not values or min(values) < 1:
        raise ConfigError(f"deep.{name} must be a non-empty list of positive integers, got {list(values)}")


@dataclass(frozen=True)
class DeepBaselineConfig:
    """Which deep models to train and how to measure them.

    Attributes
    ----------
    vae_hidden : hidden widths of the VAE family (one trained model each; empty: no VAE).
    vae_latent : latent dimension.
    depth : hidden layers of every MLP (VAE encoder and decoder, diffusion denoiser).
    diffusion_hidden : hidden widths of the denoiser (one trained model each; empty: no diffusion).
    diffusion_steps : reverse steps at generation (every trained denoiser is sampled with each).
    n_freq : sinusoidal time frequencies (the denoiser gets ``2 n_freq`` time features).
    n_iter, batch_size, lr : training (Adam, cosine decay).
    n_samples : generated samples per point (default 10,000, the DTM evaluation's: the FD is biased upward at
        small counts, so models are compared at equal counts).
    n_boot : bootstrap replicates of the FD.
    gpu_batch : batch size over which a GPU's weight reads are amortised.
    cpu_core_power_W : assumed power of one busy CPU core (W); the DTM's digital baseline assumes 15 W for
        the 2 cores in use, i.e. 7.5 W each.
    cpu_repeats : timed repetitions of each compiled sampler (best counts).
    seed : seed of training, sampling and bootstrap.
    """

    vae_hidden: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    vae_latent: int = 8
    depth: int = 2
    diffusion_hidden: tuple[int, ...] = (32, 128)
    diffusion_steps: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 32)
    n_freq: int = 8
    n_iter: int = 4000
    batch_size: int = 128
    lr: float = 2e-3
    n_samples: int = 10000
    n_boot: int = 50
    gpu_batch: int = 1000
    cpu_core_power_W: float = 7.5
    cpu_repeats: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.vae_hidden:
            _positive("vae_hidden", self.vae_hidden)
        if self.diffusion_hidden:
            _positive("diffusion_hidden", self.diffusion_hidden)
            _positive("diffusion_steps", self.diffusion_steps)
        if not self.vae_hidden and not self.diffusion_hidden:
            raise ConfigError("deep: vae_hidden and diffusion_hidden are both empty; nothing to train")
        for name in ("vae_latent", "depth", "n_freq", "n_iter", "batch_size", "gpu_batch", "cpu_repeats"):
            if getattr(self, name) < 1:
                raise ConfigError(f"deep.{name} must be >= 1, got {getattr(self, name)}")
        if self.n_samples < 10 or self.n_boot < 2:
            raise ConfigError(f"deep.n_samples must be >= 10 and n_boot >= 2, got {self.n_samples}, {self.n_boot}")
        if not (self.lr > 0 and self.cpu_core_power_W > 0):
            raise ConfigError(f"deep.lr and deep.cpu_core_power_W must be > 0, got {self.lr}, {self.cpu_core_power_W}")


@dataclass(frozen=True)
class DeepPoint:
    """One point of a deep model's quality-vs-cost curve.

    Attributes
    ----------
    family : ``"vae"`` or ``"diffusion"``.
    setting : the knobs (``hidden``, ``latent`` / ``steps``, ``depth``).
    quality : FD with CI (and floor), KID, marginal / pair errors of ``n_samples`` samples.
    cost : analytic operations and bytes per sample.
    xla : XLA's cost analysis per sample (``flops``, ``transcendentals``, ``bytes``).
    gpu_J, gpu_bound : A100 energy per sample at peak (analytic counts, roofline) and the bound that sets it.
    gpu_ops_J : the operations alone at the A100's peak FP32 rate and TDP (``ops × 20.5 pJ``; memory traffic
        free, as for a perfectly fused kernel) — the GPU's lowest figure, priced as the same-chain column.
    gpu_xla_J : the same with XLA's counts (flops + transcendentals, bytes accessed).
    cpu_time_s, wall_time_s : measured CPU time (all threads) and wall time per sample on this machine.
    cpu_J : ``cpu_time_s × cpu_core_power_W``.
    train_time_s : wall time to train the model this point samples from.
    """

    family: str
    setting: dict[str, int]
    quality: SampleQuality
    cost: SampleCost
    xla: dict[str, float]
    gpu_J: float
    gpu_bound: str
    gpu_ops_J: float
    gpu_xla_J: float
    cpu_time_s: float
    wall_time_s: float
    cpu_J: float
    train_time_s: float

    @property
    def label(self) -> str:
        return f"{self.family} " + " ".join(f"{k}={v}" for k, v in self.setting.items())

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "setting": dict(self.setting), "label": self.label, **self.quality.as_dict(),
                "cost": self.cost.as_dict(), "xla": dict(self.xla), "gpu_J": self.gpu_J, "gpu_bound": self.gpu_bound,
                "gpu_ops_J": self.gpu_ops_J, "gpu_xla_J": self.gpu_xla_J, "cpu_time_s": self.cpu_time_s,
                "wall_time_s": self.wall_time_s, "cpu_J": self.cpu_J,
                "train_time_s": self.train_time_s}


@dataclass(frozen=True)
class DeepBaselineResult:
    """All points of one run, with the data, hardware and assumptions (``to_json`` form: ``as_dict``)."""

    dataset: str
    config: DeepBaselineConfig
    points: tuple[DeepPoint, ...]
    hardware: HardwareSpec
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"schema": RESULT_SCHEMA, "kind": "deep-baselines", "dataset": self.dataset,
                "config": to_dict(self.config), "hardware": self.hardware.as_dict(),
                "cpu_core_power_W": self.config.cpu_core_power_W, "points": [p.as_dict() for p in self.points],
                "meta": dict(self.meta)}

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        atomic_write_json(p, self.as_dict())
        return p


def load_deep_results(path: str | Path) -> dict[str, Any]:
    """Read a ``deep_baselines.json`` written by :func:`run_deep_baselines` (plain dict; no JAX needed).

    Raises
    ------
    PbitkitError
        Missing file, another kind of JSON, or another schema version (names the file).
    """
    p = Path(path)
    if not p.exists():
        raise PbitkitError(f"deep-baseline results not found: {p} (run `pbitkit dtm deep-baselines --out DIR`)")
    d = read_json(p)
    if d.get("kind") != "deep-baselines" or d.get("schema") != RESULT_SCHEMA:
        raise PbitkitError(f"{p} is not a deep-baselines result of schema {RESULT_SCHEMA} "
                           f"(kind {d.get('kind')!r}, schema {d.get('schema')!r})")
    return d


def _timed(fn: Any, key: Any, repeats: int) -> tuple[np.ndarray, float, float]:
    """Run a compiled sampler once to warm up, then ``repeats`` timed calls; returns the samples and the
    best CPU time (all threads) and best wall time of a call (s)."""
    import jax

    out = np.asarray(jax.block_until_ready(fn(key)))
    cpu = wall = float("inf")
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        jax.block_until_ready(fn(key))
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - t0)
    return out, cpu, wall


def run_deep_baselines(
    data: DataConfig,
    cfg: DeepBaselineConfig = DeepBaselineConfig(),
    *,
    hardware: HardwareSpec = A100_SXM4,
    progress: ProgressCallback | None = None,
) -> DeepBaselineResult:
    """Train and measure every model of ``cfg`` on ``data`` (see module docstring).

    Parameters
    ----------
    data : the DTM's data config (same split: training set for fitting, held-out set as FD reference).
    cfg : models, training and measurement settings.
    hardware : the GPU the points are priced on (default the A100 at peak).
    progress : ``progress(done, total, message)`` per trained model and per evaluated point.

    Returns
    -------
    DeepBaselineResult with one :class:`DeepPoint` per (model, setting).
    """
    import jax
    from threadpoolctl import threadpool_limits

    from pbitkit.dtm.classifier import classifier_for
    from pbitkit.dtm.deep_models import (
        DeepTrainConfig,
        bind,
        sample_diffusion,
        sample_vae,
        train_diffusion,
        train_vae,
        xla_cost,
    )

    train, test = prepare_data(data)
    clf = classifier_for(data.name, train.x, train.y)
    D = train.n_pixels
    n = cfg.n_samples
    tcfg = DeepTrainConfig(n_iter=cfg.n_iter, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
    total = len(cfg.vae_hidden) * 2 + len(cfg.diffusion_hidden) * (1 + len(cfg.diffusion_steps))
    done = [0]
    ss_eval, ss_floor, ss_sample = np.random.SeedSequence([cfg.seed, 15]).spawn(3)
    eval_rng = np.random.default_rng(ss_eval)
    floor_rng = np.random.default_rng(ss_floor)
    floor_ref = train.x[floor_rng.choice(len(train.x), size=min(n, len(train.x)), replace=False)]
    key = jax.random.PRNGKey(int(ss_sample.generate_state(1)[0]))

    def tick(msg: str) -> None:
        done[0] += 1
        if progress:
            progress(done[0], total, msg)

    def point(family: str, setting: dict[str, int], samples: np.ndarray, cost: SampleCost, xla: dict[str, float],
              t_s: tuple[float, float], train_s: float) -> DeepPoint:
        # one BLAS thread: the bootstrap's many small eigh calls are ~50x slower when OpenBLAS threads contend
        # with XLA's on a loaded 2-core machine (measured), and the result does not depend on it
        with threadpool_limits(1):
            q = evaluate_samples(samples, test.x, clf, eval_rng, n_boot=cfg.n_boot, floor_reference=floor_ref)
        gpu, bound = roofline_energy(cost, hardware)
        xla_cost_obj = SampleCost(xla["flops"], xla["transcendentals"], xla["bytes"], cost.params, cost.batch)
        gpu_xla, _ = roofline_energy(xla_cost_obj, hardware)
        p = DeepPoint(family, setting, q, cost, xla, gpu, bound,
                      cost.ops * hardware.power_W / hardware.peak_flops_per_s, gpu_xla, t_s[0] / n, t_s[1] / n,
                      t_s[0] / n * cfg.cpu_core_power_W, train_s)
        log.info("%s: FD %s, %.3g ops/sample, A100 %.3g J, CPU %.3g J", p.label, q.fd, cost.ops, gpu, p.cpu_J)
        return p

    def per_sample(x: dict[str, float], scale: float = 1.0) -> dict[str, float]:
        return {"flops": x["flops"] * scale / n, "transcendentals": x["transcendentals"] * scale / n,
                "bytes": x["bytes accessed"] * scale / n}

    points: list[DeepPoint] = []
    for h in cfg.vae_hidden:
        t0 = time.perf_counter()
        model, _ = train_vae(train.x, latent=cfg.vae_latent, hidden=h, depth=cfg.depth, cfg=tcfg)
        train_s = time.perf_counter() - t0
        tick(f"vae hidden={h} trained ({train_s:.0f} s)")
        key, sub = jax.random.split(key)
        samples, *t_s = _timed(bind(sample_vae, model, n), sub, cfg.cpu_repeats)
        cost = vae_sample_cost(D, cfg.vae_latent, h, cfg.depth, batch=cfg.gpu_batch)
        points.append(point("vae", {"hidden": h, "latent": cfg.vae_latent, "depth": cfg.depth}, samples, cost,
                            per_sample(xla_cost(sample_vae, model, n)), tuple(t_s), train_s))
        tick(f"vae hidden={h} FD {points[-1].quality.fd.value:.3g}")
    for h in cfg.diffusion_hidden:
        t0 = time.perf_counter()
        model, _ = train_diffusion(train.x, hidden=h, depth=cfg.depth, n_freq=cfg.n_freq, cfg=tcfg)
        train_s = time.perf_counter() - t0
        tick(f"diffusion hidden={h} trained ({train_s:.0f} s)")
        # XLA counts a fori_loop body once: the one-step sampler's count, scaled by the steps
        x1 = xla_cost(sample_diffusion, model, n, 1, D)
        for S in cfg.diffusion_steps:
            key, sub = jax.random.split(key)
            samples, *t_s = _timed(bind(sample_diffusion, model, n, S, D), sub, cfg.cpu_repeats)
            cost = diffusion_sample_cost(D, h, cfg.depth, S, 2 * cfg.n_freq, batch=cfg.gpu_batch)
            points.append(point("diffusion", {"hidden": h, "steps": S, "depth": cfg.depth}, samples, cost,
                                per_sample(x1, S), tuple(t_s), train_s))
            tick(f"diffusion hidden={h} steps={S} FD {points[-1].quality.fd.value:.3g}")
    meta = {
        "dataset": f"{data.name} ({train.shape[0]}x{train.shape[1]}, train {len(train.y)}, held-out {len(test.y)})",
        # the same wording as the DTM evaluation's meta: pbitkit.dtm.deep_report.comparable matches on it
        "classifier": f"frozen MLP sha256 {clf.sha256[:12]}, held-out accuracy {clf.test_accuracy:.3f}",
        "classifier_sha256": clf.sha256,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "jax": jax.__version__,
        "samples per point": n,
        "held-out reference": len(test.y),
    }
    return DeepBaselineResult(data.name, cfg, tuple(points), hardware, meta)
