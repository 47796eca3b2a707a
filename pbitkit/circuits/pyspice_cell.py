"""PySpice cells: a p-bit cell written as a PySpice ``Circuit``, characterized like every pbitkit cell.

A PySpice cell ``NAME`` is a pair of files in a cells directory (a directory of ``$PBITKIT_CELLS`` or the
shipped ``netlists/cells/``):

``NAME.py``
    Defines ``circuit(p, ctx)``: the cell and its testbench sources as a PySpice ``Circuit`` for the
    parameters ``p`` (a dict of the ``[params]`` of the TOML, after sweep overrides) and the
    :class:`CircuitContext` ``ctx`` (supply ``ctx.vdd_V``, temperature ``ctx.temp_C``, first bias value
    ``ctx.bias_V``, readout period ``ctx.period_s``, and ``ctx.mos(circuit, name, d, g, s, b, kind, w_um,
    l_um, device=None)``, which adds a transistor of the sweep's model library; ``device`` names another
    of its devices, e.g. sky130 ``"nfet_nvt"`` or ``"pfet_lvt"``). No analyses: pbitkit adds the model
    library, ``.temp``, the mismatch seed, the seeded noise sources and the analyses.
``NAME.toml``
    A netlist cell's description (:mod:`pbitkit.circuits.netlist_cell`): which V source is the bias input
    (``bias_source``), which the supply (``supply_source``) and the clock (``clock_source``), the output
    node(s) and how a bit is read (``[readout]``), the default parameters (``[params]``) and the seeded
    noise sources (``[[noise]]``: white current or voltage noise at a node, given as a PSD or as the
    Johnson noise of a resistor times a gain, optionally low-passed) — plus one key of its own:
    ``noisy_transistors = ["N1", "P1", ...]`` (names as given to ``ctx.mos``), the transistors whose
    **channel noise** pbitkit injects: for every transient point, an ``.op`` at the point's bias gives
    each listed transistor's ``I_D`` and ``V_DS``, and a seeded white current noise of one-sided PSD
    ``S = 2 q |I_D| coth(|V_DS| / 2 U_T)`` (:func:`pbitkit.circuits.noise.channel_noise_psd`, the
    subthreshold form, which tends to ``4 k T g_ds`` at ``V_DS -> 0``) flows between its drain and source,
    sampled every readout ``dt_s`` (the same noise files and seeding as the ``[[noise]]`` sources).

pbitkit then treats it as a netlist cell whose template is the circuit's rendering: the same seeded noise
injection (each point's own noise files), sweeps over bias × corner × temperature × supply × mismatch,
both tiers (the predicted tier is the noiseless bias staircase), the row cache (keyed by the rendered
netlist text, so any change of the function's output misses), Dask, the table, the fit and the card.
The circuit is rendered again for every session (parameters, supply and temperature may change it).

Errors name what is wrong: a TOML key, a source or node the circuit does not have (checked on the
rendering at the default parameters), a transistor model or subcircuit that neither the library nor the
circuit defines, an analysis or ``.end`` in the circuit, a function that does not return a ``Circuit``.

Python packages can provide PySpice cells too: an entry point in the group ``pbitkit.cells`` that loads
to ``load_pyspice_cell("path/to/NAME.py")`` (or to :class:`PySpiceFamily` for a directory of them).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.elements import NoiseNames, fmt_number, noise_injection_lines
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.netlist_cell import NetlistCell, NetlistCellSpec, cell_dirs, parse_spec
from pbitkit.circuits.ngspice import SimJob
from pbitkit.circuits.noise import session_noise_files
from pbitkit.circuits.pyspice_interop import circuit_class
from pbitkit.constants import Q_E, thermal_voltage
from pbitkit.errors import ConfigError
from pbitkit.io import sha256_bytes
from pbitkit.paths import cache_dir

__all__ = [
    "CircuitContext",
    "PySpiceCell",
    "PySpiceFamily",
    "FUNCTION_NAME",
    "circuit_text",
    "render_circuit",
    "NOISY_KEY",
    "discover_pyspice",
    "load_pyspice_cell",
    "reference_library",
]

#: The function a cell's ``NAME.py`` must define.
FUNCTION_NAME = "circuit"
#: The TOML key (beyond a netlist cell's) listing the transistors whose channel noise is injected.
NOISY_KEY = "noisy_transistors"

CircuitFunction = Callable[[dict[str, float], "CircuitContext"], Any]

_DIRECTIVE_MODEL = re.compile(r"^\s*\.(?:model|subckt)\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_DIRECTIVE_INCLUDE = re.compile(r"^\s*\.(?:include|inc|lib)\b", re.IGNORECASE | re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class CircuitContext:
    """What a PySpice cell's ``circuit(p, ctx)`` gets besides its parameters.

    Attributes
    ----------
    lib
        The sweep point's model library (``lib.nfet`` / ``lib.pfet`` model names).
    vdd_V, temp_C, bias_V
        Supply (V), temperature (°C) and the session's first bias value (V; later points ``alter`` the
        bias source).
    period_s
        The readout period (s) from the TOML's ``[readout]``.
    """

    lib: ModelLibrary
    vdd_V: float
    temp_C: float
    bias_V: float
    period_s: float

    @property
    def nfet(self) -> str:
        """n-channel model (sky130 subcircuit name or generic ``.model``)."""
        return self.lib.nfet

    @property
    def pfet(self) -> str:
        """p-channel model."""
        return self.lib.pfet

    def mos(self, circuit: Any, name: str, d: Any, g: Any, s: Any, b: Any, kind: Literal["n", "p"],
            w_um: float, l_um: float, device: str | None = None) -> Any:
        """Add one transistor of the library to ``circuit`` and return the element: a subcircuit instance
        ``X<name>`` (sky130, W/L in µm under ``.option scale=1u``) or a MOSFET ``M<name>`` (generic card,
        W/L with a ``u`` suffix). ``device`` picks another device of the library by its role
        (:meth:`~pbitkit.circuits.models.ModelLibrary.device`: sky130 ``"nfet_lvt"``, ``"nfet_nvt"``,
        ``"pfet_lvt"``); by default the library's ``nfet`` / ``pfet`` of ``kind``.

        Raises
        ------
        ConfigError
            If ``kind`` is not ``"n"``/``"p"``, W/L are not positive, or the library has no ``device``.
        """
        if kind not in ("n", "p"):
            raise ConfigError(f"transistor {name}: kind must be 'n' or 'p', got {kind!r}")
        if not (w_um > 0 and l_um > 0):
            raise ConfigError(f"transistor {name}: W and L must be > 0 um, got W={w_um}, L={l_um}")
        if device is not None:
            model = self.lib.device(device)
        else:
            model = self.lib.nfet if kind == "n" else self.lib.pfet
        if self.lib.instance_prefix == "X":
            return circuit.X(name, model, d, g, s, b, w=f"{w_um:g}", l=f"{l_um:g}")
        return circuit.M(name, d, g, s, b, model=model, w=f"{w_um:g}u", l=f"{l_um:g}u")


def reference_library() -> ModelLibrary:
    """The sky130 library's names with a placeholder include (for rendering without a model file)."""
    return ModelLibrary(name="sky130", version="reference", corner="tt", mismatch=False,
                        include_line="* model library included by pbitkit", nfet="sky130_fd_pr__nfet_01v8",
                        pfet="sky130_fd_pr__pfet_01v8", instance_prefix="X", path=Path("SKY130_SLIM_LIBRARY"),
                        files={})


def circuit_text(function: CircuitFunction, p: Mapping[str, float], ctx: CircuitContext, *, where: str) -> str:
    """The netlist body of ``function(p, ctx)``: the PySpice ``Circuit`` rendered without its ``.title``.
    (:func:`render_circuit` also returns the circuit.)

    Raises
    ------
    ConfigError
        Naming ``where`` if the function raises, returns something else than a ``Circuit``, or the circuit
        uses a transistor model / subcircuit that neither the library nor the circuit defines.
    """
    return render_circuit(function, p, ctx, where=where)[0]


def render_circuit(function: CircuitFunction, p: Mapping[str, float], ctx: CircuitContext, *,
                   where: str) -> tuple[str, Any]:
    """``(netlist body, Circuit)`` of ``function(p, ctx)`` (see :func:`circuit_text`)."""
    try:
        circuit = function(dict(p), ctx)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's function: report it with its location
        raise ConfigError(f"{where}: {FUNCTION_NAME}(p, ctx) raised {type(exc).__name__}: {exc}") from exc
    cls = circuit_class()
    if not isinstance(circuit, cls):
        raise ConfigError(f"{where}: {FUNCTION_NAME}(p, ctx) must return a PySpice Circuit, got {type(circuit).__name__}")
    text = str(circuit)
    lines = text.splitlines()
    if lines and lines[0].lower().startswith(".title"):
        lines = lines[1:]
    body = "\n".join(lines) + "\n"
    _check_models(circuit, body, ctx.lib, where)
    return body, circuit


def _check_models(circuit: Any, body: str, lib: ModelLibrary, where: str) -> None:
    """Every ``X`` instance's subcircuit and every MOSFET's model must be the library's or defined here."""
    if _DIRECTIVE_INCLUDE.search(body):
        return  # the user includes their own models: ngspice will tell
    known = ({m.lower() for m in _library_models(lib)}
             | {m.lower() for m in _DIRECTIVE_MODEL.findall(body)})
    for element in circuit.elements:
        ref = getattr(element, "subcircuit_name", None) or getattr(element, "model", None)
        prefix = str(element.name)[:1].upper()
        if prefix in ("X", "M") and ref is not None and str(ref).lower() not in known:
            what = "subcircuit" if prefix == "X" else "model"
            raise ConfigError(f"{where}: element {element.name} uses {what} {str(ref)!r}, which neither the model "
                              f"library ({', '.join(_library_models(lib))}) nor the circuit defines")


def _library_models(lib: ModelLibrary) -> list[str]:
    """The model names of every device the library holds (``nfet``, ``pfet`` first)."""
    return list(dict.fromkeys([lib.nfet, lib.pfet, *lib.devices.values()]))


class PySpiceCell(NetlistCell):
    """A p-bit cell from a PySpice circuit function and a netlist-cell TOML (see the module docstring).

    Each session renders ``circuit(p, ctx)`` for its parameters, supply, temperature and library, and is
    then built and measured exactly as a netlist cell whose template is that rendering.
    """

    def __init__(self, spec: NetlistCellSpec, function: CircuitFunction, noisy_transistors: Sequence[str] = ()) -> None:
        super().__init__(spec)
        self.function = function
        self.noisy_transistors = tuple(noisy_transistors)
        self.description = spec.description or f"PySpice cell {spec.template_path}"

    def __repr__(self) -> str:
        return f"PySpiceCell({self.name!r}, {str(self.spec.template_path)!r})"

    def template(self, p: Mapping[str, float], lib: ModelLibrary, *, vdd_V: float, temp_C: float,
                 bias_V: float) -> str:
        """The netlist-cell template of one session: ``{models}`` and the circuit's rendering."""
        return self._render(p, lib, vdd_V=vdd_V, temp_C=temp_C, bias_V=bias_V)[0]

    def _render(self, p: Mapping[str, float], lib: ModelLibrary, *, vdd_V: float, temp_C: float,
                bias_V: float) -> tuple[str, Any]:
        period = _period(self.spec, p)
        ctx = CircuitContext(lib=lib, vdd_V=vdd_V, temp_C=temp_C, bias_V=bias_V, period_s=period)
        body, circuit = render_circuit(self.function, p, ctx, where=str(self.spec.template_path))
        return "{models}\n" + body, circuit

    def _session_cell(self, pts: Sequence[SweepPoint], lib: ModelLibrary) -> tuple[NetlistCell, Any]:
        p = self.params(pts[0].params)
        text, circuit = self._render(p, lib, vdd_V=self.supply(list(pts)), temp_C=pts[0].temp_C,
                                     bias_V=pts[0].bias_V)
        return NetlistCell(dataclasses.replace(self.spec, template=text)), circuit

    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        cell, circuit = self._session_cell(pts, lib)
        job = cell._job(pts, lib, timeout_s)
        if not self.noisy_transistors:
            return job
        return self._with_channel_noise(job, pts, lib, circuit)

    def _with_channel_noise(self, job: SimJob, pts: list[SweepPoint], lib: ModelLibrary, circuit: Any) -> SimJob:
        """``job`` plus the channel noise of :attr:`noisy_transistors` (see the module docstring): a
        seeded ``filesource`` current between each one's drain and source, its gain set per point from an
        ``.op`` at the point's bias: ``sigma = sqrt(S / (2 dt))``, ``S = 2 q |I_D| coth(|V_DS| / 2 U_T)``."""
        p = self.params(pts[0].params)
        period = _period(self.spec, p)
        dt = _num(self.spec.readout.dt_s, p) or period / 20
        n_samples = int(round(_num(self.spec.readout.n_samples, p)))
        n_steps = int(math.ceil(n_samples * period / dt))
        tags = [f"ch{t.lower()}" for t in self.noisy_transistors]
        names = [nz.name for nz in self.spec.noise] + tags
        files, pre = session_noise_files(names, [pt.noise_seed_sequence() for pt in pts], dt, n_steps)
        ut = thermal_voltage(pts[0].temp_C)
        elements, gains = [], []
        for t, tag in zip(self.noisy_transistors, tags, strict=True):
            d, s, model = _transistor(circuit, lib, t, where=str(self.spec.template_path))
            nm = NoiseNames.netlist(tag)
            elements += [*noise_injection_lines(tag, names=nm), f"{nm.source} {d} {s} {nm.sample_node} 0 0"]
            i_v, v_v = _op_vector(lib, t, model, "id"), _op_vector(lib, t, model, "vds")
            gains += [f"let s_{tag} = {fmt_number(2 * Q_E)}*abs({i_v})/tanh(abs({v_v})/{fmt_number(2 * ut)} + 1e-12)",
                      f"alter @{nm.source.lower()}[gain] = sqrt(s_{tag}/{fmt_number(2 * dt)})"]
        head, sep, control = job.netlist.partition(".control\n")
        if not sep:
            raise ConfigError(f"cell {self.name}: the transient job has no control block")
        out, k = [], 0
        for line in control.splitlines():
            if line.startswith("tran "):
                own = [ln for ln in pre[k] if any(f"noise_{tg}." in ln for tg in tags)]
                out += [*own, "op", *gains]
                k += 1
            out.append(line)
        netlist = head + "\n".join(elements) + "\n" + sep + "\n".join(out) + "\n"
        return SimJob(netlist=netlist, files={**job.files, **files}, vectors=job.vectors, timeout_s=job.timeout_s,
                      label=job.label, meta=job.meta)

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        return self._session_cell(pts, lib)[0]._predicted_job(pts, lib, timeout_s)  # noiseless


def _num(x: float | str | None, p: Mapping[str, float]) -> float | None:
    if x is None:
        return None
    return float(p[x]) if isinstance(x, str) else float(x)


def _period(spec: NetlistCellSpec, p: Mapping[str, float]) -> float:
    return float(_num(spec.readout.period_s, p))


def _transistor(circuit: Any, lib: ModelLibrary, name: str, *, where: str) -> tuple[str, str, str]:
    """Drain node, source node and model of the library transistor ``name`` (as given to ``ctx.mos``)."""
    element = next((e for e in circuit.elements if str(e.name).lower() == f"{lib.instance_prefix}{name}".lower()),
                   None)
    ref = None if element is None else (getattr(element, "subcircuit_name", None) or getattr(element, "model", None))
    models = _library_models(lib)
    if element is None or str(ref) not in models:
        raise ConfigError(f"{where}: key '{NOISY_KEY}': {name!r} is not a transistor added with ctx.mos(...) "
                          f"(no element {lib.instance_prefix}{name} of model {' / '.join(models)})")
    nodes = [str(n) for n in element.nodes]
    return nodes[0], nodes[2], str(ref)


def _op_vector(lib: ModelLibrary, name: str, model: str, quantity: str) -> str:
    """The operating-point vector ``quantity`` of the transistor ``name`` of ``model`` added by ``ctx.mos``."""
    if lib.instance_prefix == "X":
        return f"@m.x{name.lower()}.m{model}[{quantity}]"
    return f"@m{name.lower()}[{quantity}]"


def _import_function(py: Path) -> CircuitFunction:
    mod_name = f"pbitkit_pyspice_cell_{py.stem}_{sha256_bytes(str(py.resolve()).encode())[:12]}"
    spec = importlib.util.spec_from_file_location(mod_name, py)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{py}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - report the user's module error with its file
        raise ConfigError(f"{py}: importing it failed: {type(exc).__name__}: {exc}") from exc
    sys.modules[mod_name] = module
    fn = getattr(module, FUNCTION_NAME, None)
    if not callable(fn):
        raise ConfigError(f"{py}: defines no function {FUNCTION_NAME}(p, ctx) returning a PySpice Circuit")
    return fn


def _toml_defaults(toml_path: Path) -> tuple[dict[str, float], float, float, tuple[str, ...], str]:
    """Default parameters, supply, mid bias and ``noisy_transistors`` from the TOML, and the TOML text
    without that key (a netlist cell's description, for :func:`parse_spec`). Lenient about everything
    :func:`parse_spec` checks afterwards.

    Raises
    ------
    ConfigError
        For a ``noisy_transistors`` that is not a list of names.
    """
    try:
        text = toml_path.read_text()
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}, 1.8, 0.0, (), ""
    noisy = data.get(NOISY_KEY, [])
    if not isinstance(noisy, list) or not all(isinstance(t, str) and re.fullmatch(r"[A-Za-z0-9_]+", t) for t in noisy):
        raise ConfigError(f"{toml_path}: key '{NOISY_KEY}': expected a list of transistor names as given to "
                          f"ctx.mos (letters, digits, _), got {noisy!r}")
    # drop the key's line(s) for parse_spec (a top-level key: before the first table header)
    stripped = re.sub(rf"^\s*{NOISY_KEY}\s*=\s*\[[^\]]*\][^\n]*\n?", "", text, count=1, flags=re.MULTILINE)
    params = {k: float(v) for k, v in (data.get("params") or {}).items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)}
    vdd = data.get("vdd_V", 1.8)
    br = data.get("bias_range_V", [0.0, 0.0])
    try:
        return params, float(vdd), 0.5 * (float(br[0]) + float(br[1])), tuple(noisy), stripped
    except (TypeError, ValueError, IndexError):
        return params, 1.8, 0.0, tuple(noisy), stripped


def load_pyspice_cell(py_path: str | os.PathLike[str], toml_path: str | os.PathLike[str] | None = None,
                      name: str | None = None) -> PySpiceCell:
    """The :class:`PySpiceCell` of ``NAME.py`` and its description (default: ``NAME.toml`` next to it).

    The circuit is rendered once at the default parameters (sky130 names, 27 °C, the middle of the
    default bias range) and the description validated against it like a netlist cell's template.

    Raises
    ------
    ConfigError
        Naming the file and key, node, element or model (see the module docstring).
    """
    py = Path(py_path)
    tpath = Path(toml_path) if toml_path is not None else py.with_suffix(".toml")
    name = name or py.stem
    try:
        source = py.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read PySpice cell {name!r}: {exc.filename}: {exc.strerror}") from exc
    fn = _import_function(py)
    params, vdd, bias, noisy, toml_text = _toml_defaults(tpath)
    lib = reference_library()
    body, circuit = render_circuit(fn, params, CircuitContext(lib=lib, vdd_V=vdd, temp_C=27.0, bias_V=bias,
                                                              period_s=1e-9),
                                   where=f"{py} (at its default parameters)")
    for t in noisy:
        _transistor(circuit, lib, t, where=str(tpath))
    rendered = "{models}\n" + body
    gen_dir = cache_dir() / "circuits" / "pyspice_cells"
    gen_dir.mkdir(parents=True, exist_ok=True)
    gen = _write_once(gen_dir / f"{name}-{sha256_bytes(rendered.encode())[:16]}.cir", rendered)
    gen_toml = (_write_once(gen_dir / f"{name}-{sha256_bytes(toml_text.encode())[:16]}.toml", toml_text)
                if noisy else tpath)
    try:
        spec = parse_spec(gen, gen_toml, name=name)
    except ConfigError as exc:
        msg = str(exc).replace(str(gen), f"{py} (rendered at its default parameters)").replace(str(gen_toml), str(tpath))
        raise ConfigError(msg.replace(gen.name, f"the circuit of {py.name} (at its default parameters)")) from None
    spec = dataclasses.replace(spec, template_path=py, toml_path=tpath, template_sha256=sha256_bytes(source),
                               toml_sha256=sha256_bytes(tpath.read_bytes()))
    return PySpiceCell(spec, fn, noisy)


def _write_once(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (content-addressed: an existing file already holds it), atomically."""
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def discover_pyspice() -> dict[str, Path]:
    """``{name: NAME.py}`` of every PySpice cell (a ``NAME.py`` with a ``NAME.toml`` next to it) in the cell
    directories (``$PBITKIT_CELLS``, then the shipped ``netlists/cells``); the first directory wins."""
    found: dict[str, Path] = {}
    for d in cell_dirs():
        if not d.is_dir():
            continue
        for py in sorted(d.glob("*.py")):
            if py.with_suffix(".toml").is_file() and not py.with_suffix(".cir").exists():
                found.setdefault(py.stem, py)
    return found


@functools.lru_cache(maxsize=64)
def _load(path: str, mtimes: tuple[int, int]) -> PySpiceCell:  # noqa: ARG001 - mtimes key the memo
    return load_pyspice_cell(path)


class PySpiceFamily:
    """The PySpice cells of the cell directories, as a cell family of :mod:`pbitkit.circuits.registry`."""

    name = "pyspice"

    def discover(self) -> dict[str, str]:
        return {n: str(p) for n, p in discover_pyspice().items()}

    def load(self, name: str) -> PySpiceCell:
        path = discover_pyspice().get(name)
        if path is None:
            raise ConfigError(f"no PySpice cell {name!r} in the cell directories")
        try:
            mt = (path.stat().st_mtime_ns, path.with_suffix(".toml").stat().st_mtime_ns)
        except OSError as exc:
            raise ConfigError(f"cannot read PySpice cell {path}: {exc.strerror}") from exc
        return _load(str(path), mt)
