"""The ``native_latch_pyspice`` cell: the all-transistor ``native_latch`` cell written as a PySpice ``Circuit``.

:func:`native_latch_circuit` builds, with PySpice's element API and ``ctx.mos(..., device=ROLE)`` for the
native and low-Vt devices, the circuit that :func:`pbitkit.circuits.builtin.native_latch.render_native_latch`
writes as text: the same elements, nodes and values, in the same order (so ngspice numbers the nodes
alike). :class:`PySpiceNativeLatchCell` is the built-in ``native_latch`` cell with that renderer: the same
operating-point channel-noise injection, readout, measurement and both tiers.
``tests/circuits/test_native_latch_pyspice.py`` checks that its rows equal the built-in cell's bit for bit
for the same seeded points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.elements import fmt_number, netlist_header, noise_injection_lines
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.pyspice_cell import CircuitContext, circuit_text
from pbitkit.circuits.pyspice_interop import circuit_class
from pbitkit.errors import ConfigError

__all__ = ["PySpiceNativeLatchCell", "native_latch_circuit", "render_native_latch_pyspice"]

_f = fmt_number

#: Readout device sizes (W, L in µm), as in the built-in renderer: clock buffer, comparator parts.
_BUF_N, _BUF_P, _TAIL, _LAT_P = (0.42, 0.15), (0.42, 0.35), (0.42, 0.35), (0.42, 0.35)
_LAT_N, _RST = (0.42, 0.15), (0.42, 0.15)
#: The auto-zero switch between q and qb (W, L in µm).
_AZ = (0.42, 0.15)


def native_latch_circuit(p: Mapping[str, float], ctx: CircuitContext) -> Any:
    """The native_latch cell and its port sources as a PySpice ``Circuit`` (core ``q``/``qb``, bias pair,
    and with ``p["readout"]`` the clock buffer and StrongARM readout; see
    :func:`~pbitkit.circuits.builtin.native_latch.render_native_latch` for nodes and sources).

    Raises
    ------
    ConfigError
        If the library lacks the native / low-Vt devices (e.g. the generic card).
    """
    c = circuit_class()("pbitkit native_latch all-transistor p-bit cell (PySpice)")
    gnd = c.gnd
    # core: native nFET / low-Vt pFET cross-coupled latch
    c.V("dd", "vdd", gnd, _f(ctx.vdd_V))
    # the core pFETs' own n-wells: common offset nwell_V, differential trim_V (V_nwb - V_nwa)
    c.V("nwa", "nwa", gnd, _f(ctx.vdd_V + p["nwell_V"] - p["trim_V"] / 2))
    c.V("nwb", "nwb", gnd, _f(ctx.vdd_V + p["nwell_V"] + p["trim_V"] / 2))
    for name, d, g, s, b, kind, dev, w, ln in (
            ("N1", "q", "qb", "0", "0", "n", "nfet_nvt", p["wn_um"], p["ln_um"]),
            ("P1", "q", "qb", "vdd", "nwa", "p", "pfet_lvt", p["wp_um"], p["lp_um"]),
            ("N2", "qb", "q", "0", "0", "n", "nfet_nvt", p["wn_um"], p["ln_um"]),
            ("P2", "qb", "q", "vdd", "nwb", "p", "pfet_lvt", p["wp_um"], p["lp_um"])):
        ctx.mos(c, name, d, g, s, b, kind, w, ln, device=dev)
    # bias stage: low-Vt pFET differential pair with a subthreshold tail current source
    c.V("ddb", "vddb", gnd, _f(p["vddb_V"]))
    c.V("t", "vtail", gnd, _f(p["vtail_V"]))
    c.V("b", "bias", gnd, _f(ctx.bias_V))
    c.V("r", "ref", gnd, _f(p["ref_V"]))
    for name, d, g, s, w, ln in (("BT", "tail", "vtail", "vddb", p["w_tail_um"], p["l_tail_um"]),
                                 ("BA", "qb", "bias", "tail", p["w_pair_um"], p["l_pair_um"]),
                                 ("BB", "q", "ref", "tail", p["w_pair_um"], p["l_pair_um"])):
        ctx.mos(c, name, d, g, s, "vddb", "p", w, ln, device="pfet_lvt")
    if p["readout"]:
        ts, te, tr, vr = p["sample_period_s"], p["t_eval_s"], p["t_edge_s"], p["vddr_V"]
        # clock: port pulse (high = evaluate during the last t_eval_s of each period), buffered by an inverter
        c.V("ddc", "vddc", gnd, _f(vr))
        c.V("clk", "clk", gnd, f"PULSE(0 {_f(vr)} {_f(ts - te - tr)} {_f(tr)} {_f(tr)} {_f(te - tr)} {_f(ts)})")
        ctx.mos(c, "CN", "clkb", "clk", "0", "0", "n", *_BUF_N, device="nfet_lvt")
        ctx.mos(c, "CP", "clkb", "clk", "vddc", "vddc", "p", *_BUF_P, device="pfet_lvt")
        # readout: pFET-input StrongARM comparator (outputs reset low while clkb is high)
        c.V("ddr", "vddr", gnd, _f(vr))
        # the input and latch pFETs of each side share an n-well: common ro_nwell_V, differential ro_trim_V
        c.V("nwr1", "nwr1", gnd, _f(vr + p["ro_nwell_V"] + p["ro_trim_V"] / 2))
        c.V("nwr2", "nwr2", gnd, _f(vr + p["ro_nwell_V"] - p["ro_trim_V"] / 2))
        for name, d, g, s, b, kind, dev, (w, ln) in (
                ("RT", "ct", "clkb", "vddr", "vddr", "p", "pfet_lvt", _TAIL),
                ("RI1", "x1", "q", "ct", "nwr1", "p", "pfet_lvt", (p["w_in_um"], p["l_in_um"])),
                ("RI2", "x2", "qb", "ct", "nwr2", "p", "pfet_lvt", (p["w_in_um"], p["l_in_um"])),
                ("RP1", "outn", "outp", "x1", "nwr1", "p", "pfet_lvt", _LAT_P),
                ("RP2", "outp", "outn", "x2", "nwr2", "p", "pfet_lvt", _LAT_P),
                ("RN1", "outn", "outp", "0", "0", "n", "nfet_lvt", _LAT_N),
                ("RN2", "outp", "outn", "0", "0", "n", "nfet_lvt", _LAT_N),
                ("RR1", "outn", "clkb", "0", "0", "n", "nfet_lvt", _RST),
                ("RR2", "outp", "clkb", "0", "0", "n", "nfet_lvt", _RST)):
            ctx.mos(c, name, d, g, s, b, kind, w, ln, device=dev)
        if p["ro_reset_x"]:  # reset of the intermediate nodes (no memory from one read to the next)
            for name, node in (("RR3", "x1"), ("RR4", "x2")):
                ctx.mos(c, name, node, "clkb", "0", "0", "n", *_RST, device="nfet_lvt")
    # auto-zero switch: shorts q and qb while the port az is high (calibration only; az = 0 V in use)
    c.V("az", "az", gnd, _f(p["az_V"]))
    ctx.mos(c, "SZ", "q", "az", "qb", "0", "n", *_AZ, device="nfet_lvt")
    return c


def render_native_latch_pyspice(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                                bias_V: float, mc_seed: int = -1, noise: bool = True) -> str:
    """Drop-in for :func:`~pbitkit.circuits.builtin.native_latch.render_native_latch` (same signature and
    netlist structure): header (library, mismatch seed, ``.temp``), the PySpice circuit, the noise blocks
    (current into ``q`` and ``qb``, gains set by the cell's control block).

    Raises
    ------
    ConfigError
        For the clock timing the built-in renderer rejects, or a library without the cell's devices.
    """
    ts, te, tr = p["sample_period_s"], p["t_eval_s"], p["t_edge_s"]
    if not 0 < 2 * tr < te < ts:
        raise ConfigError(f"native_latch_pyspice: need 0 < 2 t_edge_s < t_eval_s < sample_period_s, got "
                          f"t_edge_s={tr}, t_eval_s={te}, sample_period_s={ts}")
    if lib.instance_prefix != "X":
        raise ConfigError(f"the native_latch_pyspice cell needs the sky130 library (low-Vt and native devices); "
                          f"got {lib.source}")
    ctx = CircuitContext(lib=lib, vdd_V=vdd_V, temp_C=temp_C, bias_V=bias_V, period_s=ts)
    head = netlist_header(lib, "native_latch all-transistor p-bit cell, PySpice definition", mc_seed=mc_seed, temp_C=temp_C)
    body = circuit_text(native_latch_circuit, p, ctx, where="pbitkit.circuits.builtin.native_latch_pyspice")
    tail = [line for node in ("q", "qb") for line in noise_injection_lines(node, node=node)] if noise else []
    return "\n".join(head) + "\n" + body + "".join(line + "\n" for line in tail)


class PySpiceNativeLatchCell(NativeLatchCell):
    """The built-in native_latch cell rendered from its PySpice definition."""

    name = "native_latch_pyspice"
    description = "all-transistor native_latch cell, PySpice definition (rows equal to native_latch's bit for bit)"
    topology = f"{NativeLatchCell.topology} (PySpice definition)"
    render = staticmethod(render_native_latch_pyspice)
