"""Where a cell's energy per independent bit goes, over every design explored — and the floor that follows.

A design's energy per independent bit on the predicted tier is the sum of three parts
(:func:`energy_parts`), each from the design's own figures:

* ``static`` — the core's and the bias pair's static power × the read period (``static_power_W`` ×
  ``sample_period_s``);
* ``readout_clock`` — the per-read energy beyond static power × period (``dynamic_energy_per_bit_J``: the
  native latch's readout comparator, its clock buffer and the clock port);
* ``correlation`` — what correlated reads add: a read yields ``min(1, read period / 2τ)`` independent bits,
  so the energy per independent bit is the energy per read × ``max(1, 2τ / read period)``.

The bound (:func:`floor_analysis`): the energy per independent bit is at least the energy per read, which is
at least its ``readout_clock`` part. If the lowest ``readout_clock`` part of any design that ran exceeds the
target (half the default's energy per independent bit), no design of the space reaches a factor 2 — *as far as
the explored designs cover the parameters that part depends on*. So the analysis also measures that coverage:
per space parameter the range explored against the space's bounds and the rank correlation (Spearman ρ) of the
``readout_clock`` part with it over every design that ran; the parameters with ``|ρ| >=``
:data:`DEPENDS_RHO` are the ones it depends on, and :func:`floor_corner` is the design with each of them at
the bound that lowers it (the rest at the cell's defaults) — evaluated directly to check the floor at the
corner of the box, not only at the designs the search happened to visit.

Pure analysis of an :class:`~pbitkit.explore.driver.ExploreResult` (no ngspice), plus the table, the figure's
data and the Markdown section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.explore.driver import DesignResult, ExploreResult, full_design

__all__ = ["PARTS", "PART_LABELS", "DEPENDS_RHO", "energy_parts", "ParameterCoverage", "FloorAnalysis",
           "DEPENDS_EFFECT", "floor_analysis", "floor_corner", "floor_markdown", "breakdown_rows"]

#: the parts of a design's energy per independent bit, in stacking order
PARTS: tuple[str, ...] = ("static", "readout_clock", "correlation")
#: what each part is
PART_LABELS: dict[str, str] = {
    "static": "core + bias pair static power × read period",
    "readout_clock": "readout comparator + clock buffer + clock port, per read",
    "correlation": "correlated reads: energy per read × (max(1, 2τ/period) − 1)",
}
#: a parameter whose fitted effect on the readout/clock part over the space's range is at least this relative
#: change counts as one it depends on
DEPENDS_EFFECT = 0.1
#: without a fit (too few designs): a parameter with |Spearman ρ| at least this
DEPENDS_RHO = 0.3


def energy_parts(metrics: Mapping[str, Any]) -> dict[str, float]:
    """A design's energy per independent bit split into :data:`PARTS` (J; NaN where a figure is missing).

    ``static + readout_clock`` is the energy per read and ``+ correlation`` the energy per independent bit,
    as the predicted tier computes them (``energy_per_bit_J = static_power_W × sample_period_s +
    dynamic_energy_per_bit_J``).
    """

    def num(k: str) -> float:
        try:
            return float(metrics.get(k, math.nan))
        except (TypeError, ValueError):
            return math.nan

    e_read, e_ind = num("energy_per_bit_J"), num("energy_per_independent_bit_J")
    dyn = num("dynamic_energy_per_bit_J")
    static = num("static_power_W") * num("sample_period_s")
    if not math.isfinite(static) and math.isfinite(e_read) and math.isfinite(dyn):
        static = e_read - dyn
    return {"static": static, "readout_clock": dyn, "correlation": e_ind - e_read}


@dataclass(frozen=True)
class ParameterCoverage:
    """How one space parameter was covered, and how the readout/clock part moves with it.

    Attributes
    ----------
    name : the cell parameter (or ``vdd_V``).
    lo, hi : the space's bounds (of a levels dimension: its lowest and highest level).
    explored_lo, explored_hi : the lowest and highest value among the designs that ran.
    rho : Spearman rank correlation of the readout/clock part with the parameter over the designs that ran
        (NaN if the parameter did not vary).
    effect : the factor by which the readout/clock part changes from the parameter's lower to its upper bound
        with the other parameters held, from a least-squares fit of its logarithm, linear in every parameter
        scaled to [0, 1] over the space's bounds (NaN with too few designs).
    floor_value : the parameter's value at the design of the lowest readout/clock part.
    """

    name: str
    lo: float
    hi: float
    explored_lo: float
    explored_hi: float
    rho: float
    floor_value: float
    effect: float = math.nan

    @property
    def depends(self) -> bool:
        """The readout/clock part moves with this parameter: with the other parameters held, by at least
        :data:`DEPENDS_EFFECT` over the space's range (the multi-parameter fit; without one, ``|rho| >=
        DEPENDS_RHO`` — a marginal correlation, which the search's own correlations between parameters can
        inflate)."""
        if math.isfinite(self.effect):
            return abs(self.effect - 1) >= DEPENDS_EFFECT
        return math.isfinite(self.rho) and abs(self.rho) >= DEPENDS_RHO

    @property
    def lowering_bound(self) -> float:
        """The bound of the space that lowers the readout/clock part (``lo`` if it rises with the parameter,
        judged by the multi-parameter fit's effect when there is one, else by ``rho``)."""
        up = self.effect >= 1 if math.isfinite(self.effect) else self.rho >= 0
        return self.lo if up else self.hi

    @property
    def explored_fraction(self) -> float:
        """Fraction of the space's range the designs spanned (in the parameter's own units)."""
        return (self.explored_hi - self.explored_lo) / (self.hi - self.lo) if self.hi > self.lo else math.nan


@dataclass(frozen=True)
class FloorAnalysis:
    """The energy breakdown over the explored set and the floor it implies.

    Attributes
    ----------
    n_ran, n_feasible : designs that ran / met every constraint.
    reference_J : the default's energy per independent bit; ``target_J`` half of it.
    stats : per part (:data:`PARTS`) and per set (``"ran"``, ``"feasible"``, ``"front"``): ``min``, ``median``,
        ``max`` (J) and ``share`` (median of the part / energy per independent bit).
    dominant : the part with the largest median share over the feasible designs (over the designs that ran if
        none is feasible).
    bound_J : the lowest readout/clock part of any design that ran (every design's energy per independent
        bit is at least its own readout/clock part, hence at least this).
    bound_design : that design.
    best_feasible : the feasible design of lowest energy per independent bit (or None).
    coverage : one :class:`ParameterCoverage` per space parameter name.
    corner_J, corner_design : the readout/clock part measured at :func:`floor_corner`'s design (J; NaN when not
        measured) and that design.
    fit_r2 : the coefficient of determination of the fit behind ``ParameterCoverage.effect``.
    """

    n_ran: int
    n_feasible: int
    reference_J: float
    target_J: float
    stats: dict[str, dict[str, dict[str, float]]]
    dominant: str
    bound_J: float
    bound_design: DesignResult | None
    best_feasible: DesignResult | None
    coverage: list[ParameterCoverage]
    corner_J: float = math.nan
    corner_design: dict[str, float] = field(default_factory=dict)
    fit_r2: float = math.nan

    @property
    def floor_J(self) -> float:
        """The floor used for the verdict: the lower of the explored bound and the corner's measurement."""
        vals = [v for v in (self.bound_J, self.corner_J) if math.isfinite(v)]
        return min(vals) if vals else math.nan

    @property
    def factor2_excluded(self) -> bool:
        """No design of the space reaches half the default's energy per independent bit: the floor exceeds it."""
        return math.isfinite(self.floor_J) and self.floor_J > self.target_J

    @property
    def best_ratio_possible(self) -> float:
        """The largest factor any design could reach at all: the default's energy / the floor."""
        return self.reference_J / self.floor_J if self.floor_J > 0 else math.nan


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    from scipy import stats

    return float(stats.spearmanr(x[ok], y[ok]).statistic)


def _effects(xs: Mapping[str, np.ndarray], bounds: Mapping[str, tuple[float, float]], y: np.ndarray,
             ran: Sequence[DesignResult]) -> dict[str, float]:
    """Per parameter, exp(slope) of a least-squares fit ``log y ~ 1 + sum_i slope_i (x_i - lo_i) / (hi_i - lo_i)``
    (the factor from the lower to the upper bound, the others held); parameters that do not vary are left out."""
    names = [n for n in bounds if np.ptp(xs[n][np.isfinite(xs[n])]) > 0] if len(ran) else []
    ok = np.isfinite(y) & (y > 0)
    for n in names:
        ok &= np.isfinite(xs[n])
    if not names or ok.sum() < len(names) + 3:
        return {}
    a = np.column_stack([np.ones(int(ok.sum()))] + [(xs[n][ok] - bounds[n][0]) / (bounds[n][1] - bounds[n][0])
                                                   for n in names])
    ly = np.log(y[ok])
    coef, *_ = np.linalg.lstsq(a, ly, rcond=None)
    r2 = 1 - float(np.sum((ly - a @ coef) ** 2)) / max(float(np.sum((ly - ly.mean()) ** 2)), 1e-300)
    return {**{n: float(math.exp(c)) for n, c in zip(names, coef[1:], strict=True)}, "_r2": r2}


def _bounds(res: ExploreResult) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for p in res.space.parameters:
        if p.kind == "levels":
            for j, n in enumerate(p.names):
                vals = [float(lv[j]) for lv in p.levels]
                out[n] = (min(vals), max(vals))
        else:
            out[p.names[0]] = (float(p.lo), float(p.hi))
    return out


def floor_analysis(res: ExploreResult, *, corner_metrics: Mapping[str, Any] | None = None,
                   corner_design: Mapping[str, float] | None = None) -> FloorAnalysis:
    """The breakdown and the bound over every design of ``res`` (module docstring).

    ``corner_metrics``: the figures of :func:`floor_corner`'s design evaluated by
    :func:`~pbitkit.explore.evaluate.evaluate_design` (optional), ``corner_design`` that design.
    """
    ran = [d for d in res.designs if d.ok]
    feas = [d for d, f in zip(res.designs, res.feasible, strict=True) if f]
    front = [d for d, f in zip(res.designs, res.front, strict=True) if f]
    parts = {d.key: energy_parts(d.metrics) for d in ran}

    def summary(ds: Sequence[DesignResult]) -> dict[str, dict[str, float]]:
        out = {}
        for part in PARTS:
            v = np.array([parts[d.key][part] for d in ds], dtype=float)
            tot = np.array([float(d.metrics.get("energy_per_independent_bit_J", math.nan)) for d in ds], dtype=float)
            ok = np.isfinite(v)
            share = v / tot
            out[part] = {"min": float(v[ok].min()) if ok.any() else math.nan,
                         "median": float(np.median(v[ok])) if ok.any() else math.nan,
                         "max": float(v[ok].max()) if ok.any() else math.nan,
                         "share": float(np.nanmedian(share)) if np.isfinite(share).any() else math.nan}
        return out

    stats = {"ran": summary(ran), "feasible": summary(feas), "front": summary(front)}
    basis = stats["feasible"] if feas else stats["ran"]
    dominant = max(PARTS, key=lambda p: basis[p]["share"] if math.isfinite(basis[p]["share"]) else -1.0)
    dyn = [d for d in ran if math.isfinite(parts[d.key]["readout_clock"])]
    low = min(dyn, key=lambda d: parts[d.key]["readout_clock"], default=None)
    best = min(feas, key=lambda d: float(d.metrics["energy_per_independent_bit_J"]), default=None)
    y = np.array([parts[d.key]["readout_clock"] for d in ran], dtype=float)
    fulls = [full_design(res.space, d.design) for d in ran]
    bounds = _bounds(res)
    xs = {name: np.array([float(f.get(name, math.nan)) for f in fulls], dtype=float) for name in bounds}
    effects = _effects(xs, bounds, y, ran)
    coverage = []
    for name, (lo, hi) in bounds.items():
        x = xs[name]
        fin = np.isfinite(x)
        coverage.append(ParameterCoverage(
            name, lo, hi, float(x[fin].min()) if fin.any() else math.nan, float(x[fin].max()) if fin.any() else math.nan,
            _spearman(x, y), float(full_design(res.space, low.design).get(name, math.nan)) if low else math.nan,
            effects.get(name, math.nan)))
    fit_r2 = effects.get("_r2", math.nan)
    ref_j = float(res.reference.metrics.get("energy_per_independent_bit_J", math.nan))
    corner_j = math.nan
    if corner_metrics is not None and corner_metrics.get("status") == "ok":
        corner_j = energy_parts(corner_metrics)["readout_clock"]
    return FloorAnalysis(len(ran), len(feas), ref_j, ref_j / 2, stats, dominant,
                         parts[low.key]["readout_clock"] if low else math.nan, low, best, coverage, corner_j,
                         dict(corner_design or {}), fit_r2)


def floor_corner(fa: FloorAnalysis) -> dict[str, float]:
    """The design (overrides) with every parameter the readout/clock part depends on at the bound that lowers
    it; the other parameters stay at the cell's defaults. Empty when it depends on none."""
    return {c.name: c.lowering_bound for c in fa.coverage if c.depends}


def breakdown_rows(res: ExploreResult) -> list[dict[str, Any]]:
    """One row per design that ran: key, origin, feasible, on_front, the parts (J) and the total."""
    rows = []
    for d, f, p in zip(res.designs, res.feasible, res.front, strict=True):
        if not d.ok:
            continue
        row: dict[str, Any] = {"key": d.key[:16], "origin": d.origin, "feasible": int(f), "on_front": int(p)}
        row.update({f"{k}_J": v for k, v in energy_parts(d.metrics).items()})
        row["energy_per_independent_bit_J"] = float(d.metrics.get("energy_per_independent_bit_J", math.nan))
        rows.append(row)
    return rows


def _fj(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x * 1e15:.2f}"


def _v(name: str, x: float) -> str:
    if not math.isfinite(x):
        return "—"
    return f"{x * 1e9:.0f} ns" if name.endswith("_s") else f"{x:.4g}"


def floor_markdown(fa: FloorAnalysis, *, command: str = "") -> str:
    """The report section: the breakdown table over the explored set, the bound and the coverage."""
    out = ["### Energy breakdown and floor", "",
           f"Every design's energy per independent bit split into its parts (`breakdown.csv`), over the {fa.n_ran} "
           f"designs that ran ({fa.n_feasible} feasible). fJ: min / median / max, and the median share of the energy "
           "per independent bit.", "",
           "| part | what | all designs that ran | feasible | front | median share (feasible) |",
           "|---|---|---|---|---|---|"]
    for part in PARTS:
        cells = [" / ".join(_fj(fa.stats[s][part][k]) for k in ("min", "median", "max")) for s in ("ran", "feasible", "front")]
        share = fa.stats["feasible"][part]["share"]
        out.append(f"| {part} | {PART_LABELS[part]} | " + " | ".join(cells)
                   + (f" | {share:.0%} |" if math.isfinite(share) else " | — |"))
    out += ["", f"Dominant part over the feasible designs: **{fa.dominant}** ({PART_LABELS[fa.dominant]})."]
    if fa.best_feasible is not None:
        bp = energy_parts(fa.best_feasible.metrics)
        out.append(f"The lowest-energy feasible design `{fa.best_feasible.key[:8]}`: "
                   + ", ".join(f"{k} {_fj(v)}" for k, v in bp.items()) + " fJ.")
    out += ["", "**The bound.** energy per independent bit ≥ energy per read = static + readout/clock ≥ readout/clock. "
            f"Target (half the default's {_fj(fa.reference_J)} fJ): **{_fj(fa.target_J)} fJ**. Lowest readout/clock "
            f"part of any design that ran: **{_fj(fa.bound_J)} fJ**"
            + (f" (`{fa.bound_design.key[:8]}`)" if fa.bound_design is not None else "") + "."]
    if math.isfinite(fa.corner_J):
        out.append(f"At the corner of the box that lowers it ({', '.join(f'{k} = {_v(k, v)}' for k, v in fa.corner_design.items())}; "
                   f"the rest at the cell's defaults, evaluated directly): **{_fj(fa.corner_J)} fJ**.")
    verdict = ("No design of the space can reach the factor 2: the floor alone exceeds the target"
               if fa.factor2_excluded else "The floor does not exclude the factor 2")
    out += ["", f"{verdict} (floor {_fj(fa.floor_J)} fJ vs target {_fj(fa.target_J)} fJ; the best factor any design "
            f"could reach, with zero static and correlation energy, is ×{fa.best_ratio_possible:.2f}).", "",
            "Coverage of the parameters: the range explored against the space's, the readout/clock part's Spearman ρ "
            "over the designs that ran, and its change from the lower to the upper bound with the other parameters "
            f"held (least-squares fit of its logarithm, linear in each parameter over its range, R² = {fa.fit_r2:.3f}); "
            f"it depends on a parameter when that change is ≥ {DEPENDS_EFFECT:.0%}:", "",
            "| parameter | space | explored | ρ | change lo → hi | at the lowest readout/clock design |",
            "|---|---|---|---|---|---|"]
    for c in fa.coverage:
        rho = f"{c.rho:+.2f}" if math.isfinite(c.rho) else "—"
        eff = f"×{c.effect:.2f}" if math.isfinite(c.effect) else "—"
        out.append(f"| `{c.name}`{' **(depends)**' if c.depends else ''} | {_v(c.name, c.lo)} … {_v(c.name, c.hi)} | "
                   f"{_v(c.name, c.explored_lo)} … {_v(c.name, c.explored_hi)} | {rho} | {eff} | "
                   f"{_v(c.name, c.floor_value)} |")
    if command:
        out += ["", f"Produced by `{command}`."]
    return "\n".join(out) + "\n"
