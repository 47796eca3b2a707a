"""Train a denoising thermodynamic model on binarized 8x8 digits, run it on the simulated p-bit array and
measure its quality (the Python-API version of `pbitkit dtm train` + `sample` + `evaluate`).

    python examples/dtm_digits.py [--epochs 80] [--out runs/dtm-digits-example]

The default DTM (the 16 x 16 crossbar, T = 4); takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from pbitkit.dtm import DTMConfig, ForwardConfig, ModelConfig, TrainConfig, classifier_for, generate, train_dtm
from pbitkit.dtm.baselines import fit_independent
from pbitkit.dtm.pipeline import conditional_report, evaluate_samples
from pbitkit.dtm.plotting import plot_sample_grid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--out", default="runs/dtm-digits-example")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    cfg = DTMConfig(forward=ForwardConfig(n_steps=4), model=ModelConfig(L=16, pattern="bipartite"),
                    train=TrainConfig(epochs=args.epochs), monolithic_baseline=False)
    tr = train_dtm(cfg, args.out)                       # T independent steps, checkpoints in OUT/checkpoints
    clf = classifier_for("digits")                      # frozen MLP shipped with pbitkit (hash-checked)
    rng = np.random.default_rng(0)
    n = len(tr.test.y)
    gen = generate(tr.dtm, n, K=30, seed=1)             # chain the T steps from uniform noise
    ind = fit_independent(tr.train.x).sample(n, rng)
    q_dtm = evaluate_samples(gen.pixels, tr.test.x, clf, rng, floor_reference=tr.train.x[:n])
    q_ind = evaluate_samples(ind, tr.test.x, clf, rng)
    labels = np.arange(n) % 10
    cond = conditional_report(clf, generate(tr.dtm, n, K=30, labels=labels, seed=2).pixels, labels)
    print(f"Fréchet classifier distance: DTM {q_dtm.fd}, independent pixels {q_ind.fd}, "
          f"real-vs-real floor {q_dtm.fd_floor.value:.2f}")
    print(f"label-clamped samples classified as their label: {cond.accuracy:.3f} ± {cond.se:.3f} (chance 0.1)")
    plot_sample_grid(gen.pixels[:50], tr.train.shape, f"{args.out}/samples.png", title="DTM samples")


if __name__ == "__main__":
    main()
