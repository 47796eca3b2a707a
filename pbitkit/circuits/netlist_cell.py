"""Data-driven p-bit cells: a SPICE netlist template plus a TOML description, no Python.

A netlist cell ``NAME`` is a pair of files in a cells directory (the shipped ``netlists/cells/`` or a
directory listed in ``$PBITKIT_CELLS``, colon-separated; user directories are searched first):

``NAME.cir``
    The cell and its testbench (supply, bias and clock sources) as a SPICE netlist **template**. No
    analysis, ``.control`` or ``.end``: pbitkit appends those. Placeholders ``{identifier}`` are replaced:

    ============== ====================================================================================
    ``{models}``   the model-library include line (required)
    ``{nfet}``     n-channel model name (``sky130_fd_pr__nfet_01v8`` / generic ``nfet``)
    ``{pfet}``     p-channel model name
    ``{fet}``      instance prefix: ``X`` (sky130 subcircuits) or ``M`` (generic ``.model`` cards)
    ``{um}``       length unit suffix for W/L: ``""`` for sky130 (``.option scale=1u``), ``"u"`` generic
    ``{vdd_V}``    supply voltage (V);  ``{temp_C}``: temperature (°C; ``.temp`` is also added)
    ``{bias_V}``   the first bias value (the session then ``alter``\\ s the bias source)
    ``{period_s}`` the sample / clock period (s); ``{half_period_s}`` half of it
    ``{<param>}``  every parameter of the TOML ``[params]`` table, e.g. ``{w_um}``
    ============== ====================================================================================

    A ``{identifier}`` that is not one of these raises :class:`~pbitkit.errors.ConfigError` naming the
    file, line and placeholder. SPICE brace expressions that are not a bare identifier (``{2*w}``,
    ``{ w }``) are left alone.

``NAME.toml``
    Its description (every key is checked; unknown keys raise naming the file and key)::

        description = "one line"
        vdd_V = 1.8                      # default supply
        bias_source = "Vb"               # V source whose DC value is the bias (altered per point)
        supply_source = "Vdd"            # V source whose current gives the energy
        clock_source = ""                # optional V source of the clock (its charge counts as energy)
        bias_range_V = [0.80, 0.95]      # default bias sweep, spanning P(1) ~ 0.02 ... 0.98
        [params]                         # defaults; numbers, sweep-overridable ([params] of a spec)
        w_um = 1.0
        [readout]
        mode = "clocked"                 # or "unclocked"
        outputs = ["outp", "outn"]       # one node: v(out) > threshold_V; two: v(a) > v(b)
        period_s = 10e-9                 # clock period / sample period
        read_phase = 0.95                # clocked: read at (k + read_phase) * period
        threshold_V = 0.9                # single output only (default vdd/2)
        hysteresis_V = 0.0               # unclocked: Schmitt width for flips / dwells
        n_samples = 400                  # bits per bias point (simulated time = n_samples * period)
        dt_s = 0.5e-9                    # transient max step and noise sample spacing (default period/20)
        [[noise]]                        # seeded white noise, any number of sources
        name = "in"
        node = "nin"                     # node it drives (must appear in the template)
        kind = "voltage"                 # "voltage": V source in series, node -> ref; "current": into node
        ref = "0"                        # voltage only: the other terminal
        psd = 1e-14                      # one-sided PSD (V^2/Hz or A^2/Hz) ... or instead:
        resistor_Ohm = 1e4               # Johnson noise of R at the point's temperature (4kTR or 4kT/R)
        gain = 100.0                     # amplitude gain applied to it (PSD x gain^2)
        f_lowpass_Hz = 50e6              # optional single-pole low-pass of the noise

    Numbers in ``[readout]`` and ``[[noise]]`` may instead be the *name of a parameter* (a string),
    so that a sweep spec can override them.

Measurements reuse the built-in cells' code (:mod:`pbitkit.circuits.measure` through
:func:`pbitkit.circuits.cell_base.bit_stats` / :func:`~pbitkit.circuits.cell_base.energy_columns`): P(1) with the n_eff-corrected Wilson interval,
``tau_corr_s``, flips and dwells (unclocked), energy per bit and per flip from the supply (plus the clock
source's delivered charge times ``vdd_V``); the output bits travel with each row under
:data:`pbitkit.circuits.bits.BITS_KEY` (``bits.npz``).

Predicted tier (for per-device bias centering): a noiseless transient in which the bias source steps
through a staircase (written as a ``PWL`` into the netlist), one value per period; ``V0`` is where the
noiseless bit turns from 0 to 1. Its rows give ``pred_v0_V`` and a threshold-only ``p1`` (0 or 1).

Reproducibility and caching: each point's noise files come from its own seed, derived from the sweep's
``noise_seed`` and the point's identity (:meth:`pbitkit.circuits.cell_base.SweepPoint.noise_seed_sequence`,
:func:`pbitkit.circuits.noise.session_noise_files`); the rendered netlist starts with the SHA-256 of the template
and of the TOML, so the row cache (keyed on the netlist text) misses when either file changes.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.bits import BITS_KEY, encode_bits
from pbitkit.circuits.cell_base import (
    N_FLIPS_KEY,
    Cell,
    JobMeta,
    SweepPoint,
    add_clock_energy,
    base_row,
    bit_stats,
    check_time_steps,
    default_library,
    energy_columns,
)
from pbitkit.circuits.elements import NoiseNames, fmt_number, mismatch_seed_lines, noise_injection_lines
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.ngspice import SimJob, SimResult, write_command
from pbitkit.circuits.noise import resistor_current_psd, resistor_voltage_psd, session_noise_files, sigma_for_psd
from pbitkit.circuits.predict import threshold_from_staircase
from pbitkit.errors import ConfigError
from pbitkit.io import sha256_bytes
from pbitkit.paths import netlists_dir

__all__ = [
    "CELLS_ENV",
    "NoiseSpec",
    "ReadoutSpec",
    "NetlistCellSpec",
    "NetlistCell",
    "cell_dirs",
    "discover",
    "load_netlist_cell",
    "parse_spec",
    "placeholders",
    "render_template",
    "render_noise",
    "render_cell",
    "noise_psd",
    "BUILTIN_PLACEHOLDERS",
    "PREDICTED_STEPS",
    "check_no_commands",
]

log = logging.getLogger(__name__)

#: Bias steps of the predicted tier's noiseless staircase (one per period).
PREDICTED_STEPS = 401

#: Environment variable with extra cell directories (colon-separated), searched before the shipped one.
CELLS_ENV = "PBITKIT_CELLS"

#: Placeholders every template may use besides its own parameters.
BUILTIN_PLACEHOLDERS: tuple[str, ...] = ("models", "nfet", "pfet", "fet", "um", "vdd_V", "temp_C", "bias_V",
                                         "period_s", "half_period_s")

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_FORBIDDEN = re.compile(r"^\s*\.(control|endc|end|tran|op|dc|ac|noise)\b", re.IGNORECASE)
#: Lines that make ngspice run commands: control blocks (``.control``/``.exec`` ... ``.endc``, whose
#: ``shell``, ``exec``, ``source``... run programs and scripts), a bare ``shell`` line, a control script.
_EXECUTING = re.compile(r"^\s*(\.(control|endc|exec)\b|shell\b|\*\s*ng_script)", re.IGNORECASE)
_INCLUDE_LINE = re.compile(r"""^\s*\.(include|inc|lib)\s+("[^"]*"|'[^']*'|\S+)(\s+\S+)?""", re.IGNORECASE)
#: How deep ``.include`` chains are followed when a netlist cell is checked.
MAX_INCLUDE_DEPTH = 16

Num = float | str  # a number, or the name of a parameter holding it


# --------------------------------------------------------------------------------------------------
# the description


@dataclasses.dataclass(frozen=True)
class NoiseSpec:
    """One seeded white-noise source (see the module docstring). Numbers may name a parameter."""

    name: str
    node: str
    kind: str = "current"
    ref: str = "0"
    psd: Num | None = None
    resistor_Ohm: Num | None = None
    gain: Num = 1.0
    f_lowpass_Hz: Num | None = None


@dataclasses.dataclass(frozen=True)
class ReadoutSpec:
    """How a bit is read (see the module docstring)."""

    mode: str
    outputs: tuple[str, ...]
    period_s: Num
    n_samples: Num = 400
    read_phase: Num = 0.95
    threshold_V: Num | None = None
    hysteresis_V: Num = 0.0
    dt_s: Num | None = None


@dataclasses.dataclass(frozen=True)
class NetlistCellSpec:
    """A parsed, validated netlist cell: its files, description and template."""

    name: str
    template_path: Path
    toml_path: Path
    template: str
    description: str
    vdd_V: float
    bias_source: str
    supply_source: str
    clock_source: str
    bias_range_V: tuple[float, float]
    params: dict[str, float]
    readout: ReadoutSpec
    noise: tuple[NoiseSpec, ...]
    template_sha256: str
    toml_sha256: str
    trusted_control: bool = False


_TOP_KEYS = {"description", "vdd_V", "bias_source", "supply_source", "clock_source", "bias_range_V", "params",
             "readout", "noise", "trusted_control"}
_READOUT_KEYS = {f.name for f in dataclasses.fields(ReadoutSpec)}
_NOISE_KEYS = {f.name for f in dataclasses.fields(NoiseSpec)}


def _err(path: Path, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{path}: key '{key}': {msg}")


def _num(path: Path, key: str, v: Any, params: Mapping[str, float], *, optional: bool = False) -> Num | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise _err(path, key, f"expected a number or the name of a parameter, got {v!r}")
    if isinstance(v, str):
        if v not in params:
            raise _err(path, key, f"{v!r} is not a parameter in [params] (known: {sorted(params)})")
        return v
    if not math.isfinite(v):
        raise _err(path, key, f"must be finite, got {v!r}")
    return float(v)


def _str(path: Path, key: str, v: Any) -> str:
    if not isinstance(v, str) or not v or any(c.isspace() for c in v):
        raise _err(path, key, f"expected a non-empty name without spaces, got {v!r}")
    return v


def placeholders(template: str) -> list[tuple[int, str]]:
    """``(line number, name)`` of every ``{identifier}`` placeholder in ``template`` (1-based lines)."""
    out = []
    for i, line in enumerate(template.splitlines(), start=1):
        out += [(i, m.group(1)) for m in _PLACEHOLDER.finditer(line)]
    return out


def _tokens(template: str) -> set[str]:
    """Lower-cased whitespace/paren-separated tokens of the template (node and element names)."""
    return {t.lower() for t in re.split(r"[\s()=,]+", _PLACEHOLDER.sub(" ", template)) if t}


def _elements(template: str) -> set[str]:
    """Lower-cased element names (first token of each non-comment line)."""
    out = set()
    for line in template.splitlines():
        s = line.strip()
        if s and not s.startswith(("*", ".", "+", ";", "$")):
            out.add(s.split()[0].lower())
    return out


def parse_spec(template_path: str | os.PathLike[str], toml_path: str | os.PathLike[str] | None = None,
               name: str | None = None) -> NetlistCellSpec:
    """Read and validate a netlist cell's ``.cir`` template and ``.toml`` description.

    Raises
    ------
    ConfigError
        Naming the file and key (or line) for: unreadable/invalid TOML, unknown or missing keys, wrong
        types, non-finite numbers, an unknown placeholder, a missing ``{models}``, an analysis or
        ``.end`` in the template, a bias/supply/clock source that is not in the template, an output or
        noise node that does not appear in the template, a bad readout mode or noise kind.
    """
    tp = Path(template_path)
    tpath = Path(toml_path) if toml_path is not None else tp.with_suffix(".toml")
    name = name or tp.stem
    if not _NAME.match(name):
        raise ConfigError(f"{tp}: cell name {name!r} must start with a letter and hold only letters, digits, _ or -")
    try:
        template = tp.read_text()
        raw = tpath.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read netlist cell {name!r}: {exc.filename}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{tpath}: invalid TOML: {exc}") from exc

    for k in data:
        if k not in _TOP_KEYS:
            raise _err(tpath, k, f"unknown key; allowed: {sorted(_TOP_KEYS)}")
    for k in ("bias_source", "supply_source", "bias_range_V", "readout"):
        if k not in data:
            raise _err(tpath, k, "missing (required)")
    params_raw = data.get("params", {})
    if not isinstance(params_raw, dict):
        raise _err(tpath, "params", "expected a table of numbers")
    params: dict[str, float] = {}
    for k, v in params_raw.items():
        if k in BUILTIN_PLACEHOLDERS or not k.isidentifier():
            raise _err(tpath, f"params.{k}", f"not a usable parameter name (reserved: {list(BUILTIN_PLACEHOLDERS)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _err(tpath, f"params.{k}", f"expected a finite number, got {v!r}")
        params[k] = float(v)
    vdd = data.get("vdd_V", 1.8)
    if isinstance(vdd, bool) or not isinstance(vdd, (int, float)) or not 0 < vdd <= 5:
        raise _err(tpath, "vdd_V", f"expected a supply in (0, 5] V, got {vdd!r}")
    br = data["bias_range_V"]
    if (not isinstance(br, list) or len(br) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                                         for x in br) or not br[0] < br[1]):
        raise _err(tpath, "bias_range_V", f"expected [low, high] volts with low < high, got {br!r}")
    trusted = data.get("trusted_control", False)
    if not isinstance(trusted, bool):
        raise _err(tpath, "trusted_control", f"expected true or false, got {trusted!r}")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise _err(tpath, "description", "expected a string")

    # readout
    ro = data["readout"]
    if not isinstance(ro, dict):
        raise _err(tpath, "readout", "expected a table")
    for k in ro:
        if k not in _READOUT_KEYS:
            raise _err(tpath, f"readout.{k}", f"unknown key; allowed: {sorted(_READOUT_KEYS)}")
    for k in ("mode", "outputs", "period_s"):
        if k not in ro:
            raise _err(tpath, f"readout.{k}", "missing (required)")
    if ro["mode"] not in ("clocked", "unclocked"):
        raise _err(tpath, "readout.mode", f"must be 'clocked' or 'unclocked', got {ro['mode']!r}")
    outs = ro["outputs"]
    if isinstance(outs, str):
        outs = [outs]
    if not isinstance(outs, list) or len(outs) not in (1, 2):
        raise _err(tpath, "readout.outputs", f"expected one node or two nodes [p, n], got {ro['outputs']!r}")
    outs = tuple(_str(tpath, "readout.outputs", o) for o in outs)
    if len(outs) == 2 and ro.get("threshold_V") is not None:
        raise _err(tpath, "readout.threshold_V", "applies to a single output only (two outputs compare v(p) > v(n))")
    readout = ReadoutSpec(
        mode=ro["mode"], outputs=outs,
        **{k: _num(tpath, f"readout.{k}", ro[k], params, optional=k in ("threshold_V", "dt_s"))
           for k in ("period_s", "n_samples", "read_phase", "threshold_V", "hysteresis_V", "dt_s") if k in ro})

    # noise
    noise_raw = data.get("noise", [])
    if not isinstance(noise_raw, list):
        raise _err(tpath, "noise", "expected an array of tables ([[noise]])")
    noise = []
    seen: set[str] = set()
    for j, nz in enumerate(noise_raw):
        where = f"noise[{j}]"
        if not isinstance(nz, dict):
            raise _err(tpath, where, "expected a table")
        for k in nz:
            if k not in _NOISE_KEYS:
                raise _err(tpath, f"{where}.{k}", f"unknown key; allowed: {sorted(_NOISE_KEYS)}")
        for k in ("name", "node"):
            if k not in nz:
                raise _err(tpath, f"{where}.{k}", "missing (required)")
        nm = _str(tpath, f"{where}.name", nz["name"])
        if not nm.isidentifier() or nm in seen:
            raise _err(tpath, f"{where}.name", f"must be a unique identifier, got {nm!r}")
        seen.add(nm)
        kind = nz.get("kind", "current")
        if kind not in ("current", "voltage"):
            raise _err(tpath, f"{where}.kind", f"must be 'current' or 'voltage', got {kind!r}")
        if ("psd" in nz) == ("resistor_Ohm" in nz):
            raise _err(tpath, f"{where}.psd", "give exactly one of 'psd' and 'resistor_Ohm'")
        if kind == "current" and "ref" in nz:
            raise _err(tpath, f"{where}.ref", "only voltage noise has a reference node")
        noise.append(NoiseSpec(
            name=nm, node=_str(tpath, f"{where}.node", nz["node"]), kind=kind,
            ref=_str(tpath, f"{where}.ref", nz.get("ref", "0")),
            **{k: _num(tpath, f"{where}.{k}", nz[k], params, optional=True)
               for k in ("psd", "resistor_Ohm", "gain", "f_lowpass_Hz") if k in nz}))

    # the template (and its includes) must not run commands unless the cell opts in
    if not trusted:
        check_no_commands(template, tp)
    for i, line in enumerate(template.splitlines(), start=1):
        if trusted and _EXECUTING.match(line):
            continue  # an opted-in control block: its commands are the cell author's code
        if _FORBIDDEN.match(line):
            raise ConfigError(f"{tp}: line {i}: {line.strip()!r}: the template holds the circuit only; pbitkit "
                              "adds the analysis, .control and .end")
    known = set(BUILTIN_PLACEHOLDERS) | set(params)
    for i, ph in placeholders(template):
        if ph not in known:
            raise ConfigError(f"{tp}: line {i}: unknown placeholder {{{ph}}}; known: {sorted(known)} "
                              "(write a SPICE brace expression with spaces, e.g. '{ x }')")
    if "models" not in {ph for _, ph in placeholders(template)}:
        raise ConfigError(f"{tp}: the template must include the model library with a '{{models}}' line")
    elements, tokens = _elements(template), _tokens(template)
    srcs = {}
    for key in ("bias_source", "supply_source", "clock_source"):
        v = data.get(key, "")
        if key == "clock_source" and v == "":
            srcs[key] = ""
            continue
        v = _str(tpath, key, v)
        if not v.lower().startswith("v") or v.lower() not in elements:
            raise _err(tpath, key, f"{v!r} is not a voltage source (V...) defined in {tp.name}")
        srcs[key] = v
    for node in (*outs, *(n.node for n in noise), *(n.ref for n in noise if n.kind == "voltage")):
        if node != "0" and node.lower() not in tokens:
            raise _err(tpath, "readout.outputs" if node in outs else "noise.node",
                       f"unknown node {node!r}: it does not appear in {tp.name}")
    if readout.mode == "unclocked" and srcs["clock_source"]:
        raise _err(tpath, "clock_source", "an unclocked readout has no clock")

    spec = NetlistCellSpec(
        name=name, template_path=tp, toml_path=tpath, template=template, description=desc, vdd_V=float(vdd),
        bias_source=srcs["bias_source"], supply_source=srcs["supply_source"], clock_source=srcs["clock_source"],
        bias_range_V=(float(br[0]), float(br[1])), params=params, readout=readout, noise=tuple(noise),
        template_sha256=sha256_bytes(template.encode()), toml_sha256=sha256_bytes(raw), trusted_control=trusted)
    return spec


def _include_target(line: str, base: Path) -> Path | None:
    """The file an ``.include``/``.inc``/``.lib file section`` line reads (relative paths: from ``base``),
    or None (not an include; a ``.lib name`` section header; a ``{placeholder}`` filled in by pbitkit)."""
    m = _INCLUDE_LINE.match(line)
    if m is None or (m.group(1).lower() == "lib" and m.group(3) is None):
        return None
    raw = m.group(2).strip("\"'")
    if not raw or _PLACEHOLDER.search(raw):
        return None
    p = Path(raw).expanduser()
    return p if p.is_absolute() else base / p


def check_no_commands(text: str, source: Path, *, _depth: int = 0, _seen: set[Path] | None = None) -> None:
    """Refuse netlist text that would make ngspice run commands, following its ``.include``/``.lib``
    files (recursively, up to :data:`MAX_INCLUDE_DEPTH` levels).

    A netlist cell is data unless its TOML says ``trusted_control = true``: its template and every file it
    includes may not hold ``.control``/``.exec``/``.endc`` blocks, ``shell`` lines or ``*ng_script``
    control scripts (``shell``, ``exec``, ``source`` in a control block run programs on this machine).

    Raises
    ------
    ConfigError
        Naming the file and line of the first executing construct, or an included file that cannot be
        read (it could not be checked).
    """
    seen = _seen if _seen is not None else set()
    for i, line in enumerate(text.splitlines(), start=1):
        if _EXECUTING.match(line):
            raise ConfigError(f"{source}: line {i}: {line.strip()[:80]!r}: netlist cells may not run ngspice commands "
                              "(.control/.exec blocks, shell); a cell whose author needs them is code and must say "
                              "so with trusted_control = true in its TOML (see docs/adding_a_cell.md)")
        target = _include_target(line, source.parent)
        if target is None:
            continue
        try:
            key = target.resolve()
        except OSError:
            key = target
        if key in seen:
            continue
        seen.add(key)
        if _depth >= MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{source}: line {i}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels")
        try:
            sub = target.read_text(errors="replace")
        except OSError as exc:
            raise ConfigError(f"{source}: line {i}: cannot read included file {target} to check it: "
                              f"{exc.strerror}") from exc
        check_no_commands(sub, target, _depth=_depth + 1, _seen=seen)


# --------------------------------------------------------------------------------------------------
# rendering (pure)


def _val(x: Num | None, p: Mapping[str, float]) -> float | None:
    if x is None:
        return None
    return float(p[x]) if isinstance(x, str) else float(x)


def render_template(template: str, values: Mapping[str, Any], *, source: str = "template") -> str:
    """Replace every ``{identifier}`` in ``template`` by ``values[identifier]`` (numbers as ``%.9g``).

    Braces that do not enclose a bare identifier are left as they are (SPICE expressions).

    Raises
    ------
    ConfigError
        For a placeholder without a value, naming ``source``, the line and the placeholder.
    """
    lines = []
    for i, line in enumerate(template.splitlines(), start=1):
        def sub(m: re.Match[str], i: int = i) -> str:
            k = m.group(1)
            if k not in values:
                raise ConfigError(f"{source}: line {i}: no value for placeholder {{{k}}}")
            v = values[k]
            return fmt_number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
        lines.append(_PLACEHOLDER.sub(sub, line))
    return "\n".join(lines) + "\n"


def noise_psd(n: NoiseSpec, p: Mapping[str, float], temp_C: float) -> float:
    """One-sided PSD of source ``n`` (V^2/Hz or A^2/Hz): ``psd * gain^2``, or Johnson noise of
    ``resistor_Ohm`` (``4 k T R`` for voltage, ``4 k T / R`` for current) times ``gain^2``."""
    g = _val(n.gain, p)
    if n.psd is not None:
        base = _val(n.psd, p)
    else:
        r = _val(n.resistor_Ohm, p)
        base = resistor_voltage_psd(r, temp_C) if n.kind == "voltage" else resistor_current_psd(r, temp_C)
    return base * g * g


def render_noise(noise: Sequence[NoiseSpec], p: Mapping[str, float], temp_C: float, dt_s: float) -> str:
    """Netlist lines of the noise sources (unit-variance ``filesource`` samples in ``noise_<name>.txt``).

    Without a low-pass: ``v_nz = sigma u(t)`` with ``sigma = sqrt(S / (2 dt))`` drives the source
    directly. With ``f_lowpass_Hz = f``: ``sigma u(t)`` is a current into ``1 Ohm || C`` (``C = 1/(2 pi f)``),
    whose voltage has PSD ``S / (1 + (f'/f)^2)``; that voltage drives the source. Voltage noise is a
    VCVS ``E<name> node ref`` (the node is ``ref`` + noise); current noise a VCCS from ground into
    ``node``.
    """
    lines = []
    for n in noise:
        s = noise_psd(n, p, temp_C)
        sig = sigma_for_psd(s, dt_s)
        ctl = f"nz_{n.name}"
        lines += noise_injection_lines(n.name, names=NoiseNames.netlist(n.name))
        f_lp = _val(n.f_lowpass_Hz, p)
        if f_lp is not None:
            lines += [f"GF_{n.name} 0 {ctl} nzf_{n.name} 0 {sig:.9e}",
                      f"RF_{n.name} {ctl} 0 1",
                      f"CF_{n.name} {ctl} 0 {fmt_number(1.0 / (2 * math.pi * f_lp))}"]
        else:
            lines.append(f"EF_{n.name} {ctl} 0 nzf_{n.name} 0 {sig:.9e}")
        if n.kind == "voltage":
            lines.append(f"E_{n.name} {n.node} {n.ref} {ctl} 0 1")
        else:
            lines.append(f"G_{n.name} 0 {n.node} {ctl} 0 1")
    return "\n".join(lines) + ("\n" if lines else "")


def _timing(spec: NetlistCellSpec, p: Mapping[str, float]) -> tuple[float, int, float]:
    period = _val(spec.readout.period_s, p)
    n = int(round(_val(spec.readout.n_samples, p)))
    dt = _val(spec.readout.dt_s, p) or period / 20
    rp = _val(spec.readout.read_phase, p)
    if not (period > 0 and 2 <= n <= 1e6 and dt > 0 and 0 < rp < 0.98):
        raise ConfigError(f"cell {spec.name}: need period_s > 0, 2 <= n_samples <= 1e6, dt_s > 0 and "
                          f"0 < read_phase < 0.98; got {period}, {n}, {dt}, {rp}")
    check_time_steps(spec.name, "readout n_samples * period_s / dt_s", n * period, dt)
    return period, n, dt


def render_cell(spec: NetlistCellSpec, lib: ModelLibrary, p: Mapping[str, float], *, vdd_V: float, temp_C: float,
                bias_V: float, mc_seed: int = -1, noise: bool = True) -> str:
    """The cell's circuit (template rendered, plus ``.temp``, the mismatch seed and, with ``noise``, the
    noise sources), without analysis. The first lines carry the template's and the TOML's SHA-256 (so the
    row cache, keyed on the netlist text, misses when either file changes)."""
    period, _, dt = _timing(spec, p)
    values: dict[str, Any] = dict(p)
    values.update(models=lib.include_line, nfet=lib.nfet, pfet=lib.pfet, fet=lib.instance_prefix,
                  um="" if lib.instance_prefix == "X" else "u", vdd_V=vdd_V, temp_C=temp_C, bias_V=bias_V,
                  period_s=period, half_period_s=period / 2)
    head = (f"* pbitkit netlist cell {spec.name} ({lib.source})\n"
            f"* template {spec.template_path.name} sha256={spec.template_sha256}\n"
            f"* description {spec.toml_path.name} sha256={spec.toml_sha256}\n")
    body = render_template(spec.template, values, source=str(spec.template_path))
    tail = [f".temp {fmt_number(temp_C)}", *mismatch_seed_lines(lib, mc_seed)]
    if noise:
        return head + body + "\n".join(tail) + "\n" + render_noise(spec.noise, p, temp_C, dt)
    # noiseless: voltage noise sources become 0 V (the node stays connected to its reference)
    tail += [f"V_{n.name} {n.node} {n.ref} 0" for n in spec.noise if n.kind == "voltage"]
    return head + body + "\n".join(tail) + "\n"


def _with_pwl(netlist: str, source: str, pwl: Sequence[float]) -> str:
    """``netlist`` with the value of V source ``source`` replaced by ``PWL(t0 v0 t1 v1 ...)`` (nodes kept;
    continuation lines of the original source line dropped). ngspice's ``alter @v[pwl]`` silently
    truncates long vectors (measured with ngspice 39), so the staircase is written into the netlist."""
    out: list[str] = []
    skipping = False
    for line in netlist.splitlines():
        toks = line.split()
        if skipping and line.lstrip().startswith("+"):
            continue
        skipping = False
        if toks and toks[0].lower() == source.lower():
            out.append(f"{toks[0]} {toks[1]} {toks[2]} PWL(")
            out += [f"+ {fmt_number(pwl[i])} {fmt_number(pwl[i + 1])}" for i in range(0, len(pwl), 2)]
            out.append("+ )")
            skipping = True
            continue
        out.append(line)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# the cell


class NetlistCell(Cell):
    """A p-bit cell defined by a netlist template and a TOML description (see the module docstring).

    Implements the cell protocol of ``docs/contracts.md``: ``transient`` tier, one ngspice session per device
    (group of points differing in bias) looping over the bias values with ``alter``; ``predicted`` tier, a
    noiseless bias staircase (:meth:`_predicted_job`).
    """

    def __init__(self, spec: NetlistCellSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.description = spec.description or f"netlist cell {spec.template_path}"
        self.default_vdd_V = spec.vdd_V
        self.defaults = dict(spec.params)

    def __repr__(self) -> str:
        return f"NetlistCell({self.name!r}, {str(self.spec.template_path)!r})"

    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        self.params(params)  # validate names
        return self.spec.bias_range_V

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The template rendered at the defaults (tt, 27 °C, centre of the bias range, noise sources on)."""
        lo, hi = self.spec.bias_range_V
        return render_cell(self.spec, library or default_library("tt", False), self.params(),
                           vdd_V=self.default_vdd_V, temp_C=27.0, bias_V=(lo + hi) / 2)

    def check_params(self, p: Mapping[str, float]) -> None:
        _timing(self.spec, p)  # period, sample count, step and read phase in range

    def _vectors(self) -> list[str]:
        s = self.spec
        vecs = [f"v({o})" for o in s.readout.outputs] + [f"i({s.supply_source.lower()})"]
        if s.clock_source:
            vecs.append(f"i({s.clock_source.lower()})")
        return vecs

    def _check_includes(self) -> None:
        """Check the template's included files again (they may have changed since the cell was read)."""
        if not self.spec.trusted_control:
            check_no_commands(self.spec.template, self.spec.template_path)

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        self._check_includes()
        s = self.spec
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        period, n, dt = _timing(s, p)
        t_stop = n * period
        circuit = render_cell(s, lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=pts[0].bias_V,
                              mc_seed=pts[0].mc_seed)
        # each point its own noise realization (seeded from noise_seed and the point's identity)
        files, pre = session_noise_files([nz.name for nz in s.noise], [pt.noise_seed_sequence() for pt in pts],
                                         dt, int(math.ceil(t_stop / dt))) if s.noise else ({}, [[]] * len(pts))
        ctl = [".control"]
        for pt, cp in zip(pts, pre, strict=True):
            ctl += [*cp, f"alter {s.bias_source.lower()} dc={fmt_number(pt.bias_V)}",
                    f"tran {fmt_number(dt)} {fmt_number(t_stop)} 0 {fmt_number(dt)}",
                    write_command(self._vectors())]
        ctl += [".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p)  # content, not location: the netlist holds the files' SHA-256
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", files=files, timeout_s=timeout_s,
                      label=meta.label, meta=meta)

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        """Noiseless staircase transient: the bias steps through ``PREDICTED_STEPS`` values spanning the
        points' bias range, one value per period (changed right after each read), and the decision
        threshold ``V0`` is where the noiseless bit turns from 0 to 1
        (:func:`pbitkit.circuits.predict.threshold_from_staircase`)."""
        self._check_includes()
        s = self.spec
        p = self.params(pts[0].params)
        vdd = self.supply(pts)
        period, _, dt = _timing(s, p)
        rp = _val(s.readout.read_phase, p)
        biases = [pt.bias_V for pt in pts]
        lo, hi = min(biases), max(biases)
        if hi - lo <= 0:
            w = s.bias_range_V[1] - s.bias_range_V[0]
            lo, hi = lo - w, hi + w
        steps = np.linspace(lo, hi, PREDICTED_STEPS)
        pwl = [0.0, float(steps[0])]
        for k in range(1, steps.size):  # change after the read of period k-1, ramp over 1 % of a period
            t0 = (k - 1 + rp + 0.005) * period
            pwl += [t0, float(steps[k - 1]), t0 + 0.01 * period, float(steps[k])]
        circuit = _with_pwl(render_cell(s, lib, p, vdd_V=vdd, temp_C=pts[0].temp_C, bias_V=float(steps[0]),
                                        mc_seed=pts[0].mc_seed, noise=False), s.bias_source, pwl)
        ctl = [".control", f"tran {fmt_number(dt)} {fmt_number(steps.size * period)} 0 {fmt_number(dt)}",
               write_command([f"v({o})" for o in s.readout.outputs]), ".endc", ".end"]
        meta = JobMeta.from_points(pts, vdd, p, stair=steps.tolist())
        return SimJob(netlist=circuit + "\n".join(ctl) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        """Rows of the predicted tier: ``pred_v0_V`` (noiseless decision threshold) and ``p1`` = the
        noiseless decision (0 below ``V0``, 1 above, 1/2 at it): a threshold-only prediction (the
        noise of a netlist cell is not propagated analytically)."""
        p = meta.params
        period, _, _ = _timing(self.spec, p)
        tr = result.plots[0]
        t = np.real(tr["time"])
        v, thr = self._output(tr, p, meta.vdd_V)
        steps = np.asarray(meta.extra["stair"])
        tk = (np.arange(steps.size) + _val(self.spec.readout.read_phase, p)) * period
        bits = (np.interp(tk, t, v) > thr).astype(np.uint8)
        v0 = threshold_from_staircase(steps, bits)
        rows = []
        for b in meta.bias_V:
            row = base_row(meta, float(b))
            row.update(p1=float(0.5 * (1 + np.sign(b - v0))) if math.isfinite(v0) else math.nan,
                       pred_v0_V=v0, sample_period_s=period, sim_time_s=0.0,
                       cpu_time_s=result.cpu_time_s / len(meta.bias_V))
            if not math.isfinite(v0):
                row.update(status="failed", error="decision threshold outside the predicted-tier staircase")
            rows.append(row)
        return rows

    def _output(self, tr: Mapping[str, np.ndarray], p: Mapping[str, float], vdd: float) -> tuple[np.ndarray, float]:
        """The readout signal (V) and its threshold: ``v(p) - v(n)`` vs 0, or ``v(out)`` vs ``threshold_V``."""
        ro = self.spec.readout
        v = np.real(tr[f"v({ro.outputs[0]})"])
        if len(ro.outputs) == 2:
            return v - np.real(tr[f"v({ro.outputs[1]})"]), 0.0
        return v, (_val(ro.threshold_V, p) if ro.threshold_V is not None else vdd / 2)

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        s = self.spec
        p = meta.params
        period, n, _ = _timing(s, p)
        vdd = meta.vdd_V
        ro = s.readout
        rows = []
        for k, bias in enumerate(meta.bias_V):
            tr = result.plots[k]
            row = base_row(meta, bias)
            t = np.real(tr["time"])
            v, thr = self._output(tr, p, vdd)
            if ro.mode == "clocked":
                tk = (np.arange(n) + _val(ro.read_phase, p)) * period
                bits = (np.interp(tk, t, v) > thr).astype(np.uint8)
                row.update(bit_stats(bits, period))
                row[BITS_KEY] = encode_bits(bits, period)
            else:
                # P(1) and tau from the plain threshold; flips and dwells from a Schmitt trigger of width
                # hysteresis_V (when > 0), so that noise re-crossings of the threshold are not counted as flips
                sampled = measure.sample_waveform(t, v, period)[:n]
                bits = measure.binarize(sampled, thr)
                hyst = _val(ro.hysteresis_V, p)
                flips = measure.binarize(sampled, thr, hyst) if hyst > 0 else bits
                row.update(bit_stats(bits, period, flips))
                row["flip_hysteresis_V"] = hyst
                row[BITS_KEY] = encode_bits(bits, period, flips, hyst)
            es = measure.energy_split(t, -np.real(tr[f"i({s.supply_source.lower()})"]), vdd)
            n_bits = row["n_samples"]
            if s.clock_source:
                es = add_clock_energy(row, es, t, tr[f"i({s.clock_source.lower()})"], vdd, n_bits)
            row.update(energy_columns(es, n_bits, row.get(N_FLIPS_KEY, 0)))
            row.pop(N_FLIPS_KEY, None)
            row.update(sample_period_s=period, sim_time_s=float(t[-1]),
                       cpu_time_s=result.cpu_time_s / len(meta.bias_V))
            rows.append(row)
        return rows


# --------------------------------------------------------------------------------------------------
# discovery


def cell_dirs() -> list[Path]:
    """Directories searched for netlist cells: ``$PBITKIT_CELLS`` (colon-separated, in order), then the
    shipped ``netlists/cells``.

    Raises
    ------
    PbitkitError
        If the shipped netlist tree cannot be found (see :func:`pbitkit.paths.netlists_dir`).
    """
    out = [Path(d) for d in os.environ.get(CELLS_ENV, "").split(os.pathsep) if d.strip()]
    out.append(netlists_dir() / "cells")  # a missing netlist tree is an error naming it, not "unknown cell"
    return out


def discover() -> dict[str, Path]:
    """``{name: template path}`` of every netlist cell (a ``NAME.cir`` with a ``NAME.toml`` next to it) in
    :func:`cell_dirs`. The first directory that defines a name wins. A directory in ``$PBITKIT_CELLS``
    that does not exist is skipped with a warning (so that a typo there does not break every command)."""
    found: dict[str, Path] = {}
    for d in cell_dirs():
        if not d.is_dir():
            log.warning("$%s: cell directory %s does not exist (skipped)", CELLS_ENV, d)
            continue
        for toml in sorted(d.glob("*.toml")):
            cir = toml.with_suffix(".cir")
            if cir.is_file():
                found.setdefault(toml.stem, cir)
    return found


@functools.lru_cache(maxsize=64)
def _load(path: str, mtimes: tuple[int, int]) -> NetlistCell:  # noqa: ARG001 - mtimes key the memo
    return NetlistCell(parse_spec(path))


def load_netlist_cell(path: str | os.PathLike[str]) -> NetlistCell:
    """The :class:`NetlistCell` of the template ``path`` (its ``.toml`` next to it), re-read when either
    file changes."""
    p = Path(path)
    try:
        mt = (p.stat().st_mtime_ns, p.with_suffix(".toml").stat().st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"cannot read netlist cell {p}: {exc.strerror}") from exc
    return _load(str(p), mt)
