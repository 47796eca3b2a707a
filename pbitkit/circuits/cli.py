"""``pbitkit characterize``: simulate a p-bit cell over a sweep and write the characterization table.

Thin layer: parses arguments, builds the spec and the executor, attaches a progress bar and a log file,
and calls :func:`pbitkit.circuits.characterize.characterize`. No numerics here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

from pbitkit.errors import ConfigError, PbitkitError

__all__ = ["register", "cmd_characterize", "GENERATOR_FILE"]

#: The run directory's record of the supply generator's simulated share (cells with a generated supply).
GENERATOR_FILE = "supply_generator.json"

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  pbitkit characterize --cell default --quick --out runs/default-quick   (the pipeline's default cell)
  pbitkit characterize --cell strongarm --quick --out runs/sa-quick
  pbitkit characterize --cell latch --spec sweep.toml --workers 2 --out runs/latch
  pbitkit characterize --cell strongarm --scheduler tcp://10.0.0.5:8786 --out runs/sa

Outputs in --out: characterization.csv (one row per sweep point), characterization.json (provenance),
bits.npz (output bit sequences of the transient rows, keyed by the table's row_id), run.json,
pbitkit.log, plots/. Re-running the same command reuses cached sessions and retries failures.

Summary: the log ends with the nominal device's pooled correlation time and energy per independent bit at
P(1) ~ 0.5 (records with 0.2 <= P(1) <= 0.8; energy per read x max(1, tau_int)), counting the cell's own
supplies. For native_latch (the default cell) it then simulates the per-die core-supply generator (string DAC
+ native follower, one ngspice session, ~10 s of CPU) delivering the records' core supply to the
pipeline's default 16x16 array, and logs the energy per independent bit with the generator's share per cell
per read added: every part counted (its drain, reference and logic rails are port sources).
supply_generator.json in --out holds that record.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``characterize`` sub-command."""
    from pbitkit.circuits.registry import DEFAULT_CELL, DEFAULT_CELL_ALIAS, list_cells

    p = subparsers.add_parser(
        "characterize", help="simulate a p-bit cell in ngspice (sky130) and write a characterization table",
        description="Simulate a transistor-level p-bit cell over a sweep (bias x temperature x supply x corner "
                    "x mismatch seed) in ngspice and write the characterization table with provenance.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", required=True, choices=[DEFAULT_CELL_ALIAS, *list_cells()],
                   help=f"which cell to characterize ({DEFAULT_CELL_ALIAS!r} = {DEFAULT_CELL!r}, the pipeline's "
                        "default cell)")
    p.add_argument("--spec", type=Path, help="TOML sweep spec (default: the cell's default sweep)")
    p.add_argument("--quick", action="store_true",
                   help="small meaningful sweep: 9 bias points spanning the sigmoid, short simulations (seconds)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: every core)")
    p.add_argument("--scheduler", metavar="ADDR", help="run on a dask.distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", required=True, type=Path, help="run directory for the table, provenance and plots")
    p.add_argument("--runner", choices=["batch", "shared", "auto"], default=None,
                   help="how ngspice runs: batch (default: a subprocess per session), shared (libngspice in a "
                        "worker process via PySpice), auto (shared for DC/AC sessions, batch for "
                        "transients); overrides the spec's runner. Rows are the same either way")
    p.add_argument("--no-cache", action="store_true", help="simulate everything again (do not read or write the cache)")
    p.add_argument("--overwrite", action="store_true", help="reuse --out even if it holds a run with another spec")
    p.add_argument("--no-plots", action="store_true", help="do not draw plots")
    p.add_argument("--no-bits", action="store_true",
                   help="do not write bits.npz (the transient rows' output bit sequences; ~1 kB per row)")
    p.set_defaults(func=cmd_characterize)


def cmd_characterize(args: argparse.Namespace) -> int:
    """Handler of ``pbitkit characterize``."""
    from pbitkit.circuits.characterize import characterize
    from pbitkit.circuits.executors import dask_executor
    from pbitkit.circuits.registry import resolve_cell_name
    from pbitkit.circuits.sweep import default_spec, load_spec, quick_spec
    from pbitkit.cli import add_file_log
    from pbitkit.progress import tqdm_progress

    args.cell = resolve_cell_name(args.cell)
    if args.spec and args.quick:
        raise ConfigError("give either --spec or --quick, not both")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.scheduler and args.workers is not None:
        raise ConfigError("--workers applies to the local pool; with --scheduler the cluster decides")
    if args.spec:
        spec = load_spec(args.spec, cell=args.cell)
    elif args.quick:
        spec = quick_spec(args.cell)
    else:
        spec = default_spec(args.cell)
    if args.runner is not None:
        spec = dataclasses.replace(spec, runner=args.runner)
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} is a file; give a directory for the run")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {args.out}: cannot create the run directory: {exc.strerror}") from exc
    handler = add_file_log(str(args.out / "pbitkit.log"))
    executor = dask_executor(args.scheduler) if args.scheduler else None
    try:
        with tqdm_progress(f"characterize {args.cell}") as progress:
            res = characterize(spec, args.out, executor=executor, progress=progress, workers=args.workers,
                               use_cache=not args.no_cache, overwrite=args.overwrite, plot=not args.no_plots,
                               keep_bits=not args.no_bits)
        if executor is not None:
            executor.shutdown()
            executor = None
        log.info("wrote %s (%d rows, %d failed; %d sessions: %d cached, %d simulated; %.1f s wall)",
                 res.table_path, len(res.rows), res.n_failed, res.n_sessions, res.n_cached, res.n_simulated,
                 res.wall_time_s)
        _log_centre_energy(res)  # the summary goes to pbitkit.log too
        for r in res.failed_rows[:5]:
            log.warning("failed point bias_V=%s: %s", r.get("bias_V"), str(r.get("error")).splitlines()[0:1])
    finally:
        if executor is not None:
            executor.shutdown()
        logging.getLogger().removeHandler(handler)
        handler.close()
    return 0 if res.n_failed == 0 else 3


def _log_centre_energy(res: object) -> None:
    """Log the nominal device's pooled correlation time and energy per independent bit at P(1) ~ 1/2
    (:func:`pbitkit.circuits.bit_energy.centre_bit_energy`), when the run kept its bits and has >= 2 rows there."""
    from pbitkit.circuits.bit_energy import centre_bit_energy
    from pbitkit.circuits.bits import read_bits

    bits_path = getattr(res, "bits_path", None)
    if bits_path is None:
        return
    try:
        ce = centre_bit_energy(getattr(res, "rows"), read_bits(bits_path))
    except ValueError as exc:
        log.info("no pooled energy per independent bit at P(1) ~ 0.5: %s", exc)
        return
    log.info("%s (the cell's own supplies)", ce.summary())
    _log_generator_energy(ce, getattr(res, "out_dir", None))


def _log_generator_energy(ce: Any, out: Path | None) -> None:
    """For the cell whose core supply the per-die generator makes, log the energy per independent bit with the
    generator's simulated share added (:func:`~pbitkit.circuits.supply_gen.centre_energy_with_generator`) and
    write it to :data:`GENERATOR_FILE` in the run directory."""
    from pbitkit.circuits.supply_gen import SUPPLIED_CELL, centre_energy_with_generator
    from pbitkit.io import atomic_write_json

    if ce.cell != SUPPLIED_CELL:
        return
    try:
        cg = centre_energy_with_generator(ce)
    except PbitkitError as exc:
        log.warning("supply generator not simulated, so the energy per independent bit above leaves it out: %s", exc)
        return
    log.info("%s", cg.generator.summary())
    log.info("%s", cg.summary())
    if out is not None:
        atomic_write_json(Path(out) / GENERATOR_FILE, cg.to_dict())
