"""How the StrongARM cell's sigmoid width depends on the noise time step (docs/cells.md).

    python examples/strongarm_noise_step.py [--steps 80e-12 40e-12 20e-12 10e-12 5e-12] [--n 400]

For each ``noise_dt_s`` runs the nominal ``strongarm`` cell (tt, 27 °C) at 5 bias points from -1 to +1 mV
with ``--n`` decisions each (one ngspice session), fits the probit width by binomial maximum likelihood
and prints it with its standard error next to the hand analysis ``sqrt(4 k T gamma / (g_m t_int))`` the
session measured, the energy per decision and the ngspice CPU time.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import optimize, stats

from pbitkit.circuits import SweepPoint, get_cell
from pbitkit.circuits.ngspice import run

BIASES = np.array([-1e-3, -5e-4, 0.0, 5e-4, 1e-3])


def probit_width(k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Binomial ML probit width (V) over :data:`BIASES` and its standard error (curvature of the NLL)."""
    def nll(th: np.ndarray) -> float:
        p = np.clip(stats.norm.cdf((BIASES - th[0]) / math.exp(th[1])), 1e-12, 1 - 1e-12)
        return -float(np.sum(k * np.log(p) + (n - k) * np.log(1 - p)))

    res = optimize.minimize(nll, [0.0, math.log(5e-4)], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9})
    h = 1e-3
    d2 = (nll(res.x + [0, h]) - 2 * nll(res.x) + nll(res.x - [0, h])) / h**2
    return math.exp(res.x[1]), math.exp(res.x[1]) / math.sqrt(d2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=float, nargs="+", default=[80e-12, 40e-12, 20e-12, 10e-12, 5e-12])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--noise-seed", type=int, default=7)
    args = ap.parse_args()
    cell = get_cell("strongarm")
    print("noise_dt_s  sigma (mV)        hand (mV)  E/decision (fJ)  CPU/point (s)")
    for dt in args.steps:
        pts = [SweepPoint("strongarm", float(b), noise_seed=args.noise_seed,
                          params={"n_samples": args.n, "noise_dt_s": dt}) for b in BIASES]
        rows = [r for job in cell.jobs(pts) for r in cell.rows(job, run(job))]
        k = np.array([r["n_ones"] for r in rows], float)
        n = np.array([r["n_samples"] for r in rows], float)
        s, se = probit_width(k, n)
        print(f"{dt * 1e12:7.0f} ps  {s * 1e3:.3f} ± {se * 1e3:.3f}    {rows[0]['noise_sigma_hand_V'] * 1e3:.3f}      "
              f"{np.mean([r['energy_per_bit_J'] for r in rows]) * 1e15:6.2f}           "
              f"{np.mean([r['cpu_time_s'] for r in rows]):.1f}")


if __name__ == "__main__":
    main()
