"""p-bit cells as parametrized netlists, and the cell registry.

Netlists are rendered by pure functions (tested as text in ``tests/circuits/test_cells.py``); running
them goes through :func:`pbitkit.circuits.ngspice.run`. Two p-bit cells are registered:

``latch``
    Subthreshold cross-coupled latch (all-transistor style; SPICE_NOTES "Two p-bit cells that worked").
    Two CMOS inverters (nFET ``wn/ln``, pFET ``wp/lp``) at a supply of ~0.1 V, so that the two states sit
    only a few kT/C apart and the devices' own channel noise makes the latch wander between them. The
    bias **voltage** enters through a large input resistor ``rin_Ohm`` into ``q`` (a voltage-to-current
    converter: ``I_b = (bias_V - V_q)/R_in``); a matched resistor from ``ref_V`` into ``qb`` keeps the
    cell symmetric. The output bit is ``V_q > V_qb``; channel noise of the four FETs is injected at
    ``q`` and ``qb`` with the PSD computed *inside the session* from the operating point at the
    metastable point (``2 q I coth(V_DS/2U_T)`` per FET, see :mod:`pbitkit.circuits.noise`).
``strongarm``
    StrongARM clocked comparator at 1.8 V sampling amplified resistor thermal noise (``4 k T R`` of
    ``r_noise_Ohm`` times ``noise_gain``, single-pole low pass ``f_noise_Hz``) added to its + input; the
    differential input is ``bias_V``. One output bit per clock period.

Testbenches (not p-bits): :func:`render_inverter_tb` (switching energy vs C V^2) and
:func:`render_bias_network_tb` (resistive weighted-sum network: settling time and energy vs fan-in,
REFERENCE §2).

The Cell protocol (used by the characterization orchestrator, documented in ``docs/contracts.md``)::

    cell = get_cell("latch")
    jobs = cell.jobs(points, library=lib_for)   # SweepPoints -> SimJobs (one session per group)
    rows = cell.rows(job, result)               # (SimJob, SimResult) -> list of table rows (dicts)
"""

from __future__ import annotations

import abc
import dataclasses
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bits import BITS_KEY, encode_bits
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, SimResult, filesource_model, write_command
from pbitkit.circuits.noise import (
    Q_E,
    point_seed_sequence,
    resistor_voltage_psd,
    session_noise_files,
    sigma_for_psd,
)
from pbitkit.constants import ZERO_CELSIUS_K, thermal_voltage
from pbitkit.errors import ConfigError

__all__ = [
    "SweepPoint",
    "Cell",
    "LatchCell",
    "StrongArmCell",
    "get_cell",
    "list_cells",
    "mos",
    "op_vector",
    "render_latch",
    "render_strongarm",
    "render_inverter_tb",
    "render_bias_network_tb",
    "render_noise_node_tb",
    "bias_network_point",
    "reference_netlists",
    "TABLE_COLUMNS",
]

log = logging.getLogger(__name__)

#: Columns of the characterization table (docs/contracts.md), in order; ``param_*`` columns follow.
TABLE_COLUMNS: tuple[str, ...] = (
    "cell", "tier", "corner", "mc_seed", "temp_C", "vdd_V", "bias_V", "n_samples", "n_ones", "p1",
    "p1_lo", "p1_hi", "n_eff", "tau_corr_s", "flip_rate_Hz", "rate_up_Hz", "rate_down_Hz",
    "mean_dwell_high_s", "mean_dwell_low_s", "energy_per_bit_J", "energy_per_flip_J", "static_power_W",
    "dynamic_energy_per_bit_J", "sample_period_s", "sim_time_s", "cpu_time_s", "status", "error",
)


# --------------------------------------------------------------------------------------------------
# devices


def mos(lib: ModelLibrary, name: str, d: str, g: str, s: str, b: str, kind: Literal["n", "p"],
        w_um: float, l_um: float) -> str:
    """One MOSFET instance line for ``lib`` (sky130 subcircuit ``X...`` in µm, generic ``M...`` in m)."""
    if w_um <= 0 or l_um <= 0:
        raise ConfigError(f"transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
    model = lib.nfet if kind == "n" else lib.pfet
    if lib.instance_prefix == "X":
        return f"X{name} {d} {g} {s} {b} {model} w={w_um:g} l={l_um:g}"
    return f"M{name} {d} {g} {s} {b} {model} W={w_um:g}u L={l_um:g}u"


def op_vector(lib: ModelLibrary, name: str, kind: Literal["n", "p"], quantity: str) -> str:
    """The ngspice vector of an operating-point quantity (``id``, ``gm``, ``gds``, ``vds``, ``cgg``...)."""
    model = lib.nfet if kind == "n" else lib.pfet
    if lib.instance_prefix == "X":
        return f"@m.x{name.lower()}.m{model}[{quantity}]"
    return f"@m{name.lower()}[{quantity}]"


def _fmt(x: float) -> str:
    return f"{x:.9g}"


# --------------------------------------------------------------------------------------------------
# sweep points


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One point of a characterization sweep.

    ``vdd_V=None`` takes the cell's default supply; ``params`` override the cell's default parameters
    (unknown names raise). ``mc_seed=-1`` is the nominal device (no mismatch). ``tier`` is
    ``"transient"`` (measured) or ``"predicted"`` (see ``predict.py``).

    Noise: every transient point gets its own noise realization, seeded by
    :meth:`noise_seed_sequence` from ``noise_seed`` *and* the point's identity (device, conditions,
    parameters, tier, ``bias_V``, ``replica``), so the points of a sweep have independent noise and a row
    does not depend on how points are grouped into sessions. ``replica`` (default 0) tells apart repeated
    points at the same bias (independent repeats; it is the row's ``noise_replica`` column).
    """

    cell: str
    bias_V: float
    corner: str = "tt"
    mc_seed: int = -1
    temp_C: float = 27.0
    vdd_V: float | None = None
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    noise_seed: int = 0
    tier: Literal["transient", "predicted"] = "transient"
    replica: int = 0

    def __post_init__(self) -> None:
        if self.tier not in ("transient", "predicted"):
            raise ConfigError(f"SweepPoint.tier must be 'transient' or 'predicted', got {self.tier!r}")
        if not isinstance(self.mc_seed, int) or self.mc_seed < -1:
            raise ConfigError(f"SweepPoint.mc_seed must be an int >= -1, got {self.mc_seed!r}")
        if not isinstance(self.noise_seed, int) or self.noise_seed < 0:
            raise ConfigError(f"SweepPoint.noise_seed must be an int >= 0, got {self.noise_seed!r}")
        if not isinstance(self.replica, int) or self.replica < 0:
            raise ConfigError(f"SweepPoint.replica must be an int >= 0, got {self.replica!r}")
        if not -ZERO_CELSIUS_K < self.temp_C < 200:
            raise ConfigError(f"SweepPoint.temp_C out of range: {self.temp_C}")
        object.__setattr__(self, "params", dict(self.params))

    def group_key(self) -> tuple:
        """Points with equal keys share one ngspice session (they differ only in ``bias_V``)."""
        return (self.cell, self.corner, self.mc_seed, self.temp_C, self.vdd_V,
                tuple(sorted(self.params.items())), self.noise_seed, self.tier)

    def noise_identity(self) -> str:
        """Canonical text of what makes this point distinct, apart from ``noise_seed`` (JSON, sorted
        keys, floats as ``repr``): cell, corner, mc_seed, temp_C, vdd_V, params, tier, bias_V, replica."""
        return json.dumps({"cell": self.cell, "corner": self.corner, "mc_seed": self.mc_seed,
                           "temp_C": repr(float(self.temp_C)),
                           "vdd_V": None if self.vdd_V is None else repr(float(self.vdd_V)),
                           "params": {k: repr(float(v)) for k, v in sorted(self.params.items())},
                           "tier": self.tier, "bias_V": repr(float(self.bias_V)), "replica": self.replica},
                          sort_keys=True)

    def noise_seed_sequence(self) -> np.random.SeedSequence:
        """This point's own noise seed: :func:`pbitkit.circuits.noise.point_seed_sequence` of
        ``noise_seed`` and :meth:`noise_identity`."""
        return point_seed_sequence(self.noise_seed, self.noise_identity())


LibraryFactory = Callable[[str, bool], ModelLibrary]


def _default_library(corner: str, mismatch: bool) -> ModelLibrary:
    return get_library("sky130", corner, mismatch=mismatch)


# --------------------------------------------------------------------------------------------------
# netlist renderers (pure)


def render_latch(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                 bias_V: float, mc_seed: int = -1, noise: bool = True) -> str:
    """The latch cell's circuit (no analysis). Nodes: ``q``, ``qb``, ``vdd``, ``bias``, ``ref``.

    Sources: ``Vdd`` (supply, its current is the cell's supply current), ``Vb`` (bias), ``Vr``
    (reference). With ``noise``, current-noise sources ``Gnq``/``Gnqb`` (gain = sigma in A per unit file
    sample, set later with ``alter``) read ``noise_q.txt``/``noise_qb.txt``.
    """
    lines = [
        f"* pbitkit latch p-bit cell ({lib.source})",
        lib.include_line,
    ]
    lines += _mismatch_seed_lines(lib, mc_seed)
    lines += [
        f".temp {_fmt(temp_C)}",
        f"Vdd vdd 0 {_fmt(vdd_V)}",
        f"Vb bias 0 {_fmt(bias_V)}",
        f"Vr ref 0 {_fmt(p['ref_V'])}",
        mos(lib, "N1", "q", "qb", "0", "0", "n", p["wn_um"], p["ln_um"]),
        mos(lib, "P1", "q", "qb", "vdd", "vdd", "p", p["wp_um"], p["lp_um"]),
        mos(lib, "N2", "qb", "q", "0", "0", "n", p["wn_um"], p["ln_um"]),
        mos(lib, "P2", "qb", "q", "vdd", "vdd", "p", p["wp_um"], p["lp_um"]),
        f"Rin bias q {_fmt(p['rin_Ohm'])}",
        f"Rref ref qb {_fmt(p['rin_Ohm'])}",
    ]
    if p["c_node_F"] > 0:  # extra node capacitance (default 0: the FETs' own capacitances only)
        lines += [f"Cq q 0 {_fmt(p['c_node_F'])}", f"Cqb qb 0 {_fmt(p['c_node_F'])}"]
    if p.get("readout", 0.0):
        lr = p["readout_l_um"]
        lines += [
            "* readout: pFET-input differential pair + nFET mirror, nFET common-source second stage with",
            "* a pFET current-source load, inverter; continuous, its own supply Vddr (out high <=> q > qb)",
            f"Vddr vddr 0 {_fmt(p['readout_vdd_V'])}",
            f"Vbpr vbpr 0 {_fmt(p['readout_vbp_V'])}",
            mos(lib, "RT", "rtail", "vbpr", "vddr", "vddr", "p", 1.0, lr),
            mos(lib, "RA", "ro1", "q", "rtail", "vddr", "p", 1.0, lr),
            mos(lib, "RB", "ro2", "qb", "rtail", "vddr", "p", 1.0, lr),
            mos(lib, "RMA", "ro1", "ro1", "0", "0", "n", 0.5, lr),
            mos(lib, "RMB", "ro2", "ro1", "0", "0", "n", 0.5, lr),
            mos(lib, "RL", "ro3", "vbpr", "vddr", "vddr", "p", 0.5, lr),
            mos(lib, "RN", "ro3", "ro2", "0", "0", "n", 0.5, lr),
            mos(lib, "RIP", "out", "ro3", "vddr", "vddr", "p", 0.42, 0.15),
            mos(lib, "RIN", "out", "ro3", "0", "0", "n", 0.42, 0.15),
        ]
    if noise:
        for node in ("q", "qb"):
            lines += [
                f"An{node} %vd([nz{node} 0]) fsn{node}",
                filesource_model(f"fsn{node}", f"noise_{node}.txt"),
                f"Rz{node} nz{node} 0 1G",
                f"Gn{node} 0 {node} nz{node} 0 0",
            ]
    return "\n".join(lines) + "\n"


def render_strongarm(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                     bias_V: float, mc_seed: int = -1, noise: bool = True,
                     bias_pwl: Sequence[tuple[float, float]] | None = None) -> str:
    """The StrongARM comparator cell (no analysis). Nodes ``inp``/``inn`` (differential input
    ``bias_V`` around ``vcm_V``), ``clk``, ``outp``/``outn``; ``outp > outn`` is a 1.

    Clock: low (reset: the four pFETs precharge ``outp``, ``outn``, ``x1``, ``x2`` to VDD) for the first
    half period, high (evaluate) for the second. Noise: ``Gnin`` drives unit-variance file samples times
    its gain into ``nf`` (``r_filt_Ohm || c_filt_F``, pole ``f_noise_Hz``); ``Enp`` adds ``v(nf)`` to the +
    input. ``bias_pwl`` (``[(t_s, V), ...]``) replaces the DC bias by a piecewise-linear waveform.
    """
    period = 1.0 / p["f_clk_Hz"]
    tr = p["t_edge_s"]
    lines = [
        f"* pbitkit StrongARM comparator p-bit cell ({lib.source})",
        lib.include_line,
    ]
    lines += _mismatch_seed_lines(lib, mc_seed)
    lines += [
        f".temp {_fmt(temp_C)}",
        f"Vdd vdd 0 {_fmt(vdd_V)}",
        f"Vclk clk 0 PULSE(0 {_fmt(vdd_V)} {_fmt(period / 2)} {_fmt(tr)} {_fmt(tr)} "
        f"{_fmt(period / 2 - tr)} {_fmt(period)})",
        (f"Vb bias 0 PWL({' '.join(f'{_fmt(t)} {_fmt(v)}' for t, v in bias_pwl)})" if bias_pwl
         else f"Vb bias 0 {_fmt(bias_V)}"),
        f"Vcm cm 0 {_fmt(p['vcm_V'])}",
        "Ebp bp cm bias 0 0.5",
        "Ebn inn cm bias 0 -0.5",
        "Enp inp bp nf 0 1",
        mos(lib, "T", "tail", "clk", "0", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "I1", "x1", "inp", "tail", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "I2", "x2", "inn", "tail", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "N1", "outn", "outp", "x1", "0", "n", p["w_latch_um"], p["l_um"]),
        mos(lib, "N2", "outp", "outn", "x2", "0", "n", p["w_latch_um"], p["l_um"]),
        mos(lib, "P1", "outn", "outp", "vdd", "vdd", "p", p["w_latch_um"], p["l_um"]),
        mos(lib, "P2", "outp", "outn", "vdd", "vdd", "p", p["w_latch_um"], p["l_um"]),
        mos(lib, "R1", "outn", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R2", "outp", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R3", "x1", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R4", "x2", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        f"CLp outp 0 {_fmt(p['c_load_F'])}",
        f"CLn outn 0 {_fmt(p['c_load_F'])}",
        f"Rf nf 0 {_fmt(p['r_filt_Ohm'])}",
        f"Cf nf 0 {_fmt(1.0 / (2 * math.pi * p['f_noise_Hz'] * p['r_filt_Ohm']))}",
    ]
    if noise:
        lines += [
            "Anin %vd([nzin 0]) fsnin",
            filesource_model("fsnin", "noise_in.txt"),
            "Rzin nzin 0 1G",
            "Gnin 0 nf nzin 0 0",
        ]
    return "\n".join(lines) + "\n"


def render_inverter_tb(lib: ModelLibrary, *, vdd_V: float = 1.8, c_load_F: float = 50e-15,
                       wn_um: float = 0.42, wp_um: float = 1.0, l_um: float = 0.15, period_s: float = 4e-9,
                       n_periods: int = 4, temp_C: float = 27.0) -> str:
    """CMOS inverter driving ``c_load_F``, input a square wave; ``.tran`` over ``n_periods``.

    Hand analysis: each low->high output transition draws ``C V^2`` from the supply (half stored on the
    capacitor, half dissipated in the pFET), plus short-circuit and internal-capacitance charge:
    ``E_cycle = (C_load + C_int) V^2 + E_sc``. Vectors: ``v(out)``, ``i(vdd)``.
    """
    tr = period_s / 40
    tstop = n_periods * period_s
    return "\n".join([
        f"* pbitkit inverter switching-energy testbench ({lib.source})",
        lib.include_line,
        f".temp {_fmt(temp_C)}",
        f"Vdd vdd 0 {_fmt(vdd_V)}",
        f"Vin in 0 PULSE(0 {_fmt(vdd_V)} {_fmt(period_s / 4)} {_fmt(tr)} {_fmt(tr)} {_fmt(period_s / 2 - tr)} "
        f"{_fmt(period_s)})",
        mos(lib, "N", "out", "in", "0", "0", "n", wn_um, l_um),
        mos(lib, "P", "out", "in", "vdd", "vdd", "p", wp_um, l_um),
        f"CL out 0 {_fmt(c_load_F)}",
        f".tran {_fmt(period_s / 2000)} {_fmt(tstop)} 0 {_fmt(period_s / 2000)}",
        ".end",
    ]) + "\n"


def render_bias_network_tb(lib: ModelLibrary, *, fan_in: int, weights: Sequence[float] | None = None,
                           states_before: Sequence[int] | None = None, states_after: Sequence[int] | None = None,
                           signs: Sequence[int] | None = None, vdd_V: float = 1.8, g_unit_S: float = 1e-6,
                           c_node_F: float = 2e-15, c_wire_F: float = 0.5e-15, t_step_s: float = 1e-9,
                           t_stop_s: float = 20e-9, temp_C: float = 27.0) -> str:
    """Resistive weighted-sum bias network with ``fan_in`` inputs driven by CMOS inverters.

    Input ``j`` is the neighbour state ``x_j`` XOR its sign bit, buffered by an inverter pair that drives
    ``V_dd y_j`` through a conductance ``G_j = g_unit_S |w_j|`` (REFERENCE §2) into the bias node ``b``
    (capacitance ``c_node_F``; each driver output has ``c_wire_F``). The states switch from
    ``states_before`` to ``states_after`` at ``t_step_s``. Settled value ``V_b = sum_j G_j V_dd y_j /
    sum_j G_j``, time constant ``c_node_F / sum_j G_j``. Vectors: ``v(b)``, ``i(vdd)``.
    """
    if fan_in < 1:
        raise ConfigError(f"bias network: fan_in must be >= 1, got {fan_in}")
    w = list(weights) if weights is not None else [1.0] * fan_in
    before = list(states_before) if states_before is not None else [0] * fan_in
    after = list(states_after) if states_after is not None else [1] * fan_in
    sg = list(signs) if signs is not None else [0] * fan_in
    for what, seq in (("weights", w), ("states_before", before), ("states_after", after), ("signs", sg)):
        if len(seq) != fan_in:
            raise ConfigError(f"bias network: {what} has {len(seq)} entries, fan_in is {fan_in}")
    lines = [
        f"* pbitkit bias (weighted-sum) network, fan-in {fan_in} ({lib.source})",
        lib.include_line,
        f".temp {_fmt(temp_C)}",
        f"Vdd vdd 0 {_fmt(vdd_V)}",
        f"Cb b 0 {_fmt(c_node_F)}",
    ]
    tr = 20e-12
    for j in range(fan_in):
        if w[j] == 0:
            continue
        y0 = before[j] ^ sg[j]
        y1 = after[j] ^ sg[j]
        # the digital input is the complement of y (the driver is an inverter pair: in -> m -> d)
        v0, v1 = (vdd_V if y0 else 0.0), (vdd_V if y1 else 0.0)
        lines += [
            f"Vin{j} in{j} 0 PWL(0 {_fmt(v0)} {_fmt(t_step_s)} {_fmt(v0)} {_fmt(t_step_s + tr)} {_fmt(v1)})",
            mos(lib, f"N{j}a", f"m{j}", f"in{j}", "0", "0", "n", 0.42, 0.15),
            mos(lib, f"P{j}a", f"m{j}", f"in{j}", "vdd", "vdd", "p", 1.0, 0.15),
            mos(lib, f"N{j}b", f"d{j}", f"m{j}", "0", "0", "n", 0.42, 0.15),
            mos(lib, f"P{j}b", f"d{j}", f"m{j}", "vdd", "vdd", "p", 1.0, 0.15),
            f"Cw{j} d{j} 0 {_fmt(c_wire_F)}",
            f"Rw{j} d{j} b {_fmt(1.0 / (g_unit_S * abs(w[j])))}",
        ]
    lines += [f".tran {_fmt(t_stop_s / 4000)} {_fmt(t_stop_s)}", ".end"]
    return "\n".join(lines) + "\n"


def render_noise_node_tb(lib: ModelLibrary, *, i_bias_A: float = 200e-12, w_um: float = 1.0, l_um: float = 0.5,
                         c_node_F: float = 10e-15, temp_C: float = 27.0, noise_gain: float | None = None,
                         analysis: str = "") -> str:
    """Noise-injection testbench: an ideal (noiseless) current ``i_bias_A`` into a diode-connected nFET
    at node ``q`` with ``c_node_F`` to ground.

    The node is linear for the injected noise (``sqrt(kT/C) << n U_T``); its small-signal conductance is
    the FET's ``g_m`` and its only noise source the FET's channel noise, so ngspice's ``.noise`` with the
    input ``Ib`` gives that noise as ``inoise`` (A/sqrt(Hz)) and the node's voltage noise as ``onoise``.
    With ``noise_gain`` (A per unit file sample) a ``filesource`` current noise (``noise_q.txt``) is added.
    ``analysis`` is appended verbatim (e.g. a ``.noise`` or a ``.control`` block).
    """
    lines = [
        f"* pbitkit noise-injection testbench ({lib.source})",
        lib.include_line,
        f".temp {_fmt(temp_C)}",
        f"Ib 0 q dc {_fmt(i_bias_A)} ac 1",
        mos(lib, "N1", "q", "q", "0", "0", "n", w_um, l_um),
        f"Cq q 0 {_fmt(c_node_F)}",
    ]
    if noise_gain is not None:
        lines += [
            "Anq %vd([nzq 0]) fsnq",
            filesource_model("fsnq", "noise_q.txt"),
            "Rzq nzq 0 1G",
            f"Gnq 0 q nzq 0 {noise_gain:.6e}",
        ]
    return "\n".join(lines) + "\n" + analysis + ("\n" if analysis else "") + ".end\n"


def bias_network_point(fan_in: int, *, g_unit_S: float = 1e-6, c_node_F: float = 2e-15, vdd_V: float = 1.8,
                       tol: float = 0.01, library: ModelLibrary | None = None, t_stop_s: float | None = None,
                       temp_C: float = 27.0) -> dict[str, float]:
    """Simulate the bias network with ``fan_in`` unit-weight inputs switching from all-0 to half-1 (the
    static-power worst case, REFERENCE §2) and measure it.

    Returns ``{"fan_in", "v_final_V", "v_expected_V", "settling_s", "tau_expected_s", "static_power_W",
    "energy_per_update_J", "cpu_time_s"}``: ``settling_s`` to within ``tol`` of the step (first-order
    expectation ``tau ln(1/tol)``, ``tau = c_node_F / (fan_in g_unit_S)``), static power with half the
    inputs high (``V_dd^2 G_sum / 4`` ideally) and the dynamic energy of the update
    (supply energy after the step minus the settled static power times that time).
    """
    from pbitkit.circuits.ngspice import run

    lib = library or get_library("sky130", "tt")
    after = [1] * max(1, fan_in // 2) + [0] * (fan_in - max(1, fan_in // 2))
    tau = c_node_F / (fan_in * g_unit_S)
    t_step = 1e-9
    t_stop = t_stop_s if t_stop_s is not None else t_step + max(12 * tau, 5e-9)
    net = render_bias_network_tb(lib, fan_in=fan_in, states_after=after, vdd_V=vdd_V, g_unit_S=g_unit_S,
                                 c_node_F=c_node_F, t_step_s=t_step, t_stop_s=t_stop, temp_C=temp_C)
    res = run(SimJob(netlist=net, vectors=("v(b)", "i(vdd)"), label=f"bias network fan-in {fan_in}"))
    t = res.vector("time")
    vb = res.vector("v(b)")
    i = -res.vector("i(vdd)")
    # static power after the update: mean supply power over the settled last 10 % of the record;
    # update energy: supply energy after the step in excess of that static power
    settled = t >= t[-1] - 0.1 * (t[-1] - t_step)
    p_static = vdd_V * float(np.mean(i[settled]))
    after_step = t >= t_step
    es = measure.energy_split(t[after_step], i[after_step], vdd_V)
    return {"fan_in": fan_in, "v_final_V": float(vb[-1]), "v_expected_V": vdd_V * sum(after) / fan_in,
            "settling_s": measure.settling_time(t, vb, t_step, tol), "tau_expected_s": tau,
            "static_power_W": p_static, "energy_per_update_J": es.energy_J - p_static * es.duration_s,
            "cpu_time_s": res.cpu_time_s}


# --------------------------------------------------------------------------------------------------
# cells


class Cell(abc.ABC):
    """A registered p-bit cell: defaults, netlist rendering, SweepPoints -> SimJobs -> table rows."""

    name: str = ""
    description: str = ""
    default_vdd_V: float = 1.8
    #: default parameters (SI units / µm in the names)
    defaults: Mapping[str, float] = {}

    def params(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Default parameters updated by ``overrides``; unknown names raise ``ConfigError``."""
        out = dict(self.defaults)
        for k, v in (overrides or {}).items():
            if k not in out:
                raise ConfigError(f"cell {self.name}: unknown parameter {k!r}; known: {sorted(out)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"cell {self.name}: parameter {k} must be a finite number, got {v!r}")
            out[k] = float(v)
        return out

    @abc.abstractmethod
    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        """Bias range (V) spanning P(1) ~ 0.02...0.98 for the nominal cell at its defaults."""
        ...

    def default_bias_points(self, n: int = 9, params: Mapping[str, float] | None = None) -> np.ndarray:
        lo, hi = self.default_bias_range(params)
        return np.linspace(lo, hi, n)

    # -- jobs -----------------------------------------------------------------------------------
    def jobs(self, points: Sequence[SweepPoint], library: LibraryFactory | None = None,
             timeout_s: float = 300.0) -> list[SimJob]:
        """One :class:`SimJob` per group of points that differ only in ``bias_V`` (one ngspice session
        loops over the bias values with ``alter``: models and mismatch draws are parsed once)."""
        library = library or _default_library
        groups: dict[tuple, list[SweepPoint]] = {}
        for pt in points:
            if pt.cell != self.name:
                raise ConfigError(f"SweepPoint for cell {pt.cell!r} given to cell {self.name!r}")
            groups.setdefault(pt.group_key(), []).append(pt)
        out = []
        for pts in groups.values():
            lib = library(pts[0].corner, pts[0].mc_seed >= 0)
            if pts[0].tier == "predicted":
                out.append(self._predicted_job(pts, lib, timeout_s))
            else:
                out.append(self._job(pts, lib, timeout_s))
        return out

    @abc.abstractmethod
    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        ...

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        raise ConfigError(f"cell {self.name} has no predicted tier; use tiers = ['transient']")

    def rows(self, job: SimJob, result: SimResult) -> list[dict[str, Any]]:
        """Table rows (docs/contracts.md columns + ``param_*``) for a finished job (either tier).

        Transient rows also carry their output bit sequences, encoded under the private key
        :data:`pbitkit.circuits.bits.BITS_KEY` (``characterize`` moves them into ``bits.npz``; it is never a
        table column)."""
        meta = _job_meta(job)
        if meta["tier"] == "predicted":
            rows = self._predicted_rows(meta, result)
        else:
            rows = self._transient_rows(meta, result)
        for r, rep in zip(rows, meta.get("replica", [0] * len(rows)), strict=True):
            r["noise_replica"] = rep
        return rows

    def _transient_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        raise TypeError(f"{type(self).__name__} must implement _transient_rows() or override rows()")

    def _predicted_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        raise ConfigError(f"cell {self.name} has no predicted tier; use tiers = ['transient']")

    def failed_rows(self, job: SimJob, status: str, error: str) -> list[dict[str, Any]]:
        """Rows marking every point of ``job`` as failed/timeout with ngspice's message."""
        meta = _job_meta(job)
        rows = []
        for b, rep in zip(meta["bias_V"], meta.get("replica", [0] * len(meta["bias_V"])), strict=True):
            r = _base_row(meta, b)
            r.update(status=status, error=error, noise_replica=rep)
            rows.append(r)
        return rows


def _job_meta(job: SimJob) -> dict[str, Any]:
    """The sweep-group metadata embedded in the job's label (JSON after ``'|'``)."""
    try:
        return json.loads(job.label.split("|", 1)[1])
    except (IndexError, json.JSONDecodeError) as exc:
        raise ConfigError(f"SimJob label {job.label!r} was not made by a pbitkit Cell") from exc


def _label(pts: list[SweepPoint], vdd: float, params: Mapping[str, float], **extra: Any) -> str:
    p0 = pts[0]
    meta = {"cell": p0.cell, "corner": p0.corner, "mc_seed": p0.mc_seed, "temp_C": p0.temp_C, "vdd_V": vdd,
            "noise_seed": p0.noise_seed, "tier": p0.tier, "bias_V": [pt.bias_V for pt in pts],
            "replica": [pt.replica for pt in pts],
            "params": dict(params), **extra}
    return f"{p0.cell} {p0.corner} mc{p0.mc_seed} {p0.temp_C:g}C {vdd:g}V n={len(pts)}|" + json.dumps(meta)


def _base_row(meta: Mapping[str, Any], bias: float) -> dict[str, Any]:
    row: dict[str, Any] = {c: math.nan for c in TABLE_COLUMNS}
    row.update(cell=meta["cell"], tier=meta["tier"], corner=meta["corner"], mc_seed=meta["mc_seed"],
               temp_C=meta["temp_C"], vdd_V=meta["vdd_V"], bias_V=bias, status="ok", error="")
    for k, v in meta["params"].items():
        row[f"param_{k}"] = v
    return row


class LatchCell(Cell):
    """Subthreshold cross-coupled latch with resistive voltage-bias input (see module docstring)."""

    name = "latch"
    description = "subthreshold cross-coupled latch, thermal/shot noise from its own FETs, bias via 1 TOhm"
    default_vdd_V = 0.085
    defaults = {
        "wn_um": 4.0, "ln_um": 0.15, "wp_um": 0.42, "lp_um": 0.15,
        "rin_Ohm": 1e12, "ref_V": 0.065, "c_node_F": 0.0,
        "noise_dt_s": 2e-6, "t_stop_s": 0.1, "sample_period_s": 10e-6, "hysteresis_V": 0.004,
        "noise_scale": 1.0,
        "readout": 0.0, "readout_vdd_V": 1.8, "readout_vbp_V": 1.3, "readout_l_um": 1.0,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        p = self.params(params)
        return (p["ref_V"] - 0.06, p["ref_V"] + 0.07)

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = pts[0].vdd_V if pts[0].vdd_V is not None else self.default_vdd_V
        temp = pts[0].temp_C
        circuit = render_latch(lib, p, vdd_V=vdd, temp_C=temp, bias_V=p["ref_V"], mc_seed=pts[0].mc_seed)
        dt = p["noise_dt_s"]
        n_steps = int(math.ceil(p["t_stop_s"] / dt))
        # each point its own noise (docs/cells.md, "Independent noise per point")
        files, pre = session_noise_files(["q", "qb"], [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        ut = thermal_voltage(temp)
        # channel noise PSD per node from the operating point at the metastable point (bias = ref):
        # S = sum over the node's two FETs of 2 q |I_D| coth(|V_DS| / 2 U_T)   (noise.channel_noise_psd)
        ctl = [".control", f"nodeset v(q)={_fmt(vdd * 0.75)} v(qb)={_fmt(vdd * 0.75)}", "op"]
        for node, (n_name, p_name) in (("q", ("N1", "P1")), ("qb", ("N2", "P2"))):
            terms = []
            for nm, kind in ((n_name, "n"), (p_name, "p")):
                i_v, v_v = op_vector(lib, nm, kind, "id"), op_vector(lib, nm, kind, "vds")
                terms.append(f"abs({i_v})/tanh(abs({v_v})/{_fmt(2 * ut)} + 1e-12)")
            ctl.append(f"let s_{node} = {_fmt(2 * Q_E)}*({' + '.join(terms)})*{_fmt(p['noise_scale'])}")
            ctl.append(f"let sig_{node} = sqrt(s_{node}/{_fmt(2 * dt)})")
            ctl.append(f"alter @gn{node}[gain] = $&sig_{node}")
        ctl.append(write_command(["v(q)", "v(qb)", "s_q", "s_qb", "i(vdd)"]))
        tran_vecs = ["v(q)", "v(qb)", "i(vdd)"] + (["v(out)", "i(vddr)"] if p["readout"] else [])
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_fmt(pt.bias_V)}",
                    f"tran {_fmt(dt)} {_fmt(p['t_stop_s'])} 0 {_fmt(dt)}",
                    write_command(tran_vecs)]
        ctl += [".endc", ".end"]
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=_label(pts, vdd, p))

    def _transient_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        p = meta["params"]
        op = result.plots[0]
        s_q = float(np.real(op["s_q"][0])) if "s_q" in op else math.nan
        rows = []
        for k, bias in enumerate(meta["bias_V"]):
            tr = result.plots[1 + k]
            row = _base_row(meta, bias)
            t = np.real(tr["time"])
            diff = np.real(tr["v(q)"] - tr["v(qb)"])
            ts = p["sample_period_s"]
            sampled = measure.sample_waveform(t, diff, ts)
            sign_bits = measure.binarize(sampled, 0.0)
            es = measure.energy_split(t, -np.real(tr["i(vdd)"]), meta["vdd_V"])
            if p["readout"]:
                # the digital output of the transistor-level readout is the bit; energy from both supplies
                out = measure.sample_waveform(t, np.real(tr["v(out)"]), ts)
                bits = (out > p["readout_vdd_V"] / 2).astype(np.uint8)
                row.update(_bit_stats(bits, ts))
                row[BITS_KEY] = encode_bits(bits, ts)
                es_r = measure.energy_split(t, -np.real(tr["i(vddr)"]), p["readout_vdd_V"])
                row["readout_agreement"] = float(np.mean(bits == sign_bits))
                row["core_static_power_W"] = es.static_power_W
                row["readout_power_W"] = es_r.energy_J / es_r.duration_s
                es = measure.EnergySplit(es.energy_J + es_r.energy_J, es.duration_s,
                                         es.static_power_W + es_r.static_power_W,
                                         es.dynamic_energy_J + es_r.dynamic_energy_J)
            else:
                # P(1) and tau from the sign of v(q) - v(qb); flips and dwells from a Schmitt trigger of
                # width hysteresis_V, so that sub-mV re-crossings of x = 0 are not counted as flips
                flip_bits = measure.binarize(sampled, 0.0, p["hysteresis_V"])
                row.update(_bit_stats(sign_bits, ts, flip_bits))
                row["flip_hysteresis_V"] = p["hysteresis_V"]
                row[BITS_KEY] = encode_bits(sign_bits, ts, flip_bits, p["hysteresis_V"])
            row.update(_energy_cols(es, row["n_samples"], row.get("_n_flips", 0)))
            row.pop("_n_flips", None)
            row.update(sample_period_s=ts, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta["bias_V"]), noise_psd_q_A2_Hz=s_q)
            rows.append(row)
        return rows

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = pts[0].vdd_V if pts[0].vdd_V is not None else self.default_vdd_V
        circuit = render_latch(lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=p["ref_V"],
                               mc_seed=pts[0].mc_seed, noise=False)
        circuit += "Vx q qb dc 0 ac 1\n"
        vecs = ["i(vdd)"] + [op_vector(lib, nm, k, q) for nm, k in _LATCH_FETS for q in ("id", "vds")]
        ctl = [".control", "ac lin 1 1e6 1e6", write_command(["i(vx)"]), "op", write_command(vecs),
               f"dc vx {_fmt(-vdd)} {_fmt(vdd)} {_fmt(vdd / 400)}", write_command(["i(vx)"]), ".endc", ".end"]
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s,
                      label=_label(pts, vdd, p, lib_nfet=lib.nfet, lib_pfet=lib.pfet,
                                   lib_prefix=lib.instance_prefix))

    def _predicted_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        from pbitkit.circuits.noise import channel_noise_psd
        from pbitkit.circuits.predict import stationary_p1, stationary_rates

        p = meta["params"]
        ac, op, dc = result.plots[0], result.plots[1], result.plots[2]
        c_diff = 2 * abs(float(np.imag(ac["i(vx)"][0]))) / (2 * math.pi * 1e6)
        opv = {k: float(np.real(v[0])) for k, v in op.items()}

        def val(name: str, kind: str, q: str) -> float:
            model = meta["lib_nfet"] if kind == "n" else meta["lib_pfet"]
            key = (f"@m.x{name.lower()}.m{model}[{q}]" if meta["lib_prefix"] == "X"
                   else f"@m{name.lower()}[{q}]").lower()
            if key not in opv:
                raise KeyError(f"{key} not in the operating point: {sorted(opv)}")
            return opv[key]

        s_x = sum(float(channel_noise_psd(val(nm, k, "id"), val(nm, k, "vds"), 0.0, meta["temp_C"]))
                  for nm, k in _LATCH_FETS) * p["noise_scale"]
        x = np.real(dc["v(v-sweep)"]) if "v(v-sweep)" in dc else np.real(next(iter(dc.values())))
        delta_i = 2 * np.real(dc["i(vx)"])
        biases = np.asarray(meta["bias_V"], dtype=float)
        p1 = stationary_p1(x, delta_i, c_diff, s_x, (biases - p["ref_V"]) / p["rin_Ohm"])
        p_static = meta["vdd_V"] * abs(opv.get("i(vdd)", math.nan))
        rows = []
        for b, pk in zip(biases, np.atleast_1d(p1)):
            row = _base_row(meta, float(b))
            ib = (float(b) - p["ref_V"]) / p["rin_Ohm"]
            r_up, r_down = stationary_rates(x, delta_i, c_diff, s_x, ib, max(p["hysteresis_V"], 2 * (x[1] - x[0])))
            if r_up + r_down > 0 and math.isfinite(r_up + r_down):
                flip = 2 * r_up * r_down / (r_up + r_down)
                row.update(rate_up_Hz=r_up, rate_down_Hz=r_down, flip_rate_Hz=flip,
                           mean_dwell_low_s=1 / r_up if r_up > 0 else math.inf,
                           mean_dwell_high_s=1 / r_down if r_down > 0 else math.inf,
                           tau_corr_s=1 / (r_up + r_down),
                           energy_per_flip_J=p_static / flip if flip > 0 else math.nan)
            row["flip_hysteresis_V"] = p["hysteresis_V"]
            row.update(p1=float(pk), static_power_W=p_static, sample_period_s=p["sample_period_s"],
                       energy_per_bit_J=p_static * p["sample_period_s"], dynamic_energy_per_bit_J=0.0,
                       cpu_time_s=result.cpu_time_s / len(biases), sim_time_s=0.0,
                       pred_c_diff_F=c_diff, pred_noise_psd_A2_Hz=s_x)
            rows.append(row)
        return rows


_LATCH_FETS = (("N1", "n"), ("P1", "p"), ("N2", "n"), ("P2", "p"))


def _bit_stats(bits: np.ndarray, ts: float, flip_bits: np.ndarray | None = None) -> dict[str, Any]:
    est = measure.p1_estimate(bits)
    ds = measure.dwell_stats(bits if flip_bits is None else flip_bits, ts)
    tau_s = est.tau_int * ts / 2 if math.isfinite(est.tau_int) else math.nan
    return dict(n_samples=est.n_samples, n_ones=est.n_ones, p1=est.p1, p1_lo=est.p1_lo, p1_hi=est.p1_hi,
                n_eff=est.n_eff, tau_corr_s=tau_s, flip_rate_Hz=ds.flip_rate_Hz, rate_up_Hz=ds.rate_up_Hz,
                rate_down_Hz=ds.rate_down_Hz, mean_dwell_high_s=ds.mean_dwell_high_s,
                mean_dwell_low_s=ds.mean_dwell_low_s, _n_flips=ds.n_flips)


def _mismatch_seed_lines(lib: ModelLibrary, mc_seed: int) -> list[str]:
    """The `.options seed` line of a mismatch instance (none for the nominal device, ``mc_seed < 0``).

    ngspice takes `.options seed=0` as "no seed" (draws differ run to run; measured), so mismatch seed k is
    rendered as seed=k+1.
    """
    return [lib.seed_line(mc_seed + 1)] if mc_seed >= 0 else []


def add_clock_energy(row: dict[str, Any], es: measure.EnergySplit, t: np.ndarray, i_clk: np.ndarray,
                     v_clk_V: float, n_bits: int) -> measure.EnergySplit:
    """Add a clock source's drive to a cell's supply energy ``es`` (J over the record).

    The clock energy is the charge the clock source delivers times ``v_clk_V`` (what a CMOS clock buffer
    would draw from its supply), counted as dynamic energy: ``E_clk = V_clk * integral max(-i_clk, 0) dt``.
    Writes ``supply_energy_per_bit_J`` and ``clock_energy_per_bit_J`` into ``row``; returns the combined split.
    """
    e_clk = v_clk_V * float(np.trapezoid(np.maximum(-np.real(i_clk), 0.0), t))
    row["supply_energy_per_bit_J"] = es.energy_J / n_bits
    row["clock_energy_per_bit_J"] = e_clk / n_bits
    return measure.EnergySplit(es.energy_J + e_clk, es.duration_s, es.static_power_W, es.dynamic_energy_J + e_clk)


def _energy_cols(es: measure.EnergySplit, n_bits: int, n_flips: int) -> dict[str, float]:
    return dict(energy_per_bit_J=es.energy_J / n_bits if n_bits else math.nan,
                energy_per_flip_J=es.energy_J / n_flips if n_flips else math.nan,
                static_power_W=es.static_power_W,
                dynamic_energy_per_bit_J=es.dynamic_energy_J / n_bits if n_bits else math.nan)


class StrongArmCell(Cell):
    """StrongARM clocked comparator sampling amplified resistor thermal noise (see module docstring)."""

    name = "strongarm"
    description = "StrongARM clocked comparator, 1.8 V, amplified 4kTR noise on the + input"
    default_vdd_V = 1.8
    defaults = {
        "w_in_um": 2.0, "w_latch_um": 1.0, "w_reset_um": 1.0, "l_um": 0.15, "c_load_F": 2e-15,
        "vcm_V": 0.9, "f_clk_Hz": 100e6, "t_edge_s": 50e-12,
        "r_noise_Ohm": 1e4, "noise_gain": 100.0, "f_noise_Hz": 50e6, "r_filt_Ohm": 1e3,
        "n_samples": 400, "read_phase": 0.95, "stair_steps": 161, "stair_span_sigma": 8.0,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        from pbitkit.circuits.predict import amplified_noise_rms

        p = self.params(params)
        s = amplified_noise_rms(p, 27.0)
        return (-2.2 * s, 2.2 * s)

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = pts[0].vdd_V if pts[0].vdd_V is not None else self.default_vdd_V
        temp = pts[0].temp_C
        circuit = render_strongarm(lib, p, vdd_V=vdd, temp_C=temp, bias_V=0.0, mc_seed=pts[0].mc_seed)
        period = 1.0 / p["f_clk_Hz"]
        t_stop = int(p["n_samples"]) * period
        dt = 1.0 / (2 * math.pi * p["f_noise_Hz"]) / 6  # <= tau/5 of the noise filter
        n_steps = int(math.ceil(t_stop / dt))
        files, pre = session_noise_files(["in"], [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        # S_v = 4 k T R A^2 at the filter node -> current PSD S_v / R_f^2 into R_f || C_f
        s_i = resistor_voltage_psd(p["r_noise_Ohm"], temp) * p["noise_gain"] ** 2 / p["r_filt_Ohm"] ** 2
        sig = sigma_for_psd(s_i, dt)
        ctl = [".control", f"alter @gnin[gain] = {sig:.6e}"]
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_fmt(pt.bias_V)}",
                    f"tran {_fmt(dt)} {_fmt(t_stop)} 0 {_fmt(dt)}",
                    write_command(["v(outp)", "v(outn)", "i(vdd)", "v(nf)", "i(vclk)"])]
        ctl += [".endc", ".end"]
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=_label(pts, vdd, p))

    def _transient_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        p = meta["params"]
        period = 1.0 / p["f_clk_Hz"]
        rows = []
        for k, bias in enumerate(meta["bias_V"]):
            tr = result.plots[k]
            row = _base_row(meta, bias)
            t = np.real(tr["time"])
            diff = np.real(tr["v(outp)"] - tr["v(outn)"])
            n = int(p["n_samples"])
            tk = (np.arange(n) + p["read_phase"]) * period
            bits = (np.interp(tk, t, diff) > 0).astype(np.uint8)
            row.update(_bit_stats(bits, period))
            row[BITS_KEY] = encode_bits(bits, period)
            es = measure.energy_split(t, -np.real(tr["i(vdd)"]), meta["vdd_V"])
            n_bits = row["n_samples"]
            es = add_clock_energy(row, es, t, tr["i(vclk)"], meta["vdd_V"], n_bits)
            row.update(_energy_cols(es, n_bits, row.get("_n_flips", 0)))
            row.pop("_n_flips", None)
            row.update(sample_period_s=period, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta["bias_V"]),
                       noise_rms_V=float(np.std(np.real(tr["v(nf)"]))))
            rows.append(row)
        return rows

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        from pbitkit.circuits.predict import amplified_noise_rms

        p = self.params(pts[0].params)
        vdd = pts[0].vdd_V if pts[0].vdd_V is not None else self.default_vdd_V
        period = 1.0 / p["f_clk_Hz"]
        sigma = amplified_noise_rms(p, pts[0].temp_C)
        span = p["stair_span_sigma"] * sigma
        steps = np.linspace(-span, span, int(p["stair_steps"]))
        # one bias value per clock cycle, changed early in the reset phase (clock low)
        pwl: list[tuple[float, float]] = [(0.0, float(steps[0]))]
        for k in range(1, steps.size):
            pwl += [(k * period + 0.05 * period, float(steps[k - 1])), (k * period + 0.1 * period, float(steps[k]))]
        circuit = render_strongarm(lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=0.0, mc_seed=pts[0].mc_seed,
                                   noise=False, bias_pwl=pwl)
        t_stop = steps.size * period
        ctl = [".control", f"tran {_fmt(period / 200)} {_fmt(t_stop)}", write_command(["v(outp)", "v(outn)"]),
               ".endc", ".end"]
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s,
                      label=_label(pts, vdd, p, stair=steps.tolist(), sigma_V=sigma))

    def _predicted_rows(self, meta: Mapping[str, Any], result: SimResult) -> list[dict[str, Any]]:
        from pbitkit.circuits.predict import probit_p1, threshold_from_staircase

        p = meta["params"]
        period = 1.0 / p["f_clk_Hz"]
        tr = result.plots[0]
        t = np.real(tr["time"])
        diff = np.real(tr["v(outp)"] - tr["v(outn)"])
        steps = np.asarray(meta["stair"])
        tk = (np.arange(steps.size) + p["read_phase"]) * period
        bits = (np.interp(tk, t, diff) > 0).astype(np.uint8)
        v0 = threshold_from_staircase(steps, bits)
        sigma = float(meta["sigma_V"])
        biases = np.asarray(meta["bias_V"], dtype=float)
        rows = []
        for b in biases:
            row = _base_row(meta, float(b))
            row.update(p1=float(probit_p1(b, v0, sigma)) if math.isfinite(v0) else math.nan,
                       sample_period_s=period, cpu_time_s=result.cpu_time_s / len(biases), sim_time_s=0.0,
                       pred_v0_V=v0, pred_sigma_V=sigma, tau_corr_s=period / 2)
            if not math.isfinite(v0):
                row.update(status="failed", error="decision threshold outside the predicted-tier staircase")
            rows.append(row)
        return rows


_REGISTRY: dict[str, Cell] = {c.name: c for c in (LatchCell(), StrongArmCell())}


def list_cells() -> list[str]:
    """Names of the built-in cells and of the netlist cells found in ``netlists/cells`` and ``$PBITKIT_CELLS``
    (:mod:`pbitkit.circuits.netlist_cell`)."""
    from pbitkit.circuits.netlist_cell import discover

    return sorted(set(_REGISTRY) | set(discover()))


def get_cell(name: str) -> Cell:
    """The cell ``name``: built-in, else a netlist cell (``NAME.cir`` + ``NAME.toml``, see
    :mod:`pbitkit.circuits.netlist_cell`); an unknown name raises ``ConfigError`` listing the known ones."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    from pbitkit.circuits.netlist_cell import discover, load_netlist_cell

    path = discover().get(name)
    if path is None:
        raise ConfigError(f"unknown cell {name!r}; known cells: {list_cells()}")
    return load_netlist_cell(path)


# --------------------------------------------------------------------------------------------------
# reference netlists shipped in netlists/cells and netlists/testbenches


def _reference_library() -> ModelLibrary:
    from pathlib import Path

    return ModelLibrary(name="sky130", version="(see provenance)", corner="tt", mismatch=False,
                        include_line='.include "SKY130_SLIM_LIBRARY"  $ pbitkit.circuits.models.sky130_library()',
                        nfet="sky130_fd_pr__nfet_01v8", pfet="sky130_fd_pr__pfet_01v8", instance_prefix="X",
                        path=Path("SKY130_SLIM_LIBRARY"), files={})


def reference_netlists() -> dict[str, str]:
    """The cells and testbenches rendered at their defaults (nominal tt, 27 °C), keyed by their path
    under ``netlists/``. They are documentation: what pbitkit simulates, readable without Python. The
    model include is a placeholder (the slim library lives in the cache); ``test_cells.py`` checks that
    the shipped files equal this rendering."""
    lib = _reference_library()
    latch, sa = get_cell("latch"), get_cell("strongarm")
    head = "* generated by pbitkit.circuits.cells.reference_netlists(); do not edit (rendered from Python)\n"
    return {
        "cells/latch.cir": head + render_latch(lib, latch.params(), vdd_V=latch.default_vdd_V, temp_C=27.0,
                                               bias_V=latch.params()["ref_V"]) + ".end\n",
        "cells/strongarm.cir": head + render_strongarm(lib, sa.params(), vdd_V=sa.default_vdd_V, temp_C=27.0,
                                                       bias_V=0.0) + ".end\n",
        "testbenches/inverter_energy.cir": head + render_inverter_tb(lib),
        "testbenches/bias_network_fanin4.cir": head + render_bias_network_tb(lib, fan_in=4,
                                                                             states_after=[1, 1, 0, 0]),
        "testbenches/noise_node.cir": head + render_noise_node_tb(lib, noise_gain=1e-15),
    }
