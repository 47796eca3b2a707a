"""Energy and time ledger of a p-bit array (REFERENCE.md §3, the DTM paper's model, with wires from the
graph's geometry).

Per cell and per update (one read of the cell)::

    E_cell = E_rng + E_bias + E_clock + E_wire
    E_rng   = energy_per_bit_J                        (or static_power_W x t_update when that is 0)
    E_bias  = bias_energy_per_update_J                (or a_out c_node_F V_dd^2 when that is 0)
              + static conduction of the resistor network, G_sum V_dd^2 / 4 x t_update,
                G_sum = (degree + 1) g_unit_S (worst case: half the inputs high)
    E_clock = clock_energy_J
    E_wire  = a_out x 1/2 C' V^2 x sum_j L_ij         (the cell's output drives a wire to each neighbour;
              L_ij = Manhattan length from the coordinates x fold factor (2 on a folded torus))
    a_out   = probability that the output toggles in one update = 2 p (1 - p) (1 - lam),
              p = 1/2 (unbiased), lam = exp(-t_update / tau)

Time: a colour class updates every ``t_half = max(t_update, settle_n_tau x bias_settling_s)``
(``t_update`` = clock period of clocked cells, else the correlation time tau: the paper's rule that a
half-sweep cannot beat the RNG's correlation time), a sweep takes ``n_colors x t_half``.
Totals: per sweep ``N x mean(E_cell)``; per sample ``n_sweeps_per_sample`` sweeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.array.device import DeviceStats, HardwareInstance, from_device_model
from pbitkit.array.graphs import Graph
from pbitkit.errors import ConfigError

__all__ = ["Ledger", "ledger"]


@dataclass(frozen=True)
class Ledger:
    """Energy (J) and time (s) of an array per update, sweep and sample, with the per-cell breakdown.

    Attributes
    ----------
    rng_J, bias_J, clock_J, wire_J : float
        Mean energy per cell update of each component.
    wire_J_per_cell : (N,) float
        Wire energy of each cell per update (cells with long jumps cost more).
    energy_per_update_J : float
        Mean ``E_cell``.
    energy_per_sweep_J, energy_per_sample_J : float
    time_per_update_s : float
        Time per colour-class update (half-sweep on a bipartite graph).
    time_per_sweep_s, time_per_sample_s : float
    limited_by : str
        ``"correlation time"``, ``"clock"``, ``"update interval"`` or ``"bias settling"``.
    assumptions : dict
        The numbers used (activity, fold factor, wire capacitance, ...).
    """

    n_nodes: int
    n_colors: int
    n_sweeps_per_sample: int
    rng_J: float
    bias_J: float
    clock_J: float
    wire_J: float
    wire_J_per_cell: np.ndarray
    energy_per_update_J: float
    energy_per_sweep_J: float
    energy_per_sample_J: float
    time_per_update_s: float
    time_per_sweep_s: float
    time_per_sample_s: float
    limited_by: str
    assumptions: dict[str, Any] = field(default_factory=dict)

    def breakdown(self) -> dict[str, float]:
        """Per-cell-update energy by component (J) and the fractions of the total."""
        tot = self.energy_per_update_J
        parts = {"rng": self.rng_J, "bias": self.bias_J, "clock": self.clock_J, "wire": self.wire_J}
        out = {f"{k}_J": v for k, v in parts.items()}
        out.update({f"{k}_fraction": (v / tot if tot > 0 else 0.0) for k, v in parts.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the per-cell wire array as min/mean/max)."""
        return {
            "n_nodes": self.n_nodes, "n_colors": self.n_colors, "n_sweeps_per_sample": self.n_sweeps_per_sample,
            **self.breakdown(),
            "wire_J_per_cell_min": float(self.wire_J_per_cell.min()),
            "wire_J_per_cell_max": float(self.wire_J_per_cell.max()),
            "energy_per_update_J": self.energy_per_update_J, "energy_per_sweep_J": self.energy_per_sweep_J,
            "energy_per_sample_J": self.energy_per_sample_J, "time_per_update_s": self.time_per_update_s,
            "time_per_sweep_s": self.time_per_sweep_s, "time_per_sample_s": self.time_per_sample_s,
            "limited_by": self.limited_by, "assumptions": self.assumptions,
        }


def ledger(
    graph: Graph,
    device: DeviceStats | HardwareInstance | Any,
    *,
    n_sweeps_per_sample: int = 1,
    update_interval_s: float | None = None,
    p_one: float = 0.5,
    fold_factor: float | None = None,
    settle_n_tau: float = 5.0,
    include_bias_static: bool = True,
) -> Ledger:
    """Energy/time ledger of ``graph`` built from ``device`` (see the module docstring for the model).

    Parameters
    ----------
    graph : Graph (coordinates in metres give the wire lengths)
    device : DeviceStats, HardwareInstance, or a ``pbitkit.pbitmodel.DeviceModel`` card (converted)
    n_sweeps_per_sample : sweeps between returned samples (e.g. K = 250 per DTM step)
    update_interval_s : time between reads of a cell (default: hardware's, else clock period, else tau)
    p_one : assumed P(+1) of an output (activity ``2 p (1 - p) (1 - lam)``)
    fold_factor : wire-length multiplier (default 2 for a periodic graph — a folded torus — else 1)
    settle_n_tau : settling time constants the bias network is given per update
    include_bias_static : count the resistor network's static conduction during an update
    """
    if isinstance(device, HardwareInstance):
        stats = device.stats
        tau = float(np.mean(device.tau_s))
        if update_interval_s is None:
            update_interval_s = device.update_interval_s
    elif isinstance(device, DeviceStats):
        stats = device
        tau = stats.tau_corr_s
    else:
        stats = from_device_model(device)
        tau = stats.tau_corr_s
    if not isinstance(n_sweeps_per_sample, (int, np.integer)) or n_sweeps_per_sample < 1:
        raise ConfigError(f"n_sweeps_per_sample must be a positive integer, got {n_sweeps_per_sample!r}")
    if not 0.0 <= p_one <= 1.0:
        raise ConfigError(f"p_one must be in [0, 1], got {p_one}")
    if update_interval_s is not None:
        t_upd, limit = float(update_interval_s), "update interval"
    elif stats.sample_period_s > 0:
        t_upd, limit = stats.sample_period_s, "clock"
    else:
        t_upd, limit = tau, "correlation time"
    if not (t_upd > 0 and math.isfinite(t_upd)):
        raise ConfigError(f"update interval must be positive, got {t_upd}")
    deg = graph.degree.astype(np.float64)
    g_sum = (deg + 1.0) * stats.bias_g_unit_S
    settle = stats.bias_settling_s
    if settle == 0.0 and stats.bias_c_node_F > 0 and stats.bias_g_unit_S > 0:
        settle = stats.bias_c_node_F / float(np.mean(g_sum))
    t_half = t_upd
    if settle_n_tau * settle > t_half:
        t_half, limit = settle_n_tau * settle, "bias settling"
    lam = math.exp(-t_upd / tau) if tau > 0 else 0.0
    activity = 2.0 * p_one * (1.0 - p_one) * (1.0 - lam)
    e_rng = stats.energy_per_bit_J if stats.energy_per_bit_J > 0 else stats.static_power_W * t_half
    vdd_b = stats.bias_vdd_V
    e_bias_dyn = stats.bias_energy_per_update_J if stats.bias_energy_per_update_J > 0 else (
        activity * stats.bias_c_node_F * vdd_b**2)
    e_bias_static = g_sum * vdd_b**2 / 4.0 * t_half if include_bias_static else np.zeros_like(g_sum)
    e_bias = e_bias_dyn + e_bias_static
    fold = fold_factor if fold_factor is not None else (2.0 if graph.box_m is not None else 1.0)
    L = graph.edge_lengths_m() * fold
    per_cell_len = np.bincount(graph.edges[:, 0], weights=L, minlength=graph.n_nodes) + np.bincount(
        graph.edges[:, 1], weights=L, minlength=graph.n_nodes)
    wire = activity * 0.5 * stats.wire_cap_F_per_m * stats.wire_vdd_V**2 * per_cell_len
    e_cell = e_rng + e_bias + stats.clock_energy_J + wire
    mean_cell = float(np.mean(e_cell))
    t_sweep = graph.n_colors * t_half
    return Ledger(
        n_nodes=graph.n_nodes, n_colors=graph.n_colors, n_sweeps_per_sample=int(n_sweeps_per_sample),
        rng_J=float(e_rng), bias_J=float(np.mean(e_bias)), clock_J=float(stats.clock_energy_J),
        wire_J=float(np.mean(wire)), wire_J_per_cell=wire, energy_per_update_J=mean_cell,
        energy_per_sweep_J=graph.n_nodes * mean_cell,
        energy_per_sample_J=graph.n_nodes * mean_cell * n_sweeps_per_sample,
        time_per_update_s=t_half, time_per_sweep_s=t_sweep, time_per_sample_s=t_sweep * n_sweeps_per_sample,
        limited_by=limit,
        assumptions={"activity": activity, "p_one": p_one, "telegraph_lambda": lam, "fold_factor": fold,
                     "wire_cap_F_per_m": stats.wire_cap_F_per_m, "wire_vdd_V": stats.wire_vdd_V,
                     "mean_wire_length_per_cell_m": float(np.mean(per_cell_len)),
                     "bias_settling_s": settle, "settle_n_tau": settle_n_tau, "update_interval_s": t_upd,
                     "bias_static_included": include_bias_static, "source": stats.source},
    )
