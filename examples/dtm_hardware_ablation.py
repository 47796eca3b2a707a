"""What each hardware non-ideality costs a trained DTM: DAC resolution, finite correlation time, cell
variation, calibration — one at a time, on the same trained model and the same metric.

    python examples/dtm_hardware_ablation.py --run RUN [--K 20] [--n 359]

``RUN`` is a `pbitkit dtm train` run directory. The chip's statistics come from its ``[device]`` card
(default: the toolkit's characterized StrongARM card); each row switches on one effect:

- ``dac8`` / ``dac4``: 8- or 4-bit weight and field DACs, no variation, no telegraph memory;
- ``tau``: cells read every tau/2 (telegraph memory exp(-1/2) = 0.61 per read), ideal DACs, no variation;
- ``variation``: the card's offset/slope variation, no calibration; ``variation+cal``: the same chip
  calibrated (offsets trimmed, slopes compensated by per-cell input scaling: ``calibrate``'s default);
- ``card``: the full card as configured (DACs, variation, clocked reads) uncalibrated and calibrated.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np

from pbitkit.config import from_dict
from pbitkit.dtm import DTMConfig, SamplerSpec, classifier_for, evaluate_samples, generate, load_dtm
from pbitkit.dtm.pipeline import conditional_report
from pbitkit.dtm.runner import load_card
from pbitkit.io import read_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--K", type=int, default=20)
    ap.add_argument("--n", type=int, default=359)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = from_dict(DTMConfig, read_json(Path(args.run) / "run.json")["config"])
    tr = load_dtm(cfg, args.run)
    card = load_card(cfg.device.card)
    tau = card.dynamics.tau_corr_s
    tmp = Path(tempfile.mkdtemp())
    flat = card.replace(variation={"v0_sigma_V": 0.0, "vs_sigma_rel": 0.0})
    flat_path = str(flat.save(tmp / "no_variation.json"))
    var_path = str(card.save(tmp / "card.json"))
    fast = 50 * tau  # reads far apart: no telegraph memory
    rows = {
        "ideal": SamplerSpec(),
        "dac8": SamplerSpec(mode="device", card=flat_path, weight_bits=8, bias_bits=8, update_interval_s=fast),
        "dac4": SamplerSpec(mode="device", card=flat_path, weight_bits=4, bias_bits=4, update_interval_s=fast),
        "tau": SamplerSpec(mode="device", card=flat_path, update_interval_s=tau / 2),
        "variation": SamplerSpec(mode="device", card=var_path, update_interval_s=fast),
        "variation+cal": SamplerSpec(mode="device", card=var_path, update_interval_s=fast, calibrate=True),
        "card": dataclasses.replace(cfg.device, calibrate=False),
        "card+cal": dataclasses.replace(cfg.device, calibrate=True),
    }
    clf = classifier_for(cfg.data.name)
    n = min(args.n, len(tr.test.y))
    labels = np.arange(n) % tr.dtm.layout.n_classes
    print(f"| effect | FD [95% CI] | label-clamped accuracy |\n|---|---|---|")
    for name, spec in rows.items():
        rng = np.random.default_rng(0)
        g = generate(tr.dtm, n, K=args.K, sampler=spec, seed=1)
        q = evaluate_samples(g.pixels, tr.test.x[:n], clf, rng)
        acc = conditional_report(clf, generate(tr.dtm, n, K=args.K, labels=labels, sampler=spec, seed=2).pixels, labels)
        fd = q.fd
        print(f"| {name} | {fd.value:.2f} [{fd.lo:.2f}, {fd.hi:.2f}] | {acc.accuracy:.3f} ± {acc.se:.3f} |")


if __name__ == "__main__":
    main()
