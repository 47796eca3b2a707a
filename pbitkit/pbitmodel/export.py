"""Export a DeviceModel card: JSON, a CSV parameter table, and a SPICE behavioural macro-model.

SPICE macro-model (renewal-noise comparator)
--------------------------------------------
``.subckt <name> bias out``: an ideal comparator on ``V(bias) - v0 + n(t)`` drives ``out`` to ``0`` or
``vdd_V``. The noise ``n(t)`` is piecewise constant: it is redrawn i.i.d. at the events of a Poisson process
of rate ``1/tau`` (``tau = card.dynamics.tau_corr_s``) from the link's own distribution, logistic of scale ``vs``
(``n = vs ln(U / (1 - U))``) or normal of standard deviation ``vs`` (probit). Then

- ``P(out high) = P(n > v0 - V) = F((V - v0)/vs)``: the card's sigmoid exactly, for any bias;
- at each event the output is a fresh draw, between events it holds: the output is a two-state Markov
  (telegraph) process with ``r_up = P/tau``, ``r_down = (1 - P)/tau``, autocorrelation ``exp(-t/tau)``,
  i.e. the correlation time ``tau`` (:mod:`pbitkit.pbitmodel.symbolic`, derivation 2);
- driven by a bias that depends on other cells, each event is a heat-bath (Glauber) update, so cells
  coupled through a settled resistive bias network sample the Boltzmann distribution of their couplings.

The decision is latched: a second column of the table opens a track-and-hold for ``tau/20`` just after each
event, so the output changes only at the cell's own events (a neighbour's flip between events does not
move it; without the latch the quenched noise makes coupled cells deviate from heat-bath sampling).
Events are at least ``tau/10`` apart (gaps ``tau/10 + Exponential``, mean chosen so that the integrated
correlation time is ``tau``: :func:`_mean_gap`).

The noise is a seeded table played by the XSPICE ``filesource`` model with ``amplstep=true`` (reproducible,
docs/theory.md §6.3; ``trnoise`` is not). An unclocked card with ``rate_model`` ``"exp"`` gets the *telegraph* variant instead (bias-dependent rates by
uniformization with a two-phase latch; :func:`_telegraph_subckt`, :func:`_renewal_a`, docs/pbitmodel.md).

A clocked cell (``sample_period_s > 0``) gets one event per clock period ``t_s`` instead of Poisson events.
The card's reads have ``tau_int = 2 tau_corr_s / t_s`` (the circuits stage's definition of ``tau_corr_s``):
``tau_int = 1`` for a comparator (an independent decision per clock), ``tau_int > 1`` for a free-running
core read by a clocked readout, whose consecutive reads are correlated. The macro-model reproduces it with
a *lazy* heat-bath: at each clock the decision is redrawn with probability ``1 - rho`` and kept otherwise,
``rho = (tau_int - 1) / (tau_int + 1)`` (:func:`clocked_hold_probability`). The reads are then a two-state
Markov chain with ``P(1) = F((V - v0)/vs)`` exactly, lag-``k`` correlation ``rho^k`` and integrated
correlation time ``(1 + rho) / (1 - rho) = tau_int``, i.e. ``tau_corr_s`` as in the card (``rate_model``
``"constant_tau"``); a held decision does not follow a bias change until the next redraw, which leaves the
heat-bath's stationary distribution unchanged.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from pbitkit.io import atomic_write_text
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.spicetext import spice_comment

__all__ = ["card_to_csv", "macromodel_noise", "clocked_hold_probability", "time_unit", "tran_step", "is_telegraph", "uniformization_rate", "spice_macromodel", "export_spice", "export_card",
           "EXPORT_FORMATS"]

#: Formats of :func:`export_card` (and ``pbitkit export --format``).
EXPORT_FORMATS = ("json", "csv", "spice", "pyspice")

_UNITS = {"_V": "V", "_s": "s", "_J": "J", "_W": "W", "_C": "degC", "_F": "F", "_S": "S", "_Hz": "Hz",
          "_rel": "1", "_corr": "1", "_per_V": "1/V", "_per_K": "per K"}


def _unit(name: str) -> str:
    for suf, u in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suf):
            return u
    return ""


def card_to_csv(card: DeviceModel) -> str:
    """A flat ``parameter,value,unit,std_error`` CSV of every card entry except provenance (sections flattened
    with dots, e.g. ``dynamics.rate_model.rate0_Hz``; unmeasured temperature coefficients are absent)."""
    se = {"v0_V": card.v0_se_V, "vs_V": card.vs_se_V}
    rows: list[tuple[str, str, str, str]] = []

    def add(name: str, val: object) -> None:
        if isinstance(val, dict):
            for k, v in val.items():
                add(f"{name}.{k}", v)
            return
        leaf = name.rsplit(".", 1)[-1]
        is_num = isinstance(val, (int, float)) and not isinstance(val, bool)
        rows.append((name, repr(float(val)) if isinstance(val, float) else str(val),
                     _unit(leaf) if isinstance(val, float) or (is_num and "." in name) else "",
                     repr(se[name]) if name in se else ""))

    for key, val in card.to_dict().items():
        if key != "provenance":
            add(key, val)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["parameter", "value", "unit", "std_error"])
    w.writerows(rows)
    return buf.getvalue()


# Timing of one update event, in units of tau: the noise changes at t_k, the latch is open during
# [t_k + _D, t_k + _D + _W], and events are at least _GAP apart (shifted-exponential gaps).
_D, _W, _GAP = 1.0 / 50.0, 1.0 / 20.0, 0.1
TRAN_STEP_PER_TAU = 1.0 / 100.0  # maximum transient step for macro-model runs, in units of tau


def _mean_gap(tau: float) -> float:
    """Mean event gap ``m`` whose shifted-exponential renewal (minimum gap ``d = _GAP tau``) has integrated
    correlation time ``E[g^2] / (2 E[g]) = ((m - d)^2 + m^2) / (2 m) = tau``:
    ``m = ((d + tau) + sqrt((d + tau)^2 - 2 d^2)) / 2``."""
    d = _GAP * tau
    return 0.5 * ((d + tau) + math.sqrt((d + tau) ** 2 - 2 * d * d))


# Telegraph (uniformized) variant for rate_model "exp": two latch phases per event; times in units of 1/Lambda.
_TD, _TW, _TG, _TGAP = 1.0 / 40.0, 1.0 / 10.0, 1.0 / 40.0, 0.3
TELEGRAPH_STEP_PER_UNIT = 1.0 / 40.0
TELEGRAPH_WINDOW_WIDTHS = 4.0  # rates are exact within v0 ± 4 widths of the rates' own occupancy sigmoid


def is_telegraph(card: DeviceModel) -> bool:
    """True when the macro-model reproduces bias-dependent rates (unclocked card with ``rate_model`` ``exp``)."""
    return card.dynamics.sample_period_s == 0 and card.dynamics.rate_model.form == "exp"


def uniformization_rate(card: DeviceModel) -> float:
    """``Lambda = max (r_up + r_down)`` over ``v0 ± K w`` (``w = 1/(s_up + s_down)``, ``K = 4``), Hz. The sum of
    exponentials is convex, so the maximum is at an end of the window."""
    rm = card.dynamics.rate_model
    w = 1.0 / (float(rm.slope_up_per_V) + float(rm.slope_down_per_V))
    ends = card.v0_V + TELEGRAPH_WINDOW_WIDTHS * w * np.array([-1.0, 1.0])
    up, down = card.rates(ends)
    return float(np.max(up + down))


def time_unit(card: DeviceModel) -> float:
    """The macro-model's time unit: the clock period of a clocked cell (``sample_period_s > 0``), ``1/Lambda``
    for the telegraph variant (:func:`uniformization_rate`), else ``tau_corr_s``. Latch timing and the
    transient step scale with it."""
    if card.dynamics.sample_period_s > 0:
        return card.dynamics.sample_period_s
    if is_telegraph(card):
        return 1.0 / uniformization_rate(card)
    return card.dynamics.tau_corr_s


def tran_step(card: DeviceModel) -> float:
    """Maximum transient step (s) for simulating the macro-model."""
    return time_unit(card) * (TELEGRAPH_STEP_PER_UNIT if is_telegraph(card) else TRAN_STEP_PER_TAU)


def _telegraph_noise(card: DeviceModel, t_stop_s: float, rng: np.random.Generator) -> str:
    """Three-column table ``time u latchA latchB``: events with gaps ``0.3 u + Exponential(0.7 u)`` (mean
    ``u = 1/Lambda``), ``u_k ~ Uniform(0, 1)``; latch A open ``[t+u/40, t+u/8]``, latch B ``[t+3u/20, t+u/4]``."""
    unit = time_unit(card)
    d = _TGAP * unit
    n_guess = int(t_stop_s / unit * 1.2 + 10 * math.sqrt(t_stop_s / unit) + 10)
    t = np.concatenate([[0.0], np.cumsum(d + rng.exponential(unit - d, n_guess))])
    while t[-1] <= t_stop_s:
        t = np.concatenate([t, t[-1] + np.cumsum(d + rng.exponential(unit - d, n_guess))])
    t = t[: int(np.searchsorted(t, t_stop_s, side="right")) + 1]
    u = rng.random(t.size)
    a0, a1 = _TD * unit, (_TD + _TW) * unit
    b0, b1 = a1 + _TG * unit, a1 + (_TG + _TW) * unit
    return "".join(f"{tk:.17g} {x:.17g} 0 0\n{tk + a0:.17g} {x:.17g} 1 0\n{tk + a1:.17g} {x:.17g} 0 0\n"
                   f"{tk + b0:.17g} {x:.17g} 0 1\n{tk + b1:.17g} {x:.17g} 0 0\n" for tk, x in zip(t.tolist(), u.tolist()))


def _renewal_a(unit: float) -> float:
    """``A = E[g^2] / (2 E[g])`` of the event gaps ``g = d + Exponential(m - d)`` (``m = unit``, ``d = 0.3 m``).

    For renewal events with i.i.d. gaps and an embedded two-state chain of per-event correlation ``rho``, the
    integrated autocorrelation time of the piecewise-constant output is ``A + m rho / (1 - rho)``. Per-event
    flip probabilities ``q = m r / (1 + (m - A)(r_up + r_down))`` make it ``1 / (r_up + r_down)`` exactly
    and keep the occupancy ``r_up / (r_up + r_down)`` (Poisson events: ``A = m``, ``q = m r``).
    """
    m, d = unit, _TGAP * unit
    return ((m - d) ** 2 + m**2) / (2 * m)


def _telegraph_subckt(card: DeviceModel, name: str, noise_file: str) -> str:
    rm = card.dynamics.rate_model
    lam = uniformization_rate(card)
    unit = 1.0 / lam
    vdd = card.vdd_V
    c_hold = 1e-12
    g_track = c_hold / (unit * _TW / 10.0)
    r0, su, sd = float(rm.rate0_Hz), float(rm.slope_up_per_V), float(rm.slope_down_per_V)
    dv = f"(V(bias) - ({card.v0_V:.12g}))"
    ru = f"({r0:.12g} * exp(min({su:.12g} * {dv}, 50)))"
    rd = f"({r0:.12g} * exp(min(-{sd:.12g} * {dv}, 50)))"
    # per-event flip probabilities q = m r / (1 + (m - A)(r_up + r_down)): exact integrated correlation time
    # 1/(r_up + r_down) for renewal events of mean gap m and A = E[g^2]/(2m) (see _telegraph_flip_scale)
    m, a_gap = unit, _renewal_a(unit)
    den = f"(1 + {m - a_gap:.12g} * ({ru} + {rd}))"
    pu = f"({m:.12g} * {ru} / {den})"
    pd = f"({m:.12g} * {rd} / {den})"
    s = f"(0.5 + 0.5 * tanh((V(h2) - {vdd / 2:.9g}) / {vdd / 100:.6g}))"
    return "\n".join([
        f"* pbitkit p-bit macro-model of cell '{spice_comment(card.cell)}' ({spice_comment(card.process)}), "
        f"card schema {card.schema_version}",
        f"* telegraph: r_up = {r0:.6g} exp({su:.6g} (V - {card.v0_V:.9g})), r_down = {r0:.6g} exp(-{sd:.6g} (V - v0)) Hz,",
        f"* uniformized at Lambda = {lam:.6g} Hz (rates exact within v0 +- {TELEGRAPH_WINDOW_WIDTHS:g} widths, "
        "saturating at Lambda beyond)",
        f"* ports: bias (input, V), out (0 / {vdd:.6g} V, ideal source). Max transient step <= "
        f"{unit * TELEGRAPH_STEP_PER_UNIT:.4g} s",
        f".subckt {name} bias out",
        "AN %vd([u 0 la 0 lb 0]) pbk_noise",
        f'.model pbk_noise filesource (file="{noise_file}" amploffset=[0 0 0] amplscale=[1 1 1] timeoffset=0 '
        "timescale=1 timerelative=false amplstep=true)",
        "RU u 0 1G", "RA la 0 1G", "RB lb 0 1G",
        f"Bc c 0 V = {vdd:.9g} * ((1 - {s}) * (0.5 + 0.5 * tanh(({pu} - V(u)) / 1e-6))"
        f" + {s} * (0.5 + 0.5 * tanh((V(u) - {pd}) / 1e-6)))",
        f"Bh1 0 h1 I = {g_track:.6g} * V(la) * (V(c) - V(h1))",
        f"Ch1 h1 0 {c_hold:g}", "Rh1 h1 0 1e15",
        f"Bh2 0 h2 I = {g_track:.6g} * V(lb) * (V(h1) - V(h2))",
        f"Ch2 h2 0 {c_hold:g}", "Rh2 h2 0 1e15",
        f"Bout out 0 V = {vdd:.9g} * {s}",
        f".ends {name}",
        "",
    ])


def clocked_hold_probability(card: DeviceModel) -> float:
    """Probability ``rho`` that a clocked macro-model keeps its decision at a clock: ``(tau_int - 1) /
    (tau_int + 1)`` with ``tau_int = max(1, 2 tau_corr_s / sample_period_s)`` (0 for an unclocked card)."""
    ts = card.dynamics.sample_period_s
    if not ts > 0:
        return 0.0
    tau_int = max(1.0, 2.0 * card.dynamics.tau_corr_s / ts)
    return (tau_int - 1.0) / (tau_int + 1.0)


def macromodel_noise(card: DeviceModel, t_stop_s: float, rng: np.random.Generator) -> str:
    """The two-column ``filesource`` table (``time noise_V latch``) of one macro-model instance.

    Event times: for a clocked cell (``sample_period_s > 0``) one event per clock period ``t_s``, of which the
    first and then each with probability ``1 - rho`` (:func:`clocked_hold_probability`) redraws the decision
    (the others are left out of the table: the latch stays closed and the output holds; with ``rho = 0``, a
    comparator's independent decisions, no extra random numbers are drawn); otherwise ``t_0 = 0`` and gaps
    ``d + Exponential(m - d)`` (``d = tau/10``, ``m`` from :func:`_mean_gap`). The noise is constant between
    events, i.i.d. logistic(0, vs) (``vs ln(U/(1-U))``) or normal(0, vs); the latch column is 1 during
    ``[t_k + u/50, t_k + u/50 + u/20]`` (``u`` = :func:`time_unit`) and 0 otherwise.
    """
    if not (t_stop_s > 0 and math.isfinite(t_stop_s)):
        raise ValueError(f"t_stop_s must be a positive finite time, got {t_stop_s!r}")
    if is_telegraph(card):
        return _telegraph_noise(card, t_stop_s, rng)
    unit = time_unit(card)
    if card.dynamics.sample_period_s > 0:
        t = np.arange(0.0, t_stop_s + 2 * unit, unit)
        rho = clocked_hold_probability(card)
        if rho > 0:
            redraw = rng.random(t.size) >= rho
            redraw[0] = True
            t = t[redraw]
    else:
        tau = card.dynamics.tau_corr_s
        d = _GAP * tau
        m = _mean_gap(tau)
        n_guess = int(t_stop_s / m * 1.2 + 10 * math.sqrt(t_stop_s / m) + 10)
        t = np.concatenate([[0.0], np.cumsum(d + rng.exponential(m - d, n_guess))])
        while t[-1] <= t_stop_s:
            t = np.concatenate([t, t[-1] + np.cumsum(d + rng.exponential(m - d, n_guess))])
        t = t[: int(np.searchsorted(t, t_stop_s, side="right")) + 1]
    if card.link == "logistic":
        u = np.clip(rng.random(t.size), 1e-16, 1 - 1e-16)
        val = card.vs_V * np.log(u / (1.0 - u))
    else:
        val = card.vs_V * rng.standard_normal(t.size)
    lines = []
    for tk, v in zip(t.tolist(), val.tolist()):
        lines.append(f"{tk:.17g} {v:.17g} 0\n{tk + _D * unit:.17g} {v:.17g} 1\n{tk + (_D + _W) * unit:.17g} {v:.17g} 0\n")
    return "".join(lines)


def spice_macromodel(card: DeviceModel, name: str, noise_file: str, *, edge_V: float | None = None) -> str:
    """Subcircuit text ``.subckt <name> bias out`` (see the module docstring). Pure: no files written.

    ``noise_file`` is the ``filesource`` table path as ngspice should see it; ``edge_V`` the comparator's
    transition width (default ``vs / 1000``: far below the noise, so ``P(1)`` is the noise law's CDF).
    Nodes: ``nz`` noise (V), ``lt`` latch enable, ``c`` comparator, ``h`` held decision (a capacitor that a
    ``B`` current source drives toward ``c`` only while ``lt = 1``, time constant ``tau/200``).
    """
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"subcircuit name must be non-empty without spaces, got {name!r}")
    if any(c.isspace() or c == '"' for c in noise_file):
        raise ValueError(f"noise file path must not contain spaces or quotes, got {noise_file!r}")
    if is_telegraph(card):
        return _telegraph_subckt(card, name, noise_file)
    eps = card.vs_V / 1000.0 if edge_V is None else edge_V
    vdd = card.vdd_V
    c_hold = 1e-12
    unit = time_unit(card)
    g_track = c_hold / (unit * _W / 10.0)
    if card.dynamics.sample_period_s > 0:
        rho = clocked_hold_probability(card)
        note = (f"clocked: one independent decision per {card.dynamics.sample_period_s:.6g} s clock" if rho == 0 else
                f"clocked every {card.dynamics.sample_period_s:.6g} s, the decision kept with probability {rho:.4g}")
    elif card.dynamics.rate_model.form == "constant_tau":
        note = "exact (rate_model constant_tau)"
    else:  # unreachable: unclocked "exp" cards use the telegraph variant
        note = "renewal noise"
    return "\n".join([
        f"* pbitkit p-bit macro-model of cell '{spice_comment(card.cell)}' ({spice_comment(card.process)}), "
        f"card schema {card.schema_version}",
        f"* P(1) = {card.link}((V(bias) - {card.v0_V:.9g}) / {card.vs_V:.9g}); correlation time "
        f"{card.dynamics.tau_corr_s:.6g} s: {note}",
        f"* ports: bias (input, V), out (0 / {vdd:.6g} V, ideal source). Max transient step <= "
        f"{unit * TRAN_STEP_PER_TAU:.4g} s",
        f".subckt {name} bias out",
        "AN %vd([nz 0 lt 0]) pbk_noise",
        f'.model pbk_noise filesource (file="{noise_file}" amploffset=[0 0] amplscale=[1 1] timeoffset=0 '
        "timescale=1 timerelative=false amplstep=true)",
        "RZ nz 0 1G",
        "RL lt 0 1G",
        f"Bc c 0 V = {vdd:.9g} * (0.5 + 0.5 * tanh((V(bias) - ({card.v0_V:.12g}) + V(nz)) / {eps:.6g}))",
        f"Bh 0 h I = {g_track:.6g} * V(lt) * (V(c) - V(h))",
        f"Ch h 0 {c_hold:g}",
        "Rh h 0 1e15",
        f"Bout out 0 V = {vdd:.9g} * (0.5 + 0.5 * tanh((V(h) - {vdd / 2:.9g}) / {vdd / 100:.6g}))",
        f".ends {name}",
        "",
    ])


def export_spice(card: DeviceModel, path: str | os.PathLike[str], *, n_instances: int = 1, t_stop_s: float | None = None,
                 seed: int = 0, name: str = "pbit") -> list[Path]:
    """Write ``path`` (a ``.lib`` of ``n_instances`` subcircuits ``<name>0 ..``, each with its own seeded
    noise) and the noise tables ``<stem>_noise<i>.txt`` next to it. Returns every file written.

    ``t_stop_s`` is the longest transient the tables cover (default ``10^4 tau``). Include the library with
    ``.include`` from the directory that holds the noise files (or edit the paths).
    """
    p = Path(path)
    t_stop = 1e4 * card.dynamics.tau_corr_s if t_stop_s is None else t_stop_s
    streams = np.random.SeedSequence(seed).spawn(n_instances)
    written: list[Path] = []
    parts = [f"* pbitkit SPICE macro-model library: {n_instances} instance(s), noise seed {seed}, "
             f"valid for transients up to {t_stop:.6g} s\n"]
    for i, ss in enumerate(streams):
        fname = f"{p.stem}_noise{i}.txt"
        written.append(atomic_write_text(p.with_name(fname), macromodel_noise(card, t_stop, np.random.default_rng(ss))))
        parts.append(spice_macromodel(card, f"{name}{i}", fname))
    written.insert(0, atomic_write_text(p, "\n".join(parts)))
    return written


def export_card(card: DeviceModel, fmt: str, out: str | os.PathLike[str], **spice_kw) -> list[Path]:
    """Write ``card`` as ``fmt`` (``json`` | ``csv`` | ``spice`` | ``pyspice``) to ``out``; returns the files
    written (``pyspice``: :func:`pbitkit.pbitmodel.export_pyspice.export_pyspice`, same keywords as ``spice``)."""
    if fmt == "json":
        return [card.save(out)]
    if fmt == "csv":
        return [atomic_write_text(out, card_to_csv(card))]
    if fmt == "spice":
        return export_spice(card, out, **spice_kw)
    if fmt == "pyspice":
        from pbitkit.pbitmodel.export_pyspice import export_pyspice

        return export_pyspice(card, out, **spice_kw)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {list(EXPORT_FORMATS)}")
