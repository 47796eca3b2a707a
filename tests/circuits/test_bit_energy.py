"""Pooled tau_int with a jackknife error, and the pooled energy per independent bit at P ~ 1/2, on
processes with known answers (a two-state Markov chain: tau_int = (1 + lam) / (1 - lam))."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.circuits.bit_energy import centre_bit_energy
from pbitkit.circuits.bits import BitRecord
from pbitkit.circuits.measure import pooled_integrated_autocorr_time


def _markov(rng: np.random.Generator, n_rec: int, n: int, lam: float, p: float = 0.5) -> np.ndarray:
    """``n_rec`` stationary two-state chains: keep the state with prob. ``lam``, else redraw with P(1) = p."""
    x = np.empty((n_rec, n), dtype=np.uint8)
    x[:, 0] = rng.random(n_rec) < p
    for t in range(1, n):
        redraw = rng.random(n_rec) >= lam
        x[:, t] = np.where(redraw, rng.random(n_rec) < p, x[:, t - 1])
    return x


def test_pooled_tau_int_is_unbiased_and_its_jackknife_error_is_honest() -> None:
    rng = np.random.default_rng(5)
    lam = 0.2  # tau_int = 1.5 reads
    z = []
    for _ in range(60):
        est = pooled_integrated_autocorr_time(list(_markov(rng, 32, 200, lam)))
        z.append((est.tau_int - 1.5) / est.se)
    z = np.array(z)
    # unbiased within its error (mean z ~ 0 within 4/sqrt(60)) and the error neither too small nor too large
    # (sd of z in [0.75, 1.3]; a 30 %-off SE would fall outside with 60 replicas)
    assert abs(z.mean()) < 4 / np.sqrt(z.size) + 0.25, z.mean()
    assert 0.75 < z.std(ddof=1) < 1.3, z.std(ddof=1)
    # negative control: independent bits are told apart from tau_int = 1.5
    est = pooled_integrated_autocorr_time(list(_markov(rng, 32, 200, 0.0)))
    assert (1.5 - est.tau_int) / est.se > 4 and abs(est.tau_int - 1) < 4 * est.se
    # constant records carry no information; fewer than 2 varying records is an error
    with pytest.raises(ValueError, match=">= 2 records that vary"):
        pooled_integrated_autocorr_time([np.ones(50), np.zeros(50), np.r_[np.zeros(25), np.ones(25)]])


def test_centre_bit_energy_pools_the_rows_near_one_half() -> None:
    rng = np.random.default_rng(8)
    recs, rows = {}, []
    bits = _markov(rng, 24, 300, 0.2)
    for i, b in enumerate(bits):
        recs[i] = BitRecord(bits=b, dt_s=3e-7, flip_bits=b, hysteresis_V=float("nan"))
        rows.append({"row_id": i, "cell": "c", "status": "ok", "tier": "transient", "mc_seed": -1, "corner": "tt",
                     "temp_C": 27.0, "vdd_V": 0.125, "p1": float(b.mean()), "sample_period_s": 3e-7,
                     "energy_per_bit_J": 2e-15 * (1 + 0.01 * rng.standard_normal())})
    # a tail row (P = 0.05) and a mismatch instance are not pooled
    rows.append({**rows[0], "row_id": 99, "p1": 0.05})
    recs[99] = BitRecord(bits=np.r_[np.ones(15), np.zeros(285)].astype(np.uint8), dt_s=3e-7,
                         flip_bits=np.zeros(300, np.uint8), hysteresis_V=float("nan"))
    rows.append({**rows[1], "row_id": 100, "mc_seed": 3})
    recs[100] = recs[1]
    ce = centre_bit_energy(rows, recs)
    assert ce.n_records == 24 and ce.n_reads == 24 * 300
    assert abs(ce.tau_int - 1.5) < 4 * ce.tau_int_se
    assert ce.energy_per_independent_bit_J == pytest.approx(ce.energy_per_read_J * ce.tau_int)
    assert abs(ce.energy_per_independent_bit_J - 3e-15) < 4 * ce.energy_per_independent_bit_se_J
    assert ce.tau_corr_s == pytest.approx(ce.tau_int * 1.5e-7) and ce.upper_J() > ce.energy_per_independent_bit_J
    assert "energy_per_independent_bit_J =" in ce.summary()
    with pytest.raises(ValueError, match=">= 2 transient records"):
        centre_bit_energy(rows[:1], recs)
