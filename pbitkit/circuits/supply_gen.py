"""Per-die core-supply and n-well generator of a ``native_latch`` array (transistor level).

The ``native_latch`` core runs ~1–2 mV above its latch's bifurcation, and that supply moves by tens of mV
between process corners and with temperature: a fixed core supply works at a few corners only. Each die
therefore sets its core supply (and, where the supply alone cannot make the core bistable, the common
n-well of the core pFETs) with a code chosen by the calibration in
:mod:`pbitkit.circuits.native_latch_cal`. This module is the circuit that turns those codes into volts.

Schematic (sky130; W/L in µm; every element a transistor or an explicit capacitor; the rails and the code
bits are port sources):

* **String DAC** — ``2**bits`` (128) steps of ``ladder_units`` (4) identical native ``nfet_03v3_nvt`` units
  (``ladder_w_um/ladder_l_um``, gates at the logic rail ``vhi`` = 1.8 V, so each is a triode MOS resistor) in
  series from ground to the reference rail ``vref`` (0.45 V); the string drives only a gate, so its current
  (≈ 0.1 µA with 4 units per step) buys nothing but settling, and more units per step cut it without moving
  the taps; tap ``k`` sits at ≈ ``k/2**bits · vref`` (a string DAC is monotonic by
  construction; the units' on-resistance grows towards the top, where their V_GS is lower, which bends the
  transfer a few per cent — see :func:`ladder_hand_V`).
* **Tap selection** — a binary tree of low-Vt ``pfet_01v8_lvt`` pass switches (``switch_w_um/switch_l_um``,
  n-wells at ``vref``), one level per code bit, on with their gate at 0 and off with it at ``vhi`` (ports
  ``b<i>``/``bn<i>``: the code register's outputs). Native nFET switches do not turn off with 0 V on their
  gates (at ff their leakage made the taps non-monotonic). The tree carries no DC current (it drives a
  gate), so the tap voltage reaches the follower's gate ``g`` undisturbed. Only native and low-Vt pFET
  devices are used: ngspice copies a sky130 device's every model bin per instance, and the standard
  ``nfet_01v8`` has 180 bins (a 9-bit version with it took 7.8 GB), the native 9 and the low-Vt pFET 48.
* **Follower** — native ``nfet_03v3_nvt`` source follower (``follower_w_um/follower_l_um``, one unit per
  cell, ``m = n_cells``) from its drain rail ``vin`` (``v_in_V``, default 0.16 V) to the core supply
  ``vcore``, with an explicit decoupling capacitor of ``c_out_per_cell_F`` per cell. The drain rail is the
  generator's main cost (its drop-out ``(V_in - V_core) I`` per cell): it only needs to stay a few ``U_T``
  above the core supply for the follower to regulate (``I ∝ 1 - exp(-V_DS / U_T)``: the core supply follows
  the rail by ≈ ``exp(-V_DS / U_T)``), so the default is the lowest rail of :data:`FOLLOWER_RAILS` with
  :data:`FOLLOWER_HEADROOM_UT` thermal voltages over the tt / 27 °C core supply (120-124 mV);
  :func:`follower_rail` picks the rail for another die's supply. In subthreshold the follower's
  V_GS shifts by ``n U_T ln(I2/I1)`` with the load (load regulation ``n U_T / I_load``), and its own V_GS
  moves with the corner and the temperature: the per-die calibration absorbs both, since it chooses the
  code with the cells in place.
* **Well selector** (optional) — a second tap tree on the same string drives the core pFETs' common
  n-well ``nw`` directly (a well draws only junction leakage) with an explicit hold capacitor; without it
  the wells sit at ``vcore`` (zero body bias).
* **Load** (testbench) — ``n_cells`` replicas of the cell's core latch and bias stage (the
  ``native_latch`` sizes, ``m = n_cells``) at their metastable operating point, on ``vcore`` and ``nw``;
  the bias stage has its own rail ``vddb``.

Energy: the generator's power is everything its rails deliver minus what reaches the cells (as for every
rail of the cell, what counts is the energy the rail delivers; the rails' own generation — here the
follower's drain rail, like the cells' 0.4 V bias rail and 0.45 V readout rail — is not simulated or counted),
``P_gen = (V_in - V_core) I_in + V_ref I_ref + V_hi I_hi``: the follower's drop-out (per cell: it scales with
the cells' current) and the string's quiescent current (amortized over the array). :func:`amortized_energy`
turns it into joules per cell per read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from pbitkit.circuits.bit_energy import CentreBitEnergy
from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import LibraryFactory, default_library
from pbitkit.circuits.elements import fmt_number, mos_device, netlist_header
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, run, write_command
from pbitkit.constants import thermal_voltage
from pbitkit.errors import ConfigError, PbitkitError, SimulationError
from pbitkit.paths import data_dir

__all__ = ["SupplyGenSpec", "GenPoint", "GenReport", "GeneratorEnergy", "render_supply_gen", "supply_gen_ports",
           "ladder_hand_V", "gen_levels", "gen_report", "amortized_energy", "generator_energy_per_cell",
           "follower_rail", "follower_headroom_V", "retarget", "SUPPLY_GEN_MODELS", "CORNERS_TABLE", "FOLLOWER_RAILS",
           "FOLLOWER_HEADROOM_UT", "LINE_STEP_V", "SUPPLIED_CELL", "DEFAULT_N_CELLS",
           "nearest_generator_point", "simulate_generator_energy", "CentreWithGenerator", "centre_energy_with_generator"]

_f = fmt_number

#: The device roles the generator uses (for the all-transistor audit).
SUPPLY_GEN_MODELS: tuple[str, ...] = ("nfet_nvt", "pfet_lvt")

#: The follower drain rails a die may use (V), lowest first; 0.4 V is the cells' bias rail.
FOLLOWER_RAILS: tuple[float, ...] = (0.16, 0.175, 0.2, 0.25, 0.3, 0.4)

#: The follower's minimum drain-source headroom, in thermal voltages. In subthreshold the follower carries
#: ``I ∝ 1 - exp(-V_DS / U_T)``, so with the gate and the load fixed the core supply follows its drain rail by
#: ≈ ``exp(-V_DS / U_T)`` (+ ~0.02 V/V of DIBL). Measured at tt / 27 °C, 256 cells, core supply 121.4-122.1 mV
#: (:func:`gen_report`'s ``line_sensitivity``): 0.067 V/V at 3.0 U_T (0.2 V rail), 0.137 at 2.05 U_T (0.175 V),
#: 0.238 at 1.47 U_T (0.16 V), 0.339 at 1.10 U_T (0.15 V); load regulation and output noise improve as the
#: headroom shrinks (3.34 -> 2.52 kΩ, 56 -> 39 µV rms). 1.4 U_T keeps the line sensitivity <= ~0.27 V/V: a
#: rail within ±3 mV (assumed) moves the core supply by at most half a code step.
FOLLOWER_HEADROOM_UT = 1.4

#: The drain-rail step of :func:`gen_report`'s line-sensitivity measurement (V, central difference).
LINE_STEP_V = 2e-3


@dataclass(frozen=True)
class SupplyGenSpec:
    """Design of the per-die supply / well generator (sizes in µm, voltages in V, capacitances in F).

    Attributes
    ----------
    bits : code bits of the string DAC (``2**bits`` units and taps; 4…10).
    v_ref_V : the string's top rail. v_in_V : the follower's drain rail (0.16 V: the lowest of
        :data:`FOLLOWER_RAILS` with :data:`FOLLOWER_HEADROOM_UT` over the tt / 27 °C core supply; see
        :func:`follower_rail`). v_hi_V : the logic rail (the
        units' and switches' gate drive). v_ddb_V, v_tail_V, ref_V : the load replicas' bias stage.
    ladder_w_um, ladder_l_um : string unit (``nfet_03v3_nvt``: its model bins allow L 0.5/0.6/0.8 µm).
        ladder_units : units in series per code step (4: the same taps at a quarter of the string's
        current, 1.1 -> 4.4 MΩ; the string drives only the follower's gate).
        switch_w_um, switch_l_um : tap switch (``pfet_01v8_lvt``). follower_w_um, follower_l_um : one follower unit (``nfet_03v3_nvt``) per cell.
    c_out_per_cell_F : decoupling capacitance on the core supply per cell. c_well_F : the well line's
        hold capacitor.
    sample_period_s : the cells' read period (for the energy per read).
    """

    bits: int = 7
    v_ref_V: float = 0.45
    v_in_V: float = 0.16
    v_hi_V: float = 1.8
    ladder_w_um: float = 0.42
    ladder_l_um: float = 0.8
    ladder_units: int = 4
    switch_w_um: float = 0.42
    switch_l_um: float = 0.35
    follower_w_um: float = 0.42
    follower_l_um: float = 0.8
    c_out_per_cell_F: float = 20e-15
    c_well_F: float = 1e-12
    v_ddb_V: float = 0.4
    v_tail_V: float = 0.12
    ref_V: float = 0.1
    sample_period_s: float = 300e-9

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or isinstance(self.bits, bool) or not 4 <= self.bits <= 10:
            raise ConfigError(f"SupplyGenSpec.bits must be an int in 4..10, got {self.bits!r}")
        for k in ("v_ref_V", "v_in_V", "v_hi_V", "v_ddb_V"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not 0 < v <= 1.8:
                raise ConfigError(f"SupplyGenSpec.{k} must be in (0, 1.8] V, got {v!r}")
        for k in ("v_tail_V", "ref_V"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not -0.5 <= v <= 1.8:
                raise ConfigError(f"SupplyGenSpec.{k} must be in [-0.5, 1.8] V, got {v!r}")
        for k in ("ladder_w_um", "ladder_l_um", "switch_w_um", "switch_l_um", "follower_w_um", "follower_l_um"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not 0 < v <= 100:
                raise ConfigError(f"SupplyGenSpec.{k} must be in (0, 100] um, got {v!r}")
        for k in ("c_out_per_cell_F", "c_well_F"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not 0 <= v <= 1e-6:
                raise ConfigError(f"SupplyGenSpec.{k} must be in [0, 1e-6] F, got {v!r}")
        if not isinstance(self.ladder_units, int) or isinstance(self.ladder_units, bool) or not 1 <= self.ladder_units <= 16:
            raise ConfigError(f"SupplyGenSpec.ladder_units must be an int in 1..16, got {self.ladder_units!r}")
        if not isinstance(self.sample_period_s, (int, float)) or not 0 < self.sample_period_s < 1:
            raise ConfigError(f"SupplyGenSpec.sample_period_s must be in (0, 1) s, got {self.sample_period_s!r}")

    @property
    def n_codes(self) -> int:
        return 2 ** self.bits


def _check_code(spec: SupplyGenSpec, name: str, code: object) -> int:
    if not isinstance(code, (int, np.integer)) or isinstance(code, bool) or not 0 <= code < spec.n_codes:
        raise ConfigError(f"supply generator: {name} must be an int in 0..{spec.n_codes - 1}, got {code!r}")
    return int(code)


def _check_cells(n_cells: object) -> int:
    if not isinstance(n_cells, (int, np.integer)) or isinstance(n_cells, bool) or not 1 <= n_cells <= 10 ** 6:
        raise ConfigError(f"supply generator: n_cells must be an int in 1..1e6, got {n_cells!r}")
    return int(n_cells)


def _tap(k: int) -> str:
    return "0" if k == 0 else f"l{k}"


def _bit_sources(prefix: str, bits: int, code: int, v_hi: float) -> list[str]:
    out = []
    for i in range(bits):
        on = (code >> i) & 1
        out += [f"V{prefix}{i} {prefix}{i} 0 {_f(v_hi if on else 0.0)}",
                f"V{prefix}n{i} {prefix}n{i} 0 {_f(0.0 if on else v_hi)}"]
    return out


def _tree(lib: ModelLibrary, spec: SupplyGenSpec, prefix: str, out: str) -> list[str]:
    """A binary tree of pass switches from the string's taps to ``out``; level ``i`` switched by bit ``i``."""
    lines = []
    prev = [_tap(k) for k in range(spec.n_codes)]
    for i in range(spec.bits):
        nxt = [out] if i == spec.bits - 1 else [f"{prefix}s{i}_{j}" for j in range(len(prev) // 2)]
        for j, node in enumerate(nxt):
            # pFET pass switches: on with the gate at 0 (the bit line low), off with it at V_hi; n-well at V_ref
            lines += [mos_device(lib, f"{prefix.upper()}S{i}_{j}a", prev[2 * j], f"{prefix}{i}", node, "vref", "pfet_lvt",
                                 spec.switch_w_um, spec.switch_l_um),
                      mos_device(lib, f"{prefix.upper()}S{i}_{j}b", prev[2 * j + 1], f"{prefix}n{i}", node, "vref",
                                 "pfet_lvt", spec.switch_w_um, spec.switch_l_um)]
        prev = nxt
    return lines


def supply_gen_ports(spec: SupplyGenSpec, *, well: bool) -> tuple[str, ...]:
    """The nodes a port source may drive in the rendered generator (rails, bias-stage ports, code bits)."""
    ports = ["vin", "vref", "vhi", "vddb", "vtail", "bias", "ref"]
    for prefix in ("b", "w") if well else ("b",):
        ports += [f"{prefix}{i}" for i in range(spec.bits)] + [f"{prefix}n{i}" for i in range(spec.bits)]
    return tuple(ports)


def render_supply_gen(lib: ModelLibrary, spec: SupplyGenSpec, *, code: int, n_cells: int, temp_C: float,
                      well_code: int | None = None, load: bool = True) -> str:
    """The generator's circuit (no analysis); see the module docstring for the schematic.

    Parameters
    ----------
    lib : the sky130 model library of the die's corner.
    code : the supply code (0 … ``2**bits - 1``). well_code : the well code, or None (wells at ``vcore``).
    n_cells : the array's cell count (follower units, decoupling capacitance and load replicas scale with it).
    load : render the ``n_cells`` replica cells (core + bias stage) on ``vcore``.

    Nodes: ``vcore`` (the core supply), ``g`` (the follower's gate), ``nw`` (the well line, with
    ``well_code``), the string's taps ``l1 … l<2**bits - 1>`` (tap 0 is ground, the top is ``vref``).

    Raises
    ------
    ConfigError
        For an invalid code, cell count or temperature, or a library without the native / low-Vt devices.
    """
    code = _check_code(spec, "code", code)
    n = _check_cells(n_cells)
    if well_code is not None:
        well_code = _check_code(spec, "well_code", well_code)
    if not isinstance(temp_C, (int, float)) or not -60 <= temp_C <= 200:
        raise ConfigError(f"supply generator: temp_C must be in -60..200 C, got {temp_C!r}")
    if lib.instance_prefix != "X":
        raise ConfigError(f"the supply generator needs the sky130 library (native devices); got {lib.source}")
    lines = netlist_header(lib, f"native_latch supply generator ({spec.bits}-bit string DAC + native follower, "
                                f"{n} cells)", mc_seed=-1, temp_C=temp_C)
    lines += ["* rails", f"Vin vin 0 {_f(spec.v_in_V)}", f"Vref vref 0 {_f(spec.v_ref_V)}",
              f"Vhi vhi 0 {_f(spec.v_hi_V)}",
              "* code register outputs (supply code; bit i on its gate line b<i>, complement bn<i>)",
              *_bit_sources("b", spec.bits, code, spec.v_hi_V),
              f"* string DAC: {spec.n_codes} steps of {spec.ladder_units} triode native nFET units from ground to vref"]
    k_top = spec.n_codes
    u = spec.ladder_units
    for k in range(k_top):
        hi = "vref" if k + 1 == k_top else _tap(k + 1)
        # ``ladder_units`` identical units in series per step (internal nodes l<k>_<j>): the same taps, 1/u the current
        nodes = [_tap(k), *(f"l{k}_{j}" for j in range(1, u)), hi]
        for j in range(u):
            name = f"L{k}" if u == 1 else f"L{k}_{j}"
            lines.append(mos_device(lib, name, nodes[j + 1], "vhi", nodes[j], "0", "nfet_nvt", spec.ladder_w_um,
                                    spec.ladder_l_um))
    lines += ["* tap selection: binary tree of low-Vt pFET pass switches to the follower's gate g", *_tree(lib, spec, "b", "g"),
              "* native source follower, one unit per cell, and the decoupling capacitor",
              mos_device(lib, "F", "vin", "g", "vcore", "0", "nfet_nvt", spec.follower_w_um, spec.follower_l_um)
              + f" m={n}",
              f"Cout vcore 0 {_f(n * spec.c_out_per_cell_F)}"]
    well_node = "vcore"
    if well_code is not None:
        lines += ["* well selector: second tap tree to the core pFETs' common n-well nw, with a hold capacitor",
                  *_bit_sources("w", spec.bits, well_code, spec.v_hi_V), *_tree(lib, spec, "w", "nw"),
                  f"Cnw nw 0 {_f(spec.c_well_F)}"]
        well_node = "nw"
    if load:
        p = NativeLatchCell().params()
        m = f" m={n}"
        lines += [f"* load: {n} native_latch cores and bias stages (replicas, m = {n})",
                  f"Vddb vddb 0 {_f(spec.v_ddb_V)}", f"Vtail vtail 0 {_f(spec.v_tail_V)}",
                  f"Vbias bias 0 {_f(spec.ref_V)}", f"Vrefb ref 0 {_f(spec.ref_V)}",
                  mos_device(lib, "CN1", "q", "qb", "0", "0", "nfet_nvt", p["wn_um"], p["ln_um"]) + m,
                  mos_device(lib, "CP1", "q", "qb", "vcore", well_node, "pfet_lvt", p["wp_um"], p["lp_um"]) + m,
                  mos_device(lib, "CN2", "qb", "q", "0", "0", "nfet_nvt", p["wn_um"], p["ln_um"]) + m,
                  mos_device(lib, "CP2", "qb", "q", "vcore", well_node, "pfet_lvt", p["wp_um"], p["lp_um"]) + m,
                  mos_device(lib, "CBT", "tail", "vtail", "vddb", "vddb", "pfet_lvt", p["w_tail_um"], p["l_tail_um"])
                  + m,
                  mos_device(lib, "CBA", "qb", "bias", "tail", "vddb", "pfet_lvt", p["w_pair_um"], p["l_pair_um"]) + m,
                  mos_device(lib, "CBB", "q", "ref", "tail", "vddb", "pfet_lvt", p["w_pair_um"], p["l_pair_um"]) + m]
    return "\n".join(lines) + "\n"


def ladder_hand_V(spec: SupplyGenSpec, code: int, vth_V: float) -> float:
    """Hand analysis of the string's tap ``code`` (V), unloaded: triode units of equal size carry one current.

    A unit at source voltage V conducts ``g(V) ∝ V_hi - V_th - V - dV/2``; with the same current through
    every unit, ``d/dk [(V_ov - V)^2] = const`` (``V_ov = V_hi - V_th``), so
    ``V(k) = V_ov - sqrt(V_ov^2 - (k / 2**bits) (V_ov^2 - (V_ov - V_ref)^2))`` (body effect neglected: it
    raises ``V_th`` towards the top and bends the curve a little further).
    """
    code = _check_code(spec, "code", code)
    v_ov = spec.v_hi_V - vth_V
    frac = code / spec.n_codes
    return v_ov - math.sqrt(v_ov ** 2 - frac * (v_ov ** 2 - (v_ov - spec.v_ref_V) ** 2))


@dataclass(frozen=True)
class GenPoint:
    """The generator's operating point at one code.

    Attributes
    ----------
    code, well_code : the codes (well_code None: wells at ``vcore``).
    v_core_V, v_gate_V, v_well_V : core supply, follower gate (the DAC's tap), well line (V).
    i_load_A : current into the cells (the follower's source current, A).
    p_gen_W : the generator's own power: ``(V_in - V_core) I_in + V_ref I_ref + V_hi I_hi`` (W).
    p_quiescent_W : the string's and logic rail's part ``V_ref I_ref + V_hi I_hi`` (W).
    """

    code: int
    well_code: int | None
    v_core_V: float
    v_gate_V: float
    v_well_V: float
    i_load_A: float
    p_gen_W: float
    p_quiescent_W: float


def _job(netlist: str, control: Sequence[str], label: str) -> SimJob:
    return SimJob(netlist=netlist + "\n".join([".control", *control, ".endc", ".end"]) + "\n", timeout_s=900.0,
                  label=label)


def _nodeset(spec: SupplyGenSpec, code: int) -> str:
    v = code / spec.n_codes * spec.v_ref_V
    return f"nodeset v(vcore)={_f(v)} v(q)={_f(v / 6)} v(qb)={_f(v / 6)}"


def _alter_code(prefix: str, bits: int, code: int, v_hi: float) -> list[str]:
    out = []
    for i in range(bits):
        on = (code >> i) & 1
        out += [f"alter v{prefix}{i} dc={_f(v_hi if on else 0.0)}", f"alter v{prefix}n{i} dc={_f(0.0 if on else v_hi)}"]
    return out


_OP_VECS = ("v(vcore)", "v(g)", "i(vin)", "i(vref)", "i(vhi)")


def _point(spec: SupplyGenSpec, plot: Mapping[str, np.ndarray], code: int, well_code: int | None) -> GenPoint:
    v = {k: float(np.real(plot[k][0])) for k in plot}
    i_in, i_ref, i_hi = -v["i(vin)"], -v["i(vref)"], -v["i(vhi)"]
    vc = v["v(vcore)"]
    p_q = spec.v_ref_V * i_ref + spec.v_hi_V * i_hi
    return GenPoint(code=code, well_code=well_code, v_core_V=vc, v_gate_V=v["v(g)"],
                    v_well_V=v.get("v(nw)", vc), i_load_A=i_in, p_gen_W=(spec.v_in_V - vc) * i_in + p_q,
                    p_quiescent_W=p_q)


def gen_levels(codes: Sequence[int], *, corner: str = "tt", temp_C: float = 27.0, n_cells: int = 256,
               well_code: int | None = None, spec: SupplyGenSpec | None = None, load: bool = True,
               library: LibraryFactory | None = None,
               runner: Callable[[SimJob], SimResult] = run) -> list[GenPoint]:
    """The generator's DC output at each supply code (one ngspice session; the codes set by ``alter``).

    Raises
    ------
    ConfigError
        For invalid codes or cell count.
    SimulationError
        If ngspice does not return one operating point per code.
    """
    spec = spec or SupplyGenSpec()
    codes = [_check_code(spec, "code", c) for c in codes]
    if not codes:
        raise ConfigError("gen_levels: codes is empty")
    lib = (library or default_library)(corner, False)
    net = render_supply_gen(lib, spec, code=codes[0], n_cells=n_cells, temp_C=temp_C, well_code=well_code, load=load)
    vecs = list(_OP_VECS) + (["v(nw)"] if well_code is not None else [])
    ctl = []
    for c in codes:
        ctl += [*_alter_code("b", spec.bits, c, spec.v_hi_V), _nodeset(spec, c), "op", write_command(vecs)]
    res = runner(_job(net, ctl, f"supply generator levels {corner} {temp_C} C n={n_cells}"))
    if len(res.plots) != len(codes):
        raise SimulationError(f"supply generator at {corner} / {temp_C} C: {len(res.plots)} operating points "
                              f"for {len(codes)} codes")
    return [_point(spec, pl, c, well_code) for pl, c in zip(res.plots, codes, strict=True)]


@dataclass(frozen=True)
class GenReport:
    """The generator at one corner / temperature and code, with its array (see :func:`gen_report`).

    Attributes
    ----------
    point : the operating point at the code with ``n_cells`` cells.
    r_out_ohm : load regulation ``-dV_core/dI_load`` from ±10 % load steps (Ω).
    r_out_hand_ohm : the hand estimate ``n U_T / I_load`` with ``n`` from the follower's subthreshold
        slope (measured gate sweep).
    noise_rms_V : integrated output noise 1 Hz … 1 GHz (V rms), with the string, switches, follower and the
        cells' own channel noise on the supply node.
    step_droop_V, step_settle_s : the core supply's droop after a load step of ``step_frac`` of the load
        current, and the time to settle within 10 % of its final shift.
    line_sensitivity : ``dV_core / dV_in`` (V/V), the drain rail stepped by ``±LINE_STEP_V`` with the code
        and the cells in place: how much of the rail's own error or noise reaches the cells.
    """

    corner: str
    temp_C: float
    n_cells: int
    point: GenPoint
    r_out_ohm: float
    r_out_hand_ohm: float
    subthreshold_n: float
    noise_rms_V: float
    step_frac: float
    step_droop_V: float
    step_settle_s: float
    line_sensitivity: float = math.nan
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def gen_report(code: int, *, corner: str = "tt", temp_C: float = 27.0, n_cells: int = 256,
               well_code: int | None = None, spec: SupplyGenSpec | None = None, step_frac: float = 0.1,
               i_load_A: float | None = None, library: LibraryFactory | None = None,
               runner: Callable[[SimJob], SimResult] = run) -> GenReport:
    """Operating point, load regulation, output noise and load-step response at ``code`` (one session).

    The load steps are a testbench current source ``Istep`` on ``vcore`` (``±step_frac`` of the cells'
    current ``i_load_A`` for the regulation, then a ``step_frac`` step for the transient), added to the
    rendered generator with its ``n_cells`` replica cells. ``i_load_A`` (A; e.g. from :func:`gen_levels`)
    sizes the steps; None runs :func:`gen_levels` first to measure it.
    """
    spec = spec or SupplyGenSpec()
    code = _check_code(spec, "code", code)
    if not 0 < step_frac <= 1:
        raise ConfigError(f"gen_report: step_frac must be in (0, 1], got {step_frac!r}")
    lib = (library or default_library)(corner, False)
    net = render_supply_gen(lib, spec, code=code, n_cells=n_cells, temp_C=temp_C, well_code=well_code)
    if i_load_A is None:
        (first,) = gen_levels([code], corner=corner, temp_C=temp_C, n_cells=n_cells, well_code=well_code, spec=spec,
                              library=library, runner=runner)
        i_load_A = first.i_load_A
    if not (isinstance(i_load_A, (int, float)) and 0 < i_load_A < 1):
        raise ConfigError(f"gen_report: i_load_A must be in (0, 1) A, got {i_load_A!r}")
    di = step_frac * i_load_A
    dvg = 2e-3
    vecs = list(_OP_VECS) + (["v(nw)"] if well_code is not None else [])
    tau_est = n_cells * spec.c_out_per_cell_F * 0.035 / i_load_A
    t_step = 20 * tau_est
    ctl = [_nodeset(spec, code), "op", write_command(vecs)]
    for s in (-1.0, 1.0):
        ctl += [f"alter istep dc={_f(s * di)}", "op", write_command(vecs)]
    ctl += ["alter istep dc=0"]
    # the follower's subthreshold slope: the gate moved by a source in series (tap -> g through Vdg)
    ctl += [f"alter vdg dc={_f(dvg)}", "op", write_command(["v(vcore)", "i(vin)"]), "alter vdg dc=0",
            "noise v(vcore) vref dec 10 1 1e9", write_command(["onoise_total"]),
            f"tran {_f(t_step / 400)} {_f(2 * t_step)}", write_command(["v(vcore)"])]
    # line sensitivity: the drain rail stepped by +-dv_in (central difference)
    for s in (1.0, -1.0):
        ctl += [f"alter vin dc={_f(spec.v_in_V + s * LINE_STEP_V)}", "op", write_command(["v(vcore)"])]
    ctl += [f"alter vin dc={_f(spec.v_in_V)}"]
    tb = net.replace(" g vcore 0 ", " gf vcore 0 ")  # follower gate behind the testbench source Vdg
    if tb == net:
        raise SimulationError("supply generator netlist: follower line not found")
    tb = tb.replace(f"Vref vref 0 {_f(spec.v_ref_V)}\n", f"Vref vref 0 dc {_f(spec.v_ref_V)} ac 1\n")
    tb += (f"Vdg gf g dc 0\n"
           f"Istep vcore 0 dc 0 PULSE(0 {_f(di)} {_f(t_step)} {_f(t_step / 1000)} {_f(t_step / 1000)} 1 2)\n")
    res = runner(_job(tb, ctl, f"supply generator report {corner} {temp_C} C n={n_cells} code={code}"))
    if len(res.plots) != 8:
        raise SimulationError(f"supply generator report at {corner} / {temp_C} C: {len(res.plots)} plots, expected 8")
    pt = _point(spec, res.plots[0], code, well_code)
    lo, hi = (float(np.real(res.plots[k]["v(vcore)"][0])) for k in (1, 2))
    r_out = (lo - hi) / (2 * di)
    v0, v1 = pt.v_core_V, float(np.real(res.plots[3]["v(vcore)"][0]))
    i0, i1 = pt.i_load_A, float(-np.real(res.plots[3]["i(vin)"][0]))
    # with the load fixed by the cells, the follower's slope: I ~ exp((V_GS)/n U_T) -> n from dI / dV_GS
    ut = thermal_voltage(temp_C)
    dvgs = dvg - (v1 - v0)
    n_sub = dvgs / (ut * math.log(i1 / i0)) if i1 > i0 > 0 and dvgs > 0 else math.nan
    noise = float(np.real(res.plots[4]["v(onoise_total)"][0]))
    tr = res.plots[5]
    t, v = np.real(tr["time"]), np.real(tr["v(vcore)"])
    before = float(np.interp(0.99 * t_step, t, v))
    after = v[t > t_step]
    final = float(after[-1])
    shift = before - final
    droop = float(before - after.min())
    outside = np.nonzero(np.abs(after - final) > 0.1 * abs(shift))[0] if shift != 0 else np.array([], int)
    settle = float(t[t > t_step][outside[-1]] - t_step) if outside.size else 0.0
    v_up, v_dn = (float(np.real(res.plots[k]["v(vcore)"][0])) for k in (6, 7))
    line = (v_up - v_dn) / (2 * LINE_STEP_V)
    return GenReport(corner=corner, temp_C=float(temp_C), n_cells=n_cells, point=pt, r_out_ohm=r_out,
                     r_out_hand_ohm=n_sub * ut / pt.i_load_A if math.isfinite(n_sub) else math.nan,
                     subthreshold_n=n_sub, noise_rms_V=noise, step_frac=step_frac, step_droop_V=droop,
                     step_settle_s=settle, line_sensitivity=line,
                     extra={"step_shift_V": shift, "t_step_s": t_step})


def amortized_energy(point: GenPoint, n_cells: int, sample_period_s: float = 300e-9) -> dict[str, float]:
    """The generator's energy per cell per read (J) at an operating point measured with ``n_cells`` cells.

    Returns
    -------
    dict with ``total_J`` (``P_gen t_s / n_cells``), ``dropout_J`` (the follower's ``(V_in - V_core) I_in``
    share: per cell, independent of the array size) and ``quiescent_J`` (the string and logic rail,
    amortized over the array), and ``core_J`` (what the cells' core draws, ``V_core I_load t_s / n``, for
    comparison: it is already in the cell's own energy per read).
    """
    n = _check_cells(n_cells)
    if not 0 < sample_period_s < 1:
        raise ConfigError(f"amortized_energy: sample_period_s must be in (0, 1) s, got {sample_period_s!r}")
    ts = sample_period_s
    return {"total_J": point.p_gen_W * ts / n, "dropout_J": (point.p_gen_W - point.p_quiescent_W) * ts / n,
            "quiescent_J": point.p_quiescent_W * ts / n, "core_J": point.v_core_V * point.i_load_A * ts / n}


def follower_headroom_V(point: GenPoint, spec: SupplyGenSpec) -> float:
    """The follower's drain-source voltage ``V_in - V_core`` at ``point`` (V)."""
    return spec.v_in_V - point.v_core_V


def follower_rail(v_core_V: float, temp_C: float, rails: Sequence[float] = FOLLOWER_RAILS,
                  headroom_ut: float = FOLLOWER_HEADROOM_UT) -> float:
    """The lowest of ``rails`` (V) at least ``headroom_ut`` thermal voltages above the core supply ``v_core_V``
    (the follower regulating, its drop-out smallest); the highest rail if none is.

    Raises
    ------
    ConfigError
        For an empty ``rails`` or a non-finite supply.
    """
    if not rails or not all(isinstance(r, (int, float)) and 0 < r <= 1.8 for r in rails):
        raise ConfigError(f"follower_rail: rails must be voltages in (0, 1.8] V, got {rails!r}")
    if not (isinstance(v_core_V, (int, float)) and math.isfinite(v_core_V)):
        raise ConfigError(f"follower_rail: v_core_V must be a finite voltage, got {v_core_V!r}")
    need = v_core_V + headroom_ut * thermal_voltage(temp_C)
    ok = sorted(r for r in rails if r >= need)
    return float(ok[0] if ok else max(rails))


def retarget(v_core_V: float, around_code: int, *, corner: str, temp_C: float, n_cells: int,
             well_code: int | None, spec: SupplyGenSpec, window: int = 10,
             library: LibraryFactory | None = None,
             runner: Callable[[SimJob], SimResult] = run) -> GenPoint:
    """The code of generator ``spec`` whose core supply is nearest ``v_core_V`` (e.g. a die calibrated on
    another follower rail): the levels of codes ``around_code - window … around_code + window`` (one ngspice
    session), the nearest returned.

    Raises
    ------
    ConfigError
        For a bad code or window. SimulationError: as :func:`gen_levels`.
    """
    if not isinstance(window, int) or window < 1:
        raise ConfigError(f"retarget: window must be an int >= 1, got {window!r}")
    c0 = _check_code(spec, "around_code", around_code)
    codes = list(range(max(0, c0 - window), min(spec.n_codes - 1, c0 + window) + 1))
    pts = gen_levels(codes, corner=corner, temp_C=temp_C, n_cells=n_cells, well_code=well_code, spec=spec,
                     library=library, runner=runner)
    return min(pts, key=lambda p: abs(p.v_core_V - v_core_V))


#: The stored corner x temperature table (written by ``examples/native_latch_corners.py``).
CORNERS_TABLE = "native_latch_corners.jsonl"


@dataclass(frozen=True)
class GeneratorEnergy:
    """The supply generator's energy per cell per read at one corner / temperature and array size.

    Attributes
    ----------
    energy_J : ``dropout_J + quiescent_J`` (J per cell per read).
    dropout_J : the follower's ``(V_in - V_core) I`` per cell (measured; does not depend on the array size).
    quiescent_J : the string's and logic rail's power x read period / ``n_cells`` (measured power, amortized).
    n_cells, corner, temp_C : what it is for. code, v_core_V : the calibrated code and core supply.
    n_cells_measured : the array size of the ngspice run the numbers come from.
    source : one line naming the stored record and how it was produced.
    """

    energy_J: float
    dropout_J: float
    quiescent_J: float
    n_cells: int
    corner: str
    temp_C: float
    code: int
    v_core_V: float
    n_cells_measured: int
    source: str
    v_in_V: float = math.nan
    v_core_target_V: float = math.nan

    def summary(self) -> str:
        """One line: the energy per cell per read, its parts, and where it comes from."""
        target = (f" for {self.v_core_target_V * 1e3:.1f} mV" if math.isfinite(self.v_core_target_V) else "")
        rail = f", {self.v_in_V:g} V drain rail" if math.isfinite(self.v_in_V) else ""
        return (f"supply generator at {self.corner} / {self.temp_C:g} C, {self.n_cells} cells: code {self.code} -> "
                f"V_core {self.v_core_V * 1e3:.1f} mV{target}{rail}; drop-out {self.dropout_J * 1e15:.3f} + "
                f"string {self.quiescent_J * 1e15:.3f} = {self.energy_J * 1e15:.3f} fJ per cell per read ({self.source})")


def generator_energy_per_cell(n_cells: int, *, corner: str = "tt", temp_C: float = 27.0,
                              table: str | None = None) -> GeneratorEnergy:
    """The generator's energy per cell per read for an array of ``n_cells`` (the ledger's supply-tracking /
    trim term), from the stored corner table (``pbitkit/data/native_latch_corners.jsonl``, produced by
    ``examples/native_latch_corners.py``): the measured drop-out per cell plus the measured quiescent power
    amortized over ``n_cells``, at the die's calibrated code.

    Raises
    ------
    ConfigError
        For a bad ``n_cells``, or a corner / temperature the table has no calibrated record of.
    PbitkitError
        If the table is missing or unreadable.
    """
    n = _check_cells(n_cells)
    path = data_dir() / CORNERS_TABLE if table is None else Path(table)
    try:
        recs = [json.loads(s) for s in path.read_text().splitlines() if s.strip()]
    except (OSError, ValueError) as e:
        raise PbitkitError(f"supply generator table {path}: cannot read ({e})") from e
    for r in recs:
        if r.get("corner") == corner and float(r.get("temp_C", math.nan)) == float(temp_C) and r.get("ok"):
            gen = r["gen"]
            pt = gen["point"]
            n_meas = int(gen["n_cells"])
            ts = SupplyGenSpec().sample_period_s
            drop = (float(pt["p_gen_W"]) - float(pt["p_quiescent_W"])) * ts / n_meas
            quiet = float(pt["p_quiescent_W"]) * ts / n
            return GeneratorEnergy(energy_J=drop + quiet, dropout_J=drop, quiescent_J=quiet, n_cells=n, corner=corner,
                                   temp_C=float(temp_C), code=int(pt["code"]), v_core_V=float(pt["v_core_V"]),
                                   n_cells_measured=n_meas,
                                   source=f"{path.name}: ngspice run of the generator at {corner} / {temp_C:g} C, code "
                                          f"{pt['code']}, {n_meas} replica cells (examples/native_latch_corners.py)")
    raise ConfigError(f"supply generator table {path.name} has no calibrated record for corner {corner!r} at "
                      f"{temp_C} C")


#: The cell whose core the generator supplies (its replicas are the testbench's load).
SUPPLIED_CELL = "native_latch"

#: The array size the generator's energy is amortized over by default: the pipeline's default DTM grid,
#: 16 x 16 (a test checks it against :mod:`pbitkit.pipeline.config`).
DEFAULT_N_CELLS = 256

#: The tt / 27 °C follower's V_GS at the cells' current (V), measured (code 50: tap 160.6 mV, V_core
#: 121.4 mV): only the first guess of :func:`nearest_generator_point`'s code window.
_VGS_GUESS_V = 0.04

#: How far the generator's nearest code may leave the asked-for core supply (V): ~3 code steps at tt / 27 °C.
_DELIVER_TOL_V = 5e-3


def nearest_generator_point(v_core_V: float, *, corner: str = "tt", temp_C: float = 27.0,
                            n_cells: int = DEFAULT_N_CELLS, sample_period_s: float | None = None,
                            spec: SupplyGenSpec | None = None, window: int = 8,
                            library: LibraryFactory | None = None,
                            runner: Callable[[SimJob], SimResult] = run) -> tuple[GenPoint, SupplyGenSpec]:
    """The generator's operating point that supplies ``v_core_V`` to ``n_cells`` cells, simulated, and its spec.

    The drain rail is :func:`follower_rail`'s for ``v_core_V`` (unless ``spec`` is given); the code is the
    one whose core supply is nearest ``v_core_V`` among ``2 window + 1`` codes around a hand estimate (the
    string's tap at ``v_core_V`` + the follower's V_GS), found by :func:`retarget` in one ngspice session
    with ``n_cells`` replica cells as the load (a second session if the nearest code is at the window's
    edge). ``sample_period_s`` (default: ``spec``'s) goes into the returned spec.

    Raises
    ------
    ConfigError
        For a bad supply, cell count, read period or window, or no rail with the follower's headroom.
    SimulationError
        As :func:`gen_levels`, or when the nearest code misses ``v_core_V`` by more than ~3 code steps.
    """
    if not (isinstance(v_core_V, (int, float)) and 0.01 < v_core_V < 1.0):
        raise ConfigError(f"nearest_generator_point: v_core_V must be in (0.01, 1) V, got {v_core_V!r}")
    n = _check_cells(n_cells)
    if spec is None:
        rail = follower_rail(float(v_core_V), temp_C)
        if rail - v_core_V < FOLLOWER_HEADROOM_UT * thermal_voltage(temp_C):
            raise ConfigError(f"nearest_generator_point: no follower rail of {FOLLOWER_RAILS} V lies "
                              f"{FOLLOWER_HEADROOM_UT} U_T above the core supply {v_core_V * 1e3:.1f} mV")
        spec = replace(SupplyGenSpec(), v_in_V=rail)
    if sample_period_s is not None:
        spec = replace(spec, sample_period_s=sample_period_s)
    # first guess: the tap nearest the follower's gate (hand analysis of the string, native V_th 0.096 V)
    guess = min(range(spec.n_codes), key=lambda k: abs(ladder_hand_V(spec, k, 0.096) - v_core_V - _VGS_GUESS_V))
    kw = dict(corner=corner, temp_C=temp_C, n_cells=n, well_code=None, spec=spec, window=window, library=library,
              runner=runner)
    pt = retarget(v_core_V, guess, **kw)  # type: ignore[arg-type]
    edge = pt.code in (guess - window, guess + window) and 0 < pt.code < spec.n_codes - 1
    if edge:
        pt = retarget(v_core_V, pt.code, **kw)  # type: ignore[arg-type]
    if abs(pt.v_core_V - v_core_V) > _DELIVER_TOL_V:
        raise SimulationError(f"supply generator at {corner} / {temp_C} C: the nearest code ({pt.code}) gives "
                              f"{pt.v_core_V * 1e3:.1f} mV, not the {v_core_V * 1e3:.1f} mV asked for")
    return pt, spec


def simulate_generator_energy(v_core_V: float, *, corner: str = "tt", temp_C: float = 27.0,
                              n_cells: int = DEFAULT_N_CELLS, sample_period_s: float | None = None,
                              spec: SupplyGenSpec | None = None, window: int = 8,
                              library: LibraryFactory | None = None,
                              runner: Callable[[SimJob], SimResult] = run) -> GeneratorEnergy:
    """The generator's energy per cell per read when it supplies ``v_core_V`` to ``n_cells`` cells, simulated:
    :func:`amortized_energy` at :func:`nearest_generator_point`'s operating point and read period (the
    arguments are that function's).

    Raises
    ------
    ConfigError, SimulationError
        As :func:`nearest_generator_point`.
    """
    jobs: list[SimJob] = []

    def recorded(job: SimJob) -> SimResult:
        jobs.append(job)
        return runner(job)

    pt, spec = nearest_generator_point(v_core_V, corner=corner, temp_C=temp_C, n_cells=n_cells,
                                       sample_period_s=sample_period_s, spec=spec, window=window, library=library,
                                       runner=recorded)
    n = int(n_cells)
    e = amortized_energy(pt, n, spec.sample_period_s)
    return GeneratorEnergy(energy_J=e["total_J"], dropout_J=e["dropout_J"], quiescent_J=e["quiescent_J"], n_cells=n,
                           corner=corner, temp_C=float(temp_C), code=pt.code, v_core_V=pt.v_core_V, n_cells_measured=n,
                           source=f"ngspice: {len(jobs)} gen_levels session(s), job {jobs[-1].content_hash()[:12]}, "
                                  f"{n} replica cells as the load",
                           v_in_V=spec.v_in_V, v_core_target_V=float(v_core_V))


@dataclass(frozen=True)
class CentreWithGenerator:
    """The pooled energy per independent bit at P(1) ≈ 1/2 with the supply generator's share added.

    Attributes
    ----------
    cell_only : the pooled figure of the cell's own supplies (:class:`~pbitkit.circuits.bit_energy.CentreBitEnergy`).
    generator : the generator's simulated energy per cell per read (:func:`simulate_generator_energy`).
    energy_per_read_J : cell + generator per read (J).
    energy_per_independent_bit_J, energy_per_independent_bit_se_J : ``energy_per_read_J · max(1, τ_int)`` and
        its standard error (the generator, simulated once, adds no sampling error).
    """

    cell_only: CentreBitEnergy
    generator: GeneratorEnergy
    energy_per_read_J: float
    energy_per_independent_bit_J: float
    energy_per_independent_bit_se_J: float

    def summary(self) -> str:
        """One line: what ``pbitkit characterize`` logs after the cell-only figure."""
        ce, g = self.cell_only, self.generator
        side = math.isqrt(g.n_cells)
        arr = f"{side}x{side} = {g.n_cells}" if side * side == g.n_cells else f"{g.n_cells}"
        arr += " cells, the pipeline's default array" if g.n_cells == DEFAULT_N_CELLS else " cells"
        return (f"{ce.cell} at P(1) ~ 0.5 with its supply generator amortized over {arr}: energy per read "
                f"{ce.energy_per_read_J * 1e15:.3f} + {g.energy_J * 1e15:.3f} = {self.energy_per_read_J * 1e15:.3f} fJ, "
                f"energy_per_independent_bit_J = {self.energy_per_independent_bit_J * 1e15:.2f} +- "
                f"{self.energy_per_independent_bit_se_J * 1e15:.2f} fJ (every part counted; the rails are port sources)")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def centre_energy_with_generator(ce: CentreBitEnergy, *, generator: GeneratorEnergy | None = None,
                                 n_cells: int = DEFAULT_N_CELLS, library: LibraryFactory | None = None,
                                 runner: Callable[[SimJob], SimResult] = run) -> CentreWithGenerator:
    """Add the generator's share to a pooled centre figure of :data:`SUPPLIED_CELL`: by default the generator is
    simulated (:func:`simulate_generator_energy`) delivering the records' core supply (``ce.vdd_V``, else the
    cell's default) at their corner, temperature and read period to ``n_cells`` cells; ``generator`` gives a
    measured one instead (e.g. :func:`generator_energy_per_cell`'s stored record), which must be of the
    records' corner and temperature.

    Raises
    ------
    ConfigError
        If ``ce`` is not of :data:`SUPPLIED_CELL` (other cells run from the chip's rails), or ``generator`` is
        of another corner or temperature. SimulationError: as :func:`gen_levels`.
    """
    if ce.cell != SUPPLIED_CELL:
        raise ConfigError(f"the supply generator supplies {SUPPLIED_CELL!r} cores, not {ce.cell!r}")
    corner = ce.corner or "tt"
    if generator is not None:
        if (generator.corner, float(generator.temp_C)) != (corner, float(ce.temp_C)):
            raise ConfigError(f"generator at {generator.corner} / {generator.temp_C:g} C for records at "
                              f"{corner} / {ce.temp_C:g} C")
        gen = generator
    else:
        vdd = NativeLatchCell.default_vdd_V if ce.vdd_V is None else ce.vdd_V
        gen = simulate_generator_energy(vdd, corner=corner, temp_C=ce.temp_C, n_cells=n_cells,
                                        sample_period_s=ce.sample_period_s, library=library, runner=runner)
    e_ind, e_se = ce.including(gen.energy_J)
    return CentreWithGenerator(cell_only=ce, generator=gen, energy_per_read_J=ce.energy_per_read_J + gen.energy_J,
                               energy_per_independent_bit_J=e_ind, energy_per_independent_bit_se_J=e_se)
