"""Transistor-level coupled pair: netlist wrapping (as text, no simulator) and the coupling arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.pbitmodel.coupled import _latch_subckt, coupling_for
from pbitkit.pbitmodel.macromodel import pair_boltzmann


def test_coupling_for_inverts_the_bias_network():
    v0, vs, vout = 0.068, 0.0102, 1.8
    a, vref = coupling_for(0.5, 0.2, v0_V=v0, vs_V=vs, v_out_V=vout)
    # V_b = a V_out (s+1)/2 + (1-a) v_ref  ->  (V_b - v0)/vs = 2 (J s + h)
    for s in (-1, 1):
        vb = a * vout * (s + 1) / 2 + (1 - a) * vref
        assert (vb - v0) / vs == pytest.approx(2 * (0.5 * s + 0.2), rel=1e-12)
    with pytest.raises(ValueError, match="outside"):
        coupling_for(200.0, 0.0, v0_V=v0, vs_V=vs, v_out_V=vout)
    p = pair_boltzmann(0.5, 0.0, 0.0)
    assert p.sum() == pytest.approx(1.0) and p[0, 0] == pytest.approx(np.exp(0.5) / (4 * np.cosh(0.5)))


def test_latch_subckt_wrapping():
    text = "\n".join([
        "* pbitkit latch p-bit cell (sky130)", ".include /x/lib.spice", ".temp 27", "Vdd vdd 0 0.085",
        "Vb bias 0 0.065", "Vr ref 0 0.065", "Rin bias q 1e12",
        'Anq %vd([nzq 0]) fsnq', '.model fsnq filesource (file="noise_q.txt" amploffset=[0])', "Gnq 0 q nzq 0 0",
        'Anqb %vd([nzqb 0]) fsnqb', '.model fsnqb filesource (file="noise_qb.txt" amploffset=[0])', "Gnqb 0 qb nzqb 0 0",
    ])
    out = _latch_subckt(text, "cellA", "c0_", 1e-13, 2e-13)
    lines = out.splitlines()
    assert lines[0] == ".subckt cellA bias out q qb" and lines[-1] == ".ends cellA"
    assert not any(ln.lower().startswith((".include", ".temp", "vb ")) for ln in lines)
    assert 'file="c0_noise_q.txt"' in out and 'file="c0_noise_qb.txt"' in out
    assert "Gnq 0 q nzq 0 1e-13" in out and "Gnqb 0 qb nzqb 0 2e-13" in out
    assert "Rin bias q 1e12" in out and "Vdd vdd 0 0.085" in out
