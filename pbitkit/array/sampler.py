"""Chromatic block-Gibbs sampling of Ising models / Boltzmann machines on p-bit arrays.

Model (docs/theory.md §2): spins ``s in {-1,+1}^N``, ``P(s) ∝ exp(beta (sum_{i<j} J_ij s_i s_j + sum_i h_i s_i))``;
Gibbs conditional ``P(s_i = +1 | rest) = sigmoid(2 beta (sum_j J_ij s_j + h_i))``. One sweep updates the
colour classes of the graph one after the other; all free nodes of a class are updated in parallel.

Two entry points:

* :class:`GibbsSampler` — the compiled, reusable form for training loops: the graph compiles once,
  couplings ``J_edge (E,)``, fields ``h (N,) | (C, N)`` and clamps change per call, moments
  ``<s_i>`` and ``<s_i s_j>`` are accumulated in the kernel without storing samples.
* :func:`sample` — one call from a coupling matrix to samples ``(n_samples, n_chains, n_nodes)``.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from pbitkit.array import kernels
from pbitkit.array.device import HardwareInstance, program_rows
from pbitkit.array.graphs import Graph, from_sparse
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback
from pbitkit.rng import SeedLike, as_generator

__all__ = ["Moments", "GibbsSampler", "ProgrammedSampler", "sample", "sample_async", "random_state", "MODES"]

log = logging.getLogger(__name__)

MODES = ("ideal", "device", "async")
#: Below this many lane updates per colour class the serial kernel is faster than the threaded one.
PARALLEL_MIN_LANES = 32_768
#: Minimum chains per thread when chains are split between threads.
CHAIN_BLOCK_MIN = 8
#: ``split="auto"`` splits the nodes of each colour class between threads (instead of the chains) when a
#: thread would get fewer chains than this ...
NODESPLIT_MAX_CHAINS_PER_THREAD = 256
#: ... and every thread gets at least this many lanes (nodes x chains) per colour class, which amortizes
#: the barrier (single chains stay on one thread: on the loaded 2-core machine a barrier every ~13 us
#: lost more than the second core gained).
NODESPLIT_MIN_LANES = 16_384
#: ``split="auto"`` with ONE chain splits each colour class's positions between the threads (a barrier
#: after each class) when every thread gets at least this many positions of the smallest class and the
#: machine is not busy (1-minute load average at most the number of CPUs + 1/2, see ``_busy``).
SINGLE_SPLIT_MIN_POSITIONS = 1024
SPLITS = ("auto", "chains", "nodes")
#: One node-split call at a time: its parts wait for each other, so they must all be running.
_NODESPLIT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n`` worker threads (the kernels release the GIL)."""
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="pbitkit-array")


@functools.lru_cache(maxsize=4)
def _nodesplit_pool(n: int) -> ThreadPoolExecutor:
    """Worker threads of node-split calls (parts 1..n; the calling thread runs part 0). Separate from
    :func:`_pool` so a part never queues behind chain-split work."""
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="pbitkit-array-nodes")


@dataclass(frozen=True)
class Moments:
    """First and second moments accumulated over sweeps (and chains), without storing samples.

    Attributes
    ----------
    n_sweeps : int
        Number of sweeps accumulated (each contributes one sample per chain).
    n_chains : int
    m1 : (N,) float64
        ``<s_i>`` averaged over sweeps and chains.
    m2 : (E,) float64
        ``<s_i s_j>`` for each edge (graph order), averaged over sweeps and chains.
    m1_chain : (C, N) float64
        ``<s_i>`` per chain (averaged over sweeps).
    m2_chain : (C, E) float64 or None
        ``<s_i s_j>`` per chain, when requested (``per_chain=True``).
    """

    n_sweeps: int
    n_chains: int
    m1: np.ndarray
    m2: np.ndarray
    m1_chain: np.ndarray
    m2_chain: np.ndarray | None = None


def random_state(n_chains: int, n_nodes: int, rng: SeedLike) -> np.ndarray:
    """Uniformly random ``(n_chains, n_nodes)`` int8 state in {-1, +1} (one random bit per spin)."""
    g = as_generator(rng)
    n = int(n_chains) * int(n_nodes)
    bits = np.unpackbits(np.frombuffer(g.bytes(-(-n // 8)), dtype=np.uint8), count=n)
    s = bits.view(np.int8)
    s *= 2
    s -= 1
    return s.reshape(n_chains, n_nodes)


def _key(rng: np.random.Generator) -> np.uint64:
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))


class GibbsSampler:
    """Compiled chromatic block-Gibbs sampler for one graph (and, in ``device`` mode, one chip).

    Parameters
    ----------
    graph : Graph
        The array's graph; its neighbour tables are compiled once here.
    mode : {"ideal", "device"}
        ``ideal``: exact conditionals. ``device``: per-cell sigmoids, DACs, bias network, temperature and
        telegraph memory of ``hardware`` (see :mod:`pbitkit.array.device`).
    hardware : HardwareInstance, optional
        Required in ``device`` mode; its ``n_nodes`` must match the graph.
    parallel : bool or None
        Run in threads (the kernels release the GIL); ``None`` decides from the problem size (at least
        32768 lanes). Results are bit-identical either way: the random counters are global.
    n_threads : int or None
        Threads to use (default ``os.cpu_count()``).
    split : {"auto", "chains", "nodes"}
        How threads share the work. ``chains``: each thread runs all sweeps for its own block of chains
        (at least 8), no synchronisation. ``nodes``: every thread runs all chains for its share of each
        colour class, with a barrier after each class (wide chain rows, so less per-node overhead, but
        the threads wait for each other). ``auto``: ``nodes`` when a thread would get fewer than
        ``NODESPLIT_MAX_CHAINS_PER_THREAD`` (256) chains and at least ``NODESPLIT_MIN_LANES`` (16384)
        lanes per colour class, and per-chain edge moments are not requested; else ``chains``. Bits do
        not depend on it.

    Examples
    --------
    >>> import numpy as np
    >>> from pbitkit.array import grid_graph, GibbsSampler, random_state
    >>> g = grid_graph(8, "G8")
    >>> smp = GibbsSampler(g)
    >>> rng = np.random.default_rng(0)
    >>> s0 = random_state(4, g.n_nodes, rng)
    >>> s, mom = smp.run(s0, np.full(g.n_edges, 0.1), np.zeros(g.n_nodes), beta=1.0, n_sweeps=10, rng=rng)
    >>> s.shape, mom.m2.shape
    ((4, 64), (256,))
    """

    def __init__(
        self,
        graph: Graph,
        mode: Literal["ideal", "device"] = "ideal",
        hardware: HardwareInstance | None = None,
        *,
        parallel: bool | None = None,
        n_threads: int | None = None,
        split: Literal["auto", "chains", "nodes"] = "auto",
    ) -> None:
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
        if mode not in ("ideal", "device"):
            raise ConfigError(f"GibbsSampler mode must be 'ideal' or 'device', got {mode!r} (async: sample_async)")
        if mode == "device":
            if hardware is None:
                raise ConfigError("mode='device' needs hardware=HardwareInstance (see make_hardware)")
            if hardware.n_nodes != graph.n_nodes:
                raise ConfigError(f"hardware has {hardware.n_nodes} cells but the graph has {graph.n_nodes} nodes")
        self.graph = graph
        self.mode = mode
        self.hardware = hardware
        self.parallel = parallel
        self.n_threads = int(n_threads or os.cpu_count() or 1)
        self.split = split
        #: How the last ``run`` shared its work: "serial", "chains" or "nodes" (for benchmarks and tests).
        self.last_split = "serial"
        self.tables = graph.tables
        # unsigned indices spare numba's negative-index wraparound check in the hot loop
        self._nbr_u32 = self.tables.nbr.view(np.uint32)
        self._step = 0  # global (sweep x colour) counter: successive calls continue one random stream
        self._clamp_cache: tuple[bytes, np.ndarray, np.ndarray] | None = None
        #: Weights / fields of the last programming that saturated their DAC because of the hardware's
        #: per-cell ``input_gain`` (0 without it; see :func:`pbitkit.array.device.program_rows`).
        self.n_clipped_weights = 0
        self.n_clipped_fields = 0

    # ----------------------------------------------------------------------------------------- helpers
    def _free_classes(self, clamp_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        T = self.tables
        if clamp_mask is None:
            return T.color_ptr, T.color_nodes
        key = clamp_mask.tobytes()
        if self._clamp_cache is not None and self._clamp_cache[0] == key:
            return self._clamp_cache[1], self._clamp_cache[2]
        keep = ~clamp_mask[T.color_nodes]
        nodes = T.color_nodes[keep]
        colors = self.graph.colors[nodes].astype(np.int64)
        counts = np.bincount(colors, minlength=self.graph.n_colors)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._clamp_cache = (key, ptr, np.ascontiguousarray(nodes, dtype=np.int32))
        return ptr, self._clamp_cache[2]

    def _params(self, beta: float) -> dict[str, Any]:
        n = self.graph.n_nodes
        if self.mode == "ideal":
            return dict(c0=np.zeros(n), g=np.full(n, 2.0 * beta), v0=np.zeros(n), ivs=np.ones(n),
                        lam=np.zeros(n), v_lo=-np.inf, v_hi=np.inf)
        assert self.hardware is not None
        return self.hardware.kernel_params(beta)

    def _tables(self, J_edge: Any, h: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Validate couplings and fields; return ``(J (E,), h2 (Ch, N), W (N, D), H (N, Ch))`` float64 with
        ``W``/``H`` DAC-quantized in device mode (``Ch`` = 1 for shared fields, else the chain count)."""
        J = self._couplings(J_edge)
        h2 = self._fields(h)
        return J, h2, self._slot_table(J), self._field_table(h2)

    def _couplings(self, J_edge: Any) -> np.ndarray:
        g = self.graph
        if sp.issparse(J_edge) or (np.ndim(J_edge) == 2 and np.shape(J_edge) == (g.n_nodes, g.n_nodes)):
            return g.edge_values(J_edge)
        return g.check_edge_values(J_edge)

    def _fields(self, h: Any) -> np.ndarray:
        n = self.graph.n_nodes
        h = np.zeros(n) if h is None else np.asarray(h, dtype=np.float64)
        if h.shape == (n,):
            h = h[None, :]
        elif h.ndim != 2 or h.shape[1] != n or h.shape[0] < 1:
            raise ConfigError(f"h must have shape ({n},) or (n_chains, {n}), got {h.shape}")
        if not np.all(np.isfinite(h)):
            raise ConfigError("h contains non-finite values")
        return h

    def _slot_table(self, J: np.ndarray) -> np.ndarray:
        W = self.tables.slot_weights(J)
        if self.mode == "device":  # row i = cell i's own weight DACs (scaled by its input gain, if any)
            assert self.hardware is not None
            W, self.n_clipped_weights = program_rows(self.hardware.config.weight_dac, W, self.hardware.input_gain)
        return W

    def _field_table(self, h2: np.ndarray) -> np.ndarray:
        H = h2.T
        if self.mode == "device":
            assert self.hardware is not None
            H, self.n_clipped_fields = program_rows(self.hardware.config.bias_dac, H, self.hardware.input_gain)
        return np.ascontiguousarray(H, dtype=np.float64)

    def program(self, J_edge: Any, h: Any = None, *, beta: float = 1.0,
                clamp_mask: np.ndarray | None = None) -> ProgrammedSampler:
        """Program couplings, fields, inverse temperature and clamp pattern once; reuse the result.

        Parameters
        ----------
        J_edge : (E,) float or symmetric (N, N) matrix (dense or scipy.sparse)
            Couplings per edge in ``graph.edges`` order.
        h : (N,) or (C, N) float, optional
            Fields, shared by all chains or one row per chain (then every state passed later must have
            ``C`` chains). Default 0.
        beta : float
            Inverse temperature.
        clamp_mask : (N,) bool, optional
            Nodes held fixed (their values are given per call, ``clamp_values``).

        Returns
        -------
        ProgrammedSampler
            Validated, in device mode DAC-quantized, float32 kernel tables; ``run``, ``iterate`` and
            ``sample`` on it only check the state.
        """
        return ProgrammedSampler(self, J_edge, h, beta=beta, clamp_mask=clamp_mask)

    # ------------------------------------------------------------------------------------------- run
    def run(
        self,
        state: np.ndarray,
        J_edge: Any,
        h: Any,
        *,
        beta: float = 1.0,
        n_sweeps: int,
        rng: np.random.Generator,
        clamp_mask: np.ndarray | None = None,
        clamp_values: np.ndarray | None = None,
        moments: bool = True,
        per_chain: bool = False,
    ) -> tuple[np.ndarray, Moments | None]:
        """Advance ``state`` by ``n_sweeps`` chromatic sweeps; return the new state and the moments.

        Equivalent to ``self.program(J_edge, h, beta=beta, clamp_mask=clamp_mask).run(state, ...)``; a
        caller that runs the same couplings and fields many times should keep the programmed object.

        Parameters
        ----------
        state : (C, N) int8 in {-1, +1}
            Current states of ``C`` chains (not modified; a new array is returned).
        J_edge : (E,) float or symmetric (N, N) matrix (dense or scipy.sparse)
            Couplings ``J_ij`` per edge in ``graph.edges`` order.
        h : (N,) or (C, N) float
            Fields, shared or per chain.
        beta : float
            Inverse temperature.
        n_sweeps : int
            Number of sweeps (each updates every free node once).
        rng : numpy.random.Generator
            Source of the kernel's stream key (one draw per call).
        clamp_mask : (N,) bool, optional
            Nodes held fixed; ``clamp_values`` ``(C, N)`` or ``(N,)`` int8 gives their values (the
            entries of unclamped nodes are ignored).
        moments : bool
            Accumulate ``<s_i>`` and ``<s_i s_j>`` over the ``n_sweeps`` states (after each sweep).
        per_chain : bool
            Also keep per-chain edge moments ``(C, E)`` (memory ``8 C E`` bytes).

        Returns
        -------
        state : (C, N) int8
            A Fortran-ordered array (the transpose of the internal ``(N, C)`` layout, no copy); pass it
            back to ``run`` as is.
        moments : Moments or None
        """
        return self.program(J_edge, h, beta=beta, clamp_mask=clamp_mask).run(
            state, n_sweeps=n_sweeps, rng=rng, clamp_values=clamp_values, moments=moments, per_chain=per_chain)

    def iterate(
        self,
        state: np.ndarray,
        J_edge: Any,
        h: Any,
        *,
        beta: float = 1.0,
        n_samples: int,
        thin: int = 1,
        rng: np.random.Generator,
        clamp_mask: np.ndarray | None = None,
        clamp_values: np.ndarray | None = None,
    ) -> Iterator[np.ndarray]:
        """Generator of states: yields ``(C, N)`` int8 every ``thin`` sweeps, ``n_samples`` times.

        Couplings and fields are programmed once (:meth:`program`), not per yielded state. The caller owns
        monitoring, checkpointing and stopping (emcee style).
        """
        return self.program(J_edge, h, beta=beta, clamp_mask=clamp_mask).iterate(
            state, n_samples=n_samples, thin=thin, rng=rng, clamp_values=clamp_values)


def _busy() -> bool:
    """Whether other processes compete for the cores: 1-minute load average above the number of CPUs + ½
    (a single chain on two threads itself accounts for a load of about 2 on two CPUs). Such a chain meets
    at a barrier after every colour class (every few microseconds), so a partner preempted by another
    process stalls it; on a busy machine one thread is faster. The choice never changes the bits."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return False
    return load > (os.cpu_count() or 1) + 0.5


class ProgrammedSampler:
    """A :class:`GibbsSampler` programmed with couplings, fields, ``beta`` and a clamp pattern.

    Made by :meth:`GibbsSampler.program`. Everything that does not change between calls is done once:
    validation of ``J`` and ``h``, DAC quantization (device mode), the slot-weight and field tables in
    float32, the chip's per-cell parameters at ``beta``, the colour classes of the free nodes and, for a
    single chain, the position-ordered tables of the single-chain kernel. :meth:`run`, :meth:`iterate` and
    :meth:`sample` then only check the state. Calls continue the random stream of the parent sampler
    (each call draws one key from its ``rng``), so ``program(...).run(...)`` gives the same bits as
    ``GibbsSampler.run(...)``. :meth:`update` re-programs only couplings or only fields (a training loop).

    Attributes
    ----------
    sampler : GibbsSampler
    beta : float
    n_chains : int or None
        Number of chains the per-chain fields were given for (``None``: shared fields, any ``C``).
    clamp_mask : (N,) bool or None
    """

    def __init__(self, sampler: GibbsSampler, J_edge: Any, h: Any, *, beta: float = 1.0,
                 clamp_mask: np.ndarray | None = None) -> None:
        if not (isinstance(beta, (int, float, np.floating, np.integer)) and math.isfinite(beta)):
            raise ConfigError(f"beta must be a finite number, got {beta!r}")
        g = sampler.graph
        self.sampler = sampler
        self.beta = float(beta)
        mask = None
        if clamp_mask is not None:
            mask = np.array(clamp_mask, dtype=bool)
            if mask.shape != (g.n_nodes,):
                raise ConfigError(f"clamp_mask must have shape ({g.n_nodes},), got {mask.shape}")
            mask.flags.writeable = False
        self.clamp_mask = mask
        self._ptr, nodes = sampler._free_classes(mask)
        self._nodes = nodes
        self._nodes_u32 = nodes.view(np.uint32)
        self._min_class = int(np.min(np.diff(self._ptr))) if self._ptr.shape[0] > 1 else 0
        p = sampler._params(self.beta)
        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        self._p32 = {k: f32(p[k]) for k in ("c0", "g", "v0", "ivs", "lam")}
        self._v_lo, self._v_hi = np.float32(p["v_lo"]), np.float32(p["v_hi"])
        self._plain = bool(self._v_lo == -np.inf and self._v_hi == np.inf and not np.any(self._p32["c0"])
                           and not np.any(self._p32["v0"]) and np.all(self._p32["ivs"] == 1.0))
        self._has_lam = bool(np.any(self._p32["lam"]))
        self._J = sampler._couplings(J_edge)
        self._W = f32(sampler._slot_table(self._J))
        self._set_fields(sampler._fields(h))

    def _set_fields(self, h2: np.ndarray) -> None:
        self._h = h2
        self._H = np.ascontiguousarray(self.sampler._field_table(h2), dtype=np.float32)
        self.n_chains = None if h2.shape[0] == 1 else int(h2.shape[0])
        self._single: tuple[np.ndarray, ...] | None = None  # position-ordered tables, built on first C = 1 call

    def update(self, J_edge: Any = None, h: Any = None) -> ProgrammedSampler:
        """A copy re-programmed with new couplings and/or fields (``None``: keep); the rest is reused."""
        new = copy.copy(self)
        if J_edge is not None:
            new._J = self.sampler._couplings(J_edge)
            new._W = np.ascontiguousarray(self.sampler._slot_table(new._J), dtype=np.float32)
            new._single = None
        if h is not None:
            new._set_fields(self.sampler._fields(h))
        return new

    @property
    def couplings(self) -> np.ndarray:
        """Programmed couplings ``(E,)`` (validated, before DAC quantization)."""
        return self._J

    @property
    def fields(self) -> np.ndarray:
        """Programmed fields ``(1, N)`` (shared) or ``(C, N)`` (validated, before DAC quantization)."""
        return self._h

    # ---------------------------------------------------------------------------------------- internals
    def _state(self, state: np.ndarray, clamp_values: np.ndarray | None, *, owned: bool = False) -> np.ndarray:
        """Validated internal ``(N, C)`` int8 copy of ``state`` with the clamped values written in.
        ``owned``: ``state`` is already an internal ``(N, C)`` C-ordered ±1 array made here (no check, no copy)."""
        n = self.sampler.graph.n_nodes
        if owned:
            S = state
            C = S.shape[1]
        else:
            st = np.asarray(state)
            if st.ndim != 2 or st.shape[1] != n:
                raise ConfigError(f"state must have shape (C, {n}), got {st.shape}")
            C = st.shape[0]
            if C < 1:
                raise ConfigError("state must hold at least one chain")
            if st.dtype == np.int8 and (st.flags.c_contiguous or st.flags.f_contiguous):
                ok = kernels.all_spins(st.reshape(-1, order="A"))  # one pass, no temporaries
            else:
                ok = bool(np.all((st == 1) | (st == -1)))
            if not ok:
                raise ConfigError("state must contain only -1 and +1")
            if st.flags.f_contiguous and st.dtype == np.int8:  # e.g. a state returned by run: a plain copy
                S = np.array(st.T, order="C", copy=True)
            else:  # blocked transpose (numpy's strided int8 copy is several times slower)
                S = np.empty((n, C), dtype=np.int8)
                kernels.store_transposed(np.ascontiguousarray(st, dtype=np.int8), S)
        if self.n_chains is not None and C != self.n_chains:
            raise ConfigError(f"the fields were programmed for {self.n_chains} chains, state has {C}")
        mask = self.clamp_mask
        if mask is not None:
            if clamp_values is None:
                raise ConfigError("clamp_mask given without clamp_values")
            cv = np.asarray(clamp_values)
            if cv.shape == (n,):
                cv = np.broadcast_to(cv, (C, n))
            if cv.shape != (C, n):
                raise ConfigError(f"clamp_values must have shape ({C}, {n}) or ({n},), got {cv.shape}")
            vals = cv[:, mask]
            if not np.all((vals == 1) | (vals == -1)):
                raise ConfigError("clamp_values must be -1 or +1 on clamped nodes")
            S[mask, :] = vals.T.astype(np.int8)
        return S

    def _single_tables(self) -> tuple[np.ndarray, ...]:
        if self._single is None:
            p = self._p32
            self._single = kernels.single_layout(self.sampler._nbr_u32, self._W, self._H, self._nodes_u32,
                                                 self.sampler.graph.edges, p["c0"], p["g"], p["v0"], p["ivs"], p["lam"])
        return self._single

    def _plan(self, C: int, moments: bool, per_chain: bool) -> tuple[str, int]:
        """How to share the work: ``("serial" | "single-nodes" | "nodes" | "chains", n_threads)``."""
        smp = self.sampler
        n_threads = 1 if smp.parallel is False else smp.n_threads
        mc = self._min_class
        if C == 1:
            if n_threads > 1 and mc >= n_threads and (
                    smp.split == "nodes" or (smp.split == "auto" and mc >= SINGLE_SPLIT_MIN_POSITIONS * n_threads
                                             and not _busy())):
                return "single-nodes", n_threads
            return "serial", 1
        nodesplit = n_threads > 1 and not (moments and per_chain) and mc >= n_threads and (
            smp.split == "nodes" or (smp.split == "auto" and C < NODESPLIT_MAX_CHAINS_PER_THREAD * n_threads
                                     and C * mc >= NODESPLIT_MIN_LANES * n_threads))
        if nodesplit:
            return "nodes", n_threads
        if smp.parallel is None and C * smp.graph.n_nodes < PARALLEL_MIN_LANES:
            n_threads = 1
        n_blk = max(1, min(n_threads, C // CHAIN_BLOCK_MIN))
        return ("chains" if n_blk > 1 else "serial"), n_blk

    def _advance(self, S: np.ndarray, n_sweeps: int, rng: np.random.Generator, moments: bool,
                 per_chain: bool) -> tuple[np.ndarray, np.ndarray]:
        """``n_sweeps`` sweeps of the internal state ``S (N, C)`` in place; returns the moment sums
        ``acc1 (N, C)`` and ``acc2 (E, C)`` (per chain) or ``(E, 1)`` (summed over chains)."""
        smp = self.sampler
        g = smp.graph
        N, C = S.shape
        E = g.n_edges
        ptr, nodes = self._ptr, self._nodes_u32
        p32 = self._p32
        key, step0 = _key(rng), np.int64(smp._step)
        how, n_threads = self._plan(C, moments, per_chain)
        smp.last_split = "nodes" if how == "single-nodes" else how
        if how in ("serial", "single-nodes") and C == 1:
            perm, NB, WW, HH, PP, EP = self._single_tables()
            acc1 = np.zeros((N, 1), dtype=np.int64) if moments else np.zeros((1, 1), dtype=np.int64)
            acc2 = np.zeros((E, 1), dtype=np.int64) if moments else np.zeros((1, 1), dtype=np.int64)
            Sp = S[perm, 0].astype(np.float32)  # position order (single_layout)
            bar = np.zeros(16, dtype=np.int64)  # one counter, padded to its own cache line

            def one(q: int) -> None:
                kernels.gibbs_single(Sp, NB, WW, HH, PP, ptr, self._v_lo, self._v_hi, int(n_sweeps), key, step0,
                                     perm, EP, acc1, acc2, bool(moments), self._has_lam, self._plain,
                                     np.int64(q), np.int64(n_threads), bar)

            if n_threads == 1:
                one(0)
            else:
                with _NODESPLIT_LOCK:
                    futs = [_nodesplit_pool(n_threads - 1).submit(one, q) for q in range(1, n_threads)]
                    one(0)
                    for fut in futs:
                        fut.result()
            S[perm, 0] = Sp.astype(np.int8)
        elif how == "nodes":
            if moments:
                acc1 = np.zeros((N, C), dtype=np.int64)
                acc2 = np.zeros((E, 1), dtype=np.int64)
            else:
                acc1 = acc2 = np.zeros((1, 1), dtype=np.int64)
            bar = np.zeros(16, dtype=np.int64)

            def part(q: int) -> None:
                kernels.gibbs_sweeps_nodesplit(
                    S, smp._nbr_u32, self._W, self._H, ptr, nodes, p32["c0"], p32["g"], p32["v0"], p32["ivs"],
                    p32["lam"], self._v_lo, self._v_hi, int(n_sweeps), key, step0, g.edges, acc1, acc2,
                    bool(moments), np.int64(q), np.int64(n_threads), bar,
                )

            with _NODESPLIT_LOCK:
                futs = [_nodesplit_pool(n_threads - 1).submit(part, q) for q in range(1, n_threads)]
                part(0)
                for fut in futs:
                    fut.result()
        else:
            n_blk = n_threads
            # block boundaries on multiples of 64 chains where possible (no false sharing of cache lines)
            bounds = [0] + [min(C, -(-((b * C) // n_blk) // 64) * 64) if C >= 64 * n_blk else (b * C) // n_blk
                            for b in range(1, n_blk)] + [C]
            if moments:
                acc1 = np.zeros((N, C), dtype=np.int64)
                acc2 = np.zeros((E, C if per_chain else n_blk), dtype=np.int64)
            else:
                acc1 = acc2 = np.zeros((1, 1), dtype=np.int64)

            def work(b: int) -> None:
                kernels.gibbs_sweeps(
                    S, smp._nbr_u32, self._W, self._H, ptr, nodes, p32["c0"], p32["g"], p32["v0"], p32["ivs"],
                    p32["lam"], self._v_lo, self._v_hi, int(n_sweeps), key, step0, np.int64(bounds[b]),
                    np.int64(bounds[b + 1]), g.edges, acc1, acc2, bool(moments), np.int64(-1 if per_chain else b),
                )

            if n_blk == 1:
                work(0)
            else:
                list(_pool(n_blk).map(work, range(n_blk)))
            if moments and not per_chain:
                acc2 = acc2.sum(axis=1, keepdims=True)
        smp._step += int(n_sweeps) * (ptr.shape[0] - 1)
        return acc1, acc2

    # ------------------------------------------------------------------------------------------ public
    def run(
        self,
        state: np.ndarray,
        *,
        n_sweeps: int,
        rng: np.random.Generator,
        clamp_values: np.ndarray | None = None,
        moments: bool = True,
        per_chain: bool = False,
    ) -> tuple[np.ndarray, Moments | None]:
        """Advance ``state`` by ``n_sweeps`` sweeps (see :meth:`GibbsSampler.run` for the arguments)."""
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if not isinstance(n_sweeps, (int, np.integer)) or n_sweeps < 0:
            raise ConfigError(f"n_sweeps must be a non-negative integer, got {n_sweeps!r}")
        S = self._state(state, clamp_values)
        C = S.shape[1]
        acc1, acc2 = self._advance(S, int(n_sweeps), rng, moments, per_chain)
        mom = None
        if moments and n_sweeps > 0:
            m1c = (acc1.T / n_sweeps).astype(np.float64)
            if per_chain:
                m2c = (acc2.T / n_sweeps).astype(np.float64)
                m2 = m2c.mean(axis=0)
            else:
                m2c = None
                m2 = acc2[:, 0] / (n_sweeps * C)
            mom = Moments(n_sweeps=int(n_sweeps), n_chains=C, m1=m1c.mean(axis=0), m2=m2, m1_chain=m1c,
                          m2_chain=m2c)
        return S.T, mom

    def iterate(
        self,
        state: np.ndarray,
        *,
        n_samples: int,
        thin: int = 1,
        rng: np.random.Generator,
        clamp_values: np.ndarray | None = None,
    ) -> Iterator[np.ndarray]:
        """Generator of states: yields a new ``(C, N)`` int8 array (Fortran-ordered) every ``thin``
        sweeps, ``n_samples`` times. The state is checked once; each step draws one key from ``rng``."""
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        for name, v, lo in (("n_samples", n_samples, 0), ("thin", thin, 1)):
            if not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        return self._iterate(self._state(state, clamp_values), int(n_samples), int(thin), rng)

    def _iterate(self, S: np.ndarray, n_samples: int, thin: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        for _ in range(n_samples):
            self._advance(S, thin, rng, False, False)
            yield S.copy().T

    def sample(
        self,
        state: np.ndarray,
        *,
        n_sweeps: int,
        burn_in: int = 0,
        thin: int = 1,
        rng: np.random.Generator,
        clamp_values: np.ndarray | None = None,
        observer: Callable[[int, np.ndarray], None] | None = None,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """``burn_in`` sweeps from ``state``, then a sample every ``thin`` sweeps: returns
        ``(n_sweeps // thin, C, N)`` int8 (C-ordered). Same random stream as :meth:`run` for the burn-in
        followed by :meth:`iterate`."""
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        for name, v, lo in (("n_sweeps", n_sweeps, 1), ("burn_in", burn_in, 0), ("thin", thin, 1)):
            if not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        return self._sample(self._state(state, clamp_values), int(n_sweeps), int(burn_in), int(thin), rng,
                            observer, progress)

    def _sample(self, S: np.ndarray, n_sweeps: int, burn_in: int, thin: int, rng: np.random.Generator,
                observer: Callable[[int, np.ndarray], None] | None, progress: ProgressCallback | None) -> np.ndarray:
        N, C = S.shape
        n_out = n_sweeps // thin
        out = np.empty((n_out, C, N), dtype=np.int8)
        if burn_in:
            self._advance(S, burn_in, rng, False, False)
        if C == 1 and observer is None and progress is None and self._plan(1, False, False)[0] == "serial":
            # one chain: all samples in one kernel call, one key per sample as in the loop below
            smp = self.sampler
            perm, NB, WW, HH, PP, EP = self._single_tables()
            keys = rng.integers(0, 2**63, size=n_out, dtype=np.int64).view(np.uint64)
            Sp = S[perm, 0].astype(np.float32)
            kernels.gibbs_single_record(Sp, NB, WW, HH, PP, self._ptr, self._v_lo, self._v_hi, thin, keys,
                                        np.int64(smp._step), perm, EP, self._has_lam, self._plain, out)
            smp._step += n_out * thin * (self._ptr.shape[0] - 1)
            smp.last_split = "serial"
            return out
        for k in range(n_out):
            self._advance(S, thin, rng, False, False)
            kernels.store_transposed(S, out[k])
            if observer is not None:
                observer(k, out[k])
            if progress is not None and (k % max(1, n_out // 100) == 0 or k == n_out - 1):
                progress(k + 1, n_out, "sweeps")
        return out


def _as_model(J: Any, h: Any, graph: Graph | None) -> tuple[Graph, np.ndarray, np.ndarray]:
    if graph is None:
        if isinstance(J, Graph):
            raise ConfigError("pass the couplings as J and the graph as graph=")
        graph, J_edge = from_sparse(J)
    else:
        if sp.issparse(J) or (np.ndim(J) == 2 and np.shape(J) == (graph.n_nodes, graph.n_nodes)):
            J_edge = graph.edge_values(J)
        else:
            J_edge = graph.check_edge_values(J)
    h = np.zeros(graph.n_nodes) if h is None else np.asarray(h, dtype=np.float64)
    return graph, J_edge, h


def sample(
    J: Any,
    h: Any = None,
    *,
    beta: float = 1.0,
    n_chains: int = 1,
    n_sweeps: int = 1000,
    burn_in: int = 100,
    thin: int = 1,
    mode: Literal["ideal", "device", "async"] = "ideal",
    hardware: HardwareInstance | None = None,
    clamp: tuple[np.ndarray, np.ndarray] | None = None,
    graph: Graph | None = None,
    init: np.ndarray | None = None,
    sample_interval_s: float | None = None,
    observer: Callable[[int, np.ndarray], None] | None = None,
    progress: ProgressCallback | None = None,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Sample an Ising model / Boltzmann machine in one call.

    ``P(s) ∝ exp(beta (sum_{i<j} J_ij s_i s_j + sum_i h_i s_i))``, spins in {-1, +1}.

    Parameters
    ----------
    J : symmetric (N, N) matrix (dense or scipy.sparse), or (E,) per-edge couplings when ``graph`` is given
    h : (N,) or (n_chains, N) fields (default 0)
    beta : inverse temperature
    n_chains : number of independent chains
    n_sweeps : sweeps recorded after burn-in; ``n_sweeps // thin`` samples are returned
    burn_in : sweeps discarded first
    thin : keep every ``thin``-th sweep
    mode : ``"ideal"`` exact Gibbs, ``"device"`` chip model, ``"async"`` continuous-time dynamics
    hardware : HardwareInstance for ``device`` / ``async`` (``async`` without it uses ideal cells with tau = 1)
    clamp : ``(mask (N,) bool, values (N,) or (n_chains, N))`` nodes held fixed
    graph : Graph to use (default: built from the non-zeros of ``J`` and coloured)
    init : (n_chains, N) initial state (default uniformly random)
    sample_interval_s : ``async`` only: time between recorded samples (default: mean tau, i.e. one
        "sweep" = each cell redraws once on average); ``burn_in``, ``n_sweeps``, ``thin`` count such intervals
    observer : called as ``observer(k, state)`` for every recorded sample
    progress : ``progress(done, total, message)``
    seed : int or Generator

    Returns
    -------
    (n_samples, n_chains, N) int8 array in {-1, +1}, ``n_samples = n_sweeps // thin``.

    Examples
    --------
    >>> import numpy as np
    >>> from pbitkit.array import sample
    >>> J = np.array([[0, 1.0], [1.0, 0]])
    >>> s = sample(J, beta=0.5, n_chains=8, n_sweeps=100, seed=1)
    >>> s.shape
    (100, 8, 2)
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    for name, v, lo in (("n_chains", n_chains, 1), ("n_sweeps", n_sweeps, 1), ("burn_in", burn_in, 0), ("thin", thin, 1)):
        if not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
    rng = as_generator(seed)
    graph, J_edge, h = _as_model(J, h, graph)
    if init is None:  # a random state drawn in the internal (N, C) layout: no check, no transpose
        state = random_state(graph.n_nodes, n_chains, rng)
    else:
        state = np.asarray(init)
        if state.shape != (n_chains, graph.n_nodes):
            raise ConfigError(f"init must have shape ({n_chains}, {graph.n_nodes}), got {state.shape}")
    cm, cv = (None, None) if clamp is None else (np.asarray(clamp[0], bool), np.asarray(clamp[1]))
    n_out = n_sweeps // thin
    if mode == "async":
        return sample_async(graph, J_edge, h, beta=beta, state=state.T if init is None else state,
                            n_samples=n_out, interval_s=sample_interval_s, burn_in_intervals=burn_in, thin=thin,
                            hardware=hardware, clamp_mask=cm, clamp_values=cv, rng=rng, observer=observer)
    prog = GibbsSampler(graph, mode=mode, hardware=hardware).program(J_edge, h, beta=beta, clamp_mask=cm)
    S = prog._state(state, cv, owned=init is None)
    return prog._sample(S, int(n_sweeps), int(burn_in), int(thin), rng, observer, progress)


def sample_async(
    graph: Graph,
    J_edge: np.ndarray,
    h: np.ndarray,
    *,
    beta: float = 1.0,
    state: np.ndarray,
    n_samples: int,
    interval_s: float | None = None,
    burn_in_intervals: int = 0,
    thin: int = 1,
    hardware: HardwareInstance | None = None,
    clamp_mask: np.ndarray | None = None,
    clamp_values: np.ndarray | None = None,
    rng: np.random.Generator,
    observer: Callable[[int, np.ndarray], None] | None = None,
) -> np.ndarray:
    """Clockless continuous-time dynamics (exact, event driven; see :func:`kernels.async_run`).

    Each free cell redraws its output at the events of its own Poisson clock of rate ``1 / tau_i``
    (``tau_i`` from ``hardware``, or 1 s for ideal cells); the redraw uses the cell's current bias (ideal
    conditional, or the device sigmoid, DACs and bias network of ``hardware``). Samples are the states at
    times ``t_k = (burn_in_intervals + (k + 1) thin) * interval_s``, ``k = 0..n_samples-1``.

    Returns
    -------
    (n_samples, C, N) int8
    """
    C, N = state.shape
    if N != graph.n_nodes:
        raise ConfigError(f"state has {N} nodes, graph has {graph.n_nodes}")
    smp = GibbsSampler(graph, mode="device" if hardware is not None else "ideal", hardware=hardware)
    _J, h2, W, H = smp._tables(J_edge, h)
    if h2.shape[0] not in (1, C):
        raise ConfigError(f"h must have shape ({N},) or ({C}, {N}), got {h2.shape}")
    S = np.ascontiguousarray(np.asarray(state, dtype=np.int8).T)
    free = np.ones(N, dtype=bool)
    if clamp_mask is not None:
        free = ~np.asarray(clamp_mask, dtype=bool)
        cv = np.asarray(clamp_values)
        cv = np.broadcast_to(cv, (C, N)) if cv.shape == (N,) else cv
        if cv.shape != (C, N):
            raise ConfigError(f"clamp_values must have shape ({C}, {N}) or ({N},), got {cv.shape}")
        S[~free, :] = cv[:, ~free].T.astype(np.int8)
    tau = hardware.tau_s if hardware is not None else np.ones(N)
    p = smp._params(beta)
    law = 0
    r0 = ku = kd = np.zeros(N)
    if hardware is not None and hardware.stats.rate_form == "exp":
        clock, r0, ku, kd = _exp_law_clock(smp, hardware, W, H, p)
        law = 1
    else:
        clock = 1.0 / tau
    clock = np.where(free, clock, 0.0)
    if interval_s is None:
        interval_s = float(np.mean(tau))
    if not interval_s > 0:
        raise ConfigError(f"interval_s must be positive, got {interval_s}")
    t_grid = (burn_in_intervals + (np.arange(n_samples) + 1) * thin) * interval_s
    out = np.empty((n_samples, C, N), dtype=np.int8)
    key = _key(rng)
    nfree = np.flatnonzero(free).astype(np.int32)
    n_blk = max(1, min(os.cpu_count() or 1, C // CHAIN_BLOCK_MIN))
    bounds = [(b * C) // n_blk for b in range(n_blk + 1)]

    def work(b: int) -> tuple[int, np.ndarray, np.ndarray]:
        lo, hi = bounds[b], bounds[b + 1]
        Sb = np.ascontiguousarray(S[:, lo:hi])
        Hb = H if H.shape[1] == 1 else np.ascontiguousarray(H[:, lo:hi])
        ob = np.empty((n_samples, hi - lo, N), dtype=np.int8)
        kernels.async_run(Sb, smp.tables.nbr, W, Hb, nfree, clock, law, r0, ku, kd, p["c0"], p["g"], p["v0"],
                          p["ivs"], float(p["v_lo"]), float(p["v_hi"]), t_grid.astype(np.float64), ob, key,
                          np.int64(lo))
        return lo, Sb, ob

    results = [work(0)] if n_blk == 1 else list(_pool(n_blk).map(work, range(n_blk)))
    for lo, Sb, ob in results:
        out[:, lo : lo + Sb.shape[1]] = ob
    if observer is not None:
        for k in range(n_samples):
            observer(k, out[k])
    return out


def _exp_law_clock(
    smp: GibbsSampler, hw: HardwareInstance, W: np.ndarray, H: np.ndarray, p: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell parameters of the exponential rate law in logit units and the uniformization bound.

    Card law: ``r_up = rate0 exp(a_up (V - V0))``, ``r_down = rate0 exp(-a_down (V - V0))``. For cell ``i``
    with slope ``Vs_i(T)``, ``V - V0_i = x Vs_i`` with ``x`` the cell's logit, so ``ku_i = a_up Vs_i``,
    ``kd_i = a_down Vs_i`` (the card's ideal law has ``a_up = a_down = 1 / (2 Vs)``: ``ku + kd = 1``);
    ``rate0`` scales with the cell's own correlation time, ``r0_i = rate0 tau_nom / tau_i``. The clock
    bound ``Lambda_i = max(r_up(x_max), r_down(x_min))`` uses the extreme logits the cell can see:
    fields within ``h_i +- sum_j |W_ij|``, through the bias network and its rails.
    """
    st = hw.stats
    vs_i = hw.vs_at_temp_V()
    ku = st.rate_slope_up_per_V * vs_i
    kd = st.rate_slope_down_per_V * vs_i
    r0 = st.rate0_Hz * st.tau_corr_s / hw.tau_s
    wsum = np.abs(W).sum(axis=1)
    f_lo = H.min(axis=1) - wsum
    f_hi = H.max(axis=1) + wsum
    v_lo = np.clip(p["c0"] + p["g"] * f_lo, p["v_lo"], p["v_hi"])
    v_hi = np.clip(p["c0"] + p["g"] * f_hi, p["v_lo"], p["v_hi"])
    x_lo = (v_lo - p["v0"]) * p["ivs"]
    x_hi = (v_hi - p["v0"]) * p["ivs"]
    clock = np.maximum(r0 * np.exp(ku * x_hi), r0 * np.exp(-kd * x_lo))
    overhead = float(np.mean(clock * hw.tau_s))
    if overhead > 50:
        log.warning("async exponential rate law: clock bound %.0fx the rate at P = 1/2 (strong fields); slow", overhead)
    return clock, r0, ku, kd
