"""Two transistor-level latch cells coupled through a resistive bias network, simulated in ngspice.

The transistor-level counterpart of :func:`pbitkit.pbitmodel.macromodel.simulate_coupled_pair`: each cell is
the circuits stage's subthreshold latch (:func:`pbitkit.circuits.builtin.latch.render_latch`, sky130, with its
transistor-level readout so that the state is a full-swing digital signal), wrapped in a subcircuit; cell
``i``'s bias node is a divider ``G_c`` to the other cell's readout output and ``G_r`` to a reference, so with
``a = G_c / (G_c + G_r)`` the bias is ``V_b,i = a V_out,j + (1 - a) v_ref,i``. The readout swing
``V_r`` (1.8 V) then gives, for a cell with logistic scale ``vs``, ``J = a V_r / (4 vs)`` and
``h_i = (a V_r / 2 + (1 - a) v_ref,i - v0) / (2 vs)`` (:func:`coupling_for`), and a cell that behaves as a
heat-bath p-bit samples ``P(s1, s2) ∝ exp(J s1 s2 + h1 s1 + h2 s2)``.

The channel-noise amplitudes come from the single cell's operating point at the metastable point, by the
same formula the circuits stage uses (``S = 2 q sum |I_D| coth(|V_DS| / 2 U_T)`` per node,
``sigma = sqrt(S / (2 dt))``); each cell gets its own seeded noise tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pbitkit.constants import Q_E, thermal_voltage
from pbitkit.rng import SeedLike, as_generator

__all__ = ["TransistorPair", "coupling_for", "latch_noise_sigmas", "simulate_latch_pair"]


def coupling_for(J: float, h: float, *, v0_V: float, vs_V: float, v_out_V: float) -> tuple[float, float]:
    """Divider fraction ``a`` and reference ``v_ref`` that realize coupling ``J`` and field ``h`` (spin units)
    for a logistic cell ``(v0_V, vs_V)`` driven by outputs of swing ``v_out_V``:
    ``a = 4 vs J / V``, ``v_ref = (v0 + 2 vs h - a V / 2) / (1 - a)``."""
    a = 4.0 * vs_V * J / v_out_V
    if not 0 < a < 1:
        raise ValueError(f"J = {J} needs a divider fraction a = {a:.4g} outside (0, 1)")
    return a, (v0_V + 2 * vs_V * h - a * v_out_V / 2) / (1 - a)


def latch_noise_sigmas(params: dict[str, float], *, vdd_V: float, temp_C: float = 27.0, timeout_s: float = 120.0
                       ) -> tuple[float, float]:
    """Noise-source gains (A per unit file sample) of the latch's ``q`` and ``qb`` nodes from the operating
    point at the metastable point (bias = ref), by the circuits stage's formula (see the module docstring)."""
    from pbitkit.circuits.builtin.latch import render_latch
    from pbitkit.circuits.elements import op_vector
    from pbitkit.circuits.models import get_library
    from pbitkit.circuits.ngspice import SimJob, run, write_command

    lib = get_library("sky130", "tt")
    p = params
    circuit = render_latch(lib, p, vdd_V=vdd_V, temp_C=temp_C, bias_V=p["ref_V"], noise=False)
    ut = thermal_voltage(temp_C)
    dt = p["noise_dt_s"]
    ctl = [".control", f"nodeset v(q)={vdd_V * 0.75:.6g} v(qb)={vdd_V * 0.75:.6g}", "op"]
    for node, (n_name, p_name) in (("q", ("N1", "P1")), ("qb", ("N2", "P2"))):
        terms = []
        for nm, kind in ((n_name, "n"), (p_name, "p")):
            i_v, v_v = op_vector(lib, nm, kind, "id"), op_vector(lib, nm, kind, "vds")
            terms.append(f"abs({i_v})/tanh(abs({v_v})/{2 * ut:.9g} + 1e-12)")
        ctl.append(f"let s_{node} = {2 * Q_E:.9g}*({' + '.join(terms)})*{p['noise_scale']:.9g}")
        ctl.append(f"let sig_{node} = sqrt(s_{node}/{2 * dt:.9g})")
    ctl += [write_command(["sig_q", "sig_qb"]), ".endc", ".end"]
    res = run(SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label="latch noise op"))
    return float(np.real(res.vector("sig_q"))[0]), float(np.real(res.vector("sig_qb"))[0])


def _latch_subckt(text: str, name: str, prefix: str, sig_q: float, sig_qb: float) -> str:
    """Wrap a rendered latch circuit in ``.subckt name bias out q qb``: drop its title, include, ``.temp``
    and bias source lines, give its noise tables per-instance names and set the noise gains."""
    body = []
    for line in text.splitlines():
        s = line.strip()
        low = s.lower()
        if not s or low.startswith("* pbitkit latch") or low.startswith(".include") or low.startswith(".lib") \
                or low.startswith(".temp") or low.startswith("vb ") or low.startswith(".options"):
            continue
        line = line.replace('file="noise_q.txt"', f'file="{prefix}noise_q.txt"')
        line = line.replace('file="noise_qb.txt"', f'file="{prefix}noise_qb.txt"')
        if low.startswith("gnq "):
            line = f"Gnq 0 q nzq 0 {sig_q:.9g}"
        elif low.startswith("gnqb "):
            line = f"Gnqb 0 qb nzqb 0 {sig_qb:.9g}"
        body.append(line)
    return "\n".join([f".subckt {name} bias out q qb", *body, f".ends {name}", ""])


@dataclass(frozen=True)
class TransistorPair:
    """Sampled joint frequencies ``freq[s1, s2]`` (0 = low, 1 = high; state ``q > qb``) of two coupled latch
    cells, read every ``read_period_s``; ``n_eff`` from the joint state's integrated autocorrelation time;
    the divider fraction and references used, and the ngspice wall time."""

    freq: np.ndarray
    n_reads: int
    n_eff: float
    coupling_frac: float
    v_ref_V: tuple[float, float]
    read_period_s: float
    wall_time_s: float
    p1: tuple[float, float] = field(default=(math.nan, math.nan))


def simulate_latch_pair(
    *, coupling_frac: float, v_ref_V: tuple[float, float], t_stop_s: float = 0.5, params: dict[str, float] | None = None,
    vdd_V: float | None = None, temp_C: float = 27.0, seed: SeedLike = 0, r_total_ohm: float = 100e3,
    timeout_s: float = 600.0,
) -> TransistorPair:
    """Simulate two nominal latch cells (with readout) coupled through dividers (see the module docstring)."""
    from pbitkit.circuits import measure
    from pbitkit.circuits.builtin.latch import render_latch
    from pbitkit.circuits.models import get_library
    from pbitkit.circuits.ngspice import SimJob, run
    from pbitkit.circuits.noise import noise_files
    from pbitkit.circuits.registry import get_cell

    cell = get_cell("latch")
    p = cell.params({"readout": 1.0, **(params or {})})
    vdd = cell.default_vdd_V if vdd_V is None else vdd_V
    sig_q, sig_qb = latch_noise_sigmas(p, vdd_V=vdd, temp_C=temp_C)
    lib = get_library("sky130", "tt")
    rng = as_generator(seed)
    dt = p["noise_dt_s"]
    n_steps = int(math.ceil(t_stop_s / dt))
    files: dict[str, str] = {}
    subckts = []
    for k, r in enumerate(rng.spawn(2)):
        for fname, txt in noise_files(["q", "qb"], r, dt, n_steps).items():
            files[f"c{k}_{fname}"] = txt
        text = render_latch(lib, p, vdd_V=vdd, temp_C=temp_C, bias_V=p["ref_V"], noise=True)
        subckts.append(_latch_subckt(text, f"latchcell{k}", f"c{k}_", sig_q, sig_qb))
    a = coupling_frac
    rc, rr = r_total_ohm / a, r_total_ohm / (1 - a)
    lines = ["pbitkit two coupled latch cells (transistor level)", lib.include_line, f".temp {temp_C:.6g}", *subckts,
             "X0 b0 o0 q0 qb0 latchcell0", "X1 b1 o1 q1 qb1 latchcell1",
             f"VR0 r0 0 {v_ref_V[0]:.12g}", f"VR1 r1 0 {v_ref_V[1]:.12g}",
             f"RC0 o1 b0 {rc:.9g}", f"RR0 r0 b0 {rr:.9g}", f"RC1 o0 b1 {rc:.9g}", f"RR1 r1 b1 {rr:.9g}",
             f".nodeset v(q0)={vdd * 0.75:.6g} v(qb0)={vdd * 0.75:.6g} v(q1)={vdd * 0.75:.6g} v(qb1)={vdd * 0.75:.6g}",
             f".tran {dt:.6g} {t_stop_s:.6g} 0 {dt:.6g}", ".end", ""]
    res = run(SimJob(netlist="\n".join(lines), files=files, vectors=("v(q0)", "v(qb0)", "v(q1)", "v(qb1)"),
                     timeout_s=timeout_s, label="latch pair"))
    t = res.vector("time")
    period = p["sample_period_s"]
    t0 = min(0.05 * t_stop_s, 5e-3)
    bits = []
    for k in (0, 1):
        d = measure.sample_waveform(t, res.vector(f"v(q{k})") - res.vector(f"v(qb{k})"), period, t0)
        bits.append(measure.binarize(d, 0.0, p["hysteresis_V"]).astype(np.int64))
    y0, y1 = bits
    freq = np.zeros((2, 2))
    np.add.at(freq, (y0, y1), 1.0)
    freq /= freq.sum()
    taus = [measure.integrated_autocorr_time(x.astype(float)) for x in (y0, y1, 2 * y0 + y1)]
    fin = [x for x in taus if math.isfinite(x)]
    tau_max = max(fin) if fin else float(y0.size)
    return TransistorPair(freq, int(y0.size), float(y0.size / tau_max), a, (float(v_ref_V[0]), float(v_ref_V[1])),
                          period, res.wall_time_s, (float(y0.mean()), float(y1.mean())))
