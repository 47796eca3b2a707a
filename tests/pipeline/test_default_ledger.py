"""The default pipeline's energy ledger: every term traced to an ngspice run (none assumed, partial or
missing; the per-die supply generator included), the parts adding up, and the headline figures (run setting
and the DTM paper's L = 70, T = 8, K = 250) built from them. Runs the fit stage's network, periphery and
supply work for the default config's array cell on its shipped card."""

from __future__ import annotations

import dataclasses

import pytest

from pbitkit.array.ledger import ledger
from pbitkit.circuits import get_cell
from pbitkit.dtm.energy import dtm_energy_from_ledger
from pbitkit.paths import data_dir
from pbitkit.pbitmodel import DeviceModel
from pbitkit.pipeline.bias_network import attach_array_circuits, attach_supply
from pbitkit.pipeline.config import default_config
from pbitkit.dtm.model import model_graph
from pbitkit.pipeline.headline import headline_record, headline_sentences, paper_graph


@pytest.mark.ngspice
@pytest.mark.slow
def test_default_pipeline_ledger_has_no_assumed_or_partial_term() -> None:
    cfg = default_config()
    cell = cfg.array_cell
    m = cfg.dtm.model
    graph, paper = model_graph(m), paper_graph(m)  # as the pipeline's fit stage builds them
    card = DeviceModel.load(data_dir() / get_cell(cell).card)
    # the pipeline measures the bias network at the graph's fan-in with 2 inputs rendered with their gates
    # (beside the periphery and supply sessions, as its fit stage does); a network measured at another fan-in
    # would be scaled to it and marked partial
    fan_in = int(graph.degree.max())
    card, summary = attach_array_circuits(card, graph, paper_graph=paper)
    assert summary["energy_per_update_J"] == card.bias_network.energy_per_update_J > 0
    assert {"bias_network", "periphery", "periphery_paper", "supply"} <= set(card.provenance.details)
    led = ledger(graph, card, n_sweeps_per_sample=20)
    bad = [(t.name, t.status, t.source) for t in led.terms if t.status not in ("simulated", "included")]
    assert not bad, bad
    # the native_latch's supplies are generated per die: the generator's run, at the code whose core supply
    # is the card's (within one code step of the string, through the follower), its drop-out per cell
    # (V_in - V_core) I_cell t_read against the cells' own core energy V_core I_cell t_read
    supply = next(t for t in led.terms if t.name == "supply")
    meas = card.provenance.details["supply"]["measured"]
    assert supply.status == "simulated" and "run " in supply.source and supply.energy_J == meas["total_J"] > 0
    assert abs(meas["v_core_V"] - card.vdd_V) < meas["spec"]["v_ref_V"] / 2 ** meas["spec"]["bits"]
    v_in = meas["spec"]["v_in_V"]
    assert meas["dropout_J"] / meas["core_J"] == pytest.approx((v_in - meas["v_core_V"]) / meas["v_core_V"], rel=0.01)
    assert 0 < meas["quiescent_J"] < meas["dropout_J"]
    bias = next(t for t in led.terms if t.name == "bias")
    assert f"2 of its {fan_in} inputs rendered with their gates" in bias.source and "scaled" not in bias.source
    for t in led.terms:
        assert t.source and ("ngspice" in t.source or t.status == "included"), t
    assert sum(led.parts().values()) == pytest.approx(led.energy_per_update_J, rel=1e-12)
    # per sample: the terms' per-sample energies add up to the total, I/O included
    rep = dtm_energy_from_ledger(graph, card, T=4, K=20, n_write=30, n_read=64)
    assert sum(t["per_sample_J"] for t in rep.terms) == pytest.approx(rep.total_J, rel=1e-12)
    assert {t["name"] for t in rep.terms} >= {"rng", "bias", "clock", "wire", "io_write", "io_read"}
    # the paper's setting: I/O re-measured on its 70-cell bit lines, which are longer and cost more per access
    per_run, per_paper = card.provenance.details["periphery"], card.provenance.details["periphery_paper"]
    assert per_paper["io_write"]["length_um"] == pytest.approx(70 / m.L * per_run["io_write"]["length_um"])
    assert per_paper["io_write"]["energy_per_access_J"] > per_run["io_write"]["energy_per_access_J"]
    results = {"points": [{"mode": "ideal", "K": 20, "energy": {"n_cells": graph.n_nodes,
                                                                "assumptions": {"n_write": 30, "n_read": 64}}}]}
    rec = headline_record({cell: card}, cell, cfg, results)
    run, pap = rec["cells"][cell]["run"], rec["cells"][cell]["paper"]
    assert run["all_traced"] and pap["all_traced"] and pap["periphery_for_L"] == 70
    assert (pap["T"], pap["K"], pap["n_cells"]) == (8, 250, 4900)
    assert run["energy_per_cell_sweep_J"] == pytest.approx(sum(run["per_cell_sweep_J"].values()))
    assert pap["gpu_J"] > pap["energy_per_sample_J"]
    assert "not every part" not in " ".join(headline_sentences(rec))
    # negative control: the same card declared with a behavioural noise source is flagged, not traced
    det = dict(card.provenance.details, noise_source="behavioural")
    flagged = card.replace(provenance=dataclasses.replace(card.provenance, details=det))
    rng = next(t for t in ledger(graph, flagged).terms if t.name == "rng")
    assert rng.status == "partial" and "behavioural" in rng.source
    # a cell on the chip's rails has no generated supply (no term, nothing simulated)
    sa = DeviceModel.load(data_dir() / get_cell("strongarm").card)
    assert attach_supply(sa, graph.n_nodes) is sa
