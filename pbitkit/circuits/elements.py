"""Netlist element lines shared by every cell and testbench (pure text, no simulation).

* :func:`mos`: one MOSFET instance for a model library (sky130 subcircuit ``X...`` in µm, generic
  ``M...`` with ``u`` suffixes);
* :func:`mos_device`: one sky130 MOSFET of a named device role (low-Vt, native, ...);
* :func:`op_vector`: the ngspice vector name of an operating-point quantity of such a MOSFET;
* :func:`fmt_number`: how numbers are written into netlists (``%.9g``);
* :func:`mismatch_seed_lines`: the ``.options seed`` line of a Monte-Carlo mismatch instance;
* :func:`noise_injection_lines`: the seeded ``filesource`` noise-injection block (an XSPICE
  ``filesource`` reading unit-variance samples from ``noise_<tag>.txt``, a 1 GΩ-loaded sample node, and
  optionally the controlled source that injects the samples into a circuit node). Every cell
  (built-in and netlist cells) and the noise testbench render their noise through it.

Examples
--------
>>> fmt_number(1e-15)
'1e-15'
>>> noise_injection_lines("q", node="q")[0]
'Anq %vd([nzq 0]) fsnq'
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import filesource_model
from pbitkit.errors import ConfigError

__all__ = [
    "mos",
    "mos_device",
    "op_vector",
    "fmt_number",
    "mismatch_seed_lines",
    "netlist_header",
    "NoiseNames",
    "noise_injection_lines",
]


def fmt_number(x: float) -> str:
    """``x`` as written into a netlist: ``%.9g`` (nine significant digits)."""
    return f"{x:.9g}"


def mos(lib: ModelLibrary, name: str, d: str, g: str, s: str, b: str, kind: Literal["n", "p"],
        w_um: float, l_um: float) -> str:
    """One MOSFET instance line for ``lib`` (sky130 subcircuit ``X...`` in µm, generic ``M...`` in m).

    Parameters
    ----------
    lib : the model library (its ``instance_prefix`` and ``nfet``/``pfet`` model names).
    name : instance name without the prefix (``"N1"`` -> ``XN1`` or ``MN1``).
    d, g, s, b : drain, gate, source and bulk nodes.
    kind : ``"n"`` or ``"p"``.
    w_um, l_um : width and length (µm), both > 0.

    Raises
    ------
    ConfigError
        If ``w_um`` or ``l_um`` is not positive.
    """
    if w_um <= 0 or l_um <= 0:
        raise ConfigError(f"transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
    model = lib.nfet if kind == "n" else lib.pfet
    if lib.instance_prefix == "X":
        return f"X{name} {d} {g} {s} {b} {model} w={w_um:g} l={l_um:g}"
    return f"M{name} {d} {g} {s} {b} {model} W={w_um:g}u L={l_um:g}u"


def mos_device(lib: ModelLibrary, name: str, d: str, g: str, s: str, b: str, role: str, w_um: float,
               l_um: float) -> str:
    """One sky130 MOSFET instance of the device ``role`` (``"nfet"``, ``"pfet"``, ``"nfet_lvt"``,
    ``"pfet_lvt"``, ``"nfet_nvt"``: :meth:`ModelLibrary.device`), W and L in µm.

    Raises
    ------
    ConfigError
        If ``w_um`` or ``l_um`` is not positive, the library is not sky130 (subcircuit devices) or lacks
        the device.
    """
    if w_um <= 0 or l_um <= 0:
        raise ConfigError(f"transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
    if lib.instance_prefix != "X":
        raise ConfigError(f"transistor {name}: device {role!r} needs the sky130 library, got {lib.source}")
    return f"X{name} {d} {g} {s} {b} {lib.device(role)} w={w_um:g} l={l_um:g}"


def op_vector(lib: ModelLibrary, name: str, kind: Literal["n", "p"], quantity: str) -> str:
    """The ngspice vector of an operating-point quantity (``id``, ``gm``, ``gds``, ``vds``, ``cgg``...)
    of the MOSFET rendered by ``mos(lib, name, ..., kind, ...)``."""
    model = lib.nfet if kind == "n" else lib.pfet
    if lib.instance_prefix == "X":
        return f"@m.x{name.lower()}.m{model}[{quantity}]"
    return f"@m{name.lower()}[{quantity}]"


def mismatch_seed_lines(lib: ModelLibrary, mc_seed: int) -> list[str]:
    """The ``.options seed`` line of a mismatch instance (none for the nominal device, ``mc_seed < 0``).

    ngspice takes ``.options seed=0`` as "no seed" (draws differ run to run; measured), so mismatch seed
    ``k`` is rendered as ``seed=k+1``.
    """
    return [lib.seed_line(mc_seed + 1)] if mc_seed >= 0 else []


def netlist_header(lib: ModelLibrary, title: str, *, mc_seed: int, temp_C: float) -> list[str]:
    """The first lines of a cell's netlist: ``* pbitkit <title> (<library>)``, the model include, the
    mismatch seed (:func:`mismatch_seed_lines`) and ``.temp`` (degC)."""
    return [f"* pbitkit {title} ({lib.source})", lib.include_line, *mismatch_seed_lines(lib, mc_seed),
            f".temp {fmt_number(temp_C)}"]


@dataclasses.dataclass(frozen=True)
class NoiseNames:
    """Element and node names of one noise-injection block.

    ``instance`` is the XSPICE ``filesource`` instance, ``model`` its ``.model`` name, ``sample_node``
    the node carrying the unit-variance samples (loaded by ``load``), ``source`` the controlled source
    that injects them. Two naming schemes exist so that rendered netlists stay unchanged:
    :meth:`builtin` (``An<tag>``, ``fsn<tag>``, ``nz<tag>``, ``Rz<tag>``, ``Gn<tag>``) for the built-in
    cells and testbenches, :meth:`netlist` (``A_<tag>``, ``fs_<tag>``, ``nzf_<tag>``, ``RZ_<tag>``) for
    netlist cells, whose underscores keep them apart from the user's own element names.
    """

    instance: str
    model: str
    sample_node: str
    load: str
    source: str

    @classmethod
    def builtin(cls, tag: str) -> NoiseNames:
        return cls(f"An{tag}", f"fsn{tag}", f"nz{tag}", f"Rz{tag}", f"Gn{tag}")

    @classmethod
    def netlist(cls, tag: str) -> NoiseNames:
        return cls(f"A_{tag}", f"fs_{tag}", f"nzf_{tag}", f"RZ_{tag}", f"G_{tag}")


def noise_injection_lines(tag: str, *, node: str | None = None, gain: float = 0.0,
                          names: NoiseNames | None = None) -> list[str]:
    """The seeded noise-injection block reading ``noise_<tag>.txt``.

    The ``filesource`` drives the sample node (``v = u(t)``, the file's unit-variance samples, linearly
    interpolated) into a 1 GΩ load. With ``node``, a VCCS ``<source> 0 <node> <sample_node> 0 <gain>``
    injects the current ``i(t) = gain * u(t)`` (A) into ``node``; ``gain = 0`` leaves it to be set later
    with ``alter @<source>[gain] = sigma`` (``sigma = sqrt(S / (2 dt))`` for a one-sided PSD ``S``,
    :func:`pbitkit.circuits.noise.sigma_for_psd`). Without ``node`` only the sample node is rendered, for
    callers that filter or scale it themselves.

    Parameters
    ----------
    tag : the noise source's name (``noise_<tag>.txt`` is its file).
    node : circuit node the current is injected into (from ground), or ``None``.
    gain : VCCS gain (A per unit file sample); 0 is written as ``0``, others as ``%.6e``.
    names : element names (default :meth:`NoiseNames.builtin` of ``tag``).

    Returns
    -------
    list of netlist lines.
    """
    nm = names or NoiseNames.builtin(tag)
    lines = [
        f"{nm.instance} %vd([{nm.sample_node} 0]) {nm.model}",
        filesource_model(nm.model, f"noise_{tag}.txt"),
        f"{nm.load} {nm.sample_node} 0 1G",
    ]
    if node is not None:
        lines.append(f"{nm.source} 0 {node} {nm.sample_node} 0 {'0' if gain == 0 else f'{gain:.6e}'}")
    return lines
