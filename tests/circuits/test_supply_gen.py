"""The per-die core-supply generator of a ``native_latch`` array (string DAC + native follower): its
rendering (validated, all-transistor), and a real ngspice run of its levels against hand analysis."""

from __future__ import annotations

import math

import pytest

from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.cell_base import default_library
from pbitkit.circuits.models import get_library
from pbitkit.circuits.supply_gen import (
    SUPPLY_GEN_MODELS,
    GenPoint,
    SupplyGenSpec,
    amortized_energy,
    gen_levels,
    ladder_hand_V,
    render_supply_gen,
    supply_gen_ports,
)
from pbitkit.errors import ConfigError


def test_spec_and_render_validate_their_input() -> None:
    lib = default_library("tt", False)
    spec = SupplyGenSpec(bits=5)
    for bad in (dict(bits=3), dict(bits=True), dict(v_ref_V=2.5), dict(ladder_l_um=0.0), dict(c_out_per_cell_F=-1.0),
                dict(v_tail_V="0.1; .include x")):
        with pytest.raises(ConfigError, match="SupplyGenSpec"):
            SupplyGenSpec(**bad)  # type: ignore[arg-type]
    for kw in (dict(code=32), dict(code=-1), dict(code=1.5), dict(code=3, n_cells=0), dict(code=3, well_code=40)):
        args = {"code": 3, "n_cells": 4, "temp_C": 27.0, **kw}
        with pytest.raises(ConfigError, match="supply generator"):
            render_supply_gen(lib, spec, **args)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sky130"):
        render_supply_gen(get_library("generic"), spec, code=3, n_cells=4, temp_C=27.0)


@pytest.mark.parametrize("well", [None, 5])
def test_rendered_generator_is_all_transistor(well: int | None) -> None:
    """Every element: a transistor of the allowed devices, an explicit capacitor or a port source (rails,
    the code register's bit lines, the replica load's bias ports); the tap tree has one switch per branch."""
    lib = default_library("tt", False)
    spec = SupplyGenSpec(bits=5)
    net = render_supply_gen(lib, spec, code=19, n_cells=16, temp_C=27.0, well_code=well)
    assert audit_all_transistor(net, supply_gen_ports(spec, well=well is not None),
                                [lib.device(r) for r in SUPPLY_GEN_MODELS]) == []
    lines = net.splitlines()
    assert sum(ln.startswith("XL") for ln in lines) == 32
    assert sum(ln.startswith("XBS") for ln in lines) == 2 * 31
    assert sum(ln.startswith("XWS") for ln in lines) == (62 if well is not None else 0)
    # code 19 = 0b10011: bit 0, 1, 4 lines high
    assert "Vb0 b0 0 1.8" in lines and "Vbn0 bn0 0 0" in lines and "Vb2 b2 0 0" in lines
    # negative control: the audit flags a resistor put into the string
    assert audit_all_transistor(net + "Rbad l3 0 1e6\n", supply_gen_ports(spec, well=False),
                                [lib.device(r) for r in SUPPLY_GEN_MODELS])


def test_amortized_energy_splits_dropout_and_quiescent() -> None:
    pt = GenPoint(code=96, well_code=None, v_core_V=0.12, v_gate_V=0.15, v_well_V=0.12, i_load_A=256 * 22e-9,
                  p_gen_W=(0.4 - 0.12) * 256 * 22e-9 + 1e-7, p_quiescent_W=1e-7)
    e = amortized_energy(pt, 256, 300e-9)
    assert e["dropout_J"] == pytest.approx(0.28 * 22e-9 * 300e-9)
    assert e["quiescent_J"] == pytest.approx(1e-7 * 300e-9 / 256)
    assert e["total_J"] == pytest.approx(e["dropout_J"] + e["quiescent_J"])
    with pytest.raises(ConfigError, match="n_cells"):
        amortized_energy(pt, 0)


@pytest.mark.ngspice
def test_generator_levels_follow_hand_analysis() -> None:
    """tt, 27 °C, 16 cells: the string's taps (the follower's gate) follow the triode-string hand analysis;
    the core supply rises monotonically with the code and sits below the gate by the follower's V_GS; the
    cells' current per cell at ~123 mV is the cell's ~22 nA; the string's quiescent current is
    ``V_ref / (2**bits R_on)`` with the hand R_on of a native unit at V_GS ≈ 1.6 V."""
    spec = SupplyGenSpec()
    codes = [32, 64, 96, 128, 192, 255]
    pts = gen_levels(codes, corner="tt", temp_C=27.0, n_cells=16, spec=spec)
    gates = [p.v_gate_V for p in pts]
    cores = [p.v_core_V for p in pts]
    assert all(b > a for a, b in zip(cores, cores[1:])), cores
    # hand: triode string with V_th = 0.1 V (native, no body effect); measured 4–10 % below it (the units'
    # body effect adds to the bend) -> 15 %
    for c, g in zip(codes, gates):
        hand = ladder_hand_V(spec, c, 0.1)
        assert g == pytest.approx(hand, rel=0.15), (c, g, hand)
        assert g < hand * 1.01  # the body effect only bends it further down
    # negative control: a linear divider k/2**bits V_ref is off by more than the hand model at mid-scale
    assert abs(gates[1] - 64 / 256 * spec.v_ref_V) > abs(gates[1] - ladder_hand_V(spec, 64, 0.1))
    # the follower: V_GS = V_gate - V_core small at the cells' current (native device, one unit per cell)
    assert all(-0.05 < g - c < 0.2 for g, c in zip(gates, cores))
    mid = pts[2]
    assert 0.11 < mid.v_core_V < 0.14
    assert 10e-9 < mid.i_load_A / 16 < 40e-9
    # quiescent: the string current ~ V_ref / (256 R_on); R_on of the 0.42/0.8 native unit measured by the
    # current (P_q / V_ref) must give a unit conductance of 10–200 uS (k' W/L (V_GS - V_th) ~ 60 uS)
    g_unit = (mid.p_quiescent_W / spec.v_ref_V) * spec.n_codes / spec.v_ref_V
    assert 10e-6 < g_unit < 200e-6, g_unit
    e = amortized_energy(mid, 16)
    assert e["dropout_J"] > 0 and e["quiescent_J"] > 0
    assert not math.isnan(e["total_J"])
