"""Design spaces as data: a TOML file of cell parameters, fixed conditions, constraints and an area proxy.

A space names one cell of the registry and says which of its public parameters vary and how; nothing in
the file executes. :func:`load_space` validates every field (errors name the file and the field) and
checks the box's corners against the cell's own ``check_params`` before anything is simulated; every
design is checked again by ``Cell.params`` on its way into a netlist.

File layout (``pbitkit/data/spaces/native_latch.toml`` is a complete example)::

    cell = "native_latch"
    description = "..."

    [conditions]              # fixed for every design (all optional; defaults in :class:`Conditions`)
    corner = "tt"
    temp_C = 27.0
    mc_instances = 4           # mismatch instances per design (predicted tier) -> sigma(V0)/Vs
    bias_points = 13           # nominal P(1) grid over the cell's default bias range
    mc_bias_points = 13        # per mismatch instance, over the V0 search window
    v0_search_half_span_V = 0.24
    mc_params = { readout = 0 } # overrides for the mismatch instances (parts that do not enter P(1))
    energy_tier = "predicted"  # or "transient": energy per read from a short transient at the centre
    energy_params = {}         # overrides for that transient (e.g. { n_samples = 20 })
    bistable_tau_min_s = 2e-8  # a centre core correlation time below this counts as monostable
    check_corners = ["ff"]     # nominal predicted tier also at these corners (metrics corner_<c>_*)

    [fixed]                    # cell parameters held at a value other than the cell's default
    vddr_V = 0.45

    [[parameter]]              # one varying dimension
    name = "vdd_V"             # a cell parameter, or "vdd_V" (the cell's supply)
    kind = "range"             # "range" (linear), "log_range" (log-uniform) or "levels"
    lo = 0.118
    hi = 0.135

    [[parameter]]              # joint levels: several parameters that move together (device bins)
    names = ["wn_um", "ln_um"]
    kind = "levels"
    levels = [[0.42, 0.8], [0.42, 0.6], [1.0, 0.5]]

    [[constraint]]             # metric <= max and/or metric >= min (NaN never satisfies a constraint)
    metric = "tau_corr_s"
    max = 1e-6

    [area]                     # area proxy: fixed_um2 + sum(count * W * L) over the terms
    fixed_um2 = 0.55
    terms = [{ w = "wn_um", l = "ln_um", count = 2 }]

The design metrics a constraint may name are :data:`METRICS` plus ``corner_<c>_<m>`` for each
``check_corners`` entry ``c`` and each of :data:`CORNER_METRICS` ``m``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.config import load_toml
from pbitkit.constants import ZERO_CELSIUS_K
from pbitkit.errors import ConfigError
from pbitkit.paths import data_dir

__all__ = [
    "Parameter",
    "Constraint",
    "AreaTerm",
    "Conditions",
    "DesignSpace",
    "load_space",
    "space_from_dict",
    "builtin_space_path",
    "METRICS",
    "CORNER_METRICS",
    "OBJECTIVES",
    "SUPPLY",
]

#: The pseudo-parameter naming the cell's supply (a :class:`~pbitkit.circuits.cell_base.SweepPoint` field).
SUPPLY = "vdd_V"

#: Metrics every evaluated design carries (see :mod:`pbitkit.explore.evaluate`).
METRICS: tuple[str, ...] = (
    "energy_per_independent_bit_J", "energy_per_bit_J", "dynamic_energy_per_bit_J", "tau_corr_s", "tau_core_s", "v0_V", "vs_V", "p1_min",
    "p1_max", "sigma_v0_V", "sigma_v0_over_vs", "mc_centred_fraction", "area_um2", "static_power_W", "bistable",
)
#: Metrics also computed at each ``check_corners`` corner (named ``corner_<c>_<m>``).
CORNER_METRICS: tuple[str, ...] = ("tau_core_s", "p1_min", "p1_max", "v0_V", "vs_V", "bistable")
#: The front's objectives, all minimized: energy per independent bit, correlation time, variation, area.
OBJECTIVES: tuple[str, ...] = ("energy_per_independent_bit_J", "tau_corr_s", "sigma_v0_over_vs", "area_um2")

_KINDS = ("range", "log_range", "levels")
_TOP_KEYS = {"cell", "description", "conditions", "fixed", "parameter", "constraint", "area"}


@dataclass(frozen=True)
class Parameter:
    """One dimension of a space: ``names`` (one, or several moving together with ``levels``).

    ``kind`` ``"range"``/``"log_range"``: a number in ``[lo, hi]`` (uniform in the value or its log);
    ``"levels"``: one of ``levels`` (each a tuple with one value per name). :meth:`decode` maps a unit
    coordinate ``u`` in [0, 1] to values.
    """

    names: tuple[str, ...]
    kind: str
    lo: float = math.nan
    hi: float = math.nan
    levels: tuple[tuple[float, ...], ...] = ()

    def decode(self, u: float) -> dict[str, float]:
        """Values of this dimension at unit coordinate ``u`` (clipped to [0, 1])."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "levels":
            k = min(int(u * len(self.levels)), len(self.levels) - 1)
            return dict(zip(self.names, self.levels[k], strict=True))
        if self.kind == "log_range":
            return {self.names[0]: float(math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo))))}
        return {self.names[0]: float(self.lo + u * (self.hi - self.lo))}

    def encode(self, values: Mapping[str, float]) -> float | None:
        """Unit coordinate of ``values`` (``None`` if outside the range or not one of the levels)."""
        if self.kind == "levels":
            want = tuple(float(values[n]) for n in self.names)
            for k, lev in enumerate(self.levels):
                if all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15) for a, b in zip(lev, want, strict=True)):
                    return (k + 0.5) / len(self.levels)
            return None
        v = float(values[self.names[0]])
        if not self.lo <= v <= self.hi:
            return None
        if self.kind == "log_range":
            return (math.log(v) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    @property
    def n_levels(self) -> int:
        """Number of levels (0 for a range)."""
        return len(self.levels)


@dataclass(frozen=True)
class Constraint:
    """``min <= metric <= max`` (either bound may be absent; NaN never satisfies)."""

    metric: str
    min: float | None = None
    max: float | None = None

    def satisfied(self, value: float) -> bool:
        """Whether ``value`` meets the bounds."""
        v = float(value)
        if math.isnan(v):
            return False
        return (self.min is None or v >= self.min) and (self.max is None or v <= self.max)

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bounds, relative to the bound (0 inside, 1e9 for NaN)."""
        v = float(value)
        if math.isnan(v):
            return 1e9
        out = 0.0
        if self.min is not None and v < self.min:
            out += (self.min - v) / max(abs(self.min), 1e-30)
        if self.max is not None and v > self.max:
            out += min((v - self.max) / max(abs(self.max), 1e-30), 1e6)
        return out

    def describe(self) -> str:
        """E.g. ``"tau_corr_s <= 1e-06"``."""
        parts = []
        if self.min is not None:
            parts.append(f"{self.metric} >= {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.metric} <= {self.max:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class AreaTerm:
    """``count * W * L`` (µm²) with ``w``/``l`` naming cell parameters in µm."""

    w: str
    l: str  # noqa: E741 - the device length, as in the cells' parameter names
    count: float = 1.0


@dataclass(frozen=True)
class Conditions:
    """What is fixed for every design of a space (see the module docstring)."""

    corner: str = "tt"
    temp_C: float = 27.0
    mc_instances: int = 4
    bias_points: int = 13
    mc_bias_points: int = 13
    v0_search_half_span_V: float = 0.24
    mc_params: Mapping[str, float] = field(default_factory=dict)
    energy_tier: str = "predicted"
    energy_params: Mapping[str, float] = field(default_factory=dict)
    bistable_tau_min_s: float = 2e-8
    check_corners: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (part of every design's cache key)."""
        return {"corner": self.corner, "temp_C": self.temp_C, "mc_instances": self.mc_instances,
                "bias_points": self.bias_points, "mc_bias_points": self.mc_bias_points,
                "v0_search_half_span_V": self.v0_search_half_span_V, "mc_params": dict(self.mc_params),
                "energy_tier": self.energy_tier, "energy_params": dict(self.energy_params),
                "bistable_tau_min_s": self.bistable_tau_min_s, "check_corners": list(self.check_corners)}


@dataclass(frozen=True)
class DesignSpace:
    """A validated design space (:func:`load_space`).

    Attributes
    ----------
    cell : registry name of the cell.
    parameters : the varying dimensions.
    fixed : cell parameters (and possibly ``vdd_V``) held at a non-default value.
    conditions : corner, temperature, mismatch instances, grids (:class:`Conditions`).
    constraints : what a feasible design meets.
    area_terms, area_fixed_um2 : the area proxy ``fixed + sum(count W L)`` (µm²).
    source : the file it came from ("" for a dict).
    """

    cell: str
    parameters: tuple[Parameter, ...]
    fixed: Mapping[str, float]
    conditions: Conditions
    constraints: tuple[Constraint, ...]
    area_terms: tuple[AreaTerm, ...]
    area_fixed_um2: float = 0.0
    description: str = ""
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def dim(self) -> int:
        """Number of varying dimensions."""
        return len(self.parameters)

    @property
    def names(self) -> tuple[str, ...]:
        """Every varying name, in order."""
        return tuple(n for p in self.parameters for n in p.names)

    def decode(self, u: Sequence[float]) -> dict[str, float]:
        """The design (``fixed`` updated by every dimension's values) at unit coordinates ``u`` (dim,)."""
        if len(u) != self.dim:
            raise ConfigError(f"design space {self.source or self.cell}: {len(u)} coordinates for {self.dim} dimensions")
        out = dict(self.fixed)
        for p, x in zip(self.parameters, u, strict=True):
            out.update(p.decode(x))
        return out

    def encode(self, design: Mapping[str, float]) -> np.ndarray | None:
        """Unit coordinates of ``design`` (``None`` if a value lies outside the space)."""
        out = []
        for p in self.parameters:
            if any(n not in design for n in p.names):
                return None
            x = p.encode(design)
            if x is None:
                return None
            out.append(x)
        return np.asarray(out, dtype=float)

    def area_um2(self, cell_params: Mapping[str, float]) -> float:
        """The area proxy (µm²) of a design's complete cell parameters."""
        return float(self.area_fixed_um2 + sum(t.count * cell_params[t.w] * cell_params[t.l] for t in self.area_terms))

    def to_dict(self) -> dict[str, Any]:
        """The space as given (JSON data; the run directory's config)."""
        return dict(self.raw)


def _where(src: str, what: str) -> str:
    return f"{src}: {what}" if src else what


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ConfigError(f"{where} must be a finite number, got {v!r}")
    return float(v)


def _table(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{where} must be a table, got {type(v).__name__}")
    return v


def _unknown(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {bad}; allowed: {sorted(allowed)}")


def _parameter(d: Any, where: str, known: set[str]) -> Parameter:
    d = _table(d, where)
    _unknown(d, {"name", "names", "kind", "lo", "hi", "levels"}, where)
    if ("name" in d) == ("names" in d):
        raise ConfigError(f"{where}: give exactly one of name = \"...\" or names = [...]")
    names = (d["name"],) if "name" in d else d["names"]
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}.names must be a non-empty list of parameter names, got {names!r}")
    names = tuple(names)
    for n in names:
        if n not in known:
            raise ConfigError(f"{where}: {n!r} is not a parameter of the cell; known: {sorted(known)}")
    kind = d.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"{where}.kind must be one of {list(_KINDS)}, got {kind!r}")
    if kind == "levels":
        if "lo" in d or "hi" in d:
            raise ConfigError(f"{where}: kind = \"levels\" takes levels = [...], not lo/hi")
        levels = d.get("levels")
        if not isinstance(levels, list) or not levels:
            raise ConfigError(f"{where}.levels must be a non-empty list, got {levels!r}")
        out = []
        for k, lev in enumerate(levels):
            lev_t = tuple(lev) if isinstance(lev, (list, tuple)) else (lev,)
            if len(lev_t) != len(names):
                raise ConfigError(f"{where}.levels[{k}] has {len(lev_t)} value(s) for {len(names)} name(s) {list(names)}")
            out.append(tuple(_number(x, f"{where}.levels[{k}]") for x in lev_t))
        if len(set(out)) != len(out):
            raise ConfigError(f"{where}.levels repeats a level")
        return Parameter(names, kind, levels=tuple(out))
    if len(names) != 1:
        raise ConfigError(f"{where}: kind = {kind!r} varies one parameter; use name = \"...\"")
    if "levels" in d:
        raise ConfigError(f"{where}: kind = {kind!r} takes lo/hi, not levels")
    for b in ("lo", "hi"):
        if b not in d:
            raise ConfigError(f"{where}.{b} is missing")
    lo, hi = _number(d["lo"], f"{where}.lo"), _number(d["hi"], f"{where}.hi")
    if not lo < hi:
        raise ConfigError(f"{where}: need lo < hi, got lo={lo:g}, hi={hi:g}")
    if kind == "log_range" and lo <= 0:
        raise ConfigError(f"{where}: kind = \"log_range\" needs lo > 0, got {lo:g}")
    return Parameter(names, kind, lo=lo, hi=hi)


def _conditions(d: Any, where: str, known: set[str]) -> Conditions:
    d = _table(d, where)
    allowed = {f for f in Conditions.__dataclass_fields__}
    _unknown(d, allowed, where)
    kw: dict[str, Any] = {}
    for k, v in d.items():
        w = f"{where}.{k}"
        if k in ("corner",):
            if not isinstance(v, str) or not v:
                raise ConfigError(f"{w} must be a corner name such as \"tt\", got {v!r}")
            kw[k] = v
        elif k in ("mc_instances", "bias_points", "mc_bias_points"):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{w} must be an integer, got {v!r}")
            lo = 0 if k == "mc_instances" else 5
            if not lo <= v <= 256:
                raise ConfigError(f"{w} must be in [{lo}, 256], got {v}")
            if k == "mc_instances" and v == 1:
                raise ConfigError(f"{w}: one mismatch instance has no spread; give 0 (no variation) or >= 2")
            kw[k] = v
        elif k in ("temp_C", "v0_search_half_span_V", "bistable_tau_min_s"):
            kw[k] = _number(v, w)
            if k != "temp_C" and kw[k] <= 0:
                raise ConfigError(f"{w} must be > 0, got {kw[k]:g}")
            if k == "temp_C" and not -ZERO_CELSIUS_K < kw[k] < 200:
                raise ConfigError(f"{w} must be in (-{ZERO_CELSIUS_K}, 200) degC, got {kw[k]:g}")
        elif k in ("mc_params", "energy_params"):
            t = _table(v, w)
            for n, x in t.items():
                if n not in known:
                    raise ConfigError(f"{w}: {n!r} is not a parameter of the cell; known: {sorted(known)}")
                _number(x, f"{w}.{n}")
            kw[k] = {n: float(x) for n, x in t.items()}
        elif k == "energy_tier":
            if v not in ("predicted", "transient"):
                raise ConfigError(f"{w} must be \"predicted\" or \"transient\", got {v!r}")
            kw[k] = v
        elif k == "check_corners":
            if not isinstance(v, list) or not all(isinstance(c, str) and c for c in v):
                raise ConfigError(f"{w} must be a list of corner names, got {v!r}")
            kw[k] = tuple(v)
    return Conditions(**kw)


def _constraint(d: Any, where: str, metrics: set[str]) -> Constraint:
    d = _table(d, where)
    _unknown(d, {"metric", "min", "max"}, where)
    m = d.get("metric")
    if m not in metrics:
        raise ConfigError(f"{where}.metric: {m!r} is not a design metric; known: {sorted(metrics)}")
    lo = _number(d["min"], f"{where}.min") if "min" in d else None
    hi = _number(d["max"], f"{where}.max") if "max" in d else None
    if lo is None and hi is None:
        raise ConfigError(f"{where}: give min and/or max")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"{where}: min {lo:g} > max {hi:g}")
    return Constraint(m, lo, hi)


def space_from_dict(data: Mapping[str, Any], *, source: str = "") -> DesignSpace:
    """Validate a design space given as (TOML) data; see the module docstring for the fields.

    Raises
    ------
    ConfigError
        Naming ``source`` and the bad field: unknown keys, a parameter the cell does not have, a bad range,
        a constraint on an unknown metric, or a corner of the box the cell's ``check_params`` rejects.
    """
    from pbitkit.circuits.registry import get_cell  # the registry imports every cell family: only when needed

    src = source
    d = _table(dict(data), _where(src, "design space"))
    _unknown(d, _TOP_KEYS, _where(src, "design space"))
    cell_name = d.get("cell")
    if not isinstance(cell_name, str) or not cell_name:
        raise ConfigError(_where(src, f"cell must be a cell name, got {cell_name!r}"))
    cell = get_cell(cell_name)
    known = set(cell.defaults) | {SUPPLY}
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(_where(src, "description must be a string"))
    conditions = _conditions(d.get("conditions", {}), _where(src, "conditions"), set(cell.defaults))
    fixed_raw = _table(d.get("fixed", {}), _where(src, "fixed"))
    fixed = {}
    for n, x in fixed_raw.items():
        if n not in known:
            raise ConfigError(_where(src, f"fixed: {n!r} is not a parameter of the cell; known: {sorted(known)}"))
        fixed[n] = _number(x, _where(src, f"fixed.{n}"))
    plist = d.get("parameter", [])
    if not isinstance(plist, list) or not plist:
        raise ConfigError(_where(src, "give at least one [[parameter]]"))
    params = tuple(_parameter(p, _where(src, f"parameter[{i}]"), known) for i, p in enumerate(plist))
    seen: set[str] = set()
    for i, p in enumerate(params):
        for n in p.names:
            if n in seen or n in fixed:
                raise ConfigError(_where(src, f"parameter[{i}]: {n!r} is varied twice or also fixed"))
            seen.add(n)
    metrics = set(METRICS) | {f"corner_{c}_{m}" for c in conditions.check_corners for m in CORNER_METRICS}
    clist = d.get("constraint", [])
    if not isinstance(clist, list):
        raise ConfigError(_where(src, "constraint must be an array of tables [[constraint]]"))
    constraints = tuple(_constraint(c, _where(src, f"constraint[{i}]"), metrics) for i, c in enumerate(clist))
    area = _table(d.get("area", {}), _where(src, "area"))
    _unknown(area, {"fixed_um2", "terms"}, _where(src, "area"))
    area_fixed = _number(area.get("fixed_um2", 0.0), _where(src, "area.fixed_um2"))
    if area_fixed < 0:
        raise ConfigError(_where(src, f"area.fixed_um2 must be >= 0, got {area_fixed:g}"))
    terms = []
    for i, t in enumerate(area.get("terms", [])):
        w = _where(src, f"area.terms[{i}]")
        t = _table(t, w)
        _unknown(t, {"w", "l", "count"}, w)
        for k in ("w", "l"):
            if t.get(k) not in cell.defaults:
                raise ConfigError(f"{w}.{k}: {t.get(k)!r} is not a parameter of the cell; known: {sorted(cell.defaults)}")
        cnt = _number(t.get("count", 1.0), f"{w}.count")
        if cnt <= 0:
            raise ConfigError(f"{w}.count must be > 0, got {cnt:g}")
        terms.append(AreaTerm(t["w"], t["l"], cnt))
    space = DesignSpace(cell=cell_name, parameters=params, fixed=fixed, conditions=conditions,
                        constraints=constraints, area_terms=tuple(terms), area_fixed_um2=area_fixed,
                        description=desc, source=src, raw=dict(d))
    _check_box(space, cell)
    return space


def _check_box(space: DesignSpace, cell: Any) -> None:
    """Every corner of the box (ranges at lo/hi, each level) through the cell's ``check_params``."""
    src = space.source
    dims = [[0.0, 1.0] if p.kind != "levels" else [(k + 0.5) / p.n_levels for k in range(p.n_levels)]
            for p in space.parameters]
    n_corners = math.prod(len(x) for x in dims)
    rng = np.random.default_rng(0)
    if n_corners <= 512:
        import itertools

        corners = [list(c) for c in itertools.product(*dims)]
    else:  # too many combinations: every level at least once, the rest at random corners
        corners = [[rng.choice(x) for x in dims] for _ in range(512)]
    from pbitkit.circuits.cell_base import SweepPoint
    from pbitkit.circuits.models import get_library

    lib = get_library("sky130", space.conditions.corner)
    for u in corners:
        design = space.decode(u)
        overrides = {k: v for k, v in design.items() if k != SUPPLY}
        try:
            cell.params(overrides)
            for extra in (space.conditions.mc_params, space.conditions.energy_params):
                if extra:
                    cell.params({**overrides, **extra})
            # rendering the predicted-tier netlist applies the renderer's own checks (e.g. timing order)
            lo, _hi = cell.default_bias_range(overrides)
            cell.jobs([SweepPoint(space.cell, float(lo), corner=space.conditions.corner, vdd_V=design.get(SUPPLY),
                                  params=overrides, tier="predicted")], library=lambda _c, _m: lib)
        except ConfigError as exc:
            raise ConfigError(_where(src, f"the design {design} (a corner of the space) is rejected by the cell: "
                                          f"{exc}")) from exc
        vdd = design.get(SUPPLY, cell.default_vdd_V)
        if not 0 < vdd <= 5.0:
            raise ConfigError(_where(src, f"vdd_V must be in (0, 5] V, got {vdd:g}"))


def builtin_space_path(cell: str) -> Path:
    """The shipped space of ``cell`` (``pbitkit/data/spaces/<cell>.toml``).

    Raises
    ------
    ConfigError
        If there is none.
    """
    p = data_dir() / "spaces" / f"{cell}.toml"
    if not p.is_file():
        have = sorted(q.stem for q in (data_dir() / "spaces").glob("*.toml"))
        raise ConfigError(f"no shipped design space for cell {cell!r}; shipped: {have}")
    return p


def load_space(path: str | os.PathLike[str]) -> DesignSpace:
    """Read and validate a design-space TOML file (:func:`space_from_dict`)."""
    return space_from_dict(load_toml(path), source=str(path))
