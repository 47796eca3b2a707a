"""The end-to-end pipeline's configuration (one TOML file, one table per stage).

Example (``pbitkit pipeline --config pipeline.toml``; every key is optional)::

    array_cell = "native_latch"        # whose DeviceModel card drives the array ("default": the default cell)
    workers = 0                        # local worker processes (0 = every core)
    scheduler = ""                     # dask.distributed scheduler address, e.g. "tcp://10.0.0.5:8786"

    [characterize]
    cells = ["native_latch"]           # "default" names the pipeline's default cell (native_latch); add "strongarm" to compare
    corners = ["tt", "ff", "ss", "fs", "sf"]
    n_mc = 8                           # Monte-Carlo mismatch instances (plus the nominal device)
    mc_corners = ["tt"]                # ... simulated at these corners
    bias_centering = "predicted"       # sweep each device around its own predicted centre
    trim = "calibrate"                 # mismatch instances of cells with per-cell trims are calibrated first
    bias_points = 9
    [characterize.params.native_latch] # per-cell parameter overrides
    t_stop_s = 30e-6
    [characterize.spec_files]          # or a full sweep spec (TOML) per cell, replacing the above
    # strongarm = "my_sweep.toml"

    [fit]                              # pbitkit.pbitmodel.FitConfig (cell is set per cell)
    link = "auto"

    [dtm]                              # pbitkit.dtm.DTMConfig: data, forward, model, train, sampler, device
    [dtm.model]
    L = 16
    pattern = "bipartite"              # the crossbar (default); "G20" etc. for a grid
    [evaluate]                         # pbitkit.dtm.EvalConfig
    K_values = [5, 10, 20, 40]
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from pbitkit.circuits.default_cell import DEFAULT_CELL, resolve_cell_name
from pbitkit.config import check_scheduler_address, from_dict, load_toml, to_dict
from pbitkit.errors import ConfigError

__all__ = ["CharacterizeSection", "PipelineConfig", "load_pipeline_config", "quick_config", "default_config"]


def _fit_config_cls() -> Any:
    from pbitkit.pbitmodel.fit import FitConfig

    return FitConfig


def _dtm_config_cls() -> Any:
    from pbitkit.dtm.pipeline import DTMConfig

    return DTMConfig


def _eval_config_cls() -> Any:
    from pbitkit.dtm.evaluate import EvalConfig

    return EvalConfig


@dataclass(frozen=True)
class CharacterizeSection:
    """Which cells to characterize and over which grid (see :mod:`pbitkit.circuits.sweep`): every corner
    for the nominal device, ``n_mc`` Monte-Carlo mismatch instances at ``mc_corners``, each device's bias
    points centred on its own predicted sigmoid centre. With ``trim = "calibrate"`` the mismatch instances
    of cells that have per-cell trims (:mod:`pbitkit.circuits.device_trim`) are calibrated before that, as
    a chip's would be (other cells are unaffected). A cell named ``"default"`` (in ``cells``, ``params``
    or ``spec_files``) is the pipeline's default cell (:data:`~pbitkit.circuits.default_cell.DEFAULT_CELL`).
    Default: only that cell (add ``"strongarm"`` to compare the two cells in one report, e.g. on the grid:
    ``configs/digits_grid.toml``; its resistor bias network at the default crossbar's fan-in of 128 is a
    129-input transient beyond ngspice's session timeout)."""

    cells: tuple[str, ...] = (DEFAULT_CELL,)
    corners: tuple[str, ...] = ("tt", "ff", "ss", "fs", "sf")
    temps_C: tuple[float, ...] = (27.0,)
    n_mc: int = 8
    mc_corners: tuple[str, ...] = ("tt",)
    bias_centering: Literal["none", "predicted"] = "predicted"
    trim: Literal["none", "calibrate"] = "calibrate"
    bias_points: int = 9
    noise_seed: int = 0
    quick: bool = False
    params: dict[str, dict[str, float]] = field(default_factory=dict)
    spec_files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cells:
            raise ConfigError("characterize.cells must name at least one cell")
        cells = tuple(resolve_cell_name(c) for c in self.cells)
        if len(set(cells)) != len(cells):
            raise ConfigError(f"characterize.cells names a cell twice: {list(self.cells)} (\"default\" is "
                              f"{DEFAULT_CELL!r})")
        object.__setattr__(self, "cells", cells)
        for key in ("params", "spec_files"):
            table = getattr(self, key)
            resolved = {resolve_cell_name(k): v for k, v in table.items()}
            if len(resolved) != len(table):
                raise ConfigError(f"characterize.{key} names a cell twice: {sorted(table)} (\"default\" is "
                                  f"{DEFAULT_CELL!r})")
            object.__setattr__(self, key, resolved)
        for name in (*self.params, *self.spec_files):
            if name not in self.cells:
                raise ConfigError(f"characterize: overrides for cell {name!r}, which is not in cells {list(self.cells)}")
        if self.n_mc < 0:
            raise ConfigError(f"characterize.n_mc must be >= 0, got {self.n_mc}")
        if self.bias_points < 3:
            raise ConfigError(f"characterize.bias_points must be >= 3 to fit a sigmoid, got {self.bias_points}")


@dataclass(frozen=True)
class PipelineConfig:
    """The whole pipeline: characterization → fit → array → DTM → report. ``array_cell = "default"`` is
    the pipeline's default cell."""

    characterize: CharacterizeSection = field(default_factory=CharacterizeSection)
    fit: Any = field(default_factory=lambda: _fit_config_cls()())
    dtm: Any = field(default_factory=lambda: _dtm_config_cls()())
    evaluate: Any = field(default_factory=lambda: _eval_config_cls()())
    array_cell: str = DEFAULT_CELL
    workers: int = 0
    scheduler: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "array_cell", resolve_cell_name(self.array_cell))
        if self.array_cell not in self.characterize.cells:
            raise ConfigError(
                f"array_cell {self.array_cell!r} is not among characterize.cells {list(self.characterize.cells)}"
            )
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0 = every core), got {self.workers}")
        if self.scheduler:
            check_scheduler_address(self.scheduler, "scheduler")

    @property
    def n_workers(self) -> int:
        """Worker processes for local pools (``workers`` or every usable core)."""
        from pbitkit.circuits.executors import default_workers

        return self.workers or default_workers()

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def _build(data: dict[str, Any], where: str) -> PipelineConfig:
    data = dict(data)
    allowed = {f.name for f in dataclasses.fields(PipelineConfig)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    kwargs: dict[str, Any] = {}
    if "characterize" in data:
        kwargs["characterize"] = from_dict(CharacterizeSection, data["characterize"], where=f"{where}.characterize")
    for key, cls in (("fit", _fit_config_cls()), ("dtm", _dtm_config_cls()), ("evaluate", _eval_config_cls())):
        if key in data:
            kwargs[key] = from_dict(cls, data[key], where=f"{where}.{key}")
    for key, tp in (("array_cell", str), ("workers", int), ("scheduler", str)):
        if key in data:
            if not isinstance(data[key], tp) or isinstance(data[key], bool):
                raise ConfigError(f"{where}.{key}: expected {tp.__name__}, got {data[key]!r}")
            kwargs[key] = data[key]
    try:
        return PipelineConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def default_config() -> PipelineConfig:
    """The default run of ``make demo``: the default cell (the array's) over every corner with mismatch, the
    default DTM (the 16 × 16 crossbar) on digits in every hardware mode (ideal, device, calibrated,
    hardware-aware)."""
    return _build({"dtm": {"hardware_aware": True}}, "default")


def quick_config() -> PipelineConfig:
    """A small smoke run (``--quick``): the default cell, nominal corner, 2 mismatch seeds, a tiny DTM on the
    G20 grid (the crossbar's fan-in-128 bias network alone is ~50 s of ngspice)."""
    return _build(
        {
            "characterize": {"cells": [DEFAULT_CELL], "corners": ["tt"], "n_mc": 2, "bias_points": 9, "quick": True},
            "dtm": {
                "hardware_aware": True,
                "forward": {"n_steps": 2},
                "model": {"pattern": "G20"},
                "train": {"epochs": 3},
                "data": {"n_train": 300},
            },
            "evaluate": {"n_samples": 100, "K_values": [5, 20], "n_boot": 20},
        },
        "quick",
    )


def load_pipeline_config(path: str | os.PathLike[str] | None, *, quick: bool = False) -> PipelineConfig:
    """The config from a TOML file (``None``: the default, or the quick one with ``quick``).

    The file's tables override the defaults (or the quick settings with ``quick``) key by key.
    """
    if path is None:
        return quick_config() if quick else default_config()
    base = to_dict(quick_config() if quick else default_config())
    return _build(_deep_merge(base, load_toml(path)), str(path))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
