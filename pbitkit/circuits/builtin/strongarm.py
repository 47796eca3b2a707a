"""The ``strongarm`` cell: a StrongARM clocked comparator whose randomness is its own transistors' noise.

At 1.8 V, the comparator decides once per clock period on ``bias_V`` (the differential input) plus the
channel noise of its input pair and tail, injected by the physical model (:mod:`pbitkit.circuits.noise`)
at the devices' drains: ``4 k T gamma g_m`` for each input device (saturated) at ``x1``/``x2``, ``4 k T
g_ds`` for the tail (triode) at ``tail``. Nothing amplifies the noise but the comparator's own transistors,
whose every joule is counted (supply and clock drive). One output bit per clock period.

Operating point of the noise. The devices conduct only while the clock is high, and what decides the bit
is the *integration* phase: from the clock edge until the output common mode has fallen by a quarter of
the supply (the latch's pFETs turn on, regeneration takes over). A noiseless transient of two periods at
the start of each ngspice session measures that window ``t_int`` and the mean ``g_m`` of the input pair
(and ``g_ds`` of the tail) over it; the noise sources' gains are set from them. The noise is confined to a
window of ``noise_window_s`` after each rising clock edge (the devices carry no current during reset) and
sampled every ``noise_dt_s``, with the transient's maximum step equal to it (docs/cells.md measures P(1)'s
width against the step).

Hand analysis (and the predicted tier, :func:`pbitkit.circuits.predict.comparator_noise_sigma`): the input-
referred noise over the integration window is ``sigma_n = sqrt(4 k T gamma / (g_m t_int))``; a noiseless
transient in which the input steps through a staircase gives the decision threshold ``V0``;
``P(1) = Phi((V_b - V0) / sigma_n)``.
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
    base_row,
    bit_stats,
    check_param,
    check_time_steps,
    default_library,
    energy_columns,
)
from pbitkit.circuits.elements import fmt_number, mos, netlist_header, noise_injection_lines, op_vector
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, write_command
from pbitkit.circuits.noise import K_B, NoiseWindow, session_noise_files
from pbitkit.circuits.predict import comparator_noise_sigma, probit_p1, threshold_from_staircase
from pbitkit.constants import kelvin

__all__ = ["StrongArmCell", "render_strongarm", "clock_drive_energy", "STRONGARM_NOISE_NODES"]

_f = fmt_number

#: Where each noisy device's channel noise is injected: ``(noise source tag / node, device instance)``.
STRONGARM_NOISE_NODES: tuple[tuple[str, str], ...] = (("x1", "I1"), ("x2", "I2"), ("tail", "T"))

#: The integration-phase scalars the session measures and writes before the noisy transients.
_PROFILE_VECTORS = ["t_on", "t_int", "gm_pair", "gds_tail"]


def render_strongarm(lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                     bias_V: float, mc_seed: int = -1, noise: bool = True,
                     bias_pwl: Sequence[tuple[float, float]] | None = None) -> str:
    """The StrongARM comparator cell (no analysis). Nodes ``inp``/``inn`` (differential input
    ``bias_V`` around ``vcm_V``), ``clk``, ``outp``/``outn``; ``outp > outn`` is a 1.

    Clock: low (reset: the four pFETs precharge ``outp``, ``outn``, ``x1``, ``x2`` to VDD) for the first
    half period, high (evaluate) for the second. Noise: current sources ``Gnx1``, ``Gnx2``, ``Gntail``
    (gain 0, set later with ``alter``) read ``noise_x1.txt``, ``noise_x2.txt``, ``noise_tail.txt`` and inject
    into the drains of the input devices and the tail. ``bias_pwl`` (``[(t_s, V), ...]``) replaces the DC
    bias by a piecewise-linear waveform.
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
        "Ebp inp cm bias 0 0.5",
        "Ebn inn cm bias 0 -0.5",
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
    ]
    if noise:
        for tag, _ in STRONGARM_NOISE_NODES:
            lines += noise_injection_lines(tag, node=tag)
    return "\n".join(lines) + "\n"


#: the predicted tier's staircase never has more steps than this (one clock period each; 401 steps over the
#: centering's ±44 mV search resolve a centre to 0.22 mV, under half the comparator's ~0.5 mV noise)
MAX_STAIR_STEPS = 401


def stair_steps_V(span_V: float, n_steps: int, biases_V: Sequence[float]) -> np.ndarray:
    """The predicted tier's noiseless input staircase (V, increasing): ``n_steps`` values over ``±span_V``, or,
    when the requested biases reach beyond it (a mismatched device's centre, searched over tens of sigmoid
    widths), over their range at the same step size (at most :data:`MAX_STAIR_STEPS` steps, coarser beyond).

    The threshold is read off where the decisions change, so it must lie inside the staircase: with the fixed
    ``±span_V`` a device whose offset exceeds it (mismatch moves the StrongARM's centre by σ ≈ 17 mV against a
    4 mV span) had no threshold and its P(1) was NaN at every bias."""
    lo, hi = float(min(biases_V)), float(max(biases_V))
    if -span_V <= lo and hi <= span_V:
        return np.linspace(-span_V, span_V, n_steps)
    step = 2 * span_V / (n_steps - 1)
    n = int(min(max(n_steps, math.ceil((hi - lo) / step) + 1), MAX_STAIR_STEPS))
    return np.linspace(lo, hi, n)


def clock_drive_energy(t_s: np.ndarray, i_into_clock_A: np.ndarray, v_clk_V: float, period_s: float,
                       n_periods: int) -> float:
    """Energy (J) a CMOS buffer would draw to drive the clock: ``V`` times the *net* charge the clock source
    delivers from its rising edge to its falling edge (``[0.45, 0.98]`` of each period; the clock rises at
    half period), summed over ``n_periods``.

    Not the integral of the clipped current: the trapezoidal ringing of an ideal source's capacitive
    current makes that depend on the time step (measured on the same 20 decisions: 42, 39 and 51 fJ per
    decision at 40, 20 and 5 ps steps; the net charge gives 23.2, 23.2 and 23.5 fJ).
    """
    q = np.concatenate(([0.0], np.cumsum(np.diff(t_s) * (i_into_clock_A[1:] + i_into_clock_A[:-1]) / 2)))
    k = np.arange(n_periods) * period_s
    return v_clk_V * float(np.sum(np.interp(k + 0.98 * period_s, t_s, q) - np.interp(k + 0.45 * period_s, t_s, q)))


def _profile_lines(lib: ModelLibrary, p: Mapping[str, float], vdd_V: float) -> list[str]:
    """Control lines: a noiseless transient of two periods at the current bias, then ``t_on`` (the clock's
    rising mid-point), ``t_int`` (until the outputs' common mode has fallen to 3/4 of the supply) and the
    means of the pair's ``g_m`` and the tail's ``g_ds`` over that window."""
    period = 1.0 / p["f_clk_Hz"]
    dt = p["noise_dt_s"]
    gm, gds = op_vector(lib, "I1", "n", "gm"), op_vector(lib, "T", "n", "gds")
    return [f"save v(outp) v(outn) v(clk) vdd#branch vclk#branch {gm} {gds}",
            f"tran {_f(dt)} {_f(2 * period)} 0 {_f(dt)}",
            f"meas tran t_on when v(clk)={_f(vdd_V / 2)} rise=1",
            "let out_cm = (v(outp) + v(outn)) / 2",
            f"meas tran t_cm when out_cm={_f(0.75 * vdd_V)} fall=1",
            f"let gmp = {gm}", f"let gdst = {gds}",
            "meas tran gm_pair avg gmp from=$&t_on to=$&t_cm",
            "meas tran gds_tail avg gdst from=$&t_on to=$&t_cm",
            "let t_int = t_cm - t_on"]


class StrongArmCell(Cell):
    """StrongARM clocked comparator whose randomness is its own input pair's channel noise (module docstring)."""

    name = "strongarm"
    description = "StrongARM clocked comparator, 1.8 V, its own input-pair and tail channel noise"
    noise_source = "transistor"
    default_vdd_V = 1.8
    topology = "StrongARM clocked comparator at 1.8 V (nfet/pfet_01v8), 2 fF loads, 100 MHz port clock"
    noise_description = ("own channel noise: 4kT gamma g_m of the input pair and 4kT g_ds of the tail over the "
                         "integration window")
    all_transistor = False  # the differential input is split by two E sources (the bias port's drive)
    port_nodes = ("vdd", "clk", "bias", "cm")
    card = "default_card.json"
    #: the circuit renderer (same signature as :func:`render_strongarm`; the PySpice definition in
    #: :mod:`pbitkit.circuits.builtin.strongarm_pyspice` replaces it)
    render = staticmethod(render_strongarm)
    defaults = {
        "w_in_um": 2.0, "w_latch_um": 1.0, "w_reset_um": 1.0, "l_um": 0.15, "c_load_F": 2e-15,
        "vcm_V": 0.9, "f_clk_Hz": 100e6, "t_edge_s": 50e-12,
        "noise_dt_s": 20e-12, "noise_window_s": 0.5e-9, "noise_gamma": 2.0 / 3.0, "noise_scale": 1.0,
        "n_samples": 400, "read_phase": 0.95, "bias_half_span_V": 1.1e-3,
        "stair_steps": 161, "stair_span_V": 4e-3,
    }

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        """``±bias_half_span_V`` (default 1.1 mV = 2.2 sigma_n of the measured 0.5 mV: P ≈ 0.02 … 0.98)."""
        p = self.params(params)
        return (-p["bias_half_span_V"], p["bias_half_span_V"])

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The comparator at its defaults (tt, 27 °C, zero differential input), no analysis."""
        return self.render(library or default_library("tt", False), self.params(), vdd_V=self.default_vdd_V,
                           temp_C=27.0, bias_V=0.0)

    def check_params(self, p: Mapping[str, float]) -> None:
        n = self.name
        for k in ("w_in_um", "w_latch_um", "w_reset_um", "l_um"):
            check_param(n, k, p[k], 0.0, 1e4, lo_open=True)
        check_param(n, "f_clk_Hz", p["f_clk_Hz"], 0.0, 1e12, lo_open=True)
        period = 1.0 / p["f_clk_Hz"]
        check_param(n, "t_edge_s", p["t_edge_s"], 0.0, 0.25 * period, lo_open=True)
        check_param(n, "c_load_F", p["c_load_F"], 0.0, 1e-6)
        check_param(n, "noise_window_s", p["noise_window_s"], 0.0, 0.5 * period, lo_open=True)
        check_param(n, "noise_dt_s", p["noise_dt_s"], 0.0, p["noise_window_s"] / 4, lo_open=True)
        check_param(n, "noise_gamma", p["noise_gamma"], 0.0, 10.0, lo_open=True)
        check_param(n, "noise_scale", p["noise_scale"], 0.0, 1e6)
        check_param(n, "n_samples", p["n_samples"], 2, 1e6, integer=True)
        check_param(n, "read_phase", p["read_phase"], 0.5, 0.99, lo_open=True)  # in the evaluate half
        check_param(n, "bias_half_span_V", p["bias_half_span_V"], 0.0, 1.0, lo_open=True)
        check_param(n, "stair_steps", p["stair_steps"], 3, 1e5, integer=True)
        check_param(n, "stair_span_V", p["stair_span_V"], 0.0, 1.0, lo_open=True)
        check_time_steps(n, "n_samples / f_clk_Hz and noise_dt_s", p["n_samples"] / p["f_clk_Hz"], p["noise_dt_s"])

    def _noise_gain_lines(self, p: Mapping[str, float], temp_C: float) -> list[str]:
        """Control lines setting the sources' gains ``sqrt(S / (2 dt))`` from the measured window:
        ``S = 4 k T gamma g_m`` (each input device), ``4 k T g_ds`` (tail), times ``noise_scale``."""
        four_kt = 4 * K_B * kelvin(temp_C) * p["noise_scale"]
        two_dt = 2 * p["noise_dt_s"]
        return [f"let sig_pair = sqrt({four_kt * p['noise_gamma']:.9e}*gm_pair/{two_dt:.9e})",
                f"let sig_tail = sqrt({four_kt:.9e}*gds_tail/{two_dt:.9e})",
                "alter @gnx1[gain] = $&sig_pair", "alter @gnx2[gain] = $&sig_pair",
                "alter @gntail[gain] = $&sig_tail"]

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        temp = pts[0].temp_C
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=temp, bias_V=0.0, mc_seed=pts[0].mc_seed)
        period = 1.0 / p["f_clk_Hz"]
        n = int(p["n_samples"])
        t_stop = n * period
        dt = p["noise_dt_s"]
        window = NoiseWindow(t_first_s=period / 2, width_s=p["noise_window_s"], period_s=period, n_periods=n)
        files, pre = session_noise_files([tag for tag, _ in STRONGARM_NOISE_NODES],
                                         [pt.noise_seed_sequence() for pt in pts], dt, 1, window)
        ctl = [".control", *_profile_lines(lib, p, vdd), *self._noise_gain_lines(p, temp),
               write_command(_PROFILE_VECTORS)]
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter vb dc={_f(pt.bias_V)}", f"tran {_f(dt)} {_f(t_stop)} 0 {_f(dt)}",
                    write_command(["v(outp)", "v(outn)", "i(vdd)", "i(vclk)"])]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p)
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=meta.label, meta=meta)

    @staticmethod
    def _profile(meta: JobMeta, plot: Mapping[str, np.ndarray]) -> dict[str, float]:
        """The integration window's scalars and the hand-analysis sigma_n from the session's first plot."""
        p = meta.params
        out = {k: float(np.real(plot[k][0])) for k in _PROFILE_VECTORS}
        sigma = comparator_noise_sigma(out["gm_pair"], out["t_int"], meta.temp_C, p["noise_gamma"],
                                       p["noise_scale"]) if out["gm_pair"] > 0 and out["t_int"] > 0 else math.nan
        return {"pair_gm_S": out["gm_pair"], "tail_gds_S": out["gds_tail"], "t_int_s": out["t_int"],
                "noise_sigma_hand_V": sigma,
                "noise_psd_pair_A2_Hz": 4 * K_B * kelvin(meta.temp_C) * p["noise_gamma"] * p["noise_scale"]
                * out["gm_pair"]}

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        period = 1.0 / p["f_clk_Hz"]
        prof = self._profile(meta, result.plots[0])
        rows = []
        for k, bias in enumerate(meta.bias_V):
            tr = result.plots[1 + k]
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
            e_clk = clock_drive_energy(t, -np.real(tr["i(vclk)"]), meta.vdd_V, period, n)
            row["supply_energy_per_bit_J"] = es.energy_J / n_bits
            row["clock_energy_per_bit_J"] = e_clk / n_bits
            es = measure.EnergySplit(es.energy_J + e_clk, es.duration_s, es.static_power_W,
                                     es.dynamic_energy_J + e_clk)
            row.update(energy_columns(es, n_bits, row.get(N_FLIPS_KEY, 0)))
            row.pop(N_FLIPS_KEY, None)
            # noise_rms_V: the input-referred RMS of the injected noise (hand analysis), read by the card fit
            row.update(sample_period_s=period, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta.bias_V),
                       noise_rms_V=prof["noise_sigma_hand_V"], **prof)
            rows.append(row)
        return rows

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        period = 1.0 / p["f_clk_Hz"]
        steps = stair_steps_V(p["stair_span_V"], int(p["stair_steps"]), [pt.bias_V for pt in pts])
        # zero input for two periods (the session's noiseless profile run measures the integration window
        # there), then one bias value per clock cycle, changed early in the reset phase (clock low)
        pwl: list[tuple[float, float]] = [(0.0, 0.0), (2.05 * period, 0.0), (2.1 * period, float(steps[0]))]
        for k in range(1, steps.size):
            pwl += [((k + 2.05) * period, float(steps[k - 1])), ((k + 2.1) * period, float(steps[k]))]
        circuit = self.render(lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=0.0, mc_seed=pts[0].mc_seed,
                              noise=False, bias_pwl=pwl)
        t_stop = (steps.size + 2) * period
        ctl = [".control", *_profile_lines(lib, p, vdd), write_command(_PROFILE_VECTORS),
               f"tran {_f(period / 200)} {_f(t_stop)}", write_command(["v(outp)", "v(outn)"]), ".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p, stair=steps.tolist())
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        p = meta.params
        period = 1.0 / p["f_clk_Hz"]
        prof = self._profile(meta, result.plots[0])
        tr = result.plots[1]
        t = np.real(tr["time"])
        diff = np.real(tr["v(outp)"] - tr["v(outn)"])
        steps = np.asarray(meta.extra["stair"])
        tk = (np.arange(steps.size) + 2 + p["read_phase"]) * period
        bits = (np.interp(tk, t, diff) > 0).astype(np.uint8)
        v0 = threshold_from_staircase(steps, bits)
        sigma = prof["noise_sigma_hand_V"]
        biases = np.asarray(meta.bias_V, dtype=float)
        rows = []
        for b in biases:
            row = base_row(meta, float(b))
            ok = math.isfinite(v0) and math.isfinite(sigma)
            row.update(p1=float(probit_p1(b, v0, sigma)) if ok else math.nan,
                       sample_period_s=period, cpu_time_s=result.cpu_time_s / len(biases), sim_time_s=0.0,
                       pred_v0_V=v0, pred_sigma_V=sigma, tau_corr_s=period / 2, **prof)
            if not ok:
                row.update(status="failed", error="decision threshold outside the predicted-tier staircase"
                           if not math.isfinite(v0) else "no integration window in the noiseless profile run")
            rows.append(row)
        return rows
