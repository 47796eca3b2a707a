"""Maximum-likelihood sigmoid fits on counts (binomial likelihood), with uncertainties and model choice.

Model: ``k_i ~ Binomial(n_i, P(V_i))`` with ``P(V) = F((V - v0) / vs)``, ``F`` the logistic ``1/(1+e^-z)``
or the standard normal CDF ``Phi`` (probit). Internally the linear predictor is ``z = a + b V`` (a GLM;
the log-likelihood is concave in ``(a, b)`` for both links), maximized with ``scipy.optimize.minimize``
(trust-region Newton with the exact gradient and Hessian). Then ``v0 = -a/b``, ``vs = 1/b``.

Correlated samples: a cell read every ``t_s`` whose output has correlation time ``tau`` gives ``n`` bits that
carry only ``n_eff = n (1 - rho) / (1 + rho)``, ``rho = exp(-t_s/tau)``, bits of information about ``P``
(:func:`pbitkit.pbitmodel.symbolic.n_eff_factor`). Passing ``n_eff`` fits the scaled counts
``k n_eff / n`` out of ``n_eff`` (a quasi-binomial likelihood), so the standard errors and intervals are
honest instead of too narrow by ``sqrt(n / n_eff)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, log_expit, log_ndtr, ndtr, xlogy

from pbitkit.errors import PbitkitError

__all__ = ["FitError", "SigmoidFit", "fit_sigmoid", "compare_links", "LinkComparison", "link_cdf"]

log = logging.getLogger(__name__)

Link = Literal["logistic", "probit"]
_CHI2_95 = float(stats.chi2.ppf(0.95, 1))  # 3.841: 95 % profile-likelihood threshold on 2*delta(logL)


class FitError(PbitkitError, ValueError):
    """A fit cannot be made: too few points, no transition in the data (separation), bad input arrays."""


def link_cdf(z: np.ndarray, link: Link) -> np.ndarray:
    """``F(z)``: logistic ``1/(1+exp(-z))`` or probit ``Phi(z)``."""
    return expit(z) if link == "logistic" else ndtr(z)


def _loglik_terms(z: np.ndarray, k: np.ndarray, n: np.ndarray, link: Link):
    """Log-likelihood sum, and its first and second derivatives with respect to ``z`` per point.

    logistic: ``dl/dz = k - n p``, ``d2l/dz2 = -n p (1-p)``.
    probit: with ``l1 = phi/Phi(z)``, ``l0 = phi/Phi(-z)``: ``dl/dz = k l1 - (n-k) l0`` and
    ``d2l/dz2 = -k l1 (z + l1) - (n-k) l0 (l0 - z)``.
    """
    if link == "logistic":
        lp, lq = log_expit(z), log_expit(-z)
        p = expit(z)
        g = k - n * p
        h = -n * p * (1.0 - p)
    else:
        lp, lq = log_ndtr(z), log_ndtr(-z)
        log_phi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
        l1 = np.exp(log_phi - lp)
        l0 = np.exp(log_phi - lq)
        g = k * l1 - (n - k) * l0
        h = -k * l1 * (z + l1) - (n - k) * l0 * (l0 - z)
    ll = float(np.sum(k * lp + (n - k) * lq))
    return ll, g, h


@dataclass(frozen=True)
class SigmoidFit:
    """Result of :func:`fit_sigmoid`. Voltages in V.

    Attributes
    ----------
    v0_V, vs_V
        MLE of the offset and slope scale: ``P(V) = F((V - v0_V)/vs_V)``.
    cov
        ``(2, 2)`` covariance of ``(v0_V, vs_V)`` from the inverse observed Fisher information (delta method
        from ``(a, b)``).
    v0_ci_V, vs_ci_V
        95 % profile-likelihood intervals (``2 (l_max - l_profile) <= chi2_1(0.95)``).
    loglik
        Maximized log-likelihood without the binomial-coefficient constant (comparable across links).
    deviance, pearson_chi2, dof, gof_p
        Goodness of fit: deviance against the saturated model, Pearson's ``sum (k - n p)^2 / (n p (1-p))``,
        ``dof = points - 2`` and the chi-square p-value of the deviance.
    aic
        ``2 * 2 - 2 loglik``.
    """

    link: Link
    v0_V: float
    vs_V: float
    cov: np.ndarray = field(repr=False)
    v0_ci_V: tuple[float, float]
    vs_ci_V: tuple[float, float]
    loglik: float
    deviance: float
    pearson_chi2: float
    dof: int
    gof_p: float
    aic: float
    n_points: int
    n_eff_total: float
    bias_V: np.ndarray = field(repr=False)
    k_eff: np.ndarray = field(repr=False)
    n_eff: np.ndarray = field(repr=False)
    _ab: tuple[float, float] = field(repr=False, default=(0.0, 1.0))
    _cov_ab: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((2, 2)))

    @property
    def v0_se_V(self) -> float:
        """Standard error of ``v0_V`` (observed information)."""
        return float(math.sqrt(self.cov[0, 0]))

    @property
    def vs_se_V(self) -> float:
        """Standard error of ``vs_V`` (observed information)."""
        return float(math.sqrt(self.cov[1, 1]))

    @property
    def dispersion(self) -> float:
        """Pearson ``chi2 / dof``: about 1 when the binomial model (with ``n_eff``) explains the scatter."""
        return self.pearson_chi2 / self.dof if self.dof > 0 else float("nan")

    def predict(self, bias_V: np.ndarray) -> np.ndarray:
        """Fitted ``P(1)`` at ``bias_V`` (any shape)."""
        return link_cdf((np.asarray(bias_V, dtype=float) - self.v0_V) / self.vs_V, self.link)

    def band(self, bias_V: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence band of ``P(V)``: Wald interval on ``z = a + b V`` mapped through ``F``."""
        v = np.asarray(bias_V, dtype=float)
        a, b = self._ab
        z = a + b * v
        var = self._cov_ab[0, 0] + 2 * v * self._cov_ab[0, 1] + v * v * self._cov_ab[1, 1]
        q = float(stats.norm.ppf(0.5 + level / 2))
        se = np.sqrt(np.maximum(var, 0.0))
        return link_cdf(z - q * se, self.link), link_cdf(z + q * se, self.link)

    def residuals(self) -> np.ndarray:
        """Pearson residuals ``(k - n p) / sqrt(n p (1 - p))`` per point."""
        p = np.clip(self.predict(self.bias_V), 1e-300, 1.0 - 1e-16)
        return (self.k_eff - self.n_eff * p) / np.sqrt(self.n_eff * p * (1 - p))


def _prepare(bias_V, n_ones, n_samples, n_eff):
    v = np.asarray(bias_V, dtype=float).ravel()
    k = np.asarray(n_ones, dtype=float).ravel()
    n = np.asarray(n_samples, dtype=float).ravel()
    if not (v.shape == k.shape == n.shape):
        raise FitError(f"bias_V, n_ones and n_samples must have the same length, got {v.size}, {k.size}, {n.size}")
    if n_eff is not None:
        ne = np.broadcast_to(np.asarray(n_eff, dtype=float), n.shape).astype(float)
        if np.any(~np.isfinite(ne)) or np.any(ne <= 0) or np.any(ne > n * (1 + 1e-9)):
            raise FitError("n_eff must be finite, positive and at most n_samples at every point")
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(n > 0, k * ne / n, 0.0)
        n = ne
    ok = np.isfinite(v) & np.isfinite(k) & np.isfinite(n) & (n > 0)
    if np.any((k[ok] < 0) | (k[ok] > n[ok] * (1 + 1e-12))):
        raise FitError("n_ones must lie in [0, n_samples] at every point")
    v, k, n = v[ok], np.clip(k[ok], 0, n[ok]), n[ok]
    if v.size < 2 or np.unique(v).size < 2:
        raise FitError(f"a sigmoid fit needs at least 2 distinct bias points with samples, got {np.unique(v).size}")
    return v, k, n


def _start(v, k, n, link):
    """Weighted least squares on the empirical link of ``(k + 1/2)/(n + 1)``."""
    p = (k + 0.5) / (n + 1.0)
    z = np.log(p / (1 - p)) if link == "logistic" else stats.norm.ppf(p)
    w = n * p * (1 - p)
    X = np.stack([np.ones_like(v), v], axis=1)
    sw = np.sqrt(w)
    a, b = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)[0]
    if not np.isfinite(b) or b <= 0:
        b = 1.0 / max(np.ptp(v), 1e-12)
        a = -b * float(np.average(v, weights=w))
    return float(a), float(b)


def _maximize(v, k, n, link, scale):
    """Maximize over ``(a, b)`` in scaled coordinates ``(a, b * scale)`` (keeps the Hessian well-conditioned)."""
    u = v / scale

    def nll(t):
        ll, _, _ = _loglik_terms(t[0] + t[1] * u, k, n, link)
        return -ll

    def grad(t):
        _, g, _ = _loglik_terms(t[0] + t[1] * u, k, n, link)
        return -np.array([g.sum(), (g * u).sum()])

    def hess(t):
        _, _, h = _loglik_terms(t[0] + t[1] * u, k, n, link)
        return -np.array([[h.sum(), (h * u).sum()], [(h * u).sum(), (h * u * u).sum()]])

    a0, b0 = _start(v, k, n, link)
    res = optimize.minimize(nll, np.array([a0, b0 * scale]), jac=grad, hess=hess, method="trust-exact",
                            options={"gtol": 1e-9, "maxiter": 500})
    return res, nll, grad, hess


def _profile_interval(v, k, n, link, which, mle, se, ll_max):
    """95 % profile-likelihood interval for ``v0`` (which=0) or ``vs`` (which=1)."""

    def prof(val):
        if which == 0:  # v0 fixed: z = b (V - v0), maximize over b > 0 (1-D, concave in b)
            def f(lb):
                return -_loglik_terms(math.exp(lb) * (v - val), k, n, link)[0]
            x0 = math.log(1.0 / mle[1])
        else:  # vs fixed: z = (V - v0)/vs, maximize over v0
            def f(c):
                return -_loglik_terms((v - c) / val, k, n, link)[0]
            x0 = mle[0]
        r = optimize.minimize_scalar(f, bracket=(x0 - 0.5 if which == 0 else x0 - se[0],
                                                 x0 + 0.5 if which == 0 else x0 + se[0]))
        return -float(r.fun)

    def g(val):
        return 2.0 * (ll_max - prof(val)) - _CHI2_95

    centre = mle[which]
    out = []
    for sign in (-1.0, 1.0):
        step = max(se[which], 1e-12 * max(abs(centre), 1e-12))
        lo = centre
        hi = centre + sign * step
        found = False
        for _ in range(60):
            if which == 1 and hi <= 0:
                hi = lo / 2.0 if lo > 0 else 1e-300
            try:
                val = g(hi)
            except FloatingPointError:
                break
            if val > 0:
                found = True
                break
            lo, hi = hi, centre + sign * (abs(hi - centre) * 2.0)
        if not found:
            out.append(-math.inf if sign < 0 and which == 0 else (0.0 if sign < 0 else math.inf))
            continue
        a_, b_ = (lo, hi) if lo < hi else (hi, lo)
        out.append(float(optimize.brentq(g, a_, b_, xtol=1e-12 * max(abs(centre), 1e-30) + 1e-18)))
    return (min(out), max(out))


def fit_sigmoid(
    bias_V: np.ndarray,
    n_ones: np.ndarray,
    n_samples: np.ndarray,
    *,
    link: Link = "logistic",
    n_eff: np.ndarray | None = None,
    profile: bool = True,
) -> SigmoidFit:
    """Fit ``P(V) = F((V - v0)/vs)`` to counts by maximum binomial likelihood.

    Parameters
    ----------
    bias_V, n_ones, n_samples
        Arrays of shape ``(m,)``: bias (V), number of ones and number of output bits read at each point.
        Points with ``n_samples == 0`` or non-finite values are dropped.
    link
        ``"logistic"`` or ``"probit"``.
    n_eff
        Optional ``(m,)`` (or scalar) effective sample counts ``<= n_samples``; the counts are scaled to
        ``k n_eff / n`` of ``n_eff`` (see the module docstring).
    profile
        Also compute 95 % profile-likelihood intervals (a few extra 1-D optimizations).

    Returns
    -------
    SigmoidFit

    Raises
    ------
    FitError
        Mismatched or invalid arrays, fewer than 2 distinct bias points, or data without a transition
        (complete separation: the MLE slope would be infinitely steep).
    """
    if link not in ("logistic", "probit"):
        raise FitError(f"link must be 'logistic' or 'probit', got {link!r}")
    v, k, n = _prepare(bias_V, n_ones, n_samples, n_eff)
    order = np.argsort(v, kind="stable")
    frac = (k / n)[order]
    if np.all((frac == 0) | (frac == 1)) and np.all(np.diff(frac) >= 0):
        raise FitError(
            f"no resolvable {link} transition in the data: every point reads all 0 or all 1 (complete "
            f"separation, P(1) = {frac.tolist()}); sweep the bias across the transition with finer steps"
        )
    scale = max(float(np.ptp(v)), 1e-300)
    with np.errstate(over="ignore", under="ignore"):
        res, nll, grad, hess = _maximize(v, k, n, link, scale)
    a, bs = float(res.x[0]), float(res.x[1])
    b = bs / scale
    # Separation: every point pinned at 0 or 1 by a near-vertical sigmoid.
    z_span = abs(bs)
    if not np.all(np.isfinite(res.x)) or bs <= 0 or z_span > 200.0:
        raise FitError(
            f"no resolvable {link} transition in the data (slope across the sweep {z_span:.3g} link units; "
            f"P(1) at the points: {np.round(k / n, 3).tolist()}); sweep the bias across the transition"
        )
    H = hess(res.x)
    try:
        cov_s = np.linalg.inv(H)
    except np.linalg.LinAlgError as exc:
        raise FitError(f"singular Fisher information in the {link} fit: {exc}") from exc
    S = np.diag([1.0, 1.0 / scale])
    cov_ab = S @ cov_s @ S
    v0, vs = -a / b, 1.0 / b
    J = np.array([[-1.0 / b, a / b**2], [0.0, -1.0 / b**2]])
    cov = J @ cov_ab @ J.T
    ll = -float(res.fun)
    p = link_cdf(a + b * v, link)
    ll_sat = float(np.sum(xlogy(k, k / n) + xlogy(n - k, (n - k) / n)))
    dev = max(2.0 * (ll_sat - ll), 0.0)  # deviance = 2 (l_saturated - l), stable when p -> 0 or 1
    pc = np.clip(p, 1e-300, 1.0 - 1e-16)
    pear = float(np.sum((k - n * pc) ** 2 / (n * pc * (1 - pc))))
    dof = int(v.size - 2)
    gof_p = float(stats.chi2.sf(dev, dof)) if dof > 0 else float("nan")
    se = (math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1]))
    if profile:
        with np.errstate(over="ignore", under="ignore"):
            v0_ci = _profile_interval(v, k, n, link, 0, (v0, vs), se, ll)
            vs_ci = _profile_interval(v, k, n, link, 1, (v0, vs), se, ll)
    else:
        v0_ci = (v0 - 1.96 * se[0], v0 + 1.96 * se[0])
        vs_ci = (vs - 1.96 * se[1], vs + 1.96 * se[1])
    return SigmoidFit(
        link=link, v0_V=v0, vs_V=vs, cov=cov, v0_ci_V=v0_ci, vs_ci_V=vs_ci, loglik=ll, deviance=dev,
        pearson_chi2=pear, dof=dof, gof_p=gof_p, aic=4.0 - 2.0 * ll, n_points=int(v.size),
        n_eff_total=float(n.sum()), bias_V=v, k_eff=k, n_eff=n, _ab=(a, b), _cov_ab=cov_ab,
    )


@dataclass(frozen=True)
class LinkComparison:
    """Logistic and probit fits of the same data and the AIC choice between them.

    ``delta_aic = aic(other) - aic(best) >= 0``; ``exp(-delta_aic/2)`` is the relative likelihood of the
    other family. Below 2 the data do not decide (then ``decisive`` is false; the best is still reported).
    """

    fits: dict[str, SigmoidFit]
    best: Link
    delta_aic: float

    @property
    def best_fit(self) -> SigmoidFit:
        return self.fits[self.best]

    @property
    def decisive(self) -> bool:
        return self.delta_aic >= 2.0


def compare_links(bias_V, n_ones, n_samples, *, n_eff=None, profile: bool = True) -> LinkComparison:
    """Fit both links and pick the lower AIC (both have 2 parameters, so this is the likelihood ratio)."""
    fits = {ln: fit_sigmoid(bias_V, n_ones, n_samples, link=ln, n_eff=n_eff, profile=profile)
            for ln in ("logistic", "probit")}
    best = min(fits, key=lambda ln: fits[ln].aic)
    other = "probit" if best == "logistic" else "logistic"
    return LinkComparison(fits=fits, best=best, delta_aic=fits[other].aic - fits[best].aic)  # type: ignore[arg-type]
