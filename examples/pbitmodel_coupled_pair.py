"""Two transistor-level latch p-bits coupled through a resistive bias network vs the Boltzmann distribution
and vs two coupled SPICE macro-models of the same fitted card (all in ngspice).

    python examples/pbitmodel_coupled_pair.py [--J 0.5] [--t-stop 2.0] [--out runs/pbitmodel-pair]

1. characterize the latch cell with its transistor-level readout (quick sweep, 0.2 s per point) and fit it;
2. choose the divider fraction and reference for coupling ``J`` and zero field from the card's logistic fit;
3. simulate two coupled transistor-level cells for ``--t-stop`` seconds and two coupled macro-models of the
   card (output swing = the readout's 1.8 V) for the same time;
4. print both joint distributions, the Boltzmann one and Pearson chi2 statistics with each pair's n_eff.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
from scipy import stats

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.sweep import quick_spec
from pbitkit.pbitmodel import DeviceModel, fit_characterization, read_characterization
from pbitkit.pbitmodel.coupled import coupling_for, simulate_latch_pair
from pbitkit.pbitmodel.macromodel import pair_boltzmann, simulate_coupled_pair


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--J", type=float, default=0.5)
    ap.add_argument("--t-stop", type=float, default=2.0)
    ap.add_argument("--out", default="runs/pbitmodel-pair")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    characterize(quick_spec("latch", params={"t_stop_s": 0.2, "readout": 1.0}), args.out, workers=args.workers,
                 plot=False, overwrite=True)
    rep = fit_characterization(read_characterization(args.out))
    lf = rep.links.fits["logistic"]
    v_out = 1.8  # the readout's supply: its output swing
    a, vref = coupling_for(args.J, 0.0, v0_V=lf.v0_V, vs_V=lf.vs_V, v_out_V=v_out)
    t1 = time.perf_counter()
    tp = simulate_latch_pair(coupling_frac=a, v_ref_V=(vref, vref), t_stop_s=args.t_stop, seed=2)
    t2 = time.perf_counter()
    card = DeviceModel.ideal(vs_V=lf.vs_V, v0_V=lf.v0_V, tau_corr_s=rep.card.dynamics.tau_corr_s, vdd_V=v_out, cell="latch-macro")
    mp = simulate_coupled_pair(card, coupling_frac=a, v_ref_V=(vref, vref), t_stop_s=args.t_stop, seed=3)
    t3 = time.perf_counter()
    b = pair_boltzmann(args.J, 0.0, 0.0)
    crit = stats.chi2.ppf(0.999, 3)
    print(f"latch with readout: logistic v0 = {lf.v0_V * 1e3:.2f} ± {lf.v0_se_V * 1e3:.2f} mV, "
          f"vs = {lf.vs_V * 1e3:.2f} ± {lf.vs_se_V * 1e3:.2f} mV, tau = {rep.card.dynamics.tau_corr_s * 1e3:.3g} ms "
          f"(characterize + fit {t1 - t0:.0f} s)")
    print(f"coupling J = {args.J}: divider fraction a = {a:.5f}, v_ref = {vref * 1e3:.2f} mV")
    for name, f, ne, dt in (("transistor pair", tp.freq, tp.n_eff, t2 - t1), ("macro-model pair", mp.freq, mp.n_eff, t3 - t2)):
        x2 = ne * np.sum((f - b) ** 2 / b)
        x2i = ne * np.sum((f - 0.25) ** 2 / 0.25)
        print(f"{name}: P(00,01,10,11) = {np.round(f.ravel(), 4).tolist()}, n_eff = {ne:.0f}, P(same) = "
              f"{f[0, 0] + f[1, 1]:.3f}; chi2 vs Boltzmann {x2:.2f}, vs independent {x2i:.2f} "
              f"(0.1% critical {crit:.2f}); {dt:.0f} s")
    print(f"Boltzmann: P = {np.round(b.ravel(), 4).tolist()}, P(same) = {b[0, 0] + b[1, 1]:.3f}")


if __name__ == "__main__":
    main()
