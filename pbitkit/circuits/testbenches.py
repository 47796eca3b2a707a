"""Testbenches that are not p-bits: inverter switching energy, the weighted-sum bias network, and the
noise-injection node.

Renderers are pure functions (netlist text, tested without ngspice); :func:`bias_network_point` runs the
bias-network testbench and measures it.

* :func:`render_inverter_tb`: a CMOS inverter switching a load (energy per transition vs ``C V^2``);
* :func:`render_bias_network_tb`: the resistive weighted-sum network that turns neighbour states into a
  cell's bias voltage (settling time and energy vs fan-in);
* :func:`render_noise_node_tb`: a diode-connected FET node, to check the injected transient noise
  against ngspice's own ``.noise`` analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.elements import fmt_number, mos, noise_injection_lines
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.errors import ConfigError
from pbitkit.io import sha256_bytes

__all__ = ["render_inverter_tb", "render_bias_network_tb", "render_noise_node_tb", "bias_network_point"]

_f = fmt_number


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
        f".temp {_f(temp_C)}",
        f"Vdd vdd 0 {_f(vdd_V)}",
        f"Vin in 0 PULSE(0 {_f(vdd_V)} {_f(period_s / 4)} {_f(tr)} {_f(tr)} {_f(period_s / 2 - tr)} "
        f"{_f(period_s)})",
        mos(lib, "N", "out", "in", "0", "0", "n", wn_um, l_um),
        mos(lib, "P", "out", "in", "vdd", "vdd", "p", wp_um, l_um),
        f"CL out 0 {_f(c_load_F)}",
        f".tran {_f(period_s / 2000)} {_f(tstop)} 0 {_f(period_s / 2000)}",
        ".end",
    ]) + "\n"


def render_bias_network_tb(lib: ModelLibrary, *, fan_in: int, weights: Sequence[float] | None = None,
                           states_before: Sequence[int] | None = None, states_after: Sequence[int] | None = None,
                           signs: Sequence[int] | None = None, vdd_V: float = 1.8, g_unit_S: float = 1e-6,
                           c_node_F: float = 2e-15, c_wire_F: float = 0.5e-15, t_step_s: float = 1e-9,
                           t_stop_s: float = 20e-9, temp_C: float = 27.0) -> str:
    """Resistive weighted-sum bias network with ``fan_in`` inputs driven by CMOS inverters.

    Input ``j`` is the neighbour state ``x_j`` XOR its sign bit, buffered by an inverter pair that drives
    ``V_dd y_j`` through a conductance ``G_j = g_unit_S |w_j|`` into the bias node ``b``
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
        f".temp {_f(temp_C)}",
        f"Vdd vdd 0 {_f(vdd_V)}",
        f"Cb b 0 {_f(c_node_F)}",
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
            f"Vin{j} in{j} 0 PWL(0 {_f(v0)} {_f(t_step_s)} {_f(v0)} {_f(t_step_s + tr)} {_f(v1)})",
            mos(lib, f"N{j}a", f"m{j}", f"in{j}", "0", "0", "n", 0.42, 0.15),
            mos(lib, f"P{j}a", f"m{j}", f"in{j}", "vdd", "vdd", "p", 1.0, 0.15),
            mos(lib, f"N{j}b", f"d{j}", f"m{j}", "0", "0", "n", 0.42, 0.15),
            mos(lib, f"P{j}b", f"d{j}", f"m{j}", "vdd", "vdd", "p", 1.0, 0.15),
            f"Cw{j} d{j} 0 {_f(c_wire_F)}",
            f"Rw{j} d{j} b {_f(1.0 / (g_unit_S * abs(w[j])))}",
        ]
    lines += [f".tran {_f(t_stop_s / 4000)} {_f(t_stop_s)}", ".end"]
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
        f".temp {_f(temp_C)}",
        f"Ib 0 q dc {_f(i_bias_A)} ac 1",
        mos(lib, "N1", "q", "q", "0", "0", "n", w_um, l_um),
        f"Cq q 0 {_f(c_node_F)}",
    ]
    if noise_gain is not None:
        lines += noise_injection_lines("q", node="q", gain=noise_gain)
    return "\n".join(lines) + "\n" + analysis + ("\n" if analysis else "") + ".end\n"


def bias_network_point(fan_in: int, *, g_unit_S: float = 1e-6, c_node_F: float = 2e-15, vdd_V: float = 1.8,
                       tol: float = 0.01, library: ModelLibrary | None = None, t_stop_s: float | None = None,
                       temp_C: float = 27.0) -> dict[str, Any]:
    """Simulate the bias network with ``fan_in`` unit-weight inputs switching from all-0 to half-1 (the
    static-power worst case) and measure it.

    Returns ``{"fan_in", "v_final_V", "v_expected_V", "settling_s", "tau_expected_s", "static_power_W",
    "energy_per_update_J", "cpu_time_s", "netlist_sha256", "job_sha256", "models"}`` (the last three say which
    run measured it): ``settling_s`` to within ``tol`` of the step (first-order
    expectation ``tau ln(1/tol)``, ``tau = c_node_F / (fan_in g_unit_S)``), static power with half the
    inputs high (``V_dd^2 G_sum / 4`` ideally) and the dynamic energy of the update
    (supply energy after the step minus the settled static power times that time).
    """
    lib = library or get_library("sky130", "tt")
    after = [1] * max(1, fan_in // 2) + [0] * (fan_in - max(1, fan_in // 2))
    tau = c_node_F / (fan_in * g_unit_S)
    t_step = 1e-9
    t_stop = t_stop_s if t_stop_s is not None else t_step + max(12 * tau, 5e-9)
    net = render_bias_network_tb(lib, fan_in=fan_in, states_after=after, vdd_V=vdd_V, g_unit_S=g_unit_S,
                                 c_node_F=c_node_F, t_step_s=t_step, t_stop_s=t_stop, temp_C=temp_C)
    job = SimJob(netlist=net, vectors=("v(b)", "i(vdd)"), label=f"bias network fan-in {fan_in}")
    res = run(job)
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
            "cpu_time_s": res.cpu_time_s, "netlist_sha256": sha256_bytes(net.encode()), "job_sha256": job.content_hash(),
            "models": lib.source}
