"""``pbitkit dtm deep-baselines``: train the deep generative baselines and compare energy at equal FD.

Examples::

    pbitkit dtm deep-baselines --data digits --out runs/deep                      # ~10 min on 2 loaded cores
    pbitkit dtm deep-baselines --data digits --out runs/deep --dtm-results runs/dtm/evaluate/results.json
    pbitkit dtm deep-baselines --compare runs/deep/deep_baselines.json --dtm-results RES --out runs/cmp

Thin wrapper (no numerics): parses arguments, calls :mod:`pbitkit.dtm.deep_baselines` and
:mod:`pbitkit.dtm.deep_report`, writes ``deep_baselines.json``, ``report.md`` and ``fd_vs_energy.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from pbitkit.config import from_dict, load_toml, to_dict
from pbitkit.errors import ConfigError
from pbitkit.io import atomic_write_text, read_json
from pbitkit.progress import tqdm_progress
from pbitkit.rundir import open_run_dir

__all__ = ["register_deep"]

log = logging.getLogger(__name__)


def _ints(text: str | None, name: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}: expected comma-separated integers, got {text!r}") from exc


def _data_from(path: str) -> object:
    """The ``[data]`` table of a DTM training run (``RUN/run.json``), a DTM config TOML (``[data]``) or a
    pipeline config TOML (``[dtm.data]``), so the deep models see exactly the DTM's split."""
    from pbitkit.dtm.pipeline import DataConfig

    p = Path(path)
    if p.is_dir():
        if not (p / "run.json").exists():
            raise ConfigError(f"--data-from: {p} is a directory without run.json (give a `pbitkit dtm train` run)")
        cfg = read_json(p / "run.json").get("config") or {}
    elif p.exists():
        cfg = load_toml(p)
    else:
        raise ConfigError(f"--data-from: {p} not found")
    data = cfg.get("data") if "data" in cfg else (cfg.get("dtm") or {}).get("data")
    if not isinstance(data, dict):
        raise ConfigError(f"--data-from: {p} has no [data] or [dtm.data] table")
    return from_dict(DataConfig, data, where=f"{p.name} data")


def _dtm_points(path: str | None, modes: str) -> tuple[list[dict], list[dict], float | None]:
    if not path:
        return [], [], None
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"--dtm-results: {p} not found (the results.json of `pbitkit dtm evaluate`)")
    res = read_json(p)
    if "points" not in res:
        raise ConfigError(f"--dtm-results: {p} holds no 'points' (not a DTM evaluation results.json)")
    want = [m.strip() for m in modes.split(",") if m.strip()]
    pts = [q for q in res["points"] if q.get("mode") in want]
    if not pts:
        raise ConfigError(f"--dtm-results: no points of mode(s) {want} in {p}; "
                          f"present: {sorted({q.get('mode') for q in res['points']})}")
    floors = [q["fd_floor"]["value"] for q in pts if q.get("fd_floor")]
    ideal_T = {q["T"] for q in pts}
    dig = [r for r in res.get("digital", []) if r.get("T") in ideal_T]
    return pts, dig, (sum(floors) / len(floors) if floors else None)


def _cmd(args: argparse.Namespace) -> int:
    from pbitkit.cli import add_file_log
    from pbitkit.dtm.deep_baselines import DeepBaselineConfig, load_deep_results, run_deep_baselines
    from pbitkit.dtm.deep_report import deep_baselines_section, plot_fd_vs_energy
    from pbitkit.dtm.pipeline import DataConfig

    pts, dig, floor = _dtm_points(args.dtm_results, args.modes)
    if args.compare:
        from pbitkit.dtm.deep_report import merge_deep_results

        deep = merge_deep_results([load_deep_results(c) for c in args.compare])
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    else:
        cfg = DeepBaselineConfig() if not args.config else from_dict(DeepBaselineConfig, load_toml(args.config),
                                                                       where=Path(args.config).name)
        over = {k: v for k, v in (("vae_hidden", _ints(args.vae_hidden, "--vae-hidden")),
                                  ("diffusion_hidden", _ints(args.diffusion_hidden, "--diffusion-hidden")),
                                  ("diffusion_steps", _ints(args.steps, "--steps")),
                                  ("n_iter", args.n_iter), ("n_samples", args.n_samples)) if v is not None}
        if over:
            cfg = dataclasses.replace(cfg, **over)
        if args.data_from:
            data = _data_from(args.data_from)
        else:
            data = DataConfig(name=args.data, path=args.data_path, n_train=args.n_train or 0)
        rd = open_run_dir(args.out, kind="dtm-deep-baselines", config={"data": to_dict(data), "deep": to_dict(cfg)},
                          overwrite=True)
        add_file_log(str(rd / "pbitkit.log"))
        out = rd.path
        with tqdm_progress("deep baselines") as prog:
            res = run_deep_baselines(data, cfg, progress=prog)
        res.save(out / "deep_baselines.json")
        deep = load_deep_results(out / "deep_baselines.json")
    note = None
    if pts:
        from pbitkit.dtm.deep_report import comparable, sample_count_note, sample_count_problem

        res = read_json(Path(args.dtm_results))  # a hand-made results file without meta: counts only
        why = comparable(deep, res) if res.get("meta") else sample_count_problem(deep, res)
        if why:
            raise ConfigError(f"--dtm-results: {args.dtm_results} is not comparable with the deep result: {why}")
        note = sample_count_note(deep, res)
    fig = plot_fd_vs_energy(deep, out / "fd_vs_energy.png", pts, floor=floor)
    md = (["# Deep generative baselines", ""] + ([note, ""] if note else [])
          + deep_baselines_section(deep, pts, dig, figure=fig.name))
    atomic_write_text(out / "report.md", "\n".join(md) + "\n")
    log.info("wrote %s", out / "report.md")
    return 0


def register_deep(dsub: argparse._SubParsersAction) -> None:
    """Add ``deep-baselines`` to the ``pbitkit dtm`` sub-commands."""
    d = dsub.add_parser("deep-baselines",
                        help="train a VAE and a binary diffusion model (JAX; extra 'deep'), FD vs FLOPs and energy, "
                             "energy at equal FD vs a DTM evaluation")
    d.add_argument("--out", required=True, help="output directory (deep_baselines.json, report.md, fd_vs_energy.png)")
    d.add_argument("--data", default="digits", help="digits | mnist | fashion_mnist (the DTM's data names)")
    d.add_argument("--data-path", help="local dataset files (as `pbitkit dtm` [data] path)")
    d.add_argument("--n-train", type=int, help="use this many training examples (0/absent: all)")
    d.add_argument("--data-from", help="take the data split from a DTM run directory or a DTM / pipeline config "
                                       "TOML (overrides --data, --data-path, --n-train)")
    d.add_argument("--config", help="TOML with DeepBaselineConfig fields (vae_hidden, diffusion_steps, n_iter, ...)")
    d.add_argument("--vae-hidden", help="comma-separated VAE widths (empty string: no VAE)")
    d.add_argument("--diffusion-hidden", help="comma-separated denoiser widths (empty string: no diffusion)")
    d.add_argument("--steps", help="comma-separated reverse-step counts of the diffusion model")
    d.add_argument("--n-iter", type=int, help="training iterations per model")
    d.add_argument("--n-samples", type=int, help="generated samples per point")
    d.add_argument("--dtm-results", help="results.json of `pbitkit dtm evaluate` (or the pipeline's dtm_evaluate/) "
                                         "to compare at equal FD")
    d.add_argument("--modes", default="ideal", help="DTM modes to compare (comma-separated; default ideal)")
    d.add_argument("--compare", nargs="+", help="skip training: re-use these deep_baselines.json (several: "
                                                "merged, e.g. the two families run in two processes)")
    d.set_defaults(func=_cmd)
