"""Energy per sample: totals equal the sum of the parts and scale as T x K x N."""

from __future__ import annotations

import pytest

from pbitkit.dtm.energy import A100_J_PER_OP, IOCosts, digital_energy, dtm_energy
from pbitkit.errors import ConfigError

PARTS = {"rng": 350e-18, "bias": 1.2e-15, "clock": 0.1e-15, "wire": 0.4e-15}


def test_total_is_sum_of_parts() -> None:
    rep = dtm_energy(PARTS, 200e-9, T=8, K=250, n_cells=4900, n_write=794, n_read=784)
    assert rep.total_J == pytest.approx(sum(rep.breakdown_J.values()), rel=1e-12)
    assert rep.breakdown_J["array_rng"] == pytest.approx(8 * 250 * 4900 * 350e-18)
    assert rep.breakdown_J["io_write"] == pytest.approx(794 * 150e-12)
    assert rep.time_s == pytest.approx(8 * 250 * 200e-9)


@pytest.mark.parametrize("factor", [2, 3])
def test_array_energy_scales_as_T_K_N(factor: int) -> None:
    base = dtm_energy(PARTS, 1e-7, T=2, K=10, n_cells=100, n_write=0, n_read=0)
    for kw in ({"T": 2 * factor, "K": 10, "n_cells": 100}, {"T": 2, "K": 10 * factor, "n_cells": 100},
               {"T": 2, "K": 10, "n_cells": 100 * factor}):
        rep = dtm_energy(PARTS, 1e-7, n_write=0, n_read=0, **kw)
        assert rep.total_J == pytest.approx(factor * base.total_J, rel=1e-12)
    # I/O per step scales with T, I/O once does not
    once = dtm_energy(PARTS, 1e-7, T=4, K=1, n_cells=1, n_write=10, n_read=10)
    per = dtm_energy(PARTS, 1e-7, T=4, K=1, n_cells=1, n_write=10, n_read=10, io=IOCosts(io_per_step=True))
    assert per.breakdown_J["io_read"] == pytest.approx(4 * once.breakdown_J["io_read"])


def test_paper_scale_reproduced() -> None:
    """With the paper's E_cell ~ 2 fJ, T=8, K=250, L=70: ~1.6 nJ per step, ~13 nJ per image (docs/theory.md §3)."""
    rep = dtm_energy({"cell": 2e-15}, 200e-9, T=8, K=250, n_cells=70 * 70, n_write=0, n_read=0)
    assert rep.total_J == pytest.approx(8 * 2.45e-9, rel=1e-9)


def test_digital_baselines() -> None:
    out = digital_energy(T=8, K=250, n_cells=4900, mean_degree=12, cpu_updates_per_s=1e9, cpu_power_W=15)
    gpu, cpu = out
    assert gpu.ops_per_sample == 8 * 250 * 4900 * 44
    assert gpu.energy_per_sample_J == pytest.approx(gpu.ops_per_sample * A100_J_PER_OP)
    assert cpu.energy_per_sample_J == pytest.approx(8 * 250 * 4900 / 1e9 * 15)


def test_energy_from_the_array_ledger_scales_as_T_K_N() -> None:
    from pbitkit.array import grid_graph
    from pbitkit.dtm.energy import dtm_energy_from_ledger
    from pbitkit.pbitmodel import DeviceModel

    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9, energy_per_bit_J=350e-18)
    g12, g24 = grid_graph(12, "G12"), grid_graph(24, "G12")
    base = dtm_energy_from_ledger(g12, card, T=2, K=10, n_write=0, n_read=0)
    assert base.total_J == pytest.approx(sum(base.breakdown_J.values()), rel=1e-12)
    assert base.per_cell_sweep_J["rng"] == pytest.approx(350e-18)
    assert dtm_energy_from_ledger(g12, card, T=4, K=10, n_write=0, n_read=0).total_J == pytest.approx(2 * base.total_J)
    assert dtm_energy_from_ledger(g12, card, T=2, K=30, n_write=0, n_read=0).total_J == pytest.approx(3 * base.total_J)
    big = dtm_energy_from_ledger(g24, card, T=2, K=10, n_write=0, n_read=0)
    # N x 4; per-cell energy differs only by the wire part (same jumps, so same lengths except wrap folding)
    assert big.breakdown_J["array_rng"] == pytest.approx(4 * base.breakdown_J["array_rng"])
    assert base.time_s == pytest.approx(2 * 10 * base.assumptions["ledger"]["time_per_sweep_s"])


def test_per_step_sweeps_energy() -> None:
    """Per-step sweeps: the array part scales with the sum of the steps' sweeps (not T x K); I/O does not."""
    from pbitkit.dtm.energy import sweeps_per_sample
    from pbitkit.dtm.evaluate import EvalConfig, mode_K_values, point_step_K

    uni = dtm_energy(PARTS, 1e-7, T=4, K=20, n_cells=100, n_write=60, n_read=64)
    per = dtm_energy(PARTS, 1e-7, T=4, K=20, n_cells=100, n_write=60, n_read=64, step_K=(20, 5, 5, 5))
    assert per.sweeps_per_sample == 35 and uni.sweeps_per_sample == 80
    assert per.breakdown_J["array_rng"] == pytest.approx(35 / 80 * uni.breakdown_J["array_rng"], rel=1e-12)
    assert per.breakdown_J["io_write"] == uni.breakdown_J["io_write"]
    assert per.time_s == pytest.approx(35 * 1e-7) and per.as_dict()["step_K"] == [20, 5, 5, 5]
    # negative control: the same step_K on every step is the uniform report
    same = dtm_energy(PARTS, 1e-7, T=4, K=20, n_cells=100, n_write=60, n_read=64, step_K=(20,) * 4)
    assert same.total_J == pytest.approx(uni.total_J, rel=1e-12)
    gpu = digital_energy(T=4, K=20, n_cells=100, mean_degree=8, step_K=(20, 5, 5, 5))[0]
    assert gpu.ops_per_sample == 35 * 100 * 36
    for bad in ((20, 5, 5), (20, 0, 5, 5)):
        with pytest.raises(ValueError, match="step_K"):
            sweeps_per_sample(4, 20, bad)
    # the evaluation's setting: steps 2..T at K_later; equal energy gives step 1 of the other machine the rest
    e = EvalConfig(K_values=(10, 20), K_later=5, equal_energy=True)
    assert point_step_K(20, 4, e) == (20, 5, 5, 5) and point_step_K(20, 1, e) == (20,)
    assert point_step_K(20, 4, EvalConfig(K_later=0)) == (20, 20, 20, 20)
    assert point_step_K(20, 4, EvalConfig()) == (20, 20, 20, 20)  # the default (the crossbar's): K on every step
    assert mode_K_values("T1", 1, 4, e) == (25, 35)  # 10 + 3*5 and 20 + 3*5 sweeps, as the T = 4 DTM
    with pytest.raises(ConfigError, match="K_later"):
        EvalConfig(K_later=-1)
