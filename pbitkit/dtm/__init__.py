"""Denoising thermodynamic models (DTMs) on the simulated p-bit array.

Forward noising, datasets, offline metrics and baselines; the conditional Boltzmann machines, training with
the adaptive correlation penalty and generation run on :mod:`pbitkit.array`.
"""

from pbitkit.dtm.acp import ACPConfig, acp_update
from pbitkit.dtm.baselines import BernoulliMixture, IndependentPixels, fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import FrozenClassifier, classifier_for, load_classifier, train_classifier
from pbitkit.dtm.datasets import BinaryDataset, load_dataset, load_digits_binary, load_mnist_like, synthetic_patterns
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess, forward_coupling, keep_probability, schedule_times

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
    "ForwardConfig",
    "ForwardProcess",
    "forward_coupling",
    "keep_probability",
    "schedule_times",
]
