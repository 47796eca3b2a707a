"""Unconditional generation starts from the forward process's end point: the label bits of ``x^T`` are a
class's one-hot code noised to ``t_T``, not uniform bits (which fed step T codes with several classes on)."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.generation import generate
from pbitkit.dtm.model import DTM, ModelConfig, StepParams, build_layout
from pbitkit.errors import ConfigError


def _untrained(schedule: str) -> DTM:
    """A T = 1 DTM with zero couplings and fields: each visible output copies its input ``x^T`` with
    probability ``sigmoid(2 J_fwd)``, so the output's label bits show what the chain started from. The label
    rate is low (0.02 over t_max = 1: keep probability 0.99 at t_T, J_fwd 2.3, copy probability 0.99)."""
    mcfg = ModelConfig(L=16, pattern="G8", label_repeat=6)
    lay = build_layout(mcfg, 64, 10)
    fp = ForwardProcess(ForwardConfig(n_steps=1, schedule=schedule, t_max=1.0, rate_label=0.02), 64, 60)
    step = StepParams(np.zeros(lay.graph.n_edges), np.zeros(lay.n_nodes), fp.coupling(1))
    return DTM(lay, fp, (step,), mcfg)


def _decoded(label_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: number of classes whose 6 copies are mostly +1, and the first such class."""
    on = label_bits.reshape(len(label_bits), 10, 6).sum(-1) > 0
    return on.sum(1), on.argmax(1)


def test_unconditional_start_is_a_noised_class_code() -> None:
    n = 2000
    g = generate(_untrained("linear"), n, K=1, seed=0)
    n_on, _ = _decoded(g.label_bits)
    # keep 0.99 then copy 0.99: a block's majority is wrong with probability < 1e-4, so ~all samples carry
    # exactly one class; uniform start bits would give one class in 10 * 0.34 * 0.66**9 ~ 7 % of samples
    assert np.mean(n_on == 1) > 0.95, np.mean(n_on == 1)
    # the class prior is honoured: a prior on class 3 only puts every sample in class 3
    prior = np.eye(10)[3]
    g3 = generate(_untrained("linear"), n, K=1, seed=1, class_prior=prior)
    n_on3, cls3 = _decoded(g3.label_bits)
    assert np.mean((n_on3 == 1) & (cls3 == 3)) > 0.95


def test_pure_noise_end_point_starts_uniform() -> None:
    # negative control: the log schedule's t_T is infinite, so the label bits of x^T are uniform noise and
    # J_fwd = 0: the output label bits are fair coins (about 7 % of samples decode to exactly one class;
    # binomial SE at n = 2000 is 0.006)
    n = 2000
    n_on, _ = _decoded(generate(_untrained("log"), n, K=1, seed=0).label_bits)
    assert abs(np.mean(n_on == 1) - 10 * 0.3438 * 0.6562**9) < 0.03


def test_bad_class_prior_is_rejected() -> None:
    with pytest.raises(ConfigError, match="class_prior"):
        generate(_untrained("linear"), 10, K=1, class_prior=np.full(10, 0.2))
