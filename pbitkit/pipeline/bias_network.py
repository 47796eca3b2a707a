"""Give a fitted cell card its bias (weighted-sum) network, measured at transistor level in ngspice.

A p-bit array computes each cell's bias with a conductance network (REFERENCE §2): every neighbour drives
``V_dd y_j`` through a unit conductance ``g_unit`` into the cell's bias node of capacitance ``C``. The
network must settle within the cell's update interval, which fixes the conductance: with a settling budget
of ``n_tau`` time constants in half the update interval ``t_upd``,

    tau_b = C / G_sum <= t_upd / (2 n_tau)   =>   G_sum = 2 n_tau C / t_upd,   g_unit = G_sum / (fan_in + 1)

(``fan_in + 1``: the neighbours plus the cell's own field input). Its static power ``V_dd^2 G_sum / 4``
(half the inputs high) is then not a free parameter but a consequence of the clock — the term that the
idealized energy models leave out. This module simulates that network
(:func:`pbitkit.circuits.testbenches.bias_network_point`, sky130 inverter drivers + resistors) and writes the
measured settling time and update energy into the card's ``bias_network``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pbitkit.errors import ConfigError

__all__ = ["design_bias_network", "attach_bias_network"]

log = logging.getLogger(__name__)


def design_bias_network(card: Any, fan_in: int, *, c_node_F: float = 2e-15, n_tau: float = 5.0) -> dict[str, float]:
    """Unit conductance (S) and node capacitance (F) that let the network settle in time for ``card``.

    The update interval is the card's clock period for clocked cells, else its correlation time.
    """
    if fan_in < 1:
        raise ConfigError(f"fan_in must be >= 1, got {fan_in}")
    t_upd = card.dynamics.sample_period_s if card.dynamics.sample_period_s > 0 else card.dynamics.tau_corr_s
    g_sum = 2.0 * n_tau * c_node_F / t_upd
    return {"g_unit_S": g_sum / (fan_in + 1), "c_node_F": c_node_F, "update_interval_s": t_upd,
            "tau_target_s": c_node_F / g_sum}


def attach_bias_network(card: Any, fan_in: int, *, c_node_F: float = 2e-15, vdd_V: float = 1.8,
                        n_tau: float = 5.0, corner: str = "tt") -> tuple[Any, dict[str, float]]:
    """Simulate the bias network designed for ``card`` and return ``(card with bias_network, measurement)``.

    Raises
    ------
    SimulationError
        When ngspice fails (the message carries ngspice's own lines).
    """
    from pbitkit.circuits.testbenches import bias_network_point
    from pbitkit.circuits.models import get_library

    d = design_bias_network(card, fan_in, c_node_F=c_node_F, n_tau=n_tau)
    # the testbench drives fan_in inputs (no separate field input): scale the unit so that G_sum matches
    g_unit_tb = d["g_unit_S"] * (fan_in + 1) / fan_in
    m = bias_network_point(fan_in, g_unit_S=g_unit_tb, c_node_F=c_node_F, vdd_V=vdd_V,
                           library=get_library("sky130", corner), temp_C=card.temp_C)
    # the card's settling_s is the network's time constant (pbitkit.array.ledger multiplies it by its
    # settle_n_tau); the testbench measures the 1 % settling time = tau ln(100)
    tau_meas = m["settling_s"] / math.log(100.0)
    bn = {"c_node_F": c_node_F, "g_unit_S": d["g_unit_S"], "settling_s": tau_meas,
          "energy_per_update_J": max(m["energy_per_update_J"], 0.0), "vdd_V": vdd_V}
    prov = card.provenance.with_details(bias_network={
        "fan_in": fan_in, "n_tau": n_tau, "update_interval_s": d["update_interval_s"], "measured": m, "corner": corner,
        "source": "pbitkit.circuits.testbenches.bias_network_point"})
    log.info("bias network for %s: fan-in %d, g_unit %.3g S, settling %.3g s (budget %.3g s), static %.3g W, "
             "update energy %.3g J", card.cell, fan_in, d["g_unit_S"], m["settling_s"], d["update_interval_s"] / 2,
             m["static_power_W"], m["energy_per_update_J"])
    return card.replace(bias_network=bn, provenance=prov), m
