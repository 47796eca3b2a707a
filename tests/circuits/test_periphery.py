"""Periphery testbenches (clock tree, wires, I/O bit lines) in ngspice, checked against hand analysis."""

from __future__ import annotations

import pytest

from pbitkit.circuits.models import get_library
from pbitkit.circuits.periphery import (
    MET1_DENSE,
    MET1_ISOLATED,
    measure_clock_tree,
    measure_io,
    measure_wire,
    render_clock_tree_tb,
    render_io_tb,
    render_wire_tb,
)
from pbitkit.errors import ConfigError

V = 1.8


def test_wire_layer_numbers_follow_the_lef() -> None:
    # met1 min width: 25.7784 aF/um^2 x 0.14 um + 2 x 40.567 aF/um = 84.7 aF/um to ground
    assert MET1_ISOLATED.c_per_um_F == pytest.approx(84.7e-18, rel=1e-3)
    # dense: + 2 x 3.9 eps0 x 0.35 / 0.14 = 172.6 aF/um of lateral coupling
    assert MET1_DENSE.c_per_um_F == pytest.approx(257.3e-18, rel=1e-3)
    assert 0.2e-15 <= MET1_DENSE.c_per_um_F <= 0.35e-15  # the DTM paper's range
    assert "LEF" in MET1_DENSE.source


def test_bad_testbench_inputs_are_refused() -> None:
    lib = get_library("sky130", "tt")
    with pytest.raises(ConfigError, match="length_um"):
        render_wire_tb(lib, length_um=0.0)
    with pytest.raises(ConfigError, match="n_loads"):
        render_wire_tb(lib, length_um=10.0, n_loads=-1)
    with pytest.raises(ConfigError, match="mode"):
        render_io_tb(lib, mode="erase", length_um=10.0, n_cells=4)
    with pytest.raises(ConfigError, match="n_rows"):
        render_clock_tree_tb(lib, pitch_um=3.0, n_rows=0)
    with pytest.raises(ConfigError, match="n_periods"):
        render_wire_tb(lib, length_um=10.0, n_periods=1)
    with pytest.raises(ConfigError, match="two lengths"):
        measure_wire([10.0])


@pytest.mark.ngspice
def test_wire_energy_per_um_is_c_v2() -> None:
    """A linear wire adds exactly C' V^2 per full cycle per um: the fitted slope of E(length) matches it to
    2 % for both layers (negative control: the isolated wire's slope is a third of the dense one's, so a
    testbench that ignored C' would fail one of the two)."""
    dense = measure_wire([50.0, 300.0], n_loads=2)
    iso = measure_wire([50.0, 300.0], n_loads=2, layer=MET1_ISOLATED)
    assert dense["per_um_J"] == pytest.approx(MET1_DENSE.c_per_um_F * V**2, rel=0.02)
    assert iso["per_um_J"] == pytest.approx(MET1_ISOLATED.c_per_um_F * V**2, rel=0.02)
    assert dense["fixed_J"] > 0 and len(dense["sources"]) == 2
    assert dense["sources"][0]["netlist_sha256"] != dense["sources"][1]["netlist_sha256"]


@pytest.mark.ngspice
def test_clock_tree_energy_per_cell_is_c_v2_of_its_wire() -> None:
    """Tripling the pitch adds C' x (extra wire per cell) x V^2 to the distribution energy per cell (5 %);
    the clock pins' own C V^2 does not depend on the pitch and is not part of the distribution term."""
    a = measure_clock_tree(pitch_um=3.0)
    b = measure_clock_tree(pitch_um=9.0)
    assert b["energy_per_cell_J"] - a["energy_per_cell_J"] == pytest.approx(
        b["hand_wire_per_cell_J"] - a["hand_wire_per_cell_J"], rel=0.05)
    assert a["pin_energy_per_cell_J"] == pytest.approx(b["pin_energy_per_cell_J"], rel=0.02)
    assert a["energy_per_cell_J"] > a["hand_wire_per_cell_J"]  # the buffers cost something on top of the wire
    assert a["source"]["testbench"].endswith("render_clock_tree_tb")


@pytest.mark.ngspice
def test_low_voltage_lvt_logic_wire_and_clock_follow_c_v2() -> None:
    """The native_latch's periphery: 0.6 V low-Vt logic at its 300 ns update period. The wire slope is
    C' V^2 at 0.6 V (measured 0.3 % off; 5 % allowed: the longer period adds leakage to the fixed part only),
    the tree's leaves swing rail to rail, and tripling the pitch adds C' x wire x V^2 (10 %)."""
    import numpy as np

    from pbitkit.circuits.ngspice import SimJob, run
    from pbitkit.pipeline.bias_network import cell_logic

    lg = cell_logic("native_latch")
    v = lg["logic_vdd_V"]
    w = measure_wire([150.0, 600.0], n_loads=12, vdd_V=v, period_s=300e-9, flavour=lg["flavour"])
    assert w["per_um_J"] == pytest.approx(MET1_DENSE.c_per_um_F * v**2, rel=0.05)
    assert w["per_um_J"] < 0.2 * MET1_DENSE.c_per_um_F * V**2  # negative control: (0.6/1.8)^2 of the 1.8 V wire
    kw = dict(vdd_V=v, period_s=300e-9, flavour=lg["flavour"], **lg["clock_pins"])
    a, b = measure_clock_tree(pitch_um=3.0, **kw), measure_clock_tree(pitch_um=9.0, **kw)
    assert b["energy_per_cell_J"] - a["energy_per_cell_J"] == pytest.approx(
        b["hand_wire_per_cell_J"] - a["hand_wire_per_cell_J"], rel=0.10)
    net = render_clock_tree_tb(get_library("sky130", "tt"), pitch_um=6.0, **kw)
    res = run(SimJob(netlist=net, vectors=("v(pin1_7)",)))
    t, leaf = np.real(res.vector("time")), np.real(res.vector("v(pin1_7)"))
    # the input rises at P/4 and falls at 3P/4 of each period: the farthest leaf follows within 30 ns (a tenth
    # of the period; measured: 12-25 ns through the four low-Vt inverters)
    p = 300e-9
    assert np.interp(p + 0.25 * p + 30e-9, t, leaf) > 0.9 * v and np.interp(p + 0.75 * p + 30e-9, t, leaf) < 0.1 * v


@pytest.mark.ngspice
@pytest.mark.parametrize("mode", ["write", "read"])
def test_io_energy_scales_with_bit_line_length(mode: str) -> None:
    """Each access charges or discharges the bit line once: E(l2) - E(l1) = C' (l2 - l1) V^2 / 2. Within 10 %:
    a longer line's slower edge lengthens the receiver's and keeper's crowbar current a little (read)."""
    short = measure_io(mode, length_um=50.0, n_cells=16, wordline_um=48.0)
    long = measure_io(mode, length_um=250.0, n_cells=16, wordline_um=48.0)
    assert long["energy_per_access_J"] - short["energy_per_access_J"] == pytest.approx(
        long["hand_bitline_J"] - short["hand_bitline_J"], rel=0.10)
    assert short["energy_per_access_J"] > short["hand_bitline_J"]


@pytest.mark.ngspice
def test_readout_comparator_decides_and_costs_its_clock_and_supply() -> None:
    """The readout decides +10 mV as 1 every period (a -10 mV input is refused as a wrong decision: negative
    control); its clock-pin energy is the pins' C V^2 — the same 2 um nFET + 4 x 1 um pFET gates as the
    clock-tree leaves, whose measured pin energy is the reference (25 %: the comparator's pins see Miller
    feedback from its switching internal nodes)."""
    from pbitkit.circuits.periphery import measure_readout
    from pbitkit.errors import SimulationError

    r = measure_readout()
    assert r["energy_per_read_J"] == pytest.approx(r["supply_J"] + r["clock_J"])
    pins = measure_clock_tree(pitch_um=3.0)["pin_energy_per_cell_J"]
    assert r["clock_J"] == pytest.approx(pins, rel=0.25)
    assert 0.0 <= r["idle_power_W"] < 1e-6
    with pytest.raises(SimulationError, match="wrong or no decision"):
        measure_readout(delta_V=-0.01)
