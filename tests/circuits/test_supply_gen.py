"""The per-die core-supply generator of a ``native_latch`` array (string DAC + native follower): its
rendering (validated, all-transistor), its energy bookkeeping and the characterize summary's figure with it. Its ngspice levels against hand analysis
are checked in ``test_native_latch_cal.py``, on the same run the calibration uses."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.bit_energy import CentreBitEnergy, centre_bit_energy
from pbitkit.circuits.bits import BitRecord
from pbitkit.circuits.cell_base import default_library
from pbitkit.circuits.models import get_library
from pbitkit.circuits.supply_gen import (
    DEFAULT_N_CELLS,
    SUPPLY_GEN_MODELS,
    GenPoint,
    SupplyGenSpec,
    FOLLOWER_RAILS,
    amortized_energy,
    centre_energy_with_generator,
    follower_rail,
    generator_energy_per_cell,
    render_supply_gen,
    simulate_generator_energy,
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
    assert sum(ln.startswith("XL") for ln in lines) == 32 * spec.ladder_units
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
    assert 0.1e-15 < e16.energy_J < 10e-15 and 0.08 < e16.v_core_V < 0.2
    assert "native_latch_corners" in e16.source
    with pytest.raises(ConfigError, match="no calibrated record"):
        generator_energy_per_cell(256, corner="tt", temp_C=33.0)
    bad = tmp_path / "t.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(PbitkitError, match="cannot read"):
        generator_energy_per_cell(256, table=str(bad))


def test_follower_rail_is_the_lowest_with_headroom() -> None:
    """The follower's drain rail: the lowest rail 1.4 U_T above the core supply (tt / 27 °C, 121-124 mV: 0.16 V;
    a slow die's 170 mV: 0.25 V; 85 °C raises U_T); none high enough -> the highest; bad input raises."""
    assert SupplyGenSpec().v_in_V == min(FOLLOWER_RAILS) == follower_rail(0.121, 27.0) == follower_rail(0.1235, 27.0)
    assert follower_rail(0.17, 27.0) == 0.25 and follower_rail(0.13, 27.0) == 0.175 and follower_rail(0.125, 85.0) == 0.175
    assert follower_rail(0.5, 27.0) == max(FOLLOWER_RAILS)
    # negative control: without the headroom rule the tt / 27 supply would get a rail it cannot regulate from
    assert follower_rail(0.121, 27.0, rails=(0.13, 0.4), headroom_ut=0.0) == 0.13
    assert follower_rail(0.121, 27.0, rails=(0.13, 0.4)) == 0.4
    for bad in (dict(rails=()), dict(v_core_V=float("nan"))):
        with pytest.raises(ConfigError, match="follower_rail"):
            follower_rail(**{"v_core_V": 0.1, "temp_C": 27.0, **bad})  # type: ignore[arg-type]


def test_string_units_per_step_render_in_series() -> None:
    """``ladder_units`` identical units in series per step: u x 2**bits string devices, the same taps (tap k
    is still node l<k>), still all-transistor; bad values raise."""
    lib = default_library("tt", False)
    spec = SupplyGenSpec(bits=5, ladder_units=3)
    net = render_supply_gen(lib, spec, code=7, n_cells=4, temp_C=27.0)
    lines = net.splitlines()
    assert sum(ln.startswith("XL") for ln in lines) == 3 * 32
    assert any(ln.startswith("XL6_0 l6_1 vhi l6 0 ") for ln in lines)  # tap 6 -> first internal node
    assert any(ln.startswith("XL6_2 l7 vhi l6_2 0 ") for ln in lines)  # last internal node -> tap 7
    assert audit_all_transistor(net, supply_gen_ports(spec, well=False),
                                [lib.device(r) for r in SUPPLY_GEN_MODELS]) == []
    for bad in (0, 17, 2.0, True):
        with pytest.raises(ConfigError, match="ladder_units"):
            SupplyGenSpec(ladder_units=bad)  # type: ignore[arg-type]


def test_default_array_is_the_pipelines() -> None:
    """The generator's energy is amortized over the pipeline's default DTM grid (16 x 16) unless told otherwise."""
    from pbitkit.pipeline.config import default_config

    assert DEFAULT_N_CELLS == default_config().dtm.model.L ** 2


def _centre(cell: str, rng: np.random.Generator) -> CentreBitEnergy:
    """A pooled centre figure of 12 records of a known process (two-state chain, tau_int 1.5 reads)."""
    recs, rows = {}, []
    x = np.empty((12, 300), dtype=np.uint8)
    x[:, 0] = rng.random(12) < 0.5
    for t in range(1, 300):
        x[:, t] = np.where(rng.random(12) >= 0.2, rng.random(12) < 0.5, x[:, t - 1])
    for i, b in enumerate(x):
        recs[i] = BitRecord(bits=b, dt_s=3e-7, flip_bits=b, hysteresis_V=float("nan"))
        rows.append({"row_id": i, "cell": cell, "status": "ok", "tier": "transient", "mc_seed": -1, "corner": "tt",
                     "temp_C": 27.0, "vdd_V": 0.1235, "p1": float(b.mean()), "sample_period_s": 3e-7,
                     "energy_per_bit_J": 2.57e-15})
    return centre_bit_energy(rows, recs)


def test_centre_figure_with_the_generator_counts_every_part() -> None:
    """What ``pbitkit characterize`` logs for the default cell after its cell-only figure: the generator's share
    per cell per read added to every read before the pooled tau_int multiplies (here the stored tt / 27 °C
    record's measured generator; the live ngspice session the summary runs is checked in
    test_energy_per_independent_bit.py). Negative controls: a cell the generator does not supply, a generator of
    another corner, and a supply no rail can regulate raise (before any simulation)."""
    rng = np.random.default_rng(4)
    ce = _centre("native_latch", rng)
    g = generator_energy_per_cell(DEFAULT_N_CELLS, corner="tt", temp_C=27.0)
    cg = centre_energy_with_generator(ce, generator=g)
    assert cg.generator is g and abs(ce.tau_int - 1.5) < 4 * ce.tau_int_se
    tau = max(1.0, ce.tau_int)
    assert cg.energy_per_read_J == pytest.approx(ce.energy_per_read_J + g.energy_J)
    assert cg.energy_per_independent_bit_J == pytest.approx((ce.energy_per_read_J + g.energy_J) * tau)
    assert cg.energy_per_independent_bit_J - ce.energy_per_independent_bit_J == pytest.approx(g.energy_J * tau)
    assert cg.energy_per_independent_bit_se_J > ce.energy_per_independent_bit_se_J  # E_read x SE(tau) grew
    assert "every part counted" in cg.summary() and "16x16 = 256 cells, the pipeline's default array" in cg.summary()
    assert cg.to_dict()["generator"]["code"] == g.code
    with pytest.raises(ConfigError, match="supplies 'native_latch' cores, not 'strongarm'"):
        centre_energy_with_generator(_centre("strongarm", rng), generator=g)
    with pytest.raises(ConfigError, match="generator at ff / 27 C for records at tt / 27 C"):
        centre_energy_with_generator(ce, generator=generator_energy_per_cell(DEFAULT_N_CELLS, corner="ff"))
    with pytest.raises(ConfigError, match="no follower rail"):
        simulate_generator_energy(0.45)
    with pytest.raises(ValueError, match="extra_per_read_J"):
        ce.including(-1e-16)
