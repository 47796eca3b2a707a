"""The ``native_latch`` cell: an all-transistor p-bit (native/low-Vt latch, pFET-pair bias, clocked readout).

Schematic (sky130; W/L in µm; every element a transistor except the port sources, the noise injection and
no explicit capacitor):

* **Core** — a cross-coupled latch of two inverters, native nFETs ``nfet_03v3_nvt`` (``wn_um/ln_um``,
  0.42/0.8) and low-Vt pFETs ``pfet_01v8_lvt`` (``wp_um/lp_um``, 2/0.35), on the core supply ``Vdd``
  (default 123.5 mV, just above the latch's bifurcation, where its two states are a few kT/C apart). Its
  own channel noise makes it wander between the states with a correlation time of ~0.1 µs.
* **Bias stage** — a ``pfet_01v8_lvt`` differential pair (``w_pair_um/l_pair_um``) on its own supply
  ``Vddb`` (0.4 V) with a subthreshold tail current source (``pfet_01v8_lvt`` ``w_tail_um/l_tail_um``, its
  gate at the port voltage ``vtail_V``: ~0.9 nA). The pair's gates are the ports ``bias`` and ``ref``: the
  ``ref`` side drives ``q``, the ``bias`` side ``qb``, so raising ``bias_V`` above ``ref_V`` steers the tail
  current into ``q`` and makes a 1 (``V_q > V_qb``) more likely.
* **Readout** — a pFET-input StrongARM clocked comparator on ``Vddr`` (0.45 V): tail, input pair and
  latch pFETs ``pfet_01v8_lvt`` 0.42/0.35, latch and reset nFETs ``nfet_01v8_lvt`` 0.42/0.15 (outputs and,
  with ``ro_reset_x``, the intermediate nodes ``x1``/``x2`` reset to ground). Its inputs are ``q``/``qb``; it
  resets while the clock is low and decides during the last ``t_eval_s`` (170 ns) of every
  ``sample_period_s``; ``outp > outn`` is a 1. At 0.45 V its ``nfet_01v8_lvt`` devices sit ~150 mV below
  their threshold (``V_th`` ≈ 0.6 V): the clock buffer's pull-down takes ~90 ns to bring ``clkb`` down (the
  decision starts 30–40 ns after the clock edge) and the cross-coupled nFETs regenerate with
  ``C_out / g_m`` ≈ 18 ns, so the window is 170 ns long for the outputs to reach the rails
  (:func:`rail_to_rail`; 100 ns left the loser 100–300 mV above ground for ``|x|`` of a few mV) and the reset
  130 ns, enough for no memory of the last decision. Its offset (tens of mV under mismatch) is trimmed by
  the n-wells of its input and latch pFETs (``ro_trim_V``).
* **Auto-zero switch** — an ``nfet_01v8_lvt`` 0.42/0.15 between ``q`` and ``qb`` with its gate at the port
  ``az`` (``az_V``: 0 V in use, off); the readout's calibration turns it on to null the comparator at
  ``x = 0`` at the core's own common mode (:func:`pbitkit.circuits.native_latch_trim.readout_null`).
* **Clock buffer** — an inverter (``nfet_01v8_lvt`` 0.42/0.15, ``pfet_01v8_lvt`` 0.42/0.35) on its own
  supply ``Vddc`` (= ``Vddr``) turns the port clock ``clk`` (a 0 -> ``Vddr`` pulse) into the comparator's
  active-low ``clkb``. Its pull-up is a low-Vt pFET: a standard-Vt pFET (|V_GS| = 0.45 V, at its
  threshold) raised ``clkb`` over ~100 ns, which left the comparator's outputs partly un-reset at the
  next decision under mismatch (a memory of the last decision of tens of mV, input-referred).

Noise: white current noise at ``q`` and ``qb`` (seeded ``filesource``, :mod:`pbitkit.circuits.noise`) with
the one-sided PSD ``sum 2 q |I_D| coth(|V_DS| / 2 U_T)`` of the three FETs on each node (the core's nFET
and pFET and the bias pair's device), evaluated inside the session at the metastable operating point
(``bias = ref``). The readout's own noise is not injected (it only blurs decisions on |x| of a few mV).

Every energy is counted: the core, bias, readout and clock-buffer supplies and the port clock's drive
(:func:`pbitkit.circuits.cell_base.add_clock_energy`); the row's ``energy_per_bit_J`` is the total per
read, and the ``*_energy_per_bit_J`` columns split it by supply.

Predicted tier: with ``x = V_q - V_qb`` forced by a source, a DC sweep at each bias gives the restoring
current including the bias pair's differential current; with the AC differential capacitance and the
operating-point noise PSD, the 1-D stationary density gives P(1) and mean first passages the telegraph
rates (:mod:`pbitkit.circuits.predict`); a short noiseless transient gives the readout's energy per read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bits import BITS_KEY, encode_bits
from pbitkit.circuits.cell_base import (
    N_FLIPS_KEY,
    Cell,
    JobMeta,
    LibraryFactory,
    SweepPoint,
    base_row,
    bit_stats,
    check_param,
    check_time_steps,
    default_library,
    energy_columns,
)
from pbitkit.circuits.elements import fmt_number, noise_injection_lines, netlist_header
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, run, write_command
from pbitkit.circuits.noise import Q_E, channel_noise_psd, session_noise_files
from pbitkit.circuits.predict import stationary_p1, stationary_rates
from pbitkit.constants import thermal_voltage
from pbitkit.errors import ConfigError

__all__ = ["NativeLatchCell", "render_native_latch", "NATIVE_LATCH_NOISE_FETS", "NATIVE_LATCH_SUPPLIES",
           "NATIVE_LATCH_TRIM_SOURCES", "RAIL_MARGIN", "clock_port_energy", "rail_to_rail", "readout_levels",
           "readout_aperture"]

_f = fmt_number

#: The FETs whose channel noise is injected at each node: ``{node: ((instance, device role), ...)}``.
NATIVE_LATCH_NOISE_FETS: dict[str, tuple[tuple[str, str], ...]] = {
    "q": (("N1", "nfet_nvt"), ("P1", "pfet_lvt"), ("BB", "pfet_lvt")),
    "qb": (("N2", "nfet_nvt"), ("P2", "pfet_lvt"), ("BA", "pfet_lvt")),
}

#: The supplies whose energy is counted: ``(source name, row column prefix)``.
NATIVE_LATCH_SUPPLIES: tuple[tuple[str, str], ...] = (
    ("vdd", "core"), ("vddb", "bias"), ("vddr", "readout"), ("vddc", "clock_buffer"))

#: The n-well (body) trim sources of the core pFETs and of the readout's input/latch pFETs.
NATIVE_LATCH_TRIM_SOURCES: tuple[str, ...] = ("vnwa", "vnwb", "vnwr1", "vnwr2")

#: Readout device sizes (W, L in µm): clock buffer, comparator tail / inputs / latch / resets.
_READOUT_SIZES = {"buf_n": (0.42, 0.15), "buf_p": (0.42, 0.35), "tail": (0.42, 0.35), "lat_p": (0.42, 0.35),
                  "lat_n": (0.42, 0.15), "rst": (0.42, 0.15), "az": (0.42, 0.15)}


def _mos(lib: ModelLibrary, name: str, d: str, g: str, s: str, b: str, role: str, w_um: float,
         l_um: float) -> str:
    """One MOSFET line of the device ``role`` (``"nfet_nvt"``, ``"pfet_lvt"``, ``"nfet_lvt"``, ...).

    Raises
    ------
    ConfigError
        If the library lacks the device (e.g. the generic card) or W/L are not positive.
    """
    if w_um <= 0 or l_um <= 0:
        raise ConfigError(f"native_latch transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
    if lib.instance_prefix != "X":
        raise ConfigError(f"the native_latch cell needs the sky130 library (low-Vt and native devices); "
                          f"got {lib.source}")
    return f"X{name} {d} {g} {s} {b} {lib.device(role)} w={w_um:g} l={l_um:g}"


def _op_vector(lib: ModelLibrary, name: str, role: str, quantity: str) -> str:
    return f"@m.x{name.lower()}.m{lib.device(role)}[{quantity}]"


def render_native_latch(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                        bias_V: float, mc_seed: int = -1, noise: bool = True) -> str:
    """The cell's circuit (no analysis); see the module docstring for the schematic.

    Nodes: core ``q``/``qb``, ``vdd``; bias ``vddb``, ``tail``, ports ``bias``, ``ref``, ``vtail``; readout
    ``vddr``, ``ct``, ``x1``/``x2``, ``outp``/``outn``; clock ``vddc``, port ``clk``, buffered ``clkb``;
    auto-zero gate ``az``. Port sources: ``Vdd``, ``Vddb``, ``Vddr``, ``Vddc`` (supplies), ``Vb``, ``Vr``,
    ``Vt`` (bias ports), ``Vclk`` (clock), ``Vaz`` (auto-zero switch), the n-well trims. With ``p["readout"] == 0`` the readout and clock
    are left out. With ``noise``,
    current-noise sources ``Gnq``/``Gnqb`` (gain set later with ``alter``) read
    ``noise_q.txt``/``noise_qb.txt``.
    """
    ts, te, tr = p["sample_period_s"], p["t_eval_s"], p["t_edge_s"]
    if not 0 < 2 * tr < te < ts:
        raise ConfigError(f"native_latch: need 0 < 2 t_edge_s < t_eval_s < sample_period_s, got "
                          f"t_edge_s={tr}, t_eval_s={te}, sample_period_s={ts}")
    lines = netlist_header(lib, "native_latch all-transistor p-bit cell", mc_seed=mc_seed, temp_C=temp_C)
    lines += [
        "* core: native nFET / low-Vt pFET cross-coupled latch",
        f"Vdd vdd 0 {_f(vdd_V)}",
        f"Vnwa nwa 0 {_f(vdd_V + p['nwell_V'] - p['trim_V'] / 2)}",
        f"Vnwb nwb 0 {_f(vdd_V + p['nwell_V'] + p['trim_V'] / 2)}",
        _mos(lib, "N1", "q", "qb", "0", "0", "nfet_nvt", p["wn_um"], p["ln_um"]),
        _mos(lib, "P1", "q", "qb", "vdd", "nwa", "pfet_lvt", p["wp_um"], p["lp_um"]),
        _mos(lib, "N2", "qb", "q", "0", "0", "nfet_nvt", p["wn_um"], p["ln_um"]),
        _mos(lib, "P2", "qb", "q", "vdd", "nwb", "pfet_lvt", p["wp_um"], p["lp_um"]),
        "* bias stage: low-Vt pFET differential pair with a subthreshold tail current source",
        f"Vddb vddb 0 {_f(p['vddb_V'])}",
        f"Vt vtail 0 {_f(p['vtail_V'])}",
        f"Vb bias 0 {_f(bias_V)}",
        f"Vr ref 0 {_f(p['ref_V'])}",
        _mos(lib, "BT", "tail", "vtail", "vddb", "vddb", "pfet_lvt", p["w_tail_um"], p["l_tail_um"]),
        _mos(lib, "BA", "qb", "bias", "tail", "vddb", "pfet_lvt", p["w_pair_um"], p["l_pair_um"]),
        _mos(lib, "BB", "q", "ref", "tail", "vddb", "pfet_lvt", p["w_pair_um"], p["l_pair_um"]),
    ]
    if p["readout"]:
        s = _READOUT_SIZES
        vr = p["vddr_V"]
        lines += [
            "* clock: port pulse (high = evaluate during the last t_eval_s of each period), buffered by an inverter",
            f"Vddc vddc 0 {_f(vr)}",
            f"Vclk clk 0 PULSE(0 {_f(vr)} {_f(ts - te - tr)} {_f(tr)} {_f(tr)} {_f(te - tr)} {_f(ts)})",
            _mos(lib, "CN", "clkb", "clk", "0", "0", "nfet_lvt", *s["buf_n"]),
            _mos(lib, "CP", "clkb", "clk", "vddc", "vddc", "pfet_lvt", *s["buf_p"]),
            "* readout: pFET-input StrongARM comparator (outputs reset low while clkb is high)",
            f"Vddr vddr 0 {_f(vr)}",
            f"Vnwr1 nwr1 0 {_f(vr + p['ro_nwell_V'] + p['ro_trim_V'] / 2)}",
            f"Vnwr2 nwr2 0 {_f(vr + p['ro_nwell_V'] - p['ro_trim_V'] / 2)}",
            _mos(lib, "RT", "ct", "clkb", "vddr", "vddr", "pfet_lvt", *s["tail"]),
            _mos(lib, "RI1", "x1", "q", "ct", "nwr1", "pfet_lvt", p["w_in_um"], p["l_in_um"]),
            _mos(lib, "RI2", "x2", "qb", "ct", "nwr2", "pfet_lvt", p["w_in_um"], p["l_in_um"]),
            _mos(lib, "RP1", "outn", "outp", "x1", "nwr1", "pfet_lvt", *s["lat_p"]),
            _mos(lib, "RP2", "outp", "outn", "x2", "nwr2", "pfet_lvt", *s["lat_p"]),
            _mos(lib, "RN1", "outn", "outp", "0", "0", "nfet_lvt", *s["lat_n"]),
            _mos(lib, "RN2", "outp", "outn", "0", "0", "nfet_lvt", *s["lat_n"]),
            _mos(lib, "RR1", "outn", "clkb", "0", "0", "nfet_lvt", *s["rst"]),
            _mos(lib, "RR2", "outp", "clkb", "0", "0", "nfet_lvt", *s["rst"]),
        ]
        if p["ro_reset_x"]:
            lines += [_mos(lib, "RR3", "x1", "clkb", "0", "0", "nfet_lvt", *s["rst"]),
                      _mos(lib, "RR4", "x2", "clkb", "0", "0", "nfet_lvt", *s["rst"])]
    lines += ["* auto-zero switch: shorts q and qb while the port az is high (calibration only; az = 0 V in use)",
              f"Vaz az 0 {_f(p['az_V'])}",
              _mos(lib, "SZ", "q", "az", "qb", "0", "nfet_lvt", *_READOUT_SIZES["az"])]
    if noise:
        lines.append("* channel-noise injection (seeded filesource samples -> current into q, qb)")
        for node in ("q", "qb"):
            lines += noise_injection_lines(node, node=node)
    return "\n".join(lines) + "\n"


def clock_port_energy(t_s: np.ndarray, i_into_clock_A: np.ndarray, p: Mapping[str, float],
                      reads: np.ndarray) -> float:
    """Energy (J) the port clock's driver delivers for the decisions ending at ``reads * sample_period_s``:
    ``vddr_V`` times the *net* charge the clock source delivers from the start of each rising edge to the
    start of the falling edge (the gate charge of the buffer plus its Miller charge while ``clkb`` falls).

    Not the integral of the clipped current: the ideal source's capacitive current rings at the time step,
    and clipping rectifies that (measured 0.70 fJ per read with the clipped integral against 0.2 fJ net).
    """
    ts, te, tr = p["sample_period_s"], p["t_eval_s"], p["t_edge_s"]
    q = np.concatenate(([0.0], np.cumsum(np.diff(t_s) * (i_into_clock_A[1:] + i_into_clock_A[:-1]) / 2)))
    end = np.asarray(reads, dtype=float) * ts
    return p["vddr_V"] * float(np.sum(np.interp(end - tr, t_s, q) - np.interp(end - te - tr, t_s, q)))


#: A read is rail-to-rail when the comparator's higher output is within this fraction of ``vddr_V`` of the
#: rail and the lower one within it of ground (:func:`rail_to_rail`).
RAIL_MARGIN = 0.1


def rail_to_rail(hi_V: np.ndarray | float, lo_V: np.ndarray | float, vddr_V: float,
                 margin: float = RAIL_MARGIN) -> np.ndarray:
    """Whether a comparator decision has regenerated to the rails: the higher output ``hi_V`` at least
    ``(1 - margin) vddr_V`` and the lower one ``lo_V`` at most ``margin vddr_V`` (boolean array)."""
    return (np.asarray(hi_V) >= (1 - margin) * vddr_V) & (np.asarray(lo_V) <= margin * vddr_V)


def readout_levels(x_V: Sequence[float], *, params: Mapping[str, float] | None = None, corner: str = "tt",
                   temp_C: float = 27.0, mc_seed: int = -1, vdd_V: float | None = None,
                   load_F: float = 0.0, x_after_V: Sequence[float] | None = None,
                   t_switch_s: Sequence[float] | None = None, library: LibraryFactory | None = None,
                   runner: Callable[[SimJob], SimResult] = run) -> np.ndarray:
    """The readout's outputs at each read instant for a forced core state: ``x = V_q - V_qb`` held at
    ``x_V[k]`` during period ``k`` (two sources at the core's metastable common mode ``vdd / 6 ± x / 2``; the
    core's devices stay in place), one noiseless ngspice session.

    Parameters
    ----------
    x_V : the core states, one per read period (V).
    params : cell parameters over the defaults (``readout`` is forced on).
    load_F : an explicit load capacitor on each of ``outp`` and ``outn`` (F), e.g. the input of the logic that
        holds the bit.
    x_after_V, t_switch_s : optional, one per period: ``x`` steps (in ``t_edge_s``) from ``x_V[k]`` to
        ``x_after_V[k]`` at ``t_switch_s[k]`` after the decision window opens (the clock edge), e.g. to find
        when in its window the comparator samples (:func:`readout_aperture`).

    Returns
    -------
    (n, 2) array of ``(V_outp, V_outn)`` (V) at each read instant (``t_edge_s`` + 1 ns before the period
    ends, as the transient tier reads the bit).

    Raises
    ------
    ConfigError
        An empty or non-finite ``x_V``, a negative load, ``x_after_V`` / ``t_switch_s`` not given together,
        of another length or with a switch outside ``[0, t_eval_s - 2 t_edge_s)``.
    """
    x = np.asarray(x_V, dtype=float)
    if x.ndim != 1 or x.size < 1 or not np.all(np.isfinite(x)):
        raise ConfigError("readout_levels: x_V must be a non-empty sequence of finite voltages")
    if not load_F >= 0:
        raise ConfigError(f"readout_levels: load_F must be >= 0 F, got {load_F}")
    cell = NativeLatchCell()
    p = cell.params({**(params or {}), "readout": 1.0})
    vdd = cell.default_vdd_V if vdd_V is None else float(vdd_V)
    lib = (library or default_library)(corner, mc_seed >= 0)
    ts, te, tr = p["sample_period_s"], p["t_eval_s"], p["t_edge_s"]
    if (x_after_V is None) != (t_switch_s is None):
        raise ConfigError("readout_levels: give x_after_V and t_switch_s together")
    if x_after_V is None:
        xa, tsw = x, np.full(x.size, te - 2 * tr)
    else:
        xa, tsw = np.asarray(x_after_V, dtype=float), np.asarray(t_switch_s, dtype=float)
        if xa.shape != x.shape or tsw.shape != x.shape or not (np.all(np.isfinite(xa)) and np.all(np.isfinite(tsw))):
            raise ConfigError("readout_levels: x_after_V and t_switch_s must be finite, one per period of x_V")
        if np.any(tsw < 0) or np.any(tsw >= te - 2 * tr):
            raise ConfigError(f"readout_levels: t_switch_s must lie in [0, {te - 2 * tr:g}) s of the decision window")
    net = cell.render(lib, p, vdd_V=vdd, temp_C=temp_C, bias_V=p["ref_V"], mc_seed=mc_seed, noise=False)

    def staircase(sign: float) -> str:
        v0, v1 = vdd / 6 + sign * x / 2, vdd / 6 + sign * xa / 2
        pts = [f"0 {_f(v0[0])}"]
        for k in range(x.size):
            t_sw = k * ts + ts - te + tsw[k]
            pts.append(f"{_f(k * ts + 2 * tr)} {_f(v0[k])} {_f(t_sw)} {_f(v0[k])} {_f(t_sw + tr)} {_f(v1[k])} "
                       f"{_f((k + 1) * ts)} {_f(v1[k])}")
        return "PWL(" + " ".join(pts) + ")"

    net += f"Vxq q 0 {staircase(1.0)}\nVxqb qb 0 {staircase(-1.0)}\n"
    if load_F > 0:
        net += f"Cloadp outp 0 {_f(load_F)}\nCloadn outn 0 {_f(load_F)}\n"
    ctl = [".control", f"tran {_f(ts / 300)} {_f(x.size * ts)}", write_command(["v(outp)", "v(outn)"]), ".endc",
           ".end"]
    res = runner(SimJob(netlist=net + "\n".join(ctl) + "\n", timeout_s=600.0,
                        label=f"native_latch readout levels {corner} {temp_C} C mc_seed={mc_seed}"))
    tr_plot = res.plots[0]
    t = np.real(tr_plot["time"])
    t_read = (np.arange(x.size) + 1) * ts - tr - 1e-9
    return np.stack([np.interp(t_read, t, np.real(tr_plot["v(outp)"])),
                     np.interp(t_read, t, np.real(tr_plot["v(outn)"]))], axis=1)


def readout_aperture(delays_s: Sequence[float], *, ratio: float = 1.0, x_V: float = 3e-3,
                     **kwargs: Any) -> np.ndarray:
    """When in its window the comparator samples: for each delay ``d``, the core state is ``+x`` (then, in a
    second period, ``-x``) from the clock edge until ``d`` and ``-ratio x`` (``+ratio x``) after it.

    The comparator weighs the input over its aperture with some kernel ``w(t)``; it reads the state before
    the switch when ``W(d) > ratio / (1 + ratio)`` (``W`` the kernel's cumulative fraction), so the delay at
    which the read changes side is the kernel's median for ``ratio = 1`` and its 20 % / 80 % points for
    ``ratio = 1/4`` / ``4``. ``kwargs`` go to :func:`readout_levels` (``params``, ``corner``, ``mc_seed``, ...).

    Returns
    -------
    bool array, one per delay: True where both periods read the state *before* the switch.

    Raises
    ------
    ConfigError
        ``ratio`` or ``x_V`` not > 0, or a delay outside the decision window.
    """
    if not (ratio > 0 and x_V > 0):
        raise ConfigError(f"readout_aperture: ratio and x_V must be > 0, got {ratio!r}, {x_V!r}")
    d = np.repeat(np.asarray(delays_s, dtype=float), 2)
    sign = np.tile([1.0, -1.0], d.size // 2)
    v = readout_levels(sign * x_V, x_after_V=-sign * ratio * x_V, t_switch_s=d, **kwargs)
    before = (v[:, 0] > v[:, 1]) == (sign > 0)
    return before.reshape(-1, 2).all(axis=1)


def _metastable_nodeset(vdd_V: float) -> str:
    # the symmetric (metastable) operating point sits at ~V_dd / 6 for the default sizes
    return f"nodeset v(q)={_f(vdd_V / 6)} v(qb)={_f(vdd_V / 6)}"


class NativeLatchCell(Cell):
    """All-transistor p-bit: native/low-Vt subthreshold latch, pFET-pair bias, clocked StrongARM readout."""

    name = "native_latch"
    description = ("all-transistor: native-nFET/low-Vt-pFET latch at 123.5 mV, its own channel noise, pFET-pair "
                   "bias, 0.45 V StrongARM readout")
    topology = "native/lvt cross-coupled latch + lvt pFET-pair bias + 0.45 V StrongARM readout + clock inverter"
    noise_source = "transistor"
    noise_description = "own channel noise (2qI coth(V_DS/2U_T) of its FETs at the op point)"
    all_transistor = True
    port_nodes = ("vdd", "nwa", "nwb", "vddb", "vddr", "nwr1", "nwr2", "vddc", "bias", "ref", "vtail", "clk", "az")
    card = "native_latch_card.json"
    default_vdd_V = 0.1235
    #: centre search of a device (pipeline bias centering): the bias port works over ref +- ~0.4 V, and each
    #: predicted bias value costs a DC sweep, so 81 values over +-3 default widths (-0.26...+0.46 V, 9 mV apart:
    #: at tt the same centre as 161 values and a width 0.8 % wider, at half the ngspice time)
    centering_spans = (3.0,)
    centering_points = 81
    #: the circuit renderer (same signature as :func:`render_native_latch`; the PySpice definition in
    #: :mod:`pbitkit.circuits.builtin.native_latch_pyspice` replaces it)
    render = staticmethod(render_native_latch)
    defaults = {
        # core
        "wn_um": 0.42, "ln_um": 0.8, "wp_um": 2.0, "lp_um": 0.35, "nwell_V": 0.0, "trim_V": 0.0,
        # bias stage
        "vddb_V": 0.4, "ref_V": 0.1, "vtail_V": 0.12, "w_tail_um": 0.42, "l_tail_um": 2.0,
        "w_pair_um": 0.42, "l_pair_um": 1.0,
        # readout and clock
        "readout": 1.0, "vddr_V": 0.45, "w_in_um": 0.42, "l_in_um": 0.35, "ro_nwell_V": 0.0, "ro_trim_V": 0.0,
        "ro_reset_x": 1.0,
        "az_V": 0.0,
        "sample_period_s": 300e-9, "t_eval_s": 170e-9, "t_edge_s": 0.5e-9,
        # the comparator's aperture (measurement only: readout_agreement); measured with readout_aperture
        "aperture_delay_s": 25e-9, "aperture_s": 20e-9,
        # simulation
        "noise_dt_s": 1e-9, "t_stop_s": 60e-6, "t_settle_s": 1e-6, "core_sample_s": 10e-9,
        "noise_scale": 1.0, "hysteresis_V": 0.004, "bias_half_span_V": 0.06,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        p = self.params(params)
        return (p["ref_V"] - p["bias_half_span_V"], p["ref_V"] + p["bias_half_span_V"])

    def check_params(self, p: Mapping[str, float]) -> None:
        """Ranges of the parameters (``ConfigError`` naming the parameter)."""
        n = self.name
        for k in ("wn_um", "ln_um", "wp_um", "lp_um", "w_tail_um", "l_tail_um", "w_pair_um", "l_pair_um",
                  "w_in_um", "l_in_um"):
            check_param(n, k, p[k], 0.0, 1e3, lo_open=True)
        for k in ("vddb_V", "vddr_V"):
            check_param(n, k, p[k], 0.0, 1.8, lo_open=True)
        for k in ("nwell_V", "trim_V", "ro_nwell_V", "ro_trim_V"):
            check_param(n, k, p[k], -0.5, 0.5)
        for k in ("ref_V", "vtail_V"):
            check_param(n, k, p[k], -0.5, 1.8)
        for k in ("sample_period_s", "t_eval_s", "t_edge_s", "aperture_s", "noise_dt_s", "t_stop_s", "core_sample_s"):
            check_param(n, k, p[k], 0.0, 1.0, lo_open=True)
        check_param(n, "t_settle_s", p["t_settle_s"], 0.0, 1.0)
        check_param(n, "readout", p["readout"], 0.0, 1.0, integer=True)
        check_param(n, "ro_reset_x", p["ro_reset_x"], 0.0, 1.0, integer=True)
        check_param(n, "az_V", p["az_V"], 0.0, 1.8)
        check_param(n, "noise_scale", p["noise_scale"], 0.0, 1e6)
        check_param(n, "hysteresis_V", p["hysteresis_V"], 0.0, 1.0)
        check_param(n, "bias_half_span_V", p["bias_half_span_V"], 0.0, 1.0, lo_open=True)
        check_param(n, "aperture_s", p["aperture_s"], 0.0, p["t_eval_s"], lo_open=True)
        check_param(n, "aperture_delay_s", p["aperture_delay_s"], 0.0, p["t_eval_s"] - p["aperture_s"])
        check_time_steps(n, "t_stop_s / noise_dt_s", p["t_stop_s"], p["noise_dt_s"])

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The cell at its defaults (tt, 27 °C, ``bias_V = ref_V``, noise sources present), no analysis."""
        p = self.params()
        return self.render(library or default_library("tt", False), p, vdd_V=self.default_vdd_V,
                                   temp_C=27.0, bias_V=p["ref_V"])

    # -- transient tier ---------------------------------------------------------------------------
    def _noise_psd_lines(self, lib: ModelLibrary, p: Mapping[str, float], temp_C: float, dt: float) -> list[str]:
        """Control lines computing ``s_q``/``s_qb`` (A^2/Hz) from the operating point and setting the
        noise sources' gains to ``sqrt(S / (2 dt))``."""
        ut = thermal_voltage(temp_C)
        out = []
        for node, fets in NATIVE_LATCH_NOISE_FETS.items():
            terms = [f"abs({_op_vector(lib, nm, r, 'id')})/tanh(abs({_op_vector(lib, nm, r, 'vds')})/{_f(2 * ut)}"
                     " + 1e-12)" for nm, r in fets]
            out += [f"let s_{node} = {_f(2 * Q_E)}*({' + '.join(terms)})*{_f(p['noise_scale'])}",
                    f"let sig_{node} = sqrt(s_{node}/{_f(2 * dt)})",
                    f"alter @gn{node}[gain] = $&sig_{node}"]
        return out

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        temp = pts[0].temp_C
        if p["t_stop_s"] < p["t_settle_s"] + 20 * p["sample_period_s"]:
            raise ConfigError(f"native_latch: t_stop_s={p['t_stop_s']} leaves fewer than 20 reads after "
                              f"t_settle_s={p['t_settle_s']}")
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=temp, bias_V=p["ref_V"], mc_seed=pts[0].mc_seed)
        dt = p["noise_dt_s"]
        n_steps = int(math.ceil(p["t_stop_s"] / dt))
        files, pre = session_noise_files(["q", "qb"], [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        ctl = [".control", _metastable_nodeset(vdd), "op", *self._noise_psd_lines(lib, p, temp, dt),
               write_command(["v(q)", "v(qb)", "s_q", "s_qb"])]
        vecs = ["v(q)", "v(qb)"] + [f"i({src})" for src, _ in self._supplies(p)] + [
            f"i({src})" for src in self._trim_sources(p)]
        if p["readout"]:
            vecs += ["v(outp)", "v(outn)", "i(vclk)"]
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_f(pt.bias_V)}", f"tran {_f(dt)} {_f(p['t_stop_s'])} 0 {_f(dt)}",
                    write_command(vecs)]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=meta.label, meta=meta)

    @staticmethod
    def _supplies(p: Mapping[str, float]) -> tuple[tuple[str, str], ...]:
        return NATIVE_LATCH_SUPPLIES if p["readout"] else NATIVE_LATCH_SUPPLIES[:2]

    @staticmethod
    def _trim_sources(p: Mapping[str, float]) -> tuple[str, ...]:
        return NATIVE_LATCH_TRIM_SOURCES if p["readout"] else NATIVE_LATCH_TRIM_SOURCES[:2]

    @staticmethod
    def _supply_voltage(meta: JobMeta, src: str) -> float:
        p = meta.params
        vdd, vr = meta.vdd_V, p["vddr_V"]
        return {"vdd": vdd, "vddb": p["vddb_V"], "vddr": vr, "vddc": vr,
                "vnwa": vdd + p["nwell_V"] - p["trim_V"] / 2, "vnwb": vdd + p["nwell_V"] + p["trim_V"] / 2,
                "vnwr1": vr + p["ro_nwell_V"] + p["ro_trim_V"] / 2,
                "vnwr2": vr + p["ro_nwell_V"] - p["ro_trim_V"] / 2}[src]

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        op = result.plots[0]
        s_q = float(np.real(op["s_q"][0])) if "s_q" in op else math.nan
        ts, te = p["sample_period_s"], p["t_eval_s"]
        rows = []
        for k, bias in enumerate(meta.bias_V):
            tr = result.plots[1 + k]
            row = base_row(meta, bias)
            t = np.real(tr["time"])
            x = np.real(tr["v(q)"] - tr["v(qb)"])
            # reads: decision window [j ts - t_eval, j ts]; the first window after t_settle_s
            j = np.arange(math.ceil((p["t_settle_s"] + te) / ts), math.floor(t[-1] / ts + 1e-9) + 1)
            t_start = j * ts - te
            x_start = np.interp(t_start, t, x)
            # the core's state as the comparator samples it: x averaged over its aperture, aperture_s long,
            # starting aperture_delay_s after the clock edge (readout_aperture measures where it lies)
            grid = t_start[:, None] + p["aperture_delay_s"] + np.linspace(0.0, p["aperture_s"], 9)[None, :]
            x_aperture = np.interp(grid, t, x).mean(axis=1)
            core_bits = (x_start > 0).astype(np.uint8)
            if p["readout"]:
                t_read = j * ts - p["t_edge_s"] - 1e-9
                v_p = np.interp(t_read, t, np.real(tr["v(outp)"]))
                v_n = np.interp(t_read, t, np.real(tr["v(outn)"]))
                d = v_p - v_n
                bits = (d > 0).astype(np.uint8)
                row["readout_agreement"] = float(np.mean(bits == (x_aperture > 0)))
                row["readout_agreement_instant"] = float(np.mean(bits == core_bits))
                row["readout_swing_V"] = float(np.median(np.abs(d)))
                row["readout_rail_fraction"] = float(np.mean(rail_to_rail(np.maximum(v_p, v_n), np.minimum(v_p, v_n),
                                                                          p["vddr_V"])))
            else:
                bits = core_bits
            row.update(bit_stats(bits, ts))
            row[BITS_KEY] = encode_bits(bits, ts)
            # the core's own statistics: sign(x) every core_sample_s (its physical correlation time)
            xs = measure.sample_waveform(t, x, p["core_sample_s"], p["t_settle_s"])
            core = measure.p1_estimate((xs > 0).astype(np.uint8))
            row.update(p1_core=core.p1, tau_core_s=core.tau_int * p["core_sample_s"] / 2
                       if math.isfinite(core.tau_int) else math.nan, x_rms_V=float(np.std(xs)))
            # energy of every supply and of the port clock's drive, over the analysed window
            w = t >= (j[0] - 1) * ts
            t_w, n_bits = t[w], bits.size
            total = measure.EnergySplit(0.0, float(t_w[-1] - t_w[0]), 0.0, 0.0)
            for src, col in self._supplies(p):
                es = measure.energy_split(t_w, -np.real(tr[f"i({src})"])[w], self._supply_voltage(meta, src))
                row[f"{col}_energy_per_bit_J"] = es.energy_J / n_bits
                total = measure.EnergySplit(total.energy_J + es.energy_J, total.duration_s,
                                            total.static_power_W + es.static_power_W,
                                            total.dynamic_energy_J + es.dynamic_energy_J)
            # the n-well trim sources: the net energy each delivers (junction leakage; the displacement
            # current of the wells' junction capacitances averages out), a source that absorbs counted as 0
            e_trim = sum(max(0.0, measure.energy_split(t_w, -np.real(tr[f"i({src})"])[w],
                                                       self._supply_voltage(meta, src)).energy_J)
                         for src in self._trim_sources(p))
            row["trim_energy_per_bit_J"] = e_trim / n_bits
            total = measure.EnergySplit(total.energy_J + e_trim, total.duration_s,
                                        total.static_power_W + e_trim / total.duration_s, total.dynamic_energy_J)
            if p["readout"]:
                e_clk = clock_port_energy(t, -np.real(tr["i(vclk)"]), p, j)
                row["clock_port_energy_per_bit_J"] = e_clk / n_bits
                total = measure.EnergySplit(total.energy_J + e_clk, total.duration_s, total.static_power_W,
                                            total.dynamic_energy_J + e_clk)
            row.update(energy_columns(total, n_bits, row.get(N_FLIPS_KEY, 0)))
            row.pop(N_FLIPS_KEY, None)
            row.update(sample_period_s=ts, sim_time_s=float(t[-1]), cpu_time_s=result.cpu_time_s / len(meta.bias_V),
                       noise_psd_q_A2_Hz=s_q)
            rows.append(row)
        return rows

    # -- predicted tier ---------------------------------------------------------------------------
    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        temp = pts[0].temp_C
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=temp, bias_V=p["ref_V"], mc_seed=pts[0].mc_seed,
                                      noise=False)
        # x = V_q - V_qb forced by Vx (0 V and open-ish for the op/ac: the ac analysis reads its admittance)
        circuit += "Vx q qb dc 0 ac 1\n"
        vecs = ["i(vdd)", "i(vddb)"] + [_op_vector(lib, nm, r, q) for fets in NATIVE_LATCH_NOISE_FETS.values()
                                        for nm, r in fets for q in ("id", "vds")]
        ctl = [".control", _metastable_nodeset(vdd), "ac lin 1 1e6 1e6", write_command(["i(vx)"]), "op",
               write_command(vecs)]
        for pt in pts:
            ctl += [f"alter vb dc={_f(pt.bias_V)}", f"dc vx {_f(-vdd)} {_f(vdd)} {_f(vdd / 400)}",
                    write_command(["i(vx)"])]
        if p["readout"]:
            # readout energy per read: a noiseless transient of 3 periods with x = 0 (the last 2 counted)
            ts = p["sample_period_s"]
            ctl += [f"alter vb dc={_f(p['ref_V'])}", f"tran {_f(ts / 400)} {_f(3 * ts)}",
                    write_command(["i(vddr)", "i(vddc)", "i(vclk)"])]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p,
                                   noise_fets=[[nm, lib.device(r)] for fets in NATIVE_LATCH_NOISE_FETS.values()
                                               for nm, r in fets])
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        ac, op = result.plots[0], result.plots[1]
        c_diff = 2 * abs(float(np.imag(ac["i(vx)"][0]))) / (2 * math.pi * 1e6)
        opv = {k.lower(): float(np.real(v[0])) for k, v in op.items()}
        s_x = 0.0
        for nm, model in meta.extra["noise_fets"]:
            key = f"@m.x{nm.lower()}.m{model}"
            s_x += float(channel_noise_psd(opv[f"{key}[id]"], opv[f"{key}[vds]"], 0.0, meta.temp_C))
        s_x *= p["noise_scale"]
        p_static = meta.vdd_V * abs(opv["i(vdd)"]) + p["vddb_V"] * abs(opv["i(vddb)"])
        ts = p["sample_period_s"]
        e_read = 0.0
        if p["readout"]:
            tr = result.plots[-1]
            t = np.real(tr["time"])
            w = t >= ts
            e_read = (p["vddr_V"] * float(np.trapezoid(-np.real(tr["i(vddr)"])[w] - np.real(tr["i(vddc)"])[w], t[w]))
                      + clock_port_energy(t, -np.real(tr["i(vclk)"]), p, np.array([2, 3]))) / 2
        rows = []
        for k, b in enumerate(meta.bias_V):
            dc = result.plots[2 + k]
            x = np.real(dc["v(v-sweep)"]) if "v(v-sweep)" in dc else np.real(next(iter(dc.values())))
            delta_i = 2 * np.real(dc["i(vx)"])
            row = base_row(meta, float(b))
            pk = float(stationary_p1(x, delta_i, c_diff, s_x, 0.0))
            r_up, r_down = stationary_rates(x, delta_i, c_diff, s_x, 0.0, max(p["hysteresis_V"], 2 * (x[1] - x[0])))
            e_bit = p_static * ts + e_read
            row.update(p1=pk, static_power_W=p_static, sample_period_s=ts, energy_per_bit_J=e_bit,
                       dynamic_energy_per_bit_J=e_read, cpu_time_s=result.cpu_time_s / len(meta.bias_V),
                       sim_time_s=0.0, pred_c_diff_F=c_diff, pred_noise_psd_A2_Hz=s_x,
                       flip_hysteresis_V=p["hysteresis_V"])
            if r_up + r_down > 0 and math.isfinite(r_up + r_down):
                tau = 1 / (r_up + r_down)
                flip = 2 * r_up * r_down / (r_up + r_down)
                # the readout samples a telegraph of correlation time tau every ts: lag-one correlation
                # rho = exp(-ts / tau); tau_int = (1 + rho) / (1 - rho) = coth(ts / 2 tau); tau_corr_s = tau_int ts / 2
                x_half = ts / (2 * tau)
                tau_int = 1 / math.tanh(x_half) if x_half > 0 else math.inf
                row.update(rate_up_Hz=r_up, rate_down_Hz=r_down, flip_rate_Hz=flip, tau_core_s=tau,
                           mean_dwell_low_s=1 / r_up if r_up > 0 else math.inf,
                           mean_dwell_high_s=1 / r_down if r_down > 0 else math.inf,
                           tau_corr_s=tau_int * ts / 2,
                           energy_per_flip_J=e_bit / (flip * ts) if flip > 0 else math.nan)
            rows.append(row)
        return rows
