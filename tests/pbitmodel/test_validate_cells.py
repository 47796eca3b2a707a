"""The macro-model against the transistor-level cells it was fitted to, on the same bias sweep (ngspice).

Each test characterizes a real sky130 cell with the circuits stage's quick sweep (transistor level,
ngspice), fits the card, runs the card's SPICE macro-model in ngspice on the same biases and compares P(1)
point by point. Tolerance: the two estimates are independent binomial proportions with effective sample
counts ``n_eff`` (cell: from its measured autocorrelation, in the table; macro-model: the same estimator),
so ``z = dP / sqrt(p (1-p) (1/n_cell + 1/n_macro))`` is ~N(0, 1) under agreement: every ``|z| < 4`` and
``sum z^2`` below the 1e-4 upper quantile of chi2(points). (The card was fitted to the same cell data, which
only makes the check slightly conservative.) Negative control: the same statistic rejects a card whose
centre is off by two slope widths.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pbitkit.pbitmodel import fit_characterization, read_characterization
from pbitkit.pbitmodel.macromodel import compare_p1, simulate_macromodel_sweep


def _validate(cell: str, tmp_path, t_stop_units: float):
    from pbitkit.circuits.bits import BITS_FILE, read_bits
    from pbitkit.circuits.characterize import characterize
    from pbitkit.circuits.sweep import quick_spec

    characterize(quick_spec(cell), tmp_path / cell, workers=2, plot=False)
    rep = fit_characterization(read_characterization(tmp_path / cell), bits=read_bits(tmp_path / cell / BITS_FILE))
    card, nom = rep.card, rep.nominal_table
    unit = card.dynamics.sample_period_s or card.dynamics.tau_corr_s
    sw = simulate_macromodel_sweep(card, nom["bias_V"], t_stop_s=t_stop_units * unit, seed=3)
    p_cell = nom["n_ones"] / nom["n_samples"]
    agr = compare_p1(nom["bias_V"], p_cell, nom["n_eff"], sw.p1, sw.n_eff)
    crit = stats.chi2.ppf(1 - 1e-4, agr.dof)
    assert np.all(np.abs(agr.z) < 4), agr.z
    assert agr.chi2 < crit, agr.chi2
    wrong = card.replace(v0_V=card.v0_V + 2 * card.vs_V)
    z_wrong = (p_cell - wrong.p1(nom["bias_V"])) / np.sqrt(
        np.clip(p_cell * (1 - p_cell), 0.25 / nom["n_eff"], None) / nom["n_eff"])
    assert float(np.sum(z_wrong**2)) > crit
    return card, nom, sw


@pytest.mark.ngspice
@pytest.mark.slow
def test_strongarm_macromodel_matches_transistor_cell(tmp_path):
    card, nom, sw = _validate("strongarm", tmp_path, 1000)
    assert card.dynamics.sample_period_s > 0  # clocked comparator detected
    # both produce independent reads at the clock: integrated autocorrelation time ~ 1 read
    assert np.all(2 * sw.tau_corr_s / sw.read_period_s < 1.5)


@pytest.mark.ngspice
@pytest.mark.slow
def test_latch_macromodel_matches_transistor_cell(tmp_path):
    card, nom, sw = _validate("latch", tmp_path, 300)  # 300 tau0 (~1200 reads): the cell's n_eff (18-160) limits
    assert card.dynamics.sample_period_s == 0.0 and card.dynamics.rate_model.form == "exp"
    # macro-model correlation time vs the card: relative SE of one tau_int ~ sqrt(2 (2M+1)/N), M ~ 5 tau_int
    tau_int = 2 * sw.tau_corr_s / sw.read_period_s
    rel_se = np.sqrt(2 * (10 * tau_int + 1) / sw.bits.shape[1]) / np.sqrt(tau_int.size)
    assert abs(np.mean(sw.tau_corr_s) / card.dynamics.tau_corr_s - 1) < 4 * float(np.mean(rel_se))


@pytest.mark.ngspice
@pytest.mark.slow
def test_native_latch_macromodel_matches_transistor_cell(tmp_path):
    """The default cell (clocked readout of a free-running core, correlated reads): P(1) as above, and the
    correlation time of the reads (tau_int pooled over the records with 0.05 < P(1) < 0.95, jackknife SE)
    within 20 % of the cell's (the issue's tolerance) up to 3 SE; a card with twice the correlation time
    (negative control) is rejected."""
    from pbitkit.circuits.bits import BITS_FILE, read_bits
    from pbitkit.circuits.measure import pooled_integrated_autocorr_time

    card, nom, sw = _validate("native_latch", tmp_path, 3000)
    assert card.dynamics.sample_period_s > 0 and sw.read_period_s == card.dynamics.sample_period_s
    bits = read_bits(tmp_path / "native_latch" / BITS_FILE)
    p = nom["n_ones"] / nom["n_samples"]
    mid = (p > 0.05) & (p < 0.95)
    cell = pooled_integrated_autocorr_time([bits[int(i)].bits for i in nom["row_id"][mid]])
    macro = pooled_integrated_autocorr_time(list(sw.bits[mid]))

    def off(tau_macro: float, se_macro: float) -> float:
        """|log ratio| beyond log 1.2 (20 %), in standard errors of the log ratio. On the log scale: the
        quick records' tau_int has a relative error of up to ~30 %, and the ratio's linear-scale error grows
        with the ratio itself, so a card 4x too slow was 'only' 2.4 SE from 1.2x (measured: cell 1.00 +- 0.29,
        wrong card 4.25 +- 0.26) while it is 4.3 SE away in log ratio."""
        r = tau_macro / cell.tau_int
        se = np.hypot(se_macro / tau_macro, cell.se / cell.tau_int)
        return (abs(np.log(r)) - np.log(1.2)) / se

    assert off(macro.tau_int, macro.se) < 3, (macro, cell)
    # negative control: twice the card's correlation time, simulated the same way, is far outside 20 %
    slow = card.replace(dynamics={"tau_corr_s": 2 * max(card.dynamics.tau_corr_s, card.dynamics.sample_period_s)})
    sw2 = simulate_macromodel_sweep(slow, nom["bias_V"][mid], t_stop_s=3000 * card.dynamics.sample_period_s, seed=3)
    wrong = pooled_integrated_autocorr_time(list(sw2.bits))
    assert off(wrong.tau_int, wrong.se) > 3, (wrong, cell)
