"""``pbitkit explore``: search a cell's design space on the predicted tier, write the Pareto front.

Thin layer: parses arguments, loads the space, builds the executor, attaches progress and a log file, and
calls :func:`pbitkit.explore.driver.run` and the report step. No numerics here.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from pbitkit.errors import ConfigError

__all__ = ["register", "cmd_explore"]

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  pbitkit explore --cell native_latch --out runs/explore-nl --budget 64 --workers 2
  pbitkit explore --cell native_latch --space my_space.toml --out runs/explore-nl --scheduler tcp://10.0.0.5:8786
  pbitkit explore --cell native_latch --out runs/explore-nl --budget 128     # resume, continue the search

Outputs in --out: designs.jsonl (every design as it finishes), designs.csv, front.csv, front.png, run.json,
pbitkit.log, breakdown.csv + breakdown.png + floor.json (every design's energy by part and the floor that
follows), explore_report.md; with --confirm K|all also confirm.csv, confirm/ (characterization runs) and
cards/ (one card per confirmed design); with --end-to-end K also endtoend.json and quality_vs_energy.png;
with --trim K|all also trim/ (each design's mismatch instances after per-cell trim).
Inside a pipeline run directory (--out RUN/explore) the pipeline's report includes the exploration.
Re-running the same command resumes (and continues with a larger --budget).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explore`` sub-command."""
    p = subparsers.add_parser(
        "explore", help="design-space exploration of a p-bit cell: predicted-tier search, Pareto front, confirmation",
        description="Search a cell's design space (TOML) on the fast predicted tier, keep the Pareto front of energy "
                    "per independent bit, correlation time, variation and area, confirm it with the transient tier.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", required=True, help="cell name (pbitkit cells)")
    p.add_argument("--space", type=Path, help="design space TOML (default: the shipped pbitkit/data/spaces/CELL.toml)")
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--budget", type=int, default=64, help="designs to evaluate besides the cell's default (64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the search (0)")
    p.add_argument("--initial", type=int, default=24, help="designs in the space-filling first round (24)")
    p.add_argument("--batch", type=int, default=12, help="designs per refinement round (12)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDR", help="run on a dask.distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--confirm", type=_count_or_all, default=0, metavar="K|all",
                   help="confirm the default and K front designs (lowest energy, then lowest tau, variation, area; "
                        "'all': the whole front) with the transient tier, save their cards (cards/) and report where "
                        "the tiers disagree")
    p.add_argument("--confirm-biases", type=int, default=9, metavar="N", dest="confirm_biases",
                   help="bias points per confirmed design, both tiers (9)")
    p.add_argument("--confirm-t-stop", type=float, default=None, metavar="S", dest="confirm_t_stop",
                   help="simulated time per transient point of the confirmation, s (default: the cell's, 60 us for "
                        "native_latch = 200 reads); the confirmation's budget is N biases x S per design")
    p.add_argument("--end-to-end", type=int, default=0, metavar="K", dest="end_to_end",
                   help="card -> chip -> calibration -> DTM -> FD and energy per sample for K confirmed designs "
                        "(needs --confirm >= K)")
    p.add_argument("--trim", type=_count_or_all, default=0, metavar="K|all",
                   help="variation after per-cell trim (native_latch: the core's n-well trim DAC) for the default and K "
                        "front designs (same order as --confirm; 'all': the whole front)")
    p.add_argument("--hardware-aware", choices=("auto", "always", "never"), default="auto", dest="hardware_aware",
                   help="end to end: also train the DTM hardware-aware on a design's chip when that chip is worse than "
                        "the ideal array (auto), for every design, or never")
    p.add_argument("--no-cache", action="store_true", help="evaluate every design again (no design cache)")
    p.add_argument("--overwrite", action="store_true", help="reuse --out even if it holds another exploration")
    p.set_defaults(func=cmd_explore)


def _count_or_all(text: str) -> int:
    """``--confirm``: a count >= 0, or ``all`` (every front design: returned as -1)."""
    if text == "all":
        return -1
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or 'all', got {text!r}") from None


def cmd_explore(args: argparse.Namespace) -> int:
    """Handler of ``pbitkit explore``."""
    from pbitkit.circuits.executors import dask_executor
    from pbitkit.cli import add_file_log
    from pbitkit.explore.driver import run
    from pbitkit.explore.endtoend import E2EConfig
    from pbitkit.explore.report import finish_run
    from pbitkit.explore.space import builtin_space_path, load_space
    from pbitkit.progress import tqdm_progress

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.scheduler and args.workers is not None:
        raise ConfigError("--workers applies to the local pool; with --scheduler the cluster decides")
    if args.budget < 0:
        raise ConfigError(f"--budget must be >= 0, got {args.budget}")
    if args.confirm_biases < 3:
        raise ConfigError(f"--confirm-biases must be >= 3 to fit a card, got {args.confirm_biases}")
    if args.confirm_t_stop is not None and not args.confirm_t_stop > 0:
        raise ConfigError(f"--confirm-t-stop must be > 0 s, got {args.confirm_t_stop}")
    if args.trim < -1:
        raise ConfigError(f"--trim takes a count >= 0 or 'all', got {args.trim}")
    if args.confirm < -1 or args.end_to_end < 0:
        raise ConfigError("--confirm takes a count >= 0 or 'all', --end-to-end a count >= 0")
    if args.confirm != -1 and args.end_to_end > args.confirm:
        raise ConfigError(f"--end-to-end {args.end_to_end} needs at least as many confirmed designs (--confirm)")
    space = load_space(args.space or builtin_space_path(args.cell))
    if space.cell != args.cell:
        raise ConfigError(f"--space {args.space} is a space of cell {space.cell!r}, not --cell {args.cell!r}")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a file; give a directory for the run")
    args.out.mkdir(parents=True, exist_ok=True)
    handler = add_file_log(str(args.out / "pbitkit.log"))
    executor = dask_executor(args.scheduler) if args.scheduler else None
    try:
        with tqdm_progress(f"explore {args.cell}") as progress:
            res = run(space, args.out, budget=args.budget, seed=args.seed, n_initial=args.initial, batch=args.batch,
                      executor=executor, workers=args.workers, progress=progress, use_cache=not args.no_cache,
                      overwrite=args.overwrite)
        confirm = int(res.front.sum()) if args.confirm == -1 else args.confirm
        trim = int(res.front.sum()) if args.trim == -1 else args.trim
        paths = finish_run(res, confirm=confirm, end_to_end=args.end_to_end, executor=executor,
                           workers=args.workers, confirm_biases=args.confirm_biases, trim=trim,
                           confirm_params={"t_stop_s": args.confirm_t_stop} if args.confirm_t_stop else None, e2e_config=E2EConfig(hardware_aware=args.hardware_aware),
                           command=" ".join(["pbitkit", *map(shlex.quote, sys.argv[1:])]))
    finally:
        if executor is not None:
            executor.shutdown()
        logging.getLogger().removeHandler(handler)
        handler.close()
    log.info("explore %s: %d designs (%d evaluated now), %d feasible, %d on the front; wrote %s", args.cell,
             len(res.designs), res.n_evaluated, int(res.feasible.sum()), int(res.front.sum()),
             ", ".join(str(p) for p in paths))
    return 0
