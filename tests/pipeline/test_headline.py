"""The headline figures are computed from the ledger: parts add up, the paper's setting scales as the
model says, the sentences quote the numbers and change with them (negative control)."""

from __future__ import annotations

import dataclasses

import pytest

from pbitkit.pipeline.config import default_config
from pbitkit.pipeline.headline import PAPER_SETTING, headline_record, headline_sentences
from tests.array.test_ledger_provenance import PERIPHERY, _card

RESULTS = {"points": [{"mode": "ideal", "K": 20, "energy": {"n_cells": 256, "assumptions": {"n_write": 30,
                                                                                              "n_read": 64}}}],
           "digital": [{"T": 4, "K": 20, "this CPU (pbitkit.array ideal sampler, measured)": 4 * 20 * 256 * 15.0 / 2e8}]}


def test_headline_record_parts_settings_and_sentences() -> None:
    cfg = default_config()
    paper_per = dict(PERIPHERY, io_write=dict(PERIPHERY["io_write"], energy_per_access_J=400e-15))
    card = _card()
    card = card.replace(provenance=card.provenance.with_details(periphery_paper=paper_per))
    rec = headline_record({"a": card, "b": _card()}, "a", cfg, RESULTS)
    assert rec["cpu_updates_per_s"] == pytest.approx(2e8)  # recovered from the CPU row
    run, pap = rec["cells"]["a"]["run"], rec["cells"]["a"]["paper"]
    assert (run["T"], run["K"], run["n_cells"]) == (int(cfg.dtm.forward.n_steps), 20, 256)
    assert (pap["T"], pap["K"], pap["n_cells"]) == (PAPER_SETTING["T"], PAPER_SETTING["K"], 4900)
    assert run["energy_per_cell_sweep_J"] == pytest.approx(sum(run["per_cell_sweep_J"].values()))
    assert run["vs_paper_E_cell"] == pytest.approx(run["energy_per_cell_sweep_J"] / 2e-15)
    # per sample = T K N E_cell + I/O, the paper's I/O from its own bit lines (the 400 fJ write)
    assert pap["energy_per_sample_J"] == pytest.approx(8 * 250 * 4900 * pap["energy_per_cell_sweep_J"]
                                                       + 30 * 400e-15 + 64 * 150e-15)
    assert pap["periphery_for_L"] == 70 and rec["cells"]["b"]["paper"]["periphery_for_L"] == cfg.dtm.model.L
    assert pap["cpu_J"] == pytest.approx(8 * 250 * 4900 / 2e8 * 15.0)
    text = " ".join(headline_sentences(rec))
    assert f"{run['vs_paper_E_cell']:,.0f}× the DTM paper's ≈ 2 fJ" in text and "L = 70, T = 8, K = 250" in text
    assert "less than an A100's best case" in text and "not every part" not in text
    # negative control: a behavioural noise source is named in the sentence
    det = dict(card.provenance.details, noise_source="behavioural")
    bad = card.replace(provenance=dataclasses.replace(card.provenance, details=det))
    assert "not every part is fully simulated" in " ".join(headline_sentences(headline_record({"a": bad}, "a", cfg,
                                                                                              RESULTS)))


def test_paper_setting_keeps_the_paper_grid_for_a_crossbar_run() -> None:
    """The paper setting is the run's grid pattern at L = 70, and the paper's own G12 when the run's array is
    the crossbar (a 70 x 70 crossbar is not the paper's setting)."""
    from pbitkit.dtm.model import ModelConfig
    from pbitkit.pipeline.headline import paper_graph

    assert paper_graph(ModelConfig(pattern="G20")).name == "G20 70x70 torus"
    g = paper_graph(ModelConfig(pattern="bipartite"))
    assert g.name == "G12 70x70 torus" and g.n_edges == 29400


def test_paper_network_card_puts_the_paper_fan_in_network_in_place() -> None:
    """A crossbar run measures its cell's network at the paper grid's fan-in too; the paper setting's ledger
    then prices that measurement (simulated) instead of scaling the run's (partial)."""
    from pbitkit.array import grid_graph
    from pbitkit.array.ledger import ledger
    from pbitkit.errors import PbitkitError
    from pbitkit.paths import data_dir
    from pbitkit.pbitmodel import DeviceModel
    from pbitkit.pipeline.bias_network import paper_network_card

    card = DeviceModel.load(data_dir() / "native_latch_card.json")  # its network measured at fan-in 20
    assert paper_network_card(card) is card  # nothing measured at another fan-in: unchanged
    g12 = grid_graph(70, "G12")
    scaled = next(t for t in ledger(g12, card).terms if t.name == "bias")
    assert scaled.status == "partial"  # negative control: 20 -> 12 is an extrapolation
    rec = dict(card.provenance.details["bias_network"], fan_in=12)
    at12 = card.bias_network.to_dict() | {"energy_per_update_J": 41e-15}
    paper = card.replace(provenance=card.provenance.with_details(
        bias_network_paper={"fan_in": 12, "card_record": at12, "ledger_record": rec}))
    swapped = paper_network_card(paper)
    bias = next(t for t in ledger(g12, swapped).terms if t.name == "bias")
    assert bias.status == "simulated" and bias.energy_J == pytest.approx(41e-15)
    assert swapped.provenance.details["bias_network"]["fan_in"] == 12
    bad = card.replace(provenance=card.provenance.with_details(bias_network_paper={"fan_in": 12}))
    with pytest.raises(PbitkitError, match="bias_network_paper"):
        paper_network_card(bad)
