"""Variation and calibration study on a G12 array: how cell-offset spread, trim-DAC resolution and
calibration change the marginals of an unbiased array and the moments of a sampled Boltzmann machine.

    .venv/bin/python examples/array_variation_calibration.py [--size 24] [--out runs/examples/array]

Writes calibration.png, trim_bits.png and variation_calibration.json. ~1 minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pbitkit.array import DacSpec, DeviceStats, GibbsSampler, HardwareConfig, grid_graph, make_hardware, random_state
from pbitkit.array.calibration import calibrate
from pbitkit.array.ledger import ledger
from pbitkit.array.plotting import plot_calibration, plot_trim_bits
from pbitkit.io import atomic_write_json


def moments(g, J, h, mode, hw, seed, n_sweeps=600, n_chains=32):
    smp = GibbsSampler(g, mode=mode, hardware=hw)
    rng = np.random.default_rng(seed)
    s = random_state(n_chains, g.n_nodes, rng)
    s, _ = smp.run(s, J, h, n_sweeps=100, rng=rng, moments=False)
    _, mom = smp.run(s, J, h, n_sweeps=n_sweeps, rng=rng)
    return mom.m1, mom.m2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=24)
    ap.add_argument("--out", type=Path, default=Path("runs/examples/array"))
    args = ap.parse_args()
    g = grid_graph(args.size, "G12")
    rng = np.random.default_rng(0)
    J = rng.normal(0.0, 0.15, g.n_edges)  # a random Boltzmann machine of moderate coupling
    h = rng.normal(0.0, 0.1, g.n_nodes)
    # cells: offset spread of one slope width (docs/theory.md §6.8: mismatch offsets are comparable to Vs or larger)
    stats = DeviceStats(vs_V=0.02, v0_sigma_V=0.02, vs_sigma_rel=0.1, tau_corr_s=100e-9)
    m1_ideal, m2_ideal = moments(g, J, h, "ideal", None, seed=1)
    out: dict = {"graph": g.name, "stats": stats.to_dict(), "trim_bits": []}
    bits_list = [3, 4, 5, 6, 8]
    spread, resid, err1, err2 = [], [], [], []
    chip = None
    best = None
    for bits in bits_list:
        cfg = HardwareConfig(trim_dac=DacSpec(bits), update_interval_s=100e-9)
        chip = make_hardware(g.n_nodes, stats, cfg, seed=7)  # the same chip (seed) every time
        cal = calibrate(g, chip, seed=3)
        m1, m2 = moments(g, J, h, "device", cal.hardware, seed=1)
        spread.append(cal.spread_after)
        resid.append(float(np.sqrt(np.mean(cal.residual_V_after**2))))
        err1.append(float(np.sqrt(np.mean((m1 - m1_ideal) ** 2))))
        err2.append(float(np.sqrt(np.mean((m2 - m2_ideal) ** 2))))
        out["trim_bits"].append({"bits": bits, **cal.summary(), "rms_err_m1": err1[-1], "rms_err_m2": err2[-1]})
        print(f"trim {bits} bits: spread {cal.spread_before:.3f} -> {cal.spread_after:.3f}, "  # noqa: T201
              f"residual {1e3 * resid[-1]:.2f} mV, moment errors m1 {err1[-1]:.3f} m2 {err2[-1]:.3f}")
        if bits == 6:
            best = cal
    m1u, m2u = moments(g, J, h, "device", chip, seed=1)
    out["uncalibrated"] = {"rms_err_m1": float(np.sqrt(np.mean((m1u - m1_ideal) ** 2))),
                           "rms_err_m2": float(np.sqrt(np.mean((m2u - m2_ideal) ** 2)))}
    print("uncalibrated: moment errors", out["uncalibrated"])  # noqa: T201
    out["ledger_K250"] = ledger(g, stats, n_sweeps_per_sample=250).to_dict()
    args.out.mkdir(parents=True, exist_ok=True)
    assert best is not None
    plot_calibration(best.marginals_before, best.marginals_after, best.residual_V_before, best.residual_V_after,
                     args.out / "calibration.png")
    plot_trim_bits(bits_list, spread, resid, {"<s_i> rms error": err1, "<s_i s_j> rms error": err2},
                   args.out / "trim_bits.png")
    atomic_write_json(args.out / "variation_calibration.json", out)
    print(json.dumps(out["ledger_K250"]["energy_per_sample_J"]), "J per sample (K = 250 sweeps)")  # noqa: T201
    print(f"wrote {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
