"""Export a DeviceModel card's macro-model as a PySpice subcircuit (``pbitkit export CARD --format pyspice``).

The macro-model is the one of :mod:`pbitkit.pbitmodel.export` (an ideal comparator on the bias plus
seeded noise redrawn at the cell's own events, latched; ``P(out high)`` is the card's sigmoid and the
output's correlation time the card's ``tau``). Here it is written as a **standalone Python module** that
needs only PySpice, plus the seeded noise tables next to it::

    pbitkit export card.json --format pyspice --out pbit_cell.py --instances 2
    # writes pbit_cell.py, pbit_cell_noise0.txt, pbit_cell_noise1.txt

and in the user's own PySpice testbench::

    from pbit_cell import PbitMacroModel
    circuit.subcircuit(PbitMacroModel(0))            # subcircuit "pbit0", ports (bias, out)
    circuit.X("p0", "pbit0", "bias_node", "out_node")

The subcircuit's resistors, capacitors and behavioural sources are PySpice elements; the XSPICE
``filesource`` that plays the noise table (and its ``.model`` card) is raw SPICE in the subcircuit,
because PySpice 1.5 has no typed API for XSPICE code models. Element for element it is the SPICE
export's subcircuit (:func:`pbitkit.pbitmodel.export.spice_macromodel`), and the noise tables are
identical for the same ``seed``. Simulate it with a transient whose maximum step is at most
:func:`pbitkit.pbitmodel.export.tran_step` (written into the module as ``MAX_STEP_S``), for at most
``T_STOP_S`` (how far the tables reach).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from pbitkit.errors import ConfigError
from pbitkit.io import atomic_write_text
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.export import macromodel_noise, spice_macromodel, tran_step

__all__ = ["pyspice_module_source", "export_pyspice", "spice_number"]

_NOISE = "PBK_NOISE_FILE"  # placeholder for the noise-table path in the rendered subcircuit text
_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUMBER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(meg|[tgkmunpf])?$", re.IGNORECASE)


def spice_number(text: str) -> float:
    """A SPICE number (``1G``, ``1e-12``, ``2.5meg``, ``10k``) as a float.

    Raises
    ------
    ValueError
        If ``text`` is not a SPICE number.
    """
    m = _NUMBER.match(text.strip())
    if not m:
        raise ValueError(f"not a SPICE number: {text!r}")
    return float(m.group(1)) * (_SUFFIX[m.group(2).lower()] if m.group(2) else 1.0)


def _element_calls(body: list[str]) -> tuple[list[str], list[str]]:
    """PySpice calls (source lines) for the R/C/B elements and the raw SPICE lines of ``body``."""
    calls: list[str] = []
    raw: list[str] = []
    for line in body:
        kind = line[0].upper()
        if kind in "AM" or line.startswith("."):
            raw.append(line)
            continue
        name, n1, n2, rest = line.split(None, 3)
        nodes = ", ".join("self.gnd" if n == "0" else repr(n) for n in (n1, n2))
        if kind in "RC":
            calls.append(f"self.{kind}({name[1:]!r}, {nodes}, {spice_number(rest)!r})")
        elif kind == "B":
            q, _, expr = rest.partition("=")
            key = {"V": "voltage_expression", "I": "current_expression"}[q.strip().upper()]
            calls.append(f"self.B({name[1:]!r}, {nodes}, {key}={expr.strip()!r})")
        else:
            raise ValueError(f"macro-model line not translatable to PySpice: {line!r}")
    return calls, raw


def pyspice_module_source(card: DeviceModel, noise_files: list[str], *, name: str = "pbit",
                          t_stop_s: float, seed: int = 0) -> str:
    """Source of a standalone Python module defining ``PbitMacroModel(instance)``, a PySpice
    ``SubCircuit`` named ``<name><instance>`` with ports ``bias`` and ``out``. Pure: no files written.

    Parameters
    ----------
    card
        The fitted card.
    noise_files
        File names of the instances' noise tables, relative to the module's directory.
    name
        Subcircuit name prefix.
    t_stop_s, seed
        Recorded in the module (``T_STOP_S``: the tables' length, s; the noise seed).
    """
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ValueError(f"subcircuit name prefix must be an identifier, got {name!r}")
    text = spice_macromodel(card, "PBK_NAME", _NOISE)
    lines = text.splitlines()
    comments = [ln[1:].strip() for ln in lines if ln.startswith("*")]
    start = next(i for i, ln in enumerate(lines) if ln.startswith(".subckt"))
    end = next(i for i, ln in enumerate(lines) if ln.startswith(".ends"))
    if lines[start].split()[2:] != ["bias", "out"]:
        raise ValueError(f"unexpected macro-model ports: {lines[start]!r}")
    calls, raw = _element_calls(lines[start + 1: end])
    body = "\n".join(f"        {c}" for c in calls)
    # the comments become a docstring: escape so that no text can close it (data never executes)
    doc = "\n".join(f"    {c}" for c in comments).replace("\\", "\\\\").replace('"', '\\"')
    return f'''"""PySpice subcircuits of a pbitkit p-bit macro-model (written by `pbitkit export --format pyspice`).

{doc}

Usage in a PySpice testbench (the noise tables must stay next to this file)::

    from {{this module}} import PbitMacroModel
    circuit.subcircuit(PbitMacroModel(0))            # subcircuit "{name}0", ports (bias, out)
    circuit.X("p0", "{name}0", "bias_node", "out_node")
    simulator.transient(step_time=MAX_STEP_S, end_time=..., max_time=MAX_STEP_S)   # end_time <= T_STOP_S

Instances differ only in their noise table (independent seeded streams). PySpice's shared mode needs
ngspice's shared library: set NGSPICE_LIBRARY_PATH to libngspice.so.0 if PySpice does not find it.
"""

from pathlib import Path

from PySpice.Spice.Netlist import SubCircuit

HERE = Path(__file__).resolve().parent
NOISE_FILES = {noise_files!r}
MAX_STEP_S = {tran_step(card)!r}
T_STOP_S = {float(t_stop_s)!r}
NOISE_SEED = {int(seed)!r}
RAW_SPICE = {chr(10).join(raw)!r}


class PbitMacroModel(SubCircuit):
    """The macro-model's instance ``instance`` as subcircuit ``{name}<instance>`` (ports bias, out)."""

    NODES = ("bias", "out")

    def __init__(self, instance=0, noise_file=None):
        super().__init__(f"{name}{{instance}}", *self.NODES)
        path = str(Path(noise_file) if noise_file is not None else HERE / NOISE_FILES[instance])
        if any(c.isspace() or c == '"' for c in path):
            raise ValueError(f"ngspice's filesource cannot read a path with spaces or quotes: {{path!r}}")
        self.raw_spice = RAW_SPICE.replace("{_NOISE}", path)
{body}


def subcircuits():
    """Every exported instance, ``[PbitMacroModel(0), PbitMacroModel(1), ...]``."""
    return [PbitMacroModel(i) for i in range(len(NOISE_FILES))]
'''


def export_pyspice(card: DeviceModel, path: str | os.PathLike[str], *, n_instances: int = 1,
                   t_stop_s: float | None = None, seed: int = 0, name: str = "pbit") -> list[Path]:
    """Write the module ``path`` (``.py``) and its noise tables ``<stem>_noise<i>.txt`` next to it.

    Same noise tables as :func:`pbitkit.pbitmodel.export.export_spice` with the same ``seed``,
    ``n_instances`` and ``t_stop_s`` (default ``10^4 tau``). Returns every file written, module first.
    """
    p = Path(path)
    if p.suffix != ".py" or not p.stem.isidentifier():
        raise ConfigError(f"--out: the PySpice export must be a .py file with an importable name, got {str(p)!r}")
    if int(n_instances) < 1:
        raise ConfigError(f"--instances: must be >= 1, got {n_instances!r}")
    t_stop = 1e4 * card.dynamics.tau_corr_s if t_stop_s is None else float(t_stop_s)
    streams = np.random.SeedSequence(seed).spawn(int(n_instances))
    names = [f"{p.stem}_noise{i}.txt" for i in range(int(n_instances))]
    written = [atomic_write_text(p.with_name(f), macromodel_noise(card, t_stop, np.random.default_rng(ss)))
               for f, ss in zip(names, streams)]
    written.insert(0, atomic_write_text(p, pyspice_module_source(card, names, name=name, t_stop_s=t_stop, seed=seed)))
    return written
