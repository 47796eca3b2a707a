"""DTM runs end to end: config → trained model → samples → evaluation, as library calls the CLI wraps.

- :func:`train_dtm` trains the T steps (each independently: :func:`pbitkit.dtm.train.train_step`) through
  any ``concurrent.futures.Executor`` (a process pool, or a Dask ``distributed`` client's executor), with
  per-step checkpoints in the run directory; re-running resumes.
- :func:`load_dtm` reads a trained model back from its run directory.
- :func:`evaluate_samples` computes the offline metrics of a sample set against held-out data.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pbitkit.config import to_dict
from pbitkit.dtm.classifier import FrozenClassifier
from pbitkit.dtm.datasets import BinaryDataset, load_dataset, one_hot_spins
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.metrics import (
    ConditionalAccuracy,
    SampleQuality,
    bootstrap_ci,
    conditional_accuracy,
    frechet_from_features,
    kernel_inception_distance,
    marginal_error,
    pair_correlation_error,
)
from pbitkit.dtm.model import DTM, Layout, ModelConfig, build_layout
from pbitkit.dtm.runner import SamplerSpec
from pbitkit.dtm.train import StepJob, StepResult, TrainConfig, train_step
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_write_json, read_json
from pbitkit.progress import ProgressCallback

__all__ = [
    "DataConfig", "DTMConfig", "TrainedDTM", "train_dtm", "load_dtm", "evaluate_samples", "prepare_data", "variants",
    "conditional_report", "visible_data",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataConfig:
    """Which data: ``name`` (digits / mnist / fashion_mnist / bars), ``path`` for local files, the number of
    training examples (0 = all), the held-out set and the split seed.

    ``holdout = "fraction"`` holds out ``test_fraction`` of the data (seeded); ``"test_split"`` uses the
    data set's own test split (MNIST / Fashion-MNIST ``t10k``, 10,000 images) as the held-out reference,
    capped at ``n_test`` images (0 = all) — a large reference makes the Fréchet distance's CI narrow.
    """

    name: str = "digits"
    path: str | None = None
    n_train: int = 0
    test_fraction: float = 0.2
    holdout: Literal["fraction", "test_split"] = "fraction"
    n_test: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in ("digits", "mnist", "fashion_mnist", "bars"):
            raise ConfigError(f"data.name must be digits, mnist, fashion_mnist or bars; got {self.name!r}")
        if not 0 <= self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction must be in [0, 1), got {self.test_fraction}")
        if self.holdout not in ("fraction", "test_split"):
            raise ConfigError(f"data.holdout must be 'fraction' or 'test_split', got {self.holdout!r}")
        if self.holdout == "test_split" and self.name not in ("mnist", "fashion_mnist"):
            raise ConfigError(f"data.holdout = 'test_split' needs a data set with a test split (mnist, "
                              f"fashion_mnist), not {self.name!r}")
        if self.n_train < 0 or self.n_test < 0:
            raise ConfigError("data.n_train and data.n_test must be >= 0 (0 = all)")


@dataclass(frozen=True)
class DTMConfig:
    """A full DTM config: the ``[data] [forward] [model] [train] [sampler] [device]`` tables of the TOML.

    ``sampler`` is the array used for training (ideal by default); ``device`` the chip (card, seed, DACs)
    used for device / calibrated generation and, when ``hardware_aware``, for a second, hardware-aware
    training run on that chip (saved in ``hw_aware/``; calibrated first when ``device.calibrate``, the
    default). ``hardware_aware_init = "main"`` (default) fine-tunes the trained main model on the chip for
    ``hardware_aware_epochs`` epochs (at most ``[train] epochs``) at step size ``hardware_aware_lr`` (cosine decay as ``[train]``);
    ``"scratch"`` trains it from random couplings with ``[train]``'s settings, a second draw of the training
    noise that on digits cost more than the chip (docs/dtm.md, "The chip after calibration").
    ``init_model`` starts every step of this config's training from a trained ``model.npz`` (fine-tuning;
    a relative path is relative to the directory the model is trained into). ``monolithic_baseline`` also trains the T = 1 Boltzmann machine baseline (``T1/``) and
    ``extra_T`` further DTMs with other step counts (``T2/``, ``T8/``, ...) for the report's T sweep;
    ``acp_baseline`` the same DTM without any correlation penalty (``no_acp/``: ACP off, ``lambda = 0``), the
    paper's ACP-vs-no-penalty comparison.
    """

    data: DataConfig = field(default_factory=DataConfig)
    forward: ForwardConfig = field(default_factory=ForwardConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    device: SamplerSpec = field(
        default_factory=lambda: SamplerSpec(mode="device", weight_bits=8, bias_bits=8, calibrate=True)
    )
    hardware_aware: bool = False
    hardware_aware_init: Literal["main", "scratch"] = "main"
    hardware_aware_epochs: int = 10
    hardware_aware_lr: float = 0.005
    init_model: str | None = None
    acp_baseline: bool = False
    monolithic_baseline: bool = True
    extra_T: tuple[int, ...] = ()
    workers: int = 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if any(t < 1 for t in self.extra_T):
            raise ConfigError(f"extra_T must hold positive step counts, got {list(self.extra_T)}")
        if self.hardware_aware_init not in ("main", "scratch"):
            raise ConfigError(f"hardware_aware_init must be 'main' or 'scratch', got {self.hardware_aware_init!r}")
        if self.hardware_aware_epochs < 1:
            raise ConfigError(f"hardware_aware_epochs must be >= 1, got {self.hardware_aware_epochs}")
        if not (self.hardware_aware_lr > 0 and np.isfinite(self.hardware_aware_lr)):
            raise ConfigError(f"hardware_aware_lr must be a positive number, got {self.hardware_aware_lr}")
        if self.device.mode != "device":
            raise ConfigError("device.mode must be 'device' (the chip used for device runs and hardware-aware training)")


@dataclass(frozen=True)
class TrainedDTM:
    """A trained DTM with its training curves and the data split it was trained on."""

    dtm: DTM
    curves: dict[int, dict[str, list[float]]]
    train: BinaryDataset
    test: BinaryDataset


def prepare_data(cfg: DataConfig) -> tuple[BinaryDataset, BinaryDataset]:
    """Load and split the dataset (train, test)."""
    ds = load_dataset(cfg.name, cfg.path, seed=cfg.seed)
    if cfg.holdout == "test_split":
        train, test = ds, load_dataset(cfg.name, cfg.path, split="test", seed=cfg.seed)
    else:
        train, test = ds.split(cfg.test_fraction, seed=cfg.seed) if cfg.test_fraction > 0 else (ds, ds)
    if cfg.n_test:
        test = test.subset(cfg.n_test, seed=cfg.seed + 1)
    if cfg.n_train:
        train = train.subset(cfg.n_train, seed=cfg.seed)
    return train, test


def visible_data(layout: Layout, ds: BinaryDataset) -> np.ndarray:
    """Training rows ``(n, D)``: pixels then repeated one-hot label spins."""
    if layout.n_label_bits == 0:
        return ds.x
    return np.concatenate([ds.x, one_hot_spins(ds.y, layout.n_classes, layout.label_repeat)], axis=1)


def _forward(cfg: DTMConfig, layout: Layout) -> ForwardProcess:
    return ForwardProcess(cfg.forward, layout.n_pixels, layout.n_label_bits)


def train_dtm(
    cfg: DTMConfig,
    out_dir: str | Path | None = None,
    *,
    executor: cf.Executor | None = None,
    steps: list[int] | None = None,
    progress: ProgressCallback | None = None,
) -> TrainedDTM:
    """Train every step of a DTM (see module docstring); saves ``model.npz`` and ``curves.json`` to ``out_dir``.

    Parameters
    ----------
    executor : runs the per-step jobs (``None``: a process pool with ``cfg.workers`` workers, or in-process
        when ``workers == 1``).
    steps : train only these steps (1-based; default all).
    """
    train, test = prepare_data(cfg.data)
    layout = build_layout(cfg.model, train.n_pixels, train.n_classes)
    fp = _forward(cfg, layout)
    data = visible_data(layout, train)
    out = Path(out_dir) if out_dir is not None else None
    ck_dir = out / "checkpoints" if out else None
    if ck_dir:
        ck_dir.mkdir(parents=True, exist_ok=True)
    todo = steps or list(range(1, cfg.forward.n_steps + 1))
    init = _init_steps(cfg, layout, out)
    jobs = [
        StepJob(t, layout, fp, data, cfg.train, cfg.sampler, str(ck_dir / f"step_{t}") if ck_dir else None,
                init[t - 1] if init else None)
        for t in todo
    ]
    results: dict[int, StepResult] = {}
    if executor is None and cfg.workers == 1:
        for i, job in enumerate(jobs):
            results[job.step] = train_step(job)
            if progress:
                progress(i + 1, len(jobs), f"step {job.step} done")
    else:
        own = executor is None
        ex = executor or cf.ProcessPoolExecutor(max_workers=cfg.workers)
        try:
            futs = {ex.submit(train_step, job): job.step for job in jobs}
            for i, fut in enumerate(cf.as_completed(futs)):
                results[futs[fut]] = fut.result()
                if progress:
                    progress(i + 1, len(jobs), f"step {futs[fut]} done")
        finally:
            if own:
                ex.shutdown()
    missing = [t for t in range(1, cfg.forward.n_steps + 1) if t not in results]
    if missing:
        raise PbitkitError(f"steps {missing} were not trained (pass steps=None to train all)")
    dtm = DTM(layout, fp, tuple(results[t].params for t in range(1, cfg.forward.n_steps + 1)), cfg.model)
    curves = {t: results[t].curves for t in sorted(results)}
    if out:
        dtm.save(out / "model.npz")
        atomic_write_json(out / "curves.json", {str(t): c for t, c in curves.items()})
    return TrainedDTM(dtm, curves, train, test)


def _init_steps(cfg: DTMConfig, layout: Layout, out: Path | None) -> tuple | None:
    """The step parameters ``cfg.init_model`` starts training from (``None`` without one)."""
    if cfg.init_model is None:
        return None
    p = Path(cfg.init_model)
    if not p.is_absolute():
        if out is None:
            raise ConfigError(f"init_model {cfg.init_model!r} is relative: train_dtm needs an out_dir to resolve it")
        p = out / p
    visible, steps = DTM.load_steps(p, cfg.forward.n_steps)
    if not np.array_equal(visible, layout.visible):
        raise ConfigError(f"init_model {p}: its visible layout differs from the config's (another model or layout?)")
    return steps


def load_dtm(cfg: DTMConfig, run_dir: str | Path) -> TrainedDTM:
    """Rebuild a trained DTM from ``run_dir/model.npz`` (written by :func:`train_dtm` with ``cfg``)."""
    d = Path(run_dir)
    train, test = prepare_data(cfg.data)
    layout = build_layout(cfg.model, train.n_pixels, train.n_classes)
    visible, steps = DTM.load_steps(d / "model.npz", cfg.forward.n_steps)
    if not np.array_equal(visible, layout.visible):
        raise PbitkitError(f"{d / 'model.npz'}: visible layout differs from the config's (different model.layout_seed?)")
    curves_raw = read_json(d / "curves.json") if (d / "curves.json").exists() else {}
    curves = {int(k): v for k, v in curves_raw.items()}
    return TrainedDTM(DTM(layout, _forward(cfg, layout), steps, cfg.model), curves, train, test)


def evaluate_samples(
    samples: np.ndarray,
    reference: np.ndarray,
    clf: FrozenClassifier,
    rng: np.random.Generator,
    *,
    n_boot: int = 50,
    floor_reference: np.ndarray | None = None,
    fd_ci: Literal["samples", "both"] = "both",
) -> SampleQuality:
    """Quality of ``samples (n, P)`` vs held-out ``reference (m, P)`` (``n`` may exceed ``m``).

    ``fd_ci`` picks what the Fréchet distance's bootstrap CI covers: ``"both"`` resamples the samples and
    the reference (the distance to the data distribution the reference was drawn from: wide when the
    reference is small), ``"samples"`` only the samples (the distance to this fixed held-out set, as FID
    fixes its reference statistics: the interval that tells models compared on the same reference apart).

    Returns a :class:`~pbitkit.dtm.metrics.SampleQuality`: ``fd`` (Fréchet classifier distance with a
    bootstrap CI), ``kid``, ``marginal_err``, ``pair_err`` and, when ``floor_reference`` (real data, not the
    reference) is given, ``fd_floor``: the same distance between it and the reference — the real-vs-real
    floor at that sample count.
    """
    fs, fr = clf.features(samples), clf.features(reference)
    if fd_ci not in ("samples", "both"):
        raise ConfigError(f"fd_ci must be 'samples' or 'both', got {fd_ci!r}")
    how: Literal["both", "first"] = "first" if fd_ci == "samples" else "both"
    fd = bootstrap_ci(frechet_from_features, fs, fr, rng, n_boot=n_boot, resample=how)
    kid = kernel_inception_distance(fs, fr, rng, n_subsets=10, subset_size=min(200, len(fs), len(fr)))
    floor = None
    if floor_reference is not None:
        floor = bootstrap_ci(frechet_from_features, clf.features(floor_reference), fr, rng, n_boot=n_boot,
                             resample=how)
    return SampleQuality(n=int(len(samples)), fd=fd, kid=kid, marginal_err=marginal_error(samples, reference),
                         pair_err=pair_correlation_error(samples, reference), fd_floor=floor)


def conditional_report(clf: FrozenClassifier, pixels: np.ndarray, labels: np.ndarray) -> ConditionalAccuracy:
    """Class-conditional accuracy of label-clamped samples and its binomial standard error."""
    acc = conditional_accuracy(clf.predict, pixels, labels)
    return ConditionalAccuracy(acc, float(np.sqrt(acc * (1 - acc) / len(labels))), int(len(labels)))


def config_dict(cfg: DTMConfig) -> dict[str, Any]:
    """JSON/TOML-ready dict of a config."""
    return to_dict(cfg)


def variants(cfg: DTMConfig) -> dict[str, tuple[DTMConfig, str]]:
    """The models a run trains: ``main`` (in the run directory), ``hw_aware`` (trained on the ``device``
    chip, in ``hw_aware/``), ``no_acp`` (no correlation penalty, in ``no_acp/``) and ``T1`` (the monolithic
    Boltzmann-machine baseline, in ``T1/``) and ``T<n>`` as enabled, in the order they train: main, the
    other-T machines, ``no_acp``, ``hw_aware`` (so an interrupted run has the cheap comparisons first)."""
    from pbitkit.dtm.acp import ACPConfig

    out = {"main": (cfg, ".")}
    extra = ([1] if cfg.monolithic_baseline else []) + list(cfg.extra_T)
    for t in dict.fromkeys(extra):
        if t != cfg.forward.n_steps:
            out[f"T{t}"] = (dataclasses.replace(cfg, forward=cfg.forward.with_steps(t)), f"T{t}")
    if cfg.acp_baseline:
        no_pen = dataclasses.replace(cfg.train, acp=ACPConfig(enabled=False, lambda_init=0.0))
        out["no_acp"] = (dataclasses.replace(cfg, train=no_pen), "no_acp")
    if cfg.hardware_aware:
        hw = dataclasses.replace(cfg, sampler=cfg.device)
        if cfg.hardware_aware_init == "main":  # fine-tune the main model (trained first, in the parent directory)
            hw = dataclasses.replace(hw, init_model="../model.npz", train=dataclasses.replace(
                cfg.train, epochs=min(cfg.hardware_aware_epochs, cfg.train.epochs), lr=cfg.hardware_aware_lr))
        out["hw_aware"] = (hw, "hw_aware")
    return out
