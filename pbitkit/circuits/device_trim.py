"""Per-device trims in a characterization: each mismatch instance calibrated by its cell's own procedure.

A cell with per-cell trims (today ``native_latch``: n-well trims of the core and of the readout comparator,
:mod:`pbitkit.circuits.native_latch_trim`) is far off its nominal sigmoid as an untrimmed Monte-Carlo
instance, and a chip would never be used that way. With ``trim = "calibrate"`` in a sweep spec (the
pipeline's default for such cells), :func:`trim_points` runs the cell's calibration once per mismatch
device (``mc_seed >= 0``; the nominal device keeps its parameters), merges the resulting trim parameters into
that device's points, and caches them under ``$PBITKIT_CACHE/circuits/trims`` keyed by the device and the
code that computed them, like the predicted centres of :mod:`pbitkit.circuits.centering`.

A cell whose operating point moves with the process corner and the temperature (``native_latch``: its core
supply) also has a **die setup** per corner / temperature: the codes a chip's per-die calibration chose
(:mod:`pbitkit.circuits.native_latch_cal` through the supply generator of :mod:`pbitkit.circuits.supply_gen`),
stored with their measurements in the cell's corner table (``pbitkit/data/native_latch_corners.jsonl``,
written by ``examples/native_latch_corners.py``). With ``trim = "calibrate"`` every device at an off-nominal
corner / temperature is simulated at its die setup (core supply and trims); a corner the table has no
working record of keeps the nominal setup and is logged, so the rows show what a fixed supply does there.
The nominal corner (tt, 27 °C) keeps the cell's own defaults.

The procedures run here are the cheap, deterministic part of each cell's calibration (for ``native_latch``:
the readout auto-zero scan and the predicted-tier bisection of the core's trim code, no transient
refinement). What remains is a per-cell bias offset that the sweep's bias centering and, in an array,
:mod:`pbitkit.array.calibration` remove.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pbitkit.circuits.cache import module_hash
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.centering import device_key
from pbitkit.circuits.models import get_library
from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_write_json, read_json, sha256_json
from pbitkit.paths import cache_dir

__all__ = ["CELL_CALIBRATIONS", "CELL_DIE_SETUPS", "has_calibration", "die_setup", "trim_points"]

log = logging.getLogger(__name__)


def _native_latch(instances: Sequence[dict[str, Any]], *, library: Callable[[str, bool], Any],
                  workers: int) -> list[tuple[dict[str, float], dict[str, Any]]]:
    """``native_latch``: readout auto-zero, then the core's predicted-tier balance at ``bias = ref``
    (:func:`pbitkit.circuits.native_latch_trim.calibrate_cell` without transient refinement)."""
    from pbitkit.circuits.native_latch_trim import calibrate_cell

    out = []
    for t in calibrate_cell(instances, transient_steps=0, library=library, workers=workers):
        prm = {k: t.params[k] for k in ("trim_V", "ro_trim_V")}
        flips = [None if not math.isfinite(f) else f for f in t.readout_flips_V]
        out.append((prm, {"core_code": t.core_code, "readout_code": t.readout_code, "readout_flips_V": flips,
                          "reachable": t.reachable}))
    return out


#: Cells with a per-device calibration: cell name -> (the calibration, the module holding its procedure).
#: The calibration takes ``(instances, library=, workers=)`` (instances: dicts with ``corner``, ``temp_C``,
#: ``mc_seed``, ``vdd_V``, ``params``) and returns one ``(params, record)`` per instance: the trim parameters
#: to simulate the calibrated device with, and a JSON-ready record of how they were found.
CELL_CALIBRATIONS: dict[str, tuple[Callable[..., list[tuple[dict[str, float], dict[str, Any]]]], str]] = {
    "native_latch": (_native_latch, "pbitkit.circuits.native_latch_trim"),
}


def _native_latch_die_setup(corner: str, temp_C: float) -> dict[str, Any] | None:
    """The stored die setup of ``native_latch`` at ``corner`` / ``temp_C`` (core supply, trims), or None."""
    import json

    from pbitkit.circuits.supply_gen import CORNERS_TABLE
    from pbitkit.paths import data_dir

    path = data_dir() / CORNERS_TABLE
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise PbitkitError(f"native_latch corner table {path}: cannot read ({e})") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise PbitkitError(f"native_latch corner table {path}, line {n}: not JSON ({e})") from e
        if not (isinstance(rec, dict) and rec.get("corner") == corner and rec.get("ok") is True
                and float(rec.get("temp_C", math.nan)) == float(temp_C)):
            continue
        if rec.get("in_band") is False:  # calibrated, but the independent check after it failed: not working
            continue
        prm, v_core = rec.get("params"), rec.get("v_core_V")
        good = (isinstance(prm, dict) and all(isinstance(k, str) and isinstance(v, (int, float))
                                              and not isinstance(v, bool) and math.isfinite(v) for k, v in prm.items())
                and isinstance(v_core, (int, float)) and 0.0 < float(v_core) < 1.8)
        if not good:
            raise PbitkitError(f"native_latch corner table {path}, line {n}: malformed record for {corner} / "
                               f"{temp_C:g} C (expected numeric 'params' and 0 < 'v_core_V' < 1.8 V)")
        return {"vdd_V": float(v_core), "params": {k: float(v) for k, v in prm.items()},
                "source": f"{CORNERS_TABLE} line {n}: per-die calibration at {corner} / {temp_C:g} C, "
                          f"code {rec.get('code')}, well code {rec.get('well_code')}"}
    return None


#: Cells whose operating point is set per die at each corner / temperature: cell name -> reader of the
#: stored setup ``(corner, temp_C) -> {"vdd_V", "params", "source"} | None``.
CELL_DIE_SETUPS: dict[str, Callable[[str, float], dict[str, Any] | None]] = {
    "native_latch": _native_latch_die_setup,
}

#: The corner / temperature at which a cell runs at its own defaults (no die setup applied).
NOMINAL_CONDITIONS = ("tt", 27.0)


def die_setup(cell: str, corner: str, temp_C: float) -> dict[str, Any] | None:
    """The stored per-die setup of ``cell`` at ``corner`` / ``temp_C`` (``vdd_V``, ``params``, ``source``),
    or None when the cell has none there (or the conditions are the nominal tt / 27 °C).

    Raises
    ------
    PbitkitError
        If the cell's stored table is unreadable or its record for these conditions is malformed.
    """
    reader = CELL_DIE_SETUPS.get(cell)
    if reader is None or (corner, float(temp_C)) == NOMINAL_CONDITIONS:
        return None
    return reader(corner, float(temp_C))


def has_calibration(cell: str) -> bool:
    """Whether ``cell`` has a per-device calibration (:data:`CELL_CALIBRATIONS`)."""
    return cell in CELL_CALIBRATIONS


def _cache_key(pt: SweepPoint, models: str, ngspice_version: str, calib_module: str) -> str:
    from pbitkit.circuits.registry import get_cell

    cell_module = type(get_cell(pt.cell)).__module__
    mods = (__name__, calib_module, cell_module, "pbitkit.circuits.cell_base", "pbitkit.circuits.elements",
            "pbitkit.circuits.predict", "pbitkit.circuits.models")
    return sha256_json({"device": list(map(str, device_key(pt))), "models": models, "ngspice": ngspice_version,
                        "code": {m: module_hash(m) for m in mods}})


def _read_trim(path: Any) -> dict[str, Any] | None:
    """A cached trim record, or None if absent or malformed (logged)."""
    if not path.is_file():
        return None
    try:
        rec = read_json(path)
    except PbitkitError as exc:
        log.warning("ignoring unreadable trim cache entry %s: %s", path, exc)
        return None
    prm = rec.get("params") if isinstance(rec, dict) else None
    if not (isinstance(prm, dict) and prm and all(isinstance(k, str) and isinstance(v, (int, float))
                                                  and not isinstance(v, bool) and math.isfinite(v)
                                                  for k, v in prm.items())):
        log.warning("ignoring corrupt trim cache entry %s (expected numeric 'params'); calibrating again", path)
        return None
    return rec


def trim_points(points: Sequence[SweepPoint], *, models: str, ngspice_version: str, workers: int = 1,
                use_cache: bool = True) -> tuple[list[SweepPoint], list[dict[str, Any]]]:
    """Calibrate every mismatch device among ``points`` and give its points the trim parameters.

    Parameters
    ----------
    points : sweep points of one cell that has a calibration (:func:`has_calibration`).
    models : the sweep's model set (``"sky130"``, ``"sky130-full"``).
    workers : parallel ngspice sessions of the calibration.

    Returns
    -------
    (points, trims): the points (same order; every device at an off-nominal corner / temperature at its
    stored die setup (:func:`die_setup`: ``vdd_V`` and ``params``), a mismatch device's ``params`` then
    extended by its trims, which override the spec's values of the same names) and one record per die setup
    (``corner``, ``temp_C``, ``mc_seed = -1``, ``die_setup = True``, ``vdd_V``, ``params``, ``source``) and per
    calibrated device (``corner``, ``mc_seed``, ``temp_C``, ``vdd_V``, ``params``, the calibration's own
    fields, ``cached``).

    Raises
    ------
    ConfigError
        If the cell has no calibration.
    """
    from pbitkit.errors import ConfigError

    if not points:
        return [], []
    cell = points[0].cell
    if not has_calibration(cell):
        raise ConfigError(f"trim = 'calibrate': cell {cell!r} has no per-device calibration "
                          f"(cells with one: {sorted(CELL_CALIBRATIONS)})")
    calibrate, calib_module = CELL_CALIBRATIONS[cell]
    importlib.import_module(calib_module)  # its source hash keys the cache
    setups: dict[tuple[str, float], dict[str, Any] | None] = {}
    for pt in points:
        cond = (pt.corner, float(pt.temp_C))
        if cond not in setups:
            setups[cond] = die_setup(cell, *cond)
            if setups[cond] is None and cond != NOMINAL_CONDITIONS and cell in CELL_DIE_SETUPS:
                log.warning("%s at %s / %g C: no working per-die setup in the cell's corner table; simulated at "
                            "the nominal supply and trims (a fixed supply)", cell, *cond)
    die_records = [{"corner": c, "temp_C": t, "mc_seed": -1, "die_setup": True, **setup}
                   for (c, t), setup in setups.items() if setup is not None]
    points = [replace(pt, vdd_V=setup["vdd_V"], params={**pt.params, **setup["params"]})
              if (setup := setups[(pt.corner, float(pt.temp_C))]) is not None else pt for pt in points]
    devices: dict[tuple, SweepPoint] = {}
    for pt in points:
        if pt.mc_seed >= 0:
            devices.setdefault(device_key(pt), pt)
    root = cache_dir() / "circuits" / "trims"
    found: dict[tuple, dict[str, Any]] = {}
    todo: list[tuple[tuple, SweepPoint, str]] = []
    for key, pt in devices.items():
        ck = _cache_key(pt, models, ngspice_version, calib_module)
        rec = _read_trim(root / f"{ck}.json") if use_cache else None
        if rec is not None:
            found[key] = {**rec, "cached": True}
        else:
            todo.append((key, pt, ck))
    if todo:
        def lib(corner: str, mismatch: bool) -> Any:
            return get_library(models, corner, mismatch=mismatch)

        inst = [{"corner": pt.corner, "temp_C": pt.temp_C, "mc_seed": pt.mc_seed, "vdd_V": pt.vdd_V,
                 "params": dict(pt.params)} for _, pt, _ in todo]
        results = calibrate(inst, library=lib, workers=workers)
        for (key, _pt, ck), (prm, info) in zip(todo, results, strict=True):
            rec = {"params": {k: float(v) for k, v in prm.items()}, **info}
            if use_cache:
                atomic_write_json(root / f"{ck}.json", rec)
            found[key] = {**rec, "cached": False}
    out = [replace(pt, params={**pt.params, **found[device_key(pt)]["params"]}) if device_key(pt) in found else pt
           for pt in points]
    trims = [{"corner": pt.corner, "mc_seed": pt.mc_seed, "temp_C": pt.temp_C, "vdd_V": pt.vdd_V,
              **found[key]} for key, pt in devices.items()]
    return out, die_records + trims
