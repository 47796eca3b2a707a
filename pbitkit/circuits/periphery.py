"""Periphery of a p-bit array at transistor level: wires, clock distribution and data I/O (sky130, ngspice).

The p-bit cells themselves are characterized in :mod:`pbitkit.circuits.characterize`; this module measures
the energy of everything around them that the array ledger (:mod:`pbitkit.array.ledger`) charges per cell
update or per generated sample. Each testbench is a real netlist of sky130 FETs and distributed RC wires,
run in ngspice; every measurement returns its energy together with a *source* record (testbench name,
SHA-256 of the netlist and of the whole job, model library, ngspice version) so the ledger can say where
each joule came from.

Wire model (sky130 met1, minimum width; numbers from the sky130_fd_sc_hd technology LEF of the SkyWater
PDK): area capacitance 25.7784 aF/µm², edge (fringe) capacitance 40.567 aF/µm per edge, width 0.14 µm,
thickness 0.35 µm, minimum spacing 0.14 µm, sheet resistance 0.125 Ω/sq. To ground only a minimum-width
wire has ``C' = 25.78 × 0.14 + 2 × 40.57 = 84.7 aF/µm``; in dense routing each side also couples to a
neighbour at minimum spacing, ``ε_r ε_0 t / s`` with ``ε_r = 3.9`` (SiO2; a parallel-plate estimate, not a
PDK number) ``= 86.3 aF/µm`` per side. The default :data:`MET1_DENSE` (``C' = 257 aF/µm``, ``R' = 0.89
Ω/µm``) counts both sides as switching against quiet neighbours — inside the 0.2–0.35 fF/µm range used by
the DTM paper's model. Wires are π-ladders of ``n_seg`` segments.

Testbenches (each returns supply energies; ideal sources only drive *inputs*, whose energy belongs to the
stage before and is counted there):

:func:`render_wire_tb`
    An inverter (the cell's output driver) driving a wire of ``length_um`` with ``n_loads`` receiver gates
    at its end (the neighbours' bias-network input buffers, powered from a separate, unmeasured supply:
    their own switching is counted in the bias-network testbench). Hand analysis: energy per full cycle
    ``E = (C' ℓ + C_loads + C_self) V²``, so ``dE/dℓ = C' V²`` exactly for a linear wire.
:func:`render_clock_tree_tb`
    A comb clock tree: root buffer, spine along ``n_rows`` rows (one cell pitch per row), a row buffer per
    row driving a row wire past ``n_cols`` cells (one pitch each), each cell's clock pins (an nFET and a
    pFET gate, sized like the StrongARM's tail and reset devices) behind a 0-V sense source. The
    distribution energy is the supply energy minus the charge delivered into the clock pins times ``V``
    (the pins' own ``C V²`` is counted by the cell that owns them — the StrongARM's characterization
    already includes its clock drive). Hand analysis: ``dE/d(pitch) = C'·(wire length per pitch)·V²``.
:func:`measure_readout`
    Reading a free-running cell once per update: the StrongARM comparator of the ``strongarm`` cell (its
    default sizes, noise source off) deciding on a fixed differential input, clocked once per update;
    energy per decision = supply energy + the clock pins' ``V·Q`` (as for the ``strongarm`` cell). It runs
    at the StrongARM's 0.9 V input common mode: a cell whose output sits near ground (the 85 mV latch)
    needs the pFET-input mirror image of this comparator, of similar size and energy.
:func:`render_io_tb`
    One bit line of ``length_um`` (an array column) with the ``n_cells`` access transistors on it.
    ``mode="write"``: a periphery driver (inverter chain 1×, 4×) drives the bit line; at the far end the
    selected cell's clamp path (word-line inverter, transmission gate, storage latch with weak feedback)
    stores the bit. ``mode="read"``: the cell's read buffer drives the bit line through its transmission
    gate to a periphery receiver. The word line (a wire of ``wordline_um`` with ``n_cells`` gate loads and its
    driver) pulses once per access. Data toggles at every access (worst case). Hand analysis: the bit line
    adds ``C' ℓ V²`` per cycle (two accesses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbitkit.circuits.elements import mos
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, SimResult, run
from pbitkit.errors import ConfigError
from pbitkit.io import sha256_bytes

__all__ = [
    "LOGIC_ROLES",
    "WireLayer",
    "MET1_DENSE",
    "MET1_ISOLATED",
    "render_wire_tb",
    "render_clock_tree_tb",
    "render_io_tb",
    "measure_wire",
    "measure_clock_tree",
    "measure_io",
    "measure_readout",
    "source_record",
]

EPS0_F_PER_UM = 8.8541878128e-18


@dataclass(frozen=True)
class WireLayer:
    """Capacitance (F/µm) and resistance (Ω/µm) of a routing wire, with where the numbers came from."""

    name: str
    c_per_um_F: float
    r_per_um_Ohm: float
    source: str

    def __post_init__(self) -> None:
        for key in ("c_per_um_F", "r_per_um_Ohm"):
            v = getattr(self, key)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"WireLayer.{key} must be a positive number, got {v!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "c_per_um_F": self.c_per_um_F, "r_per_um_Ohm": self.r_per_um_Ohm,
                "source": self.source}


_LEF = "sky130_fd_sc_hd technology LEF (SkyWater sky130 PDK)"
_MET1_W, _MET1_T, _MET1_S = 0.14, 0.35, 0.14
_MET1_AREA_F_PER_UM2, _MET1_EDGE_F_PER_UM = 25.7784e-18, 40.567e-18
_MET1_C_GROUND = _MET1_AREA_F_PER_UM2 * _MET1_W + 2 * _MET1_EDGE_F_PER_UM
_MET1_C_COUPLE = 3.9 * EPS0_F_PER_UM * _MET1_T / _MET1_S
_MET1_R = 0.125 / _MET1_W

#: Minimum-width met1 to substrate only (area + two edges, LEF numbers).
MET1_ISOLATED = WireLayer(
    "sky130 met1, min width, isolated", _MET1_C_GROUND, _MET1_R,
    f"{_LEF}: met1 CPERSQDIST 25.7784 aF/um^2 x 0.14 um + 2 x EDGECAPACITANCE 40.567 aF/um; RPERSQ 0.125 ohm/sq",
)
#: Minimum-width met1 in dense routing: LEF area + fringe plus lateral coupling on both sides.
MET1_DENSE = WireLayer(
    "sky130 met1, min width, dense", _MET1_C_GROUND + 2 * _MET1_C_COUPLE, _MET1_R,
    f"{_LEF}: met1 area+fringe {_MET1_C_GROUND * 1e18:.1f} aF/um, plus lateral coupling to both min-spaced "
    f"neighbours 2 x 3.9 eps0 x 0.35 um / 0.14 um = {2 * _MET1_C_COUPLE * 1e18:.1f} aF/um (parallel-plate estimate)",
)


#: Device roles (nFET, pFET) of the periphery's logic by flavour: ``"std"`` the 1.8 V devices, ``"lvt"`` the
#: low-Vt ones (sky130 ``nfet_01v8_lvt``/``pfet_01v8_lvt``) that switch fast enough on a 0.45-0.6 V supply.
LOGIC_ROLES: dict[str, tuple[str, str]] = {"std": ("nfet", "pfet"), "lvt": ("nfet_lvt", "pfet_lvt")}
#: Shortest channel (µm) of a device role where it exceeds 0.15 µm (sky130's low-Vt pFET has no shorter bin).
_MIN_L_UM = {"pfet_lvt": 0.35}


def _f(x: float) -> str:
    return f"{x:.9g}"


def _fet(lib: ModelLibrary, name: str, d: str, g: str, s: str, b: str, role: str, w_um: float, l_um: float) -> str:
    """A MOSFET line of device ``role`` (``"nfet"``/``"pfet"`` through :func:`mos`, others by model name)."""
    if role in ("nfet", "pfet"):
        return mos(lib, name, d, g, s, b, "n" if role == "nfet" else "p", w_um, l_um)
    if w_um <= 0 or l_um <= 0:
        raise ConfigError(f"transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
    return f"X{name} {d} {g} {s} {b} {lib.device(role)} w={w_um:g} l={l_um:g}"


def _roles(flavour: str) -> tuple[str, str]:
    if flavour not in LOGIC_ROLES:
        raise ConfigError(f"periphery: flavour must be one of {sorted(LOGIC_ROLES)}, got {flavour!r}")
    return LOGIC_ROLES[flavour]


def _inv(lib: ModelLibrary, name: str, inp: str, out: str, vdd: str, k: float = 1.0, l_um: float = 0.15,
         flavour: str = "std") -> list[str]:
    """CMOS inverter of ``k`` × minimum size (nFET 0.42 µm, pFET 1.0 µm) of the ``flavour``'s devices."""
    rn, rp = _roles(flavour)
    return [_fet(lib, f"N{name}", out, inp, "0", "0", rn, 0.42 * k, max(l_um, _MIN_L_UM.get(rn, 0.0))),
            _fet(lib, f"P{name}", out, inp, vdd, vdd, rp, 1.0 * k, max(l_um, _MIN_L_UM.get(rp, 0.0)))]


def _ladder(name: str, a: str, b: str, length_um: float, layer: WireLayer, n_seg: int) -> tuple[list[str], list[str]]:
    """π-ladder of ``n_seg`` segments from node ``a`` to ``b``; returns (lines, internal nodes a..b)."""
    if not (length_um > 0 and math.isfinite(length_um)):
        raise ConfigError(f"wire {name}: length_um must be > 0, got {length_um!r}")
    if n_seg < 1:
        raise ConfigError(f"wire {name}: n_seg must be >= 1, got {n_seg!r}")
    nodes = [a] + [f"{name}_{k}" for k in range(1, n_seg)] + [b]
    r = layer.r_per_um_Ohm * length_um / n_seg
    c = layer.c_per_um_F * length_um / n_seg / 2.0
    lines = []
    for k in range(n_seg):
        lines += [f"R{name}{k} {nodes[k]} {nodes[k + 1]} {_f(r)}",
                  f"C{name}{k}a {nodes[k]} 0 {_f(c)}", f"C{name}{k}b {nodes[k + 1]} 0 {_f(c)}"]
    return lines, nodes


def _pulse(name: str, node: str, vdd: float, period: float, tr: float, delay: float = 0.0) -> str:
    return (f"V{name} {node} 0 PULSE(0 {_f(vdd)} {_f(delay + period / 4)} {_f(tr)} {_f(tr)} "
            f"{_f(period / 2 - tr)} {_f(period)})")


def _check_common(vdd_V: float, period_s: float, n_periods: int) -> None:
    if not (vdd_V > 0 and math.isfinite(vdd_V)):
        raise ConfigError(f"periphery testbench: vdd_V must be > 0, got {vdd_V!r}")
    if not (period_s > 0 and math.isfinite(period_s)):
        raise ConfigError(f"periphery testbench: period_s must be > 0, got {period_s!r}")
    if n_periods < 2:
        raise ConfigError(f"periphery testbench: n_periods must be >= 2 (one warm-up period), got {n_periods!r}")


def render_wire_tb(lib: ModelLibrary, *, length_um: float, layer: WireLayer = MET1_DENSE, n_loads: int = 1,
                   vdd_V: float = 1.8, driver_k: float = 4.0, n_seg: int = 8, period_s: float = 10e-9,
                   n_periods: int = 3, temp_C: float = 27.0, flavour: str = "std") -> str:
    """Cell output driver (``driver_k`` × minimum inverter) + wire + ``n_loads`` receiver gates (see the module
    docstring), all of the ``flavour``'s devices (:data:`LOGIC_ROLES`). Vectors ``i(vdd)``, ``v(wend)``."""
    _check_common(vdd_V, period_s, n_periods)
    if n_loads < 0:
        raise ConfigError(f"wire testbench: n_loads must be >= 0, got {n_loads!r}")
    wire, _ = _ladder("w", "w0", "wend", length_um, layer, n_seg)
    lines = [f"* pbitkit wire testbench: {length_um:g} um of {layer.name}, {n_loads} loads ({lib.source})",
             lib.include_line, f".temp {_f(temp_C)}", f"Vdd vdd 0 {_f(vdd_V)}", f"Vddr vddr 0 {_f(vdd_V)}",
             _pulse("in", "in", vdd_V, period_s, period_s / 40)]
    lines += _inv(lib, "drv", "in", "w0", "vdd", driver_k, flavour=flavour)
    lines += wire
    for j in range(n_loads):
        lines += _inv(lib, f"rx{j}", "wend", f"rx{j}", "vddr", flavour=flavour)
    lines += [f".tran {_f(period_s / 400)} {_f(n_periods * period_s)}", ".end"]
    return "\n".join(lines) + "\n"


def render_clock_tree_tb(lib: ModelLibrary, *, pitch_um: float, n_rows: int = 2, n_cols: int = 8,
                         layer: WireLayer = MET1_DENSE, vdd_V: float = 1.8, pin_wn_um: float = 2.0,
                         pin_wp_um: float = 4.0, row_buffer_k: float = 2.0, root_buffer_k: float = 4.0,
                         period_s: float = 10e-9, n_periods: int = 3, temp_C: float = 27.0, flavour: str = "std",
                         pin_roles: tuple[str, str] = ("nfet", "pfet"), pin_l_um: float = 0.15) -> str:
    """Comb clock tree over ``n_rows × n_cols`` cells (see the module docstring); buffers of the ``flavour``'s
    devices, each cell's clock pins an nFET and a pFET gate of ``pin_roles`` (W ``pin_wn_um``/``pin_wp_um``).

    Vectors: ``i(vdd)`` and ``i(vpin{r}_{c})`` (current into each cell's clock pins).
    """
    _check_common(vdd_V, period_s, n_periods)
    if n_rows < 1 or n_cols < 1:
        raise ConfigError(f"clock tree: n_rows and n_cols must be >= 1, got {n_rows}, {n_cols}")
    lines = [f"* pbitkit clock tree: {n_rows} x {n_cols} cells, pitch {pitch_um:g} um, {layer.name} ({lib.source})",
             lib.include_line, f".temp {_f(temp_C)}", f"Vdd vdd 0 {_f(vdd_V)}", f"Vddp vddp 0 {_f(vdd_V)}",
             _pulse("clk", "clk", vdd_V, period_s, period_s / 100)]
    lines += _inv(lib, "root1", "clk", "rootm", "vdd", 1.0, flavour=flavour)
    lines += _inv(lib, "root2", "rootm", "s0", "vdd", root_buffer_k, flavour=flavour)
    for r in range(n_rows):
        seg, _ = _ladder(f"sp{r}", f"s{r}", f"s{r + 1}", pitch_um, layer, 1)
        lines += seg
        lines += _inv(lib, f"row{r}a", f"s{r + 1}", f"rm{r}", "vdd", 1.0, flavour=flavour)
        lines += _inv(lib, f"row{r}b", f"rm{r}", f"r{r}_0", "vdd", row_buffer_k, flavour=flavour)
        for c in range(n_cols):
            seg, _ = _ladder(f"rw{r}_{c}", f"r{r}_{c}", f"r{r}_{c + 1}", pitch_um, layer, 1)
            lines += seg
            lines += [f"Vpin{r}_{c} r{r}_{c + 1} pin{r}_{c} 0",
                      _fet(lib, f"pn{r}_{c}", "0", f"pin{r}_{c}", "0", "0", pin_roles[0], pin_wn_um, pin_l_um),
                      _fet(lib, f"pp{r}_{c}", "vddp", f"pin{r}_{c}", "vddp", "vddp", pin_roles[1], pin_wp_um,
                           pin_l_um)]
    lines += [f".tran {_f(period_s / 1000)} {_f(n_periods * period_s)}", ".end"]
    return "\n".join(lines) + "\n"


def render_io_tb(lib: ModelLibrary, *, mode: str, length_um: float, n_cells: int, wordline_um: float | None = None,
                 layer: WireLayer = MET1_DENSE, vdd_V: float = 1.8, n_seg: int = 8, period_s: float = 10e-9,
                 n_periods: int = 3, temp_C: float = 27.0) -> str:
    """Bit line write (``mode="write"``) or read (``mode="read"``) path (see the module docstring).

    Two accesses per period, the data bit toggling at each. Vectors: ``i(vdd)``, ``v(s)`` (the stored bit
    for a write), ``v(rx)`` (the periphery receiver's output for a read).
    """
    _check_common(vdd_V, period_s, n_periods)
    if mode not in ("write", "read"):
        raise ConfigError(f"I/O testbench: mode must be 'write' or 'read', got {mode!r}")
    if n_cells < 1:
        raise ConfigError(f"I/O testbench: n_cells must be >= 1, got {n_cells!r}")
    wl_um = length_um if wordline_um is None else wordline_um
    half = period_s / 2
    tr = period_s / 200
    lines = [f"* pbitkit I/O {mode} path: bit line {length_um:g} um, {n_cells} cells, {layer.name} ({lib.source})",
             lib.include_line, f".temp {_f(temp_C)}", f"Vdd vdd 0 {_f(vdd_V)}",
             # data toggles at the start of each half period; the word line pulses in its middle
             f"Vd d 0 PULSE(0 {_f(vdd_V)} {_f(0.05 * half)} {_f(tr)} {_f(tr)} {_f(half - tr)} {_f(period_s)})",
             f"Vwl wlin 0 PULSE({_f(vdd_V)} 0 {_f(0.3 * half)} {_f(tr)} {_f(tr)} {_f(0.4 * half)} {_f(half)})"]
    # word line: driver (input inverted: wlin low -> wl high), wire, the other cells' access gates
    wl_wire, wl_nodes = _ladder("wl", "wl0", "wl", wl_um, layer, n_seg)
    lines += _inv(lib, "wld", "wlin", "wl0", "vdd", 4.0) + wl_wire
    n_other = n_cells - 1
    bl_wire, bl_nodes = _ladder("bl", "bl0", "blend", length_um, layer, n_seg)
    lines += bl_wire
    # the other cells on this column: access transistors (off) on the bit line, spread over the segments;
    # the other cells on this row: access gates on the word line
    per_seg = n_other / n_seg
    if per_seg > 0:
        for k in range(n_seg):
            lines += [mos(lib, f"ab{k}", bl_nodes[k + 1], "0", f"ab{k}", "0", "n", 0.42 * per_seg, 0.15),
                      mos(lib, f"aw{k}", "0", wl_nodes[k + 1], "0", "0", "n", 0.42 * per_seg, 0.15)]
    # the selected cell: local complement of the word line, transmission gate
    lines += _inv(lib, "wlb", "wl", "wlb", "vdd")
    if mode == "write":
        lines += _inv(lib, "wd1", "d", "dm", "vdd", 1.0) + _inv(lib, "wd2", "dm", "bl0", "vdd", 4.0)
        lines += [mos(lib, "tgn", "blend", "wl", "s", "0", "n", 0.84, 0.15),
                  mos(lib, "tgp", "blend", "wlb", "s", "vdd", "p", 2.0, 0.15)]
        # storage latch: forward inverter s -> sb, weak feedback sb -> s
        lines += _inv(lib, "stf", "s", "sb", "vdd") + _inv(lib, "stb", "sb", "s", "vdd", 1.0, 1.0)
    else:
        # the cell's output bit (ideal source: the cell's own node) through its read buffer onto the bit line
        lines += _inv(lib, "rb", "d", "rbo", "vdd", 2.0)
        lines += [mos(lib, "tgn", "rbo", "wl", "blend", "0", "n", 0.84, 0.15),
                  mos(lib, "tgp", "rbo", "wlb", "blend", "vdd", "p", 2.0, 0.15)]
        # periphery receiver (keeper holds the bit line between accesses)
        lines += _inv(lib, "rx", "bl0", "rx", "vdd") + _inv(lib, "kp", "rx", "bl0", "vdd", 1.0, 2.0)
    lines += [f".tran {_f(period_s / 1000)} {_f(n_periods * period_s)}", ".end"]
    return "\n".join(lines) + "\n"


def source_record(testbench: str, job: SimJob, res: SimResult, lib: ModelLibrary, **params: Any) -> dict[str, Any]:
    """Where a periphery energy came from: testbench, netlist and job hashes, models, ngspice version, inputs."""
    return {"kind": "ngspice", "testbench": f"pbitkit.circuits.periphery.{testbench}",
            "netlist_sha256": sha256_bytes(job.netlist.encode()), "job_sha256": job.content_hash(),
            "models": lib.source, "library_sha256": lib.files.get("library", ""),
            "ngspice_version": res.ngspice_version, "params": params}


def _supply_energy(res: SimResult, vdd_V: float, t0: float, t1: float, vec: str = "i(vdd)") -> float:
    t = np.real(res.vector("time"))
    i = -np.real(res.vector(vec))
    m = (t >= t0) & (t <= t1)
    return vdd_V * float(np.trapezoid(i[m], t[m]))


def _lib(library: ModelLibrary | None) -> ModelLibrary:
    return library if library is not None else get_library("sky130", "tt")


def measure_wire(lengths_um: Sequence[float], *, n_loads: int = 1, layer: WireLayer = MET1_DENSE,
                 vdd_V: float = 1.8, driver_k: float = 4.0, library: ModelLibrary | None = None,
                 period_s: float = 10e-9, n_periods: int = 3, temp_C: float = 27.0,
                 flavour: str = "std") -> dict[str, Any]:
    """Energy per full output cycle (one rise + one fall) of the driver + wire, at each wire length.

    Returns ``{"lengths_um", "energy_per_cycle_J", "fixed_J" (intercept), "per_um_J" (slope, fitted),
    "hand_per_um_J" (C' V²), "layer", "sources" (one per run)}``. The cycles after the first (warm-up)
    period are measured.

    Raises
    ------
    SimulationError
        If the far end of a wire does not reach 95 % of the swing within half a period (driver too weak for
        the wire: the energy would be under-counted).
    """
    from pbitkit.errors import SimulationError

    lib = _lib(library)
    if len(lengths_um) < 2:
        raise ConfigError("measure_wire: give at least two lengths (the slope is the wire's C' V^2)")
    energies, sources = [], []
    for ell in lengths_um:
        net = render_wire_tb(lib, length_um=float(ell), layer=layer, n_loads=n_loads, vdd_V=vdd_V,
                             driver_k=driver_k, period_s=period_s, n_periods=n_periods, temp_C=temp_C,
                             flavour=flavour)
        job = SimJob(netlist=net, vectors=("i(vdd)", "v(wend)"), label=f"wire {ell:g} um")
        res = run(job)
        t, v = np.real(res.vector("time")), np.real(res.vector("v(wend)"))
        # input rises at period/4 (output falls), falls at 3 period/4 (output rises): check both settle
        t_low, t_high = (n_periods - 1) * period_s + 0.7 * period_s, (n_periods - 1) * period_s + 0.2 * period_s
        v_low, v_high = float(np.interp(t_low, t, v)), float(np.interp(t_high, t, v))
        if not (v_high > 0.95 * vdd_V and v_low < 0.05 * vdd_V):
            raise SimulationError(f"wire testbench {ell:g} um: the far end did not settle (high {v_high:.3f} V, "
                                  f"low {v_low:.3f} V of {vdd_V} V); use a stronger driver or a longer period")
        e = _supply_energy(res, vdd_V, period_s, n_periods * period_s) / (n_periods - 1)
        energies.append(e)
        sources.append(source_record("render_wire_tb", job, res, lib, length_um=float(ell), n_loads=n_loads,
                                     vdd_V=vdd_V, driver_k=driver_k, layer=layer.name, period_s=period_s,
                                     flavour=flavour))
    slope, icpt = np.polyfit(np.asarray(lengths_um, float), np.asarray(energies), 1)
    return {"lengths_um": [float(x) for x in lengths_um], "energy_per_cycle_J": energies, "fixed_J": float(icpt),
            "per_um_J": float(slope), "hand_per_um_J": layer.c_per_um_F * vdd_V**2, "n_loads": n_loads,
            "vdd_V": vdd_V, "flavour": flavour, "period_s": period_s, "layer": layer.to_dict(), "sources": sources}


def measure_clock_tree(*, pitch_um: float, n_rows: int = 2, n_cols: int = 8, layer: WireLayer = MET1_DENSE,
                       vdd_V: float = 1.8, library: ModelLibrary | None = None, period_s: float = 10e-9,
                       n_periods: int = 3, temp_C: float = 27.0, **kw: Any) -> dict[str, Any]:
    """Clock distribution energy per cell per clock cycle (supply energy minus the pins' ``V·Q``).

    Returns ``{"energy_per_cell_J" (distribution only), "pin_energy_per_cell_J", "total_per_cell_J",
    "wire_um_per_cell", "hand_wire_per_cell_J" (C' × wire per cell × V²), "source"}``.
    """
    lib = _lib(library)
    net = render_clock_tree_tb(lib, pitch_um=pitch_um, n_rows=n_rows, n_cols=n_cols, layer=layer, vdd_V=vdd_V,
                               period_s=period_s, n_periods=n_periods, temp_C=temp_C, **kw)
    pins = tuple(f"i(vpin{r}_{c})" for r in range(n_rows) for c in range(n_cols))
    job = SimJob(netlist=net, vectors=("i(vdd)",) + pins, label=f"clock tree {n_rows}x{n_cols} pitch {pitch_um:g} um")
    res = run(job)
    t = np.real(res.vector("time"))
    n_cyc = n_periods - 1
    n = n_rows * n_cols
    total = _supply_energy(res, vdd_V, period_s, n_periods * period_s) / n_cyc / n
    # the pins charge while the clock is high (the input rises at P/4 and falls at 3P/4 of each period; the
    # tree's four inversions keep the polarity): net charge in over those half periods, times V
    q_pins = 0.0
    for k in range(1, n_periods):
        m = (t >= k * period_s + period_s / 4) & (t <= k * period_s + 3 * period_s / 4)
        q_pins += sum(float(np.trapezoid(np.real(res.vector(p))[m], t[m])) for p in pins)
    e_pins = vdd_V * q_pins / n_cyc / n
    wire_um = pitch_um * (n_rows + n_rows * n_cols) / n
    return {"energy_per_cell_J": total - e_pins, "pin_energy_per_cell_J": e_pins, "total_per_cell_J": total,
            "wire_um_per_cell": wire_um, "hand_wire_per_cell_J": layer.c_per_um_F * wire_um * vdd_V**2,
            "n_rows": n_rows, "n_cols": n_cols, "pitch_um": pitch_um, "vdd_V": vdd_V, "layer": layer.to_dict(),
            "period_s": period_s, **{k: v for k, v in kw.items() if isinstance(v, (int, float, str, tuple))},
            "source": source_record("render_clock_tree_tb", job, res, lib, pitch_um=pitch_um, n_rows=n_rows,
                                    n_cols=n_cols, vdd_V=vdd_V, layer=layer.name, period_s=period_s,
                                    **{k: v for k, v in kw.items() if isinstance(v, (int, float, str, tuple))})}


def measure_io(mode: str, *, length_um: float, n_cells: int, wordline_um: float | None = None,
               layer: WireLayer = MET1_DENSE, vdd_V: float = 1.8, library: ModelLibrary | None = None,
               period_s: float = 10e-9, n_periods: int = 3, temp_C: float = 27.0) -> dict[str, Any]:
    """Energy per access (one written or read bit, the bit changing) of the I/O path of :func:`render_io_tb`.

    Also checks that the access worked (the stored / received bit follows the data); raises
    :class:`~pbitkit.errors.SimulationError` if it did not. Returns ``{"energy_per_access_J",
    "hand_bitline_J" (C' ℓ V² / 2 per access), "source", ...}``.
    """
    from pbitkit.errors import SimulationError

    lib = _lib(library)
    net = render_io_tb(lib, mode=mode, length_um=length_um, n_cells=n_cells, wordline_um=wordline_um, layer=layer,
                       vdd_V=vdd_V, period_s=period_s, n_periods=n_periods, temp_C=temp_C)
    probe = "v(s)" if mode == "write" else "v(rx)"
    job = SimJob(netlist=net, vectors=("i(vdd)", probe), label=f"I/O {mode} {length_um:g} um")
    res = run(job)
    e = _supply_energy(res, vdd_V, period_s, n_periods * period_s) / (2 * (n_periods - 1))
    # the bit after each access of the last period: data is high in the first half period, low in the second
    t = np.real(res.vector("time"))
    v = np.real(res.vector(probe))
    half = period_s / 2
    t_hi, t_lo = (n_periods - 1) * period_s + 0.95 * half, (n_periods - 1) * period_s + 1.95 * half
    v_hi, v_lo = float(np.interp(t_hi, t, v)), float(np.interp(t_lo, t, v))
    want_hi, want_lo = v_hi, v_lo  # write: s = d; read: rx = not(bit line) = not(not d)
    if not (want_hi > 0.8 * vdd_V and want_lo < 0.2 * vdd_V):
        raise SimulationError(f"I/O {mode} testbench ({length_um:g} um): the bit did not arrive "
                              f"(probe {probe}: {v_hi:.3f} V after writing 1, {v_lo:.3f} V after writing 0)")
    return {"mode": mode, "energy_per_access_J": e, "length_um": length_um, "n_cells": n_cells,
            "wordline_um": length_um if wordline_um is None else wordline_um,
            "hand_bitline_J": layer.c_per_um_F * length_um * vdd_V**2 / 2, "vdd_V": vdd_V, "layer": layer.to_dict(),
            "source": source_record("render_io_tb", job, res, lib, mode=mode, length_um=length_um, n_cells=n_cells,
                                    vdd_V=vdd_V, layer=layer.name, period_s=period_s)}


def measure_readout(*, delta_V: float = 0.01, f_clk_Hz: float = 100e6, n_decisions: int = 4, vdd_V: float = 1.8,
                    library: ModelLibrary | None = None, temp_C: float = 27.0) -> dict[str, Any]:
    """Energy per decision of the readout comparator (see the module docstring), input ``+delta_V``.

    Returns ``{"energy_per_read_J" (one decision at ``f_clk_Hz``), "idle_power_W" (supply power late in the
    reset phase: what the comparator draws between decisions when the cell is read less often), "supply_J",
    "clock_J", "source", ...}``.

    Raises
    ------
    SimulationError
        If the comparator does not decide ``1`` in every measured period.
    """
    from pbitkit.circuits.builtin.strongarm import StrongArmCell, render_strongarm
    from pbitkit.errors import SimulationError

    if n_decisions < 2:
        raise ConfigError(f"measure_readout: n_decisions must be >= 2, got {n_decisions!r}")
    lib = _lib(library)
    p = StrongArmCell().params({"f_clk_Hz": f_clk_Hz})
    period = 1.0 / f_clk_Hz
    net = render_strongarm(lib, p, vdd_V=vdd_V, temp_C=temp_C, bias_V=delta_V, noise=False)
    net += f".tran {_f(period / 2000)} {_f((n_decisions + 1) * period)}\n.end\n"
    job = SimJob(netlist=net, vectors=("i(vdd)", "i(vclk)", "v(outp)", "v(outn)"), label="readout comparator")
    res = run(job)
    t = np.real(res.vector("time"))
    m = t >= period
    supply = _supply_energy(res, vdd_V, period, (n_decisions + 1) * period)
    # clock drive: net charge the clock source delivers while it rises and stays high (second half of each
    # period) times V. Not the integral of the clipped current: the simulator's trapezoidal ringing on an
    # ideal source's capacitive current makes that depend on the time step (measured: 30 fJ at a 2 ps step,
    # 890 fJ at 20 ps for the same decision)
    i_clk = -np.real(res.vector("i(vclk)"))
    clock = 0.0
    for k in range(1, n_decisions + 1):
        w = (t >= k * period + 0.45 * period) & (t <= k * period + 0.98 * period)
        clock += vdd_V * float(np.trapezoid(i_clk[w], t[w]))
    for k in range(1, n_decisions + 1):
        t_read = k * period + 0.95 * period
        d = float(np.interp(t_read, t, np.real(res.vector("v(outp)"))) - np.interp(t_read, t, np.real(res.vector("v(outn)"))))
        if d < 0.5 * vdd_V:
            raise SimulationError(f"readout comparator: wrong or no decision in period {k} (outp - outn = {d:.3f} V "
                                  f"for an input of +{delta_V} V)")
    i_sup = -np.real(res.vector("i(vdd)"))
    idle = (t % period > 0.35 * period) & (t % period < 0.48 * period) & m  # clock low (reset), settled
    p_idle = vdd_V * float(np.median(i_sup[idle]))
    return {"energy_per_read_J": (supply + clock) / n_decisions, "idle_power_W": max(p_idle, 0.0),
            "supply_J": supply / n_decisions,
            "clock_J": clock / n_decisions, "delta_V": delta_V, "f_clk_Hz": f_clk_Hz, "vdd_V": vdd_V,
            "source": source_record("measure_readout", job, res, lib, delta_V=delta_V, f_clk_Hz=f_clk_Hz, vdd_V=vdd_V,
                                    comparator="strongarm cell defaults, noise off")}
