"""Binomial maximum-likelihood sigmoid fits: coverage, family choice, n_eff honesty, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit, ndtr

from pbitkit.constants import PROBIT_TO_LOGISTIC
from pbitkit.pbitmodel.sigmoid import FitError, compare_links, fit_sigmoid
from pbitkit.pbitmodel.synthetic import telegraph_bits
from pbitkit.pbitmodel.symbolic import n_eff_factor

V = np.linspace(-0.03, 0.03, 9)
V0, VS = 0.004, 0.0064


def test_coverage_of_95_percent_intervals():
    """Over 300 seeds the 95 % Wald and profile intervals contain the truth at the nominal rate.

    The coverage estimate of 300 trials has binomial SE sqrt(.95 * .05 / 300) = 0.0126; 3 SE = 0.038.
    """
    n_rep = 300
    rng = np.random.default_rng(20261125)
    hits = {"v0_wald": 0, "vs_wald": 0, "v0_prof": 0, "vs_prof": 0}
    n = np.full(V.size, 400)
    for _ in range(n_rep):
        k = rng.binomial(n, expit((V - V0) / VS))
        f = fit_sigmoid(V, k, n)
        hits["v0_wald"] += abs(f.v0_V - V0) <= 1.96 * f.v0_se_V
        hits["vs_wald"] += abs(f.vs_V - VS) <= 1.96 * f.vs_se_V
        hits["v0_prof"] += f.v0_ci_V[0] <= V0 <= f.v0_ci_V[1]
        hits["vs_prof"] += f.vs_ci_V[0] <= VS <= f.vs_ci_V[1]
    tol = 3 * math.sqrt(0.95 * 0.05 / n_rep)
    for name, h in hits.items():
        assert abs(h / n_rep - 0.95) <= tol, (name, h / n_rep)


def test_recovers_parameters_within_se_and_gof():
    rng = np.random.default_rng(1)
    n = np.full(V.size, 20000)
    k = rng.binomial(n, ndtr((V - V0) / 0.011))
    f = fit_sigmoid(V, k, n, link="probit")
    # 4 SE: a false failure has probability < 1e-4
    assert abs(f.v0_V - V0) < 4 * f.v0_se_V
    assert abs(f.vs_V - 0.011) < 4 * f.vs_se_V
    assert f.dof == V.size - 2
    assert f.gof_p > 1e-4 and 0.2 < f.dispersion < 4.0
    lo, hi = f.band(V)
    assert np.all(lo <= f.predict(V)) and np.all(f.predict(V) <= hi)


@pytest.mark.parametrize("true_link", ["logistic", "probit"])
def test_aic_picks_true_family_on_decisive_data(true_link):
    rng = np.random.default_rng(7)
    v = np.linspace(-0.04, 0.04, 17)
    n = np.full(v.size, 200_000)
    p = expit((v - V0) / VS) if true_link == "logistic" else ndtr((v - V0) / (VS * PROBIT_TO_LOGISTIC))
    cmp = compare_links(v, rng.binomial(n, p), n, profile=False)
    assert cmp.best == true_link and cmp.decisive, cmp.delta_aic
    # negative control: the wrong family is clearly rejected by goodness of fit
    wrong = cmp.fits["probit" if true_link == "logistic" else "logistic"]
    assert wrong.gof_p < 1e-3


def test_n_eff_makes_correlated_intervals_honest():
    """Telegraph-correlated reads (rho = 0.8): with n_eff the Wald interval covers at the nominal rate,
    treating every read as independent under-covers (negative control).

    200 trials: coverage SE = sqrt(.95 .05 / 200) = 0.0154; the honest fit must be within 3 SE of 0.95,
    the naive one (SE too small by sqrt(9)) covers about 2 Phi(1.96/3) - 1 = 0.49.
    """
    rng = np.random.default_rng(3)
    rho, n_reads, reps = 0.8, 1000, 200
    v = np.linspace(-0.02, 0.02, 7)
    factor = float(n_eff_factor(rho))
    honest = naive = 0
    for _ in range(reps):
        k = np.array([telegraph_bits(float(expit((x - V0) / VS)), rho, n_reads, rng).sum() for x in v])
        n = np.full(v.size, n_reads)
        f = fit_sigmoid(v, k, n, n_eff=n * factor, profile=False)
        g = fit_sigmoid(v, k, n, profile=False)
        honest += abs(f.v0_V - V0) <= 1.96 * f.v0_se_V
        naive += abs(g.v0_V - V0) <= 1.96 * g.v0_se_V
    assert abs(honest / reps - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / reps)
    assert naive / reps < 0.75


def test_fit_errors_are_specific():
    with pytest.raises(FitError, match="same length"):
        fit_sigmoid([0, 1], [1], [2, 2])
    with pytest.raises(FitError, match="at least 2 distinct"):
        fit_sigmoid([0.0, 0.0], [1, 2], [4, 4])
    with pytest.raises(FitError, match="no resolvable"):
        fit_sigmoid([-1.0, -0.5, 0.5, 1.0], [0, 0, 10, 10], [10, 10, 10, 10])
    with pytest.raises(FitError, match="link"):
        fit_sigmoid(V, np.ones(V.size), np.full(V.size, 2), link="tanh")  # type: ignore[arg-type]
