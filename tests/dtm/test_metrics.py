"""Metrics, baselines, datasets and the ACP rule."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest

from pbitkit.dtm.acp import ACPConfig, acp_update
from pbitkit.dtm.baselines import fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.classifier import classifier_for, load_classifier
from pbitkit.dtm.datasets import load_digits_binary, load_mnist_like, one_hot_spins, synthetic_patterns
from pbitkit.dtm.metrics import (
    bootstrap_ci,
    empirical_distribution,
    exact_kl,
    frechet_from_features,
    kernel_inception_distance,
    lag_autocorrelation,
    marginal_error,
    pair_correlation_error,
    total_variation,
)
from pbitkit.errors import DatasetError, PbitkitError
from pbitkit.paths import data_dir


# ---------------------------------------------------------------- ACP rule
CFG = ACPConfig(eps=0.03, delta=0.2, lambda_min=1e-4, lambda_init=0.01)


def test_acp_decreases_when_mixing() -> None:
    assert acp_update(0.1, 0.01, 0.5, CFG) == pytest.approx(0.08)


def test_acp_keeps_when_not_growing() -> None:
    assert acp_update(0.1, 0.2, 0.3, CFG) == 0.1
    assert acp_update(0.1, 0.2, None, CFG) == 0.1
    assert acp_update(0.1, 0.2, 0.2, CFG) == 0.1


def test_acp_increases_when_growing() -> None:
    assert acp_update(0.1, 0.3, 0.2, CFG) == pytest.approx(0.12)
    assert acp_update(0.0, 0.3, 0.2, CFG) == CFG.lambda_init  # restart from zero


def test_acp_floor_to_zero() -> None:
    assert acp_update(1.1e-4, 0.0, 0.1, CFG) == 0.0  # 0.8 * 1.1e-4 < lambda_min
    assert acp_update(0.0, 0.0, 0.1, CFG) == 0.0


def test_acp_disabled_is_fixed() -> None:
    assert acp_update(0.05, 0.9, 0.1, ACPConfig(enabled=False)) == 0.05


# ---------------------------------------------------------------- metrics
def test_frechet_known_gaussians() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    a = rng.normal(0, 1, (n, 3))
    b = rng.normal(0, 2, (n, 3)) + np.array([1.0, 0, 0])
    # exact: |mu|^2 + sum (1 + 4 - 2*2) = 1 + 3 = 4; sampling SE of the estimate ~ sqrt(var/n) scale 0.05
    assert frechet_from_features(a, b) == pytest.approx(4.0, abs=0.15)
    assert abs(frechet_from_features(a, rng.normal(0, 1, (n, 3)))) < 0.01


def test_kid_zero_for_same_distribution() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 4)), rng.normal(size=(400, 4))
    c = rng.normal(size=(400, 4)) + 1.0
    kid_same = kernel_inception_distance(a, b, rng, n_subsets=10)
    kid_diff = kernel_inception_distance(a, c, rng, n_subsets=10)
    assert abs(kid_same) < 0.05 < kid_diff


def test_lag_autocorrelation_telegraph_known_answer() -> None:
    """A telegraph chain flipping with probability q per step has rho(k) = (1 - 2q)^k."""
    rng = np.random.default_rng(2)
    q, n_t, c, nn = 0.1, 4000, 8, 16
    flips = rng.random((n_t, c, nn)) < q
    s = np.where(np.cumsum(flips, axis=0) % 2 == 0, 1, -1).astype(np.int8)
    for k in (1, 3):
        expect = (1 - 2 * q) ** k
        # SE of an autocorrelation estimate over n_eff ~ n_t*c*nn*(1-rho^2)/(1+rho^2) points ~ 0.005; use 0.03
        assert lag_autocorrelation(s, k) == pytest.approx(expect, abs=0.03)
    frozen = np.ones((50, 2, 3), dtype=np.int8)
    assert lag_autocorrelation(frozen, 5) == 1.0


def test_streamed_lag_autocorrelation_equals_recorded() -> None:
    """LagAutocorrelation (one state at a time, ring buffer of `lag` states) = lag_autocorrelation of the
    stacked record, with groups; a frozen chain gives 1; too few states is an error."""
    from pbitkit.dtm.metrics import LagAutocorrelation

    rng = np.random.default_rng(5)
    s = np.where(rng.random((60, 12, 7)) < 0.5, 1, -1).astype(np.int8)
    for t in range(1, 60):  # persistence plus per-group offsets: a non-trivial answer
        keep = rng.random((12, 7)) < 0.8
        s[t][keep] = s[t - 1][keep]
    groups = np.repeat(np.arange(3), 4)
    for lag in (1, 4, 9):
        for g in (None, groups):
            acc = LagAutocorrelation(lag, g)
            for state in s:
                acc.add(state)
            assert acc.value() == pytest.approx(lag_autocorrelation(s, lag, g), abs=1e-12)
    acc = LagAutocorrelation(3)
    for state in np.ones((10, 2, 3), dtype=np.int8):
        acc.add(state)
    assert acc.value() == 1.0
    with pytest.raises(ValueError, match="more than lag"):
        short = LagAutocorrelation(5)
        short.add(s[0])
        short.value()


def test_marginal_and_pair_errors() -> None:
    x = np.array([[1, 1], [-1, -1]], dtype=np.int8)
    y = np.array([[1, -1], [-1, 1]], dtype=np.int8)
    assert marginal_error(x, y) == 0.0
    assert pair_correlation_error(x, y) == pytest.approx(2.0)


def test_exact_kl_and_tv() -> None:
    p = np.array([0.5, 0.5, 0, 0])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    assert exact_kl(p, q) == pytest.approx(np.log(2))
    assert total_variation(p, q) == pytest.approx(0.5)
    assert exact_kl(q, p) == float("inf")
    x = np.array([[1, -1], [1, -1], [-1, -1], [1, 1]], dtype=np.int8)
    np.testing.assert_allclose(empirical_distribution(x), [0.25, 0.5, 0, 0.25])


def test_bootstrap_ci_covers_point() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 0.5
    ci = bootstrap_ci(lambda u, v: float(np.mean(v) - np.mean(u)), a, b, rng, n_boot=200)
    assert ci.lo < ci.value < ci.hi
    assert ci.lo < 0.5 < ci.hi  # the true difference (SE ~ 0.07) is inside the 95% interval


def test_bootstrap_ci_fixed_reference() -> None:
    """resample="first" covers only the first set's noise: narrower than resampling both when the
    reference is small, and centred on the same point; an unknown option is an error."""
    rng = np.random.default_rng(8)
    a, ref = rng.normal(size=(4000, 3)), rng.normal(size=(100, 3)) + 0.2
    both = bootstrap_ci(frechet_from_features, a, ref, rng, n_boot=60)
    first = bootstrap_ci(frechet_from_features, a, ref, rng, n_boot=60, resample="first")
    assert first.value == both.value
    assert (first.hi - first.lo) < 0.5 * (both.hi - both.lo)  # the 100-row reference dominates "both"
    with pytest.raises(ValueError, match="resample"):
        bootstrap_ci(frechet_from_features, a, ref, rng, n_boot=2, resample="none")  # type: ignore[arg-type]


# ---------------------------------------------------------------- baselines
def test_baselines_fit_and_sample() -> None:
    rng = np.random.default_rng(4)
    ds = synthetic_patterns(3000, rng, side=3)
    ind = fit_independent(ds.x)
    mix = fit_bernoulli_mixture(ds.x, 6, rng, n_iter=200)
    p_data = empirical_distribution(ds.x)
    allx = np.array([[1 if (i >> b) & 1 else -1 for b in range(9)] for i in range(512)], dtype=np.int8)
    p_ind = np.exp(ind.log_prob(allx))
    p_mix = np.exp(mix.log_prob(allx))
    np.testing.assert_allclose([p_ind.sum(), p_mix.sum()], 1.0, rtol=1e-9)
    # bars are strongly correlated: the mixture (one component per bar) is far better than independent
    assert exact_kl(p_data, p_mix) < 0.5 * exact_kl(p_data, p_ind)
    assert ind.sample(10, rng).shape == (10, 9) and mix.sample(10, rng).dtype == np.int8


# ---------------------------------------------------------------- datasets
def test_digits_binary() -> None:
    ds = load_digits_binary()
    assert ds.x.shape == (1797, 64) and ds.x.dtype == np.int8 and ds.n_classes == 10
    assert 0.2 < np.mean(ds.x > 0) < 0.6
    oh = one_hot_spins(ds.y[:5], 10, repeat=3)
    assert oh.shape == (5, 30) and np.all((oh > 0).sum(1) == 3)


def _write_idx(path, arr: np.ndarray, gz: bool) -> None:
    head = bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


def test_mnist_like_idx_npz_and_errors(tmp_path) -> None:
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (7, 28, 28))
    lab = rng.integers(0, 10, 7)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", img, True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", lab, False)
    ds = load_mnist_like(tmp_path, name="fashion_mnist")
    assert ds.x.shape == (7, 784) and ds.shape == (28, 28)
    np.testing.assert_array_equal(ds.x > 0, img.reshape(7, -1) >= 128)
    np.savez(tmp_path / "m.npz", x_train=img.astype(np.uint8), y_train=lab.astype(np.uint8))
    ds2 = load_mnist_like(tmp_path / "m.npz")
    np.testing.assert_array_equal(ds.x, ds2.x)
    with pytest.raises(DatasetError, match="nowhere"):
        load_mnist_like(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="t10k-images"):
        load_mnist_like(tmp_path, split="test")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)
    with pytest.raises(DatasetError, match="bad"):
        load_mnist_like(tmp_path / "bad")


# ---------------------------------------------------------------- classifier
def test_shipped_classifier_hash_and_accuracy(tmp_path) -> None:
    clf = classifier_for("digits")
    assert clf.sha256 and clf.test_accuracy > 0.9
    ds = load_digits_binary()
    assert np.mean(clf.predict(ds.x) == ds.y) > 0.9
    # a tampered copy is refused
    src = data_dir() / "dtm_digits_classifier.npz"
    bad = tmp_path / "c.npz"
    bad.write_bytes(src.read_bytes() + b"x")
    (tmp_path / "c.json").write_text((data_dir() / "dtm_digits_classifier.json").read_text())
    with pytest.raises(PbitkitError, match="hash"):
        load_classifier(bad)
    # the shipped Fashion-MNIST classifier: hash-checked, trained on the 60,000 training images, scored on t10k
    fm = classifier_for("fashion_mnist")
    meta = json.loads((data_dir() / "dtm_fashion_mnist_classifier.json").read_text())
    assert fm.sha256 == meta["sha256"] and meta["n_train"] == 60000 and meta["n_test"] == 10000
    assert 0.75 < fm.test_accuracy < 1 and fm.w1.shape == (784, 64)


def test_real_vs_real_floor_below_independent() -> None:
    """Fréchet classifier distance: two halves of the data are far closer than data vs independent pixels."""
    rng = np.random.default_rng(6)
    ds = load_digits_binary()
    clf = classifier_for("digits")
    idx = rng.permutation(len(ds.y))
    a, b = ds.x[idx[:800]], ds.x[idx[800:1600]]
    floor = frechet_from_features(clf.features(a), clf.features(b))
    ind = fit_independent(a).sample(800, rng)
    assert frechet_from_features(clf.features(b), clf.features(ind)) > 5 * floor


def test_paired_difference_ci_cancels_reference_noise() -> None:
    from pbitkit.dtm.metrics import frechet_from_features, paired_difference_ci

    rng = np.random.default_rng(3)
    ref = rng.normal(size=(150, 4))
    near = rng.normal(size=(2000, 4))
    far = rng.normal(size=(2000, 4)) * 1.3  # a too-wide model: true FD 4 (1.3 - 1)^2 = 0.36
    d = paired_difference_ci(frechet_from_features, near, far, ref, rng, n_boot=100)
    assert d.hi < 0 and d.lo < -0.1, d  # the better model is detected (true difference -0.36)
    same = paired_difference_ci(frechet_from_features, near, near, ref, rng, n_boot=100)
    assert same.value == 0.0 and same.lo < 0 < same.hi  # negative control: identical sets, no difference
