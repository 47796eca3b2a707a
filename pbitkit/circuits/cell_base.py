"""The cell protocol: :class:`Cell`, :class:`SweepPoint`, :class:`JobMeta` and the row helpers.

Every p-bit cell family (built-in Python cells in :mod:`pbitkit.circuits.builtin`, data-driven netlist
cells in :mod:`pbitkit.circuits.netlist_cell`, ...) implements :class:`Cell`; the registry
(:mod:`pbitkit.circuits.registry`) finds them by name. The protocol, used by the characterization
orchestrator and documented in ``docs/contracts.md``::

    cell = get_cell("latch")
    jobs = cell.jobs(points, library=lib_for)   # SweepPoints -> SimJobs (one session per group)
    rows = cell.rows(job, result)               # (SimJob, SimResult) -> list of table rows (dicts)

A job carries its sweep group as a typed :class:`JobMeta` in ``SimJob.meta`` (covered by the job's
content hash, hence by the row-cache key); ``rows`` reads the group back from it.

Row helpers shared by every cell: :func:`base_row` (the identity columns of a row), :func:`bit_stats`
(P(1), its interval, n_eff, tau, flips and dwells from an output bit sequence), :func:`energy_columns`
and :func:`add_clock_energy`.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import math
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from pbitkit.circuits import measure
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SimJob, SimResult
from pbitkit.circuits.noise import point_seed_sequence
from pbitkit.constants import ZERO_CELSIUS_K
from pbitkit.errors import ConfigError

__all__ = [
    "SweepPoint",
    "JobMeta",
    "Cell",
    "LibraryFactory",
    "default_library",
    "base_row",
    "bit_stats",
    "energy_columns",
    "add_clock_energy",
    "independent_bit_energy",
    "N_FLIPS_KEY",
    "MAX_TIME_STEPS",
    "check_param",
    "check_time_steps",
    "TABLE_COLUMNS",
]

#: Columns of the characterization table (docs/contracts.md), in order; ``param_*`` columns follow.
TABLE_COLUMNS: tuple[str, ...] = (
    "cell", "tier", "corner", "mc_seed", "temp_C", "vdd_V", "bias_V", "n_samples", "n_ones", "p1",
    "p1_lo", "p1_hi", "n_eff", "tau_corr_s", "flip_rate_Hz", "rate_up_Hz", "rate_down_Hz",
    "mean_dwell_high_s", "mean_dwell_low_s", "energy_per_bit_J", "energy_per_flip_J", "static_power_W",
    "dynamic_energy_per_bit_J", "energy_per_independent_bit_J", "sample_period_s", "sim_time_s", "cpu_time_s",
    "status", "error",
)

#: Key of the flip count :func:`bit_stats` puts into its result (pop it before the row is returned).
N_FLIPS_KEY = "_n_flips"

#: Upper bound of transient time steps (noise-table samples) per bias point. The default cells use
#: 0.8e4 to 5e4; 2e6 steps already make an ~80 MB noise table per source and point.
MAX_TIME_STEPS = 2_000_000


def check_param(cell: str, name: str, value: float, lo: float, hi: float, *, lo_open: bool = False,
                integer: bool = False) -> None:
    """Raise ``ConfigError`` naming ``cell`` and parameter ``name`` unless ``lo <= value <= hi`` (``lo <
    value`` with ``lo_open``) and, with ``integer``, ``value`` is a whole number."""
    ok = (lo < value if lo_open else lo <= value) and value <= hi and (not integer or float(value).is_integer())
    if not ok:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"cell {cell}: parameter {name} must be {kind} in {'(' if lo_open else '['}{lo:g}, {hi:g}], "
                          f"got {value!r}")


def check_time_steps(cell: str, what: str, t_stop_s: float, dt_s: float) -> None:
    """Raise ``ConfigError`` if a transient of ``t_stop_s`` with step ``dt_s`` has more than
    :data:`MAX_TIME_STEPS` steps (``what`` names the parameters involved)."""
    n = t_stop_s / dt_s
    if not n <= MAX_TIME_STEPS:
        raise ConfigError(f"cell {cell}: {what} make {n:.3g} time steps per bias point, at most {MAX_TIME_STEPS:g} "
                          "(a longer record or a coarser step)")


# --------------------------------------------------------------------------------------------------
# sweep points


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One point of a characterization sweep.

    ``vdd_V=None`` takes the cell's default supply; ``params`` override the cell's default parameters
    (unknown names raise). ``mc_seed=-1`` is the nominal device (no mismatch). ``tier`` is
    ``"transient"`` (measured) or ``"predicted"`` (see ``predict.py``).

    Noise: every transient point gets its own noise realization, seeded by
    :meth:`noise_seed_sequence` from ``noise_seed`` *and* the point's identity (device, conditions,
    parameters, tier, ``bias_V``, ``replica``), so the points of a sweep have independent noise and a row
    does not depend on how points are grouped into sessions. ``replica`` (default 0) tells apart repeated
    points at the same bias (independent repeats; it is the row's ``noise_replica`` column).
    """

    cell: str
    bias_V: float
    corner: str = "tt"
    mc_seed: int = -1
    temp_C: float = 27.0
    vdd_V: float | None = None
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    noise_seed: int = 0
    tier: Literal["transient", "predicted"] = "transient"
    replica: int = 0

    def __post_init__(self) -> None:
        if self.tier not in ("transient", "predicted"):
            raise ConfigError(f"SweepPoint.tier must be 'transient' or 'predicted', got {self.tier!r}")
        if not isinstance(self.mc_seed, int) or self.mc_seed < -1:
            raise ConfigError(f"SweepPoint.mc_seed must be an int >= -1, got {self.mc_seed!r}")
        if not isinstance(self.noise_seed, int) or self.noise_seed < 0:
            raise ConfigError(f"SweepPoint.noise_seed must be an int >= 0, got {self.noise_seed!r}")
        if not isinstance(self.replica, int) or self.replica < 0:
            raise ConfigError(f"SweepPoint.replica must be an int >= 0, got {self.replica!r}")
        if not -ZERO_CELSIUS_K < self.temp_C < 200:
            raise ConfigError(f"SweepPoint.temp_C out of range: {self.temp_C}")
        object.__setattr__(self, "params", dict(self.params))

    def group_key(self) -> tuple:
        """Points with equal keys share one ngspice session (they differ only in ``bias_V``)."""
        return (self.cell, self.corner, self.mc_seed, self.temp_C, self.vdd_V,
                tuple(sorted(self.params.items())), self.noise_seed, self.tier)

    def noise_identity(self) -> str:
        """Canonical text of what makes this point distinct, apart from ``noise_seed`` (JSON, sorted
        keys, floats as ``repr``): cell, corner, mc_seed, temp_C, vdd_V, params, tier, bias_V, replica."""
        return json.dumps({"cell": self.cell, "corner": self.corner, "mc_seed": self.mc_seed,
                           "temp_C": repr(float(self.temp_C)),
                           "vdd_V": None if self.vdd_V is None else repr(float(self.vdd_V)),
                           "params": {k: repr(float(v)) for k, v in sorted(self.params.items())},
                           "tier": self.tier, "bias_V": repr(float(self.bias_V)), "replica": self.replica},
                          sort_keys=True)

    def noise_seed_sequence(self) -> np.random.SeedSequence:
        """This point's own noise seed: :func:`pbitkit.circuits.noise.point_seed_sequence` of
        ``noise_seed`` and :meth:`noise_identity`."""
        return point_seed_sequence(self.noise_seed, self.noise_identity())


# --------------------------------------------------------------------------------------------------
# job metadata


def _json_value(where: str, v: Any) -> Any:
    """``v`` as plain JSON data (tuples for lists, so the metadata stays immutable); raises otherwise."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_json_value(where, x) for x in (v.tolist() if isinstance(v, np.ndarray) else v))
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ConfigError(f"JobMeta.extra[{where!r}]: expected JSON data (numbers, strings, lists), got {type(v).__name__}")


@dataclasses.dataclass(frozen=True)
class JobMeta:
    """The sweep group one :class:`~pbitkit.circuits.ngspice.SimJob` simulates (``SimJob.meta``).

    Attributes
    ----------
    cell, corner, mc_seed, temp_C, noise_seed, tier
        Shared by every point of the group (see :class:`SweepPoint`).
    vdd_V
        The supply actually simulated (V): the points' ``vdd_V`` or the cell's default.
    params
        The cell's parameters after overrides (read-only mapping).
    bias_V, replica
        Per point, in the session's order: bias (V) and noise replica.
    extra
        Cell-specific values the rows need (JSON data only, read-only), e.g. the predicted tier's bias
        staircase ``"stair"``.

    The canonical JSON (:meth:`canonical_json`) enters :meth:`SimJob.content_hash`, so the row cache
    key covers every field.
    """

    cell: str
    corner: str
    mc_seed: int
    temp_C: float
    vdd_V: float
    noise_seed: int
    tier: Literal["transient", "predicted"]
    bias_V: tuple[float, ...]
    replica: tuple[int, ...]
    params: Mapping[str, float]
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bias_V", tuple(float(b) for b in self.bias_V))
        object.__setattr__(self, "replica", tuple(int(r) for r in self.replica))
        if len(self.bias_V) != len(self.replica) or not self.bias_V:
            raise ConfigError(f"JobMeta: {len(self.bias_V)} bias values and {len(self.replica)} replicas; "
                              "need one replica per bias value and at least one point")
        object.__setattr__(self, "params", types.MappingProxyType(dict(self.params)))
        object.__setattr__(self, "extra", types.MappingProxyType(
            {str(k): _json_value(str(k), v) for k, v in self.extra.items()}))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # read-only mappings do not pickle: rebuild from plain dicts (jobs travel to worker processes)
        return (type(self), (self.cell, self.corner, self.mc_seed, self.temp_C, self.vdd_V, self.noise_seed,
                             self.tier, self.bias_V, self.replica, dict(self.params), dict(self.extra)))

    @classmethod
    def from_points(cls, pts: Sequence[SweepPoint], vdd_V: float, params: Mapping[str, float],
                    **extra: Any) -> JobMeta:
        """The metadata of a session simulating ``pts`` (one group: they differ only in bias/replica)."""
        p0 = pts[0]
        return cls(cell=p0.cell, corner=p0.corner, mc_seed=p0.mc_seed, temp_C=p0.temp_C, vdd_V=vdd_V,
                   noise_seed=p0.noise_seed, tier=p0.tier, bias_V=tuple(pt.bias_V for pt in pts),
                   replica=tuple(pt.replica for pt in pts), params=params, extra=extra)

    @property
    def label(self) -> str:
        """Short human-readable name of the session, e.g. ``"latch tt mc-1 27C 0.085V n=9"``."""
        return (f"{self.cell} {self.corner} mc{self.mc_seed} {self.temp_C:g}C {self.vdd_V:g}V "
                f"n={len(self.bias_V)}{'' if self.tier == 'transient' else ' ' + self.tier}")

    def canonical_json(self) -> str:
        """Every field as sorted-key JSON (floats as ``repr``): what the job's content hash covers."""
        return json.dumps({"cell": self.cell, "corner": self.corner, "mc_seed": self.mc_seed,
                           "temp_C": self.temp_C, "vdd_V": self.vdd_V, "noise_seed": self.noise_seed,
                           "tier": self.tier, "bias_V": list(self.bias_V), "replica": list(self.replica),
                           "params": dict(self.params), "extra": dict(self.extra)}, sort_keys=True)


LibraryFactory = Callable[[str, bool], ModelLibrary]


def default_library(corner: str, mismatch: bool) -> ModelLibrary:
    """The default :data:`LibraryFactory`: the slim sky130 library of ``corner`` (with mismatch)."""
    return get_library("sky130", corner, mismatch=mismatch)


# --------------------------------------------------------------------------------------------------
# row helpers


def base_row(meta: JobMeta, bias_V: float) -> dict[str, Any]:
    """A table row for one point of ``meta``'s group: every :data:`TABLE_COLUMNS` column NaN, the identity
    columns filled (cell, tier, corner, mc_seed, temp_C, vdd_V, ``bias_V``), ``status = "ok"``, and one
    ``param_<name>`` column per cell parameter."""
    row: dict[str, Any] = {c: math.nan for c in TABLE_COLUMNS}
    row.update(cell=meta.cell, tier=meta.tier, corner=meta.corner, mc_seed=meta.mc_seed,
               temp_C=meta.temp_C, vdd_V=meta.vdd_V, bias_V=bias_V, status="ok", error="")
    for k, v in meta.params.items():
        row[f"param_{k}"] = v
    return row


def bit_stats(bits: np.ndarray, ts: float, flip_bits: np.ndarray | None = None) -> dict[str, Any]:
    """Bit-sequence columns of a row from output bits sampled every ``ts`` seconds.

    P(1) with its n_eff-corrected Wilson interval, ``n_eff``, ``tau_corr_s = tau_int * ts / 2``
    (:func:`pbitkit.circuits.measure.p1_estimate`), and flip rate, telegraph rates and mean dwells
    (:func:`pbitkit.circuits.measure.dwell_stats`) from ``flip_bits`` (default ``bits``; e.g. a Schmitt-
    triggered sequence). Also the flip count under :data:`N_FLIPS_KEY` (for :func:`energy_columns`;
    pop it before returning the row).

    Parameters
    ----------
    bits : (n,) uint8 in {0, 1}.
    ts : sample period (s).
    flip_bits : (n,) uint8 or None.
    """
    est = measure.p1_estimate(bits)
    ds = measure.dwell_stats(bits if flip_bits is None else flip_bits, ts)
    tau_s = est.tau_int * ts / 2 if math.isfinite(est.tau_int) else math.nan
    return {"n_samples": est.n_samples, "n_ones": est.n_ones, "p1": est.p1, "p1_lo": est.p1_lo,
            "p1_hi": est.p1_hi, "n_eff": est.n_eff, "tau_corr_s": tau_s, "flip_rate_Hz": ds.flip_rate_Hz,
            "rate_up_Hz": ds.rate_up_Hz, "rate_down_Hz": ds.rate_down_Hz,
            "mean_dwell_high_s": ds.mean_dwell_high_s, "mean_dwell_low_s": ds.mean_dwell_low_s,
            N_FLIPS_KEY: ds.n_flips}


def energy_columns(es: measure.EnergySplit, n_bits: int, n_flips: int) -> dict[str, float]:
    """Energy columns of a row from the energy over the record (J): per output bit, per flip, static
    power (W) and dynamic energy per bit (NaN where the count is 0)."""
    return {"energy_per_bit_J": es.energy_J / n_bits if n_bits else math.nan,
            "energy_per_flip_J": es.energy_J / n_flips if n_flips else math.nan,
            "static_power_W": es.static_power_W,
            "dynamic_energy_per_bit_J": es.dynamic_energy_J / n_bits if n_bits else math.nan}


def add_clock_energy(row: dict[str, Any], es: measure.EnergySplit, t: np.ndarray, i_clk: np.ndarray,
                     v_clk_V: float, n_bits: int) -> measure.EnergySplit:
    """Add a clock source's drive to a cell's supply energy ``es`` (J over the record).

    The clock energy is the charge the clock source delivers times ``v_clk_V`` (what a CMOS clock buffer
    would draw from its supply), counted as dynamic energy: ``E_clk = V_clk * integral max(-i_clk, 0) dt``.
    Writes ``supply_energy_per_bit_J`` and ``clock_energy_per_bit_J`` into ``row``; returns the combined split.
    """
    e_clk = v_clk_V * float(np.trapezoid(np.maximum(-np.real(i_clk), 0.0), t))
    row["supply_energy_per_bit_J"] = es.energy_J / n_bits
    row["clock_energy_per_bit_J"] = e_clk / n_bits
    return measure.EnergySplit(es.energy_J + e_clk, es.duration_s, es.static_power_W, es.dynamic_energy_J + e_clk)


def independent_bit_energy(energy_per_bit_J: float, tau_corr_s: float, sample_period_s: float) -> float:
    """Energy per *independent* output bit (J): ``energy_per_bit_J * max(1, tau_int)``.

    ``tau_int = 2 tau_corr_s / sample_period_s`` is the integrated autocorrelation time of the output bits in
    reads (the inverse of :func:`bit_stats`' ``tau_corr_s = tau_int ts / 2``): a sequence of ``n`` reads
    holds ``n / tau_int`` independent bits, so each costs ``tau_int`` reads; a read never yields more than one
    bit. NaN if any input is missing.
    """
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (energy_per_bit_J, tau_corr_s,
                                                                           sample_period_s)) or sample_period_s <= 0:
        return math.nan
    return energy_per_bit_J * max(1.0, 2.0 * tau_corr_s / sample_period_s)


# --------------------------------------------------------------------------------------------------
# cells


class Cell(abc.ABC):
    """A p-bit cell: defaults, netlist rendering, SweepPoints -> SimJobs -> table rows.

    Subclasses set ``name``, ``description``, ``default_vdd_V`` and ``defaults`` and implement
    :meth:`default_bias_range`, :meth:`_job` and :meth:`_transient_rows` (and, for a predicted tier,
    :meth:`_predicted_job` / :meth:`_predicted_rows`). Jobs must carry ``meta=JobMeta.from_points(...)``.

    Metadata for ``pbitkit cells`` (:mod:`pbitkit.circuits.cells_cli`): ``topology``, ``noise_source`` and
    ``noise_description`` (one line each), ``all_transistor`` (declared; checked against :func:`pbitkit.circuits.audit.
    audit_all_transistor` of :meth:`default_netlist` with ``port_nodes`` by a test), and ``card``: a
    characterization card under ``pbitkit/data`` giving the listed tau and energies ("" = not characterized).
    """

    name: str = ""
    description: str = ""
    default_vdd_V: float = 1.8
    #: where the randomness comes from: ``"transistor"`` (the cell's own FETs, noise from the device physics),
    #: ``"behavioural"`` (an ideal source or amplifier whose power is not counted) or ``"undeclared"``; the
    #: energy ledger marks the cell's energy incomplete unless it is ``"transistor"``
    noise_source: str = "undeclared"
    #: default parameters (SI units / µm in the names)
    defaults: Mapping[str, float] = {}
    #: one-line circuit topology (``pbitkit cells``)
    topology: str = ""
    #: one line on how the noise is made (``pbitkit cells``; ``noise_source`` is the ledger's category)
    noise_description: str = ""
    #: whether every element is a transistor, a port source, noise injection or an explicit capacitor
    all_transistor: bool = False
    #: nodes driven by port voltage sources (supplies, bias, clock): the audit's allowed V-source nodes
    port_nodes: tuple[str, ...] = ()
    #: characterization card under ``pbitkit/data`` (tau, energies for ``pbitkit cells``); "" = none
    card: str = ""
    #: predicted-tier search for a device's centre (:func:`pbitkit.circuits.centering.predict_centre`): grids of
    #: ``centering_points`` bias values over +-span default-range widths around the range's midpoint, one
    #: span after the other until P(1) crosses 1/2 (a cell whose bias port only works over a bounded range,
    #: or whose predicted tier costs a DC sweep per bias value, narrows them)
    centering_spans: tuple[float, ...] = (20.0, 200.0)
    centering_points: int = 4001

    def params(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Default parameters updated by ``overrides``, checked by :meth:`check_params`.

        Raises
        ------
        ConfigError
            For an unknown name, a value that is not a finite number, or one out of its range.
        """
        out = dict(self.defaults)
        for k, v in (overrides or {}).items():
            if k not in out:
                raise ConfigError(f"cell {self.name}: unknown parameter {k!r}; known: {sorted(out)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"cell {self.name}: parameter {k} must be a finite number, got {v!r}")
            out[k] = float(v)
        self.check_params(out)
        return out

    def check_params(self, p: Mapping[str, float]) -> None:
        """Raise ``ConfigError`` naming the parameter if ``p`` (complete) cannot be simulated: sizes,
        times and counts out of range, too many time steps (:data:`MAX_TIME_STEPS`). Default: no check."""

    @abc.abstractmethod
    def default_bias_range(self, params: Mapping[str, float] | None = None) -> tuple[float, float]:
        """Bias range (V) spanning P(1) ~ 0.02...0.98 for the nominal cell at its defaults."""
        ...

    def default_netlist(self, library: ModelLibrary | None = None) -> str:
        """The cell's circuit at its defaults (nominal ``tt`` device, 27 °C, bias at the centre of
        :meth:`default_bias_range`), without analysis: what ``pbitkit cells show NAME`` prints.

        Raises
        ------
        ConfigError
            If the cell cannot render itself without a sweep point.
        """
        raise ConfigError(f"cell {self.name} cannot render a default netlist")

    def default_bias_points(self, n: int = 9, params: Mapping[str, float] | None = None) -> np.ndarray:
        """``n`` bias values (V) evenly over :meth:`default_bias_range`."""
        lo, hi = self.default_bias_range(params)
        return np.linspace(lo, hi, n)

    def supply(self, pts: Sequence[SweepPoint]) -> float:
        """The supply (V) of a session: the points' ``vdd_V`` or the cell's default."""
        return pts[0].vdd_V if pts[0].vdd_V is not None else self.default_vdd_V

    # -- jobs -----------------------------------------------------------------------------------
    def jobs(self, points: Sequence[SweepPoint], library: LibraryFactory | None = None,
             timeout_s: float = 300.0) -> list[SimJob]:
        """One :class:`SimJob` per group of points that differ only in ``bias_V`` (one ngspice session
        loops over the bias values with ``alter``: models and mismatch draws are parsed once)."""
        library = library or default_library
        groups: dict[tuple, list[SweepPoint]] = {}
        for pt in points:
            if pt.cell != self.name:
                raise ConfigError(f"SweepPoint for cell {pt.cell!r} given to cell {self.name!r}")
            groups.setdefault(pt.group_key(), []).append(pt)
        out = []
        for pts in groups.values():
            lib = library(pts[0].corner, pts[0].mc_seed >= 0)
            if pts[0].tier == "predicted":
                out.append(self._predicted_job(pts, lib, timeout_s))
            else:
                out.append(self._job(pts, lib, timeout_s))
        return out

    @abc.abstractmethod
    def _job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        ...

    def _predicted_job(self, pts: list[SweepPoint], lib: ModelLibrary, timeout_s: float) -> SimJob:
        raise ConfigError(f"cell {self.name} has no predicted tier; use tiers = ['transient']")

    @staticmethod
    def job_meta(job: SimJob) -> JobMeta:
        """The :class:`JobMeta` a cell attached to ``job``; ``ConfigError`` if there is none."""
        if not isinstance(job.meta, JobMeta):
            raise ConfigError(f"SimJob {job.label!r} carries no JobMeta: it was not made by a pbitkit Cell")
        return job.meta

    def rows(self, job: SimJob, result: SimResult) -> list[dict[str, Any]]:
        """Table rows (docs/contracts.md columns + ``param_*``) for a finished job (either tier).

        Transient rows also carry their output bit sequences, encoded under the private key
        :data:`pbitkit.circuits.bits.BITS_KEY` (``characterize`` moves them into ``bits.npz``; it is never a
        table column)."""
        meta = self.job_meta(job)
        if meta.tier == "predicted":
            rows = self._predicted_rows(meta, result)
        else:
            rows = self._transient_rows(meta, result)
        for r, rep in zip(rows, meta.replica, strict=True):
            r["noise_replica"] = rep
            r["energy_per_independent_bit_J"] = independent_bit_energy(
                r.get("energy_per_bit_J", math.nan), r.get("tau_corr_s", math.nan), r.get("sample_period_s", math.nan))
        return rows

    def _transient_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        raise TypeError(f"{type(self).__name__} must implement _transient_rows() or override rows()")

    def _predicted_rows(self, meta: JobMeta, result: SimResult) -> list[dict[str, Any]]:
        raise ConfigError(f"cell {self.name} has no predicted tier; use tiers = ['transient']")

    def failed_rows(self, job: SimJob, status: str, error: str) -> list[dict[str, Any]]:
        """Rows marking every point of ``job`` as failed/timeout with ngspice's message."""
        meta = self.job_meta(job)
        rows = []
        for b, rep in zip(meta.bias_V, meta.replica, strict=True):
            r = base_row(meta, b)
            r.update(status=status, error=error, noise_replica=rep)
            rows.append(r)
        return rows
