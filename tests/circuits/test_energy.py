"""Energy from the supply current: inverter vs C V^2 and the bias network vs fan-in (real ngspice)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pbitkit.circuits import measure
from pbitkit.circuits.models import get_library
from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.circuits.testbenches import bias_network_point, render_inverter_tb


@pytest.mark.ngspice
def test_inverter_switching_energy_is_c_v_squared():
    lib = get_library("sky130", "tt")
    vdd, n_periods = 1.8, 4
    caps = np.array([0.0, 10e-15, 20e-15, 40e-15])
    energy = []
    jobs = [SimJob(netlist=render_inverter_tb(lib, c_load_F=float(c), vdd_V=vdd, n_periods=n_periods),
                   vectors=("i(vdd)",)) for c in caps]
    with ThreadPoolExecutor(2) as pool:  # independent sessions, two at a time
        results = list(pool.map(run, jobs))
    for res in results:
        es = measure.energy_split(res.vector("time"), -res.vector("i(vdd)"), vdd)
        energy.append(es.energy_J / n_periods)
    slope, intercept = np.polyfit(caps, energy, 1)
    # hand analysis: each charging of C from the supply draws C V^2 (half stored, half burnt in the pFET);
    # leakage and short-circuit current do not depend on C. The 4 ns period is long enough for a full
    # swing at 40 fF (R_on C ~ 0.2 ns), so the slope is V^2 to within the fit's tiny residual; 3 %
    # allows the load-dependent short-circuit charge (slower output edges).
    assert slope == pytest.approx(vdd**2, rel=0.03)
    # the intercept is the inverter's own (drain/gate) capacitance times V^2 plus short-circuit: > 0, a few fJ
    assert 0 < intercept < 10e-15
    # negative control: the energy is not C V^2 / 2 (what is stored on the capacitor)
    assert abs(slope / (vdd**2 / 2) - 1) > 0.5


@pytest.mark.ngspice
def test_bias_network_settling_and_static_power_vs_fan_in():
    lib = get_library("sky130", "tt")
    with ThreadPoolExecutor(2) as pool:  # independent sessions, two at a time
        results = list(pool.map(lambda n: bias_network_point(n, library=lib), (1, 2, 4, 8)))
    for r in results:
        # settled value = sum_j G_j V_dd y_j / sum_j G_j; the drivers' on-resistance (~kOhm) against
        # 1 MOhm units shifts it by < 0.1 %
        assert r["v_final_V"] == pytest.approx(r["v_expected_V"], rel=2e-3)
        # first-order settling tau ln(100); the drivers' finite edges and wire capacitance add a few %
        assert r["settling_s"] == pytest.approx(r["tau_expected_s"] * math.log(100), rel=0.1)
    # static power with half the inputs high: V^2 G_sum / 4 (zero for fan-in 1: the only input is high)
    for r in results[1:]:
        assert r["static_power_W"] == pytest.approx(1.8**2 * r["fan_in"] * 1e-6 / 4, rel=0.02)
    # settling time falls as 1/fan-in with unit conductances
    ts = [r["settling_s"] for r in results]
    assert all(a > b for a, b in zip(ts, ts[1:]))
    # the update energy grows with fan-in (more driver and wire capacitance switched) and is positive
    e = [r["energy_per_update_J"] for r in results]
    assert all(x > 0 for x in e) and e[-1] > e[0]
