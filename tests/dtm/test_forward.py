"""Forward process: empirical keep probability and coupling match the closed form (docs/theory.md §4)."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.dtm.forward import (
    ForwardConfig,
    ForwardProcess,
    forward_coupling,
    keep_probability,
    noise_spins,
    schedule_times,
)
from pbitkit.errors import ConfigError

N_BITS = 200_000
Z = 4.5  # tolerance in standard errors: two-sided p ~ 7e-6 per check, so the few checks here never flake


def test_schedules() -> None:
    t = schedule_times(4, "log")
    assert t[0] == 0 and np.isinf(t[-1])
    np.testing.assert_allclose(t[1:-1], -np.log(1 - np.arange(1, 4) / 4))
    np.testing.assert_allclose(schedule_times(4, "linear", t_max=2.0), [0, 0.5, 1, 1.5, 2])
    with pytest.raises(ConfigError):
        schedule_times(4, "cosine")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ForwardConfig(rate_image=-1)


def test_closed_forms_consistent() -> None:
    gdt = np.array([0.05, 0.3, 1.0, 3.0])
    k = keep_probability(gdt)
    j = forward_coupling(gdt)
    # P(same)/P(diff) = exp(2 J)
    np.testing.assert_allclose(k / (1 - k), np.exp(2 * j), rtol=1e-12)
    assert forward_coupling(np.inf) == 0.0 and keep_probability(np.inf) == 0.5


@pytest.mark.parametrize("schedule", ["log", "linear"])
def test_empirical_keep_and_coupling(schedule: str) -> None:
    rng = np.random.default_rng(1)
    fp = ForwardProcess(ForwardConfig(n_steps=4, schedule=schedule, t_max=3.0), n_image=1, n_label=1)
    x0 = np.where(rng.random((N_BITS, 2)) < 0.5, 1, -1).astype(np.int8)
    for step in range(1, 5):
        prev, nxt = fp.sample_pair(x0, step, rng)
        k_hat = np.mean(prev == nxt, axis=0)
        k = fp.keep_prob(step)
        se = np.sqrt(k * (1 - k) / N_BITS)  # binomial standard error of a fraction
        assert np.all(np.abs(k_hat - k) < Z * se), (step, k_hat, k)
        finite = k < 0.99  # J_hat = 1/2 ln(k/(1-k)) needs k_hat < 1 (true for every step here)
        j_hat = 0.5 * np.log(k_hat / (1 - k_hat))
        se_j = se / (2 * k * (1 - k))  # delta method: dJ/dk = 1 / (2 k (1-k))
        j = fp.coupling(step)
        assert np.all(np.abs(j_hat - j)[finite] < Z * se_j[finite] + 1e-12), (step, j_hat, j)
        # negative control: a wrong closed form (keep = exp(-gamma dt)) is rejected at the same tolerance
        gdt = fp.rates * (fp.times[step] - fp.times[step - 1])
        wrong = np.exp(-gdt)
        if np.all(np.isfinite(gdt)):
            assert np.any(np.abs(k_hat - wrong) > Z * se)
    # the last log step is pure noise: keep 1/2, J_fwd = 0
    if schedule == "log":
        np.testing.assert_allclose(fp.keep_prob(4), 0.5)
        np.testing.assert_allclose(fp.coupling(4), 0.0)


def test_marginal_matches_composition() -> None:
    """Direct marginal x^t | x^0 has keep prob (1+e^{-gamma t})/2, the composition of the step kernels."""
    rng = np.random.default_rng(2)
    fp = ForwardProcess(ForwardConfig(n_steps=3, schedule="linear", t_max=1.5), n_image=1)
    x0 = np.ones((N_BITS, 1), dtype=np.int8)
    x = x0
    for step in (1, 2):
        x = noise_spins(x, fp.keep_prob(step), rng)
    k2 = keep_probability(0.9 * fp.times[2])[()]
    se = np.sqrt(k2 * (1 - k2) / N_BITS)
    assert abs(np.mean(x == 1) - k2) < Z * se
    assert abs(np.mean(fp.sample_marginal(x0, 2, rng) == 1) - k2) < Z * se


def test_explicit_times() -> None:
    """``forward.times`` replaces the schedule (keep probabilities follow its intervals); bad lists are
    rejected with the field named, also through the TOML/``--set`` loader."""
    from pbitkit.config import from_dict

    ts = (0.0, 0.4, 0.8, 1.25, 2.5, 5.0)
    fp = ForwardProcess(ForwardConfig(n_steps=5, times=ts), n_image=1, n_label=1)
    np.testing.assert_array_equal(fp.times, ts)
    np.testing.assert_allclose(fp.keep_prob(2), keep_probability(np.array([0.9, 0.2]) * 0.4))
    np.testing.assert_allclose(fp.keep_prob(5), keep_probability(np.array([0.9, 0.2]) * 2.5))
    # the linear schedule's times given explicitly give the same process
    lin = ForwardProcess(ForwardConfig(n_steps=4, t_max=5.0), 1, 1)
    same = ForwardProcess(ForwardConfig(n_steps=4, times=(0, 1.25, 2.5, 3.75, 5)), 1, 1)
    np.testing.assert_array_equal(lin.times, same.times)
    assert from_dict(ForwardConfig, {"n_steps": 2, "times": [0, 1, 3]}).times == (0.0, 1.0, 3.0)
    # a run's other-T machines (T = 1 baseline, extra_T): the linear schedule to the same end time
    from pbitkit.dtm.pipeline import DTMConfig, variants

    v = variants(DTMConfig(forward=ForwardConfig(n_steps=5, times=ts), extra_T=(2,)))
    np.testing.assert_array_equal(v["T1"][0].forward.schedule_times(), [0, 5.0])
    np.testing.assert_array_equal(v["T2"][0].forward.schedule_times(), [0, 2.5, 5.0])
    assert ForwardConfig(n_steps=4, t_max=3.0).with_steps(2) == ForwardConfig(n_steps=2, t_max=3.0)
    bad = {
        (0, 1, 2): r"forward\.times must have n_steps \+ 1 = 6 values",
        (0, 1, 1, 2, 3, 4): r"forward\.times must be strictly increasing",
        (0, 1, 2, 3, -4, 5): r"forward\.times\[4\] must be a positive",
        (0.5, 1, 2, 3, 4, 5): r"forward\.times\[0\] must be 0",
        (0, 1, 2, 3, 4, float("inf")): r"forward\.times\[5\] must be a positive finite",
    }
    for times, msg in bad.items():
        with pytest.raises(ConfigError, match=msg):
            ForwardConfig(n_steps=5, times=times)
    with pytest.raises(ConfigError, match="times"):
        from_dict(ForwardConfig, {"n_steps": 2, "times": [0, "a", 3]})
