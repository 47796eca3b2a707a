"""Cell netlists rendered as text, the registry, and real ngspice runs of both p-bit cells."""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pbitkit.circuits.builtin.latch import render_latch
from pbitkit.circuits.builtin.strongarm import render_strongarm
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.models import generic_library, get_library
from pbitkit.circuits.ngspice import run
from pbitkit.circuits.registry import get_cell, list_cells, reference_netlists
from pbitkit.circuits.sweep import group_points
from pbitkit.errors import ConfigError


@pytest.fixture(scope="module")
def sky():
    return get_library("sky130", "tt")


def test_registry_and_params():
    assert {"latch", "strongarm"} <= set(list_cells())  # + netlist cells (netlists/cells, $PBITKIT_CELLS)
    with pytest.raises(ConfigError, match="unknown cell 'nope'"):
        get_cell("nope")
    with pytest.raises(ConfigError, match="unknown parameter 'wx_um'"):
        get_cell("latch").params({"wx_um": 1.0})
    lo, hi = get_cell("strongarm").default_bias_range()
    assert lo < 0 < hi


def test_latch_netlist_text():
    lib = generic_library()
    p = get_cell("latch").params()
    text = render_latch(lib, p, vdd_V=0.085, temp_C=27, bias_V=0.05, mc_seed=-1)
    assert "Vdd vdd 0 0.085" in text and "Vb bias 0 0.05" in text
    assert "MN1 q qb 0 0 pbk_nmos W=4u L=0.15u" in text
    assert "MP2 qb q vdd vdd pbk_pmos W=0.42u L=0.15u" in text
    assert "Rin bias q 1e+12" in text and "Rref ref qb 1e+12" in text
    assert 'file="noise_q.txt"' in text and "Gnqb 0 qb nzqb 0 0" in text
    assert ".options seed" not in text
    text2 = render_latch(lib, p, vdd_V=0.085, temp_C=27, bias_V=0.05, mc_seed=3, noise=False)
    assert ".options seed=4" in text2 and "filesource" not in text2  # seed k -> k+1 (0 is not a seed)


def test_strongarm_netlist_text(sky):
    p = get_cell("strongarm").params()
    text = render_strongarm(sky, p, vdd_V=1.8, temp_C=27, bias_V=0.01)
    assert sky.include_line in text
    assert "XI1 x1 inp tail 0 sky130_fd_pr__nfet_01v8 w=2 l=0.15" in text
    assert "XR4 x2 clk vdd vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15" in text
    assert "Vclk clk 0 PULSE(0 1.8 5e-09" in text
    assert "Ebn inn cm bias 0 -0.5" in text and "Ebp inp cm bias 0 0.5" in text
    # its randomness: channel noise of the input pair and the tail, injected at their drains; no amplifier
    assert "Gnx1 0 x1 nzx1 0 0" in text and "Gnx2 0 x2 nzx2 0 0" in text and "Gntail 0 tail nztail 0 0" in text
    assert "Enp" not in text and " nf " not in text


def test_jobs_group_bias_points_into_one_session(sky):
    c = get_cell("latch")
    pts = [SweepPoint("latch", b) for b in (0.02, 0.05)] + [SweepPoint("latch", 0.05, temp_C=50.0)]
    jobs = c.jobs(pts, library=lambda corner, mm: sky)
    assert len(jobs) == 2
    assert jobs[0].netlist.count("alter vb dc=") == 2
    # each point its own noise tables: point 0's read directly, point 1's copied over them before its tran
    assert set(jobs[0].files) == {"noise_q.txt", "noise_qb.txt", "noise_q.p1.txt", "noise_qb.p1.txt"}
    ctl = jobs[0].netlist.splitlines()
    k = ctl.index("alter vb dc=0.05")
    assert ctl[k - 2:k] == ["shell cp -f noise_q.p1.txt noise_q.txt", "shell cp -f noise_qb.p1.txt noise_qb.txt"]
    assert jobs[0].files["noise_q.p1.txt"] != jobs[0].files["noise_q.txt"]
    with pytest.raises(ConfigError, match="given to cell"):
        c.jobs([SweepPoint("strongarm", 0.0)])
    # same noise seed -> identical noise files (whatever the session); another seed differs
    j2 = c.jobs([SweepPoint("latch", 0.02)], library=lambda corner, mm: sky)[0]
    j3 = c.jobs([SweepPoint("latch", 0.02, noise_seed=1)], library=lambda corner, mm: sky)[0]
    assert j2.files["noise_q.txt"] == jobs[0].files["noise_q.txt"] != j3.files["noise_q.txt"]
    j4 = c.jobs([SweepPoint("latch", 0.05)], library=lambda corner, mm: sky)[0]
    assert j4.files["noise_qb.txt"] == jobs[0].files["noise_qb.p1.txt"]


def _run_rows(cell, pts, pred_params=None):
    """Rows of ``pts`` (in order) and, with ``pred_params``, of the same points in the predicted tier.

    The sessions run two at a time (threads waiting on ngspice processes): the transient points are split
    into two sessions like ``characterize`` does on 2 workers (rows do not depend on the split: each
    point's noise is seeded from its own identity), plus the predicted-tier session."""
    sessions = group_points(list(pts), min_jobs=2)
    pred_pts = [] if pred_params is None else [
        dataclasses.replace(pt, tier="predicted", params=pred_params) for pt in pts]
    jobs = [cell.jobs(s)[0] for s in sessions] + (cell.jobs(pred_pts) if pred_pts else [])
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, jobs))
    rows = [r for job, res in zip(jobs, results) for r in cell.rows(job, res)]
    key = {(pt.tier, pt.bias_V): i for i, pt in enumerate([*pts, *pred_pts])}
    rows.sort(key=lambda r: key[(r["tier"], r["bias_V"])])
    return (rows[: len(pts)], rows[len(pts):]) if pred_pts else rows


def _check_tiers_agree(rows, pred):
    """The predicted tier (DC/AC/op analyses) must agree with the measured transient P(1) within the
    measured point's own uncertainty: |p_pred - p_meas| < 3 SE_meas + 0.03, SE from the n_eff Wilson
    interval (half-width / 1.96); 0.03 absorbs the predicted tier's grid/approximation error."""
    for r, q in zip(rows, pred):
        assert q["tier"] == "predicted" and q["bias_V"] == r["bias_V"]
        se = (r["p1_hi"] - r["p1_lo"]) / 2 / 1.96
        assert abs(q["p1"] - r["p1"]) < 3 * se + 0.03, (r["bias_V"], q["p1"], r["p1"], se)
    return pred


def _check_monotone_and_span(rows):
    p = np.array([r["p1"] for r in rows])
    # each P1 has a CI from its effective sample size; successive points must not decrease by more
    # than the combined half-widths (a ~2-sigma allowance per pair)
    half = np.array([(r["p1_hi"] - r["p1_lo"]) / 2 for r in rows])
    assert np.all(np.diff(p) > -(half[1:] + half[:-1])), p
    assert p[0] < 0.1 and p[-1] > 0.9, p


@pytest.mark.ngspice
def test_strongarm_p1_monotone_spanning_default_range():
    c = get_cell("strongarm")
    lo, hi = c.default_bias_range()
    pts = [SweepPoint("strongarm", float(b), params={"n_samples": 200}) for b in np.linspace(lo, hi, 5)]
    # staircase of 81 cycles over +-4 mV: 0.1 mV resolution (sigma_n ~ 0.5 mV)
    rows, pred = _run_rows(c, pts, pred_params={"stair_steps": 81})
    _check_monotone_and_span(rows)
    _check_tiers_agree(rows, pred)
    assert abs(pred[0]["pred_v0_V"]) < 0.3e-3  # nominal (symmetric) comparator: threshold near 0
    for r in rows:
        assert r["status"] == "ok" and r["noise_rms_V"] == r["noise_sigma_hand_V"] > 0
        # docs/theory.md §6.8: 37-40 fJ per sample from VDD for this comparator; allow 25-60 fJ. The clock
        # drive (net charge into the tail + 4 reset gates while the clock is high, ~13 fC at 1.8 V) adds ~23 fJ
        assert 25e-15 < r["supply_energy_per_bit_J"] < 60e-15
        assert 15e-15 < r["clock_energy_per_bit_J"] < 35e-15
        assert r["energy_per_bit_J"] == pytest.approx(r["supply_energy_per_bit_J"] + r["clock_energy_per_bit_J"])
        assert r["sample_period_s"] == pytest.approx(1e-8)


@pytest.mark.ngspice
def test_latch_p1_monotone_spanning_default_range():
    c = get_cell("latch")
    lo, hi = c.default_bias_range()
    pts = [SweepPoint("latch", float(b)) for b in np.linspace(lo, hi, 5)]
    rows, pred = _run_rows(c, pts, pred_params={})
    _check_monotone_and_span(rows)
    _check_tiers_agree(rows, pred)
    # dynamics: the predicted correlation time (mean first-passage rates of the differential mode) vs
    # the measured one at the centre. A 100 ms record holds only ~50 correlation times, so the measured
    # tau_int has a relative SE of sqrt(22 tau_int / n) ~ 0.6; allow a factor 3.
    ratio = pred[2]["tau_corr_s"] / rows[2]["tau_corr_s"]
    assert 1 / 3 < ratio < 3, ratio
    for r in rows:
        assert r["static_power_W"] < 1e-12  # sub-pW static power: the cell runs on pA at 85 mV
        assert math.isfinite(r["tau_corr_s"]) or r["p1"] in (0.0, 1.0)


@pytest.mark.ngspice
def test_latch_transistor_readout_gives_digital_bits():
    c = get_cell("latch")
    lo, hi = c.default_bias_range()
    params = {"readout": 1.0, "t_stop_s": 0.05}
    pts = [SweepPoint("latch", b, params=params) for b in (lo + 0.02, 0.07, hi - 0.02)]
    rows = _run_rows(c, pts)
    p = [r["p1"] for r in rows]
    assert p[0] < 0.3 < p[1] < 0.8 < p[2], p
    for r in rows:
        # the readout's digital output follows the sign of v(q) - v(qb) at most sampling instants (it
        # misses sub-mV excursions and lags by its ~10 us response; measured 0.85 at the centre)
        assert r["readout_agreement"] > 0.75
        # and it dominates the energy per bit: 65-150 pW (its bias currents) with the output parked at a
        # rail for the whole record, ~250 nW near P = 1/2 (slow edges through the inverter), vs 0.22 pW
        # for the latch core (measured, noise_seed 0); the smallest ratio measured is ~300
        assert r["readout_power_W"] > 100 * r["core_static_power_W"]


def test_shipped_reference_netlists_match_the_renderers():
    from pbitkit.paths import netlists_dir

    for rel, text in reference_netlists().items():
        path = netlists_dir() / rel
        assert path.read_text() == text, f"{path} is stale: regenerate with reference_netlists()"
