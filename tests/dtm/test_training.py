"""DTM training on the array sampler: exact KL on a tiny model, ACP keeps mixing, checkpoints resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pbitkit.dtm.acp import ACPConfig
from pbitkit.dtm.baselines import fit_independent
from pbitkit.dtm.datasets import synthetic_patterns
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.generation import generate
from pbitkit.dtm.metrics import empirical_distribution, exact_kl, states_to_index
from pbitkit.dtm.model import DTM, ModelConfig, build_layout
from pbitkit.dtm.train import StepJob, TrainConfig, train_step
from pbitkit.errors import ConfigError, PbitkitError

ALL9 = np.array([[1 if (i >> b) & 1 else -1 for b in range(9)] for i in range(512)], dtype=np.int8)


def _bars_distribution(flip: float) -> np.ndarray:
    """Exact distribution of 3x3 bars (6 equiprobable patterns, each pixel flipped with prob ``flip``)."""
    pats = -np.ones((6, 3, 3), dtype=np.int8)
    for k in range(3):
        pats[k, k, :] = 1
        pats[3 + k, :, k] = 1
    pats = pats.reshape(6, 9)
    n_diff = (ALL9[:, None, :] != pats[None, :, :]).sum(-1)  # (512, 6)
    p = np.mean(flip**n_diff * (1 - flip) ** (9 - n_diff), axis=1)
    return p[np.argsort(states_to_index(ALL9))]


@pytest.mark.parametrize("L, pattern", [(8, "G8"), (5, "bipartite")])
def test_tiny_dtm_beats_independent_in_exact_kl(L: int, pattern: str) -> None:
    """On the grid and on the crossbar (9 pixels on its 12-cell side, 13 latent cells on the other)."""
    flip = 0.05
    rng = np.random.default_rng(0)
    ds = synthetic_patterns(2048, rng, side=3, flip_prob=flip)
    p_data = _bars_distribution(flip)
    np.testing.assert_allclose(p_data.sum(), 1.0)
    cfg = ModelConfig(L=L, pattern=pattern, label_repeat=0, layout_seed=1)
    lay = build_layout(cfg, 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    tc = TrainConfig(epochs=25, batch_size=128, burn_in=10, measure=5, lr=0.03, k_sample=15,
                     acp=ACPConfig(lambda_init=0.0), seed=3, lr_schedule="constant")
    steps = tuple(train_step(StepJob(t, lay, fp, ds.x, tc)).params for t in (1, 2))
    dtm = DTM(lay, fp, steps, cfg)
    n = 20000
    g1 = generate(dtm, n, K=15, seed=11, batch=2000).pixels
    g2 = generate(dtm, n, K=15, seed=12, batch=2000).pixels
    # model side: histogram of n samples over the 512 states (pseudocount 0.5 keeps KL finite)
    kl1 = exact_kl(p_data, empirical_distribution(g1, 0.5))
    kl2 = exact_kl(p_data, empirical_distribution(g2, 0.5))
    noise = abs(kl1 - kl2)  # spread of the estimate between two independent sample sets
    kl_ind = exact_kl(p_data, np.exp(fit_independent(ds.x).log_prob(ALL9))[np.argsort(states_to_index(ALL9))])
    kl_dtm = 0.5 * (kl1 + kl2)
    # margin "well beyond noise": at least 20 times the sample-to-sample spread plus a 0.05-nat floor
    assert kl_ind - kl_dtm > 20 * noise + 0.05, (kl_dtm, kl_ind, noise)
    print(f"KL(data||DTM) = {kl_dtm:.3f} (+-{noise:.3f}), KL(data||independent) = {kl_ind:.3f}")
    assert kl_dtm < 0.5 * kl_ind


def _bimodal(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    sign = np.where(rng.random(n) < 0.5, 1, -1)
    return np.repeat(sign[:, None], d, axis=1).astype(np.int8)


def test_acp_keeps_mixing_where_no_penalty_freezes() -> None:
    """A monolithic BM (T = 1) on a two-mode data set: without a penalty the chains stop switching modes
    (lag-K autocorrelation -> 1); ACP holds it near its threshold eps."""
    rng = np.random.default_rng(0)
    d = 9
    x = _bimodal(512, d, rng)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), d, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=1, schedule="log"), d, 0)
    common = dict(epochs=20, k_sample=5, batch_size=64, lr=0.05, monitor_chains=64, seed=0, lr_schedule="constant")
    none = train_step(StepJob(1, lay, fp, x, TrainConfig(acp=ACPConfig(enabled=False, lambda_init=0.0), **common)))
    acp = train_step(StepJob(1, lay, fp, x, TrainConfig(acp=ACPConfig(eps=0.03, lambda_init=0.5), **common)))
    rho_none = np.mean(none.curves["rho"][-5:])
    rho_acp = np.mean(acp.curves["rho"][-5:])
    # rho is a regulated quantity under ACP (it oscillates around eps); 0.3 is the mixing threshold tested here,
    # 10x eps, far below the frozen value ~1. Per-epoch estimate noise with 16 inputs x 4 replicas ~ 0.05.
    assert rho_none > 0.9, none.curves["rho"]
    assert rho_acp < 0.3, acp.curves["rho"]
    assert max(acp.curves["lambda"]) > 0
    assert np.abs(acp.params.J_edge).max() < np.abs(none.params.J_edge).max()


def test_checkpoint_resume_is_bit_exact(tmp_path) -> None:
    rng = np.random.default_rng(1)
    ds = synthetic_patterns(256, rng, side=3)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    tc4 = TrainConfig(epochs=4, batch_size=64, k_sample=5, seed=2, lr_schedule="constant")
    tc2 = TrainConfig(epochs=2, batch_size=64, k_sample=5, seed=2, lr_schedule="constant")
    ck = str(tmp_path / "step_1")
    full = train_step(StepJob(1, lay, fp, ds.x, tc4))
    train_step(StepJob(1, lay, fp, ds.x, tc2, checkpoint=ck))  # "interrupted" after 2 epochs
    resumed = train_step(StepJob(1, lay, fp, ds.x, tc4, checkpoint=ck))
    np.testing.assert_array_equal(full.params.J_edge, resumed.params.J_edge)
    np.testing.assert_array_equal(full.params.h, resumed.params.h)
    assert full.curves == resumed.curves
    again = train_step(StepJob(1, lay, fp, ds.x, tc4, checkpoint=ck))  # finished checkpoint: returns at once
    np.testing.assert_array_equal(again.params.J_edge, full.params.J_edge)
    # fine-tuning starts from the given parameters: 4 Adam steps of size 1e-3 move no coupling by more than ~4e-3,
    # while the same epoch from the random start ends far from them (negative control)
    tc_ft = TrainConfig(epochs=1, batch_size=64, k_sample=5, seed=2, lr=1e-3, lr_schedule="constant")
    ft = train_step(StepJob(1, lay, fp, ds.x, tc_ft, init=full.params))
    scratch = train_step(StepJob(1, lay, fp, ds.x, tc_ft))
    assert np.max(np.abs(ft.params.J_edge - full.params.J_edge)) < 5e-3
    assert np.max(np.abs(scratch.params.J_edge - full.params.J_edge)) > 0.05
    bad = dataclasses.replace(full.params, h=full.params.h[:-1])
    with pytest.raises(ConfigError, match="initial parameters"):
        train_step(StepJob(1, lay, fp, ds.x, tc_ft, init=bad))


def test_resuming_a_finished_chip_step_does_not_calibrate_again(tmp_path, caplog) -> None:
    """A finished hardware-aware step returns its checkpoint without drawing and calibrating the chip (on the
    L = 70 Fashion-MNIST chip that cost ~20 s per step just to resume); an unfinished one calibrates and
    continues bit-exactly."""
    import logging

    from pbitkit.dtm.runner import SamplerSpec
    from pbitkit.pbitmodel import DeviceModel

    card = tmp_path / "card.json"
    DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9).replace(variation={"v0_sigma_V": 0.01, "vs_sigma_rel": 0.1}).save(card)
    chip = SamplerSpec(mode="device", card=str(card), chip_seed=3, calibrate=True)
    ds = synthetic_patterns(128, np.random.default_rng(4), side=3)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=1, schedule="log"), 9, 0)
    tc1 = TrainConfig(epochs=1, batch_size=64, k_sample=3, seed=2, lr_schedule="constant")
    tc2 = TrainConfig(epochs=2, batch_size=64, k_sample=3, seed=2, lr_schedule="constant")
    ck = str(tmp_path / "step_1")
    full = train_step(StepJob(1, lay, fp, ds.x, tc2, sampler=chip))
    with caplog.at_level(logging.INFO, logger="pbitkit.dtm.runner"):
        train_step(StepJob(1, lay, fp, ds.x, tc1, sampler=chip, checkpoint=ck))
        assert sum("calibrated chip" in r.message for r in caplog.records) == 1  # control: training calibrates
        caplog.clear()
        again = train_step(StepJob(1, lay, fp, ds.x, tc1, sampler=chip, checkpoint=ck))  # finished: no chip
        assert not any("calibrated chip" in r.message for r in caplog.records)
        resumed = train_step(StepJob(1, lay, fp, ds.x, tc2, sampler=chip, checkpoint=ck))  # one epoch left
        assert sum("calibrated chip" in r.message for r in caplog.records) == 1
    np.testing.assert_array_equal(resumed.params.J_edge, full.params.J_edge)
    assert not np.array_equal(again.params.J_edge, full.params.J_edge)  # after 1 of 2 epochs


class _Stop(Exception):
    pass


def _stop_after(epoch: int):
    def progress(done: int, total: int, message: str = "") -> None:
        if done == epoch:
            raise _Stop

    return progress


def test_resume_with_persistent_chains_and_cosine_lr_is_bit_exact(tmp_path) -> None:
    """A run killed after epoch 2 of 4 resumes to the uninterrupted result: the step-size schedule and the
    persistent free-phase chains (saved in the checkpoint) continue where they were."""
    ds = synthetic_patterns(256, np.random.default_rng(1), side=3)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="linear", t_max=2.0), 9, 0)
    tc = TrainConfig(epochs=4, batch_size=64, k_sample=5, seed=2, lr_schedule="cosine", free_phase="persistent")
    assert [tc.lr_at(e) for e in range(4)] == pytest.approx([tc.lr * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)])
    ck = str(tmp_path / "step_2")
    full = train_step(StepJob(2, lay, fp, ds.x, tc))
    with pytest.raises(_Stop):
        train_step(StepJob(2, lay, fp, ds.x, tc, checkpoint=ck), progress=_stop_after(2))
    resumed = train_step(StepJob(2, lay, fp, ds.x, tc, checkpoint=ck))
    np.testing.assert_array_equal(full.params.J_edge, resumed.params.J_edge)
    assert full.curves == resumed.curves
    # a checkpoint of another setting (here without persistent chains) is not continued: the step trains
    # from the start, to the uninterrupted result
    tc_input = TrainConfig(epochs=4, batch_size=64, k_sample=5, seed=2, lr_schedule="cosine")
    ck2 = str(tmp_path / "other")
    with pytest.raises(_Stop):
        train_step(StepJob(2, lay, fp, ds.x, tc_input, checkpoint=ck2), progress=_stop_after(1))
    fresh = train_step(StepJob(2, lay, fp, ds.x, tc, checkpoint=ck2))
    np.testing.assert_array_equal(full.params.J_edge, fresh.params.J_edge)


def test_checkpoint_of_another_job_is_not_resumed(tmp_path, caplog) -> None:
    """A checkpoint resumes only the job it was made for: another device card *content* at the same path,
    other data or another step size restart the step (with a warning) instead of continuing stale work;
    a longer run of the same job continues it (negative control)."""
    import logging

    from pbitkit.dtm.runner import SamplerSpec
    from pbitkit.dtm.train import job_fingerprint
    from pbitkit.pbitmodel import DeviceModel

    card = tmp_path / "card.json"
    DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9).replace(variation={"v0_sigma_V": 0.01, "vs_sigma_rel": 0.1}).save(card)
    chip = SamplerSpec(mode="device", card=str(card), chip_seed=3)
    ds = synthetic_patterns(128, np.random.default_rng(4), side=3)
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=1, schedule="log"), 9, 0)
    tc1 = TrainConfig(epochs=1, batch_size=64, k_sample=3, seed=2, lr_schedule="constant")
    job = StepJob(1, lay, fp, ds.x, tc1, sampler=chip, checkpoint=str(tmp_path / "step_1"))
    fp0 = job_fingerprint(job)
    assert job_fingerprint(dataclasses.replace(job, config=dataclasses.replace(tc1, epochs=5))) == fp0
    for other in (dataclasses.replace(job, data=ds.x[::-1].copy()),
                  dataclasses.replace(job, config=dataclasses.replace(tc1, lr=0.5)),
                  dataclasses.replace(job, sampler=dataclasses.replace(chip, chip_seed=4))):
        assert job_fingerprint(other) != fp0
    first = train_step(job)
    DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9).replace(variation={"v0_sigma_V": 0.03, "vs_sigma_rel": 0.1}).save(card)
    assert job_fingerprint(job) != fp0  # the card's content, not its path
    with caplog.at_level(logging.WARNING, logger="pbitkit.dtm.train"):
        again = train_step(job)
    assert any("made for another training job" in r.message for r in caplog.records)
    assert not np.array_equal(again.params.J_edge, first.params.J_edge)  # retrained on the new chip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pbitkit.dtm.train"):
        train_step(dataclasses.replace(job, config=dataclasses.replace(tc1, epochs=2)))  # continues
    assert not caplog.records


def test_bad_inputs_raise() -> None:
    from pbitkit.errors import ConfigError

    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    with pytest.raises(ConfigError, match="step"):
        train_step(StepJob(3, lay, fp, np.ones((4, 9), np.int8), TrainConfig()))
    with pytest.raises(ConfigError, match="shape"):
        train_step(StepJob(1, lay, fp, np.ones((4, 8), np.int8), TrainConfig()))
    with pytest.raises(ConfigError, match="model.L"):
        build_layout(ModelConfig(L=4, pattern="G4", label_repeat=0), 9, 0)


def test_grid_placement_is_topographic() -> None:
    """placement = "grid": image neighbours sit stride apart on colour-0 nodes, labels elsewhere; a
    non-square image is a ConfigError; random placement (negative control) scatters the pixels."""
    from pbitkit.errors import ConfigError

    lay = build_layout(ModelConfig(L=16, pattern="G20", placement="grid"), 64, 10)
    colors = np.asarray(lay.graph.colors)
    assert np.all(colors[lay.visible] == 0) and np.unique(lay.visible).size == lay.visible.size
    rows, cols = np.divmod(lay.visible[:64], 16)
    np.testing.assert_array_equal(np.diff(cols.reshape(8, 8), axis=1), 2)  # pixel (r, c) -> node (1+2r, 1+2c)
    np.testing.assert_array_equal(np.diff(rows.reshape(8, 8), axis=0), 2)
    rnd = build_layout(ModelConfig(L=16, pattern="G20"), 64, 10)
    assert not np.all(np.diff(np.divmod(rnd.visible[:64], 16)[1].reshape(8, 8), axis=1) == 2)
    with pytest.raises(ConfigError, match="square image"):
        build_layout(ModelConfig(L=16, pattern="G20", placement="grid", label_repeat=0), 60, 10)


def test_crossbar_layout_couples_every_visible_bit_to_every_latent_cell() -> None:
    """pattern = "bipartite": the 124 visible bits of the digits model on the 128-cell side of a 16 x 16
    crossbar, each coupled to all 128 cells of the other side; too many visible bits name model.L;
    topographic placement is refused (it means nothing on a crossbar)."""
    lay = build_layout(ModelConfig(L=16, pattern="bipartite"), 64, 10)
    g = lay.graph
    assert (g.n_nodes, g.n_edges) == (256, 128 * 128)
    assert np.all(np.asarray(g.colors)[lay.visible] == 0) and np.unique(lay.visible).size == 124
    deg = np.asarray(g.degree)
    assert np.all(deg[lay.visible] == 128)
    with pytest.raises(ConfigError, match="model.L = 10"):
        build_layout(ModelConfig(L=10, pattern="bipartite"), 64, 10)  # 50 cells on a side, 124 bits
    with pytest.raises(ConfigError, match="placement = 'random'"):
        ModelConfig(pattern="bipartite", placement="grid")
    with pytest.raises(ConfigError, match="model.pattern must be one of .*bipartite"):
        ModelConfig(pattern="crossbar")
