"""Sweep specifications (TOML) and their expansion into sweep points and ngspice sessions.

A spec names a cell and the grid: bias × temperature × supply × corner × Monte-Carlo mismatch seed × tier.
Example (``pbitkit characterize --spec sweep.toml``)::

    cell = "strongarm"
    corners = ["tt", "ff"]
    temps_C = [27.0]
    vdds_V = []                # empty: the cell's default supply
    n_mc = 4                   # mismatch seeds mc_seed_start .. mc_seed_start + n_mc - 1
    mc_corners = ["tt"]        # mismatch seeds only at these corners (empty: every corner)
    bias_centering = "predicted"   # bias values are offsets from each device's own centre (see below)
    trim = "none"              # "calibrate": each mismatch device trimmed by its cell's calibration first
    include_nominal = true     # also the nominal device (mc_seed = -1)
    noise_seed = 0
    tiers = ["transient"]
    timeout_s = 300.0
    max_points_per_job = 16    # bias points per ngspice session (amortizes model loading)
    runner = "batch"           # "batch" | "shared" | "auto" (pbitkit.circuits.runners; same rows either way)

    [bias]                     # either values_V, or start_V/stop_V/n, or only n (cell's default range);
                               # a repeated value is an independent replica (its own noise)
    start_V = -0.02
    stop_V = 0.02
    n = 9

    [params]                   # cell parameter overrides (sizes, simulated time, ...)
    n_samples = 400

Mismatch moves a cell's centre by several sigmoid widths (docs/theory.md §6.8: ~3.5 widths for the
StrongARM, ~100 for the latch), so a fixed bias grid misses most mismatched devices' sigmoids. With
``bias_centering = "predicted"`` each device (corner, temperature, supply, mismatch seed) first gets its
centre ``V0`` from the cheap predicted tier (:func:`pbitkit.circuits.centering.predicted_sigmoid`, one short
ngspice session, cached), and its bias points are placed at ``V0 + (b - mid)``, where ``b`` runs over the
spec's bias values and ``mid`` is the midpoint of the cell's default range. Rows record the absolute bias.
A cell with per-cell trims (``native_latch``) is only meaningful trimmed: with ``trim = "calibrate"`` each
mismatch device is first calibrated by the cell's own procedure (:mod:`pbitkit.circuits.device_trim`,
cached) and simulated with its trim parameters (the rows' ``param_*`` columns), then centred.

Points that differ only in ``bias_V`` form a group; a group runs as one or a few ngspice sessions (control
loops with ``alter``: models and mismatch draws parsed once per session). Groups are cut into chunks of at
most ``max_points_per_job`` points, and further so that there are at least as many sessions as workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

import numpy as np

from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.device_trim import CELL_CALIBRATIONS, has_calibration
from pbitkit.circuits.models import CORNERS
from pbitkit.circuits.registry import get_cell, resolve_cell_name
from pbitkit.config import from_dict, load_toml, to_dict
from pbitkit.constants import ZERO_CELSIUS_K
from pbitkit.errors import ConfigError

__all__ = ["BiasSpec", "SweepSpec", "load_spec", "quick_spec", "default_spec", "expand", "group_points",
           "QUICK_PARAMS", "SESSION_OVERHEAD_POINTS", "MAX_BIAS_POINTS", "MAX_MC_SEEDS", "MAX_SWEEP_POINTS",
           "MAX_TIMEOUT_S"]

#: Upper bounds of a sweep spec (a larger value is almost certainly a typo and would run for days or
#: exhaust memory): bias points per device, Monte-Carlo seeds, points in the whole sweep, session timeout (s).
MAX_BIAS_POINTS = 10_000
MAX_MC_SEEDS = 10_000
MAX_SWEEP_POINTS = 200_000
MAX_TIMEOUT_S = 7 * 86_400.0

#: Cell parameter overrides that make ``--quick`` finish in seconds while still spanning the sigmoid.
QUICK_PARAMS: dict[str, dict[str, float]] = {
    "strongarm": {"n_samples": 100},  # its 20 ps noise step: ~1.8 s of ngspice CPU per point
    "latch": {"t_stop_s": 0.05},
    "native_latch": {"t_stop_s": 30e-6},
}


@dataclass(frozen=True)
class BiasSpec:
    """Bias voltages (V): ``values_V`` explicitly, or ``n`` points from ``start_V`` to ``stop_V``
    (both omitted: the cell's default range, which spans P(1) ~ 0.02 ... 0.98 at the cell's defaults)."""

    values_V: tuple[float, ...] = ()
    start_V: float | None = None
    stop_V: float | None = None
    n: int = 9

    def __post_init__(self) -> None:
        if self.values_V and (self.start_V is not None or self.stop_V is not None):
            raise ConfigError("bias: give either values_V or start_V/stop_V, not both")
        if (self.start_V is None) != (self.stop_V is None):
            raise ConfigError("bias: start_V and stop_V must be given together")
        if not self.values_V and (isinstance(self.n, bool) or not isinstance(self.n, int)
                                  or not 1 <= self.n <= MAX_BIAS_POINTS):
            raise ConfigError(f"bias.n must be an integer in [1, {MAX_BIAS_POINTS}], got {self.n!r}")
        if len(self.values_V) > MAX_BIAS_POINTS:
            raise ConfigError(f"bias.values_V: {len(self.values_V)} values, at most {MAX_BIAS_POINTS}")
        for v in (*self.values_V, self.start_V, self.stop_V):
            if v is not None and not math.isfinite(v):
                raise ConfigError(f"bias: values must be finite volts, got {v!r}")
        object.__setattr__(self, "values_V", tuple(float(v) for v in self.values_V))

    def resolve(self, default_range: tuple[float, float]) -> tuple[float, ...]:
        """The bias values (V) given the cell's default range (repeats allowed: see :func:`expand`)."""
        if self.values_V:
            return self.values_V
        lo, hi = (self.start_V, self.stop_V) if self.start_V is not None else default_range
        return tuple(float(v) for v in np.linspace(lo, hi, self.n))


@dataclass(frozen=True)
class SweepSpec:
    """A characterization sweep (see the module docstring for the TOML form). ``cell = "default"`` is the
    pipeline's default cell (:mod:`pbitkit.circuits.default_cell`); the spec stores the resolved name."""

    cell: str
    bias: BiasSpec = field(default_factory=BiasSpec)
    params: dict[str, float] = field(default_factory=dict)
    corners: tuple[str, ...] = ("tt",)
    temps_C: tuple[float, ...] = (27.0,)
    vdds_V: tuple[float, ...] = ()
    n_mc: int = 0
    mc_seed_start: int = 1
    include_nominal: bool = True
    noise_seed: int = 0
    tiers: tuple[Literal["transient", "predicted"], ...] = ("transient",)
    timeout_s: float = 300.0
    max_points_per_job: int = 16
    models: Literal["sky130", "sky130-full", "generic"] = "sky130"
    mc_corners: tuple[str, ...] = ()
    bias_centering: Literal["none", "predicted"] = "none"
    trim: Literal["none", "calibrate"] = "none"
    runner: Literal["batch", "shared", "auto"] = "batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell", resolve_cell_name(self.cell))  # "default" -> the pipeline's default cell
        cell = get_cell(self.cell)  # unknown cell -> ConfigError listing the known ones
        cell.params(self.params)  # unknown / non-numeric parameters -> ConfigError naming them
        for c in self.corners:
            if c not in CORNERS:
                raise ConfigError(f"corners: {c!r} is not one of {list(CORNERS)}")
        if not self.corners:
            raise ConfigError("corners must not be empty")
        if not self.temps_C:
            raise ConfigError("temps_C must not be empty")
        for t in self.temps_C:
            if not -ZERO_CELSIUS_K < t < 200:
                raise ConfigError(f"temps_C: {t} is outside ({-ZERO_CELSIUS_K}, 200) degC")
        for v in self.vdds_V:
            if not 0 < v <= 5:
                raise ConfigError(f"vdds_V: {v} is outside (0, 5] V")
        if not 0 <= self.n_mc <= MAX_MC_SEEDS:
            raise ConfigError(f"n_mc must be in [0, {MAX_MC_SEEDS}], got {self.n_mc}")
        if self.mc_seed_start < 0:
            raise ConfigError(f"mc_seed_start must be >= 0, got {self.mc_seed_start}")
        if self.n_mc == 0 and not self.include_nominal:
            raise ConfigError("n_mc = 0 and include_nominal = false leaves no device to simulate")
        if self.noise_seed < 0:
            raise ConfigError(f"noise_seed must be >= 0, got {self.noise_seed}")
        if not self.tiers or len(set(self.tiers)) != len(self.tiers):
            raise ConfigError(f"tiers must be a non-empty list without repeats, got {list(self.tiers)}")
        if not (math.isfinite(self.timeout_s) and 0 < self.timeout_s <= MAX_TIMEOUT_S):
            raise ConfigError(f"timeout_s must be a finite time in (0, {MAX_TIMEOUT_S:g}] s, got {self.timeout_s}")
        if self.max_points_per_job < 1:
            raise ConfigError(f"max_points_per_job must be >= 1, got {self.max_points_per_job}")
        for c in self.mc_corners:
            if c not in self.corners:
                raise ConfigError(f"mc_corners: {c!r} is not among corners {list(self.corners)}")
        if self.trim == "calibrate" and not has_calibration(self.cell):
            raise ConfigError(f"trim = 'calibrate': cell {self.cell!r} has no per-device calibration "
                              f"(cells with one: {sorted(CELL_CALIBRATIONS)})")
        if self.trim == "calibrate" and self.models == "generic":
            raise ConfigError("trim = 'calibrate' needs the sky130 models (models = 'generic' has no mismatch)")
        if self.models == "generic" and (self.n_mc or self.corners != ("tt",)):
            raise ConfigError("models = 'generic' has no corners or mismatch; use models = 'sky130'")
        n_bias = len(self.bias.values_V) or self.bias.n
        n_points = (len(self.tiers) * len(self.temps_C) * max(1, len(self.vdds_V)) * n_bias
                    * sum(len(self.seeds_at(c)) for c in self.corners))
        if n_points > MAX_SWEEP_POINTS:
            raise ConfigError(f"the sweep has {n_points} points (tiers x corners x seeds x temps_C x vdds_V x bias), "
                              f"at most {MAX_SWEEP_POINTS}: split it into several specs")

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready form (the inverse of :func:`load_spec` on a dict)."""
        return to_dict(self)

    def seeds_at(self, corner: str) -> tuple[int, ...]:
        """Mismatch seeds simulated at ``corner``: all of :attr:`mc_seeds` where mismatch runs (every
        corner, or only ``mc_corners`` when given), else only the nominal device."""
        if not self.mc_corners or corner in self.mc_corners:
            return self.mc_seeds
        return (-1,) if self.include_nominal else ()

    @property
    def mc_seeds(self) -> tuple[int, ...]:
        """Mismatch seeds in the sweep (``-1`` = nominal)."""
        seeds = (-1,) if self.include_nominal else ()
        return seeds + tuple(range(self.mc_seed_start, self.mc_seed_start + self.n_mc))


def load_spec(source: str | PathLike[str] | dict[str, Any], **overrides: Any) -> SweepSpec:
    """A :class:`SweepSpec` from a TOML file or a dict, with top-level ``overrides`` applied.

    An override ``cell=`` fills in a spec without a ``cell``; a spec naming another cell is refused.

    Raises
    ------
    ConfigError
        Naming the bad key (unknown keys, wrong types, out-of-range values, unknown cell/corner/param),
        or the file when its ``cell`` differs from the ``cell`` override.
    """
    data = dict(source) if isinstance(source, dict) else load_toml(source)
    cell = overrides.get("cell")
    if (cell is not None and "cell" in data
            and resolve_cell_name(str(data["cell"])) != resolve_cell_name(str(cell))):
        where = "the spec" if isinstance(source, dict) else str(source)
        raise ConfigError(f"{where} is a sweep of cell {data['cell']!r}, not {cell!r}: give the matching --cell "
                          "or another spec (a spec is never re-targeted to another cell)")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(SweepSpec, data, where="sweep spec")


def default_spec(cell: str) -> SweepSpec:
    """The default characterization of ``cell``: 9 bias points over its default range, tt, 27 °C."""
    return SweepSpec(cell=cell)


def quick_spec(cell: str, **overrides: Any) -> SweepSpec:
    """A small meaningful sweep (9 bias points spanning the sigmoid, shortened simulations, nominal tt)."""
    cell = resolve_cell_name(cell)
    data: dict[str, Any] = {"cell": cell, "params": dict(QUICK_PARAMS.get(cell, {})), "bias": {"n": 9}}
    data.update(overrides)
    return load_spec(data)


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """All sweep points of ``spec`` in a deterministic order (tier, corner, temp, vdd, seed, bias).

    A bias value that occurs more than once (``values_V = [0.01, 0.01]``, or ``start_V = stop_V`` with
    ``n > 1``) gives independent replicas: its k-th occurrence has ``replica = k`` (its own noise; the
    row's ``noise_replica`` column)."""
    cell = get_cell(spec.cell)
    biases = spec.bias.resolve(cell.default_bias_range(spec.params))
    seen: dict[float, int] = {}
    replicas = []
    for b in biases:
        replicas.append(seen.get(b, 0))
        seen[b] = replicas[-1] + 1
    vdds: tuple[float | None, ...] = spec.vdds_V or (None,)
    out = []
    for tier in spec.tiers:
        for corner in spec.corners:
            for temp in spec.temps_C:
                for vdd in vdds:
                    for seed in spec.seeds_at(corner):
                        for b, rep in zip(biases, replicas, strict=True):
                            out.append(SweepPoint(cell=spec.cell, bias_V=b, corner=corner, mc_seed=seed,
                                                  temp_C=temp, vdd_V=vdd, params=dict(spec.params),
                                                  noise_seed=spec.noise_seed, tier=tier, replica=rep))
    return out


#: Fixed cost of one ngspice session (model parse and elaboration, operating point, reading the noise files,
#: plus building the job and its noise files in the parent) in units of the cost of one bias point.
#: Measured (``benchmarks/bench_circuits.py --only split``): latch quick (0.16 s + 0.12 s) / 0.35 s = 0.8,
#: StrongARM quick (0.26 s + 0.08 s) / 1.04 s = 0.33.
SESSION_OVERHEAD_POINTS = 0.5


def _chunk_sizes(n: int, size: int) -> list[int]:
    n_chunks = math.ceil(n / size)
    return [len(range(i, n, n_chunks)) for i in range(n_chunks)]


def _makespan(costs: list[float], workers: int) -> float:
    """Longest-processing-time-first schedule of ``costs`` on ``workers`` (what a pool of that size does
    when the longest sessions are submitted first; a good estimate otherwise)."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def group_points(points: list[SweepPoint], *, max_points_per_job: int = 16, min_jobs: int = 1,
                 session_overhead: float = SESSION_OVERHEAD_POINTS) -> list[list[SweepPoint]]:
    """Split points into ngspice sessions for ``min_jobs`` workers.

    Points of one group (equal ``group_key``: they differ only in ``bias_V``) may share a session. Every
    group is cut into balanced, interleaved chunks (each spanning the group's bias range) of at most
    ``size`` points, with one ``size`` for all groups, chosen to minimize the estimated wall time

    ``T(size) = makespan over min_jobs workers of the session costs  session_overhead + n_points``

    (costs in units of one bias point; ties go to the larger size, i.e. fewer sessions and less CPU).
    Predicted-tier groups are not split (one analysis gives all their points; at most
    ``max_points_per_job`` per session still holds). So a
    single device's 9-point sweep on 2 workers runs as sessions of 5 and 4 points; 3 devices on 2 workers
    as 6 sessions (wall 2 x 5.5 instead of 2 x 9.5 points); 10 devices on 2 workers stay one session each.
    Rows do not depend on the split: each point's noise is seeded from the sweep's ``noise_seed`` and the
    point's own identity (:meth:`SweepPoint.noise_seed_sequence`), whatever session it runs in, and each
    bias point is simulated from the same initial state.

    Returns
    -------
    list of lists of points, each list one session, in input order.
    """
    groups: dict[tuple, list[SweepPoint]] = {}
    for p in points:
        groups.setdefault(p.group_key(), []).append(p)
    if not groups:
        return []
    # predicted-tier sessions compute every bias point from one analysis: splitting them only repeats it
    fixed = [g for g in groups.values() if g[0].tier == "predicted"]
    split = [g for g in groups.values() if g[0].tier != "predicted"]
    fixed_costs = [session_overhead + 1.0] * len(fixed)
    cap = max(1, min(max_points_per_job, max((len(g) for g in split), default=1)))
    best: tuple[float, float, int] | None = None
    for size in range(cap, 0, -1):
        costs = fixed_costs + [session_overhead + k for g in split for k in _chunk_sizes(len(g), size)]
        key = (_makespan(costs, min_jobs), sum(costs), -size)
        if best is None or key < best:
            best = key
    size = -best[2]
    out: list[list[SweepPoint]] = []
    for g in groups.values():
        if g[0].tier == "predicted" and len(g) <= max_points_per_job:
            out.append(g)
            continue
        n_chunks = math.ceil(len(g) / (size if g[0].tier != "predicted" else max(1, max_points_per_job)))
        out.extend([g[i::n_chunks] for i in range(n_chunks)])
    return out
