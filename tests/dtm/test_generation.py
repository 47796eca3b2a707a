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


def _two_step_ferromagnet() -> DTM:
    """T = 2 on G8 16×16 (no label nodes): step 2 couples every edge ferromagnetically (J = 0.5, ordered within
    ~10 sweeps from random spins), step 1 has no couplings and a strong forward coupling (J_fwd 1.55: each
    visible node copies its input with probability 0.957). The output's |magnetization| is therefore large only
    when step 2 ran many sweeps, whatever step 1 ran (0.91 at (K_1, K_2) = (1, 40), 0.12 at (40, 1))."""
    mcfg = ModelConfig(L=16, pattern="G8", label_repeat=0)
    lay = build_layout(mcfg, 64, 10)
    fp = ForwardProcess(ForwardConfig(n_steps=2, t_max=0.2), 64, 0)
    steps = (StepParams(np.zeros(lay.graph.n_edges), np.zeros(lay.n_nodes), fp.coupling(1)),
             StepParams(np.full(lay.graph.n_edges, 0.5), np.zeros(lay.n_nodes), fp.coupling(2)))
    return DTM(lay, fp, steps, mcfg)


def test_per_step_sweeps() -> None:
    """``K`` per step reaches the right step (step 1 first); one K equals the same K listed per step."""
    dtm = _two_step_ferromagnet()
    n = 400  # |m| per sample lies in [0, 1]: SE of the mean <= 0.025, the gaps below are > 0.5

    def order(K):
        g = generate(dtm, n, K=K, seed=0)
        return float(np.abs(g.pixels.mean(1)).mean()), g

    m_late, g = order((1, 20))
    assert m_late > 0.7 and g.sweeps_per_sample == 21 and g.step_K == (1, 20) and g.K == 1
    # negative controls: the long chain on step 1 instead (the list reversed), or one short K for every step
    assert order((20, 1))[0] < 0.3
    m_one, g1 = order(1)
    assert m_one < 0.3 and g1.step_K == (1, 1) and g1.sweeps_per_sample == 2
    # one K is the same as that K for every step, bit for bit (same seed)
    np.testing.assert_array_equal(generate(dtm, 50, K=5, seed=3).pixels, generate(dtm, 50, K=[5, 5], seed=3).pixels)
    for bad in ((5,), (5, 0), (5, 2.5), 0, "20"):
        with pytest.raises(ConfigError, match="K"):
            generate(dtm, 10, K=bad)  # type: ignore[arg-type]


def test_evaluation_uses_per_step_sweeps() -> None:
    """``EvalConfig.K_later`` runs steps 2..T at K_later: the point records it and its array energy is priced
    on ``K + (T - 1) K_later`` sweeps (4 of 6 here); ``K_later = 0`` keeps one K (negative control)."""
    from pbitkit.dtm.classifier import classifier_for
    from pbitkit.dtm.evaluate import EvalConfig, evaluate_dtm
    from pbitkit.dtm.pipeline import DataConfig, DTMConfig, TrainedDTM, prepare_data
    from pbitkit.dtm.runner import SamplerSpec

    train, test = prepare_data(DataConfig())
    tr = TrainedDTM(_two_step_ferromagnet(), {}, train, test)
    clf = classifier_for("digits", train.x, train.y)
    pts = {}
    for k_later in (1, 0):
        cfg = EvalConfig(n_samples=20, K_values=(3,), K_later=k_later, n_boot=2)
        (pts[k_later],) = evaluate_dtm(tr, clf, modes={"ideal": (tr, SamplerSpec())}, cfg=cfg, device=DTMConfig().device)
    per, uni = pts[1], pts[0]
    assert per.step_K == (3, 1) and per.sweeps_per_sample == 4 and per.as_dict()["step_K"] == [3, 1]
    assert uni.step_K == () and uni.sweeps_per_sample == 6 and uni.as_dict()["step_K"] == [3, 3]
    assert per.energy.sweeps_per_sample == 4 and uni.energy.sweeps_per_sample == 6
    arr = lambda p: sum(v for k, v in p.energy.breakdown_J.items() if k.startswith("array_"))  # noqa: E731
    assert arr(per) == pytest.approx(4 / 6 * arr(uni), rel=1e-9)
