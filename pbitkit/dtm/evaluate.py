"""Evaluate a trained DTM: quality vs energy across array modes, sweeps per step K and steps T.

For each mode — ``ideal``, ``device`` (a chip drawn from the card), ``device+cal`` (the same chip after
offset calibration) and ``hw-aware`` (a model trained *on* that chip, run on it) — and each ``K`` it draws
``n_samples`` unconditional samples and ``n_samples`` label-clamped ones, and records

- Fréchet classifier distance to held-out data with a bootstrap CI, the real-vs-real floor at the same
  sample count, KID, pixel-marginal and pair-correlation errors, conditional accuracy;
- energy and time per sample from the array ledger (:mod:`pbitkit.dtm.energy`) and the digital baselines.

Baselines on the same metrics: independent pixels, a Bernoulli mixture, and the monolithic Boltzmann
machine (a DTM with T = 1) when its run is given.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.dtm.baselines import fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import FrozenClassifier
from pbitkit.dtm.energy import IOCosts, digital_energy, dtm_energy_from_ledger
from pbitkit.dtm.generate import generate
from pbitkit.dtm.pipeline import TrainedDTM, conditional_report, evaluate_samples
from pbitkit.dtm.runner import SamplerSpec, load_card
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback

__all__ = ["EvalConfig", "evaluate_dtm", "evaluate_baselines", "digital_comparison", "run_evaluation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings (the ``[evaluate]`` table).

    Attributes
    ----------
    n_samples : samples per (mode, K) point (unconditional; the same number label-clamped).
    K_values : sweeps per step to sweep.
    n_boot : bootstrap replicates of the Fréchet distance.
    cpu_power_W : assumed power of the CPU cores running the software sampler (digital baseline).
    io_per_step : charge data I/O at every step instead of once per sample.
    seed : seed of sampling and bootstrap.
    """

    n_samples: int = 500
    K_values: tuple[int, ...] = (5, 10, 20, 40)
    n_boot: int = 50
    cpu_power_W: float = 15.0
    io_per_step: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_samples < 10:
            raise ConfigError(f"evaluate.n_samples must be >= 10, got {self.n_samples}")
        if not self.K_values or min(self.K_values) < 1:
            raise ConfigError(f"evaluate.K_values must be a non-empty list of positive integers, got {self.K_values}")


def _ledger_energy(tr: TrainedDTM, spec: SamplerSpec, K: int, io: IOCosts) -> dict[str, Any] | None:
    lay = tr.dtm.layout
    try:
        card = load_card(spec.card)
    except Exception as exc:  # no card: energy cannot be computed, quality still can
        log.warning("no device card for the energy ledger (%s); energy left empty", exc)
        return None
    # I/O per sample: write the clamped label bits, read the output pixels. The initial noise x^T needs no
    # write: the p-bits draw it themselves (one sweep at zero coupling, negligible next to T*K sweeps).
    rep = dtm_energy_from_ledger(lay.graph, card, T=tr.dtm.n_steps, K=K, n_write=lay.n_label_bits, n_read=lay.n_pixels, io=io,
                                 update_interval_s=spec.update_interval_s)
    return rep.as_dict()


def mixing_rho(model: TrainedDTM, spec: SamplerSpec, K: int, rng: np.random.Generator, *, n_inputs: int = 8,
               length: int = 4) -> list[float]:
    """Lag-``K`` autocorrelation of each step's free chains on the array of ``spec`` (mixing diagnostic).

    Step ``t`` is driven by inputs ``x^t`` noised from held-out data; 4 replica chains per input, ``length*K``
    recorded sweeps (:func:`pbitkit.dtm.train.monitor_autocorrelation`). Returns one value per step 1..T.
    """
    from pbitkit.dtm.pipeline import visible_data
    from pbitkit.dtm.runner import make_runner
    from pbitkit.dtm.train import monitor_autocorrelation

    dtm = model.dtm
    runner = make_runner(dtm.layout.graph, spec)
    data = visible_data(dtm.layout, model.test)
    out = []
    for t in range(1, dtm.n_steps + 1):
        x0 = data[rng.choice(len(data), size=min(n_inputs, len(data)), replace=False)]
        x_t = dtm.forward.sample_marginal(x0, t, rng)
        out.append(monitor_autocorrelation(runner, dtm.layout, dtm.steps[t - 1], x_t, K, length, rng))
    return out


def evaluate_dtm(
    tr: TrainedDTM,
    clf: FrozenClassifier,
    *,
    modes: dict[str, tuple[TrainedDTM, SamplerSpec]],
    cfg: EvalConfig,
    progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Quality and energy for every ``(mode, K)``.

    Parameters
    ----------
    tr : the main trained DTM (provides the held-out data).
    modes : label → (trained DTM to run, sampler spec) — e.g. ``{"ideal": (tr, SamplerSpec()), ...}``.

    Returns
    -------
    list of dicts, one per point: ``mode, K, T, fd{value,lo,hi}, fd_floor, kid, marginal_err, pair_err,
    cond_acc{accuracy,se}, rho_K_per_step, rho_K_max (lag-K autocorrelation, mixing), energy{...},
    sample_time_s, updates_per_s``.
    """
    rng = np.random.default_rng(cfg.seed)
    ref = tr.test.x
    n = min(cfg.n_samples, len(ref))
    floor_ref = tr.train.x[rng.choice(len(tr.train.x), size=min(n, len(tr.train.x)), replace=False)]
    io = IOCosts(io_per_step=cfg.io_per_step)
    out: list[dict[str, Any]] = []
    total = len(modes) * len(cfg.K_values)
    done = 0
    for label, (model, spec) in modes.items():
        for K in cfg.K_values:
            t0 = time.perf_counter()
            g = generate(model.dtm, n, K=K, sampler=spec, seed=int(rng.integers(2**31)))
            dt = time.perf_counter() - t0
            res = evaluate_samples(g.pixels, ref[:n], clf, rng, n_boot=cfg.n_boot, floor_reference=floor_ref)
            pt: dict[str, Any] = {"mode": label, "K": K, "T": model.dtm.n_steps, **res}
            if model.dtm.layout.n_label_bits:
                labs = np.arange(n) % model.dtm.layout.n_classes
                gc = generate(model.dtm, n, K=K, labels=labs, sampler=spec, seed=int(rng.integers(2**31)))
                pt["cond_acc"] = conditional_report(clf, gc.pixels, labs)
            rhos = mixing_rho(model, spec, K, rng)
            pt["rho_K_per_step"] = rhos
            pt["rho_K_max"] = float(max(rhos))
            pt["energy"] = _ledger_energy(model, spec, K, io)
            updates = n * model.dtm.n_steps * K * model.dtm.layout.n_nodes
            pt["sample_time_s"] = dt
            pt["updates_per_s"] = updates / dt
            out.append(pt)
            done += 1
            log.info("%s K=%d: FD %.3f [%.3f, %.3f] acc %s", label, K, res["fd"]["value"], res["fd"]["lo"], res["fd"]["hi"],
                     f"{pt['cond_acc']['accuracy']:.3f}" if "cond_acc" in pt else "-")
            if progress:
                progress(done, total, f"{label} K={K}")
    return out


def evaluate_baselines(tr: TrainedDTM, clf: FrozenClassifier, cfg: EvalConfig, *, n_mixture: int = 20) -> dict[str, Any]:
    """Independent pixels and a Bernoulli mixture (EM), on the same metrics and sample count."""
    rng = np.random.default_rng(cfg.seed + 1)
    ref = tr.test.x
    n = min(cfg.n_samples, len(ref))
    ind = fit_independent(tr.train.x)
    mix = fit_bernoulli_mixture(tr.train.x, n_mixture, rng)
    return {
        "independent": evaluate_samples(ind.sample(n, rng), ref[:n], clf, rng, n_boot=cfg.n_boot),
        f"bernoulli_mixture_{n_mixture}": evaluate_samples(mix.sample(n, rng), ref[:n], clf, rng, n_boot=cfg.n_boot),
    }


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


def digital_comparison(points: list[dict[str, Any]], tr: TrainedDTM, cfg: EvalConfig) -> list[dict[str, Any]]:
    """Digital energy per sample for each (T, K) of the ideal mode, next to the array's; the CPU row uses
    the sampler's measured steady-state throughput on this machine (:func:`measure_cpu_updates_per_s`)."""
    g = tr.dtm.layout.graph
    mean_deg = 2.0 * g.n_edges / g.n_nodes  # type: ignore[attr-defined]
    ups = measure_cpu_updates_per_s(g)
    rows = []
    for p in points:
        if not (p["mode"] == "ideal" or (p["mode"].startswith("T") and p["mode"][1:].isdigit())):
            continue
        base = digital_energy(T=p["T"], K=p["K"], n_cells=tr.dtm.layout.n_nodes, mean_degree=mean_deg,
                              cpu_updates_per_s=ups, cpu_power_W=cfg.cpu_power_W)
        e = p["energy"] or {}
        io = sum(v for k, v in e.get("breakdown_J", {}).items() if k.startswith("io_"))
        rows.append({"T": p["T"], "K": p["K"], "array_J": e.get("total_J"),
                     "array_without_io_J": (e["total_J"] - io) if e else None,
                     **{b.name: b.energy_per_sample_J for b in base},
                     "assumptions": {b.name: b.assumptions for b in base}})
    return rows


def _card_available(spec: SamplerSpec) -> bool:
    try:
        load_card(spec.card)
        return True
    except Exception as exc:  # reported once; the device modes are skipped
        log.warning("device modes skipped: %s", exc)
        return False


def _has_calibration() -> bool:
    from pbitkit.dtm.runner import _calibration_fn

    return _calibration_fn() is not None


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

    ``modes`` (default: all available): ``ideal``, ``device``, ``device+cal``, ``hw-aware``, ``T1`` and the
    other ``T<n>`` runs of ``extra_T``.
    Device modes need a DeviceModel card (``[device] card`` or the shipped default) and are skipped with a
    warning without one; ``device+cal`` also needs :func:`pbitkit.array.calibrate`.
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
    card_ok = _card_available(cfg.device)
    avail: dict[str, tuple[TrainedDTM, SamplerSpec]] = {"ideal": (main, SamplerSpec())}
    if card_ok:
        avail["device"] = (main, dataclasses.replace(cfg.device, calibrate=False))
        if _has_calibration():
            avail["device+cal"] = (main, dataclasses.replace(cfg.device, calibrate=True))
        if "hw_aware" in trained:
            avail["hw-aware"] = (trained["hw_aware"], cfg.device)
    for name in sorted((n for n in trained if n.startswith("T")), key=lambda n: int(n[1:])):
        avail[name] = (trained[name], SamplerSpec())
    chosen = {m: avail[m] for m in (modes or list(avail)) if m in avail}
    for m in modes or []:
        if m not in avail:
            log.warning("mode %r not available for this run (available: %s)", m, sorted(avail))
    # energy: the ledger of the device card, for every mode (the ideal mode runs on the same array)
    energy_spec = cfg.device if card_ok else SamplerSpec()
    chosen_e = {m: (tr, spec) for m, (tr, spec) in chosen.items()}
    points = evaluate_dtm(main, clf, modes=chosen_e, cfg=ecfg, progress=progress)
    if card_ok:
        io = IOCosts(io_per_step=ecfg.io_per_step)
        for p in points:
            p["energy"] = _ledger_energy(chosen[p["mode"]][0], energy_spec, p["K"], io)
    baselines = evaluate_baselines(main, clf, ecfg)
    digital = digital_comparison(points, main, ecfg)
    kmax = max(ecfg.K_values)
    grids: dict[str, tuple[np.ndarray, tuple[int, int]]] = {"data": (main.test.x[:50], main.train.shape)}
    for m, (tr, spec) in chosen.items():
        g = generate(tr.dtm, 50, K=kmax, sampler=spec, seed=ecfg.seed + 7)
        grids[f"{m}_K{kmax}"] = (g.pixels, tr.train.shape)
        if tr.dtm.layout.n_label_bits:
            labs = np.repeat(np.arange(tr.dtm.layout.n_classes), 5)
            gc = generate(tr.dtm, len(labs), K=kmax, labels=labs, sampler=spec, seed=ecfg.seed + 8)
            order = np.argsort(np.tile(np.arange(5), tr.dtm.layout.n_classes), kind="stable")
            grids[f"{m}_K{kmax}_label_clamped"] = (gc.pixels[order], tr.train.shape)
    lay = main.dtm.layout
    meta = {
        "dataset": f"{cfg.data.name} ({main.train.shape[0]}x{main.train.shape[1]}, train {len(main.train.y)}, held-out {len(main.test.y)})",
        "model": f"{cfg.model.pattern} {cfg.model.L}x{cfg.model.L} ({lay.n_nodes} nodes, {lay.graph.n_edges} edges), "
                 f"{lay.n_visible} visible ({lay.n_pixels} pixels + {lay.n_label_bits} label bits), T={main.dtm.n_steps}",
        "classifier": f"frozen MLP sha256 {clf.sha256[:12]}, held-out accuracy {clf.test_accuracy:.3f}",
        "device card": cfg.device.card or "pbitkit/data/default_card.json" if card_ok else "none (device modes skipped)",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "samples per point": min(ecfg.n_samples, len(main.test.y)),
    }
    return write_report(out_dir, points=points, baselines=baselines, digital=digital,
                        curves={name: t.curves for name, t in trained.items()}, grids=grids, meta=meta,
                        eps=cfg.train.acp.eps)
