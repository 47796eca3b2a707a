"""Denoising thermodynamic models (DTMs) trained and run on the simulated p-bit array.

Forward noising (:mod:`~pbitkit.dtm.forward`), T conditional Boltzmann machines on a grid graph
(:mod:`~pbitkit.dtm.model`) trained step by step from clamped/free moments of :mod:`pbitkit.array` with
Adam and the adaptive correlation penalty (:mod:`~pbitkit.dtm.train`, :mod:`~pbitkit.dtm.acp`), generation
(:mod:`~pbitkit.dtm.generation`), datasets (:mod:`~pbitkit.dtm.datasets`, :mod:`~pbitkit.dtm.fetch`),
offline metrics and baselines, energy per sample vs digital hardware (:mod:`~pbitkit.dtm.energy`),
evaluation and report. The names below are the public API (each is documented in docs/dtm.md); the
submodules hold the helpers.

Example
-------
>>> from pbitkit.dtm import DTMConfig, TrainConfig, train_dtm, generate   # doctest: +SKIP
>>> tr = train_dtm(DTMConfig(train=TrainConfig(epochs=10)))                # doctest: +SKIP
>>> samples = generate(tr.dtm, 100, K=30, seed=0).pixels                   # doctest: +SKIP
"""

from pbitkit.dtm.acp import ACPConfig
from pbitkit.dtm.baselines import BernoulliMixture, IndependentPixels, fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import FrozenClassifier, classifier_for
from pbitkit.dtm.datasets import BinaryDataset, load_dataset
from pbitkit.dtm.energy import EnergyReport, IOCosts, digital_energy, dtm_energy_from_ledger
from pbitkit.dtm.evaluate import EvalConfig, EvalPoint, evaluate_dtm, run_evaluation
from pbitkit.dtm.fetch import fetch_dataset
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.generation import GenerationResult, generate
from pbitkit.dtm.metrics import (
    CI,
    ConditionalAccuracy,
    SampleQuality,
    bootstrap_ci,
    exact_kl,
    frechet_from_features,
    kernel_inception_distance,
    lag_autocorrelation,
    total_variation,
)
from pbitkit.dtm.model import DTM, Layout, ModelConfig, StepParams
from pbitkit.dtm.pipeline import DataConfig, DTMConfig, TrainedDTM, evaluate_samples, load_dtm, train_dtm
from pbitkit.dtm.runner import SamplerSpec
from pbitkit.dtm.train import StepJob, StepResult, TrainConfig, train_step

__all__ = [
    # configuration
    "DTMConfig",
    "DataConfig",
    "ForwardConfig",
    "ModelConfig",
    "TrainConfig",
    "ACPConfig",
    "SamplerSpec",
    "EvalConfig",
    # training, models, generation
    "train_dtm",
    "load_dtm",
    "TrainedDTM",
    "train_step",
    "StepJob",
    "StepResult",
    "DTM",
    "Layout",
    "StepParams",
    "ForwardProcess",
    "generate",
    "GenerationResult",
    # data
    "BinaryDataset",
    "load_dataset",
    "fetch_dataset",
    # evaluation
    "run_evaluation",
    "evaluate_dtm",
    "EvalPoint",
    "evaluate_samples",
    "SampleQuality",
    "ConditionalAccuracy",
    "FrozenClassifier",
    "classifier_for",
    "CI",
    "bootstrap_ci",
    "frechet_from_features",
    "kernel_inception_distance",
    "lag_autocorrelation",
    "exact_kl",
    "total_variation",
    # baselines
    "IndependentPixels",
    "BernoulliMixture",
    "fit_independent",
    "fit_bernoulli_mixture",
    # energy
    "EnergyReport",
    "IOCosts",
    "dtm_energy_from_ledger",
    "digital_energy",
]
