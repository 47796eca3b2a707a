"""Evaluate a trained DTM: quality vs energy across array modes, sweeps per step K and steps T.

For each mode — ``ideal``, ``device`` (a chip drawn from the card), ``device+cal`` (the same chip after
offset calibration) and ``hw-aware`` (a model trained *on* that chip, run on it) — and each ``K`` it draws
``n_samples`` unconditional samples and ``n_samples`` label-clamped ones, and records

- Fréchet classifier distance to held-out data with a bootstrap CI, the real-vs-real floor at the same
  sample count, KID, pixel-marginal and pair-correlation errors, conditional accuracy;
- energy and time per sample from the array ledger (:mod:`pbitkit.dtm.energy`) and the digital baselines.

Baselines on the same metrics: independent pixels, Bernoulli mixtures (20 and 50 components by default),
and the monolithic Boltzmann machine (a DTM with T = 1) when its run is given.

Results are typed (:class:`EvalPoint`, :class:`~pbitkit.dtm.metrics.SampleQuality`); ``results.json``
holds their ``as_dict()`` forms. Random streams: one ``SeedSequence(seed)`` spawns independent children
for the (mode, K) points, the baselines and the sample grids. A missing device card, a failing
calibration or an unknown mode raise (no mode is skipped silently).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pbitkit.dtm.baselines import fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import FrozenClassifier
from pbitkit.dtm.energy import EnergyReport, IOCosts, digital_energy, dtm_energy_from_ledger, step_sweeps, sweeps_per_sample
from pbitkit.dtm.generation import generate
from pbitkit.dtm.metrics import ConditionalAccuracy, SampleQuality, frechet_from_features, paired_difference_ci
from pbitkit.dtm.pipeline import TrainedDTM, conditional_report, evaluate_samples
from pbitkit.dtm.runner import SamplerSpec, default_card_path, load_card, make_hardware_for
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback

__all__ = ["EvalConfig", "EvalPoint", "evaluate_dtm", "mode_chips", "mode_K_values", "point_step_K", "class_prior", "evaluate_baselines", "paired_comparisons", "digital_comparison",
           "run_evaluation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings (the ``[evaluate]`` table).

    Attributes
    ----------
    n_samples : generated samples per (mode, K) point (unconditional; the same number label-clamped) and per
        baseline; compared with the whole held-out set. More samples narrow the CI and lower the Fréchet
        distance's finite-sample bias (digits: 1.40 at 1,000 samples, 1.12 at 10,000 for the same model),
        so models are compared at equal counts; default 10,000 (CI about ±0.08 on digits: at 5,000 the DTM's
        and the 50-component mixture's intervals overlap).
    K_values : sweeps per step to sweep.
    K_later : sweeps of each of steps ``2 .. T`` at every point, where step 1 (the last denoising step) runs
        ``K`` from ``K_values``; ``0`` (the default): ``K`` for every step. On the digits grid the steps near the
        noise mix in a few sweeps and ``K_later = 5`` (35 sweeps per sample instead of 80 at ``K = 20``) was
        level in Fréchet distance; the default crossbar needs more (0.94 at 5 against 0.87 at 20, level at 10;
        docs/dtm.md). The energy ledger, the digital comparison and the throughput count
        ``K + (T - 1) * K_later`` sweeps per sample.
    n_boot : bootstrap replicates of the Fréchet distance.
    fd_ci : what the Fréchet distance's CI covers: ``"samples"`` (default) resamples the generated samples
        against the fixed held-out set — the distance to *this* held-out set, the interval that separates
        models compared on it (more samples narrow it); ``"both"`` also resamples the held-out set (the
        distance to the data distribution; on the 359 held-out digits this is ±0.5 wide for every model).
        The paired comparisons always resample the held-out set too.
    n_mixture : component counts of the Bernoulli-mixture baselines.
    unconditional : how "unconditional" samples of a model with label nodes are drawn: ``"free"`` (label
        bits start as noise and evolve with the chain like the pixels; the default) or ``"label_prior"``
        (ancestral: a class ``y`` from the training set's class frequencies, written to the label nodes and
        clamped, then the image from the DTM given ``y`` — the model is ``p(y) p(x | y)``).
    equal_energy : evaluate the other-T machines (modes ``T<n>``) at ``K x T_main / n`` sweeps per step
        instead of ``K``, i.e. at the same number of sweeps — the same array energy — per sample as the main
        DTM at ``K`` (the paper's DTM-vs-monolithic comparison); paired comparisons then match equal energy.
        With ``K_later`` their step 1 takes the difference: ``K + (T_main - n) * K_later`` (at least 1).
    cpu_power_W : assumed power of the CPU cores running the software sampler (digital baseline).
    io_per_step : charge data I/O at every step instead of once per sample.
    seed : seed of sampling and bootstrap.
    """

    n_samples: int = 10000
    K_values: tuple[int, ...] = (5, 10, 20)
    K_later: int = 0
    n_boot: int = 50
    fd_ci: Literal["samples", "both"] = "samples"
    n_mixture: tuple[int, ...] = (20, 50)
    unconditional: Literal["label_prior", "free"] = "free"
    equal_energy: bool = False
    cpu_power_W: float = 15.0
    io_per_step: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_samples < 10:
            raise ConfigError(f"evaluate.n_samples must be >= 10, got {self.n_samples}")
        if not self.K_values or min(self.K_values) < 1:
            raise ConfigError(f"evaluate.K_values must be a non-empty list of positive integers, got {self.K_values}")
        if self.K_later < 0:
            raise ConfigError(f"evaluate.K_later must be >= 0 (0: K for every step), got {self.K_later}")
        if self.n_boot < 2:
            raise ConfigError(f"evaluate.n_boot must be >= 2, got {self.n_boot}")
        if self.unconditional not in ("label_prior", "free"):
            raise ConfigError(f"evaluate.unconditional must be 'label_prior' or 'free', got {self.unconditional!r}")
        if self.fd_ci not in ("samples", "both"):
            raise ConfigError(f"evaluate.fd_ci must be 'samples' or 'both', got {self.fd_ci!r}")
        if any(k < 1 for k in self.n_mixture):
            raise ConfigError(f"evaluate.n_mixture must hold positive component counts, got {self.n_mixture}")


@dataclass(frozen=True)
class EvalPoint:
    """Quality, mixing and energy of one (mode, K) point.

    Attributes
    ----------
    mode, K, T : the array mode label, sweeps per step (step 1's when ``step_K`` differ) and steps.
    quality : unconditional samples vs held-out data (FD with CI, real-vs-real floor, KID, ...).
    cond_acc : label-clamped accuracy (``None`` for a model without label nodes).
    rho_K_per_step : lag-K autocorrelation of each step's free chains (mixing diagnostic).
    energy : energy per sample from the array ledger.
    sample_time_s : wall time of the unconditional generation (s); ``updates_per_s`` its throughput.
    pixels : the unconditional samples (kept for paired comparisons; not written to ``results.json``).
    step_K : sweeps of steps ``1 .. T`` (``EvalConfig.K_later``); empty: ``K`` for every step.
    """

    mode: str
    K: int
    T: int
    quality: SampleQuality
    cond_acc: ConditionalAccuracy | None
    rho_K_per_step: tuple[float, ...]
    energy: EnergyReport
    sample_time_s: float
    updates_per_s: float
    pixels: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.empty((0, 0), np.int8))
    step_K: tuple[int, ...] = ()

    @property
    def sweeps_per_sample(self) -> int:
        """Array sweeps per sample: ``sum(step_K)``, or ``T * K``."""
        return sweeps_per_sample(self.T, self.K, self.step_K or None)

    @property
    def rho_K_max(self) -> float:
        return float(max(self.rho_K_per_step))

    def as_dict(self) -> dict[str, Any]:
        """The ``results.json`` form (flat quality keys: ``fd``, ``fd_floor``, ``kid``, ...)."""
        return {"mode": self.mode, "K": self.K, "T": self.T,
                "step_K": list(self.step_K) if self.step_K else [self.K] * self.T,
                "sweeps_per_sample": self.sweeps_per_sample, **self.quality.as_dict(),
                "cond_acc": self.cond_acc.as_dict() if self.cond_acc else None,
                "rho_K_per_step": list(self.rho_K_per_step), "rho_K_max": self.rho_K_max,
                "energy": self.energy.as_dict(), "sample_time_s": self.sample_time_s,
                "updates_per_s": self.updates_per_s}


def _ledger_energy(model: TrainedDTM, card_spec: SamplerSpec, step_K: tuple[int, ...], io: IOCosts,
                   update_interval_s: float | None) -> EnergyReport:
    lay = model.dtm.layout
    # I/O per sample: write the clamped label bits, read the output pixels. The initial noise x^T needs no
    # write: the p-bits draw it themselves (one sweep at zero coupling, negligible next to the T steps' sweeps).
    return dtm_energy_from_ledger(lay.graph, load_card(card_spec.card), T=model.dtm.n_steps, K=step_K[0],
                                  n_write=lay.n_label_bits, n_read=lay.n_pixels, io=io,
                                  update_interval_s=update_interval_s,
                                  step_K=step_K)


def mixing_rho(model: TrainedDTM, spec: SamplerSpec, K: int | Sequence[int], rng: np.random.Generator, *,
               n_inputs: int = 8, length: int = 4, hardware: Any = None) -> list[float]:
    """Lag-``K`` autocorrelation of each step's free chains on the array of ``spec`` (mixing diagnostic).

    Step ``t`` is driven by inputs ``x^t`` noised from held-out data; 4 replica chains per input, ``length*K``
    recorded sweeps (:func:`pbitkit.dtm.train.monitor_autocorrelation`); with per-step sweeps ``K`` (a list,
    step 1 first) step ``t`` at its own lag ``K_t``. ``hardware``: the chip of ``spec`` to reuse (device
    mode; default drawn here). Returns one value per step 1..T.
    """
    from pbitkit.dtm.pipeline import visible_data
    from pbitkit.dtm.runner import make_runner
    from pbitkit.dtm.train import monitor_autocorrelation

    dtm = model.dtm
    ks = step_sweeps(K, dtm.n_steps)
    runner = make_runner(dtm.layout.graph, spec, hardware)
    data = visible_data(dtm.layout, model.test)
    out = []
    for t in range(1, dtm.n_steps + 1):
        x0 = data[rng.choice(len(data), size=min(n_inputs, len(data)), replace=False)]
        x_t = dtm.forward.sample_marginal(x0, t, rng)
        out.append(monitor_autocorrelation(runner, dtm.layout, dtm.steps[t - 1], x_t, ks[t - 1], length, rng))
    return out


def mode_K_values(mode: str, T: int, t_main: int, cfg: EvalConfig) -> tuple[int, ...]:
    """Sweeps per step at which mode ``mode`` (a model with ``T`` steps) is evaluated: ``cfg.K_values``, or
    for the other-T machines (``T<n>``, also on the calibrated chip: ``T<n>+cal``) under ``cfg.equal_energy`` the same sweeps per sample as the main
    DTM (``T_main`` steps): ``round(K * T_main / T)``, or with ``cfg.K_later`` (steps 2..T at ``K_later``
    in both machines) ``K + (T_main - T) * K_later`` for step 1 (at least 1)."""
    base = mode.removesuffix("+cal")  # the other-T machine on the calibrated chip: same sweeps as ideal
    if cfg.equal_energy and base.startswith("T") and base[1:].isdigit() and T != t_main:
        if cfg.K_later:
            return tuple(max(1, K + (t_main - T) * cfg.K_later) for K in cfg.K_values)
        return tuple(max(1, round(K * t_main / T)) for K in cfg.K_values)
    return tuple(cfg.K_values)


def point_step_K(K: int, T: int, cfg: EvalConfig) -> tuple[int, ...]:
    """Sweeps of steps ``1 .. T`` at an evaluation point whose step 1 runs ``K``: ``K_later`` for steps
    ``2 .. T`` when set, else ``K`` for every step."""
    return (K,) + (cfg.K_later or K,) * (T - 1)


def unconditional_labels(model: TrainedDTM, n: int, cfg: EvalConfig, seed: np.random.SeedSequence
                         ) -> np.ndarray | None:
    """Labels to clamp for ``n`` unconditional samples: drawn from the training set's class frequencies
    under ``cfg.unconditional = "label_prior"`` (``None`` — free label bits — otherwise or without label nodes)."""
    lay = model.dtm.layout
    if cfg.unconditional != "label_prior" or not lay.n_label_bits:
        return None
    return np.random.default_rng(seed.spawn(1)[0]).choice(lay.n_classes, size=n, p=class_prior(model))


def class_prior(model: TrainedDTM) -> np.ndarray | None:
    """The training set's class frequencies ``(n_classes,)`` (``None`` for a model without label nodes):
    the class prior of the forward process's end point that unconditional generation starts from."""
    lay = model.dtm.layout
    if not lay.n_label_bits:
        return None
    return np.bincount(model.train.y, minlength=lay.n_classes) / len(model.train.y)


def mode_chips(modes: dict[str, tuple[TrainedDTM, SamplerSpec]]) -> dict[str, Any]:
    """The chip of every device-mode entry of ``modes`` (label → (model, spec)), drawn and calibrated once
    per distinct (spec, graph) — the calibrated chip of ``device+cal``, ``hw-aware`` and ``T1+cal`` is one
    chip (:func:`pbitkit.dtm.runner.make_hardware_for`; the draw and the calibration are seeded by the spec's
    ``chip_seed``, so reusing the chip across K values and modes gives the same numbers as drawing it per
    call)."""
    from pbitkit.io import sha256_bytes

    made: dict[tuple[Any, ...], Any] = {}
    out: dict[str, Any] = {}
    for label, (model, spec) in modes.items():
        if spec.mode != "device":
            continue
        graph = model.dtm.layout.graph
        key = (spec, int(graph.n_nodes), sha256_bytes(np.ascontiguousarray(graph.edges).tobytes()))
        if key not in made:
            made[key] = make_hardware_for(graph, spec)
        out[label] = made[key]
    return out


def evaluate_dtm(
    tr: TrainedDTM,
    clf: FrozenClassifier,
    *,
    modes: dict[str, tuple[TrainedDTM, SamplerSpec]],
    cfg: EvalConfig,
    device: SamplerSpec,
    seed: np.random.SeedSequence | None = None,
    progress: ProgressCallback | None = None,
    chips: dict[str, Any] | None = None,
) -> list[EvalPoint]:
    """Quality and energy for every ``(mode, K)``.

    Parameters
    ----------
    tr : the main trained DTM (provides the held-out data and the real data of the floor).
    modes : label → (trained DTM to run, sampler spec) — e.g. ``{"ideal": (tr, SamplerSpec()), ...}``.
    device : the chip (``DTMConfig.device``) whose DeviceModel card prices the energy (the same array in
        every mode).
    seed : root of the random streams (default ``SeedSequence(cfg.seed)``); each point gets its own child.
    chips : label → chip of the device-mode entries (:func:`mode_chips`; default drawn here, once per mode).

    Returns
    -------
    list of :class:`EvalPoint`, modes in the given order, K ascending within a mode.
    """
    root = seed if seed is not None else np.random.SeedSequence(cfg.seed)
    children = iter(root.spawn(len(modes) * len(cfg.K_values)))
    t_main = tr.dtm.n_steps
    ref = tr.test.x
    n = cfg.n_samples
    io = IOCosts(io_per_step=cfg.io_per_step)
    out: list[EvalPoint] = []
    total = len(modes) * len(cfg.K_values)
    chips = mode_chips(modes) if chips is None else chips
    for label, (model, spec) in modes.items():
        hw = chips.get(label)
        for K in mode_K_values(label, model.dtm.n_steps, t_main, cfg):
            s_gen, s_cond, s_eval, s_mix, s_floor = next(children).spawn(5)
            ks = point_step_K(K, model.dtm.n_steps, cfg)
            t0 = time.perf_counter()
            g = generate(model.dtm, n, K=ks, labels=unconditional_labels(model, n, cfg, s_gen), sampler=spec,
                         seed=s_gen, class_prior=class_prior(model), hardware=hw)
            dt = time.perf_counter() - t0
            floor_rng = np.random.default_rng(s_floor)
            floor_ref = tr.train.x[floor_rng.choice(len(tr.train.x), size=min(n, len(tr.train.x)), replace=False)]
            q = evaluate_samples(g.pixels, ref, clf, np.random.default_rng(s_eval), n_boot=cfg.n_boot,
                                 floor_reference=floor_ref, fd_ci=cfg.fd_ci)
            acc = None
            if model.dtm.layout.n_label_bits:
                labs = np.arange(n) % model.dtm.layout.n_classes
                gc = generate(model.dtm, n, K=ks, labels=labs, sampler=spec, seed=s_cond, hardware=hw)
                acc = conditional_report(clf, gc.pixels, labs)
            rhos = tuple(mixing_rho(model, spec, ks, np.random.default_rng(s_mix), hardware=hw))
            pt = EvalPoint(mode=label, K=K, T=model.dtm.n_steps, quality=q, cond_acc=acc, rho_K_per_step=rhos,
                           energy=_ledger_energy(model, device, ks, io, spec.update_interval_s), sample_time_s=dt,
                           updates_per_s=n * sum(ks) * model.dtm.layout.n_nodes / dt, pixels=g.pixels,
                           step_K=ks if cfg.K_later else ())
            out.append(pt)
            log.info("%s K=%d: FD %s acc %s", label, K, q.fd, f"{acc.accuracy:.3f}" if acc else "-")
            if progress:
                progress(len(out), total, f"{label} K={K}")
    return out


def evaluate_baselines(tr: TrainedDTM, clf: FrozenClassifier, cfg: EvalConfig,
                       seed: np.random.SeedSequence | None = None,
                       samples_out: dict[str, np.ndarray] | None = None) -> dict[str, SampleQuality]:
    """Independent pixels and Bernoulli mixtures (EM, ``cfg.n_mixture`` components), ``cfg.n_samples``
    samples each, on the same metrics against the same held-out data. Keys: ``independent``,
    ``bernoulli_mixture_<k>``; the samples go into ``samples_out`` under the same keys when it is given."""
    root = seed if seed is not None else np.random.SeedSequence([cfg.seed, 1])
    s_ind, *s_mix = root.spawn(1 + len(cfg.n_mixture))
    ref = tr.test.x
    n = cfg.n_samples
    rng = np.random.default_rng(s_ind)
    samples = {"independent": fit_independent(tr.train.x).sample(n, rng)}
    out = {"independent": evaluate_samples(samples["independent"], ref, clf, rng, n_boot=cfg.n_boot, fd_ci=cfg.fd_ci)}
    for k, ss in zip(cfg.n_mixture, s_mix):
        rng = np.random.default_rng(ss)
        key = f"bernoulli_mixture_{k}"
        samples[key] = fit_bernoulli_mixture(tr.train.x, k, rng).sample(n, rng)
        out[key] = evaluate_samples(samples[key], ref, clf, rng, n_boot=cfg.n_boot, fd_ci=cfg.fd_ci)
    if samples_out is not None:
        samples_out.update(samples)
    return out


def paired_comparisons(points: list[EvalPoint], baseline_samples: dict[str, np.ndarray], tr: TrainedDTM,
                       clf: FrozenClassifier, cfg: EvalConfig, seed: np.random.SeedSequence) -> list[dict[str, Any]]:
    """ΔFD = FD(DTM) − FD(other) with a paired bootstrap CI (same resampled held-out set for both), for the
    ideal DTM at each K against the T = 1 machine at the same K and against each baseline.

    The held-out set is small (a few hundred digits), so each FD's own CI is wide and mostly reference
    noise; the paired interval removes that common part and answers "is the DTM closer to the data than
    the other model?" (interval below 0: yes).
    """
    fr = clf.features(tr.test.x)
    ideal = {p.K: p for p in points if p.mode == "ideal"}
    t1 = [p for p in points if p.mode == "T1"]
    # the T = 1 point of each ideal K: same K, or the same sweeps per sample under cfg.equal_energy
    k_of = dict(zip(mode_K_values("T1", 1, tr.dtm.n_steps, cfg), cfg.K_values))
    others: list[tuple[int, str, np.ndarray]] = [(k_of.get(p.K, p.K), f"T1 (K={p.K})", p.pixels) for p in t1
                                                  if k_of.get(p.K, p.K) in ideal]
    others += [(K, name, pix) for K in ideal for name, pix in baseline_samples.items()]
    out = []
    for (K, name, pix), ss in zip(others, seed.spawn(len(others))):
        d = paired_difference_ci(frechet_from_features, clf.features(ideal[K].pixels), clf.features(pix), fr,
                                 np.random.default_rng(ss), n_boot=max(cfg.n_boot, 100))
        out.append({"model": f"ideal T={ideal[K].T} (K={K})", "versus": name, "delta_fd": d.as_dict()})
    return out


def measure_cpu_updates_per_s(graph: Any, *, n_chains: int = 256, n_sweeps: int = 200, seed: int = 0) -> float:
    """Steady-state single-site updates per second of the ``ideal`` array sampler on this CPU (after a
    warm-up call that triggers compilation), for ``graph`` with random couplings ``N(0, 0.1^2)``."""
    from pbitkit.array import GibbsSampler, random_state

    rng = np.random.default_rng(seed)
    smp = GibbsSampler(graph)
    J = rng.normal(0.0, 0.1, graph.n_edges)
    h = np.zeros(graph.n_nodes)
    s = random_state(n_chains, graph.n_nodes, rng)
    s, _ = smp.run(s, J, h, n_sweeps=5, rng=rng, moments=False)
    t0 = time.perf_counter()
    smp.run(s, J, h, n_sweeps=n_sweeps, rng=rng, moments=False)
    return n_chains * graph.n_nodes * n_sweeps / (time.perf_counter() - t0)


def digital_comparison(points: list[EvalPoint], tr: TrainedDTM, cfg: EvalConfig) -> list[dict[str, Any]]:
    """Digital energy per sample for each (T, K) of the ideal mode, next to the array's (``sweeps``: array
    sweeps per sample, ``sum`` of the per-step sweeps); the CPU row uses the sampler's measured steady-state
    throughput on this machine (:func:`measure_cpu_updates_per_s`)."""
    g = tr.dtm.layout.graph
    mean_deg = 2.0 * g.n_edges / g.n_nodes  # type: ignore[attr-defined]
    ups = measure_cpu_updates_per_s(g)
    rows = []
    for p in points:
        if not (p.mode == "ideal" or (p.mode.startswith("T") and p.mode[1:].isdigit())):
            continue
        base = digital_energy(T=p.T, K=p.K, n_cells=tr.dtm.layout.n_nodes, mean_degree=mean_deg,
                              cpu_updates_per_s=ups, cpu_power_W=cfg.cpu_power_W, step_K=p.step_K or None)
        e = p.energy
        io = sum(v for k, v in e.breakdown_J.items() if k.startswith("io_"))
        rows.append({"T": p.T, "K": p.K, "sweeps": e.sweeps_per_sample, "array_J": e.total_J,
                     "array_without_io_J": e.total_J - io,
                     **{b.name: b.energy_per_sample_J for b in base},
                     "assumptions": {b.name: b.assumptions for b in base}})
    return rows


def run_evaluation(
    cfg: Any,
    run_dir: str | Path,
    out_dir: str | Path,
    ecfg: EvalConfig,
    *,
    modes: list[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Evaluate every model of a ``dtm train`` run and write the report into ``out_dir``.

    ``device`` runs the main model on the ``[device]`` chip uncalibrated, ``device+cal`` on the same chip
    after calibration, ``hw-aware`` runs the hardware-aware model on the chip it was trained on
    (``[device]`` as configured).

    ``modes`` (default: all available): ``ideal``, ``device``, ``device+cal``, ``hw-aware`` (when trained),
    ``no-acp`` / ``no-acp+cal`` (the model trained without penalty, ideal / on the calibrated chip, when
    trained), ``T1`` and the other ``T<n>`` runs of ``extra_T``, and ``T<n>+cal``: those machines on the calibrated
    chip (the chip-side DTM-vs-monolithic comparison).

    Raises
    ------
    ConfigError
        No trained model in ``run_dir``, or a requested mode that is unknown or was not trained.
    PbitkitError
        The ``[device] card`` is missing or malformed (it prices the energy of every mode).
    """
    import dataclasses
    import os
    import platform

    from pbitkit.dtm.classifier import classifier_for
    from pbitkit.dtm.pipeline import load_dtm, variants
    from pbitkit.dtm.report import write_report

    vs = variants(cfg)
    trained = {name: load_dtm(vcfg, Path(run_dir) / sub) for name, (vcfg, sub) in vs.items()
               if (Path(run_dir) / sub / "model.npz").exists()}
    if "main" not in trained:
        raise ConfigError(f"{run_dir} holds no trained model (run `pbitkit dtm train --out {run_dir}` first)")
    main = trained["main"]
    clf = classifier_for(cfg.data.name, main.train.x, main.train.y)
    load_card(cfg.device.card)  # a missing or malformed card is an error here, before any sampling
    avail: dict[str, tuple[TrainedDTM, SamplerSpec]] = {
        "ideal": (main, SamplerSpec()),
        "device": (main, dataclasses.replace(cfg.device, calibrate=False)),
        "device+cal": (main, dataclasses.replace(cfg.device, calibrate=True)),
    }
    if "hw_aware" in trained:
        avail["hw-aware"] = (trained["hw_aware"], cfg.device)
    if "no_acp" in trained:
        avail["no-acp"] = (trained["no_acp"], SamplerSpec())
        avail["no-acp+cal"] = (trained["no_acp"], dataclasses.replace(cfg.device, calibrate=True))
    for name in sorted((n for n in trained if n.startswith("T")), key=lambda n: int(n[1:])):
        avail[name] = (trained[name], SamplerSpec())
    for name in [n for n in avail if n.startswith("T")]:  # the same machines on the calibrated chip
        avail[f"{name}+cal"] = (trained[name], dataclasses.replace(cfg.device, calibrate=True))
    if modes is not None:
        unknown = [m for m in modes if m not in avail]
        if unknown:
            raise ConfigError(f"unknown or untrained evaluation mode(s) {unknown} for {run_dir}; "
                              f"available: {', '.join(avail)}")
    chosen = {m: avail[m] for m in (modes or list(avail))}
    s_points, s_base, s_grids, s_pairs = np.random.SeedSequence(ecfg.seed).spawn(4)
    chips = mode_chips(chosen)
    points = evaluate_dtm(main, clf, modes=chosen, cfg=ecfg, device=cfg.device, seed=s_points, progress=progress,
                          chips=chips)
    base_samples: dict[str, np.ndarray] = {}
    baselines = evaluate_baselines(main, clf, ecfg, seed=s_base, samples_out=base_samples)
    comparisons = paired_comparisons(points, base_samples, main, clf, ecfg, s_pairs)
    digital = digital_comparison(points, main, ecfg)
    kmax = max(ecfg.K_values)
    grids: dict[str, tuple[np.ndarray, tuple[int, int]]] = {"data": (main.test.x[:50], main.train.shape)}
    for (m, (tr, spec)), ss in zip(chosen.items(), s_grids.spawn(len(chosen))):
        s_unc, s_lab = ss.spawn(2)
        g = generate(tr.dtm, 50, K=point_step_K(kmax, tr.dtm.n_steps, ecfg), labels=unconditional_labels(tr, 50, ecfg, s_unc), sampler=spec, seed=s_unc,
                     class_prior=class_prior(tr), hardware=chips.get(m))
        grids[f"{m}_K{kmax}"] = (g.pixels, tr.train.shape)
        if tr.dtm.layout.n_label_bits:
            labs = np.repeat(np.arange(tr.dtm.layout.n_classes), 5)
            gc = generate(tr.dtm, len(labs), K=point_step_K(kmax, tr.dtm.n_steps, ecfg), labels=labs, sampler=spec, seed=s_lab,
                          hardware=chips.get(m))
            order = np.argsort(np.tile(np.arange(5), tr.dtm.layout.n_classes), kind="stable")
            grids[f"{m}_K{kmax}_label_clamped"] = (gc.pixels[order], tr.train.shape)
    lay = main.dtm.layout
    meta = {
        "dataset": f"{cfg.data.name} ({main.train.shape[0]}x{main.train.shape[1]}, train {len(main.train.y)}, held-out {len(main.test.y)})",
        "model": f"{cfg.model.pattern} {cfg.model.L}x{cfg.model.L} ({lay.n_nodes} nodes, {lay.graph.n_edges} edges), "
                 f"{lay.n_visible} visible ({lay.n_pixels} pixels + {lay.n_label_bits} label bits), T={main.dtm.n_steps}",
        "classifier": f"frozen MLP sha256 {clf.sha256[:12]}, held-out accuracy {clf.test_accuracy:.3f}",
        "device card": cfg.device.card or f"pbitkit/data/{default_card_path().name} (the default cell's)",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "samples per point": ecfg.n_samples,
        "held-out reference": len(main.test.y),
    }
    return write_report(out_dir, points=points, baselines=baselines, digital=digital,
                        curves={name: t.curves for name, t in trained.items()}, grids=grids, meta=meta,
                        eps=cfg.train.acp.eps, comparisons=comparisons)
