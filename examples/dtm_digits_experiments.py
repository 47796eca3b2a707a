"""One row of the digits experiment log (docs/dtm.md): train a DTM variant, report FD and accuracy.

    python examples/dtm_digits_experiments.py --name g20 --set model.pattern=G20 --set model.label_repeat=6 \\
        --set forward.schedule=linear --set train.lr_schedule=cosine [--K 20,40] [--n-samples 10000] \\
        [--unconditional free,label_prior] [--fd-ci samples|both] [--baselines]

Each ``--set section.key=value`` overrides one field of the default ``DTMConfig`` (values in TOML syntax;
the settings a row names are always set explicitly, so rows stay reproducible when defaults change). Only
the main model is trained (ideal array). Quality is measured as in the report: ``--n-samples`` generated
samples against the whole held-out split in the frozen classifier's features (Fréchet distance with a
100-replicate bootstrap CI; ``--fd-ci samples`` resamples only the generated samples against the fixed
held-out set, ``both`` also the held-out set), and as many label-clamped samples (classes cycled) for the
accuracy. ``--unconditional label_prior`` draws the unconditional samples ancestrally (a class from the
training set's class frequencies, clamped; see ``EvalConfig.unconditional``). ``--baselines`` also prints
independent pixels and Bernoulli mixtures (20, 50 components; EM seeds 0 and 1) on the same footing.
"""

from __future__ import annotations

import argparse
import logging
import time
import tomllib
from pathlib import Path

import numpy as np

from pbitkit.config import from_dict, to_dict
from pbitkit.dtm import DTMConfig, classifier_for, evaluate_samples, generate, train_dtm
from pbitkit.dtm.baselines import fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.pipeline import conditional_report


def _override(cfg: dict, assignment: str) -> None:
    key, sep, value = assignment.partition("=")
    if not sep or "." not in key:
        raise SystemExit(f"--set expects section.key=value, got {assignment!r}")
    *path, leaf = key.split(".")
    node = cfg
    for part in path:
        node = node.setdefault(part, {})
    try:
        node[leaf] = tomllib.loads(f"v = {value}")["v"]  # numbers, booleans, lists, quoted strings
    except tomllib.TOMLDecodeError:
        node[leaf] = value  # a bare word: a string


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="run name (directory under --out)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--K", default="20", help="comma-separated sweeps per step at generation")
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--unconditional", default="free", help="free, label_prior or both (comma-separated)")
    ap.add_argument("--fd-ci", choices=("samples", "both"), default="both")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--out", default="runs/dtm-experiments")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raw = to_dict(DTMConfig())
    raw["monolithic_baseline"] = False
    for a in args.set:
        _override(raw, a)
    cfg = from_dict(DTMConfig, raw, where="--set")
    t0 = time.perf_counter()
    tr = train_dtm(cfg, Path(args.out) / args.name)
    t_train = time.perf_counter() - t0
    clf = classifier_for("digits")
    rng = np.random.default_rng(123)
    n = args.n_samples
    lay = tr.dtm.layout
    modes = [m.strip() for m in args.unconditional.split(",")]
    if not set(modes) <= {"free", "label_prior"}:
        raise SystemExit(f"--unconditional takes free and/or label_prior, got {args.unconditional!r}")
    for K in (int(k) for k in args.K.split(",")):
        for mode in modes:
            uncond = None
            if mode == "label_prior" and lay.n_label_bits:
                prior = np.bincount(tr.train.y, minlength=lay.n_classes) / len(tr.train.y)
                uncond = np.random.default_rng(13).choice(lay.n_classes, size=n, p=prior)
            q = evaluate_samples(generate(tr.dtm, n, K=K, labels=uncond, seed=11).pixels, tr.test.x, clf, rng,
                                 n_boot=100, fd_ci=args.fd_ci)
            print(f"{args.name} K={K}: FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}] ({mode})", flush=True)
        labels = np.arange(n) % lay.n_classes
        acc = conditional_report(clf, generate(tr.dtm, n, K=K, labels=labels, seed=12).pixels, labels)
        print(f"{args.name} K={K}: label-clamped accuracy {acc.accuracy:.3f} ± {acc.se:.3f} "
              f"(training {t_train:.0f} s)", flush=True)
    if args.baselines:
        q = evaluate_samples(fit_independent(tr.train.x).sample(n, rng), tr.test.x, clf, rng, n_boot=100,
                             fd_ci=args.fd_ci)
        print(f"independent pixels: FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")
        for k in (20, 50):
            for seed in (0, 1):
                mrng = np.random.default_rng(seed)
                x = fit_bernoulli_mixture(tr.train.x, k, mrng).sample(n, mrng)
                q = evaluate_samples(x, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
                print(f"Bernoulli mixture {k} (EM seed {seed}): FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")
        q = evaluate_samples(tr.train.x, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
        print(f"real-vs-real floor ({len(tr.train.x)} training digits): FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")


if __name__ == "__main__":
    main()
