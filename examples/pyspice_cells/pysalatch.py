"""pysalatch: a clocked sense-amplifier latch p-bit written as a PySpice circuit (a pbitkit PySpice cell)."""

from PySpice.Spice.Netlist import Circuit


def circuit(p, ctx):
    """The latch and its sources for parameters ``p`` (see pysalatch.toml) and pbitkit's context ``ctx``."""
    c = Circuit("pysalatch")
    period = ctx.period_s
    c.V("dd", "vdd", c.gnd, ctx.vdd_V)
    c.V("clkb", "clkb", c.gnd, f"PULSE({ctx.vdd_V} 0 {period / 2} 50p 50p {period / 2} {period})")
    c.V("b", "bias", c.gnd, ctx.bias_V)
    c.V("r", "ref", c.gnd, p["ref_V"])
    ctx.mos(c, "N1", "outp", "outn", c.gnd, c.gnd, "n", p["wn_um"], p["l_um"])
    ctx.mos(c, "P1", "outp", "outn", "vdd", "vdd", "p", p["wp_um"], p["l_um"])
    ctx.mos(c, "N2", "outn", "outp", c.gnd, c.gnd, "n", p["wn_um"], p["l_um"])
    ctx.mos(c, "P2", "outn", "outp", "vdd", "vdd", "p", p["wp_um"], p["l_um"])
    ctx.mos(c, "NEQ", "outp", "clkb", "outn", c.gnd, "n", 1.0, 0.15)
    c.R("bp", "bias", "outp", p["rb_Ohm"])
    c.R("bn", "ref", "outn", p["rb_Ohm"])
    c.C("p", "outp", c.gnd, p["c_F"])
    c.C("n", "outn", c.gnd, p["c_F"])
    return c
