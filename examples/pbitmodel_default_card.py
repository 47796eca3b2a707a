"""Produce ``pbitkit/data/default_card.json`` from the toolkit's own characterization (not typed in).

    python examples/pbitmodel_default_card.py [--out runs/default-card] [--workers 2] [--n-mc 8]

Characterizes the StrongARM comparator cell (sky130 tt, 27 degC, 1.8 V) over a bias range wide enough for
every mismatch instance's transition (±75 mV, 17 points, 200 clocked reads per point), with the nominal
cell plus ``--n-mc`` Monte-Carlo mismatch seeds, fits the card (nominal sigmoid, variation across seeds,
energy, dynamics) and writes it with the fit report and plots into the run directory and the card into
``pbitkit/data/default_card.json``.
"""

from __future__ import annotations

import argparse
import logging
import shutil

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.sweep import load_spec
from pbitkit.paths import data_dir
from pbitkit.pbitmodel import fit_characterization, read_characterization, render_report
from pbitkit.pbitmodel.plots import plot_all
from pbitkit.io import atomic_write_text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/default-card")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n-mc", type=int, default=8)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = load_spec({"cell": "strongarm", "params": {"n_samples": 200},
                      "bias": {"start_V": -0.075, "stop_V": 0.075, "n": 17}, "n_mc": args.n_mc})
    characterize(spec, args.out, workers=args.workers, plot=False)
    rep = fit_characterization(read_characterization(args.out))
    card_path = rep.card.save(f"{args.out}/device_card.json")
    plots = [f"fit_plots/{p.name}" for p in plot_all(rep, f"{args.out}/fit_plots")]
    atomic_write_text(f"{args.out}/fit_report.md", render_report(rep, plots=plots))
    data_dir().mkdir(parents=True, exist_ok=True)
    shutil.copyfile(card_path, data_dir() / "default_card.json")
    c = rep.card
    print(f"default card: {c.cell} {c.link} v0 = {c.v0_V:.5g} V, vs = {c.vs_V:.4g} V, sigma(v0) = {c.v0_sigma_V:.4g} V, "
          f"tau = {c.tau_corr_s:.3g} s, E/bit = {c.energy_per_bit_J:.3g} J -> {data_dir() / 'default_card.json'}")


if __name__ == "__main__":
    main()
