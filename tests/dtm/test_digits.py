"""Digits (small settings): the DTM beats independent pixels in Fréchet classifier distance beyond the
bootstrap CI, and label-clamped samples are classified as their label well above chance."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.dtm.baselines import fit_independent
from pbitkit.dtm.classifier import classifier_for
from pbitkit.dtm.forward import ForwardConfig
from pbitkit.dtm.generation import generate
from pbitkit.dtm.model import ModelConfig
from pbitkit.dtm.pipeline import DTMConfig, conditional_report, evaluate_samples, train_dtm
from pbitkit.dtm.train import TrainConfig


@pytest.fixture(scope="module")
def trained():
    cfg = DTMConfig(
        forward=ForwardConfig(n_steps=4, schedule="log"),
        model=ModelConfig(L=16, pattern="G12", label_repeat=3),
        train=TrainConfig(epochs=20, batch_size=128, burn_in=15, measure=5, lr=0.02, k_sample=20, seed=0,
                          lr_schedule="constant"),
    )
    return train_dtm(cfg)


@pytest.mark.slow
def test_dtm_beats_independent_pixels_in_frechet(trained) -> None:
    clf = classifier_for("digits")
    rng = np.random.default_rng(0)
    n = 350  # = size of the held-out split
    ref = trained.test.x[:n]
    gen = generate(trained.dtm, n, K=20, seed=1).pixels
    ind = fit_independent(trained.train.x).sample(n, rng)
    e_dtm = evaluate_samples(gen, ref, clf, rng, n_boot=50, floor_reference=trained.train.x[:n])
    e_ind = evaluate_samples(ind, ref, clf, rng, n_boot=50)
    # beyond the bootstrap CIs: the DTM's upper 95% bound is below the baseline's lower bound
    assert e_dtm.fd.hi < e_ind.fd.lo, (e_dtm.fd, e_ind.fd)
    assert e_dtm.fd_floor.value < e_dtm.fd.value  # the real-vs-real floor is lower still


@pytest.mark.slow
def test_label_clamped_samples_classified_above_chance(trained) -> None:
    clf = classifier_for("digits")
    n = 300
    labels = np.arange(n) % 10
    g = generate(trained.dtm, n, K=20, labels=labels, seed=2)
    rep = conditional_report(clf, g.pixels, labels)
    # chance is 0.10; binomial SE at n = 300 is <= 0.029, so 0.3 is > 6 SE above chance
    assert rep.accuracy > 0.3, rep
    np.testing.assert_array_equal(g.label_bits.reshape(n, 10, 3).max(-1).argmax(-1), labels)  # clamps held
