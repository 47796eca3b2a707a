"""The ``latch`` cell: a subthreshold cross-coupled latch that wanders between its two states.

Two CMOS inverters (nFET ``wn/ln``, pFET ``wp/lp``) at a supply of ~0.1 V, so that the two states sit
only a few kT/C apart and the devices' own channel noise makes the latch wander between them. The bias
**voltage** enters through a large input resistor ``rin_Ohm`` into ``q`` (a voltage-to-current converter:
``I_b = (bias_V - V_q)/R_in``); a matched resistor from ``ref_V`` into ``qb`` keeps the cell symmetric.
The output bit is ``V_q > V_qb``; channel noise of the four FETs is injected at ``q`` and ``qb`` with the
PSD computed *inside the session* from the operating point at the metastable point
(``2 q I coth(V_DS/2U_T)`` per FET, see :mod:`pbitkit.circuits.noise`).

Predicted tier (:mod:`pbitkit.circuits.predict`): DC/AC/op analyses of the differential mode give the
stationary P(1) and the telegraph rates without a transient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bits import BITS_KEY, encode_bits
from pbitkit.circuits.cell_base import (
    N_FLIPS_KEY,
    Cell,
    JobMeta,
    SweepPoint,
    base_row,
    bit_stats,
    check_param,
    check_time_steps,
    default_library,
    energy_columns,
)
from pbitkit.circuits.elements import fmt_number, mos, noise_injection_lines, op_vector, netlist_header
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, write_command
from pbitkit.circuits.noise import Q_E, channel_noise_psd, session_noise_files
from pbitkit.circuits.predict import stationary_p1, stationary_rates
from pbitkit.constants import thermal_voltage

__all__ = ["LatchCell", "render_latch", "LATCH_FETS"]

_f = fmt_number

#: The latch's four FETs (instance name, kind).
LATCH_FETS = (("N1", "n"), ("P1", "p"), ("N2", "n"), ("P2", "p"))


def render_latch(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                 bias_V: float, mc_seed: int = -1, noise: bool = True) -> str:
    """The latch cell's circuit (no analysis). Nodes: ``q``, ``qb``, ``vdd``, ``bias``, ``ref``.

    Sources: ``Vdd`` (supply, its current is the cell's supply current), ``Vb`` (bias), ``Vr``
    (reference). With ``noise``, current-noise sources ``Gnq``/``Gnqb`` (gain = sigma in A per unit file
    sample, set later with ``alter``) read ``noise_q.txt``/``noise_qb.txt``.
    """
    lines = netlist_header(lib, "latch p-bit cell", mc_seed=mc_seed, temp_C=temp_C)
    lines += [
        f"Vdd vdd 0 {_f(vdd_V)}",
        f"Vb bias 0 {_f(bias_V)}",
        f"Vr ref 0 {_f(p['ref_V'])}",
        mos(lib, "N1", "q", "qb", "0", "0", "n", p["wn_um"], p["ln_um"]),
        mos(lib, "P1", "q", "qb", "vdd", "vdd", "p", p["wp_um"], p["lp_um"]),
        mos(lib, "N2", "qb", "q", "0", "0", "n", p["wn_um"], p["ln_um"]),
        mos(lib, "P2", "qb", "q", "vdd", "vdd", "p", p["wp_um"], p["lp_um"]),
        f"Rin bias q {_f(p['rin_Ohm'])}",
        f"Rref ref qb {_f(p['rin_Ohm'])}",
    ]
    if p["c_node_F"] > 0:  # extra node capacitance (default 0: the FETs' own capacitances only)
        lines += [f"Cq q 0 {_f(p['c_node_F'])}", f"Cqb qb 0 {_f(p['c_node_F'])}"]
    if p.get("readout", 0.0):
        lr = p["readout_l_um"]
        lines += [
            "* readout: pFET-input differential pair + nFET mirror, nFET common-source second stage with",
            "* a pFET current-source load, inverter; continuous, its own supply Vddr (out high <=> q > qb)",
            f"Vddr vddr 0 {_f(p['readout_vdd_V'])}",
            f"Vbpr vbpr 0 {_f(p['readout_vbp_V'])}",
            mos(lib, "RT", "rtail", "vbpr", "vddr", "vddr", "p", 1.0, lr),
            mos(lib, "RA", "ro1", "q", "rtail", "vddr", "p", 1.0, lr),
            mos(lib, "RB", "ro2", "qb", "rtail", "vddr", "p", 1.0, lr),
            mos(lib, "RMA", "ro1", "ro1", "0", "0", "n", 0.5, lr),
            mos(lib, "RMB", "ro2", "ro1", "0", "0", "n", 0.5, lr),
            mos(lib, "RL", "ro3", "vbpr", "vddr", "vddr", "p", 0.5, lr),
            mos(lib, "RN", "ro3", "ro2", "0", "0", "n", 0.5, lr),
            mos(lib, "RIP", "out", "ro3", "vddr", "vddr", "p", 0.42, 0.15),
            mos(lib, "RIN", "out", "ro3", "0", "0", "n", 0.42, 0.15),
        ]
    if noise:
        for node in ("q", "qb"):
            lines += noise_injection_lines(node, node=node)
    return "\n".join(lines) + "\n"




class LatchCell(Cell):
    """Subthreshold cross-coupled latch with resistive voltage-bias input (see the module docstring)."""

    name = "latch"
    description = "subthreshold cross-coupled latch, thermal/shot noise from its own FETs, bias via 1 TOhm"
    noise_source = "transistor"
    default_vdd_V = 0.085
    topology = "cross-coupled CMOS inverters (nfet_01v8 4/0.15, pfet_01v8 0.42/0.15) at 85 mV, bias via 1 TOhm"
    noise_description = "own channel noise (2qI coth(V_DS/2U_T) of its four FETs at the op point)"
    all_transistor = False  # the bias enters through ideal 1 TOhm resistors
    port_nodes = ("vdd", "bias", "ref", "vddr", "vbpr")
    defaults = {
        "wn_um": 4.0, "ln_um": 0.15, "wp_um": 0.42, "lp_um": 0.15,
        "rin_Ohm": 1e12, "ref_V": 0.065, "c_node_F": 0.0,
        "noise_dt_s": 2e-6, "t_stop_s": 0.1, "sample_period_s": 10e-6, "hysteresis_V": 0.004,
        "noise_scale": 1.0,
        "readout": 0.0, "readout_vdd_V": 1.8, "readout_vbp_V": 1.3, "readout_l_um": 1.0,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        p = self.params(params)
        return (p["ref_V"] - 0.06, p["ref_V"] + 0.07)

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The latch at its defaults (tt, 27 °C, bias = ``ref_V``), no analysis."""
        p = self.params()
        return render_latch(library or default_library("tt", False), p, vdd_V=self.default_vdd_V, temp_C=27.0,
                            bias_V=p["ref_V"])

    def check_params(self, p: Mapping[str, float]) -> None:
        n = self.name
        for k in ("wn_um", "ln_um", "wp_um", "lp_um", "readout_l_um"):
            check_param(n, k, p[k], 0.0, 1e4, lo_open=True)
        check_param(n, "rin_Ohm", p["rin_Ohm"], 0.0, 1e18, lo_open=True)
        check_param(n, "c_node_F", p["c_node_F"], 0.0, 1e-6)
        for k in ("noise_dt_s", "t_stop_s", "sample_period_s"):
            check_param(n, k, p[k], 0.0, 1e3, lo_open=True)
        check_param(n, "t_stop_s", p["t_stop_s"], 2 * p["sample_period_s"], 1e3)  # >= 2 samples
        check_time_steps(n, "t_stop_s / noise_dt_s", p["t_stop_s"], p["noise_dt_s"])
        check_param(n, "hysteresis_V", p["hysteresis_V"], 0.0, 5.0)
        check_param(n, "noise_scale", p["noise_scale"], 0.0, 1e6)
        check_param(n, "readout", p["readout"], 0.0, 1.0, integer=True)

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        temp = pts[0].temp_C
        circuit = render_latch(lib, p, vdd_V=vdd, temp_C=temp, bias_V=p["ref_V"], mc_seed=pts[0].mc_seed)
        dt = p["noise_dt_s"]
        n_steps = int(math.ceil(p["t_stop_s"] / dt))
        # each point its own noise (docs/cells.md, "Independent noise per point")
        files, pre = session_noise_files(["q", "qb"], [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        ut = thermal_voltage(temp)
        # channel noise PSD per node from the operating point at the metastable point (bias = ref):
        # S = sum over the node's two FETs of 2 q |I_D| coth(|V_DS| / 2 U_T)   (noise.channel_noise_psd)
        ctl = [".control", f"nodeset v(q)={_f(vdd * 0.75)} v(qb)={_f(vdd * 0.75)}", "op"]
        for node, (n_name, p_name) in (("q", ("N1", "P1")), ("qb", ("N2", "P2"))):
            terms = []
            for nm, kind in ((n_name, "n"), (p_name, "p")):
                i_v, v_v = op_vector(lib, nm, kind, "id"), op_vector(lib, nm, kind, "vds")
                terms.append(f"abs({i_v})/tanh(abs({v_v})/{_f(2 * ut)} + 1e-12)")
            ctl.append(f"let s_{node} = {_f(2 * Q_E)}*({' + '.join(terms)})*{_f(p['noise_scale'])}")
            ctl.append(f"let sig_{node} = sqrt(s_{node}/{_f(2 * dt)})")
            ctl.append(f"alter @gn{node}[gain] = $&sig_{node}")
        ctl.append(write_command(["v(q)", "v(qb)", "s_q", "s_qb", "i(vdd)"]))
        tran_vecs = ["v(q)", "v(qb)", "i(vdd)"] + (["v(out)", "i(vddr)"] if p["readout"] else [])
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_f(pt.bias_V)}",
                    f"tran {_f(dt)} {_f(p['t_stop_s'])} 0 {_f(dt)}",
                    write_command(tran_vecs)]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=meta.label, meta=meta)

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        op = result.plots[0]
        s_q = float(np.real(op["s_q"][0])) if "s_q" in op else math.nan
        rows = []
        for k, bias in enumerate(meta.bias_V):
            tr = result.plots[1 + k]
            row = base_row(meta, bias)
            t = np.real(tr["time"])
            diff = np.real(tr["v(q)"] - tr["v(qb)"])
            ts = p["sample_period_s"]
            sampled = measure.sample_waveform(t, diff, ts)
            sign_bits = measure.binarize(sampled, 0.0)
            es = measure.energy_split(t, -np.real(tr["i(vdd)"]), meta.vdd_V)
            if p["readout"]:
                # the digital output of the transistor-level readout is the bit; energy from both supplies
                out = measure.sample_waveform(t, np.real(tr["v(out)"]), ts)
                bits = (out > p["readout_vdd_V"] / 2).astype(np.uint8)
                row.update(bit_stats(bits, ts))
                row[BITS_KEY] = encode_bits(bits, ts)
                es_r = measure.energy_split(t, -np.real(tr["i(vddr)"]), p["readout_vdd_V"])
                row["readout_agreement"] = float(np.mean(bits == sign_bits))
                row["core_static_power_W"] = es.static_power_W
                row["readout_power_W"] = es_r.energy_J / es_r.duration_s
                es = measure.EnergySplit(es.energy_J + es_r.energy_J, es.duration_s,
                                         es.static_power_W + es_r.static_power_W,
                                         es.dynamic_energy_J + es_r.dynamic_energy_J)
            else:
                # P(1) and tau from the sign of v(q) - v(qb); flips and dwells from a Schmitt trigger of
                # width hysteresis_V, so that sub-mV re-crossings of x = 0 are not counted as flips
                flip_bits = measure.binarize(sampled, 0.0, p["hysteresis_V"])
                row.update(bit_stats(sign_bits, ts, flip_bits))
                row["flip_hysteresis_V"] = p["hysteresis_V"]
                row[BITS_KEY] = encode_bits(sign_bits, ts, flip_bits, p["hysteresis_V"])
            row.update(energy_columns(es, row["n_samples"], row.get(N_FLIPS_KEY, 0)))
            row.pop(N_FLIPS_KEY, None)
            row.update(sample_period_s=ts, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta.bias_V), noise_psd_q_A2_Hz=s_q)
            rows.append(row)
        return rows

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        circuit = render_latch(lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=p["ref_V"],
                               mc_seed=pts[0].mc_seed, noise=False)
        circuit += "Vx q qb dc 0 ac 1\n"
        vecs = ["i(vdd)"] + [op_vector(lib, nm, k, q) for nm, k in LATCH_FETS for q in ("id", "vds")]
        ctl = [".control", "ac lin 1 1e6 1e6", write_command(["i(vx)"]), "op", write_command(vecs),
               f"dc vx {_f(-vdd)} {_f(vdd)} {_f(vdd / 400)}", write_command(["i(vx)"]), ".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p, lib_nfet=lib.nfet, lib_pfet=lib.pfet,
                                   lib_prefix=lib.instance_prefix)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        ac, op, dc = result.plots[0], result.plots[1], result.plots[2]
        c_diff = 2 * abs(float(np.imag(ac["i(vx)"][0]))) / (2 * math.pi * 1e6)
        opv = {k: float(np.real(v[0])) for k, v in op.items()}

        def val(name: str, kind: str, q: str) -> float:
            model = meta.extra["lib_nfet"] if kind == "n" else meta.extra["lib_pfet"]
            key = (f"@m.x{name.lower()}.m{model}[{q}]" if meta.extra["lib_prefix"] == "X"
                   else f"@m{name.lower()}[{q}]").lower()
            if key not in opv:
                raise KeyError(f"{key} not in the operating point: {sorted(opv)}")
            return opv[key]

        s_x = sum(float(channel_noise_psd(val(nm, k, "id"), val(nm, k, "vds"), 0.0, meta.temp_C))
                  for nm, k in LATCH_FETS) * p["noise_scale"]
        x = np.real(dc["v(v-sweep)"]) if "v(v-sweep)" in dc else np.real(next(iter(dc.values())))
        delta_i = 2 * np.real(dc["i(vx)"])
        biases = np.asarray(meta.bias_V, dtype=float)
        p1 = stationary_p1(x, delta_i, c_diff, s_x, (biases - p["ref_V"]) / p["rin_Ohm"])
        p_static = meta.vdd_V * abs(opv.get("i(vdd)", math.nan))
        rows = []
        for b, pk in zip(biases, np.atleast_1d(p1)):
            row = base_row(meta, float(b))
            ib = (float(b) - p["ref_V"]) / p["rin_Ohm"]
            r_up, r_down = stationary_rates(x, delta_i, c_diff, s_x, ib, max(p["hysteresis_V"], 2 * (x[1] - x[0])))
            if r_up + r_down > 0 and math.isfinite(r_up + r_down):
                flip = 2 * r_up * r_down / (r_up + r_down)
                row.update(rate_up_Hz=r_up, rate_down_Hz=r_down, flip_rate_Hz=flip,
                           mean_dwell_low_s=1 / r_up if r_up > 0 else math.inf,
                           mean_dwell_high_s=1 / r_down if r_down > 0 else math.inf,
                           tau_corr_s=1 / (r_up + r_down),
                           energy_per_flip_J=p_static / flip if flip > 0 else math.nan)
            row["flip_hysteresis_V"] = p["hysteresis_V"]
            row.update(p1=float(pk), static_power_W=p_static, sample_period_s=p["sample_period_s"],
                       energy_per_bit_J=p_static * p["sample_period_s"], dynamic_energy_per_bit_J=0.0,
                       cpu_time_s=result.cpu_time_s / len(biases), sim_time_s=0.0,
                       pred_c_diff_F=c_diff, pred_noise_psd_A2_Hz=s_x)
            rows.append(row)
        return rows


