"""Training the T conditional Boltzmann machines of a DTM, one step at a time, on the array sampler.

For step ``t`` and a minibatch of data ``x^0``, noised pairs ``(x^{t-1}, x^t)`` are drawn from the forward
process. Both phases run on :mod:`pbitkit.array` with the input ``x^t`` as per-chain field
``J_fwd * x^t`` on the visible nodes:

- clamped phase: visible nodes fixed to ``x^{t-1}``, latents sampled;
- free phase: everything sampled (visible nodes start at ``x^t``, latents at random).

After ``burn_in`` sweeps the moments ``<s_i>`` (per chain) and ``<s_i s_j>`` (per edge) are averaged over
``measure`` sweeps. The log-likelihood gradient plus the correlation penalty (docs/theory.md §4) is

.. math:: g_{ij} = \\langle s_i s_j\\rangle_c - \\langle s_i s_j\\rangle_f
          + \\lambda\\,(\\overline{\\langle s_i\\rangle_f \\langle s_j\\rangle_f} - \\langle s_i s_j\\rangle_f),
          \\qquad g_i = \\langle s_i\\rangle_c - \\langle s_i\\rangle_f

(``<s_i>`` averaged over the batch of chains and the sweeps: a per-chain time average would make the
penalty vanish exactly for chains stuck in one mode) and Adam ascends it.
Once per epoch a longer free chain measures the lag-``K`` autocorrelation ``rho`` (``K`` = sweeps per
step at generation) and the adaptive correlation penalty updates ``lambda`` (:mod:`pbitkit.dtm.acp`).

:func:`train_step` trains one step from plain, picklable inputs, so a process pool or a Dask cluster can
run the T steps in parallel; each epoch ends with an atomic checkpoint and a re-run resumes from it.
Randomness per (step, epoch) comes from ``SeedSequence([seed, step, epoch])``: a resumed run reproduces an
uninterrupted one bit for bit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pbitkit.dtm.acp import ACPConfig, acp_update
from pbitkit.dtm.forward import ForwardProcess
from pbitkit.dtm.metrics import LagAutocorrelation
from pbitkit.dtm.model import Layout, StepParams, input_fields
from pbitkit.dtm.runner import Runner, SamplerSpec, default_card_path, make_hardware_for
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_save_npz, atomic_write_json, read_json, read_npz
from pbitkit.progress import ProgressCallback

__all__ = ["TrainConfig", "StepJob", "StepResult", "train_step", "job_fingerprint", "Adam", "ParamAverage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Per-step training settings.

    Attributes
    ----------
    epochs : passes over the training data. The defaults (80 epochs, ``lr`` 0.01, ``weight_decay`` 1e-3) are
        the digits crossbar's (the default array); on a grid 40 / 0.02 / 1e-4 are better, the crossbar's 6.4×
        the couplings over-fit at those (docs/dtm.md).
    batch_size : chains per phase (= examples per minibatch).
    burn_in : sweeps before moments are measured (each phase).
    measure : sweeps over which moments are averaged (each phase).
    lr : Adam step size; ``beta1``, ``beta2``, ``adam_eps`` Adam constants.
    weight_decay : L2 pull of ``J`` and ``h`` toward 0 (added to the gradient as ``-wd * param``).
    init_std : std of the initial couplings.
    k_sample : sweeps per step at generation; the ACP monitor measures autocorrelation at this lag.
    monitor_chains, monitor_length : chains (4 per input) and recorded sweeps (in units of ``k_sample``) of the monitor.
    acp : adaptive correlation penalty settings (``enabled=False`` + ``lambda_init=0`` = no penalty).
    free_phase : where free-phase chains start: ``"input"`` (visible at ``x^t``, latents random: the
        initialisation generation uses, a contrastive-divergence-like estimate) or ``"persistent"`` (one
        persistent chain per training example, continued from where its last free phase left it, with the
        new input ``x^t`` as field: persistent contrastive divergence).
    lr_schedule : ``"constant"``, or ``"cosine"`` / ``"linear"`` decay of the step size from ``lr`` to 0
        over the epochs (set per epoch, so a resumed run follows the same schedule).
    ema_decay : parameter averaging (0 = off, the trained parameters are the last Adam iterate). With
        ``0 < ema_decay < 1`` the step's result is an exponential moving average of ``J``, ``h`` over the
        Adam steps from epoch ``ema_start`` on, ``a <- a + w (p - a)`` with ``w = max(1 - ema_decay, 1/k)``
        at the ``k``-th averaged step (the uniform average until ``k = 1/(1 - ema_decay)``, so the start
        carries no bias); ``ema_decay = 1`` is the uniform (Polyak-Ruppert) average of every iterate from
        ``ema_start`` on. Training itself follows the raw iterate; the average is what is returned, saved
        and checkpointed.
    ema_start : first epoch (0-based) whose Adam steps enter the average; at or past ``epochs`` (e.g. a short
        fine-tuning run with the main run's setting) nothing is averaged and the last iterate is returned.
    anneal_beta0 : inverse temperature at which both phases' chains start (1 = no annealing). With
        ``anneal_beta0 < 1`` the burn-in sweeps are run in ``anneal_stages`` equal stages at inverse
        temperatures rising linearly from ``anneal_beta0`` to 1 (couplings and fields scaled by it), so the
        chains start hot and explore before the moments are measured at beta = 1.
    anneal_stages : number of temperature stages of the annealed burn-in (at most ``burn_in``).
    seed : base seed.
    """

    epochs: int = 80
    batch_size: int = 128
    burn_in: int = 20
    measure: int = 10
    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    weight_decay: float = 1e-3
    init_std: float = 0.01
    k_sample: int = 30
    monitor_chains: int = 32
    monitor_length: int = 4
    acp: ACPConfig = field(default_factory=ACPConfig)
    free_phase: Literal["input", "persistent"] = "input"
    lr_schedule: Literal["constant", "cosine", "linear"] = "cosine"
    ema_decay: float = 0.0
    ema_start: int = 0
    anneal_beta0: float = 1.0
    anneal_stages: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "measure", "k_sample", "monitor_chains"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.burn_in < 0:
            raise ConfigError(f"train.burn_in must be >= 0, got {self.burn_in}")
        if self.monitor_length < 2:
            raise ConfigError(f"train.monitor_length must be >= 2 (chain of >= 2 K sweeps), got {self.monitor_length}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"train.lr must be a positive number, got {self.lr}")
        if self.free_phase not in ("input", "persistent"):
            raise ConfigError(f"train.free_phase must be 'input' or 'persistent', got {self.free_phase!r}")
        if self.lr_schedule not in ("constant", "cosine", "linear"):
            raise ConfigError(f"train.lr_schedule must be 'constant', 'cosine' or 'linear', got {self.lr_schedule!r}")
        if not (0.0 <= self.ema_decay <= 1.0):  # also rejects NaN
            raise ConfigError(f"train.ema_decay must be in [0, 1] (0 = no averaging, 1 = uniform average), "
                              f"got {self.ema_decay}")
        if self.ema_start < 0:
            raise ConfigError(f"train.ema_start must be >= 0 (an epoch, 0-based), got {self.ema_start}")
        if not (0.0 < self.anneal_beta0 <= 1.0):
            raise ConfigError(f"train.anneal_beta0 must be in (0, 1] (1 = no annealing), got {self.anneal_beta0}")
        if self.anneal_stages < 1:
            raise ConfigError(f"train.anneal_stages must be >= 1, got {self.anneal_stages}")
        if self.anneal_beta0 < 1.0 and self.anneal_stages > self.burn_in:
            raise ConfigError(f"train.anneal_stages ({self.anneal_stages}) must be <= train.burn_in "
                              f"({self.burn_in}) when annealing (train.anneal_beta0 < 1)")

    def anneal_schedule(self) -> list[tuple[float, int]]:
        """``(beta, sweeps)`` stages of each phase's burn-in: ``[(1.0, burn_in)]`` without annealing."""
        if self.anneal_beta0 >= 1.0:
            return [(1.0, self.burn_in)]
        m = self.anneal_stages
        cuts = [round(self.burn_in * i / m) for i in range(m + 1)]
        betas = [self.anneal_beta0 + (1.0 - self.anneal_beta0) * i / (m - 1) if m > 1 else self.anneal_beta0
                 for i in range(m)]
        return [(b, cuts[i + 1] - cuts[i]) for i, b in enumerate(betas) if cuts[i + 1] > cuts[i]]

    def lr_at(self, epoch: int) -> float:
        """Adam step size of epoch ``epoch`` (0-based) under ``lr_schedule``."""
        f = epoch / self.epochs
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * f))
        if self.lr_schedule == "linear":
            return self.lr * (1.0 - f)
        return self.lr


class Adam:
    """Adam (Kingma & Ba 2015) ascent on a list of arrays; state is plain arrays (checkpointable).

    ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``, ``p <- p + lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    def __init__(self, shapes: list[tuple[int, ...]], lr: float, b1: float, b2: float, eps: float) -> None:
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t = 0

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        self.t += 1
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p += self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


@dataclass(frozen=True)
class StepJob:
    """Everything :func:`train_step` needs (picklable: ships to a worker process or Dask cluster)."""

    step: int
    layout: Layout
    forward: ForwardProcess
    data: np.ndarray  # (n, D) int8 spins: pixels then label bits
    config: TrainConfig
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    checkpoint: str | None = None  # path of this step's checkpoint (.npz + .json); None = no checkpoints
    init: StepParams | None = None  # start from these couplings and fields (fine-tuning) instead of random ones


@dataclass(frozen=True)
class StepResult:
    """Trained parameters of one step and its training curves (one entry per epoch)."""

    step: int
    params: StepParams
    curves: dict[str, list[float]]


def _epoch_rng(seed: int, step: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, step, epoch]))


def _random_spins(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return (2 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1).astype(np.int8)


def _init_state(layout: Layout, vis_values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    s = _random_spins((vis_values.shape[0], layout.n_nodes), rng)
    s[:, layout.visible] = vis_values
    return s


def monitor_autocorrelation(
    runner: Any, layout: Layout, params: StepParams, x_in: np.ndarray, lag: int, length: int, rng: np.random.Generator,
    replicas: int = 4,
) -> float:
    """Lag-``lag`` autocorrelation of free chains conditioned on inputs ``x_in (M, D)``.

    Each input drives ``replicas`` chains (so the conditional mean can be estimated from the ensemble and a
    chain stuck in one mode shows up). Chains start at their input (latents random), run ``lag`` sweeps of
    burn-in, then ``length * lag`` sweeps are recorded; returns
    :func:`pbitkit.dtm.metrics.lag_autocorrelation` over all nodes, grouped by input.
    """
    x_rep = np.repeat(x_in, replicas, axis=0)
    groups = np.repeat(np.arange(x_in.shape[0]), replicas)
    fields = input_fields(layout, params.h, params.j_fwd, x_rep)
    state = _init_state(layout, x_rep, rng)
    prog = runner.program(params.J_edge, fields, None)  # programmed once for all the recorded sweeps
    state = runner.sweeps(prog, state, lag, rng)
    acc = LagAutocorrelation(lag, groups)  # streamed: memory lag x chains x nodes, not the whole record
    for _ in range(length * lag):
        state = runner.sweeps(prog, state, 1, rng)
        acc.add(state)
    return acc.value()


def _checkpoint_paths(path: str) -> tuple[Path, Path]:
    p = Path(path)
    return p.with_suffix(".npz"), p.with_suffix(".json")


class ParamAverage:
    """Running average of the parameters over Adam steps (``TrainConfig.ema_decay``; state checkpointable).

    ``a <- a + w (p - a)`` with ``w = max(1 - decay, 1 / k)`` at the ``k``-th update: the uniform average of
    the first ``1 / (1 - decay)`` iterates, an exponential moving average after (``decay = 1``: uniform
    throughout, Polyak-Ruppert averaging).
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.avg: list[np.ndarray] | None = None
        self.k = 0

    def update(self, params: list[np.ndarray]) -> None:
        self.k += 1
        if self.avg is None:
            self.avg = [p.copy() for p in params]
            return
        w = max(1.0 - self.decay, 1.0 / self.k)
        for a, p in zip(self.avg, params):
            a += w * (p - a)


def job_fingerprint(job: StepJob) -> str:
    """SHA-256 of everything a step's training depends on except its length: the step, the training settings
    (but ``epochs``: a larger count continues a finished run), the array graph and the visible layout, the
    forward process, the data, the initial parameters and the sampler — with the content of its device card,
    not its path. A checkpoint resumes only a job with the same fingerprint."""
    import dataclasses

    from pbitkit.config import to_dict
    from pbitkit.io import sha256_bytes, sha256_json
    from pbitkit.pbitmodel.card import card_identity_sha256

    def digest(a: Any, dtype: Any) -> list[Any]:
        a = np.ascontiguousarray(np.asarray(a, dtype=dtype))
        return [list(a.shape), sha256_bytes(a.tobytes())]

    arrays = {"edges": digest(job.layout.graph.edges, np.int64), "visible": digest(job.layout.visible, np.int64),  # type: ignore[attr-defined]
              "data": digest(job.data, np.int8)}
    if job.init is not None:
        arrays |= {"init_J": digest(job.init.J_edge, np.float64), "init_h": digest(job.init.h, np.float64)}
    sampler = to_dict(job.sampler)
    if job.sampler.mode == "device":
        card = Path(job.sampler.card) if job.sampler.card else default_card_path()
        sampler["card"] = card_identity_sha256(card) if card.is_file() else str(card)
    cfg = to_dict(dataclasses.replace(job.config, epochs=1))
    return sha256_json({"step": job.step, "train": cfg, "forward": to_dict(job.forward.config), "sampler": sampler,
                        "n_nodes": int(job.layout.n_nodes), "arrays": arrays})


def _save_checkpoint(path: str, epoch: int, J: np.ndarray, h: np.ndarray, opt: Adam, lam: float,
                     rho_prev: float | None, curves: dict[str, list[float]], done: bool,
                     persistent: np.ndarray | None, avg: ParamAverage | None, fingerprint: str) -> None:
    npz, js = _checkpoint_paths(path)
    extra = {} if persistent is None else {"persistent": persistent}
    if avg is not None and avg.avg is not None:
        extra.update(avg_J=avg.avg[0], avg_h=avg.avg[1])
    atomic_save_npz(npz, J_edge=J, h=h, m_J=opt.m[0], m_h=opt.m[1], v_J=opt.v[0], v_h=opt.v[1], **extra)
    meta: dict[str, Any] = {"epoch": epoch, "adam_t": opt.t, "lambda": lam, "rho_prev": rho_prev, "curves": curves,
                            "done": done, "npz": npz.name, "fingerprint": fingerprint}
    if avg is not None:
        meta["average"] = {"decay": avg.decay, "k": avg.k}
    atomic_write_json(js, meta)


def _load_checkpoint(path: str, opt: Adam, fingerprint: str) -> tuple[int, np.ndarray, np.ndarray, float,
                                                                      float | None, dict, np.ndarray | None,
                                                                      dict | None] | None:
    npz, js = _checkpoint_paths(path)
    if not js.exists() or not npz.exists():
        return None
    meta = read_json(js)
    if meta.get("fingerprint") != fingerprint:
        log.warning("checkpoint %s was made for another training job (other settings, data, graph or device "
                    "card): not resuming it, training this step from the start", js)
        return None
    z = read_npz(npz)  # a truncated file: PbitkitError naming it
    try:
        J, h = z["J_edge"], z["h"]
        opt.m = [z["m_J"], z["m_h"]]
        opt.v = [z["v_J"], z["v_h"]]
        persistent = z["persistent"] if "persistent" in z else None
        average = meta.get("average")
        if average is not None:
            average = dict(average, avg=[z["avg_J"], z["avg_h"]] if "avg_J" in z else None)
    except KeyError as exc:
        raise PbitkitError(f"checkpoint {npz} is unreadable: {exc}") from exc
    opt.t = int(meta["adam_t"])
    return int(meta["epoch"]), J, h, float(meta["lambda"]), meta["rho_prev"], meta["curves"], persistent, average


def train_step(job: StepJob, progress: ProgressCallback | None = None) -> StepResult:
    """Train step ``job.step`` of a DTM (see the module docstring for the algorithm).

    Resumes from ``job.checkpoint`` if it exists (a finished checkpoint returns at once).

    Returns
    -------
    StepResult with curves ``rho`` (lag-K autocorrelation), ``lambda``, ``grad_rms_J``, ``grad_rms_h``,
    ``denoise_err`` (free-phase visible error rate vs ``x^{t-1}``) and ``corr_gap`` per epoch.
    """
    cfg = job.config
    layout, fp, step = job.layout, job.forward, job.step
    if not 1 <= step <= fp.config.n_steps:
        raise ConfigError(f"step must be in 1..{fp.config.n_steps}, got {step}")
    data = np.asarray(job.data, dtype=np.int8)
    if data.ndim != 2 or data.shape[1] != layout.n_visible:
        raise ConfigError(f"training data must have shape (n, {layout.n_visible}), got {data.shape}")
    graph = layout.graph
    E, N = int(graph.n_edges), layout.n_nodes  # type: ignore[attr-defined]
    edges = np.asarray(graph.edges)  # type: ignore[attr-defined]
    j_fwd = fp.coupling(step)
    vis_mask = layout.visible_mask

    init_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, step, 2**31 - 1]))
    J = init_rng.normal(0.0, cfg.init_std, E)
    h = np.zeros(N)
    if job.init is not None:  # fine-tuning: start from given parameters (e.g. the ideal model, on a chip)
        J0, h0 = np.asarray(job.init.J_edge, dtype=np.float64), np.asarray(job.init.h, dtype=np.float64)
        if J0.shape != (E,) or h0.shape != (N,):
            raise ConfigError(f"step {step}: initial parameters have shapes {J0.shape}, {h0.shape}; the graph needs "
                              f"({E},), ({N},)")
        J, h = J0.copy(), h0.copy()
    opt = Adam([(E,), (N,)], cfg.lr, cfg.beta1, cfg.beta2, cfg.adam_eps)
    lam = cfg.acp.lambda_init
    rho_prev: float | None = None
    curves: dict[str, list[float]] = {k: [] for k in ("rho", "lambda", "grad_rms_J", "grad_rms_h", "denoise_err", "corr_gap")}
    start_epoch = 0
    n = data.shape[0]
    persistent: np.ndarray | None = None
    if cfg.free_phase == "persistent":  # one chain per example: visible at the clean example, latents random
        persistent = _init_state(layout, data, init_rng)
    avg = ParamAverage(cfg.ema_decay) if cfg.ema_decay > 0 else None
    fingerprint = job_fingerprint(job) if job.checkpoint else ""
    if job.checkpoint:
        ck = _load_checkpoint(job.checkpoint, opt, fingerprint)
        if ck is not None:
            start_epoch, J, h, lam, rho_prev, curves, p_ck, a_ck = ck
            if persistent is not None:
                if p_ck is None or p_ck.shape != persistent.shape:
                    raise PbitkitError(f"checkpoint {job.checkpoint} holds no persistent chains for {n} examples "
                                       "(incomplete or edited: its fingerprint matches this job)")
                persistent = p_ck
            if (a_ck is None) != (avg is None) or (avg is not None and a_ck["decay"] != avg.decay):
                raise PbitkitError(f"checkpoint {job.checkpoint} holds averaging state for train.ema_decay = "
                                   f"{0.0 if a_ck is None else a_ck['decay']}, this run has {cfg.ema_decay} "
                                   "(incomplete or edited: its fingerprint matches this job)")
            if avg is not None and a_ck is not None:
                avg.k, avg.avg = int(a_ck["k"]), a_ck["avg"]
            log.info("step %d: resuming from %s at epoch %d", step, job.checkpoint, start_epoch)
            if start_epoch >= cfg.epochs:  # finished (a larger cfg.epochs continues training)
                return StepResult(step, _result_params(J, h, j_fwd, avg), curves)
    # the chip (drawn and calibrated from its own seed) only when there is training left to do
    hardware = make_hardware_for(graph, job.sampler) if job.sampler.mode == "device" else None

    anneal = cfg.anneal_schedule()
    bs = min(cfg.batch_size, n)
    n_batches = max(1, n // bs)
    for epoch in range(start_epoch, cfg.epochs):
        rng = _epoch_rng(cfg.seed, step, epoch)
        runner = Runner(graph, job.sampler, hardware)  # fresh random stream per epoch: resume is bit-exact
        order = rng.permutation(n)
        opt.lr = cfg.lr_at(epoch)
        g_j_acc = g_h_acc = err_acc = gap_acc = 0.0
        for b in range(n_batches):
            idx = order[b * bs:(b + 1) * bs]
            x0 = data[idx]
            prev, nxt = fp.sample_pair(x0, step, rng)
            fields = input_fields(layout, h, j_fwd, nxt)
            # clamped phase: visible = x^{t-1}
            sc = _init_state(layout, prev, rng)
            clamped = runner.program(J, fields, vis_mask)  # each phase programmed once per batch
            sc = _burn_in(runner, clamped, sc, J, fields, vis_mask, anneal, rng)
            sc, m1c, m2c = runner.moments(clamped, sc, cfg.measure, rng)
            # free phase: visible start at x^t, or each example's persistent chain
            sf = _init_state(layout, nxt, rng) if persistent is None else persistent[idx]
            free = runner.program(J, fields, None)
            sf = _burn_in(runner, free, sf, J, fields, None, anneal, rng)
            sf, m1f, m2f = runner.moments(free, sf, cfg.measure, rng)
            if persistent is not None:
                persistent[idx] = sf
            ss_c, ss_f = m2c, m2f
            mbar = m1f.mean(0)  # batch means: a stuck chain's own time average would hide its correlation
            mm_f = mbar[edges[:, 0]] * mbar[edges[:, 1]]
            g_J = ss_c - ss_f + lam * (mm_f - ss_f) - cfg.weight_decay * J
            g_h = m1c.mean(0) - m1f.mean(0) - cfg.weight_decay * h
            opt.step([J, h], [g_J, g_h])
            if avg is not None and epoch >= cfg.ema_start:
                avg.update([J, h])
            g_j_acc += float(np.sqrt(np.mean(g_J**2)))
            g_h_acc += float(np.sqrt(np.mean(g_h**2)))
            err_acc += float(np.mean(np.abs(m1f[:, layout.visible] - prev) / 2))
            gap_acc += float(np.mean(ss_f - mm_f))
        # ACP monitor on fresh inputs x^t
        mon_idx = rng.choice(n, size=min(max(1, cfg.monitor_chains // 4), n), replace=False)
        _, x_mon = fp.sample_pair(data[mon_idx], step, rng)
        rho = monitor_autocorrelation(runner, layout, StepParams(J, h, j_fwd), x_mon, cfg.k_sample, cfg.monitor_length, rng)
        new_lam = acp_update(lam, rho, rho_prev, cfg.acp)
        for k, v in (("rho", rho), ("lambda", lam), ("grad_rms_J", g_j_acc / n_batches), ("grad_rms_h", g_h_acc / n_batches),
                     ("denoise_err", err_acc / n_batches), ("corr_gap", gap_acc / n_batches)):
            curves[k].append(float(v))
        log.info("step %d epoch %d/%d: rho(K=%d)=%.3f lambda=%.2e denoise_err=%.3f", step, epoch + 1, cfg.epochs,
                 cfg.k_sample, rho, lam, err_acc / n_batches)
        lam, rho_prev = new_lam, rho
        if job.checkpoint:
            _save_checkpoint(job.checkpoint, epoch + 1, J, h, opt, lam, rho_prev, curves, epoch + 1 == cfg.epochs,
                             persistent, avg, fingerprint)
        if progress:
            progress(epoch + 1, cfg.epochs, f"step {step} rho={rho:.3f}")
    return StepResult(step, _result_params(J, h, j_fwd, avg), curves)


def _result_params(J: np.ndarray, h: np.ndarray, j_fwd: np.ndarray, avg: ParamAverage | None) -> StepParams:
    """The step's trained parameters: the running average when averaging, else the last iterate."""
    if avg is None or avg.avg is None:
        return StepParams(J, h, j_fwd)
    return StepParams(avg.avg[0].copy(), avg.avg[1].copy(), j_fwd)


def _burn_in(runner: Any, programmed: Any, state: np.ndarray, J: np.ndarray, fields: np.ndarray,
             clamp: np.ndarray | None, anneal: list[tuple[float, int]], rng: np.random.Generator) -> np.ndarray:
    """Burn-in sweeps of one phase: at beta = 1 on ``programmed``, or annealed (``(beta, sweeps)`` stages,
    couplings and fields scaled by ``beta``; the stage at beta = 1 reuses ``programmed``)."""
    for beta, k in anneal:
        prog = programmed if beta == 1.0 else runner.program(beta * J, beta * fields, clamp)
        state = runner.sweeps(prog, state, k, rng)
    return state
