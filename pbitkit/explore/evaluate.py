"""The inner loop: one design's figures from the cell's predicted tier (a few short ngspice sessions).

:func:`evaluate_design` is a module-level function of plain data, so a process pool or a dask worker can
run it; it uses only the cells' public API (``get_cell``, ``Cell.params``, ``Cell.jobs``, ``Cell.rows``,
``SweepPoint``). Per design:

1. **nominal** device, predicted tier, ``bias_points`` biases over the cell's default bias range: P(1) →
   ``v0_V``, ``vs_V`` (logit-interpolated 50 % and 27/73 % crossings), ``p1_min``/``p1_max`` (does P span
   the range?); at the bias nearest P = 1/2: ``energy_per_bit_J`` (energy per read), ``tau_corr_s`` (the
   output bits' correlation time), ``tau_core_s`` (the core's own), ``energy_per_independent_bit_J`` =
   energy per read × max(1, 2 tau_corr_s / read period), ``static_power_W``, ``dynamic_energy_per_bit_J``
   (the per-read energy that is not static power × period: the native latch's readout and clock); ``bistable`` = 1 if
   ``tau_core_s >= bistable_tau_min_s`` (a monostable latch relaxes in a few ns);
2. optionally the **energy from a short transient** at the centre (``energy_tier = "transient"``; for
   cells whose predicted tier has no energy, e.g. the StrongARM);
3. a **screen**: if a nominal figure already violates a constraint, stop (the mismatch runs are skipped);
4. **mismatch**: ``mc_instances`` devices (``mc_seed`` 0…k−1, sky130 ``*_mm`` statistics), predicted tier on
   ``mc_bias_points`` biases over the centre ± ``v0_search_half_span_V``: each instance's V0, or the bound
   it lies beyond; a censored-normal fit (:func:`~pbitkit.explore.metrics.censored_normal_fit`) gives
   ``sigma_v0_V``; ``sigma_v0_over_vs`` = that / the nominal ``vs_V``; ``mc_centred_fraction``;
5. each ``check_corners`` corner: the nominal step again (``corner_<c>_*`` metrics);
6. the area proxy from the space's terms.

A failed session makes the design ``status = "failed"`` with ngspice's message; it is stored like any
other (and retried only with ``retry_failed``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pbitkit.circuits.cell_base import SweepPoint, independent_bit_energy
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.runners import DEFAULT_RUNNER, run_job
from pbitkit.errors import PbitkitError
from pbitkit.explore.metrics import censored_normal_fit, sigmoid_from_grid
from pbitkit.explore.space import CORNER_METRICS, METRICS, SUPPLY, Constraint

__all__ = ["evaluate_design", "nominal_figures", "EVAL_CODE_MODULES"]

#: Modules whose source determines a design's figures (their hashes enter the design cache key).
EVAL_CODE_MODULES: tuple[str, ...] = (__name__, "pbitkit.explore.metrics", "pbitkit.circuits.cell_base",
                                      "pbitkit.circuits.predict", "pbitkit.circuits.elements",
                                      "pbitkit.circuits.models")


@functools.lru_cache(maxsize=32)
def _library(corner: str, mismatch: bool) -> ModelLibrary:
    """The slim sky130 library of a corner, once per process (finding it costs ~0.5 s of file listing)."""
    return get_library("sky130", corner, mismatch=mismatch)


def _run_rows(cell: Any, pts: list[SweepPoint], runner: str) -> tuple[list[dict[str, Any]], float]:
    jobs = cell.jobs(pts, library=_library)
    rows: list[dict[str, Any]] = []
    cpu = 0.0
    for job in jobs:
        res = run_job(job, runner)
        cpu += res.cpu_time_s
        rows += cell.rows(job, res)
    return rows, cpu


def nominal_figures(rows: Sequence[Mapping[str, Any]], bistable_tau_min_s: float) -> dict[str, float]:
    """Figures of one device from its predicted rows over a bias grid (sorted by bias here).

    Returns ``v0_V``, ``vs_V``, ``p1_min``, ``p1_max`` and, at the row nearest P = 1/2, ``energy_per_bit_J``,
    ``dynamic_energy_per_bit_J``,
    ``tau_corr_s``, ``tau_core_s``, ``static_power_W``, ``sample_period_s``, ``energy_per_independent_bit_J``,
    ``bistable`` (1.0/0.0; NaN when the rows carry no ``tau_core_s``) and ``centre_bias_V``.
    """
    rs = sorted(rows, key=lambda r: float(r["bias_V"]))
    b = np.array([float(r["bias_V"]) for r in rs])
    p = np.array([float(r.get("p1", math.nan)) for r in rs])
    v0, vs = sigmoid_from_grid(b, p)
    finite = np.isfinite(p)
    k = int(np.nanargmin(np.abs(p - 0.5))) if finite.any() else 0
    c = rs[k]

    def num(key: str) -> float:
        v = c.get(key, math.nan)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan

    tau_core = num("tau_core_s")
    out = {"v0_V": v0, "vs_V": vs, "p1_min": float(np.nanmin(p)) if finite.any() else math.nan,
           "p1_max": float(np.nanmax(p)) if finite.any() else math.nan, "energy_per_bit_J": num("energy_per_bit_J"),
           "dynamic_energy_per_bit_J": num("dynamic_energy_per_bit_J"),
           "tau_corr_s": num("tau_corr_s"), "tau_core_s": tau_core, "static_power_W": num("static_power_W"),
           "sample_period_s": num("sample_period_s"), "centre_bias_V": float(b[k]),
           "bistable": math.nan if math.isnan(tau_core) else float(tau_core >= bistable_tau_min_s)}
    out["energy_per_independent_bit_J"] = independent_bit_energy(out["energy_per_bit_J"], out["tau_corr_s"],
                                                                 out["sample_period_s"])
    return out


def _screen_fails(metrics: Mapping[str, float], screen: Sequence[Constraint]) -> str:
    for c in screen:
        if c.metric in metrics and not c.satisfied(metrics[c.metric]):
            return c.describe()
    return ""


def evaluate_design(cell_name: str, design: Mapping[str, float], conditions: Mapping[str, Any],
                    area: Mapping[str, Any], screen: Sequence[Mapping[str, Any]] = (),
                    runner: str = DEFAULT_RUNNER) -> dict[str, Any]:
    """Every figure of one design (module docstring); runs in a worker process.

    Parameters
    ----------
    cell_name : registry name of the cell.
    design : cell parameter overrides, and optionally ``vdd_V`` (the supply, V).
    conditions : :meth:`pbitkit.explore.space.Conditions.to_dict`.
    area : ``{"fixed_um2": float, "terms": [(w, l, count), ...]}``.
    screen : constraints (``{"metric", "min", "max"}``) checked on the nominal figures before the mismatch
        runs; a violation skips them (``screened = 1``, ``sigma_v0_*`` NaN).
    runner : how ngspice runs (:mod:`pbitkit.circuits.runners`).

    Returns
    -------
    dict: every name of :data:`pbitkit.explore.space.METRICS`, ``corner_<c>_*`` metrics, ``status``
    (``"ok"``/``"failed"``), ``error``, ``screened`` (0/1), ``cpu_time_s`` (ngspice), ``wall_time_s``,
    ``n_sessions`` and the per-instance offsets ``mc_v0_V`` (list; censored ones at the window's edge with
    ``mc_censored`` -1/+1).
    """
    t0 = time.perf_counter()
    cell = get_cell(cell_name)
    cond = dict(conditions)
    vdd = design.get(SUPPLY)
    overrides = {k: float(v) for k, v in design.items() if k != SUPPLY}
    out: dict[str, Any] = {m: math.nan for m in METRICS}
    for c in cond.get("check_corners", ()):
        out.update({f"corner_{c}_{m}": math.nan for m in CORNER_METRICS})
    out.update(status="ok", error="", screened=0, cpu_time_s=0.0, n_sessions=0, mc_v0_V=[], mc_censored=[])
    try:
        full = cell.params(overrides)
        out["area_um2"] = float(area.get("fixed_um2", 0.0)) + sum(
            float(cnt) * full[w] * full[l] for w, l, cnt in area.get("terms", ()))

        def device_rows(corner: str, mc_seed: int, params: Mapping[str, float], bias: np.ndarray) -> list[dict[str, Any]]:
            pts = [SweepPoint(cell_name, float(x), corner=corner, mc_seed=mc_seed, temp_C=float(cond["temp_C"]),
                              vdd_V=vdd, params=dict(params), tier="predicted") for x in bias]
            rows, cpu = _run_rows(cell, pts, runner)
            out["cpu_time_s"] += cpu
            out["n_sessions"] += 1
            bad = [r for r in rows if r.get("status", "ok") != "ok"]
            if bad:
                raise PbitkitError(f"predicted tier {corner} mc{mc_seed}: {bad[0].get('error', 'failed')}")
            return rows

        lo, hi = cell.default_bias_range(overrides)
        grid = np.linspace(lo, hi, int(cond["bias_points"]))
        nom = nominal_figures(device_rows(cond["corner"], -1, overrides, grid), float(cond["bistable_tau_min_s"]))
        for k in ("v0_V", "vs_V", "p1_min", "p1_max", "energy_per_bit_J", "dynamic_energy_per_bit_J", "tau_corr_s", "tau_core_s",
                  "static_power_W", "energy_per_independent_bit_J", "bistable"):
            out[k] = nom[k]
        out["sample_period_s"] = nom["sample_period_s"]
        if cond.get("energy_tier", "predicted") == "transient":
            b = nom["v0_V"] if math.isfinite(nom["v0_V"]) else nom["centre_bias_V"]
            pts = [SweepPoint(cell_name, float(b), corner=cond["corner"], temp_C=float(cond["temp_C"]), vdd_V=vdd,
                              params={**overrides, **cond.get("energy_params", {})}, tier="transient")]
            rows, cpu = _run_rows(cell, pts, runner)
            out["cpu_time_s"] += cpu
            out["n_sessions"] += 1
            if rows[0].get("status", "ok") != "ok":
                raise PbitkitError(f"energy transient: {rows[0].get('error', 'failed')}")
            out["energy_per_bit_J"] = float(rows[0]["energy_per_bit_J"])
            out["energy_per_independent_bit_J"] = independent_bit_energy(
                out["energy_per_bit_J"], out["tau_corr_s"], out["sample_period_s"])
        checks = [Constraint(str(c["metric"]), c.get("min"), c.get("max")) for c in screen]
        why = _screen_fails(out, checks)
        n_mc = int(cond["mc_instances"])
        if why:
            out["screened"] = 1
            out["error"] = f"screened out before the mismatch runs: {why}"
        elif n_mc >= 2:
            centre = nom["v0_V"] if math.isfinite(nom["v0_V"]) else 0.5 * (lo + hi)
            half = float(cond["v0_search_half_span_V"])
            mgrid = np.linspace(centre - half, centre + half, int(cond["mc_bias_points"]))
            mc_params = {**overrides, **cond.get("mc_params", {})}
            v0s, below, above = [], [], []
            for seed in range(n_mc):
                rows = device_rows(cond["corner"], seed, mc_params, mgrid)
                pr = np.array([float(r["p1"]) for r in sorted(rows, key=lambda r: float(r["bias_V"]))])
                v0_i, _ = sigmoid_from_grid(mgrid, pr)
                if math.isfinite(v0_i):
                    v0s.append(v0_i), below.append(False), above.append(False)
                elif np.all(pr > 0.5):  # P > 1/2 over the whole window: V0 below its low end
                    v0s.append(float(mgrid[0])), below.append(True), above.append(False)
                else:  # P < 1/2 (or no monotone crossing): treat as beyond the high end
                    v0s.append(float(mgrid[-1])), below.append(False), above.append(True)
            est = censored_normal_fit(np.array(v0s), np.array(below), np.array(above))
            out["sigma_v0_V"] = est.sigma_V
            out["mc_centred_fraction"] = est.n_centred / est.n
            vs = out["vs_V"]
            out["sigma_v0_over_vs"] = est.sigma_V / vs if math.isfinite(vs) and vs > 0 else math.nan
            out["mc_v0_V"] = v0s
            out["mc_censored"] = [-1 if b_ else (1 if a_ else 0) for b_, a_ in zip(below, above, strict=True)]
        for c in cond.get("check_corners", ()):
            cg = np.linspace(lo, hi, int(cond["bias_points"]))
            cf = nominal_figures(device_rows(c, -1, overrides, cg), float(cond["bistable_tau_min_s"]))
            for m in CORNER_METRICS:
                out[f"corner_{c}_{m}"] = cf[m]
    except PbitkitError as exc:
        out["status"] = "failed"
        out["error"] = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
    out["wall_time_s"] = time.perf_counter() - t0
    return out
