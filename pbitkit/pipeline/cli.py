"""``pbitkit pipeline``: the whole job end to end (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

__all__ = ["register"]

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  pbitkit pipeline --out runs/demo                      # the default run (both cells, all corners, DTM)
  pbitkit pipeline --quick --out runs/quick             # a small smoke run (~minutes)
  pbitkit pipeline --config pipeline.toml --out runs/x  # your own settings (see docs/pipeline.md)
  pbitkit pipeline --scheduler tcp://10.0.0.5:8786 --out runs/cluster
  pbitkit pipeline --print-config > pipeline.toml       # start from the defaults

Re-running the same command resumes: finished stages are reused. The report is OUT/report/report.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pipeline`` to the ``pbitkit`` parser."""
    p = sub.add_parser(
        "pipeline",
        help="characterize → fit → DTM on the array → report, end to end (what `make demo` runs)",
        description="Characterize the p-bit cells in ngspice (nominal, corners, Monte-Carlo mismatch), fit "
        "DeviceModel cards, train and evaluate a DTM on the device-aware array in ideal / device / calibrated / "
        "hardware-aware modes, and write one report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="runs/pipeline", help="run directory (default: runs/pipeline)")
    p.add_argument("--config", default=None, help="pipeline TOML config (default: built-in defaults)")
    p.add_argument("--quick", action="store_true", help="small smoke run: one cell, tt only, tiny DTM")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: every core)")
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address, e.g. tcp://host:8786")
    p.add_argument("--overwrite", action="store_true", help="re-run stages whose inputs changed in an existing --out")
    p.add_argument("--print-config", action="store_true", help="print the effective config as TOML and exit")
    p.set_defaults(func=_cmd_pipeline)


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from pbitkit.cli import add_file_log
    from pbitkit.config import dump_toml
    from pbitkit.pipeline.config import load_pipeline_config
    from pbitkit.pipeline.run import run_pipeline
    from pbitkit.progress import tqdm_progress

    cfg = load_pipeline_config(args.config, quick=args.quick)
    over = {}
    if args.workers is not None:
        over["workers"] = args.workers
    if args.scheduler is not None:
        over["scheduler"] = args.scheduler
    if over:
        cfg = dataclasses.replace(cfg, **over)
    if args.print_config:
        sys.stdout.write(dump_toml(cfg))
        return 0
    from pathlib import Path

    from pbitkit.errors import ConfigError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create the run directory: {exc.strerror or exc}") from exc
    add_file_log(str(Path(args.out) / "pbitkit.log"))
    with tqdm_progress("pipeline") as prog:
        res = run_pipeline(cfg, args.out, progress=prog, overwrite=args.overwrite)
    for name, rec in res.stages.items():
        log.info("%-24s %s %6.1f s  %s", name, "reused" if rec.reused else "ran   ", rec.wall_time_s, rec.path)
    log.info("report: %s", res.report)
    return 0
