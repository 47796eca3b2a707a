"""The bias network sized for a card settles in its budget (transistor level) and enters the ledger."""

from __future__ import annotations

import math

import pytest

from pbitkit.array import grid_graph
from pbitkit.array.ledger import ledger
from pbitkit.pbitmodel import DeviceModel
from pbitkit.pipeline.bias_network import attach_bias_network, design_bias_network


def test_design_follows_the_settling_budget() -> None:
    card = DeviceModel.ideal(sample_period_s=10e-9, tau_corr_s=5e-9)
    d = design_bias_network(card, 12, c_node_F=2e-15, n_tau=5)
    # 5 tau_b = t_upd / 2  with  tau_b = C / ((fan_in + 1) g_unit)
    assert d["update_interval_s"] == 10e-9
    assert 5 * 2e-15 / (13 * d["g_unit_S"]) == pytest.approx(5e-9, rel=1e-12)


@pytest.mark.ngspice
def test_measured_network_settles_in_budget_and_costs_energy() -> None:
    card = DeviceModel.ideal(sample_period_s=10e-9, tau_corr_s=5e-9, vdd_V=1.8)
    card2, m = attach_bias_network(card, 12)
    bn = card2.bias_network
    # hand analysis: first-order RC, tau = C / G_sum = 1 ns, 1 % settling = tau ln 100 = 4.6 ns; the
    # inverter drivers add their own (small) output resistance, so allow 15 %
    assert bn.settling_s == pytest.approx(1e-9, rel=0.15)
    assert m["settling_s"] < 0.5 * card.dynamics.sample_period_s
    g_sum = 13 * bn.g_unit_S
    # static power with half the inputs high: V^2 G_sum / 4 over the fan-in's share of G_sum
    assert m["static_power_W"] == pytest.approx(1.8**2 * g_sum / 4, rel=0.05)
    assert card2.provenance.details["bias_network"]["fan_in"] == 12
    g = grid_graph(16, "G12")
    before = ledger(g, card, n_sweeps_per_sample=10)
    after = ledger(g, card2, n_sweeps_per_sample=10)
    assert after.bias_J > 0 and before.bias_J >= 0
    assert after.energy_per_update_J == pytest.approx(after.rng_J + after.bias_J + after.clock_J + after.wire_J)
    assert math.isclose(after.time_per_update_s, 10e-9)  # still clock-limited: the network settles in time
