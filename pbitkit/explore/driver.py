"""``pbitkit.explore.run()``: search a design space on the predicted tier, cached and resumable, and write the
front.

Outputs in the run directory ``OUT`` (``pbitkit.rundir``: re-using it with another space or seed raises):

* ``designs.jsonl`` — one record per evaluated design, appended as it finishes (:mod:`pbitkit.explore.store`);
* ``designs.csv`` — every design: its parameters, figures, feasibility and whether it is on the front;
* ``front.csv`` — the feasible non-dominated designs (:data:`pbitkit.explore.space.OBJECTIVES`, all minimized).

Resuming (same command, or a larger ``budget``): the records in ``designs.jsonl`` are reused after their
checks, and a design evaluated by any earlier run (same key) comes from the cache. The search is
deterministic given the seed, so the resumed run proposes the same designs as the interrupted one.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.circuits.executors import local_executor
from pbitkit.circuits.ngspice import ngspice_version
from pbitkit.circuits.registry import get_cell
from pbitkit.errors import ConfigError
from pbitkit.explore.evaluate import EVAL_CODE_MODULES, evaluate_design
from pbitkit.explore.pareto import non_dominated
from pbitkit.explore.search import initial_points, refine_points, round_rng, step_size
from pbitkit.explore.space import CORNER_METRICS, METRICS, OBJECTIVES, SUPPLY, DesignSpace
from pbitkit.explore.store import (
    DesignCache,
    append_record,
    design_key,
    make_record,
    read_records,
    restore_metrics,
)
from pbitkit.io import atomic_write_text
from pbitkit.progress import ProgressCallback
from pbitkit.rundir import open_run_dir

__all__ = ["ExploreResult", "DesignResult", "run", "feasible", "front_mask", "full_design", "table_rows",
           "DESIGNS_LOG", "DESIGNS_CSV", "FRONT_CSV"]

log = logging.getLogger(__name__)

#: the run log: one JSON record per finished design
DESIGNS_LOG = "designs.jsonl"
#: every design as a table
DESIGNS_CSV = "designs.csv"
#: the feasible non-dominated designs as a table
FRONT_CSV = "front.csv"

#: metrics only known after the mismatch runs: not part of the nominal screen
_MC_METRICS = ("sigma_v0_V", "sigma_v0_over_vs", "mc_centred_fraction")


@dataclass(frozen=True)
class DesignResult:
    """One evaluated design: its key, parameters (overrides incl. ``vdd_V``), figures and provenance."""

    key: str
    design: Mapping[str, float]
    metrics: Mapping[str, Any]
    origin: str
    round: int
    u: tuple[float, ...] | None

    @property
    def ok(self) -> bool:
        """The evaluation ran (not a failed ngspice session)."""
        return self.metrics.get("status") == "ok"


@dataclass(frozen=True)
class ExploreResult:
    """Outcome of :func:`run`.

    Attributes
    ----------
    space : the design space.
    out_dir : the run directory.
    designs : every evaluated design in order (round, then index), the reference (the cell's defaults) first.
    feasible : (n,) bool, meets every constraint.
    front : (n,) bool, feasible and non-dominated.
    n_evaluated, n_cached : designs evaluated in this call / taken from the run log or the cache.
    wall_time_s, cpu_time_s : wall time of the call; ngspice CPU of the designs evaluated in it.
    """

    space: DesignSpace
    out_dir: Path
    designs: list[DesignResult]
    feasible: np.ndarray
    front: np.ndarray
    n_evaluated: int
    n_cached: int
    wall_time_s: float
    cpu_time_s: float

    @property
    def reference(self) -> DesignResult:
        """The cell's default design (evaluated under the space's conditions)."""
        return next(d for d in self.designs if d.origin == "reference")

    @property
    def front_designs(self) -> list[DesignResult]:
        """The front, sorted by energy per independent bit."""
        out = [d for d, f in zip(self.designs, self.front, strict=True) if f]
        return sorted(out, key=lambda d: float(d.metrics["energy_per_independent_bit_J"]))


def feasible(space: DesignSpace, metrics: Mapping[str, Any]) -> bool:
    """Whether a design's figures meet every constraint of ``space`` (and it evaluated ``ok``)."""
    if metrics.get("status") != "ok":
        return False
    return all(c.satisfied(float(metrics.get(c.metric, math.nan))) for c in space.constraints)


def _violation(space: DesignSpace, metrics: Mapping[str, Any]) -> float:
    if metrics.get("status") != "ok":
        return math.inf
    return sum(c.violation(float(metrics.get(c.metric, math.nan))) for c in space.constraints)


def _objectives(designs: Sequence[DesignResult]) -> np.ndarray:
    return np.array([[float(d.metrics.get(m, math.nan)) for m in OBJECTIVES] for d in designs], dtype=float)


def front_mask(space: DesignSpace, designs: Sequence[DesignResult]) -> tuple[np.ndarray, np.ndarray]:
    """``(feasible, front)`` masks over ``designs``."""
    feas = np.array([feasible(space, d.metrics) for d in designs], dtype=bool)
    if not designs:
        return feas, feas
    return feas, non_dominated(_objectives(designs), feas)


def _eval_args(space: DesignSpace) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    cond = space.conditions.to_dict()
    area = {"fixed_um2": space.area_fixed_um2, "terms": [(t.w, t.l, t.count) for t in space.area_terms]}
    screen = [{"metric": c.metric, "min": c.min, "max": c.max} for c in space.constraints
              if c.metric in METRICS and c.metric not in _MC_METRICS]
    return cond, area, screen


def _result(fut: cf.Future) -> dict[str, Any] | None:
    """A finished evaluation's figures, or ``None`` if its worker failed (logged)."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a dead worker loses one design, not the search
        log.warning("explore: a worker failed: %s: %s", type(exc).__name__, exc)
        return None


def _design_of(space: DesignSpace, u: np.ndarray) -> dict[str, float]:
    return space.decode(u)


def run(space: DesignSpace, out_dir: str | PathLike[str], *, budget: int = 64, seed: int = 0,
            n_initial: int = 24, batch: int = 12, executor: cf.Executor | None = None, workers: int | None = None,
            progress: ProgressCallback | None = None, use_cache: bool = True, cache: DesignCache | None = None,
            overwrite: bool = False, runner: str = "batch") -> ExploreResult:
    """Search ``space`` with the predicted tier (at most ``budget`` designs besides the reference) and write
    the designs and the front into ``out_dir`` (module docstring).

    Parameters
    ----------
    space : the design space (:func:`pbitkit.explore.space.load_space`).
    out_dir : run directory (resumable; another space or seed there raises ``ProvenanceMismatchError``
        unless ``overwrite``).
    budget : designs to evaluate in the search (the cell's default design is evaluated in addition, as the
        reference). A resumed run with a larger budget continues the same search.
    seed : seed of the search (Latin hypercube and refinement steps).
    n_initial : size of the space-filling first round; later rounds propose ``batch`` designs each.
    executor : any ``concurrent.futures.Executor`` (a dask client's, :func:`pbitkit.circuits.executors.dask_executor`);
        default a local process pool of ``workers`` (1: in this process).
    progress : ``progress(done, total, message)`` after every finished design.
    use_cache, cache : reuse designs evaluated by earlier runs (default cache ``cache_dir()/explore/designs``).
    runner : how ngspice runs (:mod:`pbitkit.circuits.runners`).

    Raises
    ------
    ConfigError
        For a bad budget, batch or worker count.
    """
    if not isinstance(budget, int) or budget < 0:
        raise ConfigError(f"budget must be an integer >= 0, got {budget!r}")
    if not isinstance(batch, int) or batch < 1 or not isinstance(n_initial, int) or n_initial < 1:
        raise ConfigError(f"batch and n_initial must be integers >= 1, got {batch!r}, {n_initial!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    t0 = time.perf_counter()
    version = ngspice_version()
    cell = get_cell(space.cell)
    config = {"space": space.to_dict(), "seed": seed, "n_initial": n_initial, "batch": batch}
    run_dir = open_run_dir(out_dir, kind="explore", config=config, overwrite=overwrite)
    log_path = run_dir / DESIGNS_LOG
    cache = cache or (DesignCache.default() if use_cache else None)
    cond, area, screen = _eval_args(space)
    code = (*EVAL_CODE_MODULES, type(cell).__module__)

    def key_of(design: Mapping[str, float]) -> str:
        return design_key(space.cell, design, conditions=cond, area=area, screen=screen, ngspice_version=version,
                          code_modules=code)

    done: dict[str, DesignResult] = {}
    for rec in read_records(log_path):
        done[rec["key"]] = DesignResult(rec["key"], rec["design"], restore_metrics(rec), rec.get("origin", ""),
                                        int(rec.get("round", 0)), tuple(rec["u"]) if rec.get("u") else None)
    n_from_log = len(done)
    n_cached = 0
    n_eval = 0
    cpu = 0.0
    order: list[str] = []  # keys in (round, index) order
    total = budget + 1
    own = None
    n_workers = workers if workers is not None else 1
    if executor is None and n_workers > 1:
        own = executor = local_executor(n_workers)
    finished = False
    n_lost = [0]

    def store(key: str, design: Mapping[str, float], metrics: Mapping[str, Any], origin: str, rnd: int,
              u: np.ndarray | None) -> DesignResult:
        rec = make_record(key, design, metrics, origin=origin, round=rnd,
                          u=None if u is None else [float(x) for x in u])
        append_record(log_path, rec)
        if cache is not None:
            cache.put(rec)
        return DesignResult(key, dict(design), restore_metrics(rec), origin, rnd,
                            None if u is None else tuple(float(x) for x in u))

    def run_round(items: list[tuple[str, dict[str, float], np.ndarray | None]], origin: str, rnd: int) -> None:
        nonlocal n_cached, n_eval, cpu
        todo = []
        for key, design, u in items:
            order.append(key)
            if key in done:
                continue
            hit = cache.get(key) if cache is not None else None
            if hit is not None:
                done[key] = store(key, design, restore_metrics(hit), origin, rnd, u)
                n_cached += 1
                continue
            todo.append((key, design, u))
        if not todo:
            return
        if executor is None:
            results = ((k, d, u, evaluate_design(space.cell, d, cond, area, screen, runner)) for k, d, u in todo)
        else:
            futs = {executor.submit(evaluate_design, space.cell, d, cond, area, screen, runner): (k, d, u)
                    for k, d, u in todo}
            results = ((*futs[f], _result(f)) for f in cf.as_completed(futs))
        for k, d, u, m in results:
            if m is None:  # the worker died: nothing is stored, a resumed run evaluates the design again
                n_lost[0] += 1
                continue
            done[k] = store(k, d, m, origin, rnd, u)
            n_eval += 1
            cpu += float(m.get("cpu_time_s", 0.0))
            if progress:
                progress(sum(1 for kk in order if kk in done), total, f"{origin} round {rnd}: {m.get('status')}")

    try:
        # the reference: the cell's own defaults under the space's conditions
        ref_design = {SUPPLY: float(cell.default_vdd_V)}
        ref_u = space.encode({**cell.params(), **ref_design})
        run_round([(key_of(ref_design), ref_design, ref_u)], "reference", 0)
        n_left = budget
        rnd = 0
        stale = 0
        while n_left > 0:
            rng = round_rng(seed, rnd)
            if rnd == 0:
                us = initial_points(space.dim, n_initial, rng)
                origin = "initial"
            else:
                evaluated = [done[k] for k in order if k in done]
                feas, front = front_mask(space, evaluated)
                parents = [d for d, f in zip(evaluated, front, strict=True) if f and d.u is not None]
                if not parents:  # nothing feasible yet: refine around the least infeasible designs
                    cand = sorted((d for d in evaluated if d.u is not None), key=lambda d: (_violation(space, d.metrics), d.key))
                    parents = cand[:max(1, batch // 3)]
                pu = np.array([d.u for d in sorted(parents, key=lambda d: d.key)], dtype=float).reshape(-1, space.dim)
                us = refine_points(pu, batch, step_size(rnd), rng)
                origin = "refine"
            items = []
            seen = set(order)
            for u in us:
                d = _design_of(space, u)
                k = key_of(d)
                if k in seen:  # a level space can map two points onto one design: skip the repeat
                    continue
                seen.add(k)
                items.append((k, d, u))
            items = items[:n_left]
            run_round(items, origin, rnd)
            n_left -= len(items)
            stale = 0 if items else stale + 1
            rnd += 1
            if stale >= 20:
                log.warning("explore: 20 rounds proposed no new design (the space holds few distinct designs); "
                            "stopping with %d of the budget left", n_left)
                break
        finished = True
    finally:
        if own is not None:
            own.shutdown(wait=finished, cancel_futures=True)
    if n_lost[0]:
        log.warning("explore: %d design(s) lost to worker errors; run the same command again to evaluate them",
                    n_lost[0])
    designs = [done[k] for k in order if k in done]
    feas, front = front_mask(space, designs)
    _write_tables(run_dir.path, space, designs, feas, front)
    wall = time.perf_counter() - t0
    log.info("explore %s: %d designs (%d evaluated, %d from the run log, %d from the cache), %d feasible, %d on "
             "the front; %.1f s wall", space.cell, len(designs), n_eval, n_from_log, n_cached, int(feas.sum()),
             int(front.sum()), wall)
    return ExploreResult(space, run_dir.path, designs, feas, front, n_eval, n_from_log + n_cached, wall, cpu)


def full_design(space: DesignSpace, design: Mapping[str, float]) -> dict[str, float]:
    """Every cell parameter and ``vdd_V`` of a design: the cell's defaults updated by the design."""
    cell = get_cell(space.cell)
    return {**cell.params(), SUPPLY: float(cell.default_vdd_V), **design}


def table_rows(space: DesignSpace, designs: Sequence[DesignResult], feas: np.ndarray,
               front: np.ndarray) -> list[dict[str, Any]]:
    """One flat row per design: key, origin, round, parameters, figures, ``feasible``, ``on_front``."""
    names = sorted({n for d in designs for n in d.design})
    metric_names = list(METRICS) + [f"corner_{c}_{m}" for c in space.conditions.check_corners for m in CORNER_METRICS]
    rows = []
    for d, f, p in zip(designs, feas, front, strict=True):
        row: dict[str, Any] = {"key": d.key[:16], "origin": d.origin, "round": d.round}
        full = full_design(space, d.design)
        row.update({n: full.get(n, math.nan) for n in names})
        row.update({m: d.metrics.get(m, math.nan) for m in metric_names})
        row.update(feasible=int(f), on_front=int(p), status=d.metrics.get("status"), screened=d.metrics.get("screened"),
                   cpu_time_s=d.metrics.get("cpu_time_s"), error=d.metrics.get("error", ""))
        rows.append(row)
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if (isinstance(v, float) and math.isnan(v)) else (repr(v) if isinstance(v, float) else v)
                    for v in (r.get(c) for c in cols)])
    return buf.getvalue()


def _write_tables(out: Path, space: DesignSpace, designs: Sequence[DesignResult], feas: np.ndarray,
                  front: np.ndarray) -> None:
    rows = table_rows(space, designs, feas, front)
    atomic_write_text(out / DESIGNS_CSV, _csv(rows))
    atomic_write_text(out / FRONT_CSV, _csv([r for r in rows if r["on_front"]]))
