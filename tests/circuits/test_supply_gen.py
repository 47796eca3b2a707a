"""The per-die core-supply generator of a ``native_latch`` array (string DAC + native follower): its
rendering (validated, all-transistor) and its energy bookkeeping. Its ngspice levels against hand analysis
are checked in ``test_native_latch_cal.py``, on the same run the calibration uses."""

from __future__ import annotations

import pytest

from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.cell_base import default_library
from pbitkit.circuits.models import get_library
from pbitkit.circuits.supply_gen import (
    SUPPLY_GEN_MODELS,
    GenPoint,
    SupplyGenSpec,
    FOLLOWER_RAILS,
    amortized_energy,
    follower_rail,
    generator_energy_per_cell,
    render_supply_gen,
    supply_gen_ports,
)
from pbitkit.errors import ConfigError, PbitkitError


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


def test_generator_energy_from_the_stored_corner_table(tmp_path) -> None:
    """The ledger's supply-tracking term: the stored tt / 27 °C record's drop-out per cell plus its string
    power shared by the array; a larger array pays less string, the same drop-out; unknown points raise."""
    e16 = generator_energy_per_cell(256, corner="tt", temp_C=27.0)
    e70 = generator_energy_per_cell(4900, corner="tt", temp_C=27.0)
    assert e16.dropout_J == pytest.approx(e70.dropout_J) and e16.quiescent_J == pytest.approx(e70.quiescent_J * 4900 / 256)
    assert e16.energy_J == pytest.approx(e16.dropout_J + e16.quiescent_J)
    assert 0.5e-15 < e16.energy_J < 10e-15 and 0.08 < e16.v_core_V < 0.2
    assert "native_latch_corners" in e16.source
    with pytest.raises(ConfigError, match="no calibrated record"):
        generator_energy_per_cell(256, corner="tt", temp_C=33.0)
    bad = tmp_path / "t.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(PbitkitError, match="cannot read"):
        generator_energy_per_cell(256, table=str(bad))


def test_follower_rail_is_the_lowest_with_headroom() -> None:
    """The follower's drain rail: the lowest rail 2.5 U_T above the core supply (tt / 27 °C, 121 mV: 0.2 V; a slow
    die's 170 mV: 0.25 V; 85 °C raises U_T); none high enough -> the highest; bad input raises."""
    assert SupplyGenSpec().v_in_V == min(FOLLOWER_RAILS) == follower_rail(0.121, 27.0)
    assert follower_rail(0.17, 27.0) == 0.25 and follower_rail(0.125, 27.0) == 0.2 and follower_rail(0.125, 85.0) == 0.25
    assert follower_rail(0.5, 27.0) == max(FOLLOWER_RAILS)
    # negative control: without the headroom rule the tt / 27 supply would get a rail it cannot saturate on
    assert follower_rail(0.121, 27.0, rails=(0.15, 0.4), headroom_ut=0.0) == 0.15
    assert follower_rail(0.121, 27.0, rails=(0.15, 0.4)) == 0.4
    for bad in (dict(rails=()), dict(v_core_V=float("nan"))):
        with pytest.raises(ConfigError, match="follower_rail"):
            follower_rail(**{"v_core_V": 0.1, "temp_C": 27.0, **bad})  # type: ignore[arg-type]
