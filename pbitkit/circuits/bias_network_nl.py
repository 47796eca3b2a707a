"""The ``native_latch``'s weighted-sum bias network at transistor level: a charge-domain (switched-capacitor) DAC.

The ``native_latch`` takes its bias at the gate of a subthreshold pFET differential pair (port ``bias``): a
node that draws no DC current and needs only a *voltage* within a few slope widths ``Vs`` (≈ 14 mV) of its
centre ``V0`` (≈ 100 mV). A resistive or current-mode summing network would burn static current to make
that voltage; a capacitive one does not. This module builds it from sky130 transistors and explicit
capacitors (the DAC's unit capacitors, standing for metal-finger/MIM capacitors; their mismatch is not
simulated) and measures it in ngspice with the cell itself as the load.

Schematic (one cell's network, ``n`` inputs; ``bits`` sign-magnitude, ``nb = bits - 1`` magnitude bits):

* **Summing node** ``out`` (the cell's ``bias`` gate) with the top plates of every DAC capacitor, an explicit
  wiring parasitic ``c_par_F``, and a **refresh switch** (standard-Vt ``nfet_01v8``, gate driven by a
  1.8 V refresh line ``rsth``) to the reset level ``vreset`` (the cell's centre ``V0``: a shared port).
* **Input** ``j`` (a neighbour's bit ``s_j`` and its complement, rail-to-rail from the neighbour's
  readout latch): a sign select ``y = AOI22(sbar, pos, s, neg)`` (``pos``/``neg`` = the weight's sign bit,
  ``y = s`` for a positive weight, ``y = not s`` for a negative one) and two lines driven by inverters,
  ``u = not NAND(y, rstb)`` and ``v = not NOR(y, rst)`` (``y`` after a refresh; 0 / 1 during one). For each
  magnitude bit ``b`` a
  capacitor ``2**b c_unit_F`` split into two halves: half *a* connected to ``u`` and half *c* to ``v``
  through transmission gates whose gates are the (static) magnitude bit ``m_b``; a disabled bit
  (``m_b = 0``) clamps *a* to 0 and *c* to ``vnet`` and moves no charge. The programming bits only ever
  drive static gates, so a neighbour toggle switches the two lines, the enabled capacitors and the
  transmission gates' junctions — no per-bit logic. Transmission gates of the large bits are widened
  (``max(1, C_half / c_drive_F)``).
* **Logic** on the network supply ``vnet`` (default 0.6 V): ``nfet_01v8_lvt`` 0.42 µm and ``pfet_01v8``
  0.84 µm wide (a low-Vt pFET would leak ~1 nA per gate), minimum length; the sign select doubled. At the
  readout's 0.45 V rail the standard pFETs carry ~5 nA and a four-gate chain takes > 300 ns; at 0.6 V
  ~30 ns per edge. The neighbour bits arrive at ``vnet`` levels from the neighbour's SR latch, which also
  shifts the 0.45 V comparator outputs up (:mod:`pbitkit.circuits.coupled_pair_nl`).

Charge conservation after a refresh (summing node at ``vreset``, every enabled half *a* at 0 and *c* at
``vnet``) gives, with ``C_tot`` every capacitance on ``out`` (DAC, parasitic, the pair's gate and the
switch's junction),

    V_out = vreset + (vnet / C_tot) sum_j sum_b m_jb 2**b c_unit (y_j - 1/2)
          = vreset + (vnet c_unit / 2 C_tot) sum_j sigma_j k_j s_j,     s_j = +-1, k_j = |code_j|,

no offset from the programmed magnitudes (the split halves cancel it), one LSB of coupling
``Delta V(s: -1 -> +1) = vnet c_unit / C_tot`` and, for a cell ``P(1) = sigmoid((V - V0)/Vs)``, a
coupling per code ``J = Delta V(k) / (4 Vs)`` in the units of ``P(s) ∝ exp(sum J s_i s_j + h s)``
(``V = V0 + 2 Vs (sum J s + h)``). The field ``h`` (and the trim) is one more input whose bit is tied to 1.
A neighbour toggle draws ``≈ k c_unit vnet^2`` from ``vnet`` (rising) and nothing (falling) plus the gates'
own charge; the network draws no static current but leakage; the summing node droops by the refresh
switch's leakage and is refreshed every ``refresh_every`` updates.

Public functions: :func:`render_cap_network` (the network's element lines), :func:`render_network_tb` (the
fan-in-``n`` testbench with the ``native_latch`` as the load), :func:`measure_network` (settling, energy per
update, leakage and droop, and the DAC transfer: INL/DNL, gain, offset, effective resolution) returning a
:class:`NetworkMeasurement` with the netlists' and jobs' SHA-256, and :func:`network_weight_dac` (the
measured transfer as the array's :class:`pbitkit.array.device.DacSpec`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.elements import fmt_number, mos_device
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, run, write_command
from pbitkit.constants import K_B, ZERO_CELSIUS_K, thermal_voltage
from pbitkit.errors import ConfigError
from pbitkit.io import canonical_json, sha256_bytes

__all__ = [
    "CapNetworkDesign",
    "NetworkInput",
    "NetworkMeasurement",
    "render_cap_network",
    "render_network_tb",
    "measure_network",
    "network_weight_dac",
    "settling_hand_analysis",
    "cell_load_lines",
    "native_latch_subckt",
    "gate_lines",
]

_f = fmt_number


@dataclass(frozen=True)
class CapNetworkDesign:
    """Sizes, supplies and timing of the charge-domain bias network (SI units, µm for devices).

    Attributes
    ----------
    bits : sign-magnitude DAC bits per weight (1 sign + ``bits - 1`` magnitude), as the array's weight DAC.
    fan_in : neighbour inputs (the field/trim input comes on top: ``fan_in + 1`` DAC inputs).
    c_unit_F : the unit (LSB) capacitor; bit ``b`` is ``2**b c_unit_F``, split into two halves.
    c_par_F : explicit wiring parasitic on the summing node.
    vnet_V : the network's logic supply (the swing on the capacitors' bottom plates).
    vreset_V : reset level of the summing node (set to the cell's centre ``V0``).
    v_refresh_V : high level of the refresh switch's gate line.
    w_n_um, w_p_um, l_um : logic nFET (``nfet_01v8_lvt``) / pFET (``pfet_01v8``) width and length.
    c_drive_F : bit ``b``'s transmission gates are ``max(1, C_half / c_drive_F)`` times the minimum width.
    line_scale : width multiple of the NOR/NAND gates that drive an input's two lines.
    w_sw_um, l_sw_um : refresh switch (``nfet_01v8``).
    refresh_every : updates between two refreshes (the refresh energy is amortized over them).
    """

    bits: int = 8
    fan_in: int = 12
    c_unit_F: float = 0.1e-15
    c_par_F: float = 1e-15
    vnet_V: float = 0.6
    vreset_V: float = 0.1
    v_refresh_V: float = 1.8
    w_n_um: float = 0.42
    w_p_um: float = 0.84
    l_um: float = 0.15
    c_drive_F: float = 1e-15
    line_scale: float = 2.0
    w_sw_um: float = 0.42
    l_sw_um: float = 0.15
    refresh_every: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or not 2 <= self.bits <= 12:
            raise ConfigError(f"CapNetworkDesign.bits must be an integer in [2, 12], got {self.bits!r}")
        if not isinstance(self.fan_in, int) or not 1 <= self.fan_in <= 256:
            raise ConfigError(f"CapNetworkDesign.fan_in must be an integer in [1, 256], got {self.fan_in!r}")
        if not isinstance(self.refresh_every, int) or self.refresh_every < 1:
            raise ConfigError(f"CapNetworkDesign.refresh_every must be an integer >= 1, got {self.refresh_every!r}")
        for name in ("c_unit_F", "vnet_V", "v_refresh_V", "w_n_um", "w_p_um", "l_um", "c_drive_F", "line_scale", "w_sw_um",
                     "l_sw_um"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"CapNetworkDesign.{name} must be > 0 and finite, got {v!r}")
        for name, lo, hi in (("c_par_F", 0.0, 1e-12), ("vreset_V", -0.5, 1.8)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
                raise ConfigError(f"CapNetworkDesign.{name} must be in [{lo}, {hi}], got {v!r}")
        if self.vnet_V > 1.8 or self.v_refresh_V > 1.98:
            raise ConfigError(f"CapNetworkDesign: vnet_V={self.vnet_V} / v_refresh_V={self.v_refresh_V} above the "
                              "1.8 V devices' rating")

    @property
    def max_code(self) -> int:
        """Largest magnitude code ``2**(bits-1) - 1``."""
        return 2 ** (self.bits - 1) - 1

    @property
    def dac_capacitance_F(self) -> float:
        """All DAC capacitors on the summing node: ``(fan_in + 1) max_code c_unit``."""
        return (self.fan_in + 1) * self.max_code * self.c_unit_F

    def driver_scale(self, b: int) -> float:
        """Width multiple of bit ``b``'s transmission gates: ``max(1, C_half / c_drive_F)``, ``C_half = 2**b c_unit / 2``."""
        return max(1.0, 2 ** b * self.c_unit_F / 2 / self.c_drive_F)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class NetworkInput:
    """One DAC input: the bit's nodes and its programmed code.

    ``s``/``sb`` are the nodes of the bit and its complement (``"vnet"``/``"0"`` for the field input, whose
    bit is 1). ``code`` is the signed magnitude code, tied to the rails in the netlist (a programmed weight
    register), or ``None``: programmed by port nodes ``<p>m<j>_<b>``, ``<p>mb<j>_<b>``, ``<p>pos<j>``,
    ``<p>neg<j>`` that the testbench drives (to sweep codes in one session).
    """

    s: str
    sb: str
    code: int | None = 0


def gate_lines(lib: ModelLibrary, name: str, kind: str, out: str, ins: Sequence[str], vnet: str, scale: float,
                d: CapNetworkDesign) -> list[str]:
    """A static CMOS gate (``inv``, ``nor2``, ``nand2``, ``aoi22``) of nFET ``nfet_lvt`` / pFET ``pfet``."""
    wn, wp, l = d.w_n_um * scale, d.w_p_um * scale, d.l_um

    def n(nm: str, dr: str, g: str, s: str) -> str:
        return mos_device(lib, f"{name}{nm}", dr, g, s, "0", "nfet_lvt", wn, l)

    def p(nm: str, dr: str, g: str, s: str) -> str:
        return mos_device(lib, f"{name}{nm}", dr, g, s, vnet, "pfet", wp, l)

    if kind == "inv":
        (a,) = ins
        return [n("n", out, a, "0"), p("p", out, a, vnet)]
    if kind == "nor2":
        a, b = ins
        return [n("na", out, a, "0"), n("nb", out, b, "0"), p("pa", f"{name}_m", a, vnet), p("pb", out, b, f"{name}_m")]
    if kind == "nand2":
        a, b = ins
        return [n("na", out, a, f"{name}_m"), n("nb", f"{name}_m", b, "0"), p("pa", out, a, vnet), p("pb", out, b, vnet)]
    if kind == "aoi22":
        a1, a2, b1, b2 = ins
        return [n("n1", out, a1, f"{name}_x"), n("n2", f"{name}_x", a2, "0"),
                n("n3", out, b1, f"{name}_y"), n("n4", f"{name}_y", b2, "0"),
                p("p1", f"{name}_z", a1, vnet), p("p2", f"{name}_z", a2, vnet),
                p("p3", out, b1, f"{name}_z"), p("p4", out, b2, f"{name}_z")]
    raise ConfigError(f"unknown gate kind {kind!r}")


def _code_bits(code: int, nb: int) -> tuple[int, list[int]]:
    mag = abs(int(code))
    return (1 if code >= 0 else -1), [(mag >> b) & 1 for b in range(nb)]


def render_cap_network(lib: ModelLibrary, d: CapNetworkDesign, inputs: Sequence[NetworkInput], *, out: str,
                       prefix: str = "", vnet: str = "vnet", vreset: str = "vreset", rst: str = "rst",
                       rstb: str = "rstb", rsth: str = "rsth", prune_static: bool = False) -> list[str]:
    """Element lines of one cell's network (see the module docstring); no sources.

    Parameters
    ----------
    lib : sky130 model library (``nfet_lvt``, ``pfet``, ``nfet``).
    d : the design.
    inputs : the DAC inputs (neighbours and the field input), at most ``d.fan_in + 1``.
    out : the summing node (the cell's ``bias`` gate).
    prefix : prepended to every element and internal node name (several networks in one netlist).
    vnet, vreset, rst, rstb, rsth : supply, reset level, refresh logic lines (``vnet`` levels, true / complement) and
        the refresh switch's gate line.
    prune_static : render a tied-code input's disabled bits (and a code-0 input entirely) as their
        capacitors to the rails they are held at, without the gates that hold them there: electrically the
        same summing node (same ``C_tot``, same charge), fewer devices to simulate — for long noisy
        transients (the coupled pair), never for energy measurements.

    Raises
    ------
    ConfigError
        A code outside ``±max_code``, too many inputs, or a bad node name.
    """
    if not inputs or len(inputs) > d.fan_in + 1:
        raise ConfigError(f"bias network: {len(inputs)} inputs, need 1 .. fan_in + 1 = {d.fan_in + 1}")
    for node in (out, prefix, vnet, vreset, rst, rstb, rsth):
        if not isinstance(node, str) or (node and not node.replace("_", "").isalnum()):
            raise ConfigError(f"bias network: bad node name {node!r} (letters, digits, '_')")
    nb = d.bits - 1
    P = prefix
    lines = [f"* {P or ''}bias network: {len(inputs)} inputs, {d.bits}-bit sign-magnitude capacitive DAC",
             f"C{P}par {out} 0 {_f(d.c_par_F)}",
             mos_device(lib, f"{P}RS", out, rsth, vreset, "0", "nfet", d.w_sw_um, d.l_sw_um)]
    for j, inp in enumerate(inputs):
        for node in (inp.s, inp.sb):
            if not node.replace("_", "").isalnum():
                raise ConfigError(f"bias network input {j}: bad node name {node!r}")
        if inp.code is not None:
            if not isinstance(inp.code, (int, np.integer)) or abs(int(inp.code)) > d.max_code:
                raise ConfigError(f"bias network input {j}: code {inp.code!r} outside +-{d.max_code}")
            sign, mbits = _code_bits(int(inp.code), nb)
            pos, neg = (vnet, "0") if sign > 0 else ("0", vnet)
            mnodes = [vnet if m else "0" for m in mbits]
            mbnodes = ["0" if m else vnet for m in mbits]
        else:
            sign, mbits = 1, [1] * nb
            pos, neg = f"{P}pos{j}", f"{P}neg{j}"
            mnodes = [f"{P}m{j}_{b}" for b in range(nb)]
            mbnodes = [f"{P}mb{j}_{b}" for b in range(nb)]
        tag = f"{P}i{j}"
        if prune_static and inp.code is not None and not any(mbits):
            # code 0: every half held at its reset rail
            lines += [f"C{tag}_{b}a {out} 0 {_f(2 ** b * d.c_unit_F / 2)}" for b in range(nb)]
            lines += [f"C{tag}_{b}c {out} {vnet} {_f(2 ** b * d.c_unit_F / 2)}" for b in range(nb)]
            continue
        y, u, v = f"{tag}y", f"{tag}u", f"{tag}v"
        lines += gate_lines(lib, f"{tag}S", "aoi22", y, (inp.sb, pos, inp.s, neg), vnet, 1.0, d)
        lines += gate_lines(lib, f"{tag}U", "nand2", f"{tag}nu", (y, rstb), vnet, 1.0, d)
        lines += gate_lines(lib, f"{tag}UI", "inv", u, (f"{tag}nu",), vnet, d.line_scale, d)
        lines += gate_lines(lib, f"{tag}V", "nor2", f"{tag}nv", (y, rst), vnet, 1.0, d)
        lines += gate_lines(lib, f"{tag}VI", "inv", v, (f"{tag}nv",), vnet, d.line_scale, d)
        for b in range(nb):
            c_half = 2 ** b * d.c_unit_F / 2
            if prune_static and inp.code is not None and not mbits[b]:
                lines += [f"C{tag}_{b}a {out} 0 {_f(c_half)}", f"C{tag}_{b}c {out} {vnet} {_f(c_half)}"]
                continue
            sc = d.driver_scale(b)
            wn, wp, l = d.w_n_um * sc, d.w_p_um * sc, d.l_um
            a_node, c_node = f"{tag}_{b}a", f"{tag}_{b}c"
            m, mb = mnodes[b], mbnodes[b]
            lines += [
                # half a: transmission gate from u when enabled, clamped to 0 when not
                mos_device(lib, f"{tag}A{b}n", a_node, m, u, "0", "nfet_lvt", wn, l),
                mos_device(lib, f"{tag}A{b}p", a_node, mb, u, vnet, "pfet", wp, l),
                mos_device(lib, f"{tag}A{b}k", a_node, mb, "0", "0", "nfet_lvt", d.w_n_um, l),
                # half c: transmission gate from v when enabled, clamped to vnet when not
                mos_device(lib, f"{tag}C{b}n", c_node, m, v, "0", "nfet_lvt", wn, l),
                mos_device(lib, f"{tag}C{b}p", c_node, mb, v, vnet, "pfet", wp, l),
                mos_device(lib, f"{tag}C{b}k", c_node, m, vnet, vnet, "pfet", d.w_p_um, l),
                f"C{tag}_{b}a {out} {a_node} {_f(c_half)}", f"C{tag}_{b}c {out} {c_node} {_f(c_half)}",
            ]
    return lines


# ------------------------------------------------------------------------------------------------
# the cell as the network's load


def _pulse_with_delay(line: str, extra_delay_s: float) -> str:
    """``Vclk clk 0 PULSE(v1 v2 td tr tf pw per)`` with ``td`` increased by ``extra_delay_s``."""
    head, _, rest = line.partition("PULSE(")
    args = rest.rstrip(")").split()
    if not head or len(args) != 7:
        raise ConfigError(f"native_latch clock line not in the expected PULSE form: {line!r}")
    args[2] = _f(float(args[2]) + extra_delay_s)
    return f"{head}PULSE({' '.join(args)})"


def native_latch_subckt(lib: ModelLibrary, params: Mapping[str, float], name: str, *, vdd_V: float,
                        temp_C: float = 27.0, noise_sigmas_A: tuple[float, float] | None = None,
                        noise_prefix: str = "", clock_delay_s: float = 0.0) -> str:
    """The ``native_latch`` cell (its own renderer, :func:`pbitkit.circuits.builtin.native_latch.render_native_latch`)
    wrapped as ``.subckt <name> bias outp outn q qb``.

    The cell's header (title, include, seed, ``.temp``) and its bias port source ``Vb`` are dropped (the
    network drives ``bias``); every other element — core, bias pair, ``ref`` and tail port sources, readout,
    clock buffer and the clock port — is kept. With ``noise_sigmas_A`` the noise injection is kept, its
    tables renamed ``<noise_prefix>noise_q.txt`` / ``..._qb.txt`` and its gains set to the given values (A per
    unit sample); without, the cell is noiseless. ``clock_delay_s`` shifts the cell's read clock (a second
    clock phase).
    """
    from pbitkit.circuits.builtin.native_latch import render_native_latch

    if not name.replace("_", "").isalnum():
        raise ConfigError(f"bad subcircuit name {name!r}")
    text = render_native_latch(lib, params, vdd_V=vdd_V, temp_C=temp_C, bias_V=params["ref_V"],
                               noise=noise_sigmas_A is not None)
    body = []
    for k, line in enumerate(text.splitlines()):
        low = line.strip().lower()
        if k == 0 or not low or low.startswith((".include", ".lib", ".temp", ".options", "vb ")):
            continue
        if low.startswith("vclk ") and clock_delay_s:
            line = _pulse_with_delay(line, clock_delay_s)
        if noise_sigmas_A is not None:
            line = line.replace('"noise_q.txt"', f'"{noise_prefix}noise_q.txt"')
            line = line.replace('"noise_qb.txt"', f'"{noise_prefix}noise_qb.txt"')
            if low.startswith("gnq "):
                line = f"Gnq 0 q nzq 0 {noise_sigmas_A[0]:.9g}"
            elif low.startswith("gnqb "):
                line = f"Gnqb 0 qb nzqb 0 {noise_sigmas_A[1]:.9g}"
        body.append(line)
    return "\n".join([f".subckt {name} bias outp outn q qb", *body, f".ends {name}"])


def cell_load_lines(lib: ModelLibrary, params: Mapping[str, float], *, out: str, vdd_V: float,
                    temp_C: float = 27.0) -> list[str]:
    """The noiseless ``native_latch`` (readout and clock running) as the load of the summing node ``out``:
    its subcircuit and one instance ``Xcell``."""
    return [native_latch_subckt(lib, params, "nlcell", vdd_V=vdd_V, temp_C=temp_C),
            f"Xcell {out} cell_outp cell_outn cell_q cell_qb nlcell"]


# ------------------------------------------------------------------------------------------------
# testbench


def _pwl(points: Sequence[tuple[float, float]]) -> str:
    return "PWL(" + " ".join(f"{_f(t)} {_f(v)}" for t, v in points) + ")"


def _bit_waveform(t_edges: Sequence[float], levels: Sequence[int], v_hi: float, t_edge_s: float
                  ) -> list[tuple[float, float]]:
    """PWL points of a bit that takes ``levels[k]`` from ``t_edges[k]`` on (``t_edges[0] = 0``)."""
    pts = [(0.0, v_hi * levels[0])]
    for t, a, b in zip(t_edges[1:], levels[:-1], levels[1:], strict=True):
        pts += [(t, v_hi * a), (t + t_edge_s, v_hi * b)]
    return pts


def render_network_tb(lib: ModelLibrary, d: CapNetworkDesign, cell_params: Mapping[str, float], *,
                      codes: Sequence[int | None] | None, bit_edges_s: Sequence[float], bits: Sequence[Sequence[int]],
                      code_steps: Sequence[tuple[float, int]] | None = None, refresh_s: Sequence[float] = (),
                      t_refresh_s: float = 20e-9, cell_vdd_V: float, temp_C: float = 27.0,
                      prune_static: bool = False, t_edge_s: float = 0.2e-9) -> str:
    """Fan-in testbench: ``d.fan_in`` neighbour inputs + the field input (bit tied to 1) into the
    ``native_latch`` (noiseless, readout running) as the load; the circuit only (no analysis, no ``.end``).

    ``bits[j]`` is neighbour ``j``'s bit in each interval starting at ``bit_edges_s`` (port sources ``Vs<j>``
    / ``Vsb<j>``: what the neighbour's readout latch drives). ``codes`` are the signed codes of the
    ``fan_in + 1`` inputs (tied; an entry ``None``: that input's code is a port ``Vm<j>_<b>``, ``Vmb<j>_<b>``,
    ``Vpos<j>``, ``Vneg<j>``, at 0 — with ``code_steps`` input 0 takes code ``k`` from time ``t`` on), or
    ``None``: every code is a port. The network is refreshed at
    ``t = 0`` and at every time in ``refresh_s``: the switch line ``rsth`` (``v_refresh_V``) and the logic
    lines ``rst``/``rstb`` for ``t_refresh_s``, the switch opening 2 ns before the logic lines return.
    Supplies/ports: ``Vnet`` (network supply), ``Vvreset``, ``Vrst``, ``Vrstb``, ``Vrsth``; the cell's own
    supplies sit inside its subcircuit.
    """
    n = d.fan_in
    if len(bits) != n or any(len(b) != len(bit_edges_s) for b in bits):
        raise ConfigError(f"network testbench: bits must be {n} sequences of {len(bit_edges_s)} levels")
    if bit_edges_s[0] != 0.0 or any(b <= a for a, b in zip(bit_edges_s, bit_edges_s[1:])):
        raise ConfigError("network testbench: bit_edges_s must start at 0 and increase")
    if codes is not None and len(codes) != n + 1:
        raise ConfigError(f"network testbench: codes must have fan_in + 1 = {n + 1} entries, got {len(codes)}")
    vn = d.vnet_V
    cl: list[int | None] = [None] * (n + 1) if codes is None else [None if c is None else int(c) for c in codes]
    inputs = [NetworkInput(f"s{j}", f"sb{j}", cl[j]) for j in range(n)]
    inputs.append(NetworkInput("vnet", "0", cl[n]))
    lines = [f"* pbitkit native_latch bias network testbench, fan-in {n} ({lib.source})", lib.include_line,
             f".temp {_f(temp_C)}", *cell_load_lines(lib, cell_params, out="out", vdd_V=cell_vdd_V, temp_C=temp_C),
             *render_cap_network(lib, d, inputs, out="out", prune_static=prune_static),
             f"Vnet vnet 0 {_f(vn)}", f"Vvreset vreset 0 {_f(d.vreset_V)}"]
    # refresh lines: high in [t, t + t_refresh_s] (switch: until t + t_refresh_s - 2 ns)
    tr = t_edge_s
    rst, rsth = [(0.0, 1.0)], [(0.0, 1.0)]
    for t0 in (0.0, *refresh_s):
        if t0 > 0:
            rst += [(t0, 0.0), (t0 + tr, 1.0)]
            rsth += [(t0 - 2e-9, 0.0), (t0 - 2e-9 + tr, 1.0)]
        rsth += [(t0 + t_refresh_s - 2e-9, 1.0), (t0 + t_refresh_s - 2e-9 + tr, 0.0)]
        rst += [(t0 + t_refresh_s, 1.0), (t0 + t_refresh_s + tr, 0.0)]
    lines += [f"Vrst rst 0 {_pwl([(t, vn * v) for t, v in rst])}",
              f"Vrstb rstb 0 {_pwl([(t, vn * (1 - v)) for t, v in rst])}",
              f"Vrsth rsth 0 {_pwl([(t, d.v_refresh_V * v) for t, v in rsth])}"]
    for j in range(n):
        lv = [int(b) for b in bits[j]]
        lines += [f"Vs{j} s{j} 0 {_pwl(_bit_waveform(bit_edges_s, lv, vn, tr))}",
                  f"Vsb{j} sb{j} 0 {_pwl(_bit_waveform(bit_edges_s, [1 - b for b in lv], vn, tr))}"]
    nb = d.bits - 1
    steps = list(code_steps or [])
    if steps and cl[0] is not None:
        raise ConfigError("network testbench: code_steps need input 0's code as a port (codes[0] = None)")
    for j in range(n + 1):
        if cl[j] is not None:
            continue
        if j == 0 and steps:
            t_e = [0.0] + [t for t, _ in steps]
            ks = [0] + [int(k) for _, k in steps]
            if any(abs(k) > d.max_code for k in ks):
                raise ConfigError(f"network testbench: code_steps outside +-{d.max_code}")
            mb = [[(abs(k) >> b) & 1 for k in ks] for b in range(nb)]
            pos = [1 if k >= 0 else 0 for k in ks]
            for b in range(nb):
                lines += [f"Vm{j}_{b} m{j}_{b} 0 {_pwl(_bit_waveform(t_e, mb[b], vn, tr))}",
                          f"Vmb{j}_{b} mb{j}_{b} 0 {_pwl(_bit_waveform(t_e, [1 - x for x in mb[b]], vn, tr))}"]
            lines += [f"Vpos{j} pos{j} 0 {_pwl(_bit_waveform(t_e, pos, vn, tr))}",
                      f"Vneg{j} neg{j} 0 {_pwl(_bit_waveform(t_e, [1 - x for x in pos], vn, tr))}"]
        else:
            lines += [f"Vm{j}_{b} m{j}_{b} 0 0" for b in range(nb)]
            lines += [f"Vmb{j}_{b} mb{j}_{b} 0 {_f(vn)}" for b in range(nb)]
            lines += [f"Vpos{j} pos{j} 0 {_f(vn)}", f"Vneg{j} neg{j} 0 0"]
    v_core = cell_vdd_V / 6
    lines.append(f".nodeset v(cell_q)={_f(v_core)} v(cell_qb)={_f(v_core)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# measurement


@dataclass(frozen=True)
class NetworkMeasurement:
    """What :func:`measure_network` measured (SI units; codes are magnitude codes of input 0).

    Attributes
    ----------
    design : the :class:`CapNetworkDesign` as a dict; ``cell`` the load cell's name and parameters.
    codes, dv_V, mid_V : the transfer: per code ``k``, ``Delta V(k) = V_out(s = 1) - V_out(s = 0)`` and
        the mid level ``(V_out(s=1) + V_out(s=0)) / 2``.
    lsb_V, intercept_V : least-squares line ``Delta V = lsb_V k + intercept_V`` over the codes >= 0.
    lsb_hand_V : hand analysis ``vnet c_unit / C_tot,design`` (DAC capacitors + ``c_par_F`` only).
    c_tot_F : ``vnet c_unit / lsb_V``: the summing node's capacitance incl. the cell's gate and the switch.
    gain_error_rel : ``lsb_V / lsb_hand_V - 1`` (the parasitics the hand design leaves out).
    inl_lsb, dnl_lsb : per code (against the fitted line; DNL from the previous code).
    inl_max_lsb, inl_rms_lsb, dnl_max_lsb : their worst / rms values.
    effective_bits : ``bits - log2(sqrt(1 + 12 inl_rms^2))`` (the rms static error added to the
        quantization error ``1/sqrt(12)`` LSB).
    offset_V : mid level at code 0 minus ``vreset_V`` (refresh switch charge injection and feedthrough).
    sign_symmetry_rel : ``|Delta V(-kmax)| / Delta V(kmax) - 1`` (negative weights through the sign select).
    settling_s : 1 % settling of the summing node after one input at full scale toggles (from its bit's
        edge, incl. the logic); ``settling_multi_s`` the same for the rendered ones of inputs 2, 4, 6 rising
        together.
    settling_hand_s : hand analysis (:func:`settling_hand_analysis`): the three stages' subthreshold pFET
        pull-ups, ``integral C dV / I(V_DS)`` — the sign select and the NAND/NOR to 50 %, the line inverter
        to 1 % into the capacitor halves plus the transmission gates' channels and junctions.
    energy_per_toggle_fs_J, energy_per_toggle_zero_J : energy from every supply per neighbour-bit toggle
        at full-scale code and at code 0 (mean of rising and falling, leakage removed).
    energy_toggle_hand_J : hand analysis of ``energy_per_toggle_fs_J - energy_per_toggle_zero_J``:
        ``C_bottom vnet^2 / 2`` per toggle (a rising bottom plate draws ``C vnet^2``, a falling one nothing),
        ``C_bottom`` = ``kmax c_unit`` plus the junctions on the bottom plates (transmission-gate drains and
        clamps, ``cdd`` of the unit devices from an ``op``) plus half the enabled transmission gates' gate
        capacitance (their channel charge follows the line while they conduct, about half the swing each).
    leakage_W : static power of the whole network (every gate, all inputs programmed at full scale).
    droop_V_per_s : drift of the summing node between refreshes.
    refresh_energy_J : one refresh (logic lines, switch line at ``v_refresh_V``, network supply; with
        ``step_inputs < fan_in`` scaled like the leakage, which over-counts the one switch line's ~1.6 fJ).
    energy_per_update_J : per cell per sweep, see :meth:`energy_per_update`, at ``activity`` and
        ``mean_abs_code`` below; ``update_interval_s`` the cell's read period (leakage integrated over it).
    ktc_noise_V : ``sqrt(kT / C_tot)``, the refresh's sampled noise.
    netlist_sha256, job_sha256, models, cpu_time_s : provenance of the two ngspice sessions (step, transfer).
    step_inputs : neighbour inputs rendered with their gates in the step session (the others as their
        capacitors on the same node; toggle energy per input, scaled to ``fan_in``).
    """

    design: dict[str, Any]
    cell: dict[str, Any]
    codes: tuple[int, ...]
    dv_V: tuple[float, ...]
    mid_V: tuple[float, ...]
    lsb_V: float
    intercept_V: float
    lsb_hand_V: float
    c_tot_F: float
    gain_error_rel: float
    inl_lsb: tuple[float, ...]
    dnl_lsb: tuple[float, ...]
    inl_max_lsb: float
    inl_rms_lsb: float
    dnl_max_lsb: float
    effective_bits: float
    offset_V: float
    sign_symmetry_rel: float
    settling_s: float
    settling_multi_s: float
    settling_hand_s: float
    energy_per_toggle_fs_J: float
    energy_per_toggle_zero_J: float
    energy_toggle_hand_J: float
    leakage_W: float
    droop_V_per_s: float
    refresh_energy_J: float
    update_interval_s: float
    activity: float
    mean_abs_code: float
    energy_per_update_J: float
    ktc_noise_V: float
    netlist_sha256: dict[str, str]
    job_sha256: dict[str, str]
    models: str
    cpu_time_s: float
    step_inputs: int = 0

    def energy_per_update(self, *, activity: float | None = None, mean_abs_code: float | None = None,
                          fan_in: int | None = None, update_interval_s: float | None = None) -> float:
        """Network energy per cell per sweep (J): ``fan_in activity E_toggle(mean |k|) + P_leak t_update +
        E_refresh / refresh_every``, ``E_toggle(k) = E_0 + (E_fs - E_0) k / kmax`` (linear in the switched
        capacitance), ``activity`` = probability that a neighbour's bit changed since the last update."""
        a = self.activity if activity is None else float(activity)
        k = self.mean_abs_code if mean_abs_code is None else float(mean_abs_code)
        n = int(self.design["fan_in"]) if fan_in is None else int(fan_in)
        t = self.update_interval_s if update_interval_s is None else float(update_interval_s)
        kmax = 2 ** (int(self.design["bits"]) - 1) - 1
        if not (0 <= a <= 1 and 0 <= k <= kmax and n >= 1 and t > 0):
            raise ConfigError(f"energy_per_update: activity {a} in [0, 1], mean_abs_code {k} in [0, {kmax}], "
                              f"fan_in {n} >= 1, update_interval_s {t} > 0 required")
        e_tog = self.energy_per_toggle_zero_J + (self.energy_per_toggle_fs_J - self.energy_per_toggle_zero_J) * k / kmax
        return n * a * e_tog + self.leakage_W * t + self.refresh_energy_J / int(self.design["refresh_every"])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def ledger_record(self, *, corner: str = "tt") -> dict[str, Any]:
        """The card's ``provenance.details["bias_network"]`` record that :func:`pbitkit.array.ledger.ledger`
        cites: ``fan_in``, ``source`` (this function's module path), ``corner`` and ``measured`` (the headline
        numbers, ``models``, and one ``netlist_sha256`` / ``job_sha256`` over both sessions — the per-session
        hashes under ``sessions``). No ``static_power_W`` key: the leakage is already inside
        ``energy_per_update_J``."""
        both = {k: sha256_bytes("|".join(f"{s}:{h}" for s, h in sorted(v.items())).encode())
                for k, v in (("netlist", self.netlist_sha256), ("job", self.job_sha256))}
        meas = {k: getattr(self, k) for k in (
            "energy_per_update_J", "activity", "mean_abs_code", "update_interval_s", "energy_per_toggle_fs_J",
            "energy_per_toggle_zero_J", "leakage_W", "refresh_energy_J", "settling_s", "lsb_V", "c_tot_F",
            "inl_max_lsb", "dnl_max_lsb", "effective_bits", "gain_error_rel", "offset_V", "models", "cpu_time_s",
            "step_inputs")}
        meas.update(netlist_sha256=both["netlist"], job_sha256=both["job"],
                    sessions={"netlist_sha256": dict(self.netlist_sha256), "job_sha256": dict(self.job_sha256)})
        return {"fan_in": int(self.design["fan_in"]), "source": "pbitkit.circuits.bias_network_nl.measure_network",
                "corner": corner, "design": dict(self.design), "measured": meas}

    def card_record(self) -> dict[str, Any]:
        """The card's ``bias_network`` fields (``energy_per_update_J``, ``settling_s`` as a time constant:
        the 1 % settling / ln 100, ``c_node_F``, ``g_unit_S = 0``: no static conduction, ``vdd_V``)."""
        return {"c_node_F": self.c_tot_F, "g_unit_S": 0.0, "settling_s": self.settling_s / math.log(100.0),
                "energy_per_update_J": self.energy_per_update_J, "vdd_V": self.design["vnet_V"]}


#: ``|V_DS|`` of the unit pFET's pull-up current curve, as fractions of ``vnet`` (the settling hand analysis).
_VDS_FRACTIONS = (1.0, 0.5, 0.25, 0.125, 0.0625)


def _device_currents(lib: ModelLibrary, d: CapNetworkDesign, temp_C: float) -> dict[str, Any]:
    """On-current of a unit logic nFET / pFET at ``|V_GS| = |V_DS| = vnet``, their gate and drain capacitances,
    and the pFET's current at ``|V_GS| = vnet`` against ``|V_DS|`` (``i_p_vds``: ``(V_DS, I)`` pairs at
    :data:`_VDS_FRACTIONS` of ``vnet``: at 0.6 V the pFET is below threshold and drain-induced barrier lowering
    makes its current fall with ``|V_DS|``; one op)."""
    vn = d.vnet_V
    pm, nm = lib.device("pfet"), lib.device("nfet_lvt")
    curve = [mos_device(lib, f"P{k}", f"dp{k}", "0", "vd", "vd", "pfet", d.w_p_um, d.l_um) for k in
             range(len(_VDS_FRACTIONS))]
    curve += [f"Vdp{k} dp{k} 0 {_f(vn * (1 - fr))}" for k, fr in enumerate(_VDS_FRACTIONS)]
    net = "\n".join([f"* pbitkit bias network device currents ({lib.source})", lib.include_line, f".temp {_f(temp_C)}",
                     f"Vd vd 0 {_f(vn)}", f"Vg vg 0 {_f(vn)}",
                     mos_device(lib, "N", "vd", "vg", "0", "0", "nfet_lvt", d.w_n_um, d.l_um),
                     mos_device(lib, "P", "0", "0", "vd", "vd", "pfet", d.w_p_um, d.l_um), *curve,
                     ".control", "op",
                     write_command(["i(vd)", f"@m.xn.m{nm}[id]", f"@m.xn.m{nm}[cgg]", f"@m.xn.m{nm}[cdd]",
                                    f"@m.xp.m{pm}[id]", f"@m.xp.m{pm}[cgg]", f"@m.xp.m{pm}[cdd]"]
                                   + [f"@m.xp{k}.m{pm}[id]" for k in range(len(_VDS_FRACTIONS))]),
                     ".endc", ".end"]) + "\n"
    res = run(SimJob(netlist=net, timeout_s=300, label="bias network device currents"))
    op = {k.lower(): abs(float(np.real(v[0]))) for k, v in res.plots[0].items()}
    pick: dict[str, Any] = {q: next(v for k, v in op.items() if k.startswith(f"@m.x{dev}.") and k.endswith(f"[{q2}]"))
                            for q, dev, q2 in (("i_n", "n", "id"), ("c_n", "n", "cgg"), ("c_dn", "n", "cdd"),
                                               ("i_p", "p", "id"), ("c_p", "p", "cgg"), ("c_dp", "p", "cdd"))}
    pick["i_p_vds"] = tuple((vn * fr, next(v for k, v in op.items() if k.startswith(f"@m.xp{i}.") and k.endswith("[id]")))
                            for i, fr in enumerate(_VDS_FRACTIONS))
    return pick


def _pull_up_time(c_F: float, scale: float, curve: Sequence[tuple[float, float]], vds_from: float, vds_to: float,
                  temp_C: float) -> float:
    """``integral C dV / (scale I(V_DS))`` for a node pulled up by pFETs from ``|V_DS| = vds_from`` down to
    ``vds_to`` (s). ``I(V_DS)``: the op curve ``(V_DS, I)`` interpolated in log(I); below its smallest ``V_DS``
    the subthreshold triode law ``I_s (1 - exp(-V_DS / U_T))``."""
    vds = np.array([v for v, _ in curve])
    cur = np.array([i for _, i in curve])
    o = np.argsort(vds)
    vds, cur = vds[o], cur[o]
    ut = thermal_voltage(temp_C)
    v = np.geomspace(vds_to, vds_from, 400)
    i = np.exp(np.interp(v, vds, np.log(cur)))
    low = v < vds[0]
    i[low] = cur[0] * (1 - np.exp(-v[low] / ut)) / (1 - math.exp(-vds[0] / ut))
    return float(c_F * np.trapezoid(1.0 / (scale * i), v))


def _settling_hand(d: CapNetworkDesign, dev: Mapping[str, Any], temp_C: float) -> dict[str, float]:
    vn, nb = d.vnet_V, d.bits - 1
    c_gate = dev["c_n"] + dev["c_p"]
    curve = dev["i_p_vds"]
    c_line = sum(2 ** b * d.c_unit_F / 2 + d.driver_scale(b) * (dev["c_n"] + dev["c_p"] + dev["c_dn"] + dev["c_dp"])
                 for b in range(nb))
    out = {"select_s": _pull_up_time(2 * c_gate, 0.5, curve, vn, vn / 2, temp_C),
           "nand_nor_s": _pull_up_time(d.line_scale * c_gate, 1.0, curve, vn, vn / 2, temp_C),
           "line_s": _pull_up_time(c_line, d.line_scale, curve, vn, 0.01 * vn, temp_C), "c_line_F": c_line,
           "c_dac_line_F": d.max_code * d.c_unit_F / 2}
    out["total_s"] = out["select_s"] + out["nand_nor_s"] + out["line_s"]
    return out


def settling_hand_analysis(design: CapNetworkDesign | None = None, *, temp_C: float = 27.0,
                           library: ModelLibrary | None = None) -> dict[str, float]:
    """Hand analysis of the network's 1 % settling after one input's bit toggles (s; one ngspice op).

    At ``vnet`` = 0.6 V every stage is a pull-up by standard-Vt pFETs *below threshold* (``|V_th|`` ≈ 0.64-0.74
    V), whose current falls with ``|V_DS|`` (barrier lowering, then the triode law ``1 - exp(-V_DS/U_T)``).
    Each stage takes ``integral C dV / (k I(V_DS))`` with the op's ``I(V_DS)`` of a unit pFET at ``|V_GS| =
    vnet``:

    * ``select_s``: the sign select (two pFETs in series: ``k = 1/2``) into the NAND and NOR inputs, to 50 %;
    * ``nand_nor_s``: the NAND/NOR into the line inverter (``line_scale`` gates), to 50 %;
    * ``line_s``: the line inverter (``k = line_scale``) to 1 % of its swing into everything whose charge
      follows the line: the capacitor halves (``c_dac_line_F`` = ``kmax c_unit / 2``) and the transmission
      gates' channels and junctions (``driver_scale(b)`` times the unit devices' ``cgg + cdd``) — ``c_line_F``,
      2.4x the capacitors alone at the default sizes.

    The summing node follows the lines through the (open) transmission gates; the transmission gates' own
    on-resistance is not the limit (wider gates settle *slower*: they add channel charge to the line).
    Returns the three stage times, ``total_s``, ``c_line_F`` and ``c_dac_line_F``.
    """
    d = design or CapNetworkDesign()
    lib = library or get_library("sky130", "tt")
    return _settling_hand(d, _device_currents(lib, d, temp_C), temp_C)


def _port_energy(t: np.ndarray, i: np.ndarray, v: float, w: np.ndarray) -> float:
    """Energy a port source delivers (``v * integral max(-i, 0) dt`` over the mask ``w``)."""
    return v * float(np.trapezoid(np.maximum(-i[w], 0.0), t[w]))


def measure_network(design: CapNetworkDesign | None = None, *, cell_params: Mapping[str, float] | None = None,
                    cell_vdd_V: float | None = None, codes: Sequence[int] | None = None, t_hold_s: float = 150e-9,
                    activity: float = 0.5, mean_abs_code: float | None = None, step_inputs: int | None = None,
                    temp_C: float = 27.0, library: ModelLibrary | None = None,
                    timeout_s: float = 7200.0) -> NetworkMeasurement:
    """Simulate the network at fan-in ``design.fan_in`` with the ``native_latch`` as its load and measure it.

    Two ngspice sessions, run side by side:

    * **step** (every gate rendered; all neighbour inputs' codes at full scale, then at 0, the field input
      at 0): after a refresh the bits alternate 0/1; all ``fan_in`` bits toggle (t = 300 ns) and toggle back
      (600 ns) — the toggle energy; input 0 alone rises (900 ns) and inputs 2, 4, 6 rise (1200 ns) — the
      settling; quiet from 1500 to 2000 ns — leakage and droop; a refresh at 2000 ns — its energy.
    * **transfer** (the other inputs at code 0, their static halves as capacitors to their rails): input 0
      takes each code of ``codes`` (default every magnitude code and ``-kmax``) for ``2 t_hold_s``, its bit 1
      then 0; ``V_out`` averaged over the last 10 % of each hold.

    ``step_inputs`` (default: all ``fan_in``) neighbour inputs are rendered with their gates in the step
    session, the others (and the field input) at code 0 as their capacitors to the rails — the same summing
    node; the toggle energy is per toggling input, the leakage and the refresh are scaled from the
    ``step_inputs`` rendered inputs to all ``fan_in + 1`` (``P_leak (fan_in + 1) / step_inputs``; measured at
    fan-in 12 with 1, 2, 4 and 8 rendered inputs: 0.058 nW of leakage and 7.4 fJ of refresh per input plus
    1.3 fJ of refresh for the switch; with 4 rendered the scaled values are within -2 % / +2.7 % of that
    linear model, the energy per update within 0.1 % of 8 rendered). A fully rendered fan-in-12 step session
    has ~800 transistors and did not finish in 7.6 CPU minutes (the CPU grows as ~ step_inputs^1.8).

    ``cell_params`` override the cell's defaults; ``vreset_V`` should be the cell's centre (``V0``).
    ``mean_abs_code`` (default ``kmax / 2``) and ``activity`` set the headline ``energy_per_update_J``;
    the update interval is the cell's ``sample_period_s``.
    """
    from pbitkit.circuits.registry import get_cell

    d = design or CapNetworkDesign()
    cell = get_cell("native_latch")
    p = cell.params(cell_params)
    vdd = cell.default_vdd_V if cell_vdd_V is None else float(cell_vdd_V)
    lib = library or get_library("sky130", "tt")
    n, nb, kmax, vn = d.fan_in, d.bits - 1, d.max_code, d.vnet_V
    if codes is None:
        codes = [*range(kmax + 1), -kmax]
    codes = [int(k) for k in codes]
    if not codes or any(abs(k) > kmax for k in codes) or len(set(codes)) != len(codes):
        raise ConfigError(f"measure_network: codes must be distinct and within +-{kmax}")
    if not 0 < t_hold_s < 1e-5:
        raise ConfigError(f"measure_network: t_hold_s must be in (0, 10 us), got {t_hold_s}")

    # -- step session
    ns = n if step_inputs is None else int(step_inputs)
    if not 1 <= ns <= n:
        raise ConfigError(f"measure_network: step_inputs must be in 1 .. fan_in = {n}, got {step_inputs!r}")
    edges = [0.0, 300e-9, 600e-9, 900e-9, 1200e-9]
    bits = []
    for j in range(n):
        if j >= ns:
            bits.append([0] * len(edges))
            continue
        b0 = j % 2
        b = [b0, 1 - b0, b0, b0, b0]
        if j == 0:
            b[3] = b[4] = 1
        if j in (2, 4, 6):
            b[4] = 1
        bits.append(b)
    t_ref, t_stop = 2000e-9, 2300e-9
    step_codes = None if ns == n else [None] * ns + [0] * (n + 1 - ns)
    step_net = render_network_tb(lib, d, p, codes=step_codes, bit_edges_s=edges, bits=bits, refresh_s=[t_ref],
                                 cell_vdd_V=vdd, temp_C=temp_C, prune_static=ns < n)
    vecs = ["v(out)", "i(vnet)", "i(vrst)", "i(vrstb)", "i(vrsth)"]
    ctl = [".control", f"save {' '.join(vecs)}"]
    for code in (kmax, 0):
        for j in range(ns):
            for b in range(nb):
                on = (code >> b) & 1
                ctl += [f"alter vm{j}_{b} dc={_f(vn * on)}", f"alter vmb{j}_{b} dc={_f(vn * (1 - on))}"]
        ctl += [f"tran 0.05n {_f(t_stop)} 0 0.5n", write_command(vecs)]
    ctl += [".endc", ".end"]
    step_job = SimJob(netlist=step_net + "\n".join(ctl) + "\n", timeout_s=timeout_s,
                      label=f"native_latch bias network fan-in {n}: steps")
    # -- transfer session
    steps, t_e, s_lv = [], [0.0], [0]
    t0 = 100e-9
    for i, k in enumerate(codes):
        steps.append((t0 + 2 * i * t_hold_s, k))
        t_e += [t0 + 2 * i * t_hold_s, t0 + (2 * i + 1) * t_hold_s]
        s_lv += [1, 0]
    t_end = t0 + 2 * len(codes) * t_hold_s
    tr_bits = [s_lv] + [[0] * len(s_lv) for _ in range(n - 1)]
    tr_net = render_network_tb(lib, d, p, codes=[None] + [0] * n, bit_edges_s=t_e, bits=tr_bits, code_steps=steps,
                               cell_vdd_V=vdd, temp_C=temp_C, prune_static=True)
    tr_job = SimJob(netlist=tr_net + "\n".join([".control", "save v(out)", f"tran 0.2n {_f(t_end)} 0 1n",
                                                write_command(["v(out)"]), ".endc", ".end"]) + "\n",
                    timeout_s=timeout_s, label=f"native_latch bias network fan-in {n}: transfer")
    dev = _device_currents(lib, d, temp_C)
    # the two sessions are independent: run them side by side (each is one ngspice process)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        step_future, transfer_future = pool.submit(run, step_job), pool.submit(run, tr_job)
        res_s, res_t = step_future.result(), transfer_future.result()

    # -- transfer analysis
    t = np.real(res_t.vector("time"))
    v = np.real(res_t.vector("v(out)"))

    def level(ta: float, tb: float) -> float:
        w = (t >= tb - 0.1 * (tb - ta)) & (t <= tb)
        return float(np.mean(v[w])) if np.any(w) else float(np.interp(tb, t, v))

    vp = np.array([level(t0 + 2 * i * t_hold_s, t0 + (2 * i + 1) * t_hold_s) for i in range(len(codes))])
    vm = np.array([level(t0 + (2 * i + 1) * t_hold_s, t0 + (2 * i + 2) * t_hold_s) for i in range(len(codes))])
    karr = np.array(codes)
    dv, mid = vp - vm, (vp + vm) / 2
    pos = karr >= 0
    order = np.argsort(karr[pos])
    kp, dvp = karr[pos][order], dv[pos][order]
    A = np.vstack([kp, np.ones_like(kp)]).T.astype(float)
    (lsb, icpt), *_ = np.linalg.lstsq(A, dvp, rcond=None)
    inl = (dvp - (lsb * kp + icpt)) / lsb
    dnl = np.full(kp.shape, np.nan)
    consecutive = np.diff(kp) == 1
    dnl[1:][consecutive] = (np.diff(dvp)[consecutive]) / lsb - 1.0
    c_design = d.dac_capacitance_F + d.c_par_F
    lsb_hand = vn * d.c_unit_F / c_design
    c_tot = vn * d.c_unit_F / lsb
    inl_rms = float(np.sqrt(np.mean(inl**2)))
    sym = math.nan
    if kmax in codes and -kmax in codes:
        sym = abs(float(dv[codes.index(-kmax)])) / float(dv[codes.index(kmax)]) - 1.0
    off = float(mid[codes.index(0)] - d.vreset_V) if 0 in codes else math.nan

    # -- step analysis (plot 0: full-scale codes, plot 1: code 0)
    out: dict[str, float] = {}
    for tag, pl in (("fs", 0), ("zero", 1)):
        ts = np.real(res_s.vector("time", pl))
        iv = -np.real(res_s.vector("i(vnet)", pl))
        quiet = (ts >= 1700e-9) & (ts < 1990e-9)
        p_leak = vn * float(np.mean(iv[quiet]))
        vo = np.real(res_s.vector("v(out)", pl))
        slope = float(np.polyfit(ts[quiet], vo[quiet], 1)[0])

        def e_supply(ta: float, tb: float) -> float:
            w = (ts >= ta) & (ts <= tb)
            e = vn * float(np.trapezoid(iv[w], ts[w]))
            for src, vv in (("i(vrst)", vn), ("i(vrstb)", vn), ("i(vrsth)", d.v_refresh_V)):
                e += _port_energy(ts, np.real(res_s.vector(src, pl)), vv, w)
            return e - p_leak * (tb - ta)

        out[f"tog_{tag}"] = (e_supply(300e-9, 600e-9) + e_supply(600e-9, 900e-9)) / (2 * ns)
        if tag == "fs":
            # rendered: ns neighbour inputs (the field input is pruned too when ns < n) and the refresh switch
            scale = (n + 1) / ns if ns < n else 1.0
            out.update(leak=p_leak * scale, droop=slope, refresh=e_supply(t_ref - 3e-9, t_stop) * scale)
            w1 = (ts >= 900e-9) & (ts < 1200e-9)
            w2 = (ts >= 1200e-9) & (ts < 1500e-9)
            out["settle"] = measure.settling_time(ts[w1], vo[w1], 900e-9, 0.01)
            out["settle3"] = measure.settling_time(ts[w2], vo[w2], 1200e-9, 0.01)
    # hand analysis of the settling: every stage is a pull-up by standard-Vt pFETs below threshold at vnet
    # (|V_th| ~ 0.64-0.74 V at 0.6 V), whose current falls with |V_DS| (barrier lowering, then the triode law):
    # t = integral C dV / I(V_DS) with the op's I(V_DS) curve. The sign select (two pFETs in series: half the
    # current) into the NAND/NOR gates and the NAND/NOR into the line inverter, each to 50 %; then the line
    # to 1 % of its swing into everything whose charge follows it: the capacitor halves, the transmission
    # gates' channels (their full gate capacitance: the line is their source) and junctions
    hand = _settling_hand(d, dev, temp_C)
    t_sel, t_line = hand["select_s"] + hand["nand_nor_s"], hand["line_s"]
    # hand analysis of a full-scale toggle's extra energy over code 0: every capacitor half and the junctions
    # on its bottom plate (transmission-gate drains, clamp) swing by vnet on a rising edge (C vnet^2 from the
    # supply), nothing on a falling one
    # ... and the enabled transmission gates' channels, whose charge follows the line: each device conducts
    # over about half the swing, so half its gate capacitance (cgg from the op)
    c_bottom = sum(2 ** b * d.c_unit_F + 2 * (d.driver_scale(b) * (dev["c_dn"] + dev["c_dp"])
                                             + (dev["c_dn"] + dev["c_dp"]) / 2
                                             + d.driver_scale(b) * (dev["c_n"] + dev["c_p"]) / 2) for b in range(nb))
    e_hand = c_bottom * vn**2 / 2
    mac = kmax / 2 if mean_abs_code is None else float(mean_abs_code)
    kt = K_B * (temp_C + ZERO_CELSIUS_K)
    m = NetworkMeasurement(
        design=d.to_dict(), cell={"name": "native_latch", "vdd_V": vdd, "params": dict(p)},
        codes=tuple(codes), dv_V=tuple(float(x) for x in dv), mid_V=tuple(float(x) for x in mid),
        lsb_V=float(lsb), intercept_V=float(icpt), lsb_hand_V=lsb_hand, c_tot_F=c_tot,
        gain_error_rel=float(lsb / lsb_hand - 1.0), inl_lsb=tuple(float(x) for x in inl),
        dnl_lsb=tuple(float(x) for x in dnl), inl_max_lsb=float(np.max(np.abs(inl))), inl_rms_lsb=inl_rms,
        dnl_max_lsb=float(np.nanmax(np.abs(dnl))) if np.any(np.isfinite(dnl)) else math.nan,
        effective_bits=d.bits - 0.5 * math.log2(1 + 12 * inl_rms**2), offset_V=off, sign_symmetry_rel=sym,
        settling_s=out["settle"], settling_multi_s=out["settle3"], settling_hand_s=t_sel + t_line,
        energy_per_toggle_fs_J=out["tog_fs"], energy_per_toggle_zero_J=out["tog_zero"],
        energy_toggle_hand_J=e_hand, leakage_W=out["leak"], droop_V_per_s=out["droop"],
        refresh_energy_J=out["refresh"], update_interval_s=float(p["sample_period_s"]), activity=float(activity),
        mean_abs_code=mac, energy_per_update_J=0.0, ktc_noise_V=math.sqrt(kt / c_tot),
        netlist_sha256={"step": sha256_bytes(step_net.encode()), "transfer": sha256_bytes(tr_net.encode())},
        job_sha256={"step": step_job.content_hash(), "transfer": tr_job.content_hash()}, models=lib.source,
        cpu_time_s=res_s.cpu_time_s + res_t.cpu_time_s, step_inputs=ns)
    return dataclasses.replace(m, energy_per_update_J=m.energy_per_update())


def network_weight_dac(m: NetworkMeasurement, *, vs_V: float, full_scale: float | None = None) -> Any:
    """The measured network as the array's weight DAC (:class:`pbitkit.array.device.DacSpec`).

    ``bits`` of the design; ``inl_lsb`` the measured ``Delta V(k) / lsb_V - k`` of every magnitude code
    (the transfer must cover ``0 .. kmax``); ``full_scale`` defaults to the physical one,
    ``kmax lsb_V / (4 vs_V)`` (coupling ``J`` per code ``Delta V / (4 Vs)`` for a cell of slope ``vs_V``);
    ``gain_error_rel`` 0 (the measured slope defines the step; the gain error against the hand design is
    ``m.gain_error_rel``).

    Raises
    ------
    ConfigError
        If the measurement does not cover every magnitude code, or ``vs_V`` is not positive.
    """
    from pbitkit.array.device import DacSpec

    bits = int(m.design["bits"])
    kmax = 2 ** (bits - 1) - 1
    if not (isinstance(vs_V, (int, float)) and vs_V > 0):
        raise ConfigError(f"network_weight_dac: vs_V must be > 0, got {vs_V!r}")
    pos = {k: dv for k, dv in zip(m.codes, m.dv_V) if k >= 0}
    missing = [k for k in range(kmax + 1) if k not in pos]
    if missing:
        raise ConfigError(f"network_weight_dac: the measured transfer lacks codes {missing[:8]}...")
    inl = tuple(pos[k] / m.lsb_V - k for k in range(kmax + 1))
    fs = kmax * m.lsb_V / (4 * vs_V) if full_scale is None else full_scale
    return DacSpec(bits=bits, full_scale=fs, inl_lsb=inl)
