"""Per-cell trim of the ``native_latch`` cell: trim DACs, the readout's auto-zero and the core's balance.

Mismatch moves a ``native_latch`` cell far off its nominal sigmoid: the core's offset as a differential
current (several nA) is beyond what the ~1 nA bias pair can steer, and the minimum-size 0.45 V readout
comparator has an input-referred offset of tens of mV (many instances decide the same way over
±100 mV) against a core whose state ``x = V_q - V_qb`` wanders over ±15 mV. Both are trimmed with **body
(n-well) voltages**, which draw no static current: each cell's core pFETs ``P1``/``P2`` sit in their own
n-wells ``nwa``/``nwb`` (``trim_V`` = ``V_nwb - V_nwa``; positive makes a 1 more likely), the readout
latch pFETs ``RP1``/``RP2`` in ``nwr1``/``nwr2`` (``ro_trim_V`` = ``V_nwr1 - V_nwr2``; positive makes a 1
more likely). The trim voltages are cell parameters quantized by :class:`TrimDac` (8 bits over ±0.45 V
for the core, 3.5 mV steps; over ±0.5 V for the readout, the cell's accepted ``ro_trim_V`` range, 3.9 mV
steps ≈ 1.3 mV at its input).

Calibration (:func:`calibrate_cell`), using only what a chip observes (the cell's bits):

1. **readout auto-zero** (:func:`readout_null`): the cell's auto-zero switch shorts ``q`` and ``qb`` with
   the core running (x = 0 at the core's own common mode); the readout's trim code is stepped up and then
   down, one read per code, and the code halfway between the two flips is kept;
2. **core balance** (:func:`balance_core`): with ``bias = ref``, bisection on the core's trim code for
   P(1) = 0.5 — in the ``predicted`` tier (deterministic, from the 1-D stationary density) and then, in
   the ``transient`` tier, a few refining steps on the read bits' P(1) (stochastic, as on a chip).

The resulting codes are cell parameters (``trim_V``, ``ro_trim_V``): a calibrated instance is simulated
by passing them in ``SweepPoint.params``. The per-cell bias offset that remains after quantization is what
:mod:`pbitkit.array.calibration` trims through the bias input.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import LibraryFactory, SweepPoint, default_library
from pbitkit.circuits.elements import fmt_number
from pbitkit.circuits.ngspice import SimJob, SimResult, run, write_command
from pbitkit.errors import ConfigError, SimulationError

__all__ = ["TrimDac", "CellTrim", "readout_null", "readout_offset", "balance_core", "calibrate_cell",
           "CORE_TRIM_DAC", "READOUT_TRIM_DAC", "READOUT_OPTIONS", "AUTO_ZERO_ON_V", "transient_rows"]

_f = fmt_number


@dataclass(frozen=True)
class TrimDac:
    """A bipolar trim DAC: ``code`` in ``0 … 2**bits - 1`` maps linearly onto ``-full_scale_V … +full_scale_V``.

    Attributes
    ----------
    bits : resolution (>= 1).
    full_scale_V : half range (V, > 0); the step is ``2 full_scale_V / (2**bits - 1)``.
    """

    bits: int = 8
    full_scale_V: float = 0.45

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or isinstance(self.bits, bool) or not 1 <= self.bits <= 16:
            raise ConfigError(f"TrimDac.bits must be an int in 1..16, got {self.bits!r}")
        if not 0 < self.full_scale_V <= 1.0:
            raise ConfigError(f"TrimDac.full_scale_V must be in (0, 1] V, got {self.full_scale_V!r}")

    @property
    def n_codes(self) -> int:
        return 2 ** self.bits

    @property
    def lsb_V(self) -> float:
        """One step (V)."""
        return 2 * self.full_scale_V / (self.n_codes - 1)

    def volts(self, code: int) -> float:
        """The trim voltage of ``code`` (V).

        Raises
        ------
        ConfigError
            If ``code`` is not an int in range.
        """
        if not isinstance(code, (int, np.integer)) or isinstance(code, bool) or not 0 <= code < self.n_codes:
            raise ConfigError(f"trim code must be an int in 0..{self.n_codes - 1}, got {code!r}")
        return -self.full_scale_V + int(code) * self.lsb_V

    def code(self, volts: float) -> int:
        """The nearest code to ``volts`` (clipped to the range)."""
        return int(np.clip(round((volts + self.full_scale_V) / self.lsb_V), 0, self.n_codes - 1))


#: The auto-zero switch's gate voltage while calibrating (V; the die's 1.8 V rail; 0 V in use).
AUTO_ZERO_ON_V = 1.8

#: The core's differential n-well trim (``trim_V``) and the readout's (``ro_trim_V``).
CORE_TRIM_DAC = TrimDac(8, 0.45)
READOUT_TRIM_DAC = TrimDac(8, 0.5)


@dataclass(frozen=True)
class CellTrim:
    """The calibrated codes of one cell instance and how they were found.

    Attributes
    ----------
    core_code, readout_code : DAC codes of ``trim_V`` / ``ro_trim_V``.
    params : the cell parameters to simulate the trimmed instance with (``trim_V``, ``ro_trim_V``).
    readout_flips_V : the readout's flip points (up, down sweep) in ``ro_trim_V`` volts at auto-zero (NaN:
        no flip within the readout DAC's range; the code is then the DAC's middle).
    balance_p1 : P(1) at ``bias = ref`` measured at each balancing step (predicted, then transient).
    reachable : False if the core cannot be balanced within the DAC's range (P stays at 0 or 1).
    """

    core_code: int
    readout_code: int
    params: dict[str, float]
    readout_flips_V: tuple[float, float]
    balance_p1: tuple[float, ...] = ()
    reachable: bool = True
    extra: dict[str, float] = field(default_factory=dict)


def _staircase(values: Sequence[float], period_s: float, edge_s: float) -> str:
    """PWL text that holds ``values[k]`` during period ``k`` (changing ``edge_s`` after its start)."""
    pts = [f"0 {_f(values[0])}"]
    for k, v in enumerate(values):
        pts.append(f"{_f(k * period_s + edge_s)} {_f(v)} {_f((k + 1) * period_s)} {_f(v)}")
    return "PWL(" + " ".join(pts) + ")"


def _replace_source(netlist: str, name: str, spec: str) -> str:
    """``netlist`` with the one line of port source ``name`` given the value ``spec``."""
    lines = netlist.splitlines()
    idx = [k for k, ln in enumerate(lines) if ln.split()[:1] == [name]]
    if len(idx) != 1:
        raise SimulationError(f"native_latch netlist holds {len(idx)} lines of source {name}, expected 1")
    node = lines[idx[0]].split()[1]
    lines[idx[0]] = f"{name} {node} 0 {spec}"
    return "\n".join(lines) + "\n"


def _read_bits(result: SimResult, n: int, period_s: float, edge_s: float) -> np.ndarray:
    tr = result.plots[0]
    t = np.real(tr["time"])
    d = np.real(tr["v(outp)"] - tr["v(outn)"])
    return np.interp((np.arange(n) + 1) * period_s - edge_s - 1e-9, t, d) > 0


def _scan_job(cell: NativeLatchCell, p: Mapping[str, float], lib_factory: LibraryFactory, corner: str,
              temp_C: float, mc_seed: int, vdd_V: float, sources: Mapping[str, str], n: int,
              x_V: Sequence[float] | None = None) -> SimJob:
    ts = p["sample_period_s"]
    lib = lib_factory(corner, mc_seed >= 0)
    net = cell.render(lib, p, vdd_V=vdd_V, temp_C=temp_C, bias_V=p["ref_V"], mc_seed=mc_seed, noise=False)
    for name, spec in sources.items():
        net = _replace_source(net, name, spec)
    if x_V is not None:  # drive q / qb (the core's devices stay in place: the same mismatch draws)
        cm = vdd_V / 6
        net += (f"Vxq q 0 {_staircase([cm + x / 2 for x in x_V], ts, 2 * p['t_edge_s'])}\n"
                f"Vxqb qb 0 {_staircase([cm - x / 2 for x in x_V], ts, 2 * p['t_edge_s'])}\n")
    ctl = [".control", f"tran {_f(ts / 300)} {_f(n * ts)}", write_command(["v(outp)", "v(outn)"]), ".endc", ".end"]
    return SimJob(netlist=net + "\n".join(ctl) + "\n", timeout_s=600.0,
                  label=f"native_latch trim scan {corner} {temp_C} C mc_seed={mc_seed}")


def _flips(values: np.ndarray, bits: np.ndarray) -> tuple[float, float]:
    """Flip points of an up-then-down sweep (first value with a 1 going up, last with a 1 going down)."""
    n = values.size // 2
    up, down = bits[:n], bits[n:]
    x_up = float(values[:n][np.argmax(up)]) if up.any() and not up.all() else math.nan
    x_down = float(values[n:][np.argmin(down) - 1]) if down.any() and not down.all() and np.argmin(down) > 0 \
        else math.nan
    return x_up, x_down


def readout_null(*, corner: str = "tt", temp_C: float = 27.0, mc_seed: int = -1,
                 params: Mapping[str, float] | None = None, dac: TrimDac = READOUT_TRIM_DAC,
                 library: LibraryFactory | None = None, steps: int = 33, vdd_V: float | None = None,
                 runner: Callable[[SimJob], SimResult] = run) -> tuple[int, tuple[float, float]]:
    """Auto-zero the readout: its trim code at which the comparator flips with ``x = 0``.

    The cell's auto-zero switch (port ``az`` at :data:`AUTO_ZERO_ON_V`) shorts ``q`` and ``qb`` while the
    core runs at its supply ``vdd_V`` (None: the cell's default) with ``bias = ref``, so the comparator sees
    ``x = 0`` at the core's own common mode; ``ro_trim_V`` steps over the DAC's range, up then down, one
    read per step (a coarse scan of ``steps`` codes, then a fine scan of every code around the coarse
    flips).

    Returns
    -------
    (code, (flip_up_V, flip_down_V)) : the code halfway between the fine scan's two flips.

    Raises
    ------
    SimulationError
        If the comparator does not flip within the DAC's range (both flips missing).
    """
    cell = NativeLatchCell()
    p = cell.params({**(params or {}), "readout": 1.0})
    lib = library or default_library
    ts, tr = p["sample_period_s"], p["t_edge_s"]
    vr, vnw = p["vddr_V"], p["ro_nwell_V"]
    vdd = cell.default_vdd_V if vdd_V is None else vdd_V
    off = {"Vaz": _f(AUTO_ZERO_ON_V)}

    def scan(codes: np.ndarray) -> tuple[float, float]:
        v = np.array([dac.volts(int(c)) for c in codes])
        sweep = np.concatenate([v, v[::-1]])
        src = {**off, "Vnwr1": _staircase([vr + vnw + s / 2 for s in sweep], ts, 2 * tr),
               "Vnwr2": _staircase([vr + vnw - s / 2 for s in sweep], ts, 2 * tr)}
        job = _scan_job(cell, p, lib, corner, temp_C, mc_seed, vdd, src, sweep.size)
        return _flips(sweep, _read_bits(runner(job), sweep.size, ts, tr))

    coarse = np.unique(np.linspace(0, dac.n_codes - 1, steps).round().astype(int))
    up, down = scan(coarse)
    found = [v for v in (up, down) if math.isfinite(v)]
    if not found:
        raise SimulationError(f"native_latch readout (corner {corner}, {temp_C} C, mc_seed {mc_seed}) does not flip "
                              f"over ro_trim_V = +-{dac.full_scale_V} V")
    step = int(coarse[1] - coarse[0])
    lo = max(0, dac.code(min(found)) - 2 * step)
    hi = min(dac.n_codes - 1, dac.code(max(found)) + 2 * step)
    up, down = scan(np.arange(lo, hi + 1))
    found = [v for v in (up, down) if math.isfinite(v)]
    if not found:
        raise SimulationError(f"native_latch readout (corner {corner}, {temp_C} C, mc_seed {mc_seed}): no flip in "
                              f"the fine scan of codes {lo}..{hi}")
    return dac.code(float(np.mean(found))), (up, down)


def readout_offset(*, corner: str = "tt", temp_C: float = 27.0, mc_seed: int = -1,
                   params: Mapping[str, float] | None = None, vdd_V: float | None = None,
                   x_max_V: float = 0.1, steps: int = 81, library: LibraryFactory | None = None,
                   runner: Callable[[SimJob], SimResult] = run) -> tuple[float, float]:
    """The readout's input-referred offset: ``x = V_q - V_qb`` forced by two sources (common mode
    ``vdd/6``, the core's metastable level), stepped over ``±x_max_V`` up then down, one read per step.

    Returns
    -------
    (flip_up_V, flip_down_V) : NaN where the comparator never flips (offset beyond ``x_max_V``).
    """
    cell = NativeLatchCell()
    p = cell.params({**(params or {}), "readout": 1.0})
    vdd = cell.default_vdd_V if vdd_V is None else vdd_V
    x = np.linspace(-x_max_V, x_max_V, steps)
    sweep = np.concatenate([x, x[::-1]])
    job = _scan_job(cell, p, library or default_library, corner, temp_C, mc_seed, vdd, {}, sweep.size, sweep)
    return _flips(sweep, _read_bits(runner(job), sweep.size, p["sample_period_s"], p["t_edge_s"]))


def transient_rows(points: Sequence[SweepPoint], *, library: LibraryFactory | None, workers: int,
                   runner: Callable[[SimJob], SimResult] = run, purpose: str = "balancing") -> list[dict[str, Any]]:
    """Transient-tier rows of ``native_latch`` points, one ngspice session per point on up to ``workers``
    threads, in order. Raises :class:`SimulationError` naming the run (and ``purpose``) if any row failed."""
    cell = NativeLatchCell()
    jobs = [cell.jobs([pt], library=library)[0] for pt in points]
    with cf.ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as ex:
        results = list(ex.map(runner, jobs))
    rows = []
    for job, res in zip(jobs, results, strict=True):
        (row,) = cell.rows(job, res)
        if row.get("status", "ok") != "ok":
            raise SimulationError(f"native_latch {purpose} run failed: {job.label}: {row.get('error', '')}")
        rows.append(row)
    return rows


def _p1(points: Sequence[SweepPoint], library: LibraryFactory | None, workers: int) -> list[float]:
    return [float(row["p1"]) for row in transient_rows(points, library=library, workers=workers)]


def balance_core(instances: Sequence[Mapping[str, object]], *, dac: TrimDac = CORE_TRIM_DAC,
                 transient_steps: int = 3, t_stop_s: float = 31e-6, noise_seed: int = 11,
                 library: LibraryFactory | None = None, workers: int = 2) -> list[tuple[int, tuple[float, ...], bool]]:
    """Bisection on each instance's core trim code for P(1) = 0.5 at ``bias = ref``.

    Parameters
    ----------
    instances : one mapping per cell instance with keys ``corner``, ``temp_C``, ``mc_seed``, ``vdd_V``
        (None: default), ``params`` (e.g. the readout's trim); the instances are balanced in parallel.
    transient_steps : refining steps on the read bits (transient tier, records of ``t_stop_s``) after the
        deterministic predicted-tier bisection; each halves a bracket of ±``2**transient_steps`` codes.

    Returns
    -------
    list of (code, P(1) per step, reachable): reachable is False when P(1) is 0 (or 1) at both ends of
    the DAC's range.
    """
    n = len(instances)
    ref = NativeLatchCell().params()["ref_V"]

    def points(codes: Sequence[int], tier: str, step: int) -> list[SweepPoint]:
        out = []
        for inst, c in zip(instances, codes, strict=True):
            prm = {**dict(inst.get("params") or {}), "trim_V": dac.volts(int(c))}  # type: ignore[arg-type]
            if tier == "transient":
                prm["t_stop_s"] = t_stop_s
            out.append(SweepPoint("native_latch", ref, corner=str(inst.get("corner", "tt")),
                                  mc_seed=int(inst.get("mc_seed", -1)),  # type: ignore[arg-type]
                                  temp_C=float(inst.get("temp_C", 27.0)),  # type: ignore[arg-type]
                                  vdd_V=inst.get("vdd_V"), params=prm, tier=tier,  # type: ignore[arg-type]
                                  noise_seed=noise_seed, replica=step))
        return out

    lo, hi = np.zeros(n, dtype=int), np.full(n, dac.n_codes - 1)
    ends = _p1(points(lo, "predicted", 0) + points(hi, "predicted", 0), library, workers)
    reachable = [ends[k] < 0.5 < ends[n + k] for k in range(n)]
    hist: list[list[float]] = [[] for _ in range(n)]
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        p = _p1(points(mid, "predicted", 0), library, workers)
        for k in range(n):
            hist[k].append(p[k])
        up = np.array(p) > 0.5
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    code = hi.copy()
    if transient_steps > 0:
        half = 2 ** transient_steps
        lo_t, hi_t = np.clip(code - half, 0, dac.n_codes - 1), np.clip(code + half, 0, dac.n_codes - 1)
        for s in range(transient_steps + 1):
            mid = (lo_t + hi_t) // 2
            p = _p1(points(mid, "transient", s + 1), library, workers)
            for k in range(n):
                hist[k].append(p[k])
            up = np.array(p) > 0.5
            hi_t, lo_t = np.where(up, mid, hi_t), np.where(up, lo_t, mid)
            code = mid
    return [(int(code[k]), tuple(hist[k]), reachable[k]) for k in range(n)]


def calibrate_cell(instances: Sequence[Mapping[str, object]], *, core_dac: TrimDac = CORE_TRIM_DAC,
                   readout_dac: TrimDac = READOUT_TRIM_DAC, transient_steps: int = 3,
                   library: LibraryFactory | None = None, workers: int = 2) -> list[CellTrim]:
    """Calibrate cell instances (module docstring): readout auto-zero, then the core's balance.

    Parameters
    ----------
    instances : one mapping per instance: ``corner``, ``temp_C``, ``mc_seed``, optional ``vdd_V`` and
        ``params`` (per-die settings such as ``vddr_V``, ``nwell_V``).
    transient_steps : see :func:`balance_core` (0: predicted tier only).

    Returns
    -------
    list of :class:`CellTrim`, in the order of ``instances``.
    """
    def null(inst: Mapping[str, object]) -> tuple[int, tuple[float, float]]:
        return readout_null(corner=str(inst.get("corner", "tt")), temp_C=float(inst.get("temp_C", 27.0)),  # type: ignore[arg-type]
                            mc_seed=int(inst.get("mc_seed", -1)), params=inst.get("params"),  # type: ignore[arg-type]
                            dac=readout_dac, library=library, vdd_V=inst.get("vdd_V"))  # type: ignore[arg-type]
    def null_or_none(inst: Mapping[str, object]) -> tuple[int, tuple[float, float]]:
        try:
            return null(inst)
        except SimulationError:  # the comparator's offset is beyond the readout DAC's range
            return readout_dac.code(0.0), (math.nan, math.nan)

    with cf.ThreadPoolExecutor(max(1, workers)) as ex:
        nulls = list(ex.map(null_or_none, instances))
    with_ro = [{**inst, "params": {**dict(inst.get("params") or {}),  # type: ignore[arg-type]
                                   "ro_trim_V": readout_dac.volts(code)}} for inst, (code, _) in zip(instances, nulls)]
    bal = balance_core(with_ro, dac=core_dac, transient_steps=transient_steps, library=library, workers=workers)
    out = []
    for inst, (rcode, flips), (ccode, hist, ok) in zip(with_ro, nulls, bal, strict=True):
        prm = {**dict(inst["params"]), "trim_V": core_dac.volts(ccode)}  # type: ignore[arg-type]
        out.append(CellTrim(core_code=ccode, readout_code=rcode, params=prm, readout_flips_V=flips,
                            balance_p1=hist, reachable=ok))
    return out


# -- readout settings a die may need ---------------------------------------------------------------------
#: Readout settings a per-die calibration tries, cheapest first: (``vddr_V``, ``ro_nwell_V``)
#: (:func:`pbitkit.circuits.native_latch_cal.calibrate_die_supply`).
READOUT_OPTIONS: tuple[tuple[float, float], ...] = tuple(
    (v, nw) for v in (0.45, 0.55, 0.7) for nw in (0.0, -0.15, 0.15))
