"""``pbitkit array ...``: sample an Ising model on a (device-aware) p-bit array, calibrate, benchmark.

Thin layer: parses arguments, builds the library objects, writes files, logs. No numerics here.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.array.graphs import GRID_PATTERNS
from pbitkit.errors import ConfigError

log = logging.getLogger(__name__)

GRAPH_CHOICES = [*GRID_PATTERNS, "square", "king"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``array sample`` and ``array bench`` to the ``pbitkit`` command."""
    p = subparsers.add_parser("array", help="sample on the p-bit array simulator; benchmark it",
                              description="Device-aware p-bit array simulator (docs/array.md).")
    sub = p.add_subparsers(dest="array_command", metavar="ARRAY_COMMAND")

    s = sub.add_parser("sample", help="sample an Ising model on a grid graph and write moments and a summary")
    s.add_argument("--graph", choices=GRAPH_CHOICES, default="G12", help="connectivity (default G12)")
    s.add_argument("--size", "-L", type=int, default=16, help="grid side L (L x L cells, default 16)")
    s.add_argument("--open", action="store_true", help="open boundaries instead of a torus")
    s.add_argument("--coupling", "-J", type=float, default=0.25, help="uniform coupling J on every edge")
    s.add_argument("--random-couplings", type=float, default=0.0, metavar="SIGMA",
                   help="add N(0, SIGMA) to every coupling (seeded)")
    s.add_argument("--couplings", type=Path, help=".npz with J_edge (E,) and optional h (N,) for this graph")
    s.add_argument("--field", "-H", type=float, default=0.0, help="uniform field h")
    s.add_argument("--beta", type=float, default=1.0)
    s.add_argument("--chains", type=int, default=16)
    s.add_argument("--sweeps", type=int, default=1000)
    s.add_argument("--burn-in", type=int, default=100)
    s.add_argument("--thin", type=int, default=1)
    s.add_argument("--mode", choices=["ideal", "device", "async"], default="ideal")
    s.add_argument("--card", type=Path, help="DeviceModel JSON card (device/async modes)")
    s.add_argument("--v0-sigma", type=float, help="override: cell offset spread (V)")
    s.add_argument("--tau", type=float, help="override: correlation time (s)")
    s.add_argument("--update-interval", type=float, help="time between reads of a cell (s)")
    s.add_argument("--weight-bits", type=int, help="weight DAC bits (default: ideal DAC)")
    s.add_argument("--bias-bits", type=int, help="bias DAC bits (default: ideal DAC)")
    s.add_argument("--calibrate", action="store_true", help="calibrate the chip's offsets before sampling")
    s.add_argument("--chip-seed", type=int, default=0, help="seed of the chip's variation draw")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--save-samples", action="store_true", help="also write samples.npz (T x C x N int8)")
    s.add_argument("--out", type=Path, required=True, help="run directory")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(func=cmd_sample)

    b = sub.add_parser("bench", help="throughput benchmark (vs thrml when installed)")
    b.add_argument("--graphs", nargs="+", default=["G12_70x70_torus", "ising_128x128_torus"])
    b.add_argument("--chains", nargs="+", type=int, default=[1, 64, 1024])
    b.add_argument("--modes", nargs="+", default=["ideal", "device"], choices=["ideal", "device"])
    b.add_argument("--no-thrml", action="store_true", help="skip thrml even if installed")
    b.add_argument("--min-time", type=float, default=1.0, help="seconds per timed call")
    b.add_argument("--out", type=Path, help="write the results JSON here")
    b.set_defaults(func=cmd_bench)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _graph(args: argparse.Namespace):
    from pbitkit.array import grid_graph, king_graph, square_lattice

    periodic = not args.open
    if args.graph == "square":
        return square_lattice(args.size, periodic=periodic)
    if args.graph == "king":
        return king_graph(args.size, periodic=periodic)
    return grid_graph(args.size, args.graph, periodic=periodic)


def _hardware(args: argparse.Namespace, n: int):
    from pbitkit.array import DacSpec, DeviceStats, HardwareConfig, from_device_model, make_hardware

    over: dict[str, Any] = {}
    if args.v0_sigma is not None:
        over["v0_sigma_V"] = args.v0_sigma
    if args.tau is not None:
        over["tau_corr_s"] = args.tau
    if args.card is not None:
        from pbitkit.pbitmodel import DeviceModel

        stats = from_device_model(DeviceModel.load(args.card), **over)
    else:
        stats = DeviceStats(**over)
    cfg = HardwareConfig(
        weight_dac=DacSpec(bits=args.weight_bits), bias_dac=DacSpec(bits=args.bias_bits),
        update_interval_s=args.update_interval,
    )
    return make_hardware(n, stats, cfg, seed=args.chip_seed)


def cmd_sample(args: argparse.Namespace) -> int:
    from pbitkit.array import sample
    from pbitkit.array.calibration import calibrate
    from pbitkit.array.diagnostics import energy, integrated_autocorr_time, magnetization
    from pbitkit.array.ledger import ledger
    from pbitkit.cli import add_file_log
    from pbitkit.io import atomic_save_npz, atomic_write_json
    from pbitkit.rundir import open_run_dir

    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("func", "out", "overwrite")}
    run = open_run_dir(args.out, kind="array-sample", config=config, overwrite=args.overwrite)
    add_file_log(str(run / "pbitkit.log"))
    g = _graph(args)
    rng = np.random.default_rng(args.seed)
    if args.couplings is not None:
        try:
            data = np.load(args.couplings)
        except OSError as exc:
            raise ConfigError(f"cannot read couplings file {args.couplings}: {exc}") from exc
        if "J_edge" not in data:
            raise ConfigError(f"{args.couplings}: missing array 'J_edge'")
        J = g.check_edge_values(data["J_edge"])
        h = np.asarray(data["h"], dtype=float) if "h" in data else np.full(g.n_nodes, args.field)
    else:
        J = np.full(g.n_edges, args.coupling) + args.random_couplings * rng.standard_normal(g.n_edges)
        h = np.full(g.n_nodes, args.field)
    hw = None
    summary: dict[str, Any] = {"graph": g.name, "n_nodes": g.n_nodes, "n_edges": g.n_edges, "mode": args.mode}
    if args.mode in ("device", "async") or args.calibrate:
        hw = _hardware(args, g.n_nodes)
        if args.calibrate:
            cal = calibrate(g, hw, beta=args.beta, seed=rng)
            hw = cal.hardware
            summary["calibration"] = cal.summary()
            log.info("calibration: marginal spread %.3f -> %.3f", cal.spread_before, cal.spread_after)
        summary["ledger"] = ledger(g, hw, n_sweeps_per_sample=args.thin).to_dict()
    log.info("sampling %s, %d chains x %d sweeps, mode %s", g.name, args.chains, args.sweeps, args.mode)
    s = sample(J, h, graph=g, beta=args.beta, n_chains=args.chains, n_sweeps=args.sweeps, burn_in=args.burn_in,
               thin=args.thin, mode=args.mode, hardware=hw if args.mode != "ideal" else None, seed=rng)
    m = magnetization(s)
    e = energy(s, g, J, h) / g.n_nodes
    a, b = g.edges.T
    atomic_save_npz(run / "moments.npz", m1=s.mean(axis=(0, 1)), m2=(s[:, :, a] * s[:, :, b]).mean(axis=(0, 1)),
                    magnetization=m, energy_per_spin=e, J_edge=J, h=h, edges=g.edges)
    if args.save_samples:
        atomic_save_npz(run / "samples.npz", samples=s)
    summary.update({
        "n_samples": int(s.shape[0]), "n_chains": int(s.shape[1]),
        "mean_abs_magnetization": float(np.abs(m).mean()), "energy_per_spin": float(e.mean()),
        "tau_int_energy_sweeps": integrated_autocorr_time(e) * args.thin,
        "tau_int_magnetization_sweeps": integrated_autocorr_time(m) * args.thin,
    })
    atomic_write_json(run / "summary.json", summary)
    log.info("energy per spin %.4f, <|m|> %.4f; wrote %s", summary["energy_per_spin"],
             summary["mean_abs_magnetization"], run.path)
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, dict)}, indent=1))  # noqa: T201
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pbitkit.array.bench import run_benchmarks
    from pbitkit.io import atomic_write_json
    from pbitkit.progress import tqdm_progress

    with tqdm_progress("array bench") as prog:
        res = run_benchmarks(args.graphs, args.chains, args.modes, thrml=not args.no_thrml,
                             min_time_s=args.min_time, progress=prog)
    for r in res["results"]:
        print(f"{r['graph']:24s} C={r['n_chains']:5d} {r['sampler']:15s} {r['updates_per_s'] / 1e6:10.1f} M updates/s")  # noqa: T201
    for r in res["ratios"]:
        print(json.dumps(r))  # noqa: T201
    if args.out:
        atomic_write_json(args.out, res)
        log.info("wrote %s", args.out)
    return 0
