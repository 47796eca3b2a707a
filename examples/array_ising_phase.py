"""2-D Ising phase transition on the p-bit array simulator: ideal vs device (variation + telegraph memory)
vs calibrated device, compared with Onsager's exact energy.

    .venv/bin/python examples/array_ising_phase.py [--size 32] [--out runs/examples/array]

Writes ising_phase.png and ising_phase.json. ~1 minute on 2 cores at the defaults.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.special import ellipk

from pbitkit.array import DacSpec, DeviceStats, HardwareConfig, make_hardware, sample, square_lattice
from pbitkit.array.calibration import calibrate
from pbitkit.array.diagnostics import energy, magnetization, mc_standard_error
from pbitkit.array.plotting import plot_phase_transition
from pbitkit.io import atomic_write_json


def onsager_energy(beta: float) -> float:
    """Exact energy per spin of the infinite 2-D Ising model (J = 1), Onsager 1944."""
    b2 = 2 * beta
    k = 2 * np.sinh(b2) / np.cosh(b2) ** 2
    return float(-1 / np.tanh(b2) * (1 + 2 / np.pi * (2 * np.tanh(b2) ** 2 - 1) * ellipk(k * k)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--sweeps", type=int, default=400)
    ap.add_argument("--chains", type=int, default=16)
    ap.add_argument("--out", type=Path, default=Path("runs/examples/array"))
    args = ap.parse_args()
    g = square_lattice(args.size)
    J = np.ones(g.n_edges)
    temps = np.linspace(1.5, 3.5, 11)
    # a chip whose cells' offsets spread by 0.75 Vs, with 100 ns cells read every 50 ns and 6-bit DACs
    stats = DeviceStats(vs_V=0.02, v0_sigma_V=0.015, vs_sigma_rel=0.05, tau_corr_s=100e-9)
    cfg = HardwareConfig(weight_dac=DacSpec(6, 1.0), bias_dac=DacSpec(6, 1.0), trim_dac=DacSpec(6),
                         update_interval_s=50e-9)
    chip = make_hardware(g.n_nodes, stats, cfg, seed=1)
    cal = calibrate(g, chip, seed=2)
    curves: dict[str, dict[str, list[float]]] = {}
    for label, mode, hw in [("ideal", "ideal", None), ("device, uncalibrated", "device", chip),
                            ("device, calibrated", "device", cal.hardware)]:
        c = {"abs_m": [], "abs_m_se": [], "energy": [], "energy_se": []}
        for T in temps:
            s = sample(J, graph=g, beta=1 / T, n_chains=args.chains, n_sweeps=args.sweeps, burn_in=200,
                       mode=mode, hardware=hw, init=np.ones((args.chains, g.n_nodes), np.int8), seed=int(100 * T))
            m, m_se = mc_standard_error(np.abs(magnetization(s)))
            e, e_se = mc_standard_error(energy(s, g, J) / g.n_nodes)
            for k, v in zip(c, (m, m_se, e, e_se)):
                c[k].append(v)
        curves[label] = c
        print(f"{label:22s} " + " ".join(f"{T:.2f}:{e:+.3f}" for T, e in zip(temps, c["energy"])))  # noqa: T201
    ons = np.array([onsager_energy(1 / T) for T in temps])
    args.out.mkdir(parents=True, exist_ok=True)
    plot_phase_transition(temps, {k: {kk: np.array(vv) for kk, vv in v.items()} for k, v in curves.items()}, ons,
                          args.out / "ising_phase.png")
    atomic_write_json(args.out / "ising_phase.json", {"temperatures": temps, "onsager_energy": ons, "curves": curves,
                                                      "calibration": cal.summary(), "size": args.size})
    print(json.dumps(cal.summary(), indent=1))  # noqa: T201
    print(f"wrote {args.out / 'ising_phase.png'}")  # noqa: T201


if __name__ == "__main__":
    main()
