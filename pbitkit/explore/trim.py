"""Variation after per-cell trim, for the designs of a front (``native_latch``: the core's n-well trim).

The search's σ(V0)/Vs is the *untrimmed* spread of the mismatch offsets. A ``native_latch`` cell is trimmed
per instance after fabrication: its core's differential n-well voltage ``trim_V`` (an 8-bit DAC over ±0.45 V,
:data:`pbitkit.circuits.native_latch_trim.CORE_TRIM_DAC`) is set so that the instance is balanced, P(1) = 1/2,
at ``bias = ref``. What a designer cares about is what is left after that: which instances the DAC's range
reaches, and how far the trimmed instances' offsets still scatter (the DAC's step moves the offset by a
design-dependent amount).

:func:`trim_design` does this for one design, on the same mismatch instances as the search (``mc_seed``
0…k−1, the space's corner and temperature, the predicted tier): the trim code of each instance by the cell's
own balancing procedure (:func:`pbitkit.circuits.native_latch_trim.balance_core`, its deterministic
predicted-tier bisection), then each trimmed instance's P(1) on a bias grid around ``ref`` → its offset
``V0`` (censored at the grid's ends, as in the search) → :class:`TrimResult`: the fraction of instances the
DAC reaches, the residual offsets' spread about ``ref`` (RMS, over the nominal Vs) and a censored-normal σ.
Results are kept in ``OUT/trim/<design>.json``, keyed by the design's key and the DAC.

Why post hoc and not a dimension of the search: the trim voltages are per-instance calibration states, not
design choices (a design-wide value is a common offset the calibration removes anyway); balancing costs ~10
predicted sessions per instance, five times a design's whole inner-loop evaluation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbitkit.explore.driver import DesignResult, ExploreResult
from pbitkit.explore.space import SUPPLY
from pbitkit.io import atomic_write_json, from_json_safe, read_json, sha256_json, to_json_safe

__all__ = ["TrimResult", "trim_design", "trim_front", "trim_markdown", "TRIM_CELLS", "TRIM_GRID_POINTS"]

log = logging.getLogger(__name__)

#: cells with a per-cell core trim this module knows how to balance
TRIM_CELLS: tuple[str, ...] = ("native_latch",)
#: bias points of each trimmed instance's P(1) grid (over ref ± 4 nominal Vs)
TRIM_GRID_POINTS = 9


@dataclass(frozen=True)
class TrimResult:
    """One design's mismatch instances after per-cell trim.

    Attributes
    ----------
    label : the design's label (``default`` or its key's first 12 hex digits).
    dac_bits, dac_full_scale_V : the core trim DAC.
    codes : each instance's trim code; ``reachable`` whether the DAC's range balances it.
    v0_after_V : each trimmed instance's offset (V; at the grid's end when censored, ``censored`` -1/0/+1).
    vs_V : the design's nominal Vs (V).
    rms_after_V : RMS of ``v0_after_V - ref`` over the uncensored instances (V; ∞ if any is censored).
    sigma_after_V : censored-normal σ of ``v0_after_V`` (V).
    sigma_before_over_vs : the search's untrimmed σ(V0)/Vs of the design.
    """

    label: str
    dac_bits: int
    dac_full_scale_V: float
    codes: tuple[int, ...]
    reachable: tuple[bool, ...]
    v0_after_V: tuple[float, ...]
    censored: tuple[int, ...]
    vs_V: float
    rms_after_V: float
    sigma_after_V: float
    sigma_before_over_vs: float

    @property
    def reach_fraction(self) -> float:
        """Fraction of the instances the trim DAC's range balances."""
        return sum(self.reachable) / len(self.reachable) if self.reachable else math.nan

    @property
    def rms_after_over_vs(self) -> float:
        """Residual offset after trim, RMS about ``ref``, in units of the nominal Vs."""
        return self.rms_after_V / self.vs_V if self.vs_V > 0 else math.nan

    @property
    def sigma_after_over_vs(self) -> float:
        """Spread of the trimmed offsets about their own mean (censored-normal σ), in units of the nominal Vs."""
        return self.sigma_after_V / self.vs_V if self.vs_V > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


def trim_design(res: ExploreResult, d: DesignResult, *, dac: Any = None, workers: int = 2) -> TrimResult:
    """Trim the search's mismatch instances of design ``d`` and measure what is left (module docstring).

    Raises
    ------
    ConfigError
        If the space's cell has no per-cell trim this module knows (:data:`TRIM_CELLS`).
    """
    from pbitkit.circuits.cell_base import SweepPoint
    from pbitkit.circuits.native_latch_trim import CORE_TRIM_DAC, balance_core
    from pbitkit.circuits.registry import get_cell
    from pbitkit.circuits.runners import DEFAULT_RUNNER, run_job
    from pbitkit.errors import ConfigError
    from pbitkit.explore.metrics import censored_normal_fit, sigmoid_from_grid

    sp = res.space
    if sp.cell not in TRIM_CELLS:
        raise ConfigError(f"trim: cell {sp.cell!r} has no per-cell trim known to pbitkit.explore.trim ({TRIM_CELLS})")
    dac = dac or CORE_TRIM_DAC
    label = "default" if d.origin == "reference" else d.key[:12]
    path = res.out_dir / "trim" / f"{label}.json"
    key = sha256_json({"design": d.key, "dac": [dac.bits, dac.full_scale_V], "grid": TRIM_GRID_POINTS})
    if path.is_file():
        rec = read_json(path)
        if rec.get("key") == key:
            r = from_json_safe(rec["result"])
            return TrimResult(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()})
    cell = get_cell(sp.cell)
    cond = sp.conditions
    overrides = {k: float(v) for k, v in d.design.items() if k != SUPPLY}
    vdd = d.design.get(SUPPLY)
    params = {**overrides, **dict(cond.mc_params), "readout": 0.0}
    n = int(cond.mc_instances)
    inst = [{"corner": cond.corner, "temp_C": cond.temp_C, "mc_seed": k, "vdd_V": vdd, "params": params}
            for k in range(n)]
    bal = balance_core(inst, dac=dac, transient_steps=0, workers=workers)
    ref = cell.params(overrides)["ref_V"]
    vs = float(d.metrics.get("vs_V", math.nan))
    half = 4 * vs if math.isfinite(vs) and vs > 0 else 0.06
    grid = np.linspace(ref - half, ref + half, TRIM_GRID_POINTS)
    v0s, below, above = [], [], []
    for k, (code, _, _) in enumerate(bal):
        pts = [SweepPoint(sp.cell, float(b), corner=cond.corner, mc_seed=k, temp_C=cond.temp_C, vdd_V=vdd,
                          params={**params, "trim_V": dac.volts(code)}, tier="predicted") for b in grid]
        rows = []
        for job in cell.jobs(pts):
            rows += cell.rows(job, run_job(job, DEFAULT_RUNNER))
        p = np.array([float(r["p1"]) for r in sorted(rows, key=lambda r: float(r["bias_V"]))])
        v0, _ = sigmoid_from_grid(grid, p)
        if math.isfinite(v0):
            v0s.append(v0), below.append(False), above.append(False)
        elif np.all(p > 0.5):
            v0s.append(float(grid[0])), below.append(True), above.append(False)
        else:
            v0s.append(float(grid[-1])), below.append(False), above.append(True)
    est = censored_normal_fit(np.array(v0s), np.array(below), np.array(above))
    cens = [-1 if b_ else (1 if a_ else 0) for b_, a_ in zip(below, above, strict=True)]
    unc = [v for v, c in zip(v0s, cens, strict=True) if c == 0]
    rms = math.inf if any(cens) else float(np.sqrt(np.mean((np.array(unc) - ref) ** 2)))
    out = TrimResult(label, dac.bits, dac.full_scale_V, tuple(int(b[0]) for b in bal), tuple(bool(b[2]) for b in bal),
                     tuple(v0s), tuple(cens), vs, rms, est.sigma_V, float(d.metrics.get("sigma_v0_over_vs", math.nan)))
    atomic_write_json(path, {"key": key, "result": to_json_safe(out.as_dict())})
    return out


def trim_front(res: ExploreResult, designs: Sequence[DesignResult] | None = None, *, dac: Any = None,
               workers: int = 2) -> list[TrimResult]:
    """:func:`trim_design` for the reference and ``designs`` (default: the whole front, by energy)."""
    todo = [res.reference] + [d for d in (res.front_designs if designs is None else designs) if d.origin != "reference"]
    out = []
    for d in todo:
        log.info("trim: balancing the mismatch instances of design %s", d.key[:12])
        out.append(trim_design(res, d, dac=dac, workers=workers))
    return out


def trim_markdown(results: Sequence[TrimResult]) -> str:
    """The report section: per design, the untrimmed spread, the instances reached and the residual."""
    if not results:
        return ""
    r0 = results[0]
    out = ["### Variation after per-cell trim", "",
           f"Each design's {len(r0.codes)} mismatch instances balanced at `bias = ref` with the core's n-well trim "
           f"({r0.dac_bits}-bit DAC over ±{r0.dac_full_scale_V:g} V; the cell's own predicted-tier bisection), then "
           "each trimmed instance's offset from its P(1) on a grid of ±4 Vs (`trim/`). Residual: RMS of the "
           "trimmed offsets about `ref` in nominal Vs (∞ if any instance stays outside the grid).", "",
           "| design | σ(V0)/Vs before trim | instances reached | trim codes | residual RMS about ref / Vs | "
           "σ after trim / Vs |", "|---|---|---|---|---|---|"]

    def f(x: float) -> str:
        return "∞" if math.isinf(x) else ("—" if math.isnan(x) else f"{x:.2g}")

    for r in results:
        out.append(f"| {r.label} | {f(r.sigma_before_over_vs)} | {sum(r.reachable)} of {len(r.reachable)} | "
                   f"{', '.join(str(c) for c in r.codes)} | {f(r.rms_after_over_vs)} | {f(r.sigma_after_over_vs)} |")
    out += ["", "An instance the DAC does not reach ends at a rail code (0 or the top). The trimmed offsets sit on the "
            "low side of `ref`: the bisection keeps the code at which P(1) at `ref` first exceeds 1/2, so the DAC's "
            "step in offset shows as the residual about `ref`; σ is their spread about their own mean (a common "
            "offset the array's calibration removes)."]
    return "\n".join(out) + "\n"
