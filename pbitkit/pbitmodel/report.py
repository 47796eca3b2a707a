"""The Markdown fit report of a :class:`~pbitkit.pbitmodel.fit.FitReport` (no numerics, no I/O)."""

from __future__ import annotations

import math

from pbitkit.pbitmodel.fit import FitReport

__all__ = ["render_report"]


def _g(x: float, unit: str = "", digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}{(' ' + unit) if unit else ''}"


def render_report(rep: FitReport, *, plots: list[str] | None = None) -> str:
    """Markdown: card summary, sigmoid fits (both links, AIC, GOF), dynamics, energy, variation, trends."""
    c = rep.card
    L = [f"# Fit report: cell `{rep.cell}`", ""]
    L += [f"Source table: `{rep.table.source if rep.table is not None and rep.table.source else '(in memory)'}`"
          f" (sha256 `{(rep.table.sha256 if rep.table is not None else '')[:16]}`), {rep.table.n_rows if rep.table else 0} rows used.",
          f"Nominal condition: corner `{rep.nominal['corner']}`, {_g(rep.nominal['temp_C'], 'degC')}, "
          f"Vdd {_g(rep.nominal['vdd_V'], 'V')}.", ""]
    L += ["## Card", "", "| parameter | value | std. error |", "|---|---|---|",
          f"| link | {c.link} | |", f"| v0_V | {_g(c.v0_V, 'V', 6)} | {_g(c.v0_se_V, 'V', 3)} |",
          f"| vs_V | {_g(c.vs_V, 'V', 6)} | {_g(c.vs_se_V, 'V', 3)} |",
          f"| dynamics.tau_corr_s | {_g(c.dynamics.tau_corr_s, 's')} | |", f"| dynamics.rate_model | {c.dynamics.rate_model.to_dict()} | |",
          f"| energy.energy_per_bit_J | {_g(c.energy.energy_per_bit_J, 'J')} | |", f"| energy.energy_per_flip_J | {_g(c.energy.energy_per_flip_J, 'J')} | |",
          f"| energy.static_power_W | {_g(c.energy.static_power_W, 'W')} | |", f"| dynamics.sample_period_s | {_g(c.dynamics.sample_period_s, 's')} | |",
          f"| variation.v0_sigma_V | {_g(c.variation.v0_sigma_V, 'V')} | |", f"| variation.vs_sigma_rel | {_g(c.variation.vs_sigma_rel)} | |",
          f"| variation.v0_vs_corr | {_g(c.variation.v0_vs_corr)} | |", ""]
    if rep.links is not None or rep.sigmoid is not None:
        L += ["## Sigmoid (binomial maximum likelihood on effective counts)", "",
              "| link | v0 (V) | 95% profile CI | vs (V) | 95% profile CI | deviance | Pearson chi2 | dof | GOF p | AIC |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        fits = rep.links.fits.values() if rep.links else [rep.sigmoid]
        for f in fits:
            L.append(f"| {f.link} | {_g(f.v0_V, '', 6)} ± {_g(f.v0_se_V, '', 2)} | [{_g(f.v0_ci_V[0], '', 6)}, {_g(f.v0_ci_V[1], '', 6)}] "
                     f"| {_g(f.vs_V, '', 6)} ± {_g(f.vs_se_V, '', 2)} | [{_g(f.vs_ci_V[0], '', 6)}, {_g(f.vs_ci_V[1], '', 6)}] "
                     f"| {_g(f.deviance)} | {_g(f.pearson_chi2)} | {f.dof} | {_g(f.gof_p, '', 3)} | {_g(f.aic, '', 7)} |")
        if rep.links:
            L += ["", f"AIC prefers **{rep.links.best}** by {rep.links.delta_aic:.2f} "
                      f"({'decisive' if rep.links.decisive else 'not decisive: < 2'})."]
        if rep.sigmoid is not None:
            L += [f"Effective samples used: {rep.sigmoid.n_eff_total:.0f}; dispersion (Pearson chi2/dof) "
                  f"{_g(rep.sigmoid.dispersion, '', 3)} (about 1 when the binomial model with n_eff explains the scatter)."]
        L.append("")
    L += ["## Dynamics", ""]
    if rep.rates is not None:
        r = rep.rates
        L += [f"Rates (Poisson ML, ln r linear in bias about v0): r_up(v0) = {_g(r.up.rate0_Hz, 'Hz')} "
              f"(rel. SE {_g(r.up.rate0_rel_se, '', 2)}), slope {_g(r.up.slope_per_V, '/V')} ± {_g(r.up.slope_se_per_V, '', 2)}; "
              f"r_down(v0) = {_g(r.down.rate0_Hz, 'Hz')} (rel. SE {_g(r.down.rate0_rel_se, '', 2)}), slope "
              f"{_g(r.down.slope_per_V, '/V')} ± {_g(r.down.slope_se_per_V, '', 2)}. tau(v0) = 1/(r_up + r_down) = "
              f"{_g(r.tau0_s, 's')} (rel. SE {_g(r.tau0_rel_se, '', 2)}).", ""]
    if rep.tau is not None:
        t = rep.tau
        L += [f"Correlation time: tau(V) = tau0 / cosh(s (V - v0)), tau0 = {_g(t.tau0_s, 's')} (rel. SE "
              f"{_g(t.tau0_rel_se, '', 2)}), s = {_g(t.slope_per_V, '/V')} ± {_g(t.slope_se_per_V, '', 2)}"
              f"{' (not resolved: constant)' if t.constant else ''}; {t.n_points} points.", ""]
    if rep.energy is not None:
        e = rep.energy
        L += ["## Energy", "", f"At the centre: {_g(e.energy_per_bit_J, 'J')} per bit (SE {_g(e.energy_per_bit.value_se, 'J', 2)}), "
              f"{_g(e.energy_per_flip_J, 'J')} per flip, static power {_g(e.static_power_W, 'W')}; static "
              f"{_g(e.static_energy_per_bit_J, 'J')} + dynamic {_g(e.dynamic_energy_per_bit_J, 'J')} per bit "
              f"(static fraction {_g(e.static_fraction, '', 3)}).", ""]
        if rep.energy_vs_vdd is not None:
            p = rep.energy_vs_vdd
            L += [f"Energy per bit vs supply: exponent {_g(p.exponent, '', 3)} ± {_g(p.exponent_se, '', 2)} "
                  f"(2 for pure C V^2), {p.n_points} points.", ""]
    if rep.variation is not None:
        v = rep.variation
        L += ["## Variation (per Monte-Carlo instance fits)", "",
              f"{v.n} instances: v0 mean {_g(v.v0_mean_V, 'V')}, sigma {_g(v.v0_sigma_V, 'V')} ± {_g(v.v0_sigma_se_V, '', 2)} "
              f"({_g(v.v0_sigma_V / rep.card.vs_V if rep.card.vs_V else math.nan, '', 3)} slope widths); vs geometric mean "
              f"{_g(v.vs_mean_V, 'V')}, relative sigma {_g(v.vs_sigma_rel, '', 3)} ± {_g(v.vs_sigma_rel_se, '', 2)}; "
              f"corr(v0, ln vs) {_g(v.corr, '', 3)}. Shapiro-Wilk p: v0 {_g(v.normality_p['v0'], '', 3)}, "
              f"ln vs {_g(v.normality_p['ln_vs'], '', 3)}.", ""]
    if rep.pelgrom is not None:
        L += [f"Pelgrom: sigma(v0) = A / sqrt(W L), A = {_g(rep.pelgrom.a_mV_um, 'mV·um')} ± "
              f"{_g(rep.pelgrom.a_se_V_m * 1e9, '', 2)} over {rep.pelgrom.n_sizes} sizes.", ""]
    if rep.corners:
        L += ["## Corners", "", "| corner | v0 (V) | vs (V) |", "|---|---|---|"]
        L += [f"| {k} | {_g(f.v0_V, '', 6)} ± {_g(f.v0_se_V, '', 2)} | {_g(f.vs_V, '', 6)} ± {_g(f.vs_se_V, '', 2)} |"
              for k, f in sorted(rep.corners.items())]
        L.append("")
    if rep.trends:
        L += ["## Temperature and supply dependence", "", "| coefficient | value | std. error | points |", "|---|---|---|---|"]
        L += [f"| {k} | {_g(t.slope, '', 4)} | {_g(t.slope_se, '', 2)} | {t.n_points} |" for k, t in rep.trends.items()]
        L.append("")
    if rep.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in rep.notes] + [""]
    if plots:
        L += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(L)
