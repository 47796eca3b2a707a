"""How the DTM drives the array: a :class:`SamplerSpec` (mode, chip, DACs, calibration) and a thin runner.

The runner wraps :class:`pbitkit.array.GibbsSampler` (compiled once per graph/chip) with the two calls the
DTM needs: advance chains ``sweeps(...)`` and advance while accumulating moments ``moments(...)``. Clamped
nodes keep the values they have in the state passed in.

Modes (docs/theory.md §1–§3, docs/contracts.md "array → dtm"):

- ``ideal``: exact Gibbs conditionals.
- ``device``: a chip drawn from a DeviceModel card with ``chip_seed``: per-cell sigmoid offsets/slopes,
  bias-network gain errors, DAC-quantized weights and fields, finite correlation time (telegraph memory).
- ``device`` + ``calibrate=True``: the same chip with its offsets trimmed through the bias DAC by the
  array's calibration routine before use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pbitkit.errors import ConfigError, PbitkitError

__all__ = ["SamplerSpec", "Runner", "make_runner", "make_hardware_for", "load_card", "default_card_path"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerSpec:
    """Array settings for training or generation.

    Attributes
    ----------
    mode : ``"ideal"`` or ``"device"``.
    card : path of a DeviceModel JSON card (device mode; default: the default cell's shipped card,
        :func:`default_card_path`).
    chip_seed : which chip (same seed = same per-cell variation).
    weight_bits, bias_bits : DAC resolutions of couplings and fields (``None`` = ideal DAC).
    weight_full_scale, bias_full_scale : DAC full scales (``None`` = auto-range to the programmed values).
    calibrate : trim per-cell offsets through the trim DAC before use (device mode).
    update_interval_s : time between reads of a cell (``None``: the card's correlation time / clock).
    beta : inverse temperature of the programmed model.
    """

    mode: Literal["ideal", "device"] = "ideal"
    card: str | None = None
    chip_seed: int = 0
    weight_bits: int | None = None
    bias_bits: int | None = None
    weight_full_scale: float | None = None
    bias_full_scale: float | None = None
    calibrate: bool = False
    update_interval_s: float | None = None
    beta: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("ideal", "device"):
            raise ConfigError(f"sampler.mode must be 'ideal' or 'device', got {self.mode!r}")
        if self.calibrate and self.mode != "device":
            raise ConfigError("sampler.calibrate needs sampler.mode = 'device'")

    @property
    def label(self) -> str:
        if self.mode == "ideal":
            return "ideal"
        return "device+cal" if self.calibrate else "device"


def default_card_path() -> Path:
    """The shipped card of the default cell (``native_latch``: ``pbitkit/data/native_latch_card.json``), the
    chip of device-mode runs that name no card; the pipeline passes its own fitted card instead."""
    from pbitkit.circuits import get_cell
    from pbitkit.circuits.default_cell import DEFAULT_CELL
    from pbitkit.paths import data_dir

    return data_dir() / str(get_cell(DEFAULT_CELL).card)


def load_card(path: str | None) -> Any:
    """A DeviceModel card from ``path`` (default: :func:`default_card_path`)."""
    from pbitkit.pbitmodel import DeviceModel

    p = Path(path) if path else default_card_path()
    if not p.exists():
        raise PbitkitError(f"device card not found: {p} (set sampler.card to a DeviceModel JSON from `pbitkit fit`)")
    return DeviceModel.load(p)


class Runner:
    """Chains on the array for one graph and one :class:`SamplerSpec`."""

    def __init__(self, graph: Any, spec: SamplerSpec, hardware: Any = None) -> None:
        from pbitkit.array import GibbsSampler

        self.graph = graph
        self.spec = spec
        self.hardware = hardware
        self.sampler = GibbsSampler(graph, mode=spec.mode, hardware=hardware)

    def program(self, J_edge: np.ndarray, fields: np.ndarray, clamp_mask: np.ndarray | None) -> Any:
        """The sampler programmed once with couplings ``J_edge (E,)``, fields ``(C, N)`` and the clamp
        pattern (validation, DAC quantization and kernel tables happen here, not per call): a
        :class:`pbitkit.array.ProgrammedSampler` to pass to :meth:`sweeps` and :meth:`moments` as often as
        the couplings and fields stay the same."""
        return self.sampler.program(J_edge, fields, beta=self.spec.beta, clamp_mask=clamp_mask)

    def sweeps(self, programmed: Any, state: np.ndarray, n_sweeps: int, rng: np.random.Generator) -> np.ndarray:
        """Advance ``state (C, N)`` by ``n_sweeps`` on ``programmed`` (from :meth:`program`); clamped nodes
        keep their current values."""
        if n_sweeps == 0:
            return state
        clamp_values = state if programmed.clamp_mask is not None else None
        s, _ = programmed.run(state, n_sweeps=n_sweeps, rng=rng, clamp_values=clamp_values, moments=False)
        return s

    def moments(self, programmed: Any, state: np.ndarray, n_sweeps: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance ``n_sweeps`` on ``programmed`` accumulating moments: returns ``(state, <s_i> per chain
        (C, N), <s_i s_j> (E,))``."""
        clamp_values = state if programmed.clamp_mask is not None else None
        s, mom = programmed.run(state, n_sweeps=n_sweeps, rng=rng, clamp_values=clamp_values, moments=True)
        if mom is None:
            raise ConfigError(f"moments need n_sweeps >= 1, got {n_sweeps}")
        return s, mom.m1_chain, mom.m2


def make_hardware_for(graph: Any, spec: SamplerSpec) -> Any:
    """The chip of ``spec`` (device mode): card → DeviceStats → HardwareInstance (+ calibration)."""
    from pbitkit.array import DacSpec, HardwareConfig, from_device_model, make_hardware

    stats = from_device_model(load_card(spec.card))
    hw_cfg = HardwareConfig(
        weight_dac=DacSpec(spec.weight_bits, spec.weight_full_scale),
        bias_dac=DacSpec(spec.bias_bits, spec.bias_full_scale),
        update_interval_s=spec.update_interval_s,
    )
    hw = make_hardware(int(graph.n_nodes), stats, hw_cfg, seed=spec.chip_seed)
    if spec.calibrate:
        hw = _calibrate(graph, hw, spec)
    return hw


def _calibrate(graph: Any, hw: Any, spec: SamplerSpec) -> Any:
    from pbitkit.array.calibration import calibrate

    res = calibrate(graph, hw, beta=spec.beta, seed=spec.chip_seed)
    log.info("calibrated chip %d: %s", spec.chip_seed, res.summary())
    return res.hardware


def make_runner(graph: Any, spec: SamplerSpec, hardware: Any = None) -> Runner:
    """A :class:`Runner` for ``graph`` in the mode of ``spec``: on ``hardware`` (the chip from
    :func:`make_hardware_for` with this ``spec``, to reuse one chip and its calibration across calls), or on
    a chip drawn and calibrated here (device mode, ``hardware=None``)."""
    if spec.mode != "device":
        if hardware is not None:
            raise ConfigError("a chip (hardware) was given for an ideal-mode sampler")
        return Runner(graph, spec, None)
    if hardware is None:
        hardware = make_hardware_for(graph, spec)
    elif hardware.v0_V.shape[0] != int(graph.n_nodes):
        raise ConfigError(f"the chip has {hardware.v0_V.shape[0]} cells, the graph {int(graph.n_nodes)} nodes")
    return Runner(graph, spec, hardware)
