"""The native_latch's charge-domain bias network (pbitkit.circuits.bias_network_nl)."""

from __future__ import annotations

import math

import pytest

from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.bias_network_nl import CapNetworkDesign, NetworkInput, render_cap_network
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
