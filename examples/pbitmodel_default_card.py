"""Produce ``pbitkit/data/default_card.json`` from the toolkit's own characterization (not typed in).

    python examples/pbitmodel_default_card.py [--out runs/default-card] [--workers 2] [--n-mc 8]

Characterizes the StrongARM comparator cell (sky130 tt, 27 degC, 1.8 V), the nominal cell plus ``--n-mc``
Monte-Carlo mismatch seeds, each swept over 9 bias points around its own predicted centre (200 clocked
reads per point); fits the card (nominal sigmoid, variation across seeds, energy, dynamics; fit report and
plots in the run directory); sizes and simulates the card's bias network for ``--fan-in`` inputs; and
installs the card as ``pbitkit/data/default_card.json`` (or into ``--install-dir``).
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.sweep import load_spec
from pbitkit.paths import data_dir
from pbitkit.pbitmodel.run import fit_run
from pbitkit.pipeline.bias_network import attach_bias_network


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/default-card")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n-mc", type=int, default=8)
    ap.add_argument("--fan-in", type=int, default=12, help="bias-network fan-in to size for (G12: 12)")
    ap.add_argument("--install-dir", default=str(data_dir()), help="where default_card.json goes")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # every device (nominal + mismatch seeds) is swept around its own predicted centre; the mismatch offsets
    # (~17 mV) are far larger than the input noise (~0.5 mV), so the centring staircase spans +-50 mV in 0.5 mV
    spec = load_spec({"cell": "strongarm", "params": {"n_samples": 200, "stair_span_V": 0.05, "stair_steps": 201},
                      "bias": {"n": 9}, "n_mc": args.n_mc, "bias_centering": "predicted"})
    characterize(spec, args.out, workers=args.workers, plot=False)
    rep = fit_run(args.out).report
    # the card's bias network: sized to settle within half a clock period at the array's fan-in, simulated
    card, _ = attach_bias_network(rep.card, args.fan_in)
    card_path = card.save(f"{args.out}/device_card.json")
    install = Path(args.install_dir)
    install.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(card_path, install / "default_card.json")
    c = card
    print(f"default card: {c.cell} {c.link} v0 = {c.v0_V:.5g} V, vs = {c.vs_V:.4g} V, sigma(v0) = {c.variation.v0_sigma_V:.4g} V, "
          f"tau = {c.dynamics.tau_corr_s:.3g} s, E/bit = {c.energy.energy_per_bit_J:.3g} J, bias network "
          f"{c.bias_network.energy_per_update_J:.3g} J/update -> {install / 'default_card.json'}")


if __name__ == "__main__":
    main()
