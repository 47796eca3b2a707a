"""Hardware in the loop on a tiny enumerable model: device variation costs quality (exact KL); offset
calibration and hardware-aware training (the chip in the training sampler) win it back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pbitkit.dtm.acp import ACPConfig
from pbitkit.dtm.datasets import synthetic_patterns
from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
from pbitkit.dtm.generation import generate
from pbitkit.dtm.metrics import empirical_distribution, exact_kl
from pbitkit.dtm.model import DTM, ModelConfig, build_layout
from pbitkit.dtm.runner import SamplerSpec, make_runner
from pbitkit.dtm.train import StepJob, TrainConfig, train_step
from pbitkit.errors import PbitkitError
from pbitkit.pbitmodel import DeviceModel


@pytest.fixture(scope="module")
def card_path(tmp_path_factory) -> str:
    # offsets with sigma = Vs (a field error of ~0.5 per cell) and 10% slope spread: the size the earlier study (docs/theory.md §6.8)
    # reports for the StrongARM comparator (offset std ~3.5 sigmoid widths before calibration, here milder)
    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9).replace(variation={"v0_sigma_V": 0.01, "vs_sigma_rel": 0.1})
    p = tmp_path_factory.mktemp("card") / "card.json"
    card.save(p)
    return str(p)


def _train(lay, fp, x, spec: SamplerSpec) -> tuple:
    tc = TrainConfig(epochs=25, batch_size=128, burn_in=10, measure=5, lr=0.03, k_sample=15,
                     acp=ACPConfig(lambda_init=0.0), seed=3, lr_schedule="constant")
    return tuple(train_step(StepJob(t, lay, fp, x, tc, sampler=spec)).params for t in (1, 2))


def _kl(dtm, p_data, spec, seed) -> float:
    g = generate(dtm, 20000, K=15, sampler=spec, seed=seed, batch=2000).pixels
    return exact_kl(p_data, empirical_distribution(g, 0.5))


@pytest.mark.slow
def test_device_variation_costs_quality_and_hw_aware_training_recovers(card_path) -> None:
    rng = np.random.default_rng(0)
    ds = synthetic_patterns(2048, rng, side=3, flip_prob=0.05)
    big = synthetic_patterns(400_000, np.random.default_rng(99), side=3, flip_prob=0.05)
    p_data = empirical_distribution(big.x)  # reference distribution (sampling error ~1e-3 per state)
    cfg = ModelConfig(L=8, pattern="G8", label_repeat=0, layout_seed=1)
    lay = build_layout(cfg, 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    device = SamplerSpec(mode="device", card=card_path, chip_seed=5, update_interval_s=1e-5)  # no telegraph memory
    ideal_dtm = DTM(lay, fp, _train(lay, fp, ds.x, SamplerSpec()), cfg)
    hw_dtm = DTM(lay, fp, _train(lay, fp, ds.x, device), cfg)
    kl_ideal = _kl(ideal_dtm, p_data, SamplerSpec(), 1)
    kl_ideal_2 = _kl(ideal_dtm, p_data, SamplerSpec(), 2)
    kl_dev = _kl(ideal_dtm, p_data, device, 3)
    kl_hw = _kl(hw_dtm, p_data, device, 4)
    kl_cal = _kl(ideal_dtm, p_data, dataclasses.replace(device, calibrate=True), 5)
    noise = abs(kl_ideal - kl_ideal_2)  # sample-to-sample spread of the KL estimate
    margin = 10 * noise + 0.02
    print(f"KL ideal-on-ideal {kl_ideal:.3f}, ideal-on-device {kl_dev:.3f}, hw-aware-on-device {kl_hw:.3f}, ideal-on-calibrated {kl_cal:.3f}, noise {noise:.4f}")
    assert kl_dev > kl_ideal + margin, (kl_ideal, kl_dev, noise)
    assert kl_hw < kl_dev - margin, (kl_hw, kl_dev, noise)
    assert kl_cal < kl_dev - margin, (kl_cal, kl_dev, noise)  # trimming the offsets recovers most of the loss


def test_device_runner_draws_the_same_chip(card_path) -> None:
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    spec = SamplerSpec(mode="device", card=card_path, chip_seed=7, weight_bits=4)
    a, b = make_runner(lay.graph, spec), make_runner(lay.graph, spec)
    np.testing.assert_array_equal(a.hardware.v0_V, b.hardware.v0_V)
    c = make_runner(lay.graph, SamplerSpec(mode="device", card=card_path, chip_seed=8))
    assert not np.array_equal(a.hardware.v0_V, c.hardware.v0_V)
    with pytest.raises(PbitkitError, match="nowhere.json"):
        make_runner(lay.graph, SamplerSpec(mode="device", card="/nowhere.json"))


def test_calibrated_chip_has_smaller_offsets(card_path) -> None:
    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    raw = make_runner(lay.graph, SamplerSpec(mode="device", card=card_path, chip_seed=7)).hardware
    cal = make_runner(lay.graph, SamplerSpec(mode="device", card=card_path, chip_seed=7, calibrate=True)).hardware
    np.testing.assert_array_equal(raw.v0_V, cal.v0_V)  # the same chip ...
    assert np.std(cal.offsets_field()) < 0.5 * np.std(raw.offsets_field())  # ... with its offsets trimmed


def test_reused_calibrated_chip_gives_the_same_samples(card_path) -> None:
    """The evaluation draws and calibrates each mode's chip once and reuses it for every K: the samples must
    be those of a chip drawn and calibrated per call (both are seeded by chip_seed)."""
    from pbitkit.dtm.runner import make_hardware_for

    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    fp = ForwardProcess(ForwardConfig(n_steps=2, schedule="log"), 9, 0)
    params = _train(lay, fp, synthetic_patterns(256, np.random.default_rng(4), side=3).x, SamplerSpec())
    dtm = DTM(lay, fp, params, ModelConfig(L=6, pattern="G8", label_repeat=0))
    spec = SamplerSpec(mode="device", card=card_path, chip_seed=7, calibrate=True)
    chip = make_hardware_for(lay.graph, spec)
    fresh = generate(dtm, 300, K=5, sampler=spec, seed=11).pixels
    reused = generate(dtm, 300, K=5, sampler=spec, seed=11, hardware=chip).pixels
    np.testing.assert_array_equal(fresh, reused)
    other = make_hardware_for(lay.graph, dataclasses.replace(spec, chip_seed=8))
    assert not np.array_equal(fresh, generate(dtm, 300, K=5, sampler=spec, seed=11, hardware=other).pixels)
    with pytest.raises(PbitkitError, match="ideal-mode"):
        make_runner(lay.graph, SamplerSpec(), chip)
    from pbitkit.array import grid_graph

    with pytest.raises(PbitkitError, match="cells"):
        make_runner(grid_graph(4, "G8"), spec, chip)


def test_mode_chips_draw_each_distinct_chip_once(card_path) -> None:
    """The evaluation's chips: one per distinct (spec, graph) — device+cal, hw-aware and T1+cal share the
    calibrated chip —, another seed another chip, none for the ideal array."""
    from types import SimpleNamespace

    from pbitkit.dtm.evaluate import mode_chips

    lay = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)
    other = build_layout(ModelConfig(L=6, pattern="G8", label_repeat=0), 9, 0)  # same graph, another object
    model = SimpleNamespace(dtm=SimpleNamespace(layout=lay))
    model2 = SimpleNamespace(dtm=SimpleNamespace(layout=other))
    cal = SamplerSpec(mode="device", card=card_path, chip_seed=7, calibrate=True)
    chips = mode_chips({"ideal": (model, SamplerSpec()), "device+cal": (model, cal), "hw-aware": (model, cal),
                        "T1+cal": (model2, cal), "device": (model, dataclasses.replace(cal, calibrate=False)),
                        "seed8": (model, dataclasses.replace(cal, chip_seed=8))})
    assert "ideal" not in chips
    assert chips["device+cal"] is chips["hw-aware"] is chips["T1+cal"]
    assert chips["device"] is not chips["device+cal"] and chips["seed8"] is not chips["device+cal"]
    assert not np.array_equal(chips["seed8"].v0_V, chips["device+cal"].v0_V)
    np.testing.assert_array_equal(chips["device"].v0_V, chips["device+cal"].v0_V)  # same draw, trimmed or not


def test_default_chip_is_the_default_cells_card() -> None:
    from pbitkit.dtm.runner import default_card_path, load_card

    assert default_card_path().name == "native_latch_card.json"
    assert load_card(None).cell == "native_latch"
