"""``pbitkit cells``: list the p-bit cells; ``pbitkit cells show NAME``: print a cell's netlist at its defaults.

Thin layer over the registry and each cell's metadata (:class:`pbitkit.circuits.cell_base.Cell`:
``topology``, ``noise_source``, ``noise_description``, ``all_transistor``, ``card``); the correlation time and energies come from
the cell's shipped characterization card (``pbitkit/data/<card>``: ``dynamics.tau_corr_s``,
``dynamics.sample_period_s``, ``energy.energy_per_bit_J``; the energy per independent bit is computed from them
as the table's ``energy_per_independent_bit_J``), never from numbers written here. A cell without a card is
listed as "not characterized".
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from pbitkit.errors import ConfigError, PbitkitError

__all__ = ["register", "cmd_cells", "cell_summary", "format_summary"]

EPILOG = """\
examples:
  pbitkit cells                       one line per cell: topology, noise source, tau, energy, all-transistor
  pbitkit cells show native_latch     the cell's netlist rendered at its defaults (tt, 27 C, centre bias)
  pbitkit cells show default          the same for the pipeline's default cell
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cells`` sub-command (with the optional ``show NAME``)."""
    p = subparsers.add_parser(
        "cells", help="list the p-bit cells (topology, noise source, tau, energy, all-transistor) or show one's netlist",
        description="List the registered p-bit cells, one line each, or print one cell's netlist rendered at its "
                    "defaults.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list",
                   help="'list' (default) or 'show NAME'")
    p.add_argument("name", nargs="?", help="the cell to show ('default': the pipeline's default cell)")
    p.set_defaults(func=cmd_cells)


def _card_values(card: str) -> dict[str, Any] | None:
    """tau and energies from a shipped card (``pbitkit/data/<card>``); None if the cell has no card."""
    from pbitkit.paths import data_dir

    if not card:
        return None
    path = Path(data_dir()) / card
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PbitkitError(f"cell card {path} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise PbitkitError(f"cell card {path}: expected a JSON object")
    from pbitkit.circuits.cell_base import independent_bit_energy

    dyn, en = data.get("dynamics") or {}, data.get("energy") or {}
    out = {"tau_corr_s": dyn.get("tau_corr_s"), "sample_period_s": dyn.get("sample_period_s"),
           "energy_per_bit_J": en.get("energy_per_bit_J"), "card": str(path)}
    for k in ("tau_corr_s", "sample_period_s", "energy_per_bit_J"):
        v = out[k]
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise PbitkitError(f"cell card {path}: {k} must be a finite number >= 0, got {v!r}")
    # energy per read x max(1, tau_int in reads), tau_int = 2 tau_corr / sample period (the table's definition)
    out["energy_per_independent_bit_J"] = independent_bit_energy(out["energy_per_bit_J"], out["tau_corr_s"],
                                                                 out["sample_period_s"])
    return out


def cell_summary(name: str) -> dict[str, Any]:
    """The listing of one cell: name, topology, noise source, all-transistor, whether it is the pipeline's
    default cell, and tau / energy per bit / energy per independent bit from its card (None when the cell
    has no card). ``name`` may be ``"default"`` (the summary then names the default cell)."""
    from pbitkit.circuits.registry import DEFAULT_CELL, get_cell, resolve_cell_name

    name = resolve_cell_name(name)
    cell = get_cell(name)
    vals = _card_values(getattr(cell, "card", ""))
    return {"name": name, "topology": getattr(cell, "topology", "") or cell.description,
            "noise_source": getattr(cell, "noise_source", "undeclared"),
            "noise_description": getattr(cell, "noise_description", ""),
            "all_transistor": bool(getattr(cell, "all_transistor", False)), "default": name == DEFAULT_CELL,
            "characterized": vals is not None, **(vals or {})}


def _eng(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    for scale, prefix in ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m")):
        if abs(v) < scale * 1000:
            return f"{v / scale:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def format_summary(s: dict[str, Any]) -> str:
    """One line of ``pbitkit cells``."""
    if s["characterized"]:
        nums = (f"tau {_eng(s['tau_corr_s'], 's')}, {_eng(s['energy_per_bit_J'], 'J')}/bit, "
                f"{_eng(s['energy_per_independent_bit_J'], 'J')}/independent bit")
    else:
        nums = "not characterized (no card)"
    return (f"{s['name']:<20} all-transistor: {'yes' if s['all_transistor'] else 'no ':<3}  {nums}  |  "
            f"{s['topology']}  |  noise: {s['noise_source']}"
            + (f" ({s['noise_description']})" if s["noise_description"] else "")
            + ("  |  the pipeline's default cell (`--cell default`)" if s.get("default") else ""))


def cmd_cells(args: argparse.Namespace) -> int:
    """Handler of ``pbitkit cells`` / ``pbitkit cells show NAME``."""
    from pbitkit.circuits.registry import get_cell, list_cells

    if args.action == "show":
        if not args.name:
            raise ConfigError("pbitkit cells show: name the cell, e.g. `pbitkit cells show native_latch`; "
                              f"known cells: {list_cells()}")
        print(get_cell(args.name).default_netlist(), end="")
        return 0
    if args.name:
        raise ConfigError(f"pbitkit cells: unexpected argument {args.name!r} (did you mean `cells show {args.name}`?)")
    for name in list_cells():
        print(format_summary(cell_summary(name)))
    return 0
