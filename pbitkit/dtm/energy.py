"""Energy and time per generated sample: p-bit array (from the array's ledger) vs digital hardware.

Array side (docs/theory.md §3, the DTM paper's model)::

    E_sample = S * N * E_cell  +  E_io,      E_cell = sum of the ledger's per-cell parts
    E_io     = n_write * E_write + n_read * E_read
    t_sample = S * t_sweep                    (+ I/O time, not modelled)

with ``S = T * K`` sweeps per sample (``T`` steps, ``K`` sweeps per step; with per-step sweeps ``step_K``,
``S = K_1 + ... + K_T``), ``N`` cells, ``E_cell`` the energy per cell per sweep and its parts
(``rng``, ``bias``, ``readout``, ``clock``, ``wire``, ...) taken from :func:`pbitkit.array.ledger`. I/O per
access comes from the ledger's ngspice bit-line testbenches (writing one clamped bit: periphery driver, bit
line, the cell's clamp latch; reading one: the cell's read buffer, bit line, periphery receiver) when the
card carries them; otherwise from the Extropic production-chip estimate (reading a node ~1.7 pJ, writing one
~150 pJ), marked ``assumed``. The ledger's boundary is the array's edge: moving the bits on and off the chip
(pads, board, host) is not in either number's scope for the simulated path. The caller says how many nodes
are written and read per sample; :mod:`pbitkit.dtm.evaluate` writes the clamped label bits and reads the
output pixels once per sample (the steps chain on chip and the initial noise is drawn by the p-bits
themselves); ``io_per_step=True`` instead moves the data in and out at every step.

Every part keeps its source: :attr:`EnergyReport.terms` lists the ledger's terms (status and source per
term, see :class:`pbitkit.array.ledger.EnergyTerm`), with per-sample energies.

Digital side: the same Gibbs chain on conventional hardware costs
``ops = S * N * (2 * degree + ops_nonlinear)`` operations (one multiply-add = 2 ops per neighbour, plus
the sigmoid, RNG draw and compare, ``ops_nonlinear`` = 20 by assumption) times an energy per operation:

- NVIDIA A100 SXM4 (named reference GPU): 19.5 TFLOP/s FP32 (non-tensor) at 400 W TDP → 20.5 pJ/op, the
  GPU's best case (peak throughput at TDP; a sparse, memory-bound Gibbs kernel runs far below peak);
- this CPU: measured sampler throughput (updates/s) and an assumed power for the cores in use
  (``cpu_power_W``, default 2 cores × 7.5 W; state it when you report).

The paper's figures side by side: ~2 fJ per cell per sweep, 1.6·T nJ per image at L = 70, K = 250
(13–20 nJ); a GPU diffusion model at parity ≈ 1e-4 J per image (~10,000×).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbitkit.errors import ConfigError

__all__ = [
    "IOCosts",
    "LITERATURE_IO",
    "EnergyReport",
    "DigitalBaseline",
    "dtm_energy",
    "dtm_energy_from_ledger",
    "digital_energy",
    "step_sweeps",
    "sweeps_per_sample",
    "PAPER_FIGURES",
    "A100_J_PER_OP",
]

# NVIDIA A100 SXM4 datasheet: 19.5 TFLOP/s FP32 (non-tensor), 400 W max TDP.
A100_J_PER_OP = 400.0 / 19.5e12

PAPER_FIGURES: dict[str, Any] = {
    "source": "Extropic DTM paper (arXiv 2510.23972) as summarized in docs/theory.md §3",
    "E_cell_J": 2e-15,
    "T": 8,
    "K": 250,
    "L": 70,
    "energy_per_image_J": 1.6e-9 * 8,
    "gpu_energy_per_image_J": 1e-4,
    "time_per_image_s": 0.4e-3,
    "update_energy_production_J": 7e-15,
    "read_node_J": 1.7e-12,
    "write_node_J": 150e-12,
}

#: Literature I/O energies used when nothing was simulated (Extropic production-chip estimate).
LITERATURE_IO = {"read_J": 1.7e-12, "write_J": 150e-12,
                 "source": "Extropic production-chip circuit-simulation estimate (read ~1.7 pJ, write ~150 pJ per node)"}


@dataclass(frozen=True)
class IOCosts:
    """Data I/O energies per node and policy.

    ``read_J`` / ``write_J``: ``None`` (default) takes the ledger's simulated I/O energies when the card has
    them, else the literature constants of :data:`LITERATURE_IO` (then marked ``assumed``); a number is used
    as given (marked ``assumed: given``).
    """

    read_J: float | None = None
    write_J: float | None = None
    io_per_step: bool = False


@dataclass(frozen=True)
class EnergyReport:
    """Energy and time per generated sample on the p-bit array, with its breakdown (J)."""

    T: int
    K: int
    n_cells: int
    per_cell_sweep_J: dict[str, float]
    breakdown_J: dict[str, float]
    total_J: float
    time_s: float
    assumptions: dict[str, Any] = field(default_factory=dict)
    terms: tuple[dict[str, Any], ...] = ()
    step_K: tuple[int, ...] = ()

    @property
    def sweeps_per_sample(self) -> int:
        """``sum(step_K)``, or ``T * K`` for one K per step."""
        return sweeps_per_sample(self.T, self.K, self.step_K or None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "T": self.T,
            "K": self.K,
            "step_K": list(self.step_K) if self.step_K else [self.K] * self.T,
            "sweeps_per_sample": self.sweeps_per_sample,
            "n_cells": self.n_cells,
            "per_cell_sweep_J": dict(self.per_cell_sweep_J),
            "breakdown_J": dict(self.breakdown_J),
            "total_J": self.total_J,
            "time_s": self.time_s,
            "assumptions": dict(self.assumptions),
            "terms": [dict(t) for t in self.terms],
        }


def dtm_energy(
    per_cell_sweep_J: dict[str, float],
    time_per_sweep_s: float,
    *,
    T: int,
    K: int,
    n_cells: int,
    n_write: int,
    n_read: int,
    io: IOCosts = IOCosts(),
    step_K: Sequence[int] | None = None,
) -> EnergyReport:
    """Energy per generated sample ``S*N*sum(parts) + I/O`` (``S = T*K`` sweeps, or ``sum(step_K)``) with one
    breakdown entry per part.

    Parameters
    ----------
    per_cell_sweep_J : energy per cell per sweep by part (J), e.g. ``{"rng": .., "bias": .., "wire": ..}``
    time_per_sweep_s : duration of one full sweep (s)
    T, K, n_cells : steps, sweeps per step, cells
    step_K : sweeps of steps ``1 .. T`` when they differ (``T`` positive counts; ``K`` is then step 1's, for
        the record); ``None``: ``K`` for every step
    n_write, n_read : nodes written (noise + labels) and read (output pixels) per sample
    io : I/O energies and whether I/O happens once or at every step

    Returns
    -------
    EnergyReport whose ``total_J`` equals the sum of ``breakdown_J``.
    """
    if T < 1 or K < 1 or n_cells < 1:
        raise ValueError(f"T, K and n_cells must be >= 1, got {T}, {K}, {n_cells}")
    sweeps = sweeps_per_sample(T, K, step_K)
    scale = sweeps * n_cells
    breakdown = {f"array_{k}": scale * float(v) for k, v in per_cell_sweep_J.items()}
    n_io = T if io.io_per_step else 1
    write_J = LITERATURE_IO["write_J"] if io.write_J is None else io.write_J
    read_J = LITERATURE_IO["read_J"] if io.read_J is None else io.read_J
    breakdown["io_write"] = n_io * n_write * write_J
    breakdown["io_read"] = n_io * n_read * read_J
    total = float(sum(breakdown.values()))
    return EnergyReport(
        T=T,
        K=K,
        n_cells=n_cells,
        per_cell_sweep_J={k: float(v) for k, v in per_cell_sweep_J.items()},
        breakdown_J=breakdown,
        total_J=total,
        time_s=float(sweeps * time_per_sweep_s),
        assumptions={"io_read_J": read_J, "io_write_J": write_J, "io_per_step": io.io_per_step,
                     "n_write": n_write, "n_read": n_read},
        step_K=tuple(int(k) for k in step_K) if step_K is not None else (),
    )


def step_sweeps(K: int | Sequence[int], T: int, *, name: str = "K") -> tuple[int, ...]:
    """Sweeps of steps ``1 .. T`` (step 1 first) from one ``K`` for every step or a list of ``T``.

    Raises
    ------
    ConfigError
        (naming ``name``) a count that is not a positive integer, or a list whose length is not ``T``.
    """
    if isinstance(K, (int, np.integer)) and not isinstance(K, bool):
        ks: tuple = (K,) * T
    elif (isinstance(K, Sequence) and not isinstance(K, str)) or isinstance(K, np.ndarray):
        ks = tuple(K)
    else:
        raise ConfigError(f"{name}: need one sweep count or {T} (steps 1..{T}, step 1 first), got {K!r}")
    if len(ks) != T:
        raise ConfigError(f"{name}: need one sweep count or {T} (steps 1..{T}, step 1 first), got {list(ks)}")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"{name}: sweeps per step must be positive integers, got {list(ks)}")
    return tuple(int(k) for k in ks)


def sweeps_per_sample(T: int, K: int, step_K: Sequence[int] | None = None) -> int:
    """Array sweeps per generated sample: ``sum(step_K)`` (one count per step), else ``T * K``.

    Raises
    ------
    ConfigError
        ``step_K`` does not hold ``T`` positive integers.
    """
    if step_K is None:
        return int(T) * int(K)
    return int(sum(step_sweeps(step_K, T, name="step_K")))


def dtm_energy_from_ledger(
    graph: Any, device: Any, *, T: int, K: int, n_write: int, n_read: int, io: IOCosts = IOCosts(),
    update_interval_s: float | None = None, periphery: dict[str, Any] | None = None,
    step_K: Sequence[int] | None = None,
) -> EnergyReport:
    """:func:`dtm_energy` with the per-cell parts, the sweep time and the I/O energies from
    :func:`pbitkit.array.ledger`, every part carrying its source (``terms``).

    ``device`` is a DeviceModel card, ``DeviceStats`` or ``HardwareInstance`` (whatever the ledger takes);
    every cell updates once per sweep, so the ledger's mean energy per cell update is ``E_cell``. I/O: the
    ledger's simulated per-access energies unless ``io`` gives numbers; literature constants (``assumed``)
    when neither exists. ``periphery`` replaces the card's measured periphery (e.g. one measured for another
    array size, :mod:`pbitkit.pipeline.headline`). ``step_K``: per-step sweeps, as in :func:`dtm_energy`.
    """
    from pbitkit.array.ledger import ledger as array_ledger

    led = array_ledger(graph, device, n_sweeps_per_sample=K, update_interval_s=update_interval_s, periphery=periphery)
    parts = led.parts()
    n_io = T if io.io_per_step else 1
    sweeps = sweeps_per_sample(T, K, step_K)
    terms = [{**t.to_dict(), "per_sample_J": sweeps * int(graph.n_nodes) * t.energy_J}
             for t in led.terms if t.per == "cell update"]
    io_used = {}
    for name, given, measured, lit, n in (("io_write", io.write_J, led.io_write_J, LITERATURE_IO["write_J"], n_write),
                                          ("io_read", io.read_J, led.io_read_J, LITERATURE_IO["read_J"], n_read)):
        t_led = next((t for t in led.terms if t.name == name), None)
        if given is not None:
            e, d = given, {"name": name, "energy_J": given, "per": "access", "status": "assumed",
                           "source": "assumed: given by the caller (IOCosts)", "detail": {}}
        elif measured is not None and t_led is not None:
            e, d = measured, t_led.to_dict()
        else:
            e, d = lit, {"name": name, "energy_J": lit, "per": "access", "status": "assumed",
                         "source": f"assumed: {LITERATURE_IO['source']}", "detail": {}}
        io_used[name] = e
        terms.append({**d, "n_per_sample": n_io * n, "per_sample_J": n_io * n * e})
    rep = dtm_energy(parts, led.time_per_sweep_s, T=T, K=K, n_cells=int(graph.n_nodes), n_write=n_write,
                     n_read=n_read, io=dataclasses.replace(io, write_J=io_used["io_write"], read_J=io_used["io_read"]),
                     step_K=step_K)
    return dataclasses.replace(rep, assumptions={**rep.assumptions, "ledger": led.to_dict()}, terms=tuple(terms))


@dataclass(frozen=True)
class DigitalBaseline:
    """Energy of the same Gibbs chain on digital hardware."""

    name: str
    ops_per_sample: float
    j_per_op: float
    energy_per_sample_J: float
    assumptions: str


def digital_energy(
    *, T: int, K: int, n_cells: int, mean_degree: float, ops_nonlinear: float = 20.0,
    cpu_updates_per_s: float | None = None, cpu_power_W: float = 15.0, step_K: Sequence[int] | None = None,
) -> list[DigitalBaseline]:
    """Digital baselines: named GPU (A100, peak FP32 at TDP) and, if a throughput is given, this CPU.

    ``ops_per_sample = S*N*(2*mean_degree + ops_nonlinear)`` with ``S = T*K`` sweeps per sample (or
    ``sum(step_K)``); GPU energy ``ops * 20.5 pJ``; CPU energy ``S*N / cpu_updates_per_s * cpu_power_W``
    (measured time × assumed power).
    """
    updates = float(sweeps_per_sample(T, K, step_K)) * n_cells
    ops = updates * (2.0 * mean_degree + ops_nonlinear)
    out = [
        DigitalBaseline(
            "NVIDIA A100 SXM4 (peak FP32 at TDP)", ops, A100_J_PER_OP, ops * A100_J_PER_OP,
            f"{2 * mean_degree + ops_nonlinear:.0f} ops per update (2 per neighbour MAC + {ops_nonlinear:.0f} for "
            "sigmoid, RNG, compare); 19.5 TFLOP/s at 400 W; best case for the GPU",
        )
    ]
    if cpu_updates_per_s:
        e = updates / cpu_updates_per_s * cpu_power_W
        out.append(
            DigitalBaseline(
                "this CPU (pbitkit.array ideal sampler, measured)", ops, e / ops, e,
                f"measured {cpu_updates_per_s:.3g} updates/s × assumed {cpu_power_W:g} W for the cores in use",
            )
        )
    return out
