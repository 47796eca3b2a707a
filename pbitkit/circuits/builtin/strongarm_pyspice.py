"""The ``strongarm_pyspice`` cell: the StrongARM comparator written as a PySpice ``Circuit``.

:func:`strongarm_circuit` builds, with PySpice's element API, the circuit that
:func:`pbitkit.circuits.builtin.strongarm.render_strongarm` writes as text: the same elements, nodes and
values, in the same order (so ngspice numbers the nodes alike). :class:`PySpiceStrongArmCell` is the
built-in StrongARM cell with that renderer: same noise injection, measurement, both tiers.
``tests/circuits/test_pyspice_cell.py`` checks that its rows equal the built-in cell's bit for bit for the
same seeded points. It is also the worked example of a PySpice cell function (``circuit(p, ctx)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pbitkit.circuits.builtin.strongarm import STRONGARM_NOISE_NODES, StrongArmCell
from pbitkit.circuits.elements import fmt_number, netlist_header, noise_injection_lines
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.pyspice_cell import CircuitContext, circuit_text
from pbitkit.circuits.pyspice_interop import circuit_class

__all__ = ["PySpiceStrongArmCell", "strongarm_circuit", "render_strongarm_pyspice"]

_f = fmt_number


def strongarm_circuit(p: Mapping[str, float], ctx: CircuitContext, *,
                      bias_pwl: Sequence[tuple[float, float]] | None = None) -> Any:
    """The StrongARM comparator and its sources as a PySpice ``Circuit`` (nodes ``inp``/``inn``, ``clk``,
    ``outp``/``outn``, ``x1``/``x2``, ``tail``; see :func:`~pbitkit.circuits.builtin.strongarm.render_strongarm`).
    ``bias_pwl`` (``[(t_s, V), ...]``) replaces the DC bias by a piecewise-linear waveform."""
    c = circuit_class()("pbitkit StrongARM comparator p-bit cell (PySpice)")
    gnd = c.gnd
    vdd, period, tr = ctx.vdd_V, 1.0 / p["f_clk_Hz"], p["t_edge_s"]
    c.V("dd", "vdd", gnd, _f(vdd))
    c.V("clk", "clk", gnd, f"PULSE(0 {_f(vdd)} {_f(period / 2)} {_f(tr)} {_f(tr)} {_f(period / 2 - tr)} {_f(period)})")
    c.V("b", "bias", gnd, f"PWL({' '.join(f'{_f(t)} {_f(v)}' for t, v in bias_pwl)})" if bias_pwl else _f(ctx.bias_V))
    c.V("cm", "cm", gnd, _f(p["vcm_V"]))
    c.VCVS("bp", "inp", "cm", "bias", gnd, "0.5")
    c.VCVS("bn", "inn", "cm", "bias", gnd, "-0.5")
    w_in, w_l, w_r, l = p["w_in_um"], p["w_latch_um"], p["w_reset_um"], p["l_um"]
    for name, d, g, s, b, kind, w in (
            ("T", "tail", "clk", "0", "0", "n", w_in),
            ("I1", "x1", "inp", "tail", "0", "n", w_in), ("I2", "x2", "inn", "tail", "0", "n", w_in),
            ("N1", "outn", "outp", "x1", "0", "n", w_l), ("N2", "outp", "outn", "x2", "0", "n", w_l),
            ("P1", "outn", "outp", "vdd", "vdd", "p", w_l), ("P2", "outp", "outn", "vdd", "vdd", "p", w_l),
            ("R1", "outn", "clk", "vdd", "vdd", "p", w_r), ("R2", "outp", "clk", "vdd", "vdd", "p", w_r),
            ("R3", "x1", "clk", "vdd", "vdd", "p", w_r), ("R4", "x2", "clk", "vdd", "vdd", "p", w_r)):
        ctx.mos(c, name, d, g, s, b, kind, w, l)
    c.C("Lp", "outp", gnd, _f(p["c_load_F"]))
    c.C("Ln", "outn", gnd, _f(p["c_load_F"]))
    return c


def render_strongarm_pyspice(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                             bias_V: float, mc_seed: int = -1, noise: bool = True,
                             bias_pwl: Sequence[tuple[float, float]] | None = None) -> str:
    """Drop-in for :func:`~pbitkit.circuits.builtin.strongarm.render_strongarm` (same signature and
    netlist structure): header (library, mismatch seed, ``.temp``), the PySpice circuit, the noise block."""
    ctx = CircuitContext(lib=lib, vdd_V=vdd_V, temp_C=temp_C, bias_V=bias_V, period_s=1.0 / p["f_clk_Hz"])
    head = netlist_header(lib, "StrongARM comparator p-bit cell, PySpice definition", mc_seed=mc_seed, temp_C=temp_C)
    body = circuit_text(lambda q, cx: strongarm_circuit(q, cx, bias_pwl=bias_pwl), p, ctx,
                        where="pbitkit.circuits.builtin.strongarm_pyspice")
    tail = [line for tag, _ in STRONGARM_NOISE_NODES for line in noise_injection_lines(tag, node=tag)] if noise else []
    return "\n".join(head) + "\n" + body + "".join(line + "\n" for line in tail)


class PySpiceStrongArmCell(StrongArmCell):
    """The built-in StrongARM cell rendered from its PySpice definition."""

    name = "strongarm_pyspice"
    description = "StrongARM clocked comparator (PySpice definition of the built-in strongarm cell)"
    render = staticmethod(render_strongarm_pyspice)
