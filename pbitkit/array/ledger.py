"""Energy and time ledger of a p-bit array (the DTM paper's model, with wires from the graph's geometry),
with the source of every term.

Per cell and per update (one read of the cell)::

    E_cell = E_rng + E_bias + E_trim + E_supply + E_readout + E_clock + E_wire
    E_rng   = energy_per_bit_J                        (or static_power_W x t_update when that is 0)
              - E_trim,cell - E_clock_port          (parts the card's ``energy_parts`` name and that another
                                                    term counts: no joule is counted twice)
    E_trim  = the cell's own trim (its n-well trim sources, ``energy_parts["trim"]``: moved out of E_rng to
              show it); the bias network's trim/field input is inside E_bias
    E_supply = the per-die supply/well generator amortized per cell per read (``provenance["supply"]``,
              ngspice), or 0 with status ``missing`` when the cell needs a generated supply that was not
              simulated; no term for a cell that runs from the chip's rails
    E_bias  = bias_energy_per_update_J                (or a_out c_node_F V_dd^2 when that is 0)
              + static conduction of the resistor network, G_sum V_dd^2 / 4 x t_update,
                G_sum = (degree + 1) g_unit_S (worst case: half the inputs high)
    E_readout = 0 for clocked cells (the cell's own decision is the read: inside E_rng), else the measured
              comparator decision + its idle power until the next read (``periphery["readout"]``), or 0
              "assumed"
    E_clock = periphery["clock"] distribution energy per cell per cycle (ngspice clock tree; plus the cell's
              clock-pin energy at the tree's voltage when ``count_pins`` and the card names the cell's own
              clock-port drive in ``energy_parts``, which then leaves E_rng), else the card's
              ``clock_energy_J`` (assumed)
    E_wire  = a_out x 1/2 (E_0 + e_1 x sum_j L_ij)    measured (ngspice: driver + wire + the neighbours' input
              gates, ``E_0 + e_1 L`` per full cycle), else a_out x 1/2 C' V^2 x sum_j L_ij (assumed C');
              L_ij = Manhattan length from the coordinates x fold factor (2 on a folded torus)
    a_out   = probability that the output toggles in one update = 2 p (1 - p) (1 - lam),
              p = 1/2 (unbiased), lam = exp(-t_update / tau)

Time: a colour class updates every ``t_half = max(t_update, settle_n_tau x bias_settling_s)``
(``t_update`` = clock period of clocked cells, else the correlation time tau: the paper's rule that a
half-sweep cannot beat the RNG's correlation time), a sweep takes ``n_colors x t_half``.
Totals: per sweep ``N x mean(E_cell)``; per sample ``n_sweeps_per_sample`` sweeps.

I/O (per access, used per generated sample by :mod:`pbitkit.dtm.energy`): ``io_write_J`` to write one clamped
bit into a cell, ``io_read_J`` to read one output bit, from the periphery's ngspice bit-line testbenches when
measured, else ``None`` (the caller then uses its own, assumed, constants).

Provenance: every term is an :class:`EnergyTerm` with a ``status`` — ``"simulated"`` (an ngspice run
measured it: testbench, netlist and job hashes in ``detail``), ``"included"`` (its joules are inside another
simulated term, e.g. the trim input inside the bias network), ``"partial"`` (simulated, but part of the
circuit is behavioural and its power is not counted) or ``"assumed"`` (a typed-in or literature number, with
its reference); ``"missing"`` marks a part of the circuit that exists but was not simulated and is not counted
(0 J, with the reason). Where the numbers come from: a DeviceModel card's ``provenance`` (``table_sha256``,
``characterization.sessions`` and ``energy_parts`` for the cell, ``bias_network`` for the network,
``periphery`` for the clock tree, wires and I/O written by :func:`pbitkit.pipeline.bias_network.attach_periphery`,
``supply`` for the supply generator, ``noise_source``).
:func:`provenance_sentence` turns the terms into the report's opening sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.array.device import DeviceStats, HardwareInstance, from_device_model
from pbitkit.array.graphs import Graph
from pbitkit.errors import ConfigError

__all__ = ["Ledger", "ledger", "EnergyTerm", "provenance_sentence", "TERM_STATUSES"]

#: Allowed :attr:`EnergyTerm.status` values; the first two mean "traced to an ngspice run"; ``missing`` is a
#: part of the circuit that was not simulated and is not counted (0 J, the source says why).
TERM_STATUSES = ("simulated", "included", "partial", "assumed", "missing")


@dataclass(frozen=True)
class EnergyTerm:
    """One term of the ledger with where its joules come from.

    Attributes
    ----------
    name : str
        ``rng``, ``bias``, ``trim``, ``supply``, ``readout``, ``clock``, ``wire`` (per cell update) or
        ``io_write``, ``io_read`` (per access).
    energy_J : float
        Mean energy per cell update (array terms) or per access (I/O terms), J.
    per : str
        ``"cell update"`` or ``"access"``.
    status : str
        One of :data:`TERM_STATUSES`.
    source : str
        One line: the ngspice testbench and run that measured it (with hashes), or ``"assumed: ..."`` with
        the reference.
    detail : dict
        Machine-readable provenance (hashes, testbench, parameters).
    """

    name: str
    energy_J: float
    per: str
    status: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in TERM_STATUSES:
            raise ConfigError(f"EnergyTerm {self.name}: status must be one of {TERM_STATUSES}, got {self.status!r}")
        if not self.source:
            raise ConfigError(f"EnergyTerm {self.name}: a source is required")

    @property
    def traced(self) -> bool:
        """True when an ngspice run accounts for all of this term's joules."""
        return self.status in ("simulated", "included")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "energy_J": self.energy_J, "per": self.per, "status": self.status,
                "source": self.source, "detail": self.detail}


def provenance_sentence(terms: Any) -> str:
    """The report's opening sentence, generated from the terms (``EnergyTerm`` or their dicts).

    Claims that every figure traces back to ngspice only when every term is ``simulated`` or ``included``;
    otherwise names each exception and its status.
    """
    ts = [t.to_dict() if isinstance(t, EnergyTerm) else dict(t) for t in terms]
    if not ts:
        return "No energy ledger in this run."
    names = ", ".join(t["name"] for t in ts)
    bad = [t for t in ts if t.get("status") not in ("simulated", "included")]
    if not bad:
        return (f"Every energy figure below traces back to transistor-level ngspice simulation: each of the "
                f"{len(ts)} ledger terms ({names}) names the testbench run that measured it (section 3 and "
                "`ledger.json`).")
    def says(t: dict[str, Any]) -> str:
        src, st = str(t.get("source", "")), str(t.get("status", "?"))
        return f"{t['name']} ({src})" if src.startswith(st) else f"{t['name']} ({st}: {src})"

    what = "; ".join(says(t) for t in bad)
    return (f"Not every energy figure below comes from ngspice: of the {len(ts)} ledger terms ({names}), "
            f"{len(bad)} {'is' if len(bad) == 1 else 'are'} not fully simulated — {what}. The others name the "
            "ngspice run that measured them (section 3 and `ledger.json`).")


@dataclass(frozen=True)
class Ledger:
    """Energy (J) and time (s) of an array per update, sweep and sample, with the per-cell breakdown.

    Attributes
    ----------
    rng_J, bias_J, readout_J, clock_J, wire_J, trim_J, supply_J : float
        Mean energy per cell update of each component (``rng_J`` without the parts that ``trim_J`` and
        ``clock_J`` count).
    wire_J_per_cell : (N,) float
        Wire energy of each cell per update (cells with long jumps cost more).
    energy_per_update_J : float
        Mean ``E_cell`` (the sum of the per-update terms).
    energy_per_sweep_J, energy_per_sample_J : float
    time_per_update_s : float
        Time per colour-class update (half-sweep on a bipartite graph).
    time_per_sweep_s, time_per_sample_s : float
    limited_by : str
        ``"correlation time"``, ``"clock"``, ``"update interval"`` or ``"bias settling"``.
    io_write_J, io_read_J : float or None
        Measured energy to write one clamped bit into a cell / read one output bit (None: not measured).
    terms : tuple of EnergyTerm
        Every term with its source (per cell update, then per I/O access).
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
    readout_J: float = 0.0
    trim_J: float = 0.0
    supply_J: float = 0.0
    io_write_J: float | None = None
    io_read_J: float | None = None
    terms: tuple[EnergyTerm, ...] = ()

    def parts(self) -> dict[str, float]:
        """Per-cell-update energy by term name (J); sums to ``energy_per_update_J``."""
        return {t.name: t.energy_J for t in self.terms if t.per == "cell update"}

    def breakdown(self) -> dict[str, float]:
        """Per-cell-update energy by component (J) and the fractions of the total."""
        tot = self.energy_per_update_J
        parts = self.parts() or {"rng": self.rng_J, "bias": self.bias_J, "clock": self.clock_J, "wire": self.wire_J}
        out = {f"{k}_J": v for k, v in parts.items()}
        out.update({f"{k}_fraction": (v / tot if tot > 0 else 0.0) for k, v in parts.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the per-cell wire array as min/mean/max), with the terms and their sources."""
        return {
            "n_nodes": self.n_nodes, "n_colors": self.n_colors, "n_sweeps_per_sample": self.n_sweeps_per_sample,
            **self.breakdown(),
            "wire_J_per_cell_min": float(self.wire_J_per_cell.min()),
            "wire_J_per_cell_max": float(self.wire_J_per_cell.max()),
            "energy_per_update_J": self.energy_per_update_J, "energy_per_sweep_J": self.energy_per_sweep_J,
            "energy_per_sample_J": self.energy_per_sample_J, "time_per_update_s": self.time_per_update_s,
            "time_per_sweep_s": self.time_per_sweep_s, "time_per_sample_s": self.time_per_sample_s,
            "limited_by": self.limited_by, "io_write_J": self.io_write_J, "io_read_J": self.io_read_J,
            "terms": [t.to_dict() for t in self.terms], "assumptions": self.assumptions,
        }


def _card_provenance(device: Any) -> tuple[dict[str, Any], str]:
    """``(flat provenance dict, cell name)`` of a DeviceModel card; empty for other inputs.

    Schema 2 cards keep the records (characterization, bias network, periphery, noise source) in
    ``provenance.details`` and the table hash in ``provenance.table_sha256``; both are merged into one dict.
    """
    if isinstance(device, dict):
        prov, cell = device.get("provenance"), device.get("cell")
    else:
        prov, cell = getattr(device, "provenance", None), getattr(device, "cell", None)
    if prov is not None and hasattr(prov, "to_dict"):
        prov = prov.to_dict()
    if not isinstance(prov, dict):
        return {}, str(cell or "?")
    details = prov.get("details")
    flat = dict(details) if isinstance(details, dict) else dict(prov)
    if prov.get("table_sha256"):
        flat["table_sha256"] = prov["table_sha256"]
    return flat, str(cell or "?")


def _run_ref(src: dict[str, Any]) -> str:
    """``testbench (models; netlist sha256 abc..., job def...)`` from a periphery source record."""
    bits = [str(src.get("models", ""))]
    if src.get("netlist_sha256"):
        bits.append(f"netlist sha256 {str(src['netlist_sha256'])[:12]}")
    if src.get("job_sha256"):
        bits.append(f"run {str(src['job_sha256'])[:12]}")
    tb = str(src.get("testbench", "?")).rsplit(".", 1)[-1]
    return f"ngspice `{tb}` ({'; '.join(b for b in bits if b)})"


def _cell_term(prov: dict[str, Any], cell: str, stats: DeviceStats, e_rng: float, moved: str = "") -> EnergyTerm:
    """The ``rng`` term; ``moved`` says which of the cell's measured parts other terms count instead."""
    if "table_sha256" not in prov:
        return EnergyTerm("rng", e_rng, "cell update", "assumed", f"assumed: {stats.source} (no characterization "
                          "provenance)", {})
    ch = prov.get("characterization") or {}
    sessions = ch.get("sessions") or []
    models = ", ".join(dict.fromkeys(str(m.get("source", "?")) for m in ch.get("models") or [] if isinstance(m, dict)))
    detail = {"table_sha256": prov["table_sha256"], "n_sessions": len(sessions),
              "job_sha256": [s.get("job_sha256") for s in sessions if isinstance(s, dict)],
              "ngspice_version": ch.get("ngspice_version"), "models": models,
              "noise_source": prov.get("noise_source", "undeclared"),
              "energy_parts": dict(prov.get("energy_parts") or {})}
    src = (f"ngspice characterization of `{cell}` ({len(sessions)} sessions, {models or '?'}; table sha256 "
           f"{str(prov['table_sha256'])[:12]}); E/bit every supply" + (moved or " incl. its clock drive"))
    ns = prov.get("noise_source", "undeclared")
    if ns == "behavioural":
        return EnergyTerm("rng", e_rng, "cell update", "partial", src + "; noise source behavioural: the noise "
                          "amplifier is an ideal gain whose power is not counted", detail)
    if ns != "transistor":
        return EnergyTerm("rng", e_rng, "cell update", "partial", src + f"; noise source {ns}: not known to be "
                          "transistor-level", detail)
    return EnergyTerm("rng", e_rng, "cell update", "simulated", src + "; noise from the FETs' own physical "
                      "noise model", detail)


def _supply_term(sup: dict[str, Any]) -> EnergyTerm:
    """The ``supply`` term from ``provenance["supply"]``: ``{"energy_per_update_J", "source": {testbench,
    models, netlist_sha256, job_sha256}, "what"}`` when a generator was simulated, or ``{"energy_per_update_J":
    None, "reason"}`` for a generated supply that was not (status ``missing``, 0 J, the reason as its source)."""
    e = sup.get("energy_per_update_J")
    if e is None:
        reason = str(sup.get("reason") or "no supply-generator simulation for this card")
        return EnergyTerm("supply", 0.0, "cell update", "missing", f"missing: not simulated, not counted — {reason}",
                          {k: v for k, v in sup.items() if k != "energy_per_update_J"})
    e = float(e)
    if not (math.isfinite(e) and e >= 0):
        raise ConfigError(f"ledger: provenance supply.energy_per_update_J must be >= 0 and finite, got {e!r}")
    src = sup.get("source") if isinstance(sup.get("source"), dict) else {}
    if not src.get("job_sha256"):
        raise ConfigError("ledger: provenance supply has an energy but its source has no job_sha256 (ngspice run)")
    return EnergyTerm("supply", e, "cell update", "simulated",
                      f"{_run_ref(src)}: {sup.get('what') or 'per-die supply/well generator'}, amortized per cell "
                      "per read", dict(sup))


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
    periphery: dict[str, Any] | None = None,
) -> Ledger:
    """Energy/time ledger of ``graph`` built from ``device`` (see the module docstring for the model).

    Parameters
    ----------
    graph : Graph (coordinates in metres give the wire lengths)
    device : DeviceStats, HardwareInstance, or a ``pbitkit.pbitmodel.DeviceModel`` card (converted; its
        ``provenance`` supplies the sources and, under ``periphery``, the measured clock/wire/I/O energies)
    n_sweeps_per_sample : sweeps between returned samples (e.g. K = 250 per DTM step)
    update_interval_s : time between reads of a cell (default: hardware's, else clock period, else tau)
    p_one : assumed P(+1) of an output (activity ``2 p (1 - p) (1 - lam)``)
    fold_factor : wire-length multiplier (default 2 for a periodic graph — a folded torus — else 1)
    settle_n_tau : settling time constants the bias network is given per update
    include_bias_static : count the resistor network's static conduction during an update
    periphery : measured periphery (``{"clock", "wire", "io_write", "io_read", "readout"}`` as written by
        :func:`pbitkit.pipeline.bias_network.attach_periphery`); default: the card's ``provenance["periphery"]``
    """
    prov, cell = _card_provenance(device)
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
    per = periphery if periphery is not None else (prov.get("periphery") or {})
    if not isinstance(per, dict):
        raise ConfigError(f"ledger: periphery must be a dict of measurements, got {type(per).__name__}")
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
    terms: list[EnergyTerm] = []

    # cell (RNG): its measured energy per read, minus the parts of it that another term counts — its own trim
    # (shown as the trim term) and, when the clock tree drives the cell's clock pins at its own voltage, the
    # cell's clock-port drive (the characterization's ideal clock source into the same pins)
    eparts = prov.get("energy_parts") if isinstance(prov.get("energy_parts"), dict) else {}
    ck = per.get("clock") if isinstance(per.get("clock"), dict) else None
    from_parts = stats.energy_per_bit_J > 0 and bool(eparts)
    port_key = "clock_port" if "clock_port" in eparts else "clock"
    pins = bool(ck and ck.get("count_pins") and from_parts and port_key in eparts)
    e_port = float(eparts[port_key]) if pins else 0.0
    e_trim_cell = float(eparts["trim"]) if from_parts and "trim" in eparts else None
    e_rng = stats.energy_per_bit_J if stats.energy_per_bit_J > 0 else stats.static_power_W * t_half
    moved = []
    if e_trim_cell is not None:
        moved.append(f"its n-well trim sources ({e_trim_cell:.3g} J, the trim row)")
    if pins:
        moved.append(f"its clock-port drive ({e_port:.3g} J from the characterization's clock source; the clock row "
                     "counts the same pins driven by the tree)")
    e_rng = e_rng - (e_trim_cell or 0.0) - e_port
    terms.append(_cell_term(prov, cell, stats, e_rng, (" minus " + " and ".join(moved)) if moved else ""))

    # bias network (+ trim input inside it)
    bn_prov = prov.get("bias_network") if isinstance(prov.get("bias_network"), dict) else {}
    meas = bn_prov.get("measured") if isinstance(bn_prov.get("measured"), dict) else {}
    vdd_b = stats.bias_vdd_V
    e_bias_dyn = stats.bias_energy_per_update_J if stats.bias_energy_per_update_J > 0 else (
        activity * stats.bias_c_node_F * vdd_b**2)
    # a charge-domain network (no static conduction) spends its update energy in its input capacitors: for
    # cells with another fan-in than the measured network it scales with their degree + 1 inputs (a resistor
    # network's update energy is its node's C V^2; its static power is scaled below)
    charge_domain = stats.bias_energy_per_update_J > 0 and not meas.get("static_power_W")
    fan_meas = bn_prov.get("fan_in") if charge_domain else None
    rescaled = bool(fan_meas) and bool(np.any(deg != float(fan_meas)))
    if rescaled:
        e_bias_dyn = e_bias_dyn * (deg + 1.0) / (float(fan_meas) + 1.0)
    if include_bias_static and meas.get("static_power_W") and bn_prov.get("fan_in"):
        # the testbench's network has G_sum = (fan_in + 1) g_unit; a cell of degree d has (d + 1) g_unit
        e_bias_static = float(meas["static_power_W"]) * (deg + 1.0) / (float(bn_prov["fan_in"]) + 1.0) * t_half
    elif include_bias_static:
        e_bias_static = g_sum * vdd_b**2 / 4.0 * t_half
    else:
        e_bias_static = np.zeros_like(g_sum)
    e_bias = e_bias_dyn + e_bias_static
    if meas:
        ref = _run_ref({"testbench": bn_prov.get("source", "bias_network_point"),
                        "models": meas.get("models") or f"sky130 {bn_prov.get('corner', '?')}",
                        "netlist_sha256": meas.get("netlist_sha256"), "job_sha256": meas.get("job_sha256")})
        how = ("update energy + measured static power x update time" if "static_power_W" in meas else
               "charge-domain network: energy per update incl. its leakage over the update and the amortized "
               "refresh (no static conduction)")
        n_gated, n_fan = meas.get("step_inputs"), bn_prov.get("fan_in")
        if n_gated and n_fan and int(n_gated) < int(n_fan):
            how += (f"; {int(n_gated)} of its {int(n_fan)} inputs rendered with their gates, the others as their "
                    "capacitors on the same node (toggle energy per input x fan-in; full fan-in checked in "
                    "docs/energy.md)")
        if rescaled:
            how += (f"; this array's cells have {int(deg.min())}-{int(deg.max())} inputs: the energy per update "
                    f"scaled linearly in inputs, (degree + 1) / ({int(fan_meas)} + 1) (an extrapolation of the "
                    "measured network; measure it at the array's fan-in for a simulated figure)")
        bias_term = EnergyTerm(
            "bias", float(np.mean(e_bias)), "cell update", "partial" if rescaled else "simulated",
            f"{ref}: fan-in {bn_prov.get('fan_in')} weighted-sum network, {how}",
            {k: bn_prov.get(k) for k in ("fan_in", "corner", "source", "n_tau")} | {"measured": meas})
        trim_term = EnergyTerm("trim", 0.0, "cell update", "included", "inside bias: the trim/field input is one "
                               "of the network's fan_in + 1 inputs (same ngspice run)", {})
    else:
        bias_term = EnergyTerm("bias", float(np.mean(e_bias)), "cell update", "assumed",
                               f"assumed: network parameters of {stats.source}, energy from C V^2 and G_sum V^2/4 "
                               "(no transistor-level run)", {})
        trim_term = EnergyTerm("trim", 0.0, "cell update", "assumed", "assumed: 0 J (no trim circuit)", {})
    if e_trim_cell is not None:  # taken out of rng above: always shown here, whatever the network's status
        ch = prov.get("characterization") or {}
        trim_term = EnergyTerm(
            "trim", e_trim_cell, "cell update", "simulated",
            f"ngspice characterization of `{cell}` (table sha256 {str(prov.get('table_sha256', '?'))[:12]}): the "
            "cell's own trim, the net energy its trim sources deliver per read (native_latch: its n-well trims, "
            "junction leakage; the trim DAC's codes are static); the network's trim/field input is inside bias",
            {"table_sha256": prov.get("table_sha256"), "n_sessions": len(ch.get("sessions") or [])})
    terms += [bias_term, trim_term]

    # the per-die supply / well generator, amortized per cell per read
    sup = prov.get("supply") if isinstance(prov.get("supply"), dict) else None
    if sup:
        terms.append(_supply_term(sup))

    # readout
    ro = per.get("readout") if isinstance(per.get("readout"), dict) else None
    if stats.sample_period_s > 0:
        terms.append(EnergyTerm("readout", 0.0, "cell update", "included", "inside rng: the clocked cell's own "
                                "decision is the read (its clock and output loads are in its characterization)", {}))
    elif ro:
        idle_s = max(t_half - 1.0 / float(ro.get("f_clk_Hz") or np.inf), 0.0)
        e_ro = float(ro["energy_per_read_J"]) + float(ro.get("idle_power_W", 0.0)) * idle_s
        terms.append(EnergyTerm(
            "readout", e_ro, "cell update", "simulated",
            f"{_run_ref(ro.get('source', {}))}: StrongARM comparator, {float(ro['energy_per_read_J']):.3g} J per "
            f"decision (supply + clock pins) + its reset-phase power {float(ro.get('idle_power_W', 0.0)):.3g} W over "
            f"the {idle_s:.3g} s between reads; simulated at 0.9 V input common mode", ro.get("source", {})))
    else:
        terms.append(EnergyTerm("readout", 0.0, "cell update", "assumed", "assumed: 0 J — a free-running cell "
                                "needs a comparator to be read once per update; not simulated", {}))

    # clock distribution
    if ck:
        e_clock = float(ck["energy_per_cell_J"]) + (float(ck.get("pin_energy_per_cell_J", 0.0)) if pins else 0.0)
        terms.append(EnergyTerm(
            "clock", e_clock, "cell update", "simulated",
            f"{_run_ref(ck.get('source', {}))}: {ck.get('n_rows')}x{ck.get('n_cols')} comb tree at "
            f"{ck.get('vdd_V', '?')} V, leaves {ck.get('pitch_um')} um apart (one tree per colour class), "
            + ("supply energy incl. the cell's clock-input gates at the tree's voltage (their drive at the cell's "
               "own clock level is taken out of rng)" if pins else
               "supply energy minus the clock pins' own charge x V (counted by the cell's characterization)"),
            ck.get("source", {})))
    else:
        e_clock = stats.clock_energy_J
        terms.append(EnergyTerm("clock", e_clock, "cell update", "assumed",
                                f"assumed: clock_energy_J = {e_clock:.3g} J of {stats.source} (no clock tree simulated)",
                                {}))

    # wires to the neighbours
    fold = fold_factor if fold_factor is not None else (2.0 if graph.box_m is not None else 1.0)
    L = graph.edge_lengths_m() * fold
    per_cell_len = np.bincount(graph.edges[:, 0], weights=L, minlength=graph.n_nodes) + np.bincount(
        graph.edges[:, 1], weights=L, minlength=graph.n_nodes)
    wm = per.get("wire") if isinstance(per.get("wire"), dict) else None
    if wm:
        wire = activity * 0.5 * (float(wm["fixed_J"]) + float(wm["per_um_J"]) * per_cell_len * 1e6)
        srcs = wm.get("sources") or [{}]
        terms.append(EnergyTerm(
            "wire", float(np.mean(wire)), "cell update", "simulated",
            f"{_run_ref(srcs[0])} at {len(srcs)} lengths: output driver + {wm.get('layer', {}).get('name', 'wire')} "
            f"+ {wm.get('n_loads')} receiver gates, E = {float(wm['fixed_J']):.3g} J + {float(wm['per_um_J']):.3g} "
            "J/um per cycle, times activity / 2", {"sources": srcs, "layer": wm.get("layer")}))
        wire_assume = {"wire_fixed_J_per_cycle": float(wm["fixed_J"]), "wire_J_per_um_per_cycle": float(wm["per_um_J"])}
    else:
        wire = activity * 0.5 * stats.wire_cap_F_per_m * stats.wire_vdd_V**2 * per_cell_len
        terms.append(EnergyTerm("wire", float(np.mean(wire)), "cell update", "assumed",
                                f"assumed: 1/2 C' V^2 per transition with C' = {stats.wire_cap_F_per_m * 1e9:.3g} fF/um "
                                f"(DTM paper's 0.2-0.35 fF/um) and V = {stats.wire_vdd_V:g} V", {}))
        wire_assume = {"wire_cap_F_per_m": stats.wire_cap_F_per_m, "wire_vdd_V": stats.wire_vdd_V}

    # I/O per access
    io: dict[str, float | None] = {"io_write": None, "io_read": None}
    for name in io:
        m = per.get(name) if isinstance(per.get(name), dict) else None
        if m:
            io[name] = float(m["energy_per_access_J"])
            terms.append(EnergyTerm(
                name, io[name], "access", "simulated",
                f"{_run_ref(m.get('source', {}))}: bit line {m.get('length_um'):.4g} um with {m.get('n_cells')} "
                f"cells + word line, {'periphery driver -> cell clamp latch' if name == 'io_write' else 'cell read buffer -> periphery receiver'}, "
                "bit toggling at every access (worst case)", m.get("source", {})))

    per_update = [t for t in terms if t.per == "cell update"]
    # every per-update term once: bias and wire per cell (arrays), the others scalars
    e_cell = e_bias + wire + sum(t.energy_J for t in per_update if t.name not in ("bias", "wire"))
    mean_cell = float(np.mean(e_cell))
    t_sweep = graph.n_colors * t_half
    return Ledger(
        n_nodes=graph.n_nodes, n_colors=graph.n_colors, n_sweeps_per_sample=int(n_sweeps_per_sample),
        rng_J=float(e_rng), bias_J=float(np.mean(e_bias)), clock_J=float(e_clock),
        wire_J=float(np.mean(wire)), wire_J_per_cell=wire, energy_per_update_J=mean_cell,
        energy_per_sweep_J=graph.n_nodes * mean_cell,
        energy_per_sample_J=graph.n_nodes * mean_cell * n_sweeps_per_sample,
        time_per_update_s=t_half, time_per_sweep_s=t_sweep, time_per_sample_s=t_sweep * n_sweeps_per_sample,
        limited_by=limit,
        assumptions={"activity": activity, "p_one": p_one, "telegraph_lambda": lam, "fold_factor": fold,
                     **wire_assume, "mean_wire_length_per_cell_m": float(np.mean(per_cell_len)),
                     "bias_settling_s": settle, "settle_n_tau": settle_n_tau, "update_interval_s": t_upd,
                     "bias_static_included": include_bias_static, "source": stats.source},
        readout_J=float(sum(t.energy_J for t in per_update if t.name == "readout")),
        trim_J=float(sum(t.energy_J for t in per_update if t.name == "trim")),
        supply_J=float(sum(t.energy_J for t in per_update if t.name == "supply")),
        io_write_J=io["io_write"], io_read_J=io["io_read"], terms=tuple(terms),
    )
