"""The native_latch's clock-port energy (what its characterization adds to the energy per read and what the
ledger moves to the clock term) is the pins' net charge x V, as for the StrongARM's clock drive."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.circuits.builtin.native_latch import clock_port_energy
from pbitkit.circuits.models import get_library
from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.circuits.registry import get_cell


@pytest.mark.ngspice
def test_native_latch_clock_port_energy_is_net_charge_times_v() -> None:
    """The cell measures its port clock as ``V`` x the net charge the source delivers from each rising edge
    to the falling edge (:func:`pbitkit.circuits.builtin.native_latch.clock_port_energy`, the StrongARM's
    method). Hand analysis: the clock inverter's two gates (nFET 0.42 x 0.15 um^2, low-Vt pFET 0.42 x
    0.35 um^2) of 4.1 nm oxide (8.4 fF/um^2: 1.76 fF) bound C V^2 <= 0.36 fJ at 0.45 V; at 0.45 V the gates
    are not fully inverted. The clipped integral ``V * integral max(-i, 0) dt`` (the cell's earlier measure)
    rectifies the ideal source's ringing with the low-Vt pull-up and depends on the time step. Negative
    control: counting the falling edge's returned charge as well (|i|) roughly doubles it. Measured: net
    charge 0.181 / 0.184 fJ per read at 1 / 0.25 ns steps (0.51 of the bound), clipped 0.712 / 0.218 fJ."""
    cell = get_cell("native_latch")
    p = cell.params(None)
    ts, v = p["sample_period_s"], p["vddr_V"]
    net = cell.render(get_library("sky130", "tt"), p, vdd_V=cell.default_vdd_V, temp_C=27.0, bias_V=p["ref_V"],
                      noise=False)
    n = 4
    out = {}
    for dt in (1e-9, 0.25e-9):
        res = run(SimJob(netlist=net + f".tran {dt:g} {n * ts:g} 0 {dt:g}\n.end\n", vectors=("i(vclk)",)))
        t, i = np.real(res.vector("time")), -np.real(res.vector("i(vclk)"))
        w = t >= ts
        clipped = v * float(np.trapezoid(np.maximum(i[w], 0.0), t[w])) / (n - 1)
        by_charge = clock_port_energy(t, i, p, np.arange(2, n + 1)) / (n - 1)
        out[dt] = (clipped, by_charge, v * float(np.trapezoid(np.abs(i[w]), t[w])) / (n - 1))
    for clipped, by_charge, both_edges in out.values():
        c_ox = (0.42 * 0.15 + 0.42 * 0.35) * 8.4e-15
        assert 0.3 * c_ox * v**2 < by_charge < c_ox * v**2
        assert both_edges > 1.8 * by_charge
        assert clipped >= by_charge  # the clipped integral only adds (rectified ringing)
    assert out[1e-9][1] == pytest.approx(out[0.25e-9][1], rel=0.02)  # step independent
