"""Calibration (measured spread reduction), the energy/time ledger, diagnostics on known processes, CLI."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from pbitkit.array import DacSpec, DeviceStats, HardwareConfig, grid_graph, make_hardware, square_lattice
from pbitkit.array.calibration import bounded_offsets, calibrate, fit_logistic_cells
from pbitkit.array.diagnostics import autocorr, effective_sample_size, integrated_autocorr_time
from pbitkit.array.ledger import ledger
from pbitkit.cli import main


def test_calibration_reduces_marginal_spread():
    """Unbiased array (J = 0, h = 0) of cells with sigma(V0) = 1.5 Vs: the spread of the marginals falls
    by a measured factor. Noise floor of one marginal: SE = sqrt((1+lam)/(1-lam) / n_reads) ~ 0.026 for
    3200 reads with lam = e^-1, so the achievable spread is ~0.03; the bound 5x leaves margin."""
    g = grid_graph(16, "G12")
    st = DeviceStats(vs_V=0.02, v0_sigma_V=0.03, vs_sigma_rel=0.1, tau_corr_s=1e-7)
    hw = make_hardware(g.n_nodes, st, HardwareConfig(trim_dac=DacSpec(bits=6), update_interval_s=1e-7), seed=1)
    res = calibrate(g, hw, seed=0)
    assert res.spread_before > 0.4
    assert res.spread_reduction > 5.0, res.summary()
    rms0 = np.sqrt(np.mean(res.residual_V_before**2))
    rms1 = np.sqrt(np.mean(res.residual_V_after**2))
    assert rms1 < rms0 / 5
    # the trim DAC's resolution bounds the residual: a 3-bit trim DAC cannot do as well (negative control)
    hw3 = make_hardware(g.n_nodes, st, HardwareConfig(trim_dac=DacSpec(bits=3), update_interval_s=1e-7), seed=1)
    res3 = calibrate(g, hw3, seed=0)
    assert res3.spread_after > 1.5 * res.spread_after


def test_fit_logistic_recovers_parameters():
    rng = np.random.default_rng(0)
    a_true, b_true = rng.uniform(0.5, 2, 50), rng.normal(0, 1, 50)
    h = np.linspace(-3, 3, 13)
    n = 4000
    ones = rng.binomial(n, 1 / (1 + np.exp(-(a_true * h[:, None] + b_true))))
    a, b = fit_logistic_cells(h, ones, n)
    # binomial MLE standard errors at these sizes are ~0.02; 0.1 is > 4 sigma
    assert np.max(np.abs(a - a_true)) < 0.1 and np.max(np.abs(b - b_true)) < 0.1


def test_ledger_components_and_geometry():
    st = DeviceStats(energy_per_bit_J=350e-18, tau_corr_s=100e-9, wire_cap_F_per_m=0.25e-9, wire_vdd_V=0.8,
                     clock_energy_J=1e-16, bias_c_node_F=0.0)
    g = grid_graph(70, "G12")
    L = ledger(g, st, n_sweeps_per_sample=250)
    act = 0.5 * (1 - np.exp(-1.0))  # p = 1/2, update interval = tau
    per_cell_len = 2 * 4 * (1 + 5 + 19) * 3e-6  # fold 2 x 4 rotations x Manhattan lengths of the jumps
    assert L.wire_J == pytest.approx(act * 0.5 * 0.25e-9 * 0.64 * per_cell_len)
    assert L.energy_per_update_J == pytest.approx(350e-18 + 1e-16 + L.wire_J + L.bias_J)
    assert L.energy_per_sweep_J == pytest.approx(4900 * L.energy_per_update_J)
    assert L.energy_per_sample_J == pytest.approx(250 * L.energy_per_sweep_J)
    assert L.time_per_sweep_s == pytest.approx(2 * 100e-9) and L.limited_by == "correlation time"
    assert sum(v for k, v in L.breakdown().items() if k.endswith("_fraction")) == pytest.approx(1.0)
    # an open grid has shorter wires at the border; slow bias settling limits the time
    Lo = ledger(grid_graph(20, "G8", periodic=False), DeviceStats(bias_settling_s=1e-7), update_interval_s=50e-9)
    assert Lo.limited_by == "bias settling" and Lo.time_per_update_s == pytest.approx(5e-7)
    assert Lo.wire_J_per_cell.min() < Lo.wire_J_per_cell.max()


def test_ledger_from_device_model_card():
    from pbitkit.pbitmodel import DeviceModel

    card = DeviceModel.ideal(tau_corr_s=80e-9, energy_per_bit_J=300e-18)
    L = ledger(square_lattice(8), card)
    assert L.rng_J == 300e-18 and L.time_per_update_s == pytest.approx(80e-9)


def test_integrated_autocorr_time_of_ar1():
    """AR(1) with phi = 0.8 has tau_int = (1 + phi) / (1 - phi) = 9. 64 series of 4000 points: the
    estimator's relative SE is ~sqrt(2 (2M + 1) / n) ~ 3 %; 10 % tolerance."""
    rng = np.random.default_rng(0)
    phi, T, C = 0.8, 4000, 64
    x = np.zeros((T, C))
    e = rng.standard_normal((T, C)) * np.sqrt(1 - phi**2)
    x[0] = rng.standard_normal(C)
    for t in range(1, T):
        x[t] = phi * x[t - 1] + e[t]
    tau = integrated_autocorr_time(x)
    assert tau == pytest.approx(9.0, rel=0.1)
    assert effective_sample_size(x) == pytest.approx(T * C / tau)
    np.testing.assert_allclose(autocorr(x, 3), phi ** np.arange(4), atol=0.02)
    assert integrated_autocorr_time(rng.standard_normal((T, C))) == pytest.approx(1.0, abs=0.1)  # white noise


def test_cli_sample_and_bench(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["-q", "array", "sample", "--graph", "square", "-L", "8", "--beta", "0.3", "-J", "1.0",
               "--sweeps", "200", "--chains", "8", "--mode", "device", "--tau", "1e-12", "--out", str(out)])
    assert rc == 0
    summ = json.loads((out / "summary.json").read_text())
    assert summ["n_samples"] == 200 and "ledger" in summ
    assert (out / "run.json").exists() and (out / "moments.npz").exists()
    rc = main(["-q", "array", "bench", "--graphs", "ising_32x32_torus", "--chains", "4", "--modes", "ideal",
               "--no-thrml", "--min-time", "0.01", "--out", str(tmp_path / "b.json")])
    assert rc == 0
    res = json.loads((tmp_path / "b.json").read_text())
    assert res["results"][0]["updates_per_s"] > 0 and res["machine"]["n_cpus"] >= 1
    # a bad option value is a clean error, not a traceback
    assert main(["-q", "array", "sample", "--couplings", str(tmp_path / "nope.npz"), "--out", str(tmp_path / "r2")]) == 1
    # each run directory's log ends with its command (main() in-process, also after an error)
    logging.getLogger("pbitkit").warning("a message logged after the commands")
    for log_file in (out / "pbitkit.log", tmp_path / "r2" / "pbitkit.log"):
        assert "after the commands" not in log_file.read_text(), log_file


def test_calibration_of_cells_far_outside_the_field_sweep():
    """sigma(V0) = 8 Vs: many cells read all +1 or all -1 over the whole +-3 field sweep (their fitted slope
    ~0, -b/a meaningless). The bounded estimate moves them towards their centres, so the residual offset
    falls over the rounds instead of jumping to the trim DAC's rails."""
    g = grid_graph(12, "G12")
    st = DeviceStats(vs_V=0.015, v0_sigma_V=0.12, vs_sigma_rel=0.1, tau_corr_s=1e-7)
    hw = make_hardware(g.n_nodes, st, HardwareConfig(trim_dac=DacSpec(bits=8), update_interval_s=1e-7), seed=2)
    res = calibrate(g, hw, rounds=4, n_sweeps=100, n_chains=8, seed=0)
    rms0 = np.sqrt(np.mean(res.residual_V_before**2))
    rms1 = np.sqrt(np.mean(res.residual_V_after**2))
    assert np.isfinite(res.offset_est_field).all()
    assert np.max(np.abs(res.offset_est_field)) <= 2 * 3.0 + 1e-9
    assert rms1 < rms0 / 4, (rms0, rms1)
    # negative control: the raw -b/a of the saturated cells is far outside any field the sweep can resolve
    ones = np.zeros((13, 1)) + 100 * 8
    a, b = fit_logistic_cells(np.linspace(-3, 3, 13), ones, 100 * 8)
    assert abs(b[0] / a[0]) > 100 and abs(bounded_offsets(a, b, ones, 800, 3.0)[0]) == 6.0
