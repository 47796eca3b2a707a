"""The native_latch's charge-domain bias network (pbitkit.circuits.bias_network_nl)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.array.device import DacSpec
from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.bias_network_nl import (
    CapNetworkDesign,
    NetworkInput,
    measure_network,
    network_weight_dac,
    render_cap_network,
)
from pbitkit.circuits.models import get_library
from pbitkit.errors import ConfigError


@pytest.fixture(scope="module")
def lib():
    return get_library("sky130", "tt")


def _models(lib):
    return [lib.device(r) for r in ("nfet", "pfet", "nfet_lvt")]


def test_network_is_transistors_and_capacitors_only(lib):
    d = CapNetworkDesign()
    inputs = [NetworkInput(f"s{j}", f"sb{j}", (-1) ** j * (5 + 9 * j)) for j in range(d.fan_in)]
    inputs.append(NetworkInput("vnet", "0", 17))
    net = "title\n" + "\n".join(render_cap_network(lib, d, inputs, out="bias")) + "\n"
    assert audit_all_transistor(net, ports=(), transistor_models=_models(lib)) == []
    kinds = {ln.split()[0][0] for ln in net.splitlines()[1:] if ln and not ln.startswith("*")}
    assert kinds == {"X", "C"}
    # every input has its 2 x (bits - 1) capacitor halves, each magnitude bit 2**b c_unit in total
    caps = [float(ln.split()[3]) for ln in net.splitlines() if ln.startswith("Ci")]
    assert len(caps) == (d.fan_in + 1) * 2 * (d.bits - 1)
    assert math.isclose(sum(caps), d.dac_capacitance_F, rel_tol=1e-9)
    # negative control: the audit flags a resistor
    assert audit_all_transistor(net + "Rx bias 0 1e9\n", ports=(), transistor_models=_models(lib))


def test_pruned_network_keeps_the_summing_node_capacitance(lib):
    d = CapNetworkDesign(fan_in=3)
    inputs = [NetworkInput("a", "ab", 96), NetworkInput("0", "vnet", 0), NetworkInput("0", "vnet", 0),
              NetworkInput("vnet", "0", -16)]
    full = render_cap_network(lib, d, inputs, out="b")
    pruned = render_cap_network(lib, d, inputs, out="b", prune_static=True)

    def cap(lines):
        return sum(float(ln.split()[3]) for ln in lines if ln.startswith("C"))

    assert math.isclose(cap(full), cap(pruned), rel_tol=1e-12)
    assert sum(ln.startswith("X") for ln in pruned) < sum(ln.startswith("X") for ln in full) / 2


@pytest.mark.parametrize("kw, msg", [
    (dict(inputs=[NetworkInput("a", "ab", 128)]), "outside"),
    (dict(inputs=[NetworkInput("a b", "ab", 1)]), "bad node name"),
    (dict(inputs=[]), "inputs"),
    (dict(inputs=[NetworkInput("a", "ab", 1)], out="b;x"), "bad node name"),
])
def test_bad_network_input_is_refused(lib, kw, msg):
    args = dict(out="b")
    args.update(kw)
    with pytest.raises(ConfigError, match=msg):
        render_cap_network(lib, CapNetworkDesign(), args.pop("inputs"), **args)


@pytest.mark.parametrize("kw", [dict(bits=1), dict(fan_in=0), dict(c_unit_F=0.0), dict(vnet_V=2.5),
                                dict(refresh_every=0)])
def test_bad_design_is_refused(kw):
    with pytest.raises(ConfigError, match="CapNetworkDesign"):
        CapNetworkDesign(**kw)


@pytest.mark.ngspice
@pytest.mark.slow
def test_network_against_hand_analysis():
    """Fan-in 2 (same circuit per input as at G12, a smaller summing node): the DAC's transfer, settling,
    toggle energy and refresh against hand analysis; the measured INL feeds the array's DAC model."""
    d = CapNetworkDesign(fan_in=2)
    m = measure_network(d, codes=[0, 1, 2, 3, 64, 127, -127], t_hold_s=300e-9)
    # transfer: one LSB = vnet c_unit / C_tot; the design's capacitors + the cell's gate and the switch
    assert -0.10 < m.gain_error_rel < 0.0
    assert m.inl_max_lsb < 0.5 and m.dnl_max_lsb < 0.5
    assert abs(m.sign_symmetry_rel) < 0.02
    assert abs(m.dv_V[m.codes.index(0)]) < 0.5 * m.lsb_V
    # split halves: the mid level does not move with the code (an unsplit DAC would move kmax/2 LSB)
    assert abs(m.mid_V[m.codes.index(127)] - m.mid_V[m.codes.index(0)]) < 2 * m.lsb_V
    # settling well inside the cell's 300 ns read period; the C dV / I slew estimate misses the edge's tail
    # (1 % of the step): measured 9.5x it at fan-in 12 (docs/cells.md)
    assert m.settling_s < 300e-9
    assert 1 < m.settling_s / m.settling_hand_s < 15
    # a full-scale toggle over code 0: capacitors + bottom-plate junctions, C vnet^2 / 2 (rising C V^2, falling 0)
    e_caps = m.energy_per_toggle_fs_J - m.energy_per_toggle_zero_J
    assert 0.8 < e_caps / m.energy_toggle_hand_J < 1.6
    assert 0 < m.leakage_W < 2e-9 and m.refresh_energy_J > 0
    assert m.energy_per_update() == pytest.approx(m.energy_per_update_J)
    with pytest.raises(ConfigError, match="mean_abs_code"):
        m.energy_per_update(mean_abs_code=1e3)
    with pytest.raises(ConfigError, match="lacks codes"):
        network_weight_dac(m, vs_V=0.014)
