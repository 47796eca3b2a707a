"""Denoising thermodynamic models (DTMs) trained and run on the simulated p-bit array.

Forward noising (:mod:`~pbitkit.dtm.forward`), T conditional Boltzmann machines on a grid graph
(:mod:`~pbitkit.dtm.model`) trained step by step from clamped/free moments of :mod:`pbitkit.array` with
Adam and the adaptive correlation penalty (:mod:`~pbitkit.dtm.train`, :mod:`~pbitkit.dtm.acp`), generation
(:mod:`~pbitkit.dtm.generate`), datasets, offline metrics and baselines, energy per sample vs digital
hardware (:mod:`~pbitkit.dtm.energy`), evaluation and report. See docs/dtm.md.

Example
-------
>>> from pbitkit.dtm import DTMConfig, TrainConfig, train_dtm, generate   # doctest: +SKIP
>>> tr = train_dtm(DTMConfig(train=TrainConfig(epochs=10)))                # doctest: +SKIP
>>> samples = generate(tr.dtm, 100, K=30, seed=0).pixels                   # doctest: +SKIP
"""

from pbitkit.dtm.acp import ACPConfig, acp_update
from pbitkit.dtm.baselines import BernoulliMixture, IndependentPixels, fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import FrozenClassifier, classifier_for, load_classifier, train_classifier
from pbitkit.dtm.datasets import BinaryDataset, load_dataset, load_digits_binary, load_mnist_like, synthetic_patterns
from pbitkit.dtm.energy import EnergyReport, IOCosts, digital_energy, dtm_energy, dtm_energy_from_ledger
from pbitkit.dtm.evaluate import EvalConfig, evaluate_dtm, run_evaluation
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess, forward_coupling, keep_probability, schedule_times
from pbitkit.dtm.generate import GenerationResult, generate
from pbitkit.dtm.metrics import (
    bootstrap_ci,
    exact_kl,
    frechet_from_features,
    kernel_inception_distance,
    lag_autocorrelation,
    total_variation,
)
from pbitkit.dtm.model import DTM, Layout, ModelConfig, StepParams, build_layout
from pbitkit.dtm.pipeline import DataConfig, DTMConfig, TrainedDTM, evaluate_samples, load_dtm, train_dtm
from pbitkit.dtm.runner import SamplerSpec
from pbitkit.dtm.train import StepJob, StepResult, TrainConfig, train_step

__all__ = [
    "ACPConfig",
    "acp_update",
    "BernoulliMixture",
    "IndependentPixels",
    "fit_bernoulli_mixture",
    "fit_independent",
    "FrozenClassifier",
    "classifier_for",
    "load_classifier",
    "train_classifier",
    "BinaryDataset",
    "load_dataset",
    "load_digits_binary",
    "load_mnist_like",
    "synthetic_patterns",
    "EnergyReport",
    "IOCosts",
    "digital_energy",
    "dtm_energy",
    "dtm_energy_from_ledger",
    "EvalConfig",
    "evaluate_dtm",
    "run_evaluation",
    "ForwardConfig",
    "ForwardProcess",
    "forward_coupling",
    "keep_probability",
    "schedule_times",
    "GenerationResult",
    "generate",
    "bootstrap_ci",
    "exact_kl",
    "frechet_from_features",
    "kernel_inception_distance",
    "lag_autocorrelation",
    "total_variation",
    "DTM",
    "Layout",
    "ModelConfig",
    "StepParams",
    "build_layout",
    "DataConfig",
    "DTMConfig",
    "TrainedDTM",
    "evaluate_samples",
    "load_dtm",
    "train_dtm",
    "SamplerSpec",
    "StepJob",
    "StepResult",
    "TrainConfig",
    "train_step",
]
