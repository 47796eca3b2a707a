"""The ``strongarm`` cell: a StrongARM clocked comparator sampling amplified resistor thermal noise.

At 1.8 V, the comparator decides once per clock period on ``bias_V`` (the differential input) plus
amplified resistor thermal noise (``4 k T R`` of ``r_noise_Ohm`` times ``noise_gain``, single-pole low
pass ``f_noise_Hz``) added to its + input. One output bit per clock period.

Predicted tier (:mod:`pbitkit.circuits.predict`): a noiseless transient in which the input steps through
a staircase gives the decision threshold ``V0``; ``P(1) = Phi((V_b - V0) / sigma_n)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bits import BITS_KEY, encode_bits
from pbitkit.circuits.cell_base import (
    N_FLIPS_KEY,
    Cell,
    JobMeta,
    SweepPoint,
    add_clock_energy,
    base_row,
    bit_stats,
    check_param,
    check_time_steps,
    default_library,
    energy_columns,
)
from pbitkit.circuits.elements import fmt_number, mos, noise_injection_lines, netlist_header
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, write_command
from pbitkit.circuits.noise import resistor_voltage_psd, session_noise_files, sigma_for_psd
from pbitkit.circuits.predict import amplified_noise_rms, probit_p1, threshold_from_staircase

__all__ = ["StrongArmCell", "render_strongarm"]

_f = fmt_number


def render_strongarm(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                     bias_V: float, mc_seed: int = -1, noise: bool = True,
                     bias_pwl: Sequence[tuple[float, float]] | None = None) -> str:
    """The StrongARM comparator cell (no analysis). Nodes ``inp``/``inn`` (differential input
    ``bias_V`` around ``vcm_V``), ``clk``, ``outp``/``outn``; ``outp > outn`` is a 1.

    Clock: low (reset: the four pFETs precharge ``outp``, ``outn``, ``x1``, ``x2`` to VDD) for the first
    half period, high (evaluate) for the second. Noise: ``Gnin`` drives unit-variance file samples times
    its gain into ``nf`` (``r_filt_Ohm || c_filt_F``, pole ``f_noise_Hz``); ``Enp`` adds ``v(nf)`` to the +
    input. ``bias_pwl`` (``[(t_s, V), ...]``) replaces the DC bias by a piecewise-linear waveform.
    """
    period = 1.0 / p["f_clk_Hz"]
    tr = p["t_edge_s"]
    lines = netlist_header(lib, "StrongARM comparator p-bit cell", mc_seed=mc_seed, temp_C=temp_C)
    lines += [
        f"Vdd vdd 0 {_f(vdd_V)}",
        f"Vclk clk 0 PULSE(0 {_f(vdd_V)} {_f(period / 2)} {_f(tr)} {_f(tr)} "
        f"{_f(period / 2 - tr)} {_f(period)})",
        (f"Vb bias 0 PWL({' '.join(f'{_f(t)} {_f(v)}' for t, v in bias_pwl)})" if bias_pwl
         else f"Vb bias 0 {_f(bias_V)}"),
        f"Vcm cm 0 {_f(p['vcm_V'])}",
        "Ebp bp cm bias 0 0.5",
        "Ebn inn cm bias 0 -0.5",
        "Enp inp bp nf 0 1",
        mos(lib, "T", "tail", "clk", "0", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "I1", "x1", "inp", "tail", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "I2", "x2", "inn", "tail", "0", "n", p["w_in_um"], p["l_um"]),
        mos(lib, "N1", "outn", "outp", "x1", "0", "n", p["w_latch_um"], p["l_um"]),
        mos(lib, "N2", "outp", "outn", "x2", "0", "n", p["w_latch_um"], p["l_um"]),
        mos(lib, "P1", "outn", "outp", "vdd", "vdd", "p", p["w_latch_um"], p["l_um"]),
        mos(lib, "P2", "outp", "outn", "vdd", "vdd", "p", p["w_latch_um"], p["l_um"]),
        mos(lib, "R1", "outn", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R2", "outp", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R3", "x1", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        mos(lib, "R4", "x2", "clk", "vdd", "vdd", "p", p["w_reset_um"], p["l_um"]),
        f"CLp outp 0 {_f(p['c_load_F'])}",
        f"CLn outn 0 {_f(p['c_load_F'])}",
        f"Rf nf 0 {_f(p['r_filt_Ohm'])}",
        f"Cf nf 0 {_f(1.0 / (2 * math.pi * p['f_noise_Hz'] * p['r_filt_Ohm']))}",
    ]
    if noise:
        lines += noise_injection_lines("in", node="nf")
    return "\n".join(lines) + "\n"




class StrongArmCell(Cell):
    """StrongARM clocked comparator sampling amplified resistor thermal noise (see the module docstring)."""

    name = "strongarm"
    description = "StrongARM clocked comparator, 1.8 V, amplified 4kTR noise on the + input"
    noise_source = "behavioural"  # ideal-gain amplifier of resistor noise; its power is not counted
    default_vdd_V = 1.8
    topology = "StrongARM clocked comparator at 1.8 V (nfet/pfet_01v8), 2 fF loads, 100 MHz port clock"
    noise_description = "4kTR of 10 kOhm x ideal gain 100 (E sources), 50 MHz R-C low-pass"
    all_transistor = False  # the noise amplifier is made of E sources and an R-C filter
    port_nodes = ("vdd", "clk", "bias", "cm")
    card = "default_card.json"
    #: the circuit renderer (same signature as :func:`render_strongarm`; the PySpice definition in
    #: :mod:`pbitkit.circuits.builtin.strongarm_pyspice` replaces it)
    render = staticmethod(render_strongarm)
    defaults = {
        "w_in_um": 2.0, "w_latch_um": 1.0, "w_reset_um": 1.0, "l_um": 0.15, "c_load_F": 2e-15,
        "vcm_V": 0.9, "f_clk_Hz": 100e6, "t_edge_s": 50e-12,
        "r_noise_Ohm": 1e4, "noise_gain": 100.0, "f_noise_Hz": 50e6, "r_filt_Ohm": 1e3,
        "n_samples": 400, "read_phase": 0.95, "stair_steps": 161, "stair_span_sigma": 8.0,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        p = self.params(params)
        s = amplified_noise_rms(p, 27.0)
        return (-2.2 * s, 2.2 * s)

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The comparator at its defaults (tt, 27 °C, zero differential input), no analysis."""
        return self.render(library or default_library("tt", False), self.params(), vdd_V=self.default_vdd_V,
                           temp_C=27.0, bias_V=0.0)

    def check_params(self, p: Mapping[str, float]) -> None:
        n = self.name
        for k in ("w_in_um", "w_latch_um", "w_reset_um", "l_um"):
            check_param(n, k, p[k], 0.0, 1e4, lo_open=True)
        for k in ("f_clk_Hz", "f_noise_Hz"):
            check_param(n, k, p[k], 0.0, 1e12, lo_open=True)
        check_param(n, "t_edge_s", p["t_edge_s"], 0.0, 0.25 / p["f_clk_Hz"], lo_open=True)
        check_param(n, "c_load_F", p["c_load_F"], 0.0, 1e-6)
        check_param(n, "r_noise_Ohm", p["r_noise_Ohm"], 0.0, 1e15)
        check_param(n, "r_filt_Ohm", p["r_filt_Ohm"], 0.0, 1e15, lo_open=True)
        check_param(n, "noise_gain", p["noise_gain"], 0.0, 1e9)
        check_param(n, "n_samples", p["n_samples"], 2, 1e6, integer=True)
        check_param(n, "read_phase", p["read_phase"], 0.5, 0.99, lo_open=True)  # in the evaluate half
        check_param(n, "stair_steps", p["stair_steps"], 3, 1e5, integer=True)
        check_param(n, "stair_span_sigma", p["stair_span_sigma"], 0.0, 1e3, lo_open=True)
        check_time_steps(n, "n_samples / f_clk_Hz and f_noise_Hz", p["n_samples"] / p["f_clk_Hz"],
                         1.0 / (2 * math.pi * p["f_noise_Hz"]) / 6)

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        temp = pts[0].temp_C
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=temp, bias_V=0.0, mc_seed=pts[0].mc_seed)
        period = 1.0 / p["f_clk_Hz"]
        t_stop = int(p["n_samples"]) * period
        dt = 1.0 / (2 * math.pi * p["f_noise_Hz"]) / 6  # <= tau/5 of the noise filter
        n_steps = int(math.ceil(t_stop / dt))
        files, pre = session_noise_files(["in"], [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        # S_v = 4 k T R A^2 at the filter node -> current PSD S_v / R_f^2 into R_f || C_f
        s_i = resistor_voltage_psd(p["r_noise_Ohm"], temp) * p["noise_gain"] ** 2 / p["r_filt_Ohm"] ** 2
        sig = sigma_for_psd(s_i, dt)
        ctl = [".control", f"alter @gnin[gain] = {sig:.6e}"]
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_f(pt.bias_V)}",
                    f"tran {_f(dt)} {_f(t_stop)} 0 {_f(dt)}",
                    write_command(["v(outp)", "v(outn)", "i(vdd)", "v(nf)", "i(vclk)"])]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=meta.label, meta=meta)

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        period = 1.0 / p["f_clk_Hz"]
        rows = []
        for k, bias in enumerate(meta.bias_V):
            tr = result.plots[k]
            row = base_row(meta, bias)
            t = np.real(tr["time"])
            diff = np.real(tr["v(outp)"] - tr["v(outn)"])
            n = int(p["n_samples"])
            tk = (np.arange(n) + p["read_phase"]) * period
            bits = (np.interp(tk, t, diff) > 0).astype(np.uint8)
            row.update(bit_stats(bits, period))
            row[BITS_KEY] = encode_bits(bits, period)
            es = measure.energy_split(t, -np.real(tr["i(vdd)"]), meta.vdd_V)
            n_bits = row["n_samples"]
            es = add_clock_energy(row, es, t, tr["i(vclk)"], meta.vdd_V, n_bits)
            row.update(energy_columns(es, n_bits, row.get(N_FLIPS_KEY, 0)))
            row.pop(N_FLIPS_KEY, None)
            row.update(sample_period_s=period, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta.bias_V),
                       noise_rms_V=float(np.std(np.real(tr["v(nf)"]))))
            rows.append(row)
        return rows

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        period = 1.0 / p["f_clk_Hz"]
        sigma = amplified_noise_rms(p, pts[0].temp_C)
        span = p["stair_span_sigma"] * sigma
        steps = np.linspace(-span, span, int(p["stair_steps"]))
        # one bias value per clock cycle, changed early in the reset phase (clock low)
        pwl: list[tuple[float, float]] = [(0.0, float(steps[0]))]
        for k in range(1, steps.size):
            pwl += [(k * period + 0.05 * period, float(steps[k - 1])), (k * period + 0.1 * period, float(steps[k]))]
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=0.0, mc_seed=pts[0].mc_seed,
                                   noise=False, bias_pwl=pwl)
        t_stop = steps.size * period
        ctl = [".control", f"tran {_f(period / 200)} {_f(t_stop)}", write_command(["v(outp)", "v(outn)"]),
               ".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p, stair=steps.tolist(), sigma_V=sigma)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        period = 1.0 / p["f_clk_Hz"]
        tr = result.plots[0]
        t = np.real(tr["time"])
        diff = np.real(tr["v(outp)"] - tr["v(outn)"])
        steps = np.asarray(meta.extra["stair"])
        tk = (np.arange(steps.size) + p["read_phase"]) * period
        bits = (np.interp(tk, t, diff) > 0).astype(np.uint8)
        v0 = threshold_from_staircase(steps, bits)
        sigma = float(meta.extra["sigma_V"])
        biases = np.asarray(meta.bias_V, dtype=float)
        rows = []
        for b in biases:
            row = base_row(meta, float(b))
            row.update(p1=float(probit_p1(b, v0, sigma)) if math.isfinite(v0) else math.nan,
                       sample_period_s=period, cpu_time_s=result.cpu_time_s / len(biases), sim_time_s=0.0,
                       pred_v0_V=v0, pred_sigma_V=sigma, tau_corr_s=period / 2)
            if not math.isfinite(v0):
                row.update(status="failed", error="decision threshold outside the predicted-tier staircase")
            rows.append(row)
        return rows
