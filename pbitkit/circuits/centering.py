"""Per-device bias centering: find each (corner, temperature, supply, mismatch seed) device's sigmoid
centre from the cheap predicted tier before the transient sweep, and place the bias points around it.

Why: mismatch moves a p-bit's centre by several sigmoid widths (docs/theory.md §6.8: ≈ 3.5 widths
for the StrongARM comparator, ≈ 100 for the subthreshold latch), so a fixed bias grid sees most mismatched
devices only saturated at P ≈ 0 or 1 and their fitted offsets become extrapolations. So each
device's centre is found first, and its sweep placed finely around it.

:func:`predicted_sigmoid` runs one device's predicted tier (one short ngspice session) and reads the
sigmoid's centre and width off it. Centres are cached by content (cell, device, parameters, model
library, ngspice version, code of the predicted tier) under ``cache_dir()/circuits/centres``, written
atomically.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
from collections.abc import Sequence
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.circuits.cache import module_hash
from pbitkit.circuits.cell_base import LibraryFactory, SweepPoint
from pbitkit.circuits.executors import local_executor
from pbitkit.circuits.models import get_library
from pbitkit.circuits.runners import DEFAULT_RUNNER, run_job
from pbitkit.circuits.registry import get_cell
from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_write_json, read_json, sha256_json
from pbitkit.paths import cache_dir
from pbitkit.progress import ProgressCallback

__all__ = ["predicted_sigmoid", "device_key", "predict_centre", "centre_points"]

log = logging.getLogger(__name__)


def predicted_sigmoid(cell: str, *, corner: str = "tt", mc_seed: int = -1, temp_C: float = 27.0,
                      vdd_V: float | None = None, params: Mapping[str, float] | None = None,
                      bias_grid_V: np.ndarray | None = None,
                      library: LibraryFactory | None = None, runner: str = DEFAULT_RUNNER) -> dict[str, float]:
    """Centre and width of a cell's sigmoid from the predicted tier (one short ngspice session).

    Use it to find a mismatched cell's centre before a transient sweep (place the transient bias
    points around ``v0_V``), or as a cheap per-corner estimate. ``vs_V`` is the logistic scale from the
    27 %/73 % points (``logit(0.7311) = 1``): ``vs_V = (V_73 - V_27) / 2``.

    Parameters
    ----------
    cell : cell name (:func:`pbitkit.circuits.registry.get_cell`); it must have a predicted tier.
    corner, mc_seed, temp_C, vdd_V, params : the device (see :class:`~pbitkit.circuits.cell_base.SweepPoint`).
    bias_grid_V : (n,) increasing bias values (V); default 4001 values over +-20 default-range widths.
    library : model-library factory ``(corner, mismatch) -> ModelLibrary`` (default sky130).
    runner : ``"batch"``, ``"shared"`` or ``"auto"`` (:mod:`pbitkit.circuits.runners`; same result).

    Returns
    -------
    dict with ``v0_V``, ``vs_V`` (NaN when P(1) does not cross the level inside ``bias_grid_V``),
    ``p_min``, ``p_max`` (the range of P over the grid) and ``cpu_time_s``.
    """
    c = get_cell(cell)
    if bias_grid_V is None:
        lo, hi = c.default_bias_range(params)
        half = max(hi - lo, 1e-3) * 20
        bias_grid_V = np.linspace((lo + hi) / 2 - half, (lo + hi) / 2 + half, 4001)
    grid = np.asarray(bias_grid_V, dtype=float)
    pts = [SweepPoint(cell, float(b), corner=corner, mc_seed=mc_seed, temp_C=temp_C, vdd_V=vdd_V,
                      params=dict(params or {}), tier="predicted") for b in grid]
    job = c.jobs(pts, library=library)[0]
    res = run_job(job, runner)
    p = np.array([r["p1"] for r in c.rows(job, res)], dtype=float)

    def level(q: float) -> float:
        above = np.flatnonzero(p >= q)
        if not above.size or above[0] == 0 or not np.all(np.isfinite(p)):
            return math.nan
        k = int(above[0])
        return float(np.interp(q, [p[k - 1], p[k]], [grid[k - 1], grid[k]]))

    v27, v0, v73 = level(0.2689), level(0.5), level(0.7311)
    finite = p[np.isfinite(p)]  # every row failed (no threshold in the predicted tier): no range, no warning
    return {"v0_V": v0, "vs_V": (v73 - v27) / 2, "p_min": float(finite.min()) if finite.size else math.nan,
            "p_max": float(finite.max()) if finite.size else math.nan, "cpu_time_s": res.cpu_time_s}


def device_key(pt: SweepPoint) -> tuple:
    """What identifies one simulated device: everything but the bias (and tier)."""
    return (pt.cell, pt.corner, pt.temp_C, pt.vdd_V, pt.mc_seed, tuple(sorted(pt.params.items())))


def predict_centre(cell: str, corner: str, mc_seed: int, temp_C: float, vdd_V: float | None,
                   params: dict[str, float], models: str, runner: str = DEFAULT_RUNNER) -> dict[str, float]:
    """The predicted-tier sigmoid (``v0_V``, ``vs_V``, ...) of one device (one or two ngspice sessions).

    The predicted P(1) is evaluated on the cell's ``centering_points`` bias values over +-span default-range
    widths around the range's midpoint for each of its ``centering_spans`` in turn until it crosses 1/2
    (default 4001 values, +-20 widths, then +-200 for a device whose centre lies outside: the latch's mismatch
    moves it by ~100 widths). A module-level function so that process pools and dask workers
    can run it. ``runner``: how the sessions run (:mod:`pbitkit.circuits.runners`)."""

    def library(c: str, mismatch: bool) -> Any:
        return get_library(models, c if models != "generic" else "tt", mismatch=mismatch)

    c = get_cell(cell)
    lo, hi = c.default_bias_range(params)
    mid, width = 0.5 * (lo + hi), max(hi - lo, 1e-3)
    res: dict[str, float] = {}
    for span in c.centering_spans:  # e.g. +-20 default widths first; a device with no crossing there gets +-200
        grid = np.linspace(mid - span * width, mid + span * width, int(c.centering_points))
        res = predicted_sigmoid(cell, corner=corner, mc_seed=mc_seed, temp_C=temp_C, vdd_V=vdd_V, params=params,
                                library=library, bias_grid_V=grid, runner=runner)
        if math.isfinite(res["v0_V"]):
            break
    return res


_CENTRE_KEYS = ("v0_V", "vs_V", "p_min", "p_max")


def _read_centre(path: Path) -> dict[str, float] | None:
    """A cached centre, or None if there is none or it is not a valid record (logged with the file)."""
    if not path.is_file():
        return None
    try:
        rec = read_json(path)
    except PbitkitError as exc:
        log.warning("ignoring unreadable centre cache entry %s: %s", path, exc)
        return None
    if (not isinstance(rec, dict) or set(rec) != set(_CENTRE_KEYS)
            or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in rec.values())):
        log.warning("ignoring corrupt centre cache entry %s (expected numbers %s); predicting again", path,
                    list(_CENTRE_KEYS))
        return None
    return rec


def _cache_key(pt: SweepPoint, models: str, ngspice_version: str) -> str:
    cell = get_cell(pt.cell)
    spec = getattr(cell, "spec", None)  # netlist cells: their files are part of the device
    files = {k: getattr(spec, k) for k in ("template_sha256", "toml_sha256") if hasattr(spec, k)}
    return sha256_json({"device": list(map(str, device_key(pt))), "models": models, "ngspice": ngspice_version,
                        "cell_files": files,
                        "code": {m: module_hash(m) for m in (__name__, type(cell).__module__, "pbitkit.circuits.cell_base",
                                                             "pbitkit.circuits.elements", "pbitkit.circuits.predict",
                                                             "pbitkit.circuits.models")}})


def centre_points(points: Sequence[SweepPoint], *, models: str, ngspice_version: str,
                  executor: cf.Executor | None = None, workers: int = 1, use_cache: bool = True,
                  progress: ProgressCallback | None = None,
                  runner: str = DEFAULT_RUNNER) -> tuple[list[SweepPoint], list[dict[str, Any]]]:
    """Shift each device's bias points to its own predicted centre.

    A point's new bias is ``V0(device) + (b - mid)``: ``b`` is its bias in the spec, ``mid`` the midpoint
    of the cell's default bias range (around which the nominal cell is centred by design). A device whose
    predicted sigmoid does not cross 1/2 keeps its points unshifted (logged).

    Returns
    -------
    (points, centres): the shifted points (same order) and one record per device (``corner``,
    ``mc_seed``, ``temp_C``, ``vdd_V``, ``v0_pred_V``, ``vs_pred_V``, ``shift_V``, ``cached``).
    """
    devices: dict[tuple, SweepPoint] = {}
    for pt in points:
        devices.setdefault(device_key(pt), pt)
    root = cache_dir() / "circuits" / "centres"
    found: dict[tuple, dict[str, float]] = {}
    todo: list[tuple[tuple, SweepPoint, str]] = []
    for key, pt in devices.items():
        ck = _cache_key(pt, models, ngspice_version)
        rec = _read_centre(root / f"{ck}.json") if use_cache else None
        if rec is not None:
            found[key] = {**rec, "cached": True}
        else:
            todo.append((key, pt, ck))
    own = executor is None and len(todo) > 1 and workers > 1
    ex = local_executor(min(workers, len(todo))) if own else executor
    finished = False
    try:
        if ex is None:
            results = ((k, pt, ck, predict_centre(pt.cell, pt.corner, pt.mc_seed, pt.temp_C, pt.vdd_V, pt.params, models,
                                                    runner))
                       for k, pt, ck in todo)
            done_iter = results
        else:
            futs = {ex.submit(predict_centre, pt.cell, pt.corner, pt.mc_seed, pt.temp_C, pt.vdd_V, dict(pt.params),
                              models, runner): (k, pt, ck) for k, pt, ck in todo}
            done_iter = ((*futs[f], f.result()) for f in cf.as_completed(futs))
        for i, (k, _pt, ck, res) in enumerate(done_iter):
            rec = {"v0_V": res["v0_V"], "vs_V": res["vs_V"], "p_min": res["p_min"], "p_max": res["p_max"]}
            if use_cache:
                atomic_write_json(root / f"{ck}.json", rec)
            found[k] = {**rec, "cached": False}
            if progress:
                progress(i + 1, len(todo), f"centre of device {i + 1}/{len(todo)}")
        finished = True
    finally:
        if own and ex is not None:  # interrupted: do not wait (the workers end with this process)
            ex.shutdown(wait=finished, cancel_futures=True)
    out: list[SweepPoint] = []
    centres: list[dict[str, Any]] = []
    shifts: dict[tuple, float] = {}
    for key, pt in devices.items():
        lo, hi = get_cell(pt.cell).default_bias_range(pt.params)
        v0 = found[key]["v0_V"]
        if v0 is None or not math.isfinite(v0):
            log.warning("device %s: predicted P(1) does not cross 1/2 (P in [%.3g, %.3g]); bias points not shifted",
                        key[1:5], found[key]["p_min"], found[key]["p_max"])
            shift = 0.0
        else:
            shift = float(v0) - 0.5 * (lo + hi)
        shifts[key] = shift
        centres.append({"corner": pt.corner, "mc_seed": pt.mc_seed, "temp_C": pt.temp_C, "vdd_V": pt.vdd_V,
                        "v0_pred_V": v0, "vs_pred_V": found[key]["vs_V"], "shift_V": shift,
                        "cached": found[key]["cached"]})
    for pt in points:
        out.append(replace(pt, bias_V=pt.bias_V + shifts[device_key(pt)]))
    return out, centres
