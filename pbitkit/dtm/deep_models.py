"""Small deep generative models for binary images in JAX (equinox + optax): the GPU-style baselines.

Needs the optional ``deep`` extra (``pip install 'pbitkit[deep]'``): jax, equinox, optax. Importing this
module without them raises :class:`~pbitkit.errors.PbitkitError` naming the extra.

- :class:`VAE`: Gaussian latent ``z (latent,)``, MLP encoder ``x -> (mu, log sigma^2)`` and MLP decoder
  ``z -> logits`` of independent Bernoulli pixels. Trained on the ELBO
  ``E_q[ln p(x|z)] - KL(q(z|x) || N(0, I))`` with the reparameterisation trick. A sample: ``z ~ N(0, I)``,
  pixel ``i`` on with probability ``sigmoid(logit_i(z))``.
- :class:`BinaryDiffusion`: bit-flip diffusion on spins ``x in {-1,+1}^D`` in continuous time
  ``t in [0, 1]``: ``P(x_t,i = x_0,i) = (1 + a(t)) / 2`` with ``a(t) = cos(pi t / 2)`` (``a(1) = 0``: pure
  noise). An MLP denoiser takes ``x_t`` and sinusoidal features of ``t`` and predicts ``p(x_0,i = +1 |
  x_t)`` (trained with the cross-entropy on ``x_0``, t uniform). Generation with ``S`` steps on the grid
  ``t_k = k / S``: from ``x_1`` uniform, each step draws ``x_s`` (``s = t - 1/S``) pixel by pixel from
  ``sum_{x0} p(x0 | x_t) q(x_s | x_t, x0)`` with the closed-form bit-flip posterior
  ``q(x_s = +1 | x_t, x0) ∝ (1 + a_s x0)(1 + a_{t|s} x_t)``, ``a_{t|s} = a_t / a_s`` (the D3PM
  ``x0``-parameterisation with a factorised reverse step). The number of steps is chosen at generation
  time, so one trained model gives a whole quality-vs-cost curve.

Kernels are pure: ``sample_*(model, key, n, ...) -> int8 spins (n, D)``; training takes the data and a
seed and returns the model and its loss curve.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbitkit.errors import ConfigError, PbitkitError

try:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise PbitkitError("the deep-model baselines need the optional 'deep' extra: pip install 'pbitkit[deep]' "
                       f"(jax, equinox, optax); import failed: {exc}") from exc

__all__ = [
    "VAE",
    "BinaryDiffusion",
    "DeepTrainConfig",
    "train_vae",
    "train_diffusion",
    "sample_vae",
    "sample_diffusion",
    "vae_decode",
    "diffusion_denoise",
    "reverse_step",
    "corr",
    "time_features",
    "bind",
    "xla_cost",
    "n_params",
]

log = logging.getLogger(__name__)

_CHUNK = 100  # optimiser steps per compiled scan (one loss-curve point each)


@dataclass(frozen=True)
class DeepTrainConfig:
    """Training settings shared by both models.

    Attributes
    ----------
    n_iter : optimiser steps.
    batch_size : examples per step.
    lr : Adam learning rate (cosine-decayed to 10 % over ``n_iter``).
    seed : seed of initialisation, batches and noise.
    """

    n_iter: int = 4000
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_iter < 1 or self.batch_size < 1:
            raise ConfigError(f"n_iter and batch_size must be >= 1, got {self.n_iter}, {self.batch_size}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")


class VAE(eqx.Module):
    """Bernoulli-decoder VAE: ``encoder (D -> 2 latent)``, ``decoder (latent -> D logits)``, ``depth`` hidden
    ReLU layers of width ``hidden`` each."""

    encoder: eqx.nn.MLP
    decoder: eqx.nn.MLP
    latent: int = eqx.field(static=True)

    def __init__(self, n_pixels: int, latent: int, hidden: int, depth: int, *, key: Any) -> None:
        ke, kd = jax.random.split(key)
        self.encoder = eqx.nn.MLP(n_pixels, 2 * latent, hidden, depth, activation=jax.nn.relu, key=ke)
        self.decoder = eqx.nn.MLP(latent, n_pixels, hidden, depth, activation=jax.nn.relu, key=kd)
        self.latent = latent


class BinaryDiffusion(eqx.Module):
    """Denoiser ``(x_t (D,), features(t) (2 n_freq,)) -> logits of p(x_0 = +1 | x_t) (D,)``."""

    net: eqx.nn.MLP
    n_freq: int = eqx.field(static=True)

    def __init__(self, n_pixels: int, hidden: int, depth: int, *, n_freq: int = 8, key: Any) -> None:
        self.net = eqx.nn.MLP(n_pixels + 2 * n_freq, n_pixels, hidden, depth, activation=jax.nn.relu, key=key)
        self.n_freq = n_freq


def n_params(model: eqx.Module) -> int:
    """Number of parameters (array elements) of a model."""
    return int(sum(x.size for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))))


def time_features(t: jax.Array, n_freq: int) -> jax.Array:
    """Sinusoidal features of ``t in [0, 1]``: ``[sin(pi 2^j t), cos(pi 2^j t)]``, ``j < n_freq``; shape
    ``t.shape + (2 n_freq,)``."""
    w = math.pi * 2.0 ** jnp.arange(n_freq)
    a = t[..., None] * w
    return jnp.concatenate([jnp.sin(a), jnp.cos(a)], axis=-1)


def corr(t: jax.Array) -> jax.Array:
    """The forward process's correlation ``a(t) = E[x_t,i x_0,i] = cos(pi t / 2)``."""
    return jnp.cos(0.5 * math.pi * t)


def vae_decode(model: VAE, z: jax.Array) -> jax.Array:
    """Pixel logits ``(n, D)`` for latents ``z (n, latent)``."""
    return jax.vmap(model.decoder)(z)


def diffusion_denoise(model: BinaryDiffusion, x_t: jax.Array, t: jax.Array) -> jax.Array:
    """Logits of ``p(x_0 = +1 | x_t)``: ``x_t (n, D)`` spins as floats, ``t`` scalar or ``(n,)``."""
    feats = jnp.broadcast_to(time_features(jnp.asarray(t, x_t.dtype), model.n_freq), (x_t.shape[0], 2 * model.n_freq))
    return jax.vmap(model.net)(jnp.concatenate([x_t, feats], axis=1))


def _spins(bits: jax.Array) -> jax.Array:
    return jnp.where(bits, 1, -1).astype(jnp.int8)


def sample_vae(model: VAE, key: Any, n: int) -> jax.Array:
    """``n`` samples, int8 spins ``(n, D)``: ``z ~ N(0, I)``, pixels ~ Bernoulli(sigmoid(decoder(z)))."""
    kz, kb = jax.random.split(key)
    z = jax.random.normal(kz, (n, model.latent))
    p = jax.nn.sigmoid(vae_decode(model, z))
    return _spins(jax.random.uniform(kb, p.shape) < p)


def reverse_step(model: BinaryDiffusion, x: jax.Array, t: jax.Array, s: jax.Array, key: Any) -> jax.Array:
    """One reverse step ``x_t -> x_s`` (``0 <= s < t <= 1``) for float spins ``x (n, D)``: every pixel drawn
    from ``P(x_s = +1) = pi up + (1 - pi) dn``, ``pi = p(x0 = +1 | x_t)`` the denoiser's prediction and
    ``up``/``dn`` the bit-flip posteriors ``q(x_s = +1 | x_t, x0 = +-1)``."""
    pi = jax.nn.sigmoid(diffusion_denoise(model, x, t))  # p(x0 = +1 | x_t)
    a_s = corr(s)
    a_ts = corr(t) / jnp.maximum(a_s, 1e-12)
    lt = 1.0 + a_ts * x  # q(x_t | x_s = +1) * 2
    lf = 1.0 - a_ts * x  # q(x_t | x_s = -1) * 2
    # q(x_s = +1 | x_t, x0) for x0 = +1 and -1
    up = (1 + a_s) * lt / ((1 + a_s) * lt + (1 - a_s) * lf)
    dn = (1 - a_s) * lt / ((1 - a_s) * lt + (1 + a_s) * lf)
    p_on = pi * up + (1 - pi) * dn
    return jnp.where(jax.random.uniform(key, x.shape) < p_on, 1.0, -1.0)


def sample_diffusion(model: BinaryDiffusion, key: Any, n: int, n_steps: int, n_pixels: int) -> jax.Array:
    """``n`` samples with ``n_steps`` reverse steps (``fori_loop``), int8 spins ``(n, n_pixels)``."""
    k0, kl = jax.random.split(key)
    x = jnp.where(jax.random.bernoulli(k0, 0.5, (n, n_pixels)), 1.0, -1.0)
    keys = jax.random.split(kl, n_steps)

    def body(i: jax.Array, x: jax.Array) -> jax.Array:
        t = (n_steps - i) / n_steps
        s = (n_steps - i - 1) / n_steps
        return reverse_step(model, x, jnp.asarray(t, jnp.float32), jnp.asarray(s, jnp.float32), keys[i])

    x = jax.lax.fori_loop(0, n_steps, body, x)
    return x.astype(jnp.int8)


def _vae_loss(model: VAE, x01: jax.Array, key: Any) -> jax.Array:
    h = jax.vmap(model.encoder)(x01)
    mu, logvar = h[:, : model.latent], h[:, model.latent:]
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape)
    logits = vae_decode(model, z)
    rec = jnp.sum(optax.sigmoid_binary_cross_entropy(logits, x01), axis=1)
    kl = 0.5 * jnp.sum(jnp.exp(logvar) + mu**2 - 1.0 - logvar, axis=1)
    return jnp.mean(rec + kl)


def _diffusion_loss(model: BinaryDiffusion, x0: jax.Array, key: Any) -> jax.Array:
    kt, kf = jax.random.split(key)
    t = jax.random.uniform(kt, (x0.shape[0],), minval=1e-3, maxval=1.0)
    keep = jax.random.uniform(kf, x0.shape) < 0.5 * (1.0 + corr(t))[:, None]
    x_t = jnp.where(keep, x0, -x0)
    logits = diffusion_denoise(model, x_t, t)
    return jnp.mean(jnp.sum(optax.sigmoid_binary_cross_entropy(logits, 0.5 * (x0 + 1.0)), axis=1))


def _train(model: eqx.Module, loss_fn: Callable[..., jax.Array], data: np.ndarray, cfg: DeepTrainConfig,
           progress: Callable[[int, int, str], None] | None) -> tuple[eqx.Module, list[float]]:
    sched = optax.cosine_decay_schedule(cfg.lr, cfg.n_iter, alpha=0.1)
    opt = optax.adam(sched)
    state = opt.init(eqx.filter(model, eqx.is_array))

    params, static = eqx.partition(model, eqx.is_array)

    @jax.jit
    def chunk(params: Any, state: Any, xs: jax.Array, keys: jax.Array) -> tuple[Any, Any, jax.Array]:
        """``len(keys)`` Adam steps in one compiled scan; ``xs (steps, batch, D)``."""

        def one(carry: tuple[Any, Any], inp: tuple[jax.Array, jax.Array]) -> tuple[tuple[Any, Any], jax.Array]:
            p, st = carry
            xb, k = inp
            loss, grads = jax.value_and_grad(lambda q: loss_fn(eqx.combine(q, static), xb, k))(p)
            updates, st = opt.update(grads, st, p)
            return (optax.apply_updates(p, updates), st), loss

        (params, state), losses = jax.lax.scan(one, (params, state), (xs, keys))
        return params, state, jnp.mean(losses)

    rng = np.random.default_rng(cfg.seed)
    key = jax.random.PRNGKey(cfg.seed)
    x = np.asarray(data, np.float32)
    n = x.shape[0]
    bs = min(cfg.batch_size, n)
    sizes = [_CHUNK] * (cfg.n_iter // _CHUNK) + ([cfg.n_iter % _CHUNK] if cfg.n_iter % _CHUNK else [])
    curve: list[float] = []
    done = 0
    for size in sizes:
        key, sub = jax.random.split(key)
        xs = jnp.asarray(x[rng.integers(0, n, (int(size), bs))])
        params, state, loss = chunk(params, state, xs, jax.random.split(sub, int(size)))
        done += int(size)
        curve.append(float(loss))
        if progress:
            progress(done, cfg.n_iter, f"loss {curve[-1]:.3f}")
    model = eqx.combine(params, static)
    if not all(math.isfinite(v) for v in curve):
        raise PbitkitError(f"deep-model training diverged (loss curve {curve[-3:]}); lower lr (now {cfg.lr})")
    return model, curve


def train_vae(x: np.ndarray, *, latent: int, hidden: int, depth: int = 2, cfg: DeepTrainConfig = DeepTrainConfig(),
              progress: Callable[[int, int, str], None] | None = None) -> tuple[VAE, list[float]]:
    """Train a :class:`VAE` on spins ``x (n, D)``; returns the model and the mean loss (nats per image,
    negative ELBO) over each 100 steps."""
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"training data must have shape (n >= 2, D), got {x.shape}")
    model = VAE(x.shape[1], latent, hidden, depth, key=jax.random.PRNGKey(cfg.seed + 1))
    return _train(model, _vae_loss, (x.astype(np.float32) + 1) / 2, cfg, progress)  # type: ignore[return-value]


def train_diffusion(x: np.ndarray, *, hidden: int, depth: int = 2, n_freq: int = 8,
                    cfg: DeepTrainConfig = DeepTrainConfig(),
                    progress: Callable[[int, int, str], None] | None = None) -> tuple[BinaryDiffusion, list[float]]:
    """Train a :class:`BinaryDiffusion` denoiser on spins ``x (n, D)``; returns the model and its loss curve
    (cross-entropy of ``x_0`` in nats per image)."""
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"training data must have shape (n >= 2, D), got {x.shape}")
    model = BinaryDiffusion(x.shape[1], hidden, depth, n_freq=n_freq, key=jax.random.PRNGKey(cfg.seed + 1))
    return _train(model, _diffusion_loss, x.astype(np.float32), cfg, progress)  # type: ignore[return-value]


def bind(fn: Callable[..., Any], model: eqx.Module, *static: Any) -> Callable[[Any], Any]:
    """``key -> fn(model, key, *static)`` compiled once: the model's arrays are traced arguments, its other
    fields and ``static`` (sizes, step counts) are compile-time constants. ``.lower(key)`` gives XLA's view."""
    params, rest = eqx.partition(model, eqx.is_array)
    jitted = jax.jit(lambda p, key: fn(eqx.combine(p, rest), key, *static))

    class _Bound:
        def __call__(self, key: Any) -> Any:
            return jitted(params, key)

        def lower(self, key: Any) -> Any:
            return jitted.lower(params, key)

    return _Bound()


def xla_cost(fn: Callable[..., Any], model: eqx.Module, *static: Any) -> dict[str, float]:
    """XLA's own cost analysis of ``fn(model, key, *static)`` after compilation: ``flops``,
    ``transcendentals`` and ``bytes accessed`` (whole call; a ``while`` loop's body is counted once)."""
    ca = bind(fn, model, *static).lower(jax.random.PRNGKey(0)).compile().cost_analysis()
    if isinstance(ca, (list, tuple)):
        ca = ca[0] if ca else {}
    return {k: float(ca.get(k, 0.0)) for k in ("flops", "transcendentals", "bytes accessed")}
