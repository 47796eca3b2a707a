"""The DTM's model: T conditional Boltzmann machines sharing one array graph and node layout.

Layout (docs/theory.md §4): on an ``L × L`` array graph (the ``bipartite`` crossbar, the default, or a grid
``G8`` … ``G32``) the ``D`` visible bits — ``n_pixels`` image bits then ``n_classes × label_repeat``
one-hot label bits — sit on randomly chosen nodes of colour class 0; every other node is latent. Step ``t``
(``1..T``) is a Boltzmann machine over the nodes with per-edge couplings ``J_edge (E,)`` and fields
``h (N,)``; its clamped input ``x^t`` enters as a per-chain field ``J_fwd,d * x^t_d`` on visible node ``d``,
so for one chain

.. math:: P(s \\mid x^t) \\propto \\exp\\Big(\\sum_{(i,j)} J_{ij} s_i s_j + \\sum_i h_i s_i
          + \\sum_{d} J^{\\mathrm{fwd}}_d x^t_d s_{v(d)}\\Big)

and the step's output ``x^{t-1}`` is read from the visible nodes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal
from pathlib import Path

import numpy as np

from pbitkit.array.graphs import ARRAY_PATTERNS
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.io import atomic_save_npz, read_npz

__all__ = ["ModelConfig", "Layout", "build_layout", "model_graph", "StepParams", "DTM", "input_fields"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelConfig:
    """Graph and layout settings.

    Attributes
    ----------
    L : array side (``L × L`` cells; the crossbar splits them into two halves of ``L² / 2``).
    pattern : connectivity: ``"bipartite"`` (the default; ``pbitkit.array.bipartite_graph``: a crossbar, every
        cell of the visible half coupled to every cell of the other half, as in a restricted Boltzmann machine;
        on digits, with the default training settings, it is the one array found to beat the 50-component
        Bernoulli mixture, at 6.4× the couplings of G20; docs/dtm.md), or a grid ``G4`` … ``G32``
        (``pbitkit.array.GRID_PATTERNS``; of the grids G20 is best on digits, G24–G32 were no better; a grid
        wants ``train.lr = 0.02``, ``train.weight_decay = 1e-4`` and 40 epochs, ``configs/digits_grid.toml``).
    periodic : torus (True) or open grid (grids only).
    label_repeat : copies of each one-hot label bit (0 = unconditional model, no label nodes); more copies
        spread the label over the grid (6 on the 16×16 digits grid: 0.88–0.93 label-clamped accuracy vs
        0.70 with 3).
    layout_seed : seed of the random placement of visible nodes.
    placement : where the pixels sit: ``"random"`` (random colour-0 nodes, like the label bits) or
        ``"grid"`` (topographic: pixel ``(r, c)`` of a square ``side × side`` image on node ``(o + s r,
        o + s c)`` with stride ``s = L // side`` and the image centred, moved one column when that node is
        not in colour class 0), so neighbouring pixels share latent neighbours; label bits stay random.
    """

    L: int = 16
    pattern: str = "bipartite"
    periodic: bool = True
    label_repeat: int = 6
    layout_seed: int = 0
    placement: Literal["random", "grid"] = "random"

    def __post_init__(self) -> None:
        if self.L < 2:
            raise ConfigError(f"model.L must be >= 2, got {self.L}")
        if self.pattern not in ARRAY_PATTERNS:
            raise ConfigError(f"model.pattern must be one of {', '.join(ARRAY_PATTERNS)}; got {self.pattern!r}")
        if self.label_repeat < 0:
            raise ConfigError(f"model.label_repeat must be >= 0, got {self.label_repeat}")
        if self.placement not in ("random", "grid"):
            raise ConfigError(f"model.placement must be 'random' or 'grid', got {self.placement!r}")
        if self.pattern == "bipartite" and self.placement == "grid":
            raise ConfigError("model.placement = 'grid' places pixels topographically on a grid; the 'bipartite' "
                              "crossbar couples every visible node to every latent one: use placement = 'random'")


@dataclass(frozen=True)
class Layout:
    """Graph plus the placement of the visible bits.

    Attributes
    ----------
    graph : pbitkit.array.Graph
    visible : (D,) int64 node index of visible bit ``d`` (pixels first, then label bits)
    n_pixels, n_classes, label_repeat : sizes of the visible block
    """

    graph: object
    visible: np.ndarray
    n_pixels: int
    n_classes: int
    label_repeat: int

    @property
    def n_nodes(self) -> int:
        return int(self.graph.n_nodes)  # type: ignore[attr-defined]

    @property
    def n_visible(self) -> int:
        return int(self.visible.size)

    @property
    def n_label_bits(self) -> int:
        return self.n_classes * self.label_repeat

    @property
    def visible_mask(self) -> np.ndarray:
        m = np.zeros(self.n_nodes, dtype=bool)
        m[self.visible] = True
        return m


def model_graph(cfg: ModelConfig) -> object:
    """The array graph of ``cfg``: ``model.L × model.L`` cells with connectivity ``model.pattern``."""
    from pbitkit.array import array_graph

    return array_graph(cfg.L, cfg.pattern, periodic=cfg.periodic)


def build_layout(cfg: ModelConfig, n_pixels: int, n_classes: int) -> Layout:
    """Build the array graph and place ``n_pixels + n_classes*label_repeat`` visible bits on colour 0.

    Raises
    ------
    ConfigError
        If colour class 0 has fewer nodes than visible bits (names ``model.L``).
    """
    g = model_graph(cfg)
    n_vis = n_pixels + n_classes * cfg.label_repeat
    cls0 = np.flatnonzero(np.asarray(g.colors) == 0)
    if n_vis > cls0.size:
        raise ConfigError(
            f"model.L = {cfg.L}: colour class 0 has {cls0.size} nodes but {n_vis} visible bits must fit "
            f"({n_pixels} pixels + {n_classes}×{cfg.label_repeat} labels); increase model.L"
        )
    rng = np.random.default_rng(cfg.layout_seed)
    if cfg.placement == "grid":
        pix = _grid_pixels(cfg, n_pixels, np.asarray(g.colors))
        rest = np.setdiff1d(cls0, pix)
        labels = rng.choice(rest, size=n_vis - n_pixels, replace=False).astype(np.int64)
        visible = np.concatenate([pix, labels])
    else:
        visible = rng.choice(cls0, size=n_vis, replace=False).astype(np.int64)
    return Layout(g, visible, n_pixels, n_classes if cfg.label_repeat else 0, cfg.label_repeat)


def _grid_pixels(cfg: ModelConfig, n_pixels: int, colors: np.ndarray) -> np.ndarray:
    """Topographic pixel nodes (``placement = "grid"``, see :class:`ModelConfig`)."""
    side = int(round(np.sqrt(n_pixels)))
    if side * side != n_pixels or side > cfg.L:
        raise ConfigError(f"model.placement = 'grid' needs a square image of side <= model.L = {cfg.L}; "
                          f"got {n_pixels} pixels")
    stride = cfg.L // side
    off = (cfg.L - stride * (side - 1)) // 2
    r, c = np.divmod(np.arange(n_pixels), side)
    rows, cols = off + stride * r, off + stride * c
    nodes = rows * cfg.L + cols
    odd = colors[nodes] != 0
    nodes[odd] = rows[odd] * cfg.L + (cols[odd] + 1) % cfg.L
    if np.any(colors[nodes] != 0) or np.unique(nodes).size != n_pixels:
        raise ConfigError(f"model.placement = 'grid': a {side}x{side} image does not fit colour class 0 of "
                          f"the {cfg.L}x{cfg.L} grid; use placement = 'random' or another model.L")
    return nodes.astype(np.int64)


def input_fields(layout: Layout, h: np.ndarray, j_fwd: np.ndarray, x_in: np.ndarray) -> np.ndarray:
    """Per-chain fields ``h_c = h + J_fwd * x^t_c`` on the visible nodes.

    Parameters
    ----------
    h : (N,) learned fields
    j_fwd : (D,) forward couplings of the step
    x_in : (C, D) int8 clamped inputs ``x^t``

    Returns
    -------
    (C, N) float64
    """
    out = np.broadcast_to(h, (x_in.shape[0], h.size)).astype(np.float64, copy=True)
    out[:, layout.visible] += j_fwd[None, :] * x_in
    return out


@dataclass(frozen=True)
class StepParams:
    """Learned parameters of one step: ``J_edge (E,)`` and ``h (N,)`` (float64), and the fixed ``j_fwd (D,)``."""

    J_edge: np.ndarray
    h: np.ndarray
    j_fwd: np.ndarray


@dataclass(frozen=True)
class DTM:
    """A trained (or partly trained) DTM: layout, forward process and one :class:`StepParams` per step.

    ``steps[t-1]`` is step ``t`` (takes ``x^t`` to ``x^{t-1}``).
    """

    layout: Layout
    forward: object  # pbitkit.dtm.forward.ForwardProcess
    steps: tuple[StepParams, ...]
    model_config: ModelConfig

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def save(self, path: str | Path) -> Path:
        """Save all step parameters and the layout to one ``.npz`` (atomic)."""
        arrays: dict[str, np.ndarray] = {"visible": self.layout.visible}
        for t, sp in enumerate(self.steps, start=1):
            arrays[f"J_edge_{t}"] = sp.J_edge
            arrays[f"h_{t}"] = sp.h
            arrays[f"j_fwd_{t}"] = sp.j_fwd
        return atomic_save_npz(path, **arrays)

    @staticmethod
    def load_steps(path: str | Path, n_steps: int) -> tuple[np.ndarray, tuple[StepParams, ...]]:
        """Read back ``(visible, steps)`` written by :meth:`save`."""
        p = Path(path)
        if not p.exists():
            raise PbitkitError(f"model file not found: {p}")
        z = read_npz(p)  # a truncated file: PbitkitError naming it
        try:
            steps = tuple(StepParams(z[f"J_edge_{t}"], z[f"h_{t}"], z[f"j_fwd_{t}"]) for t in range(1, n_steps + 1))
            return z["visible"], steps
        except KeyError as exc:
            raise PbitkitError(f"{p}: missing step parameters ({exc})") from exc
