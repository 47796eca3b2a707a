"""``pbitkit dtm train|sample|evaluate|config``: thin wrappers over :mod:`pbitkit.dtm` (no numerics here).

Examples::

    pbitkit dtm config > dtm.toml                 # the default config (digits, G12 16x16, T = 4)
    pbitkit dtm train --config dtm.toml --out runs/dtm
    pbitkit dtm sample --run runs/dtm --n 100 --K 20 --labels 0,1,2 --out samples.npz
    pbitkit dtm evaluate --run runs/dtm           # writes runs/dtm/evaluate/report.md + PNGs
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import numpy as np

from pbitkit.config import dump_toml, from_dict, load_toml, to_dict
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_save_npz, read_json
from pbitkit.progress import tqdm_progress
from pbitkit.rundir import open_run_dir

__all__ = ["register"]

log = logging.getLogger(__name__)


def _section(path: str, key: str) -> tuple[dict, str]:
    """The table a ``dtm`` command reads from ``path``: the whole file, or its ``[key]`` table when the file
    is a ``pbitkit pipeline`` config (e.g. ``configs/fashion_mnist.toml``: ``[dtm...]`` and ``[evaluate]``)."""
    data = load_toml(path)
    pipeline_keys = {"dtm", "evaluate", "characterize", "fit", "array_cell"}
    if pipeline_keys & set(data):
        return dict(data.get(key, {})), f"{Path(path).name} [{key}]"
    return data, Path(path).name


def _load_cfg(path: str | None):
    from pbitkit.dtm.pipeline import DTMConfig

    if path is None:
        return DTMConfig()
    data, where = _section(path, "dtm")
    return from_dict(DTMConfig, data, where=where)


def _run_cfg(run: str):
    from pbitkit.dtm.pipeline import DTMConfig

    rec = read_json(Path(run) / "run.json")
    if rec.get("kind") != "dtm-train":
        raise PbitkitError(f"{run} is not a 'dtm train' run directory (kind {rec.get('kind')!r})")
    return from_dict(DTMConfig, rec["config"], where=f"{run}/run.json")


def _cmd_config(args: argparse.Namespace) -> int:
    from pbitkit.dtm.pipeline import DTMConfig

    text = dump_toml(DTMConfig())
    if args.out:
        from pbitkit.io import atomic_write_text

        atomic_write_text(args.out, text)
    else:
        import sys

        sys.stdout.write(text)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pbitkit.cli import add_file_log
    from pbitkit.dtm.pipeline import train_dtm, variants

    cfg = _load_cfg(args.config)
    if args.workers:
        cfg = dataclasses.replace(cfg, workers=args.workers)
    if args.hardware_aware:
        cfg = dataclasses.replace(cfg, hardware_aware=True)
    rd = open_run_dir(args.out, kind="dtm-train", config=to_dict(cfg), overwrite=args.overwrite)
    add_file_log(str(rd / "pbitkit.log"))
    for name, (vcfg, sub) in variants(cfg).items():
        log.info("training %s (T=%d, sampler %s) into %s", name, vcfg.forward.n_steps, vcfg.sampler.label, rd.path / sub)
        with tqdm_progress(f"dtm train {name}") as prog:
            train_dtm(vcfg, rd.path / sub, progress=prog)
    log.info("trained model(s) in %s", rd.path)
    return 0


def _parse_ints(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"expected comma-separated integers, got {text!r}") from exc


def _mode_spec(cfg, mode: str, model: str = "main"):
    from pbitkit.dtm.runner import SamplerSpec

    if mode == "auto":  # the array a model was trained for
        return cfg.device if model == "hw_aware" else SamplerSpec()
    if mode == "ideal":
        return SamplerSpec()
    if mode == "device":
        return dataclasses.replace(cfg.device, calibrate=False)
    if mode == "device+cal":
        return dataclasses.replace(cfg.device, calibrate=True)
    raise ConfigError(f"--mode must be auto, ideal, device or device+cal; got {mode!r}")


def _cmd_sample(args: argparse.Namespace) -> int:
    from pbitkit.dtm.generation import generate
    from pbitkit.dtm.pipeline import load_dtm, variants

    cfg = _run_cfg(args.run)
    vs = variants(cfg)
    if args.model not in vs:
        raise ConfigError(f"--model {args.model!r} not trained in {args.run}; available: {sorted(vs)}")
    vcfg, sub = vs[args.model]
    tr = load_dtm(vcfg, Path(args.run) / sub)
    labels = _parse_ints(args.labels)
    lab = None if labels is None else np.resize(np.asarray(labels, dtype=np.int64), args.n)
    with tqdm_progress("dtm sample") as prog:
        g = generate(tr.dtm, args.n, K=args.K, labels=lab, sampler=_mode_spec(cfg, args.mode, args.model), seed=args.seed, progress=prog)
    out = Path(args.out) if args.out else Path(args.run) / f"samples_{args.model}_{args.mode}_K{args.K}.npz"
    atomic_save_npz(out, pixels=g.pixels, labels=g.labels, label_bits=g.label_bits, shape=np.array(tr.train.shape))
    if args.png:
        from pbitkit.dtm.plotting import plot_sample_grid

        plot_sample_grid(g.pixels[:100], tr.train.shape, out.with_suffix(".png"), title=f"{args.model} {args.mode} K={args.K}")
    log.info("wrote %d samples to %s", args.n, out)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from pbitkit.cli import add_file_log
    from pbitkit.dtm.evaluate import EvalConfig, run_evaluation

    cfg = _run_cfg(args.run)
    ecfg = EvalConfig()
    if args.config:
        edata, where = _section(args.config, "evaluate")
        ecfg = from_dict(EvalConfig, edata, where=where)
    over = {}
    if args.n_samples:
        over["n_samples"] = args.n_samples
    if args.K:
        over["K_values"] = tuple(_parse_ints(args.K) or ())
    if over:
        ecfg = dataclasses.replace(ecfg, **over)
    modes = [m.strip() for m in args.modes.split(",")] if args.modes else None
    rd = open_run_dir(Path(args.run) / "evaluate", kind="dtm-evaluate",
                      config={"evaluate": to_dict(ecfg), "modes": modes, "train_run": str(args.run)}, overwrite=True)
    add_file_log(str(rd / "pbitkit.log"))
    with tqdm_progress("dtm evaluate") as prog:
        md = run_evaluation(cfg, args.run, rd.path, ecfg, modes=modes, progress=prog)
    log.info("report: %s", md)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dtm`` and its sub-commands to the ``pbitkit`` parser."""
    p = sub.add_parser("dtm", help="train, sample and evaluate denoising thermodynamic models on the p-bit array")
    dsub = p.add_subparsers(dest="dtm_command", metavar="SUBCOMMAND")

    c = dsub.add_parser("config", help="print (or write) the default DTM config as TOML")
    c.add_argument("--out", help="write to this file instead of stdout")
    c.set_defaults(func=_cmd_config)

    t = dsub.add_parser("train", help="train a DTM (and its baselines) into a run directory")
    t.add_argument("--config", help="TOML config (default: built-in digits config; see `pbitkit dtm config`)")
    t.add_argument("--out", required=True, help="run directory (re-running resumes from checkpoints)")
    t.add_argument("--workers", type=int, help="process-pool workers for the per-step jobs")
    t.add_argument("--hardware-aware", action="store_true", help="also train on the [device] chip (hw_aware/)")
    t.add_argument("--overwrite", action="store_true", help="reuse a run directory that holds another config")
    t.set_defaults(func=_cmd_train)

    s = dsub.add_parser("sample", help="generate samples from a trained DTM")
    s.add_argument("--run", required=True, help="run directory of `pbitkit dtm train`")
    s.add_argument("--n", type=int, default=100, help="number of samples")
    s.add_argument("--K", type=int, default=20, help="Gibbs sweeps per denoising step")
    s.add_argument("--labels", help="comma-separated class labels to clamp (cycled over the samples)")
    s.add_argument("--mode", default="auto",
                   help="auto (the array the model was trained for) | ideal | device (uncalibrated chip) | device+cal")
    s.add_argument("--model", default="main", help="main | hw_aware | T1 | T<n> (extra_T)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", help="output .npz (default: in the run directory)")
    s.add_argument("--png", action="store_true", help="also save a sample grid PNG next to the .npz")
    s.set_defaults(func=_cmd_sample)

    e = dsub.add_parser("evaluate", help="quality vs energy report (Markdown + PNG) into RUN/evaluate/")
    e.add_argument("--run", required=True, help="run directory of `pbitkit dtm train`")
    e.add_argument("--config", help="TOML with EvalConfig fields (n_samples, K_values, n_boot, cpu_power_W, ...)")
    e.add_argument("--n-samples", type=int, help="samples per point")
    e.add_argument("--K", help="comma-separated sweeps of step 1, e.g. 5,10,20,40 (steps 2..T run the config's "
                               "K_later, default 5; K_later = 0: K on every step)")
    e.add_argument("--modes", help="comma-separated subset of ideal,device,device+cal,hw-aware,no-acp,no-acp+cal,T1,T<n>,T1+cal,T<n>+cal")
    e.set_defaults(func=_cmd_evaluate)

    from pbitkit.dtm.deep_cli import register_deep

    register_deep(dsub)

    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
