"""Give a fitted cell card its bias (weighted-sum) network, measured at transistor level in ngspice.

A p-bit array computes each cell's bias with a conductance network (docs/theory.md §2): every neighbour drives
``V_dd y_j`` through a unit conductance ``g_unit`` into the cell's bias node of capacitance ``C``. The
network must settle within the cell's update interval, which fixes the conductance: with a settling budget
of ``n_tau`` time constants in half the update interval ``t_upd``,

    tau_b = C / G_sum <= t_upd / (2 n_tau)   =>   G_sum = 2 n_tau C / t_upd,   g_unit = G_sum / (fan_in + 1)

(``fan_in + 1``: the neighbours plus the cell's own field input). Its static power ``V_dd^2 G_sum / 4``
(half the inputs high) is then not a free parameter but a consequence of the clock — the term that the
idealized energy models leave out. This module simulates that network
(:func:`pbitkit.circuits.testbenches.bias_network_point`, sky130 inverter drivers + resistors) and writes the
measured settling time and update energy into the card's ``bias_network``.

:func:`attach_periphery` does the same for everything around the cells (:mod:`pbitkit.circuits.periphery`):
the clock tree, the neighbour wires and the I/O bit lines, measured for the array's geometry (cell pitch,
side, fan-in) and written into ``card.provenance["periphery"]``, where :func:`pbitkit.array.ledger.ledger`
finds them. It also records the cell's declared ``noise_source`` (``"transistor"`` or ``"behavioural"``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from typing import Any

from pbitkit.errors import ConfigError, PbitkitError

__all__ = ["design_bias_network", "attach_bias_network", "attach_cap_network", "attach_periphery",
           "periphery_for_graph", "CELL_LOGIC", "cell_logic", "attach_cell_bias_network", "attach_supply",
           "attach_array_circuits", "paper_network_card"]

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


def attach_cap_network(card: Any, fan_in: int = 12, *, corner: str = "tt", step_inputs: int | None = 2,
                       **design: Any) -> tuple[Any, Any]:
    """The ``native_latch``'s charge-domain network (:mod:`pbitkit.circuits.bias_network_nl`) measured at
    ``fan_in`` with the cell as its load and written into ``card``: ``bias_network`` (its
    :meth:`~pbitkit.circuits.bias_network_nl.NetworkMeasurement.card_record`: energy per update, settling
    time constant, node capacitance, no static conduction) and ``provenance.details["bias_network"]`` (the
    ledger's source record with both sessions' hashes). The reset level is the card's ``v0_V``; ``design``
    overrides :class:`~pbitkit.circuits.bias_network_nl.CapNetworkDesign` fields. ``step_inputs`` (default 2,
    ``None``: all ``fan_in``) neighbour inputs are rendered with their gates in the step session, the others as
    their capacitors on the same node (a fully rendered fan-in-12 step session takes tens of CPU minutes;
    the toggle energy is per toggling input and scales to ``fan_in``; at fan-in 12 the energy per update with
    2, 4 and 8 gated inputs agrees to 0.1 %, docs/energy.md). Returns ``(card,
    measurement)``; the measured DAC goes into the array with
    :func:`~pbitkit.circuits.bias_network_nl.network_weight_dac`.

    Raises
    ------
    ConfigError
        ``card`` is not a ``native_latch`` card, or a design field is bad.
    SimulationError
        When ngspice fails.
    """
    from pbitkit.circuits.bias_network_nl import CapNetworkDesign, measure_network
    from pbitkit.circuits.models import get_library

    if card.cell != "native_latch":
        raise ConfigError(f"attach_cap_network: the charge-domain network drives the native_latch's pair gate; "
                          f"card is for cell {card.cell!r}")
    d = CapNetworkDesign(**{"fan_in": fan_in, "vreset_V": float(card.v0_V), **design})
    n_step = None if step_inputs is None else min(int(step_inputs), int(fan_in))
    m = measure_network(d, cell_vdd_V=float(card.vdd_V), library=get_library("sky130", corner), temp_C=card.temp_C,
                        step_inputs=n_step)
    prov = card.provenance.with_details(bias_network=m.ledger_record(corner=corner))
    log.info("native_latch network, fan-in %d: %.3g J per update, 1%% settling %.3g s, INL %.2f LSB, %.2f bits",
             fan_in, m.energy_per_update_J, m.settling_s, m.inl_max_lsb, m.effective_bits)
    return card.replace(bias_network=m.card_record(), provenance=prov), m


def attach_cell_bias_network(card: Any, fan_in: int, *, corner: str = "tt") -> tuple[Any, dict[str, Any]]:
    """The bias network the pipeline gives ``card``'s cell, measured at transistor level: the
    ``native_latch``'s charge-domain network (:func:`attach_cap_network`), else the resistor network sized for
    the cell's update interval (:func:`attach_bias_network`). Returns ``(card, summary)``, the summary with
    ``kind``, ``energy_per_update_J``, ``settling_s`` (1 %) and ``static_power_W`` (0 for the charge-domain
    network: its leakage is inside the energy per update)."""
    if card.cell == "native_latch":
        card, m = attach_cap_network(card, fan_in, corner=corner)
        return card, {"kind": "charge-domain", "energy_per_update_J": m.energy_per_update_J,
                      "settling_s": m.settling_s, "static_power_W": 0.0, "leakage_W": m.leakage_W}
    card, m = attach_bias_network(card, fan_in, corner=corner)
    return card, {"kind": "resistor", **m}


#: The logic around each cell (its neighbour wires and its clock tree) where it differs from the default
#: 1.8 V standard-Vt logic: supply (V), device flavour (:data:`pbitkit.circuits.periphery.LOGIC_ROLES`) and the
#: cell's clock pins. ``native_latch``: its neighbour bits travel on the 0.6 V logic rail of its charge-domain
#: bias network (``pbitkit.circuits.bias_network_nl``, whose input gates take 0.6 V levels), and its clock
#: (0.45 V inside the cell) comes from a 0.6 V low-Vt tree into the gates of its clock inverter
#: (``nfet_01v8_lvt`` and ``pfet_01v8``, 0.42/0.15 µm); at 0.45 V a low-Vt tree's nFETs are too weak for
#: clean edges (measured: leaves reach 0.26 V of 0.45 V in a 300 ns period), at 0.6 V its leaves follow the input within 12-25 ns.
#: ``count_pins``: the pins' energy at the tree's voltage is charged to the clock term, and the ledger takes
#: the cell's own clock-port drive (its characterization's 0.45 V clock source into the same pins,
#: ``energy_parts["clock_port"]`` of the card) out of the cell's term, so the pins are counted once.
#: ``generated_supply``: the cell's core supply (the native_latch's 0.12 V) comes from a per-die generator whose
#: energy per cell per read is a ledger term of its own (:func:`attach_supply`).
CELL_LOGIC: dict[str, dict[str, Any]] = {
    "native_latch": {"logic_vdd_V": 0.6, "flavour": "lvt", "count_pins": True, "generated_supply": True,
                     "clock_pins": {"pin_wn_um": 0.42, "pin_wp_um": 0.42, "pin_roles": ("nfet_lvt", "pfet"),
                                    "pin_l_um": 0.15}},
}
_DEFAULT_LOGIC: dict[str, Any] = {"logic_vdd_V": 1.8, "flavour": "std", "count_pins": False, "clock_pins": {},
                                  "generated_supply": False}


def cell_logic(cell: str) -> dict[str, Any]:
    """The periphery logic settings of ``cell`` (:data:`CELL_LOGIC`, else 1.8 V standard-Vt logic)."""
    return {**_DEFAULT_LOGIC, **CELL_LOGIC.get(cell, {})}


def attach_supply(card: Any, n_cells: int, *, corner: str = "tt") -> Any:
    """``card`` with ``provenance.details["supply"]``, the ledger's ``supply`` term, for a cell whose supplies
    are generated per die (:data:`CELL_LOGIC` ``generated_supply``); other cards are returned unchanged (they
    run from the chip's rails, outside the ledger's boundary).

    The ``native_latch``'s per-die core-supply generator (:mod:`pbitkit.circuits.supply_gen`: string DAC, tap
    tree, native source follower, with ``n_cells`` replica cells as its load) is simulated at the card's
    corner and temperature, on the follower rail that supply needs, at the code whose core supply is closest
    to the card's ``vdd_V`` (:func:`~pbitkit.circuits.supply_gen.nearest_generator_point`); its energy per
    cell per read is :func:`~pbitkit.circuits.supply_gen.amortized_energy` (the follower's drop-out per cell
    and the string's quiescent power over the array) at the card's read period.
    """
    if not cell_logic(card.cell)["generated_supply"]:
        return card
    from pbitkit.circuits.models import get_library
    from pbitkit.circuits.ngspice import run
    from pbitkit.circuits.supply_gen import amortized_energy, nearest_generator_point
    from pbitkit.io import sha256_bytes

    t_read = float(card.dynamics.sample_period_s)
    jobs: list[Any] = []

    def runner(job: Any) -> Any:
        jobs.append(job)
        return run(job)

    target = float(card.vdd_V)
    pt, spec = nearest_generator_point(target, corner=corner, temp_C=card.temp_C, n_cells=n_cells,
                                       sample_period_s=t_read, runner=runner)
    e = amortized_energy(pt, n_cells, t_read)
    job = jobs[-1]
    lib = get_library("sky130", corner)
    rec = {"energy_per_update_J": float(e["total_J"]),
           "what": (f"per-die core-supply generator (string DAC code {pt.code} of {spec.n_codes}: V_core "
                    f"{pt.v_core_V * 1e3:.1f} mV for the card's {target * 1e3:.1f} mV; follower drop-out "
                    f"{e['dropout_J']:.3g} J + string/logic {e['quiescent_J']:.3g} J over {n_cells} cells)"),
           "source": {"testbench": "pbitkit.circuits.supply_gen.gen_levels", "models": lib.source,
                      "netlist_sha256": sha256_bytes(job.netlist.encode()), "job_sha256": job.content_hash()},
           "measured": {**{k: float(v) for k, v in e.items()}, "code": pt.code, "v_core_V": pt.v_core_V,
                        "i_load_A": pt.i_load_A, "p_gen_W": pt.p_gen_W, "p_quiescent_W": pt.p_quiescent_W,
                        "n_cells": n_cells, "corner": corner, "temp_C": card.temp_C, "spec": asdict(spec)}}
    return card.replace(provenance=card.provenance.with_details(supply=rec))


def periphery_for_graph(graph: Any, *, corner: str = "tt", temp_C: float = 27.0, vdd_V: float = 1.8,
                        readout: bool = False, logic: dict[str, Any] | None = None,
                        period_s: float | None = None) -> dict[str, Any]:
    """Measure the periphery of an array laid out as ``graph`` (a grid from :func:`pbitkit.array.grid_graph`).

    * wires: the cell's output driver into its neighbour wires with ``max degree`` receiver gates, at a
      quarter of and at the mean total wire length per cell (folded torus: twice the Manhattan lengths),
      on the cell's logic supply (``logic``, :func:`cell_logic`);
    * clock: a 2 x 8 comb tree, one per colour class, so with leaves ``n_colors`` pitches apart (distribution
      energy per cell per cycle; each cell is clocked once per sweep), on the cell's logic supply, with the
      cell's clock pins;
    * I/O (at ``vdd_V``): writing one clamped bit / reading one output bit over a column bit line of
      ``rows x pitch`` with ``rows`` cells on it, and a word line as long as a row;
    * with ``readout``: the comparator that reads a free-running cell once per update.

    ``period_s``: the cell's update period (the wires and the clock tree run at it; default 10 ns).

    Returns ``{"wire", "clock", "io_write", "io_read", "geometry"}`` (+ ``"readout"``), each with its ngspice
    source record.
    """
    import numpy as np

    from pbitkit.circuits.models import get_library
    from pbitkit.circuits.periphery import measure_clock_tree, measure_io, measure_readout, measure_wire

    meta = getattr(graph, "meta", {}) or {}
    try:
        pitch_um = float(meta["pitch_m"]) * 1e6
        rows, cols = int(meta["rows"]), int(meta["cols"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"periphery: the graph has no grid geometry (meta pitch_m, rows, cols): {exc}") from exc
    lib = get_library("sky130", corner)
    fold = 2.0 if graph.box_m is not None else 1.0
    lengths = graph.edge_lengths_m() * fold
    per_cell = np.bincount(graph.edges[:, 0], weights=lengths, minlength=graph.n_nodes) + np.bincount(
        graph.edges[:, 1], weights=lengths, minlength=graph.n_nodes)
    mean_um = max(float(np.mean(per_cell)) * 1e6, 4 * pitch_um)
    fan_in = int(graph.degree.max())
    lg = {**_DEFAULT_LOGIC, **(logic or {})}
    per = max(float(period_s or 10e-9), 10e-9)
    clock = measure_clock_tree(pitch_um=pitch_um * graph.n_colors, vdd_V=lg["logic_vdd_V"], library=lib,
                               temp_C=temp_C, period_s=per, flavour=lg["flavour"], **lg["clock_pins"])
    clock["count_pins"] = bool(lg["count_pins"])
    out = {
        "wire": measure_wire([mean_um / 4, mean_um], n_loads=fan_in, vdd_V=lg["logic_vdd_V"], library=lib,
                             temp_C=temp_C, period_s=per, flavour=lg["flavour"]),
        # one clock tree per colour class (each class updates once per sweep): its leaves are n_colors
        # pitches apart along a row (a checkerboard on a bipartite grid)
        "clock": clock,
        "io_write": measure_io("write", length_um=rows * pitch_um, n_cells=rows, wordline_um=cols * pitch_um,
                               vdd_V=vdd_V, library=lib, temp_C=temp_C),
        "io_read": measure_io("read", length_um=rows * pitch_um, n_cells=rows, wordline_um=cols * pitch_um,
                              vdd_V=vdd_V, library=lib, temp_C=temp_C),
        "geometry": {"pitch_um": pitch_um, "rows": rows, "cols": cols, "fan_in": fan_in, "fold": fold,
                     "mean_wire_um_per_cell": mean_um, "corner": corner, "vdd_V": vdd_V,
                     "logic_vdd_V": lg["logic_vdd_V"], "flavour": lg["flavour"], "period_s": per,
                     "clock_leaf_spacing_um": pitch_um * graph.n_colors},
    }
    if readout:
        out["readout"] = measure_readout(vdd_V=vdd_V, library=lib, temp_C=temp_C)
    log.info("periphery (%dx%d, pitch %.3g um): clock %.3g J/cell, wire %.3g J + %.3g J/um per cycle, write %.3g J, "
             "read %.3g J", rows, cols, pitch_um, out["clock"]["energy_per_cell_J"], out["wire"]["fixed_J"],
             out["wire"]["per_um_J"], out["io_write"]["energy_per_access_J"], out["io_read"]["energy_per_access_J"])
    return out


def attach_periphery(card: Any, graph: Any, *, corner: str = "tt", noise_source: str | None = None,
                     paper_graph: Any = None) -> Any:
    """``card`` with ``provenance.details["periphery"]`` (:func:`periphery_for_graph`) and ``["noise_source"]``.

    A free-running card (``dynamics.sample_period_s == 0``) also gets its readout comparator measured.
    ``noise_source`` defaults to what the card's cell declares (``Cell.noise_source``; ``"undeclared"`` when
    the cell does not say), so the ledger can mark a behavioural noise source as incomplete. With
    ``paper_graph`` (a larger grid of the same pattern and pitch), ``["periphery_paper"]`` holds the same
    periphery with the I/O bit and word lines re-measured for that grid's side (the clock tree and the
    wires per cell depend only on the pitch and the pattern).
    """
    if noise_source is None:
        try:
            from pbitkit.circuits import get_cell

            noise_source = str(getattr(get_cell(card.cell), "noise_source", "undeclared"))
        except PbitkitError:  # a cell unknown to this registry (e.g. a netlist cell): say so
            noise_source = "undeclared"
    # a free-running cell (no clock period) needs a comparator to be read once per update
    free_running = not card.dynamics.sample_period_s > 0
    per = periphery_for_graph(graph, corner=corner, temp_C=card.temp_C, readout=free_running,
                              logic=cell_logic(card.cell), period_s=card.dynamics.sample_period_s or None)
    extra: dict[str, Any] = {}
    if paper_graph is not None:
        from pbitkit.circuits.models import get_library
        from pbitkit.circuits.periphery import measure_io

        meta = getattr(paper_graph, "meta", {}) or {}
        try:
            pitch_um, rows, cols = float(meta["pitch_m"]) * 1e6, int(meta["rows"]), int(meta["cols"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"periphery: the paper graph has no grid geometry (meta pitch_m, rows, cols): {exc}") from exc
        lib = get_library("sky130", corner)
        io = {mode: measure_io(mode, length_um=rows * pitch_um, n_cells=rows, wordline_um=cols * pitch_um,
                               library=lib, temp_C=card.temp_C) for mode in ("write", "read")}
        extra["periphery_paper"] = {**per, "io_write": io["write"], "io_read": io["read"],
                                    "geometry": {**per["geometry"], "rows": rows, "cols": cols}}
    prov = card.provenance.with_details(periphery=per, noise_source=noise_source, **extra)
    return card.replace(provenance=prov)


def attach_array_circuits(card: Any, graph: Any, *, paper_graph: Any = None,
                          corner: str = "tt") -> tuple[Any, dict[str, Any]]:
    """``card`` with everything the ledger needs around its cell, each measured in ngspice: its bias network at
    ``graph``'s fan-in (:func:`attach_cell_bias_network`), the periphery of ``graph`` (and of ``paper_graph``,
    :func:`attach_periphery`) and its supply generator (:func:`attach_supply`). With a ``paper_graph`` whose
    fan-in differs (a crossbar run: the paper's grid has fan-in 12), the network is measured at
    that fan-in too, into ``provenance.details["bias_network_paper"]`` (``fan_in``, ``card_record``,
    ``ledger_record``; :func:`paper_network_card` puts it in place), so that the paper setting's ledger is
    measured rather than scaled.

    The run's network (one long ngspice session at large fan-in: ~50 s at 128) runs in a second thread while
    the periphery, supply and paper-network sessions run in this one; each is an ngspice subprocess, so the
    two overlap on two cores. Returns ``(card, network summary)`` as :func:`attach_cell_bias_network`.
    """
    from concurrent.futures import ThreadPoolExecutor

    fan_in = int(graph.degree.max())
    paper_fan_in = int(paper_graph.degree.max()) if paper_graph is not None else fan_in
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bias-network") as pool:
        network = pool.submit(attach_cell_bias_network, card, fan_in, corner=corner)
        rest = attach_periphery(card, graph, corner=corner, paper_graph=paper_graph)
        rest = attach_supply(rest, graph.n_nodes, corner=corner)
        extra: dict[str, Any] = {}
        if paper_fan_in != fan_in:
            at_paper, _ = attach_cell_bias_network(card, paper_fan_in, corner=corner)
            extra["bias_network_paper"] = {"fan_in": paper_fan_in, "card_record": at_paper.bias_network.to_dict(),
                                           "ledger_record": at_paper.provenance.details["bias_network"]}
        with_network, summary = network.result()
    prov = rest.provenance.with_details(bias_network=with_network.provenance.details["bias_network"], **extra)
    return rest.replace(bias_network=with_network.bias_network, provenance=prov), summary


def paper_network_card(card: Any) -> Any:
    """``card`` with the bias network measured at the paper grid's fan-in
    (``provenance.details["bias_network_paper"]``, written by :func:`attach_array_circuits`) in place of the
    run's, for the paper setting's ledger; ``card`` itself when there is none (the run's array has the paper
    grid's fan-in)."""
    from pbitkit.pbitmodel.card import BiasNetwork

    details = card.provenance.details if isinstance(getattr(card.provenance, "details", None), dict) else {}
    rec = details.get("bias_network_paper")
    if not isinstance(rec, dict):
        return card
    try:
        bn = BiasNetwork.from_dict(rec["card_record"])
        ledger_rec = dict(rec["ledger_record"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"card provenance.details.bias_network_paper is malformed: {exc}") from exc
    return card.replace(bias_network=bn, provenance=card.provenance.with_details(bias_network=ledger_rec))
