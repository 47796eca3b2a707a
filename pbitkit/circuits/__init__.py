"""circuits: transistor-level p-bit cells characterized in ngspice (see ``docs/circuits.md``).

Python API in one breath::

    from pbitkit.circuits import characterize, quick_spec
    result = characterize(quick_spec("strongarm"), "runs/sa-quick")   # table + provenance + plots
    result.rows[0]["p1"], result.table_path

Lower levels: :mod:`~pbitkit.circuits.ngspice` (the one ngspice adapter: ``SimJob`` -> ``run`` ->
``SimResult``), :mod:`~pbitkit.circuits.models` (sky130 slim libraries, generic card),
:mod:`~pbitkit.circuits.sweep` (TOML specs), :mod:`~pbitkit.circuits.executors` (process pool / dask),
:mod:`~pbitkit.circuits.cache`, :mod:`~pbitkit.circuits.bits` (``bits.npz``: raw output bits), and the
the cell layer: :mod:`~pbitkit.circuits.cell_base` (``Cell``, ``SweepPoint``, ``JobMeta``, row helpers),
:mod:`~pbitkit.circuits.elements` (netlist element lines), :mod:`~pbitkit.circuits.builtin` (one module per
built-in cell), :mod:`~pbitkit.circuits.netlist_cell` (cells from netlist files),
:mod:`~pbitkit.circuits.registry` (``get_cell``/``list_cells`` over every family),
:mod:`~pbitkit.circuits.testbenches`, :mod:`~pbitkit.circuits.measure`, :mod:`~pbitkit.circuits.noise`,
:mod:`~pbitkit.circuits.predict` (predicted-tier math) and :mod:`~pbitkit.circuits.centering`.
"""

from typing import TYPE_CHECKING

from pbitkit.lazy import lazy_package

if TYPE_CHECKING:  # the exports; imported on first use (pbitkit.lazy)
    from pbitkit.circuits.bits import BitRecord, read_bits
    from pbitkit.circuits.cell_base import SweepPoint
    from pbitkit.circuits.characterize import CharacterizationResult, characterize, read_table
    from pbitkit.circuits.executors import dask_executor, local_executor
    from pbitkit.circuits.models import ModelLibrary, generic_library, get_library, sky130_library
    from pbitkit.circuits.ngspice import SimJob, SimResult, ngspice_version, run
    from pbitkit.circuits.registry import get_cell, list_cells
    from pbitkit.circuits.sweep import SweepSpec, default_spec, expand, load_spec, quick_spec


__all__ = [
    "characterize",
    "CharacterizationResult",
    "read_table",
    "read_bits",
    "BitRecord",
    "SweepSpec",
    "load_spec",
    "quick_spec",
    "default_spec",
    "expand",
    "SweepPoint",
    "get_cell",
    "list_cells",
    "local_executor",
    "dask_executor",
    "ModelLibrary",
    "get_library",
    "sky130_library",
    "generic_library",
    "SimJob",
    "SimResult",
    "run",
    "ngspice_version",
]

lazy_package(__name__)
