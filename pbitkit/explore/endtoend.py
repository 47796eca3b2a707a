"""End to end per cell design: card → chip (variation from the card) → calibration → DTM → FD and energy.

One small DTM (:class:`E2EConfig`: digits, a 16 × 16 G12 grid, few steps and epochs) is trained once on the
ideal array (``OUT/endtoend/dtm``, resumable), then generated on each confirmed design's chip: a
:class:`pbitkit.dtm.runner.SamplerSpec` in ``device`` mode with the design's card (per-cell offsets drawn
from its ``v0_sigma_V``, its slope, its correlation time), 8-bit weight and bias DACs, **calibrated**
(per-cell offsets measured on the array and trimmed). :func:`pbitkit.dtm.evaluate.evaluate_dtm` gives the
Fréchet distance (frozen classifier features, bootstrap CI) and the energy per sample from the array's
ledger with that card. The same model on the ideal array gives the quality without any device effect.

The figure's energy axis is the array's own energy per sample, T·K·N·E_cell (the ledger's per-cell terms
with each card); the I/O per sample (the same for every design) is reported next to it. Marked in the
figure: the paper's idealized point (2 fJ per cell per sweep × T·K·N, no I/O; the constant
``PAPER_FIGURES["E_cell_J"]`` of :mod:`pbitkit.dtm.energy`) and the GPU (the same Gibbs chain on an A100
at peak FP32 and TDP, :func:`pbitkit.dtm.energy.digital_energy` — the GPU's best case).

A design whose mismatch spread is ∞ (its card carries the search window's half-span as a lower bound,
see :mod:`pbitkit.explore.confirm`) is labelled so; its quality is what that lower bound gives.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbitkit.errors import ConfigError
from pbitkit.explore.confirm import ConfirmResult
from pbitkit.io import atomic_write_json, read_json, sha256_file, sha256_json

__all__ = ["E2EConfig", "E2EPoint", "E2EResult", "end_to_end", "end_to_end_markdown", "QUALITY_PNG", "E2E_JSON",
           "HW_AWARE_MODES"]

log = logging.getLogger(__name__)

#: the figure "DTM sample quality vs energy per sample across cell designs" in the run directory
QUALITY_PNG = "quality_vs_energy.png"
#: the end-to-end results in the run directory
E2E_JSON = "endtoend.json"
#: when a design gets a hardware-aware model (:class:`E2EConfig`)
HW_AWARE_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class E2EConfig:
    """The small, fast DTM setting of the end-to-end step.

    Attributes
    ----------
    L, pattern, label_repeat : grid side, connectivity, label copies (:class:`pbitkit.dtm.model.ModelConfig`).
    n_steps : denoising steps T.
    epochs, n_train : training epochs per step and training images (digits, 8 × 8 binarized; 0 = the whole
        training split). The defaults train in ~40 s on one core (FD ≈ 3.9, label-clamped accuracy ≈ 0.78
        on the ideal array with 200 samples at K = 20).
    K : Gibbs sweeps of step 1 when generating (steps 2 .. T run 5 each).
    n_samples, n_boot : samples per design and bootstrap replicates of the Fréchet distance.
    weight_bits, bias_bits : DAC resolutions of the chip.
    chip_seed, seed : which chip is drawn from each card; seed of training and sampling.
    hardware_aware : ``"auto"`` — for a design whose calibrated chip is worse than the ideal array (its FD's
        95 % interval lies above the ideal's), train the same DTM again on that chip (calibrated,
        hardware-aware: the chip's sampler in the training loop) and generate with it; ``"always"`` for every
        design; ``"never"``.
    """

    L: int = 16
    pattern: str = "G12"
    label_repeat: int = 6
    n_steps: int = 4
    epochs: int = 20
    n_train: int = 0
    K: int = 20
    n_samples: int = 200
    n_boot: int = 20
    weight_bits: int = 8
    bias_bits: int = 8
    chip_seed: int = 0
    seed: int = 0
    hardware_aware: str = "auto"

    def __post_init__(self) -> None:
        if self.hardware_aware not in HW_AWARE_MODES:
            raise ConfigError(f"E2EConfig.hardware_aware must be one of {HW_AWARE_MODES}, got {self.hardware_aware!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the cache key of each design's result)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def model_dict(self) -> dict[str, Any]:
        """What the ideal-array model depends on (its cache key): everything but the hardware-aware choice."""
        return {k: v for k, v in self.to_dict().items() if k != "hardware_aware"}


@dataclass(frozen=True)
class E2EPoint:
    """One design's end-to-end figures: ``fd`` with its bootstrap CI; energy per sample with I/O
    (``energy_per_sample_J``) and of the array alone (``array_energy_per_sample_J`` = T·K·N·E_cell); time per
    sample; energy per cell per sweep (J, s)."""

    label: str
    card: str
    variation_defined: bool
    fd: float
    fd_lo: float
    fd_hi: float
    energy_per_sample_J: float
    array_energy_per_sample_J: float
    time_per_sample_s: float
    e_cell_sweep_J: float
    cond_acc: float
    fd_hw: float = math.nan
    fd_hw_lo: float = math.nan
    fd_hw_hi: float = math.nan
    cond_acc_hw: float = math.nan

    @property
    def hardware_aware(self) -> bool:
        """A hardware-aware model was trained on this design's chip (``fd_hw`` holds its quality)."""
        return math.isfinite(self.fd_hw)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class E2EResult:
    """Every design's point, the ideal array's FD, the paper's and the GPU's energy per sample, files."""

    points: list[E2EPoint]
    ideal_fd: float
    ideal_fd_lo: float
    ideal_fd_hi: float
    paper_energy_J: float
    gpu_energy_J: float
    n_cells: int
    config: E2EConfig
    paths: list[Path] = field(default_factory=list)


def _dtm_config(c: E2EConfig) -> Any:
    from pbitkit.dtm.forward import ForwardConfig
    from pbitkit.dtm.model import ModelConfig
    from pbitkit.dtm.pipeline import DataConfig, DTMConfig
    from pbitkit.dtm.train import TrainConfig

    return DTMConfig(data=DataConfig(n_train=c.n_train, seed=c.seed),
                     forward=ForwardConfig(n_steps=c.n_steps),
                     model=ModelConfig(L=c.L, pattern=c.pattern, label_repeat=c.label_repeat),
                     # the grid's step size and weight decay (the DTM's defaults are the crossbar's)
                     train=TrainConfig(epochs=c.epochs, seed=c.seed, lr=0.02, weight_decay=1e-4),
                     hardware_aware=False, monolithic_baseline=False)


@dataclass(frozen=True)
class _Run:
    label: str
    card_path: Path
    variation_defined: bool
    suffix: str


def end_to_end(conf: ConfirmResult, *, k: int = 3, config: E2EConfig | None = None,
               trims: Mapping[str, Any] | None = None) -> E2EResult:
    """Run the end-to-end step for the reference and up to ``k`` confirmed front designs that have a card;
    write ``endtoend.json`` and ``quality_vs_energy.png`` into the run directory (module docstring).

    ``trims``: :class:`pbitkit.explore.trim.TrimResult` by design label; each such design is run a second time
    as ``<label>-trimmed``, its card's ``v0_sigma_V`` replaced by the RMS of its trimmed offsets about ``ref``
    (``cards/<label>-trimmed.json``): the chip after per-cell trim.

    Each design's result is stored under ``OUT/endtoend/`` keyed by its card's SHA-256, the config and the
    version of the array / DTM code (:func:`pbitkit.provenance.code_version`), so a re-run takes it from there
    and a run after a code change computes it again.
    """
    from pbitkit.dtm.classifier import classifier_for
    from pbitkit.dtm.energy import PAPER_FIGURES, digital_energy
    from pbitkit.dtm.evaluate import EvalConfig, evaluate_dtm
    from pbitkit.dtm.pipeline import load_dtm, train_dtm
    from pbitkit.dtm.runner import SamplerSpec
    from pbitkit.explore.plots import plot_quality_vs_energy
    from pbitkit.provenance import code_version

    c = config or E2EConfig()
    out = conf.explore.out_dir
    root = out / "endtoend"
    dcfg = _dtm_config(c)
    # results made by other array / DTM code (e.g. another calibration) are never reused: the code's version
    # is part of every key
    code = code_version(("array", "dtm"))["source_sha256"]
    model_dir = root / f"dtm-{sha256_json({**c.model_dict(), 'code': code})[:12]}"
    if (model_dir / "model.npz").is_file():
        tr = load_dtm(dcfg, model_dir)
    else:
        log.info("end to end: training the DTM once on the ideal array (%s)", model_dir)
        tr = train_dtm(dcfg, model_dir)
    clf = classifier_for("digits")
    ecfg = EvalConfig(n_samples=c.n_samples, K_values=(c.K,), K_later=5, n_boot=c.n_boot, n_mixture=(1,), seed=c.seed)
    items = [it for it in conf.items if it.card_path is not None]
    items = [it for it in items if it.design.origin == "reference"] + \
            [it for it in items if it.design.origin != "reference"][:k]
    if not items:
        raise_no_cards(conf)
    runs = [_Run(it.label, it.card_path, it.variation_defined, "" if it.variation_defined else " (σ(V0) lower bound)")
            for it in items]
    for it in items:  # the same design's chip after per-cell trim: the card's spread replaced by the residual
        t = (trims or {}).get(it.label)
        if t is not None and math.isfinite(t.rms_after_V) and it.card_path is not None:
            from pbitkit.pbitmodel import DeviceModel

            card = DeviceModel.load(it.card_path)
            card = card.replace(variation={"v0_sigma_V": float(t.rms_after_V)}, provenance={"notes": [
                *card.provenance.notes, f"explore: v0_sigma_V after per-cell trim ({len(t.codes)} instances, "
                f"{t.dac_bits}-bit core trim DAC over +-{t.dac_full_scale_V:g} V): RMS of the trimmed offsets about ref"]})
            tpath = it.card_path.with_name(f"{it.label}-trimmed.json")
            if not tpath.is_file() or DeviceModel.load(tpath).variation.v0_sigma_V != card.variation.v0_sigma_V:
                card.save(tpath)
            runs.append(_Run(f"{it.label}-trimmed", tpath, True, ""))
    points: list[E2EPoint] = []
    ideal_fd = (math.nan, math.nan, math.nan)
    for n_it, it in enumerate(runs):
        spec = SamplerSpec(mode="device", card=str(it.card_path), chip_seed=c.chip_seed, weight_bits=c.weight_bits,
                           bias_bits=c.bias_bits, calibrate=True)
        key = sha256_json({"card": sha256_file(it.card_path), "config": c.model_dict(), "code": code})[:16]
        rec_path = root / f"{it.label}-{key}.json"
        rec = read_json(rec_path) if rec_path.is_file() else None
        if rec is None:
            modes = {"device+cal": (tr, spec)}
            if n_it == 0:
                modes = {"ideal": (tr, SamplerSpec()), **modes}
            pts = evaluate_dtm(tr, clf, modes=modes, cfg=ecfg, device=spec)
            p = pts[-1]
            io = sum(v for kk, v in p.energy.breakdown_J.items() if kk.startswith("io_"))
            rec = {"fd": p.quality.fd.value, "fd_lo": p.quality.fd.lo, "fd_hi": p.quality.fd.hi,
                   "energy_per_sample_J": p.energy.total_J, "array_energy_per_sample_J": p.energy.total_J - io,
                   "time_per_sample_s": p.energy.time_s,
                   "e_cell_sweep_J": float(sum(p.energy.per_cell_sweep_J.values())),
                   "cond_acc": p.cond_acc.accuracy if p.cond_acc else math.nan}
            if n_it == 0:
                q = pts[0].quality.fd
                rec["ideal_fd"] = [q.value, q.lo, q.hi]
            atomic_write_json(rec_path, rec)
        if n_it == 0:
            ideal_fd = tuple(rec["ideal_fd"])
        want_hw = c.hardware_aware == "always" or (c.hardware_aware == "auto" and rec["fd_lo"] > ideal_fd[2])
        if want_hw and "fd_hw" not in rec:
            hw_dir = root / f"hw-{it.label}-{key}"
            hcfg = dataclasses.replace(dcfg, sampler=spec)
            if (hw_dir / "model.npz").is_file():
                tr_hw = load_dtm(hcfg, hw_dir)
            else:
                log.info("end to end: training the DTM hardware-aware on the chip of %s (%s)", it.label, hw_dir)
                tr_hw = train_dtm(hcfg, hw_dir)
            q = evaluate_dtm(tr, clf, modes={"hw-aware": (tr_hw, spec)}, cfg=ecfg, device=spec)[-1]
            rec.update(fd_hw=q.quality.fd.value, fd_hw_lo=q.quality.fd.lo, fd_hw_hi=q.quality.fd.hi,
                       cond_acc_hw=q.cond_acc.accuracy if q.cond_acc else math.nan)
            atomic_write_json(rec_path, rec)
        hw = {k: rec[k] for k in ("fd_hw", "fd_hw_lo", "fd_hw_hi", "cond_acc_hw") if want_hw and k in rec}
        points.append(E2EPoint(label=it.label + it.suffix,
                               card=str(it.card_path), variation_defined=it.variation_defined, fd=rec["fd"],
                               fd_lo=rec["fd_lo"], fd_hi=rec["fd_hi"], energy_per_sample_J=rec["energy_per_sample_J"],
                               array_energy_per_sample_J=rec["array_energy_per_sample_J"],
                               time_per_sample_s=rec["time_per_sample_s"], e_cell_sweep_J=rec["e_cell_sweep_J"],
                               cond_acc=rec["cond_acc"], **hw))
    g = tr.dtm.layout.graph
    n_cells = int(g.n_nodes)
    sweeps = c.n_steps * c.K * n_cells
    paper = sweeps * float(PAPER_FIGURES["E_cell_J"])
    gpu = digital_energy(T=c.n_steps, K=c.K, n_cells=n_cells, mean_degree=2.0 * g.n_edges / n_cells)[0].energy_per_sample_J
    jpath = atomic_write_json(out / E2E_JSON, {
        "config": c.to_dict(), "n_cells": n_cells, "ideal_fd": list(ideal_fd), "paper_energy_per_sample_J": paper,
        "gpu_energy_per_sample_J": gpu, "points": [p.as_dict() for p in points]})
    png = plot_quality_vs_energy(
        [{"label": p.label, "energy_per_sample_J": p.array_energy_per_sample_J, "fd": p.fd, "fd_lo": p.fd_lo,
          "fd_hi": p.fd_hi, "fd_hw": p.fd_hw, "fd_hw_lo": p.fd_hw_lo, "fd_hw_hi": p.fd_hw_hi} for p in points],
        out / QUALITY_PNG, ideal_energy_J=paper, gpu_energy_J=gpu,
        ideal_fd=ideal_fd[0], xlabel="array energy per generated sample, T·K·N·E_cell (J; I/O not included)",
        title=f"DTM (digits, {c.L}×{c.L} {c.pattern}, T={c.n_steps}, K={c.K}) on calibrated chips of each design"
              + (" (open: hardware-aware)" if any(p.hardware_aware for p in points) else ""))
    return E2EResult(points, float(ideal_fd[0]), float(ideal_fd[1]), float(ideal_fd[2]), paper, gpu, n_cells, c,
                     [jpath, png])


def raise_no_cards(conf: ConfirmResult) -> None:
    """Raise :class:`~pbitkit.errors.PbitkitError`: no confirmed design has a card."""
    from pbitkit.errors import PbitkitError

    why = "; ".join(f"{it.label}: {it.error}" for it in conf.items) or "no design was confirmed"
    raise PbitkitError(f"end to end: no confirmed design has a card ({why})")


def end_to_end_markdown(e2e: E2EResult) -> str:
    """The report section: the figure and one row per design."""
    c = e2e.config
    lines = ["### End to end: DTM sample quality vs energy per sample across designs", "",
             f"One DTM (digits 8×8, {c.L}×{c.L} {c.pattern} = {e2e.n_cells} cells, T = {c.n_steps}, {c.epochs} epochs "
             f"on {c.n_train or 'all the training'} images) trained once on the ideal array, generated ({c.n_samples} samples, K = {c.K}) on "
             f"a calibrated chip drawn from each design's card ({c.weight_bits}-bit DACs, chip seed {c.chip_seed}). "
             f"Ideal array: FD {e2e.ideal_fd:.2f} [{e2e.ideal_fd_lo:.2f}, {e2e.ideal_fd_hi:.2f}]. "
             f"Paper's idealized 2 fJ/cell/sweep: {e2e.paper_energy_J:.3g} J per sample (no I/O); GPU (A100 at peak "
             f"FP32 and TDP, the same chain): {e2e.gpu_energy_J:.3g} J.", "", f"![DTM sample quality (FD) vs the array's energy per sample across cell designs, with the paper's "
             f"idealized 2 fJ/cell/sweep point, the GPU and the ideal array's FD marked]({QUALITY_PNG})", "",
             "| design | FD [95 % CI] | label-clamped accuracy | hardware-aware FD [95 % CI] | accuracy | "
             "array energy per sample (J) | with I/O (J) | per cell per sweep (fJ) | time per sample (µs) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in e2e.points:
        hw = (f"{p.fd_hw:.2f} [{p.fd_hw_lo:.2f}, {p.fd_hw_hi:.2f}] | {p.cond_acc_hw:.2f}" if p.hardware_aware
              else "— (its interval reaches the ideal's)" + " | —" if c.hardware_aware == "auto" else "— | —")
        lines.append(f"| {p.label} | {p.fd:.2f} [{p.fd_lo:.2f}, {p.fd_hi:.2f}] | {p.cond_acc:.2f} | {hw} | "
                     f"{p.array_energy_per_sample_J:.3g} | {p.energy_per_sample_J:.3g} | {p.e_cell_sweep_J * 1e15:.2f} | "
                     f"{p.time_per_sample_s * 1e6:.1f} |")
    if c.hardware_aware != "never":
        lines += ["", "Hardware-aware: the same DTM trained again with the design's calibrated chip in the training loop "
                  + ("(for every design)." if c.hardware_aware == "always" else
                     "for the designs whose chip is worse than the ideal array (FD interval entirely above the "
                     "ideal's); the others' intervals reach the ideal's.")]
    lines += ["", "The figure's energy axis is the array's (T·K·N·E_cell from the ledger with each card), comparable "
              "with the paper's 2 fJ/cell/sweep and the GPU's compute; the I/O of a sample (writing the clamped "
              "label bits, reading the pixels, priced by the ledger) is the same for every design and dominates the "
              "total at this size."]
    return "\n".join(lines) + "\n"

