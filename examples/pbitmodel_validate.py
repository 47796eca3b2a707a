"""Fit a real transistor-level characterization and validate the SPICE macro-model against it in ngspice.

    python examples/pbitmodel_validate.py [--cell strongarm|latch] [--out runs/validate]

1. ``pbitkit.circuits.characterize`` runs the cell's quick sweep (transistor level, sky130, ngspice);
2. ``fit_characterization`` fits the DeviceModel card;
3. the card's macro-model runs in ngspice on the same bias points; P(1) is compared point by point with
   the transistor-level P(1) (two-sample z with the effective sample counts of both).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.sweep import quick_spec
from pbitkit.pbitmodel import fit_characterization, read_characterization
from pbitkit.pbitmodel.macromodel import compare_p1, simulate_macromodel_sweep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cell", default="strongarm", choices=("strongarm", "latch"))
    ap.add_argument("--out", default="runs/pbitmodel-validate")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--periods", type=float, default=2000.0,
                    help="macro-model transient length in time units (clock periods, or tau for unclocked cells)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = f"{args.out}-{args.cell}"
    t0 = time.perf_counter()
    characterize(quick_spec(args.cell), out, workers=args.workers, plot=False)
    t1 = time.perf_counter()
    rep = fit_characterization(read_characterization(out))
    card = rep.card
    nom = rep.nominal_table
    unit = card.dynamics.sample_period_s or card.dynamics.tau_corr_s
    sw = simulate_macromodel_sweep(card, nom["bias_V"], t_stop_s=args.periods * unit, seed=1)
    t2 = time.perf_counter()
    agr = compare_p1(nom["bias_V"], nom["n_ones"] / nom["n_samples"], nom["n_eff"], sw.p1, sw.n_eff)
    print(f"cell {args.cell}: characterize {t1 - t0:.1f} s, fit + macro-model {t2 - t1:.1f} s")
    print(f"card: {card.link} v0 = {card.v0_V:.6g} V, vs = {card.vs_V:.4g} V, tau = {card.dynamics.tau_corr_s:.4g} s")
    print("bias_V      P1_cell  n_eff   P1_macro n_eff   z")
    for i, b in enumerate(agr.bias_V):
        print(f"{b:+.5f}  {agr.p_a[i]:.4f}  {nom['n_eff'][i]:6.0f}  {agr.p_b[i]:.4f}  {sw.n_eff[i]:6.0f}  {agr.z[i]:+.2f}")
    print(f"chi2 = {agr.chi2:.2f} on {agr.dof} points (p = {agr.p_value:.3f}); max |dP| = {agr.max_abs_diff:.4f}")
    print("correlation time (s): bias_V  cell  macro  card tau(V)")
    for i, b in enumerate(agr.bias_V):
        print(f"  {b:+.5f}  {nom['tau_corr_s'][i]:.4g}  {sw.tau_corr_s[i]:.4g}  {float(card.tau_corr(b)):.4g}")


if __name__ == "__main__":
    main()
