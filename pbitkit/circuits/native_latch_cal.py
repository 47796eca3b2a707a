"""Per-die calibration of a ``native_latch`` array's core supply (and core n-well) through its generator.

The core supply that makes the ``native_latch`` core a p-bit — bistable enough that its read bits follow a
sigmoid of the bias, not so bistable that it freezes — moves by tens of mV between process corners and
with temperature. Each die sets it with the transistor-level generator of :mod:`pbitkit.circuits.supply_gen`
(string DAC + native follower; optionally its well selector for the core pFETs' common n-well). This module
chooses the die's codes, using only what a chip observes: the read bits of a cell (P(1) and flip counts).

**Band** (:class:`Band`): a die works when, at ``bias = ref ∓ half_span_V``, P(1) of the reads is at most
``p_lo`` and at least ``p_hi`` (the sigmoid spans ``p_lo … p_hi`` over the bias range), and at
``bias = ref`` the reads flip at least ``min_flips`` times in ``t_check_s`` (a telegraph of correlation time
τ flips ≈ T / 2τ times: with the defaults τ ≲ 10 µs), and the core is bistable: its own correlation time at
``ref`` (counted on a replica read every 10 ns) is at least ``tau_core_min_s`` (30 ns; a monostable core
relaxes in ~7 ns). The calibration aims inside the band with a margin
(``p_lo_cal``, ``p_hi_cal``) so an independent measurement still lands in it; a short record outside the aim
but not outside the band by ``z_margin`` standard errors is extended (``extend_factor`` times longer) and
passes when the pooled P(1) is inside the band by ``z_margin`` standard errors (of the effective number
of reads).

**Procedure** (:func:`calibrate_die_supply`), for each readout setting (``vddr_V``, ``ro_nwell_V``; cheapest
first, each auto-zeroed with :func:`pbitkit.circuits.native_latch_trim.readout_null` at the die's own core
supply: the lowest code's for the search, again at the chosen code's before the final checks) and each
well setting
(wells at the core supply first: no body bias; then the well line at the string's tap 0, ground — forward
body bias of ``V_core`` on the core pFETs, which the sf corner needs):

0. one record at ``ref`` at the lowest code: if the reads do not flip there (the most monostable core), the
   readout is stuck and the next readout setting is tried (a forward-biased well only makes the core more
   bistable);
1. a search on the supply code for the **highest** code at which the reads at ``ref`` still flip
   (``min_flips_read`` in one record): the flip rate falls monotonically as the supply moves the core from
   monostable to frozen;
2. P(1) at ``ref ∓ half_span_V`` and τ_core at ``ref`` at that code (if the core is frozen there, up to
   ``frozen_backoff`` codes lower): if the sigmoid does not span or the
   core is not bistable even there (the most bistable admissible core), no code of this combination does;
3. bisection on the supply code below it for the **lowest** code whose sigmoid spans and whose core is
   bistable (the core's power
   rises steeply with its supply, so that is the cheapest setting in the band), then a ``t_check_s``
   record at ``ref`` confirms the flips (``min_flips``).

The span is not monotonic over the whole code range: far above the bifurcation the core freezes in the
state it starts in, and the ~1 nA bias pair no longer decides it (measured at tt / 27 °C: P(1) = 1 at both
ends of the bias range at the top code, 280 mV), which is why the search first bounds the code from above
by the flips.

Where a readout / well setting's core is bistable at the highest flipping code but the sigmoid does not span
there, the bias pair is too weak for the core (measured at sf / 27 °C: the cell's own bias stage draws ~25 pA
there, against ~1 nA at tt), and steps 1–3 are repeated with stronger bias-stage settings
(:data:`BIAS_STAGE_OPTIONS`: a higher bias-stage supply ``vddb_V`` and tail gate drive ``vtail_V``, both port
sources of the cell; the readout auto-zeroed again with them).

The calibration aims at τ_core ≥ ``Band.tau_core_cal_s`` (45 ns), a margin over the band's 30 ns.

The first combination that passes is the die's :class:`DieCal`; if none does, :class:`CalibrationError`
names what each combination measured.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import LibraryFactory, SweepPoint, independent_bit_energy
from pbitkit.circuits.native_latch_trim import READOUT_OPTIONS, READOUT_TRIM_DAC, readout_null, transient_rows
from pbitkit.circuits.ngspice import SimJob, SimResult, run
from pbitkit.circuits.supply_gen import GenPoint, SupplyGenSpec, gen_levels
from pbitkit.errors import ConfigError, SimulationError

__all__ = ["Band", "DieCal", "CalibrationError", "GeneratorLevels", "measure_reads", "calibrate_die_supply",
           "WELL_OPTIONS", "BIAS_STAGE_OPTIONS"]

#: Well settings tried, in order: None (core pFET wells at the core supply) and 0 (the well line at the
#: string's tap 0, ground: forward body bias of ``V_core`` on the core pFETs).
WELL_OPTIONS: tuple[int | None, ...] = (None, 0)


#: Bias-stage settings tried, in order, where a setting's core is bistable but its sigmoid does not span (the
#: bias pair too weak for the core): ``{}`` is the cell's own (``vddb_V`` 0.4 V, ``vtail_V`` 0.12 V, ~1 nA
#: at tt / 27 °C); the others raise the bias stage's supply and its tail pFET's gate drive (both are port
#: sources of the cell). Measured at sf / 27 °C (ideal 320 mV core, wells at 100 mV): the cell's own bias
#: stage draws ~25 pA there and does not move the core (P(1) ~0.45 at both ends of the bias range), 0.8 V /
#: 0.35 V draws ~1.5 nA and spans 0.00 / 0.97, 0.8 V / 0.3 V ~4 nA and spans 0.00 / 1.00.
BIAS_STAGE_OPTIONS: tuple[Mapping[str, float], ...] = ({}, {"vddb_V": 0.8, "vtail_V": 0.35},
                                                         {"vddb_V": 0.8, "vtail_V": 0.3})


def _stage_str(stage: Mapping[str, float]) -> str:
    return f"V_ddb {stage['vddb_V']:g} V / V_tail {stage['vtail_V']:g} V" if stage else "the cell's own"


def _check_bias_options(options: Sequence[Mapping[str, float]]) -> None:
    if not options:
        raise ConfigError("calibrate_die_supply: bias_options must hold at least one setting ({} = the cell's own)")
    for o in options:
        if not isinstance(o, Mapping) or (o and set(o) != {"vddb_V", "vtail_V"}):
            raise ConfigError(f"calibrate_die_supply: each of bias_options must be {{}} or have exactly the keys "
                              f"vddb_V, vtail_V; got {o!r}")
        if o and not (0 < o["vddb_V"] <= 1.8 and -0.5 <= o["vtail_V"] <= 1.8):
            raise ConfigError(f"calibrate_die_supply: bias_options {o!r}: need 0 < vddb_V <= 1.8 V and "
                              f"-0.5 <= vtail_V <= 1.8 V")


#: The cell accepts readout n-well trims within +-0.5 V (``ro_trim_V``), the readout DAC's span.
_RO_TRIM_MAX_V = 0.5


class CalibrationError(SimulationError):
    """No generator / readout setting puts the die in the band (the message lists what each gave)."""


def _n_eff(row: Mapping[str, float]) -> float:
    """The effective number of independent reads of a record: ``n_samples`` over the reads each independent
    bit costs (:func:`pbitkit.circuits.cell_base.independent_bit_energy` of one unit per read, ``max(1,
    tau_int)``); a record without a finite τ_corr — no flips — counts all its reads."""
    n = float(row["n_samples"])
    reads_per_bit = independent_bit_energy(1.0, float(row.get("tau_corr_s", math.nan)),
                                           float(row.get("sample_period_s", math.nan)))
    return n / reads_per_bit if math.isfinite(reads_per_bit) else n


def _se(p: float, n: float) -> float:
    """Binomial standard error of a fraction ``p`` of ``n`` reads, floored at one read's worth."""
    q = min(max(p, 1.0 / n), 1.0 - 1.0 / n)
    return math.sqrt(q * (1.0 - q) / n)


@dataclass(frozen=True)
class Band:
    """The working band of a ``native_latch`` die and the calibration's aim inside it.

    Attributes
    ----------
    p_lo, p_hi : the sigmoid must reach P(1) ≤ p_lo at ``ref - half_span_V`` and ≥ p_hi at ``ref + half_span_V``.
    p_lo_cal, p_hi_cal : the calibration's stricter aim (margin for the reads' sampling error).
    half_span_V : half the bias range (V; the cell's default range is ``ref ± 60 mV``).
    min_flips, t_check_s : at ``ref`` the reads must flip ≥ ``min_flips`` times in ``t_check_s`` (τ ≲
        ``t_check_s / (2 min_flips)``; defaults: 3 flips in 61 µs, τ ≲ 10 µs).
    min_flips_read : the search's flip criterion on one ``t_read_s`` record (2 in 21–31 µs: τ ≲ 5–8 µs, inside
        the band).
    tau_core_min_s : bistability: the core's own correlation time at ``ref`` (the sign of ``q - qb`` sampled
        every 10 ns, what a replica cell with a fast-clocked readout counts) must reach it (s). A core
        below its bifurcation relaxes in ~7 ns, and its sigmoid can still span when the ~1 nA bias pair
        dominates a weak core at a low supply (measured at ff / 27 °C: 62 mV, τ_core 7 ns): that is a
        monostable noise comparator, not a bistable latch.
    tau_core_cal_s : the calibration's aim for τ_core (s, ≥ ``tau_core_min_s``): margin for the independent
        record (measured at fs / 85 °C: a code accepted at exactly 30 ns gave 26 ns and a readout agreement
        of 0.68 on the independent record).
    t_read_s : the record length of one P(1) measurement (s; 31 µs ≈ 100 reads).
    extend_factor, z_margin : a span record outside the aim (``p_lo_cal`` / ``p_hi_cal``) but not outside the
        band (``p_lo`` / ``p_hi``) by ``z_margin`` binomial standard errors (on the effective number of reads,
        ``n / max(1, 2 τ_corr / t_s)``: a slow core's reads are correlated) is extended by a record
        ``extend_factor`` times as long at each end, and passes when the pooled P(1) lies inside the band
        by ``z_margin`` standard errors (a
        slow core's sigmoid is narrowest right below the supply where its reads stop flipping; there the
        aim's fixed margin fails on one read of a ~70-read record: measured at ss / 27 °C, P(1) 0.060 /
        0.985; on the current cell 0.104 / 0.970). ``extend_factor = 0`` turns the extension off.
    frozen_backoff : if the core is frozen at the highest flipping code (its sign never changes in the span
        record at ``ref``: the flip search's record there was near the cliff), step 2 moves down one code
        at a time, at most this many times (measured at tt / 0 °C: 5 read flips at 140.3 mV, then a frozen
        core in the span record).
    """

    p_lo: float = 0.1
    p_hi: float = 0.9
    p_lo_cal: float = 0.05
    p_hi_cal: float = 0.95
    half_span_V: float = 0.06
    min_flips: int = 3
    min_flips_read: int = 2
    tau_core_min_s: float = 30e-9
    tau_core_cal_s: float = 45e-9
    t_check_s: float = 61e-6
    t_read_s: float = 31e-6
    extend_factor: int = 3
    z_margin: float = 2.0
    frozen_backoff: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.p_lo_cal <= self.p_lo < 0.5 < self.p_hi <= self.p_hi_cal < 1:
            raise ConfigError(f"Band: need 0 < p_lo_cal <= p_lo < 0.5 < p_hi <= p_hi_cal < 1, got {self}")
        if not 0 < self.half_span_V <= 0.5:
            raise ConfigError(f"Band.half_span_V must be in (0, 0.5] V, got {self.half_span_V!r}")
        for k in ("min_flips", "min_flips_read"):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"Band.{k} must be an int >= 1, got {v!r}")
        if not isinstance(self.extend_factor, int) or isinstance(self.extend_factor, bool) or \
                not 0 <= self.extend_factor <= 20:
            raise ConfigError(f"Band.extend_factor must be an int in 0..20, got {self.extend_factor!r}")
        if not isinstance(self.frozen_backoff, int) or isinstance(self.frozen_backoff, bool) or \
                not 0 <= self.frozen_backoff <= 16:
            raise ConfigError(f"Band.frozen_backoff must be an int in 0..16, got {self.frozen_backoff!r}")
        if not 0 <= self.z_margin <= 5:
            raise ConfigError(f"Band.z_margin must be in [0, 5], got {self.z_margin!r}")
        if not 0 <= self.tau_core_min_s < 1e-6:
            raise ConfigError(f"Band.tau_core_min_s must be in [0, 1 us), got {self.tau_core_min_s!r}")
        if not self.tau_core_min_s <= self.tau_core_cal_s < 1e-6:
            raise ConfigError(f"Band.tau_core_cal_s must be in [tau_core_min_s, 1 us), got {self.tau_core_cal_s!r}")
        for k in ("t_check_s", "t_read_s"):
            if not 10e-6 <= getattr(self, k) <= 1e-3:
                raise ConfigError(f"Band.{k} must be in 10 us .. 1 ms, got {getattr(self, k)!r}")

    def inside(self, p_lo: float, n_lo: float, p_hi: float, n_hi: float) -> bool:
        """Whether P(1) ``p_lo`` / ``p_hi`` measured on ``n_lo`` / ``n_hi`` reads lie inside the band by
        ``z_margin`` binomial standard errors (the standard error floored at one read's worth)."""
        return p_lo + self.z_margin * _se(p_lo, n_lo) <= self.p_lo and p_hi - self.z_margin * _se(p_hi, n_hi) >= self.p_hi

    def undecided(self, p_lo: float, n_lo: float, p_hi: float, n_hi: float) -> bool:
        """Whether P(1) ``p_lo`` / ``p_hi`` on ``n_lo`` / ``n_hi`` reads may still be inside the band: not
        outside it by ``z_margin`` standard errors (a longer record decides)."""
        return p_lo - self.z_margin * _se(p_lo, n_lo) <= self.p_lo and p_hi + self.z_margin * _se(p_hi, n_hi) >= self.p_hi

    @property
    def tau_max_s(self) -> float:
        """The correlation time the flip criterion admits (s)."""
        return self.t_check_s / (2 * self.min_flips)


class GeneratorLevels:
    """The generator's output per code at one die (corner, temperature, array size), from ngspice.

    A calibration visits ~10 codes one after another, and each generator session costs about a minute on a
    loaded machine (most of it setting up the 382 devices), so the levels of a grid of codes come from one
    session per well setting (default: every code, so every level is exact) and are interpolated linearly
    between grid codes otherwise; :meth:`exact` simulates a code off the grid on its own.

    Parameters
    ----------
    grid_step : every ``grid_step``-th code (and the top one) is simulated. grid_codes : an explicit list
        instead (e.g. a narrowed search window).
    """

    def __init__(self, corner: str, temp_C: float, n_cells: int, spec: SupplyGenSpec | None = None,
                 library: LibraryFactory | None = None, grid_step: int = 1,
                 grid_codes: Sequence[int] | None = None) -> None:
        self.corner, self.temp_C, self.n_cells = corner, float(temp_C), n_cells
        self.spec = spec or SupplyGenSpec()
        self.library = library
        if not isinstance(grid_step, int) or not 1 <= grid_step <= self.spec.n_codes // 2:
            raise ConfigError(f"GeneratorLevels.grid_step must be an int in 1..{self.spec.n_codes // 2}, got {grid_step!r}")
        top = self.spec.n_codes - 1
        codes = sorted(set(range(0, top, grid_step)) | {top}) if grid_codes is None else sorted(set(grid_codes))
        if len(codes) < 2 or not all(isinstance(c, int) and 0 <= c <= top for c in codes):
            raise ConfigError(f"GeneratorLevels.grid_codes must hold >= 2 codes in 0..{top}, got {grid_codes!r}")
        self._codes = codes
        self._grid: dict[int | None, list[GenPoint]] = {}
        self._exact: dict[tuple[int, int | None], GenPoint] = {}

    def grid(self, well_code: int | None) -> list[GenPoint]:
        """The simulated grid of codes (one session per well setting)."""
        if well_code not in self._grid:
            self._grid[well_code] = gen_levels(self._codes, corner=self.corner, temp_C=self.temp_C,
                                               n_cells=self.n_cells, well_code=well_code, spec=self.spec,
                                               library=self.library)
        return self._grid[well_code]

    def point(self, code: int, well_code: int | None) -> GenPoint:
        """The level at ``code``: exact if simulated, else interpolated on the grid."""
        if (code, well_code) in self._exact:
            return self._exact[(code, well_code)]
        g = self.grid(well_code)
        codes = [p.code for p in g]
        if code in codes:
            return g[codes.index(code)]
        if not codes[0] < code < codes[-1]:
            return self.exact(code, well_code)
        k = max(i for i, c in enumerate(codes) if c < code)
        a, b = g[k], g[k + 1]
        w = (code - a.code) / (b.code - a.code)

        def lerp(x: float, y: float) -> float:
            return x + w * (y - x)
        return GenPoint(code=code, well_code=well_code, v_core_V=lerp(a.v_core_V, b.v_core_V),
                        v_gate_V=lerp(a.v_gate_V, b.v_gate_V), v_well_V=lerp(a.v_well_V, b.v_well_V),
                        i_load_A=lerp(a.i_load_A, b.i_load_A), p_gen_W=lerp(a.p_gen_W, b.p_gen_W),
                        p_quiescent_W=lerp(a.p_quiescent_W, b.p_quiescent_W))

    def exact(self, code: int, well_code: int | None) -> GenPoint:
        """The level at ``code``: the grid's if simulated there, else from its own ngspice session."""
        g = self._grid.get(well_code, [])
        for p in g:
            if p.code == code:
                return p
        if (code, well_code) not in self._exact:
            (pt,) = gen_levels([code], corner=self.corner, temp_C=self.temp_C, n_cells=self.n_cells,
                               well_code=well_code, spec=self.spec, library=self.library)
            self._exact[(code, well_code)] = pt
        return self._exact[(code, well_code)]


def _cell_params(pt: GenPoint, readout: Mapping[str, float]) -> dict[str, float]:
    nwell = 0.0 if pt.well_code is None else pt.v_well_V - pt.v_core_V
    return {**readout, "nwell_V": nwell}


def measure_reads(pt: GenPoint, readout: Mapping[str, float], biases_V: Sequence[float], *, corner: str,
                  temp_C: float, t_stop_s: float, noise_seed: int, replica: int = 0, workers: int = 2,
                  library: LibraryFactory | None = None,
                  runner: Callable[[SimJob], SimResult] = run) -> list[dict[str, float]]:
    """Transient records of the cell on the generator's output ``pt`` (its core supply and well) with the
    readout settings ``readout`` (``vddr_V``, ``ro_nwell_V``, ``ro_trim_V``): one row per bias (P(1) of the
    reads, flip count, τ_corr, energies)."""
    prm = {**_cell_params(pt, readout), "t_stop_s": t_stop_s}
    pts = [SweepPoint("native_latch", float(b), corner=corner, temp_C=temp_C, vdd_V=pt.v_core_V, params=prm,
                      noise_seed=noise_seed, replica=replica) for b in biases_V]
    rows = transient_rows(pts, library=library, workers=workers, runner=runner, purpose="calibration")
    for row in rows:
        row["n_flips"] = float(row["flip_rate_Hz"]) * float(row["n_samples"]) * float(row["sample_period_s"])
    return rows


@dataclass(frozen=True)
class DieCal:
    """The calibrated settings of one die and what the calibration measured.

    Attributes
    ----------
    corner, temp_C, n_cells : the die and its array size (the generator's load).
    code, well_code : the generator's supply code and well code (None: wells at the core supply).
    point : the generator's operating point at those codes.
    readout : cell parameters of the readout (``vddr_V``, ``ro_nwell_V``, ``ro_trim_V``).
    p1_span : P(1) of the reads at ``ref - half_span`` and ``ref + half_span`` at the chosen code.
    flips_at_ref : flips of the reads at ``ref`` in ``Band.t_check_s``.
    log : one line per measurement (what the procedure did).
    """

    corner: str
    temp_C: float
    n_cells: int
    code: int
    well_code: int | None
    point: GenPoint
    readout: dict[str, float]
    p1_span: tuple[float, float]
    flips_at_ref: float
    log: tuple[str, ...] = ()
    n_measurements: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def vdd_V(self) -> float:
        return self.point.v_core_V

    @property
    def params(self) -> dict[str, float]:
        """Cell parameters of the calibrated die (pass ``vdd_V`` as ``SweepPoint.vdd_V``)."""
        return _cell_params(self.point, self.readout)


def calibrate_die_supply(corner: str, temp_C: float, *, n_cells: int = 256, band: Band | None = None,
                         spec: SupplyGenSpec | None = None, code_range: tuple[int, int] | None = None,
                         well_options: Sequence[int | None] = WELL_OPTIONS,
                         readout_options: Sequence[tuple[float, float]] = READOUT_OPTIONS,
                         bias_options: Sequence[Mapping[str, float]] = BIAS_STAGE_OPTIONS,
                         levels: GeneratorLevels | None = None, window: int = 16, noise_seed: int = 101,
                         workers: int = 2,
                         library: LibraryFactory | None = None, log: Callable[[str], None] | None = None) -> DieCal:
    """Calibrate one die (nominal devices) at ``corner`` / ``temp_C`` (module docstring).

    Parameters
    ----------
    n_cells : the array size the generator feeds (its load and drop-out).
    code_range : the supply codes searched (inclusive; default ``2**bits / 16`` to the top: ~50 mV up).
    well_options, readout_options : the settings tried, in order (cheapest first).
    bias_options : bias-stage settings (``{}`` or ``vddb_V`` / ``vtail_V``), tried in order at a readout and
        well setting whose core is bistable at the highest flipping code but whose sigmoid does not span
        there (default :data:`BIAS_STAGE_OPTIONS`).
    levels : the generator's levels at this die (reuse across calls; default: simulated here).
    window : step 3 bisects the ``window`` codes below the highest flipping code first (if the sigmoid
        already spans at its bottom, the whole range below).

    Raises
    ------
    CalibrationError
        If no combination of well and readout settings has a supply code in the band.
    ConfigError
        For a bad code range.
    """
    band = band or Band()
    spec = spec or SupplyGenSpec()
    _check_bias_options(bias_options)
    lo_c, hi_c = code_range if code_range is not None else (spec.n_codes // 16, spec.n_codes - 1)
    if not 0 <= lo_c < hi_c < spec.n_codes:
        raise ConfigError(f"calibrate_die_supply: code_range must satisfy 0 <= lo < hi < {spec.n_codes}, "
                          f"got {code_range}")
    lv = levels or GeneratorLevels(corner, temp_C, n_cells, spec, library)
    ref = NativeLatchCell().params()["ref_V"]
    lines: list[str] = []
    count = [0]

    def say(msg: str) -> None:
        lines.append(msg)
        if log is not None:
            log(msg)

    def span(code: int, well: int | None, ro: Mapping[str, float], step: int) -> tuple[float, float, float, bool]:
        """P(1) at ref -/+ half_span, tau_core at ref, and whether the code passes (aim, or band on an extended
        record)."""
        pt = lv.point(code, well)
        ends = [ref - band.half_span_V, ref + band.half_span_V]
        rows = measure_reads(pt, ro, [ends[0], ref, ends[1]], corner=corner,
                             temp_C=temp_C, t_stop_s=band.t_read_s, noise_seed=noise_seed, replica=step,
                             workers=workers, library=library)
        count[0] += 3
        p_lo, p_hi, tau = float(rows[0]["p1"]), float(rows[2]["p1"]), float(rows[1]["tau_core_s"])
        msg = (f"code {code} (V_core {pt.v_core_V * 1e3:.2f} mV, well {well}): P(1) {p_lo:.3f} / {p_hi:.3f}, "
               f"tau_core at ref {tau * 1e9:.0f} ns")
        # a NaN tau_core: the core's sign never changed in the record (frozen): whatever flips the reads show
        # then come from the readout (measured at fs / 27 C: 76 read flips in 61 us over a frozen core)
        # the aim carries a margin over the band's tau_core_min_s (the independent record scatters around it)
        bistable = tau >= band.tau_core_cal_s
        passed = bistable and p_lo <= band.p_lo_cal and p_hi >= band.p_hi_cal
        n_lo, n_hi = _n_eff(rows[0]), _n_eff(rows[2])
        if bistable and not passed and band.extend_factor and band.undecided(p_lo, n_lo, p_hi, n_hi):
            longer = measure_reads(pt, ro, ends, corner=corner, temp_C=temp_C,
                                   t_stop_s=band.extend_factor * band.t_read_s, noise_seed=noise_seed + 2,
                                   replica=step, workers=workers, library=library)
            count[0] += 2
            n = [float(rows[0]["n_samples"]) + float(longer[0]["n_samples"]),
                 float(rows[2]["n_samples"]) + float(longer[1]["n_samples"])]
            p_lo = (p_lo * float(rows[0]["n_samples"]) + float(longer[0]["p1"]) * float(longer[0]["n_samples"])) / n[0]
            p_hi = (p_hi * float(rows[2]["n_samples"]) + float(longer[1]["p1"]) * float(longer[1]["n_samples"])) / n[1]
            # correlated reads count as fewer: the effective number of each record adds up
            n_eff = [n_lo + _n_eff(longer[0]), n_hi + _n_eff(longer[1])]
            passed = band.inside(p_lo, n_eff[0], p_hi, n_eff[1])
            msg += (f"; not decided on this record: extended {band.extend_factor}x, pooled P(1) {p_lo:.3f} / "
                    f"{p_hi:.3f} on {n[0]:.0f} / {n[1]:.0f} reads ({n_eff[0]:.0f} / {n_eff[1]:.0f} effective): "
                    f"{'inside' if passed else 'not inside'} the band by {band.z_margin:g} SE")
        say(msg)
        return p_lo, p_hi, tau, passed

    def null_code(prm: Mapping[str, float], vdd: float) -> tuple[int, str]:
        """The readout's auto-zero code at the core supply ``vdd`` (the die's), and a log line."""
        key = (prm["vddr_V"], prm["ro_nwell_V"], prm.get("vddb_V"), prm.get("vtail_V"), round(vdd, 5))
        if key not in nulls:
            try:
                nulls[key] = readout_null(corner=corner, temp_C=temp_C, params=prm, vdd_V=vdd, library=library)
            except SimulationError as e:
                nulls[key] = str(e)
            count[0] += 1
        null = nulls[key]
        mid = READOUT_TRIM_DAC.code(0.0)
        at = f"readout {prm['vddr_V']} V / {prm['ro_nwell_V']:+} V, auto-zero at V_core {vdd * 1e3:.2f} mV"
        if isinstance(null, str):
            # no flip with q = qb (the auto-zero's condition): start from the DAC's middle (no trim); the
            # reads decide whether this readout setting works
            return mid, f"{at}: does not flip ({null}); trim code {mid} (0 V)"
        if abs(READOUT_TRIM_DAC.volts(null[0])) > _RO_TRIM_MAX_V:
            return mid, (f"{at}: code {null[0]}, beyond the cell's +-{_RO_TRIM_MAX_V} V n-well trim range; trim "
                         f"code {mid} (0 V)")
        return null[0], f"{at}: code {null[0]}"

    def flips(code: int, well: int | None, ro: Mapping[str, float], step: int) -> float:
        pt = lv.point(code, well)
        (row,) = measure_reads(pt, ro, [ref], corner=corner, temp_C=temp_C, t_stop_s=band.t_read_s,
                               noise_seed=noise_seed + 1, replica=step, workers=1, library=library)
        count[0] += 1
        say(f"code {code} (V_core {pt.v_core_V * 1e3:.2f} mV, well {well}): {row['n_flips']:.0f} flips at ref "
            f"in {band.t_read_s * 1e6:.0f} us")
        return float(row["n_flips"])

    def _calibrate_setting(well: int | None, prm: Mapping[str, float], ro: Mapping[str, float], rcode: int,
                           stage: Mapping[str, float]) -> tuple[DieCal | None, str, bool]:
        """Steps 1-3 at one readout / well / bias-stage setting: the die's calibration, or None with why it
        failed and whether the failure was a bistable core whose sigmoid the bias pair does not span."""
        at = f"well {well}, readout {prm['vddr_V']} V / {prm['ro_nwell_V']:+} V" + \
            (f", bias stage {_stage_str(stage)}" if stage else "")
        # 1. the highest code at which the reads still flip (flips fall monotonically with the supply):
        #    a (workers + 1)-ary search, ``workers`` codes per round in parallel
        lo, hi = lo_c, hi_c + 1  # invariant: flips at lo (measured in step 0, or here), none at hi
        step = 0
        if stage and flips(lo_c, well, ro, 0) < band.min_flips_read:
            return None, f"{at}: the reads do not flip at the lowest code {lo_c}", False
        while hi - lo > 1:
            k = max(1, min(workers, hi - lo - 1))
            codes = sorted({lo + (hi - lo) * (j + 1) // (k + 1) for j in range(k)} - {lo, hi})
            step += 1
            with cf.ThreadPoolExecutor(len(codes)) as ex:
                n_fl = list(ex.map(lambda c: flips(c, well, ro, step), codes))
            for c, f in zip(codes, n_fl, strict=True):
                if f >= band.min_flips_read:
                    lo = c
                else:
                    hi = c
                    break
        c_max = lo
        # 2. the sigmoid must span at c_max (the slowest admissible core), else no code does
        step += 1
        p_top = span(c_max, well, ro, step)
        for _ in range(band.frozen_backoff):
            if p_top[3] or math.isfinite(p_top[2]) or c_max <= lo_c:
                break
            # the core never changed sign at ref in this record (frozen): the flip search's record at
            # c_max was near the cliff; the next code down is the most bistable admissible core
            c_max -= 1
            step += 1
            p_top = span(c_max, well, ro, step)
        if not p_top[3]:
            # bistable (with the aim's margin) but not spanning: the bias pair is too weak for this core
            weak = p_top[2] >= band.tau_core_cal_s
            return None, (f"{at}: the reads flip up to code {c_max} (V_core "
                          f"{lv.point(c_max, well).v_core_V * 1e3:.1f} mV) but there the sigmoid does not span or the "
                          f"core is not bistable: P(1) {p_top[0]:.3f} / {p_top[1]:.3f}, tau_core "
                          f"{p_top[2] * 1e9:.0f} ns"), weak
        # 3. the lowest code in lo_c..c_max whose sigmoid spans (the cheapest: power rises with the supply);
        #    the band is a few tens of mV wide, so the bisection starts ``window`` codes below c_max
        lo, hi, p_hi = max(lo_c, c_max - window), c_max, p_top
        if lo < hi:
            step += 1
            p = span(lo, well, ro, step)
            if p[3]:
                hi, p_hi, lo = lo, p, lo_c
        while hi - lo > 1:
            step += 1
            mid = (lo + hi) // 2
            p = span(mid, well, ro, step)
            if p[3]:
                hi, p_hi = mid, p
            else:
                lo = mid
        step += 1
        interp = lv.point(hi, well)
        pt = lv.exact(hi, well)
        say(f"code {hi}: exact V_core {pt.v_core_V * 1e3:.2f} mV (grid interpolation "
            f"{interp.v_core_V * 1e3:.2f} mV)")
        # the readout auto-zeroed at the chosen core supply; a changed trim code is checked on the sigmoid
        rcode_die, msg = null_code(prm, pt.v_core_V)
        say(f"well {well}, {msg}")
        if rcode_die != rcode:
            rcode, ro = rcode_die, {**prm, "ro_trim_V": READOUT_TRIM_DAC.volts(rcode_die)}
            p_hi = span(hi, well, ro, step)
            step += 1
            if not p_hi[3]:
                return None, (f"{at}: code {hi} (V_core {pt.v_core_V * 1e3:.1f} mV) leaves the band with the "
                              f"readout auto-zeroed there: P(1) {p_hi[0]:.3f} / {p_hi[1]:.3f}"), False
        (row,) = measure_reads(pt, ro, [ref], corner=corner, temp_C=temp_C, t_stop_s=band.t_check_s,
                               noise_seed=noise_seed, replica=step, workers=1, library=library)
        count[0] += 1
        n_check = float(row["n_flips"])
        say(f"code {hi}: {n_check:.0f} flips at ref in {band.t_check_s * 1e6:.0f} us (P(1) {row['p1']:.3f})")
        if n_check < band.min_flips:
            return None, (f"{at}: lowest spanning code {hi} (V_core {pt.v_core_V * 1e3:.1f} mV) is too slow: "
                          f"{n_check:.0f} flips in {band.t_check_s * 1e6:.0f} us (< {band.min_flips})"), False
        return DieCal(corner=corner, temp_C=float(temp_C), n_cells=n_cells, code=hi, well_code=well, point=pt,
                      readout=dict(ro), p1_span=(p_hi[0], p_hi[1]), flips_at_ref=n_check, log=tuple(lines),
                      n_measurements=count[0],
                      extra={"interp_error_V": interp.v_core_V - pt.v_core_V, "p1_ref": float(row["p1"]),
                             "readout_null_vdd_V": pt.v_core_V, "readout_code": float(rcode),
                             "tau_corr_s": float(row["tau_corr_s"]), "tau_core_s": p_hi[2]}), "", False

    def autozeroed(prm: Mapping[str, float], well: int | None, label: str) -> tuple[dict[str, float], int]:
        """The readout settings ``prm`` with their auto-zero trim at the die's own core supply (the lowest
        code's, where step 0 reads; re-done at the chosen code's supply), and the trim code."""
        rcode, msg = null_code(prm, lv.point(lo_c, well).v_core_V)
        say(f"{label}, {msg}")
        return {**prm, "ro_trim_V": READOUT_TRIM_DAC.volts(rcode)}, rcode

    tried = []
    nulls: dict[tuple[float | None, ...], tuple[int, tuple[float, float]] | str] = {}
    for vddr, ro_nw in readout_options:
        for well in well_options:
            prm = {"vddr_V": vddr, "ro_nwell_V": ro_nw}
            ro, rcode = autozeroed(prm, well, f"well {well}")
            if flips(lo_c, well, ro, 0) < band.min_flips_read:
                # no flips at the lowest supply, the most monostable core: the reads are stuck (the readout),
                # and a forward-biased well only makes the core more bistable -> next readout setting
                tried.append(f"well {well}, readout {vddr} V / {ro_nw:+} V: the reads do not flip at the lowest "
                             f"code {lo_c} ({lv.point(lo_c, well).v_core_V * 1e3:.1f} mV): readout stuck")
                say(tried[-1])
                break
            for stage in bias_options:
                if stage:
                    prm = {"vddr_V": vddr, "ro_nwell_V": ro_nw, **stage}
                    ro, rcode = autozeroed(prm, well, f"well {well}, bias stage {_stage_str(stage)}")
                cal, why, weak_pair = _calibrate_setting(well, prm, ro, rcode, stage)
                if cal is not None:
                    return cal
                tried.append(why)
                if not weak_pair:
                    # the core is not bistable or too slow: a stronger bias pair does not help
                    break
    raise CalibrationError(f"native_latch die at {corner} / {temp_C} C: no generator code in the band "
                           f"(P(1) <= {band.p_lo_cal} / >= {band.p_hi_cal} at ref -/+ {band.half_span_V * 1e3:.0f} mV, or "
                           f"inside {band.p_lo} / {band.p_hi} by {band.z_margin:g} SE on an extended record, tau_core >= "
                           f"{band.tau_core_min_s * 1e9:.0f} ns, "
                           f">= {band.min_flips} flips in {band.t_check_s * 1e6:.0f} us):\n  " + "\n  ".join(tried))
