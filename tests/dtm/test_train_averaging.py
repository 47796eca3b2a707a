"""Parameter averaging (``TrainConfig.ema_decay``) and annealed burn-in (``anneal_beta0``) of DTM training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pbitkit.dtm.datasets import synthetic_patterns
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.model import ModelConfig, build_layout
from pbitkit.dtm.train import ParamAverage, StepJob, TrainConfig, train_step
from pbitkit.errors import ConfigError


def test_param_average_weights() -> None:
    """decay 1: the uniform mean of the iterates; decay d: uniform for the first 1/(1-d), then an EMA."""
    rng = np.random.default_rng(0)
    seq = [rng.normal(size=3) for _ in range(10)]
    uni = ParamAverage(1.0)
    ema = ParamAverage(0.8)  # uniform over the first 5 iterates, then weights 0.2 * 0.8**age
    for p in seq:
        uni.update([p.copy()])
        ema.update([p.copy()])
    np.testing.assert_allclose(uni.avg[0], np.mean(seq, axis=0), rtol=1e-12)
    a = np.mean(seq[:5], axis=0)
    for p in seq[5:]:
        a = 0.8 * a + 0.2 * p
    np.testing.assert_allclose(ema.avg[0], a, rtol=1e-12)
    assert not np.allclose(ema.avg[0], uni.avg[0])  # control: the two weightings differ


def _tiny():
    ds = synthetic_patterns(256, np.random.default_rng(1), side=3)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    return ds.x, lay, fp


def test_averaging_returns_the_average_and_leaves_training_alone(tmp_path) -> None:
    """The averaged run trains the same raw iterate as the plain run (its checkpoint holds it bit for bit),
    returns a different, averaged parameter set, and resumes bit-exactly from a checkpoint."""
    x, lay, fp = _tiny()
    base = dict(epochs=4, batch_size=64, k_sample=5, seed=2, lr=0.05, lr_schedule="constant")
    plain = train_step(StepJob(1, lay, fp, x, TrainConfig(**base)))
    tc = TrainConfig(**base, ema_decay=0.9, ema_start=1)
    ck = str(tmp_path / "step_1")
    avg = train_step(StepJob(1, lay, fp, x, tc, checkpoint=ck))
    z = np.load(tmp_path / "step_1.npz")
    np.testing.assert_array_equal(z["J_edge"], plain.params.J_edge)  # training follows the raw iterate
    np.testing.assert_array_equal(z["avg_J"], avg.params.J_edge)  # the average is what is checkpointed
    assert plain.curves == avg.curves
    # negative control: the average is not the last iterate (4 epochs x 4 batches at lr 0.05 move J by ~0.1)
    assert np.max(np.abs(avg.params.J_edge - plain.params.J_edge)) > 1e-2
    # an ema_decay near 0 weights the last iterate alone: the plain result
    last = train_step(StepJob(1, lay, fp, x, TrainConfig(**base, ema_decay=1e-12)))
    np.testing.assert_allclose(last.params.J_edge, plain.params.J_edge, rtol=0, atol=1e-12)
    # an ema_start past the last epoch (a short fine-tuning run) averages nothing: the plain result, exactly
    late = train_step(StepJob(1, lay, fp, x, TrainConfig(**base, ema_decay=0.9, ema_start=4)))
    np.testing.assert_array_equal(late.params.J_edge, plain.params.J_edge)
    # resume: interrupted after 2 epochs, continued to 4 = the uninterrupted run, bit for bit
    ck2 = str(tmp_path / "resumed")
    train_step(StepJob(1, lay, fp, x, dataclasses.replace(tc, epochs=2), checkpoint=ck2))
    resumed = train_step(StepJob(1, lay, fp, x, tc, checkpoint=ck2))
    np.testing.assert_array_equal(resumed.params.J_edge, avg.params.J_edge)
    np.testing.assert_array_equal(resumed.params.h, avg.params.h)
    again = train_step(StepJob(1, lay, fp, x, tc, checkpoint=ck2))  # finished: the saved average
    np.testing.assert_array_equal(again.params.J_edge, avg.params.J_edge)
    # a checkpoint of another averaging is not continued: the plain run trains from the start
    other = train_step(StepJob(1, lay, fp, x, TrainConfig(**base), checkpoint=ck2))
    np.testing.assert_array_equal(other.params.J_edge, plain.params.J_edge)


def test_annealed_burn_in() -> None:
    """anneal_beta0 < 1 runs the burn-in in stages of rising beta (ending at 1); 1 is the plain burn-in."""
    assert TrainConfig(burn_in=20).anneal_schedule() == [(1.0, 20)]
    sched = TrainConfig(burn_in=20, anneal_beta0=0.4, anneal_stages=4).anneal_schedule()
    assert [k for _, k in sched] == [5, 5, 5, 5]
    assert [b for b, _ in sched] == pytest.approx([0.4, 0.6, 0.8, 1.0])
    x, lay, fp = _tiny()
    base = dict(epochs=2, batch_size=64, k_sample=5, seed=2, lr_schedule="constant", burn_in=8)
    plain = train_step(StepJob(1, lay, fp, x, TrainConfig(**base)))
    same = train_step(StepJob(1, lay, fp, x, TrainConfig(**base, anneal_beta0=1.0, anneal_stages=8)))
    np.testing.assert_array_equal(plain.params.J_edge, same.params.J_edge)
    hot = train_step(StepJob(1, lay, fp, x, TrainConfig(**base, anneal_beta0=0.3, anneal_stages=4)))
    assert not np.array_equal(hot.params.J_edge, plain.params.J_edge)  # control: annealing changes the chains


@pytest.mark.parametrize("kw, field", [
    (dict(ema_decay=1.5), "ema_decay"), (dict(ema_decay=float("nan")), "ema_decay"), (dict(ema_decay=-0.1), "ema_decay"),
    (dict(ema_start=-1), "ema_start"), (dict(anneal_beta0=0.0), "anneal_beta0"), (dict(anneal_beta0=1.2), "anneal_beta0"),
    (dict(anneal_stages=0), "anneal_stages"), (dict(anneal_beta0=0.5, anneal_stages=30), "anneal_stages"),
])
def test_bad_averaging_and_annealing_settings(kw, field) -> None:
    with pytest.raises(ConfigError, match=f"train.{field}"):
        TrainConfig(**kw)
