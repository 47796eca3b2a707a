"""The StrongARM cell's randomness is its own transistors' channel noise: windowed noise tables, the sigmoid
width against hand analysis, and the negative controls (no noise -> deterministic, 4x PSD -> 2x width)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import optimize, stats

from pbitkit.circuits import SweepPoint, get_cell
from pbitkit.circuits.builtin.strongarm import clock_drive_energy
from pbitkit.circuits.ngspice import run
from pbitkit.circuits.noise import NoiseWindow, noise_files, session_noise_files, windowed_noise_text


def test_windowed_noise_table_is_zero_outside_its_windows() -> None:
    w = NoiseWindow(t_first_s=5e-9, width_s=0.5e-9, period_s=10e-9, n_periods=200)
    text = windowed_noise_text(np.random.default_rng(3), dt_s=20e-12, window=w)
    tv = np.array([[float(x) for x in line.split()] for line in text.splitlines()])
    t, v = tv[:, 0], tv[:, 1]
    assert np.all(np.diff(t) > 0) and t[0] == 0.0 and t[-1] == pytest.approx(5e-9 + 200 * 10e-9)
    phase = (t - 5e-9) % 10e-9
    inside = (t >= 5e-9) & (phase < 0.5e-9 - 1e-15)
    assert np.all(v[~inside] == 0.0)  # nothing outside the windows (and the window edges ramp from 0)
    # 26 samples per window, the two edges 0: 24 x 200 unit-variance draws inside
    vals = v[inside & (v != 0.0)]
    assert vals.size == 24 * 200
    assert abs(vals.std() - 1.0) < 4 * 1 / math.sqrt(2 * vals.size) and abs(vals.mean()) < 4 / math.sqrt(vals.size)
    # same seed -> same table; the session helper gives every point its own
    assert text == windowed_noise_text(np.random.default_rng(3), dt_s=20e-12, window=w)
    seeds = [np.random.SeedSequence([1, k]) for k in range(2)]
    files, pre = session_noise_files(["x1"], seeds, 20e-12, 1, w)
    assert set(files) == {"noise_x1.txt", "noise_x1.p1.txt"} and files["noise_x1.txt"] != files["noise_x1.p1.txt"]
    assert pre[1] == ["shell cp -f noise_x1.p1.txt noise_x1.txt"]
    assert files["noise_x1.txt"] == noise_files(["x1"], np.random.default_rng(np.random.SeedSequence([1, 0])),
                                                20e-12, 1, w)["noise_x1.txt"]
    with pytest.raises(ValueError, match="width_s < period_s"):
        NoiseWindow(t_first_s=0.0, width_s=2e-9, period_s=1e-9, n_periods=3)


def test_clock_drive_energy_counts_net_charge_not_ringing() -> None:
    # a 10 fF pin charged to 1.8 V once per 10 ns period (rising at half period), with a +-1 mA ringing
    # doublet (zero net charge) inside each high phase: a clipped integral would count its positive half
    period, c, v = 10e-9, 10e-15, 1.8
    t = np.linspace(0, 3 * period, 30001)
    q = c * v * ((t % period) >= period / 2)
    i = np.gradient(q, t)
    j = np.flatnonzero(np.isclose(t % period, 0.7 * period, atol=0.5e-12))
    i[j], i[j + 1] = 1e-3, -1e-3
    e = clock_drive_energy(t, i, v, period, 2)
    assert e == pytest.approx(2 * c * v**2, rel=1e-6)
    assert 1.8 * np.trapezoid(np.maximum(i, 0), t) > 1.2 * e  # negative control: the clipped integral


def _probit_sigma(biases: np.ndarray, n_ones: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Binomial maximum-likelihood probit width (V) and its standard error."""
    def nll(th: np.ndarray) -> float:
        p = np.clip(stats.norm.cdf((biases - th[0]) / math.exp(th[1])), 1e-12, 1 - 1e-12)
        return -float(np.sum(n_ones * np.log(p) + (n - n_ones) * np.log(1 - p)))

    res = optimize.minimize(nll, [0.0, math.log(5e-4)], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-8})
    h = 1e-3
    f0 = nll(res.x)
    d2 = (nll(res.x + [0, h]) - 2 * f0 + nll(res.x - [0, h])) / h**2
    return math.exp(res.x[1]), math.exp(res.x[1]) / math.sqrt(d2)


@pytest.mark.ngspice
@pytest.mark.slow
def test_strongarm_width_is_its_input_pair_noise_over_the_integration_window() -> None:
    c = get_cell("strongarm")
    b = np.array([-6e-4, 0.0, 6e-4])
    mk = lambda scale, n, bs: [SweepPoint("strongarm", float(x), noise_seed=11,  # noqa: E731
                                          params={"n_samples": n, "noise_scale": scale}) for x in bs]
    jobs = [c.jobs(mk(1.0, 300, b))[0], c.jobs(mk(4.0, 300, b))[0], c.jobs(mk(0.0, 40, [-3e-4, 3e-4]))[0]]
    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(run, jobs))
    unit, quad, silent = (c.rows(j, r) for j, r in zip(jobs, results, strict=True))
    k = lambda rows: np.array([r["n_ones"] for r in rows])  # noqa: E731
    n = np.array([r["n_samples"] for r in unit])
    s1, se1 = _probit_sigma(b, k(unit), n)
    s4, se4 = _probit_sigma(b, k(quad), n)
    hand = unit[0]["noise_sigma_hand_V"]
    # hand analysis: sigma_n = sqrt(4 k T gamma / (g_m t_int)) with g_m and t_int measured in the session's
    # noiseless run (~480 uS over ~92 ps: ~0.5 mV); measured 0.42-0.43 mV at 5-80 ps steps (docs/cells.md).
    # The window's end (output common mode down by VDD/4) is a convention: allow 0.6-1.2 x hand, and 4 SE
    assert 0.6 * hand - 4 * se1 < s1 < 1.2 * hand + 4 * se1, (s1, se1, hand)
    assert 3e-4 < hand < 8e-4 and 300e-6 < unit[0]["pair_gm_S"] < 700e-6 and 50e-12 < unit[0]["t_int_s"] < 150e-12
    # four times the PSD doubles the width (ratio within 4 combined SE)
    assert abs(s4 / s1 - 2.0) < 4 * math.hypot(se4 / s1, s4 * se1 / s1**2), (s1, s4)
    # negative control: without the injected transistor noise the comparator is deterministic at +-0.3 mV
    assert [r["p1"] for r in silent] == [0.0, 1.0]
    for r in unit:
        assert r["status"] == "ok" and get_cell("strongarm").noise_source == "transistor"
        # every joule counted: supply (~43 fJ) + clock drive (net charge into tail + 4 reset gates, ~23 fJ)
        assert r["energy_per_bit_J"] == pytest.approx(r["supply_energy_per_bit_J"] + r["clock_energy_per_bit_J"])
        assert 50e-15 < r["energy_per_bit_J"] < 90e-15
