"""``pbitkit fit RUN_DIR`` and ``pbitkit export CARD --format json|csv|spice|pyspice``: parse, call the library, write."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pbitkit.errors import PbitkitError

__all__ = ["register", "shipped_card_path"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit`` and ``export`` sub-commands."""
    p = sub.add_parser("fit", help="fit a DeviceModel card to a characterization run",
                       description="Read RUN_DIR/characterization.csv (+ .json) written by `pbitkit characterize`; "
                                   "write device_card.json, fit_report.md, fit_params.csv, fit.json and fit_plots/*.png "
                                   "next to it (or into --out).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="characterization run directory (or the CSV file)")
    p.add_argument("--out", default=None, help="output directory (default: RUN_DIR)")
    p.add_argument("--link", choices=("auto", "logistic", "probit"), default="auto")
    p.add_argument("--cell", default="", help="cell to fit when the table holds several ('default': the "
                                                "pipeline's default cell)")
    p.add_argument("--corner", default="", help="nominal corner (default tt)")
    p.add_argument("--tier", default="transient", help="table tier to fit ('any' for all rows)")
    p.add_argument("--rate-form", choices=("auto", "exp", "constant_tau"), default="auto")
    p.add_argument("--size-columns", default="", help="comma-separated columns whose product is the device "
                                                         "area in um^2 (Pelgrom fit), e.g. param_w_um,param_l_um")
    p.add_argument("--clocked", choices=("auto", "yes", "no"), default="auto",
                   help="is the cell clocked (output changes only at clock edges)? auto-detected by default")
    p.add_argument("--no-n-eff", action="store_true", help="treat reads as independent (intervals too narrow)")
    p.add_argument("--no-plots", action="store_true")
    p.set_defaults(func=_cmd_fit)

    e = sub.add_parser("export", help="export a DeviceModel card as JSON, CSV or a SPICE macro-model",
                       description="Write CARD as json (validated copy), csv (parameter table) or spice (behavioural "
                                   "subcircuit library + seeded noise tables next to it).")
    e.add_argument("card", metavar="CARD", help="DeviceModel card (JSON), or a cell name for the card shipped with "
                                                "that cell ('default': the pipeline's default cell)")
    e.add_argument("--format", choices=("json", "csv", "spice", "pyspice"), required=True,
                   help="pyspice: a Python module with a PySpice SubCircuit + seeded noise tables next to it")
    e.add_argument("--out", default=None, help="output file (default: CARD with .json/.csv/.lib)")
    e.add_argument("--instances", type=int, default=1, help="spice: number of independent subcircuits")
    e.add_argument("--seed", type=int, default=0, help="spice: noise seed")
    e.add_argument("--t-stop", type=float, default=None, help="spice: longest transient (s) the noise covers "
                                                               "(default 1e4 tau)")
    e.set_defaults(func=_cmd_export)


def _cmd_fit(args: argparse.Namespace) -> int:
    from pbitkit.pbitmodel.fit import FitConfig
    from pbitkit.pbitmodel.run import fit_run
    from pbitkit.progress import tqdm_progress

    cfg = FitConfig(link=args.link, use_n_eff=not args.no_n_eff, tier=args.tier, cell=args.cell, corner=args.corner,
                    rate_form=args.rate_form, clocked=args.clocked,
                    size_columns=tuple(c.strip() for c in args.size_columns.split(",") if c.strip()))
    log.info("fitting %s", args.run_dir)
    with tqdm_progress("fit") as prog:
        res = fit_run(args.run_dir, args.out, cfg, plots=not args.no_plots, progress=prog)
    c = res.report.card  # type: ignore[union-attr]
    log.info("card %s: %s v0=%.6g V vs=%.4g V tau=%.3g s E/bit=%.3g J (variation sigma(v0)=%.3g V)",
             res.card_path, c.link, c.v0_V, c.vs_V, c.dynamics.tau_corr_s, c.energy.energy_per_bit_J, c.variation.v0_sigma_V)
    for n in res.report.notes:  # type: ignore[union-attr]
        log.info("note: %s", n)
    log.info("report %s", res.report_path)
    return 0


def shipped_card_path(name: str) -> Path:
    """The card shipped with the cell ``name`` (``pbitkit/data/<card>``; ``"default"``: the pipeline's default
    cell).

    Raises
    ------
    ConfigError
        For an unknown cell (listing the known ones).
    PbitkitError
        If the cell ships no card.
    """
    from pbitkit.circuits.registry import get_cell, resolve_cell_name
    from pbitkit.paths import data_dir

    cell = get_cell(name)
    card = getattr(cell, "card", "")
    if not card:
        raise PbitkitError(f"cell {resolve_cell_name(name)!r} ships no card: characterize it, `pbitkit fit` the run "
                           "and export its device_card.json")
    return Path(data_dir()) / card


def _cmd_export(args: argparse.Namespace) -> int:
    from pbitkit.pbitmodel.card import DeviceModel
    from pbitkit.pbitmodel.export import export_card

    ext = {"json": ".json", "csv": ".csv", "spice": ".lib", "pyspice": ".py"}[args.format]
    src = Path(args.card)
    if src.exists() or src.suffix.lower() == ".json" or len(src.parts) > 1:
        card = DeviceModel.load(src)
        default_out = src.with_suffix(ext)
    else:  # a cell name: its shipped card, written next to where the command runs (never into the package)
        from pbitkit.circuits.registry import resolve_cell_name

        card = DeviceModel.load(shipped_card_path(args.card))
        default_out = Path(f"{resolve_cell_name(args.card)}_card{ext}")
    out = Path(args.out) if args.out else default_out
    if args.format == "pyspice" and not args.out:  # an importable module name
        out = out.with_name("".join(c if c.isalnum() else "_" for c in out.stem).lstrip("0123456789") + "_pyspice.py")
    if args.format == "json" and out.resolve() == src.resolve() and not args.out:
        out = out.with_name(out.stem + "_export.json")
    if args.instances < 1:
        raise PbitkitError(f"--instances must be >= 1, got {args.instances}")
    kw = ({"n_instances": args.instances, "seed": args.seed, "t_stop_s": args.t_stop}
          if args.format in ("spice", "pyspice") else {})
    files = export_card(card, args.format, out, **kw)
    for f in files:
        log.info("wrote %s", f)
    return 0
