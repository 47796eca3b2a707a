"""Confirm front designs with the transient tier, fit their cards, and report where the two tiers disagree.

For the reference (the cell's default) and ``k`` front designs spread over the objectives (:func:`select_front`),
:func:`confirm_front` runs :func:`pbitkit.circuits.characterize` with both tiers on the same bias points
(seeded transient noise simulations and the predicted tier; cached and resumable like any
characterization), fits a DeviceModel card to the transient rows (:func:`pbitkit.pbitmodel.fit_characterization`)
and compares the tiers point by point:

* P(1): ``|P_pred - P_tran| <= 3 SE + 0.03`` (SE from the transient row's n_eff-corrected Wilson interval,
  ``(p1_hi - p1_lo) / (2 * 1.96)``; the 0.03 allows the predicted tier's known bias, docs/cells.md);
* the read bits' correlation time at the centre within a factor 2, the energy per read and the energy per
  independent bit within 20 %;
* the readout's agreement with the core's state (cells that report ``readout_agreement``) >= 0.9 — the
  predicted tier cannot see a stalled readout.

The card's variation: the transient confirmation simulates the nominal device only, so the card carries
the predicted tier's mismatch spread ``sigma_v0_V`` of the design (from its ``mc_instances`` instances; a
note in the card's provenance says so). A design whose spread is ∞ (fewer than two instances centred in
the window) gets the window's half-span as ``v0_sigma_V`` — a lower bound — and ``variation_defined =
False``.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.explore.driver import DesignResult, ExploreResult
from pbitkit.explore.space import SUPPLY
from pbitkit.io import atomic_write_text

__all__ = ["TierComparison", "Confirmation", "ConfirmResult", "compare_tiers", "confirm_design", "confirm_front",
           "select_front",
           "confirm_markdown", "P_TOL_ABS", "P_TOL_SE", "TAU_TOL_FACTOR", "ENERGY_TOL_REL", "AGREEMENT_MIN",
           "CONFIRM_CSV"]

log = logging.getLogger(__name__)

#: P(1) tolerance between the tiers: |ΔP| <= P_TOL_SE * SE + P_TOL_ABS
P_TOL_SE = 3.0
#: the absolute part of the P(1) tolerance (the predicted tier's known bias, docs/cells.md: up to 0.032)
P_TOL_ABS = 0.03
#: correlation time of the read bits: predicted / transient within this factor
TAU_TOL_FACTOR = 2.0
#: energy per read and per independent bit: |predicted / transient - 1| within this
ENERGY_TOL_REL = 0.2
#: lowest acceptable readout agreement with the core's state
AGREEMENT_MIN = 0.9
#: the comparison table in the run directory
CONFIRM_CSV = "confirm.csv"


@dataclass(frozen=True)
class TierComparison:
    """Predicted vs transient figures of one design.

    Attributes
    ----------
    bias_V, p_pred, p_tran, p_se : (n,) per bias point.
    max_dp, n_p_fail : largest |ΔP| and points outside the P(1) tolerance.
    tau_pred_s, tau_tran_s, e_pred_J, e_tran_J, ei_pred_J, ei_tran_J : at the point nearest P = 1/2
        (correlation time of the reads, energy per read, energy per independent bit).
    agreement : mean readout agreement over the points (NaN if the cell reports none).
    disagreements : one line per figure outside its tolerance.
    """

    bias_V: np.ndarray
    p_pred: np.ndarray
    p_tran: np.ndarray
    p_se: np.ndarray
    max_dp: float
    n_p_fail: int
    tau_pred_s: float
    tau_tran_s: float
    e_pred_J: float
    e_tran_J: float
    ei_pred_J: float
    ei_tran_J: float
    agreement: float
    disagreements: tuple[str, ...]

    @property
    def agree(self) -> bool:
        """Every figure within its tolerance."""
        return not self.disagreements


def _num(r: Mapping[str, Any], k: str) -> float:
    try:
        return float(r.get(k, math.nan))
    except (TypeError, ValueError):
        return math.nan


def compare_tiers(rows: Sequence[Mapping[str, Any]]) -> TierComparison:
    """Compare the ``predicted`` and ``transient`` rows of one nominal device (same bias points).

    Raises
    ------
    ValueError
        If the two tiers do not hold the same bias points.
    """
    tran = sorted((r for r in rows if r.get("tier") == "transient" and r.get("status") == "ok"),
                  key=lambda r: _num(r, "bias_V"))
    pred = sorted((r for r in rows if r.get("tier") == "predicted" and r.get("status") == "ok"),
                  key=lambda r: _num(r, "bias_V"))
    b = np.array([_num(r, "bias_V") for r in tran])
    if not len(tran) or len(tran) != len(pred) or not np.allclose(b, [_num(r, "bias_V") for r in pred]):
        raise ValueError(f"compare_tiers: {len(tran)} transient and {len(pred)} predicted rows at different biases")
    pt = np.array([_num(r, "p1") for r in tran])
    pp = np.array([_num(r, "p1") for r in pred])
    se = np.array([(_num(r, "p1_hi") - _num(r, "p1_lo")) / (2 * 1.959964) for r in tran])
    dp = np.abs(pp - pt)
    fail = dp > P_TOL_SE * se + P_TOL_ABS
    k = int(np.argmin(np.abs(pt - 0.5)))
    tp, tt = _num(pred[k], "tau_corr_s"), _num(tran[k], "tau_corr_s")
    ep, et = _num(pred[k], "energy_per_bit_J"), _num(tran[k], "energy_per_bit_J")
    eip, eit = _num(pred[k], "energy_per_independent_bit_J"), _num(tran[k], "energy_per_independent_bit_J")
    agr = np.array([_num(r, "readout_agreement") for r in tran])
    agreement = float(np.mean(agr)) if np.all(np.isfinite(agr)) else math.nan
    why = []
    if fail.any():
        j = int(np.argmax(dp - (P_TOL_SE * se + P_TOL_ABS)))
        why.append(f"P(1) at {int(fail.sum())} of {len(fail)} points (worst {b[j] * 1e3:.1f} mV: predicted "
                   f"{pp[j]:.3f}, transient {pt[j]:.3f} ± {se[j]:.3f})")
    if not (math.isfinite(tp) and math.isfinite(tt) and 1 / TAU_TOL_FACTOR <= tp / tt <= TAU_TOL_FACTOR):
        why.append(f"τ of the reads: predicted {tp * 1e9:.0f} ns, transient {tt * 1e9:.0f} ns")
    if not (math.isfinite(ep) and math.isfinite(et) and abs(ep / et - 1) <= ENERGY_TOL_REL):
        why.append(f"energy per read: predicted {ep * 1e15:.2f} fJ, transient {et * 1e15:.2f} fJ")
    if not (math.isfinite(eip) and math.isfinite(eit) and abs(eip / eit - 1) <= ENERGY_TOL_REL):
        why.append(f"energy per independent bit: predicted {eip * 1e15:.2f} fJ, transient {eit * 1e15:.2f} fJ "
                   "(the read bits' correlation differs)")
    if math.isfinite(agreement) and agreement < AGREEMENT_MIN:
        why.append(f"readout agreement {agreement:.2f} < {AGREEMENT_MIN} (the readout does not follow the core; "
                   "the predicted tier cannot see it)")
    return TierComparison(b, pp, pt, se, float(dp.max()), int(fail.sum()), tp, tt, ep, et, eip, eit, agreement,
                          tuple(why))


@dataclass(frozen=True)
class Confirmation:
    """One confirmed design: its label, the characterization run, the tier comparison and the card.

    ``card_path`` is ``None`` when the transient rows could not be fitted (``error`` says why);
    ``variation_defined`` is false when the design's predicted mismatch spread is ∞ (the card then carries a
    lower bound).
    """

    design: DesignResult
    label: str
    run_dir: Path
    comparison: TierComparison | None
    card_path: Path | None
    variation_defined: bool
    error: str = ""


@dataclass(frozen=True)
class ConfirmResult:
    """What :func:`confirm_front` did: the exploration, one :class:`Confirmation` per design (the reference
    first), the files written, the budget per design (``n_bias`` bias points per tier, ``params`` the cell
    overrides, e.g. ``t_stop_s``) and the wall time."""

    explore: ExploreResult
    items: list[Confirmation]
    paths: list[Path] = field(default_factory=list)
    n_bias: int = 9
    params: Mapping[str, float] = field(default_factory=dict)
    wall_time_s: float = math.nan


def confirm_design(res: ExploreResult, d: DesignResult, out_dir: Path, *, n_bias: int = 9,
                   params: Mapping[str, float] | None = None, executor: cf.Executor | None = None,
                   workers: int | None = None) -> Confirmation:
    """Characterize one design with both tiers into ``out_dir / "confirm" / label``, fit its card into
    ``out_dir / "cards" / label.json`` and compare the tiers (module docstring). ``params``: extra cell
    parameter overrides for the confirmation (e.g. a longer ``t_stop_s``). When every session comes from the
    row cache and the card exists, the card is kept as it is."""
    from pbitkit.circuits.characterize import characterize
    from pbitkit.circuits.sweep import BiasSpec, SweepSpec
    from pbitkit.errors import PbitkitError
    from pbitkit.pbitmodel import FitConfig, fit_characterization, read_characterization

    sp = res.space
    label = "default" if d.origin == "reference" else d.key[:12]
    overrides = {k: float(v) for k, v in d.design.items() if k != SUPPLY}
    spec = SweepSpec(cell=sp.cell, bias=BiasSpec(n=n_bias), params={**overrides, **dict(params or {})},
                     corners=(sp.conditions.corner,), temps_C=(sp.conditions.temp_C,),
                     vdds_V=(float(d.design[SUPPLY]),) if SUPPLY in d.design else (),
                     tiers=("transient", "predicted"))
    run_dir = out_dir / "confirm" / label
    cres = characterize(spec, run_dir, executor, workers=workers, plot=False, keep_bits=False, overwrite=True)
    try:
        comp: TierComparison | None = compare_tiers(cres.rows)
    except ValueError as exc:
        return Confirmation(d, label, run_dir, None, None, False, str(exc))
    sigma = float(d.metrics.get("sigma_v0_V", math.nan))
    defined = math.isfinite(sigma)
    card_path = out_dir / "cards" / f"{label}.json"
    if cres.n_simulated == 0 and card_path.is_file():
        # every session came from the row cache: the card fitted to these rows is still valid (refitting would
        # only change its creation time, and with it the key of the end-to-end results)
        return Confirmation(d, label, run_dir, comp, card_path, defined)
    try:
        card = fit_characterization(read_characterization(run_dir), FitConfig(tier="transient")).card
    except PbitkitError as exc:
        return Confirmation(d, label, run_dir, comp, None, defined, f"card fit: {exc}")
    note = (f"explore: transient confirmation of design {d.key[:12]} (nominal device); variation v0_sigma_V from the "
            f"predicted tier's {sp.conditions.mc_instances} mismatch instances"
            if defined else f"explore: design {d.key[:12]}; mismatch spread not resolved (fewer than two of its "
                            f"{sp.conditions.mc_instances} instances centred in the +-{sp.conditions.v0_search_half_span_V:g} V "
                            "window): v0_sigma_V is that half-span, a lower bound")
    card = card.replace(variation={"v0_sigma_V": sigma if defined else sp.conditions.v0_search_half_span_V},
                        provenance={"notes": [*card.provenance.notes, note]})
    card.save(card_path)
    return Confirmation(d, label, run_dir, comp, card_path, defined)


def select_front(res: ExploreResult, k: int, *, exclude_reference: bool = False) -> list[DesignResult]:
    """``k`` front designs spread over the objectives: the lowest in energy per independent bit, then the
    lowest in each other objective of :data:`~pbitkit.explore.space.OBJECTIVES` (τ, σ(V0)/Vs, area), then
    the next lowest in energy; no design twice (with ``exclude_reference``, not the cell's default either,
    when it is on the front)."""
    from pbitkit.explore.space import OBJECTIVES

    front = [d for d in res.front_designs if not (exclude_reference and d.origin == "reference")]  # by energy
    order: list[DesignResult] = front[:1]
    for m in OBJECTIVES[1:]:
        cand = sorted(front, key=lambda d: (float(d.metrics.get(m, math.inf)),
                                            float(d.metrics["energy_per_independent_bit_J"])))
        if cand and cand[0] not in order:
            order.append(cand[0])
    order += [d for d in front if d not in order]
    return order[:k]


def confirm_front(res: ExploreResult, *, k: int = 3, n_bias: int = 9, params: Mapping[str, float] | None = None,
                  executor: cf.Executor | None = None, workers: int | None = None) -> ConfirmResult:
    """Confirm the reference and ``k`` front designs (:func:`select_front`); write ``confirm.csv`` (one row
    per design and bias point) into the run directory."""
    t0 = time.perf_counter()
    todo = [res.reference] + select_front(res, k, exclude_reference=True)
    items = []
    for d in todo:
        log.info("confirming design %s with the transient tier", d.key[:12])
        items.append(confirm_design(res, d, res.out_dir, n_bias=n_bias, params=params, executor=executor,
                                    workers=workers))
    lines = ["design,bias_V,p1_predicted,p1_transient,p1_se,tau_pred_s,tau_tran_s,e_read_pred_J,e_read_tran_J,"
             "e_indep_pred_J,e_indep_tran_J,readout_agreement,agree"]
    for it in items:
        c = it.comparison
        if c is None:
            continue
        for j in range(len(c.bias_V)):
            lines.append(",".join(repr(float(x)) if not isinstance(x, str) else x for x in (
                it.label, c.bias_V[j], c.p_pred[j], c.p_tran[j], c.p_se[j], c.tau_pred_s, c.tau_tran_s, c.e_pred_J,
                c.e_tran_J, c.ei_pred_J, c.ei_tran_J, c.agreement)) + f",{int(c.agree)}")
    path = atomic_write_text(res.out_dir / CONFIRM_CSV, "\n".join(lines) + "\n")
    return ConfirmResult(res, items, [path] + [it.card_path for it in items if it.card_path is not None], n_bias,
                         dict(params or {}), time.perf_counter() - t0)


def confirm_markdown(conf: ConfirmResult) -> str:
    """The report section: per design, the tiers side by side and every disagreement."""
    from pbitkit.circuits.registry import get_cell

    res = conf.explore
    front_keys = {d.key for d in res.front_designs}
    n_front = len(front_keys)
    n_conf = len({it.design.key for it in conf.items if it.design.key in front_keys})
    t_stop = float(conf.params.get("t_stop_s", get_cell(res.space.cell).params().get("t_stop_s", math.nan)))
    out = ["### Transient confirmation", "",
           f"**{n_conf} of the {n_front} front designs** confirmed"
           + ("" if res.reference.key in front_keys else " (and the default, not on the front)") + ": "
           + ("the whole front" if n_conf >= n_front else "the lowest in energy, τ, variation and area first, then by energy")
           + f"; budget per design {conf.n_bias} bias points × {t_stop * 1e6:.0f} µs of transient noise per point, "
           f"both tiers ({conf.wall_time_s / 60:.1f} min of wall in this call; a design confirmed before comes from the "
           "cache). The front table's `card` column marks "
           "which designs have a card.", "",
           f"Both tiers on the same bias points (`{CONFIRM_CSV}`); tolerances: |ΔP| ≤ {P_TOL_SE:g} SE + {P_TOL_ABS:g}, "
           f"τ within ×{TAU_TOL_FACTOR:g}, energies per read and per independent bit within {ENERGY_TOL_REL:.0%}, "
           "readout agreement ≥ "
           f"{AGREEMENT_MIN:g}. Cards (fit to the transient rows): `cards/`.", "",
           "| design | max ΔP | E/read pred / tran (fJ) | E/indep. bit pred / tran (fJ) | τ pred / tran (ns) | "
           "readout agreement | card | tiers |", "|---|---|---|---|---|---|---|---|"]
    notes = []
    for it in conf.items:
        c = it.comparison
        if c is None:
            out.append(f"| {it.label} | — | — | — | — | — | — | not compared: {it.error} |")
            continue
        card = f"`cards/{it.label}.json`" if it.card_path else f"none ({it.error})"
        out.append(f"| {it.label} | {c.max_dp:.3f} | {c.e_pred_J * 1e15:.2f} / {c.e_tran_J * 1e15:.2f} | "
                   f"{c.ei_pred_J * 1e15:.2f} / {c.ei_tran_J * 1e15:.2f} | {c.tau_pred_s * 1e9:.0f} / "
                   f"{c.tau_tran_s * 1e9:.0f} | {c.agreement:.2f} | {card} | {'agree' if c.agree else 'DISAGREE'} |")
        notes += [f"- `{it.label}`: {w}" for w in c.disagreements]
    if notes:
        out += ["", "Where the tiers disagree:", "", *notes]
    return "\n".join(out) + "\n"
