"""One row of the digits experiment log (docs/dtm.md): train a DTM variant, report FD and accuracy.

    python examples/dtm_digits_experiments.py --name g20 --set model.pattern=G20 --set model.label_repeat=6 \\
        --set forward.schedule=linear --set train.lr_schedule=cosine [--K 20,40] [--n-samples 10000] \\
        [--unconditional free,label_prior] [--fd-ci samples|both] [--baselines] [--gen-seeds 11,21,22,23] \\
        [--em-seeds 0,1,2,3] [--base RUN --steps 1] [--diagnose] [--step-K 20,5,5,5] [--anneal-gen 0.3,4,5] [--memorization]

Each ``--set section.key=value`` overrides one field of the default ``DTMConfig`` (values in TOML syntax;
the settings a row names are always set explicitly, so rows stay reproducible when defaults change), or of
the ``[dtm]`` tables of a pipeline TOML given with ``--config`` (``--config configs/digits_grid.toml``: the
G20 grid, the default before the crossbar, on which most rows of docs/dtm.md were measured). Only
the main model is trained (ideal array). Quality is measured as in the report: ``--n-samples`` generated
samples against the whole held-out split in the frozen classifier's features (Fréchet distance with a
100-replicate bootstrap CI; ``--fd-ci samples`` resamples only the generated samples against the fixed
held-out set, ``both`` also the held-out set), and as many label-clamped samples (classes cycled) for the
accuracy. ``--unconditional label_prior`` draws the unconditional samples ancestrally (a class from the
training set's class frequencies, clamped; see ``EvalConfig.unconditional``). ``--baselines`` also prints
independent pixels and Bernoulli mixtures (20, 50 components; ``--em-seeds``, default 0 and 1) on the same
footing. ``--gen-seeds`` repeats the unconditional generation with each seed and prints the mean: one run's
bootstrap interval understates the spread between independent generation runs, so models are compared on
the mean over several seeds. ``--base RUN --steps 1`` trains only the listed steps and takes the others
from ``RUN/model.npz`` (a run of this script with the same model and forward settings). ``--diagnose``
starts the chain at real digits noised to ``x^s`` (10,000 training digits drawn with replacement) and runs
steps ``s .. 1``: the Fréchet distance per start step shows which denoising step limits quality (with its
mean and covariance terms). ``--step-K K_1,...,K_T`` also generates the unconditional samples (each
``--gen-seeds``) with per-step sweeps, step 1 first (e.g. ``20,5,5,5``: 35 sweeps per sample instead of 80;
several sets separated by ``/``). ``--step-train B_1:M_1,...`` trains step ``t`` with ``burn_in = B_t`` and
``measure = M_t`` sweeps per phase (steps near the noise mix in a few sweeps).
``--anneal-gen BETA0,STAGES,SWEEPS`` starts each step's chain of the ``--step-K`` and ``--diagnose`` samples
annealed (the first ``STAGES x SWEEPS`` of its sweeps at inverse temperatures rising linearly from ``BETA0`` to
1, as ``train.anneal_beta0`` does in training).
``--memorization`` asks whether a model copies its training digits: FD of its samples (and of the mixtures')
against the held-out and against the training set, the distance to the nearest training digit, and the
real-vs-real floor against the number of real digits compared (the FD a perfect model would reach at
``--n-samples``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
import tomllib
from pathlib import Path

import numpy as np

from pbitkit.config import from_dict, to_dict
from pbitkit.dtm import DTMConfig, classifier_for, evaluate_samples, generate, train_dtm
from pbitkit.dtm.baselines import fit_bernoulli_mixture, fit_independent
from pbitkit.dtm.datasets import one_hot_spins
from pbitkit.dtm.forward import ForwardProcess, keep_probability, noise_spins
from pbitkit.dtm.metrics import frechet_from_features
from pbitkit.dtm.model import DTM, build_layout, input_fields
from pbitkit.dtm.pipeline import TrainedDTM, conditional_report, load_dtm, prepare_data, visible_data
from pbitkit.dtm.runner import SamplerSpec, make_runner
from pbitkit.dtm.train import StepJob, train_step
from pbitkit.pipeline.config import load_pipeline_config


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
    ap.add_argument("--config", help="pipeline TOML whose [dtm] tables replace the DTM defaults as the base of "
                                     "--set (e.g. configs/digits_grid.toml: the G20 grid rows of docs/dtm.md)")
    ap.add_argument("--K", default="20", help="comma-separated sweeps per step at generation")
    ap.add_argument("--n-samples", type=int, default=2000)
    ap.add_argument("--unconditional", default="free", help="free, label_prior or both (comma-separated)")
    ap.add_argument("--fd-ci", choices=("samples", "both"), default="both")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--gen-seeds", default="11", help="comma-separated generation seeds (mean printed if several)")
    ap.add_argument("--em-seeds", default="0,1", help="comma-separated EM seeds of the mixture baselines")
    ap.add_argument("--base", default=None, help="run directory whose steps are reused (with --steps)")
    ap.add_argument("--steps", default=None, help="comma-separated steps to train (others from --base)")
    ap.add_argument("--diagnose", action="store_true", help="FD of chains started at real noised digits")
    ap.add_argument("--step-K", default=None, help="comma-separated sweeps of steps 1..T (unconditional samples)")
    ap.add_argument("--step-train", default=None, metavar="B:M,...",
                    help="training sweeps per step, step 1 first: burn_in:measure of each step")
    ap.add_argument("--memorization", action="store_true",
                    help="FD against the training set too, nearest-training-digit distances, the floor's size law")
    ap.add_argument("--anneal-gen", default=None, metavar="BETA0,STAGES,SWEEPS",
                    help="--step-K and --diagnose chains start annealed: STAGES stages of SWEEPS sweeps at beta "
                         "rising linearly from BETA0 (the last stage at 1), within each step's sweeps")
    ap.add_argument("--out", default="runs/dtm-experiments")
    args = ap.parse_args()
    if (args.base is None) != (args.steps is None):
        raise SystemExit("--base and --steps go together")
    logging.basicConfig(level=logging.WARNING)
    anneal = None
    if args.anneal_gen:
        b0, m, k = args.anneal_gen.split(",")
        b0, m, k = float(b0), int(m), int(k)
        anneal = [(b0 + (1.0 - b0) * i / max(1, m - 1), k) for i in range(m)]
    raw = to_dict(load_pipeline_config(args.config).dtm if args.config else DTMConfig())
    raw["monolithic_baseline"] = raw["hardware_aware"] = False  # the main model only
    for a in args.set:
        _override(raw, a)
    cfg = from_dict(DTMConfig, raw, where="--set")
    t0 = time.perf_counter()
    if args.step_train is not None:
        if args.base is not None:
            raise SystemExit("--step-train trains every step: not with --base")
        tr = _train_per_step(cfg, _step_sweeps(args.step_train, cfg.forward.n_steps), Path(args.out) / args.name)
    elif args.base is None:
        tr = train_dtm(cfg, Path(args.out) / args.name)
    else:
        tr = _retrain_steps(cfg, Path(args.base), [int(t) for t in args.steps.split(",")], Path(args.out) / args.name)
    t_train = time.perf_counter() - t0
    clf = classifier_for("digits")
    rng = np.random.default_rng(123)
    n = args.n_samples
    lay = tr.dtm.layout
    modes = [m.strip() for m in args.unconditional.split(",")]
    if not set(modes) <= {"free", "label_prior"}:
        raise SystemExit(f"--unconditional takes free and/or label_prior, got {args.unconditional!r}")
    prior = np.bincount(tr.train.y, minlength=lay.n_classes) / len(tr.train.y) if lay.n_label_bits else None
    gen_seeds = [int(s) for s in args.gen_seeds.split(",")]
    for K in (int(k) for k in args.K.split(",")):
        for mode in modes:
            uncond = None
            if mode == "label_prior" and lay.n_label_bits:
                uncond = np.random.default_rng(13).choice(lay.n_classes, size=n, p=prior)
            fds = []
            for gs in gen_seeds:
                g = generate(tr.dtm, n, K=K, labels=uncond, seed=gs, class_prior=prior)
                q = evaluate_samples(g.pixels, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
                fds.append(q.fd.value)
                print(f"{args.name} K={K}: FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}] ({mode}, generation "
                      f"seed {gs})", flush=True)
            if len(fds) > 1:
                print(f"{args.name} K={K}: FD mean over generation seeds {np.mean(fds):.3f} (range {min(fds):.3f}-"
                      f"{max(fds):.3f}, {mode})", flush=True)
        labels = np.arange(n) % lay.n_classes
        acc = conditional_report(clf, generate(tr.dtm, n, K=K, labels=labels, seed=12).pixels, labels)
        print(f"{args.name} K={K}: label-clamped accuracy {acc.accuracy:.3f} ± {acc.se:.3f} "
              f"(training {t_train:.0f} s)", flush=True)
    for ks_text in (args.step_K.split("/") if args.step_K else []):
        ks = [int(k) for k in ks_text.split(",")]
        if len(ks) != tr.dtm.n_steps or min(ks) < 1:
            raise SystemExit(f"--step-K needs {tr.dtm.n_steps} positive sweep counts, got {ks_text!r}")
        fds = []
        for gs in gen_seeds:
            pix = _generate_per_step(tr.dtm, n, ks, prior, np.random.default_rng(gs), anneal=anneal)
            q = evaluate_samples(pix, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
            fds.append(q.fd.value)
            print(f"{args.name} step K={ks}: FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}] (generation seed {gs})",
                  flush=True)
        print(f"{args.name} step K={ks}: FD mean over generation seeds {np.mean(fds):.3f} (range {min(fds):.3f}-"
              f"{max(fds):.3f})", flush=True)
        if lay.n_label_bits:
            labels = np.arange(n) % lay.n_classes
            pix = _generate_per_step(tr.dtm, n, ks, prior, np.random.default_rng(12), labels, anneal)
            acc = conditional_report(clf, pix, labels)
            print(f"{args.name} step K={ks}: label-clamped accuracy {acc.accuracy:.3f} ± {acc.se:.3f}", flush=True)
    if args.baselines:
        q = evaluate_samples(fit_independent(tr.train.x).sample(n, rng), tr.test.x, clf, rng, n_boot=100,
                             fd_ci=args.fd_ci)
        print(f"independent pixels: FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")
        for k in (20, 50):
            for seed in (int(e) for e in args.em_seeds.split(",")):
                mrng = np.random.default_rng(seed)
                x = fit_bernoulli_mixture(tr.train.x, k, mrng).sample(n, mrng)
                q = evaluate_samples(x, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
                print(f"Bernoulli mixture {k} (EM seed {seed}): FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")
        q = evaluate_samples(tr.train.x, tr.test.x, clf, rng, n_boot=100, fd_ci=args.fd_ci)
        print(f"real-vs-real floor ({len(tr.train.x)} training digits): FD {q.fd.value:.3f} [{q.fd.lo:.3f}, {q.fd.hi:.3f}]")
    if args.diagnose:
        _diagnose(tr, clf, max(int(k) for k in args.K.split(",")), anneal=anneal)
    if args.memorization:
        prior_m = np.bincount(tr.train.y, minlength=lay.n_classes) / len(tr.train.y) if lay.n_label_bits else None
        dtm_x = generate(tr.dtm, n, K=max(int(k) for k in args.K.split(",")), seed=gen_seeds[0], class_prior=prior_m).pixels
        _memorization(tr, clf, {"DTM": dtm_x}, [int(e) for e in args.em_seeds.split(",")], n)


def _nearest_hamming(x: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Mean Hamming distance (pixels) from each row of ``x`` to its nearest row of ``ref``, and the fraction of
    exact copies."""
    a, b = (x > 0).astype(np.int32), (ref > 0).astype(np.int32)
    d = a.shape[1] - (a @ b.T + (1 - a) @ (1 - b).T)
    m = d.min(axis=1)
    return float(m.mean()), float(np.mean(m == 0))


def _memorization(tr, clf, samples: dict[str, np.ndarray], em_seeds: list[int], n: int) -> None:
    """Does a model copy its training digits? FD against the held-out and the training set, the distance to the
    nearest training digit; and the floor's dependence on the number of real digits compared (a perfect
    model's FD at ``m`` samples is about ``a + b / m``)."""
    xtr, xte = tr.train.x, tr.test.x
    ftr, fte = clf.features(xtr), clf.features(xte)
    rng = np.random.default_rng(0)
    h, c = _nearest_hamming(xte, xtr)
    print(f"memorization: held-out digits -> nearest training digit {h:.2f} pixels (copies {c:.3f})")
    sizes = [m for m in (len(xte), 2 * len(xte), len(xtr)) if m <= len(xtr)]
    fds = [float(np.mean([frechet_from_features(ftr[rng.permutation(len(xtr))[:m]], fte) for _ in range(5)]))
           for m in sizes]
    fit = ""
    if len(sizes) > 1:
        b = (fds[0] - fds[-1]) / (1 / sizes[0] - 1 / sizes[-1])
        a = fds[-1] - b / sizes[-1]
        fit = f"; fit a + b/m: a={a:.3f}, b={b:.0f} (a perfect model at {n} samples: {a + b / n:.3f})"
    print("memorization: real training digits vs held-out, m digits: " + ", ".join(
        f"m={m} FD {f:.3f}" for m, f in zip(sizes, fds)) + fit)
    models = dict(samples)
    for k in (20, 50):
        for seed in em_seeds:
            mrng = np.random.default_rng(seed)
            models[f"Bernoulli mixture {k} (EM seed {seed})"] = fit_bernoulli_mixture(xtr, k, mrng).sample(n, mrng)
    for name, x in models.items():
        f = clf.features(x)
        h_tr, c_tr = _nearest_hamming(x[:3000], xtr)
        print(f"memorization: {name}: FD vs held-out {frechet_from_features(f, fte):.3f}, vs training set "
              f"{frechet_from_features(f, ftr):.3f}; nearest training digit {h_tr:.2f} pixels (copies {c_tr:.3f})",
              flush=True)


def _retrain_steps(cfg: DTMConfig, base: Path, steps: list[int], out: Path):
    """Train ``steps`` of ``cfg`` afresh, the other steps from ``base/model.npz``; saved to ``out/model.npz``."""
    tr = load_dtm(cfg, base)
    lay, fp = tr.dtm.layout, tr.dtm.forward
    data = visible_data(lay, tr.train)
    new = {t: train_step(StepJob(t, lay, fp, data, cfg.train, cfg.sampler, None)).params for t in steps}
    dtm = DTM(lay, fp, tuple(new.get(t, sp) for t, sp in enumerate(tr.dtm.steps, start=1)), cfg.model)
    out.mkdir(parents=True, exist_ok=True)
    dtm.save(out / "model.npz")
    return dataclasses.replace(tr, dtm=dtm)


def _step_sweeps(text: str, T: int) -> list[tuple[int, int]]:
    """``"B:M,B:M,..."`` (step 1 first) as ``[(burn_in, measure), ...]`` for ``T`` steps."""
    try:
        pairs = [tuple(int(v) for v in item.split(":")) for item in text.split(",")]
    except ValueError:
        raise SystemExit(f"--step-train expects burn_in:measure per step, got {text!r}") from None
    if len(pairs) != T or any(len(p) != 2 or p[0] < 0 or p[1] < 1 for p in pairs):
        raise SystemExit(f"--step-train needs {T} burn_in:measure pairs (burn_in >= 0, measure >= 1), got {text!r}")
    return pairs  # type: ignore[return-value]


def _train_per_step(cfg: DTMConfig, sweeps: list[tuple[int, int]], out: Path):
    """Train every step of ``cfg`` with its own ``(burn_in, measure)``; saved to ``out/model.npz``."""
    train, test = prepare_data(cfg.data)
    lay = build_layout(cfg.model, train.n_pixels, train.n_classes)
    fp = ForwardProcess(cfg.forward, lay.n_pixels, lay.n_label_bits)
    data = visible_data(lay, train)
    steps, curves = [], {}
    for t, (b, m) in enumerate(sweeps, start=1):
        tc = dataclasses.replace(cfg.train, burn_in=b, measure=m)
        res = train_step(StepJob(t, lay, fp, data, tc, cfg.sampler, None))
        steps.append(res.params)
        curves[t] = res.curves
    dtm = DTM(lay, fp, tuple(steps), cfg.model)
    out.mkdir(parents=True, exist_ok=True)
    dtm.save(out / "model.npz")
    return TrainedDTM(dtm, curves, train, test)


def _run_steps(dtm: DTM, runner, x: np.ndarray, ks: list[int], start: int, rng: np.random.Generator,
               clamp: np.ndarray | None = None, anneal: list[tuple[float, int]] | None = None) -> np.ndarray:
    """Visible bits after running steps ``start .. 1`` from ``x = x^start``, step t with ``ks[t - 1]`` sweeps
    (nodes in the mask ``clamp`` keep their values, e.g. the label nodes of label-clamped samples). ``anneal``
    (``(beta, sweeps)`` stages, couplings and fields scaled by beta) replaces the first of each step's sweeps."""
    lay = dtm.layout
    for t in range(start, 0, -1):
        sp = dtm.steps[t - 1]
        state = (2 * rng.integers(0, 2, size=(len(x), lay.n_nodes), dtype=np.int8) - 1).astype(np.int8)
        state[:, lay.visible] = x
        fields = input_fields(lay, sp.h, sp.j_fwd, x)
        left = ks[t - 1]
        for beta, k in (anneal or []):
            k = min(k, left)
            state = runner.sweeps(runner.program(beta * sp.J_edge, beta * fields, clamp), state, k, rng)
            left -= k
        state = runner.sweeps(runner.program(sp.J_edge, fields, clamp), state, left, rng)
        x = state[:, lay.visible].copy()
    return x


def _generate_per_step(dtm: DTM, n: int, ks: list[int], prior, rng: np.random.Generator,
                       labels: np.ndarray | None = None, anneal: list[tuple[float, int]] | None = None) -> np.ndarray:
    """Pixels with per-step sweeps ``ks`` (step 1 first) from ``generate``'s start ``x^T``: unconditional, or
    with the label nodes clamped to ``labels``' codes."""
    lay = dtm.layout
    x = (2 * rng.integers(0, 2, size=(n, lay.n_visible), dtype=np.int8) - 1).astype(np.int8)
    clamp = None
    if labels is not None:
        x[:, lay.n_pixels:] = one_hot_spins(labels, lay.n_classes, lay.label_repeat)
        clamp = np.zeros(lay.n_nodes, dtype=bool)
        clamp[lay.visible[lay.n_pixels:]] = True
    elif lay.n_label_bits:
        keep = keep_probability(dtm.forward.cumulative_gamma_dt(dtm.n_steps))[lay.n_pixels:]
        y = rng.choice(lay.n_classes, size=n, p=prior)
        x[:, lay.n_pixels:] = noise_spins(one_hot_spins(y, lay.n_classes, lay.label_repeat), keep, rng)
    return _run_steps(dtm, make_runner(lay.graph, SamplerSpec()), x, ks, dtm.n_steps, rng, clamp,
                      anneal)[:, :lay.n_pixels]


def _fd_terms(f: np.ndarray, fr: np.ndarray) -> str:
    """Fréchet distance of features ``f`` to ``fr`` with its mean and covariance terms."""
    mean = float(np.sum((f.mean(0) - fr.mean(0)) ** 2))
    fd = frechet_from_features(f, fr)
    return f"FD {fd:.3f} (mean term {mean:.3f}, covariance term {fd - mean:.3f})"


def _diagnose(tr, clf, K: int, n: int = 10000, anneal: list[tuple[float, int]] | None = None) -> None:
    """Print the FD of chains started at real training digits noised to ``x^s``, run through steps s..1."""
    dtm, rng = tr.dtm, np.random.default_rng(5)
    lay, fp = dtm.layout, dtm.forward
    runner = make_runner(lay.graph, SamplerSpec())  # one sampler for every start (its streams follow the calls)
    fr = clf.features(tr.test.x)
    x0 = visible_data(lay, tr.train)[rng.integers(0, len(tr.train.x), n)]
    print(f"diagnose: the {n} real training digits themselves: {_fd_terms(clf.features(x0[:, :lay.n_pixels]), fr)}")
    for s in range(1, dtm.n_steps + 1):
        x = _run_steps(dtm, runner, fp.sample_marginal(x0, s, rng), [K] * dtm.n_steps, s, rng, anneal=anneal)
        print(f"diagnose: chain started at real x^{s}, steps {s}..1 (K={K}): "
              f"{_fd_terms(clf.features(x[:, :lay.n_pixels]), fr)}", flush=True)


if __name__ == "__main__":
    main()
