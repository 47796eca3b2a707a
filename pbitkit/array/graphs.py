"""Graphs for p-bit arrays: lattices, the DTM grid patterns, arbitrary sparse graphs, colourings.

A :class:`Graph` is a frozen, validated description of an undirected simple graph with physical node
coordinates (for wire lengths) and a proper colouring (for chromatic block Gibbs). Its compiled neighbour
tables (:attr:`Graph.tables`) are built once and reused by every sampler call; couplings are passed per
edge (``J_edge`` of shape ``(E,)``), so weights can change every training iteration without recompiling.

Jump tables of the DTM grid patterns (docs/theory.md §2; Extropic, arXiv 2510.23972): on an ``L x L`` grid
each rule ``(a, b)`` connects node ``(r, c)`` to ``(r + a, c + b)`` and to the three other rotations
``(-b, a), (-a, -b), (b, -a)``; every jump has odd ``|a| + |b|``, so on an even-``L`` torus or an open
grid the graph is bipartite (colour = parity of ``r + c``).
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from pbitkit.errors import ConfigError

__all__ = [
    "Graph",
    "NeighbourTables",
    "GRID_PATTERNS",
    "ARRAY_PATTERNS",
    "grid_graph",
    "bipartite_graph",
    "array_graph",
    "square_lattice",
    "king_graph",
    "from_edges",
    "from_sparse",
    "color_graph",
    "check_coloring",
    "DEFAULT_PITCH_M",
]

log = logging.getLogger(__name__)

#: Default cell pitch: about 3 um x 3 um per cell (docs/theory.md §1, Extropic's RNG cell; unverified).
DEFAULT_PITCH_M = 3e-6

#: Jump rules of the DTM connectivity patterns. G8, G12, G16 are the paper's (docs/theory.md §2).
#: G20 … G32 are not given in the paper's text; pbitkit extends G16 with one further odd jump each
#: ((2, 5), (10, 13), (3, 2), (1, 4)), chosen so that no rule is a rotation of another (also on a 16 × 16
#: torus) and all stay bipartite.
GRID_PATTERNS: dict[str, tuple[tuple[int, int], ...]] = {
    "G4": ((0, 1),),
    "G8": ((0, 1), (4, 1)),
    "G12": ((0, 1), (4, 1), (9, 10)),
    "G16": ((0, 1), (4, 1), (8, 7), (14, 9)),
    "G20": ((0, 1), (4, 1), (8, 7), (14, 9), (2, 5)),
    "G24": ((0, 1), (4, 1), (8, 7), (14, 9), (2, 5), (10, 13)),
    "G28": ((0, 1), (4, 1), (8, 7), (14, 9), (2, 5), (10, 13), (3, 2)),
    "G32": ((0, 1), (4, 1), (8, 7), (14, 9), (2, 5), (10, 13), (3, 2), (1, 4)),
}


@dataclass(frozen=True)
class NeighbourTables:
    """Padded neighbour tables compiled from a graph (what the kernels read).

    Attributes
    ----------
    nbr : (N, D) int32
        Neighbour node of each slot; padding slots point at the node itself.
    slot_edge : (N, D) int32
        Edge index of each slot, ``-1`` for padding (their weight is forced to 0).
    degree : (N,) int32
        Number of real slots per node.
    color_ptr : (K + 1,) int64, color_nodes : (N,) int32
        Nodes of colour ``k`` are ``color_nodes[color_ptr[k]:color_ptr[k+1]]`` (CSR layout).
    """

    nbr: np.ndarray
    slot_edge: np.ndarray
    degree: np.ndarray
    color_ptr: np.ndarray
    color_nodes: np.ndarray

    @property
    def max_degree(self) -> int:
        return int(self.nbr.shape[1])

    def slot_weights(self, J_edge: np.ndarray) -> np.ndarray:
        """``(N, D)`` float64 table of couplings ``W[i, k] = J[edge of slot k of node i]`` (0 on padding)."""
        J = np.asarray(J_edge, dtype=np.float64)
        if J.size == 0:
            return np.zeros(self.slot_edge.shape, dtype=np.float64)
        W = np.where(self.slot_edge >= 0, J[np.maximum(self.slot_edge, 0)], 0.0)
        return np.ascontiguousarray(W)


@dataclass(frozen=True, eq=False)
class Graph:
    """An undirected simple graph with node coordinates and a proper colouring.

    Parameters
    ----------
    n_nodes : int
        Number of nodes ``N``.
    edges : (E, 2) int32 array
        Each undirected edge once, ``edges[e, 0] < edges[e, 1]``, sorted lexicographically, no duplicates.
    coords_m : (N, 2) float64 array
        Physical position of each cell in metres (wire lengths are computed from these).
    colors : (N,) int8 array
        A proper colouring (no edge joins two nodes of the same colour), colours ``0 .. K-1``.
    box_m : (2,) float64 array or None
        For periodic (torus) graphs the period of the coordinates in metres (minimum-image wire lengths);
        ``None`` for open graphs.
    name : str
        A short description, e.g. ``"G12 70x70 torus"``.

    Raises
    ------
    ConfigError
        If the edges are malformed (self loops, duplicates, out of range, not ``i < j``), the coordinates
        have the wrong shape, or the colouring is improper.
    """

    n_nodes: int
    edges: np.ndarray
    coords_m: np.ndarray
    colors: np.ndarray
    box_m: np.ndarray | None = None
    name: str = "graph"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.n_nodes
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"Graph.n_nodes must be a positive integer, got {n!r}")
        edges = np.asarray(self.edges)
        if edges.size == 0:
            edges = np.zeros((0, 2), dtype=np.int32)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ConfigError(f"Graph.edges must have shape (E, 2), got {edges.shape}")
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ConfigError(f"Graph.edges: node index out of range [0, {n}) (min {edges.min()}, max {edges.max()})")
        if np.any(edges[:, 0] >= edges[:, 1]):
            bad = int(np.flatnonzero(edges[:, 0] >= edges[:, 1])[0])
            raise ConfigError(f"Graph.edges[{bad}] = {edges[bad].tolist()}: need i < j (no self loops)")
        key = edges[:, 0].astype(np.int64) * n + edges[:, 1]
        if np.any(np.diff(key) <= 0):
            raise ConfigError("Graph.edges must be sorted lexicographically without duplicates (use from_edges)")
        coords = np.asarray(self.coords_m, dtype=np.float64)
        if coords.shape != (n, 2):
            raise ConfigError(f"Graph.coords_m must have shape ({n}, 2), got {coords.shape}")
        colors = np.asarray(self.colors)
        if colors.shape != (n,):
            raise ConfigError(f"Graph.colors must have shape ({n},), got {colors.shape}")
        box = None if self.box_m is None else np.asarray(self.box_m, dtype=np.float64)
        if box is not None and box.shape != (2,):
            raise ConfigError(f"Graph.box_m must have shape (2,), got {box.shape}")
        object.__setattr__(self, "n_nodes", int(n))
        object.__setattr__(self, "edges", np.ascontiguousarray(edges, dtype=np.int32))
        object.__setattr__(self, "coords_m", coords)
        object.__setattr__(self, "colors", colors.astype(np.int8))
        object.__setattr__(self, "box_m", box)
        for arr in (self.edges, self.coords_m, self.colors):
            arr.setflags(write=False)
        check_coloring(self, self.colors)

    # ------------------------------------------------------------------ properties
    @property
    def n_edges(self) -> int:
        return int(self.edges.shape[0])

    @property
    def n_colors(self) -> int:
        return int(self.colors.max()) + 1

    @cached_property
    def degree(self) -> np.ndarray:
        """``(N,)`` int64 node degrees."""
        return np.bincount(self.edges.ravel(), minlength=self.n_nodes).astype(np.int64)

    @cached_property
    def tables(self) -> NeighbourTables:
        """Compiled padded neighbour tables and colour classes (built once, cached)."""
        return _compile_tables(self)

    def adjacency(self, J_edge: np.ndarray | None = None) -> sp.csr_matrix:
        """Symmetric ``(N, N)`` CSR matrix with ``J_edge`` (or ones) on the edges."""
        vals = np.ones(self.n_edges) if J_edge is None else self.check_edge_values(J_edge)
        i, j = self.edges[:, 0], self.edges[:, 1]
        m = sp.coo_matrix(
            (np.concatenate([vals, vals]), (np.concatenate([i, j]), np.concatenate([j, i]))),
            shape=(self.n_nodes, self.n_nodes),
        )
        return m.tocsr()

    def edge_values(self, J: Any) -> np.ndarray:
        """Per-edge couplings ``(E,)`` from a symmetric matrix (``scipy.sparse`` or dense ``(N, N)``).

        Raises
        ------
        ConfigError
            If the matrix has the wrong shape, is not symmetric, or has non-zeros off the graph's edges.
        """
        if sp.issparse(J):
            M = sp.csr_matrix(J, dtype=np.float64)
        else:
            M = sp.csr_matrix(np.asarray(J, dtype=np.float64))
        if M.shape != (self.n_nodes, self.n_nodes):
            raise ConfigError(f"coupling matrix has shape {M.shape}, expected ({self.n_nodes}, {self.n_nodes})")
        if abs(M - M.T).max() > 1e-12 * max(1.0, abs(M).max()):
            raise ConfigError("coupling matrix J must be symmetric")
        vals = np.asarray(M[self.edges[:, 0], self.edges[:, 1]]).ravel()
        off = M.copy()
        off.setdiag(0)
        off.eliminate_zeros()
        if off.nnz != 2 * int(np.count_nonzero(vals)):
            raise ConfigError("coupling matrix J has non-zero entries that are not edges of the graph")
        return vals.astype(np.float64)

    def check_edge_values(self, J_edge: Any, name: str = "J_edge") -> np.ndarray:
        """Validate per-edge values: shape ``(E,)``, finite. Returns a float64 array."""
        J = np.asarray(J_edge, dtype=np.float64)
        if J.shape != (self.n_edges,):
            raise ConfigError(f"{name} must have shape ({self.n_edges},) (one value per edge), got {J.shape}")
        if not np.all(np.isfinite(J)):
            raise ConfigError(f"{name} contains non-finite values")
        return J

    def edge_lengths_m(self, metric: str = "manhattan") -> np.ndarray:
        """``(E,)`` wire length of each edge in metres from the node coordinates.

        Periodic graphs use the minimum-image displacement (a folded-torus layout realises it within a
        factor of about 2; the ledger exposes that factor). ``metric`` is ``"manhattan"`` (routed wires) or
        ``"euclidean"``. A graph whose ``meta`` carries ``edge_length_m`` (the crossbar of
        :func:`bipartite_graph`) has that length on every edge.
        """
        if "edge_length_m" in self.meta:
            return np.full(self.n_edges, float(self.meta["edge_length_m"]))
        d = self.coords_m[self.edges[:, 1]] - self.coords_m[self.edges[:, 0]]
        if self.box_m is not None:
            d = d - self.box_m * np.round(d / self.box_m)
        if metric == "manhattan":
            return np.abs(d).sum(axis=1)
        if metric == "euclidean":
            return np.sqrt((d**2).sum(axis=1))
        raise ConfigError(f"metric must be 'manhattan' or 'euclidean', got {metric!r}")

    def with_colors(self, colors: np.ndarray) -> Graph:
        """A copy with another (checked) colouring."""
        return dataclasses.replace(self, colors=np.asarray(colors))

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, n_nodes={self.n_nodes}, n_edges={self.n_edges}, n_colors={self.n_colors})"


# ---------------------------------------------------------------------------------------------- colouring
def check_coloring(graph: Graph, colors: np.ndarray) -> None:
    """Raise :class:`ConfigError` unless ``colors`` is a proper colouring of ``graph``.

    A colouring is proper when every colour is a non-negative integer and no edge joins two nodes of the
    same colour (then all nodes of one colour can be updated in parallel by block Gibbs).
    """
    c = np.asarray(colors)
    if c.shape != (graph.n_nodes,):
        raise ConfigError(f"colouring must have shape ({graph.n_nodes},), got {c.shape}")
    if c.size and c.min() < 0:
        raise ConfigError("colouring has negative colours")
    if graph.n_edges:
        same = c[graph.edges[:, 0]] == c[graph.edges[:, 1]]
        if np.any(same):
            e = int(np.flatnonzero(same)[0])
            i, j = graph.edges[e]
            raise ConfigError(
                f"improper colouring: edge {e} joins nodes {i} and {j} that both have colour {int(c[i])} "
                f"({int(same.sum())} such edges)"
            )
    used = np.unique(c)
    if used.size and not np.array_equal(used, np.arange(used.size)):
        raise ConfigError(f"colours must be 0..K-1 without gaps, got {used.tolist()}")


def _csr(n: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = np.concatenate([edges[:, 0], edges[:, 1]]).astype(np.int64)
    j = np.concatenate([edges[:, 1], edges[:, 0]]).astype(np.int64)
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, i + 1, 1)
    return np.cumsum(ptr), j


def color_graph(n_nodes: int, edges: np.ndarray) -> np.ndarray:
    """A proper colouring: two colours (BFS) if the graph is bipartite, else DSATUR.

    Returns
    -------
    (N,) int8 colours ``0..K-1``.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    ptr, adj = _csr(n_nodes, edges)
    colors = -np.ones(n_nodes, dtype=np.int64)
    bipartite = True
    for start in range(n_nodes):  # BFS 2-colouring, component by component
        if colors[start] >= 0:
            continue
        colors[start] = 0
        frontier = np.array([start])
        while frontier.size and bipartite:
            nb_lists = [adj[ptr[u] : ptr[u + 1]] for u in frontier]
            src = np.repeat(frontier, [len(x) for x in nb_lists])
            nbs = np.concatenate(nb_lists) if nb_lists else np.zeros(0, np.int64)
            want = 1 - colors[src]
            clash = (colors[nbs] >= 0) & (colors[nbs] != want)
            if np.any(clash):
                bipartite = False
                break
            new = colors[nbs] < 0
            colors[nbs[new]] = want[new]
            frontier = np.unique(nbs[new])
        if not bipartite:
            break
    if bipartite:
        return colors.astype(np.int8)
    return _dsatur(n_nodes, ptr, adj)


def _dsatur(n: int, ptr: np.ndarray, adj: np.ndarray) -> np.ndarray:
    """DSATUR greedy colouring (Brelaz 1979): colour next the node with most distinct neighbour colours."""
    colors = -np.ones(n, dtype=np.int64)
    sat: list[set[int]] = [set() for _ in range(n)]
    deg = np.diff(ptr)
    heap = [(0, -int(deg[v]), v) for v in range(n)]
    heapq.heapify(heap)
    while heap:
        negsat, _, v = heapq.heappop(heap)
        if colors[v] >= 0 or -negsat != len(sat[v]):
            continue
        c = 0
        while c in sat[v]:
            c += 1
        colors[v] = c
        for u in adj[ptr[v] : ptr[v + 1]]:
            if colors[u] < 0 and c not in sat[u]:
                sat[u].add(c)
                heapq.heappush(heap, (-len(sat[u]), -int(deg[u]), int(u)))
    if colors.max() > 127:
        raise ConfigError("graph needs more than 128 colours; not supported")
    return colors.astype(np.int8)


def _compile_tables(g: Graph) -> NeighbourTables:
    n = g.n_nodes
    E = g.n_edges
    src = np.concatenate([g.edges[:, 0], g.edges[:, 1]]).astype(np.int64)
    dst = np.concatenate([g.edges[:, 1], g.edges[:, 0]]).astype(np.int64)
    eid = np.concatenate([np.arange(E), np.arange(E)]).astype(np.int64)
    order = np.lexsort((dst, src))
    src, dst, eid = src[order], dst[order], eid[order]
    deg = np.bincount(src, minlength=n)
    D = max(int(deg.max()) if n else 0, 1)
    start = np.concatenate([[0], np.cumsum(deg)[:-1]])
    slot = np.arange(src.size) - start[src]
    nbr = np.repeat(np.arange(n, dtype=np.int32)[:, None], D, axis=1)
    slot_edge = -np.ones((n, D), dtype=np.int32)
    nbr[src, slot] = dst
    slot_edge[src, slot] = eid
    colors = g.colors.astype(np.int64)
    order_c = np.argsort(colors, kind="stable")
    counts = np.bincount(colors, minlength=g.n_colors)
    color_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return NeighbourTables(
        nbr=np.ascontiguousarray(nbr, dtype=np.int32),
        slot_edge=slot_edge,
        degree=deg.astype(np.int32),
        color_ptr=color_ptr,
        color_nodes=order_c.astype(np.int32),
    )


# ---------------------------------------------------------------------------------------------- builders
def from_edges(
    edges: Any,
    n_nodes: int | None = None,
    *,
    coords_m: np.ndarray | None = None,
    colors: np.ndarray | None = None,
    box_m: np.ndarray | None = None,
    name: str = "graph",
    pitch_m: float = DEFAULT_PITCH_M,
) -> Graph:
    """Build a :class:`Graph` from an edge list (any order/orientation; duplicates are merged).

    Parameters
    ----------
    edges : (E, 2) array-like of int
        Undirected edges; ``(i, j)`` and ``(j, i)`` are the same edge. Self loops raise.
    n_nodes : int, optional
        Number of nodes (default: largest index + 1).
    coords_m : (N, 2) array, optional
        Node positions in metres. Default: nodes on a ``ceil(sqrt(N))`` square grid of pitch ``pitch_m``.
    colors : (N,) array, optional
        A colouring to use (checked); default :func:`color_graph`.
    """
    e = np.asarray(edges, dtype=np.int64)
    if e.size == 0:
        e = np.zeros((0, 2), dtype=np.int64)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ConfigError(f"edges must have shape (E, 2), got {e.shape}")
    if np.any(e[:, 0] == e[:, 1]):
        raise ConfigError(f"edges contain self loops, e.g. node {int(e[e[:, 0] == e[:, 1]][0, 0])}")
    if e.size and e.min() < 0:
        raise ConfigError("edges contain negative node indices")
    n = int(n_nodes) if n_nodes is not None else (int(e.max()) + 1 if e.size else 1)
    e = np.sort(e, axis=1)
    e = np.unique(e, axis=0) if e.size else e
    if coords_m is None:
        side = int(np.ceil(np.sqrt(n)))
        idx = np.arange(n)
        coords_m = np.stack([(idx % side) * pitch_m, (idx // side) * pitch_m], axis=1).astype(np.float64)
    if colors is None:
        colors = color_graph(n, e)
    return Graph(n_nodes=n, edges=e.astype(np.int32), coords_m=coords_m, colors=colors, box_m=box_m, name=name)


def from_sparse(J: Any, *, coords_m: np.ndarray | None = None, name: str = "sparse") -> tuple[Graph, np.ndarray]:
    """Graph and per-edge couplings from a symmetric coupling matrix (``scipy.sparse`` or dense).

    Returns
    -------
    graph : Graph
        One edge per non-zero off-diagonal pair ``i < j``.
    J_edge : (E,) float64
        ``J[i, j]`` for each edge, in ``graph.edges`` order.
    """
    M = sp.coo_matrix(J if sp.issparse(J) else np.asarray(J, dtype=np.float64))
    if M.shape[0] != M.shape[1]:
        raise ConfigError(f"coupling matrix must be square, got shape {M.shape}")
    upper = (M.row < M.col) & (M.data != 0)
    edges = np.stack([M.row[upper], M.col[upper]], axis=1)
    g = from_edges(edges, M.shape[0], coords_m=coords_m, name=name)
    return g, g.edge_values(M)


def _grid(
    rows: int, cols: int, offsets: list[tuple[int, int]], periodic: bool, pitch_m: float, name: str, meta: dict
) -> Graph:
    if rows < 1 or cols < 1:
        raise ConfigError(f"grid size must be positive, got {rows}x{cols}")
    if not pitch_m > 0:
        raise ConfigError(f"pitch_m must be positive, got {pitch_m}")
    r, c = np.divmod(np.arange(rows * cols), cols)
    all_edges = []
    for dr, dc in offsets:
        r2, c2 = r + dr, c + dc
        if periodic:
            r2, c2 = r2 % rows, c2 % cols
            ok = np.ones_like(r2, dtype=bool)
        else:
            ok = (r2 >= 0) & (r2 < rows) & (c2 >= 0) & (c2 < cols)
        i = (r * cols + c)[ok]
        j = (r2 * cols + c2)[ok]
        keep = i != j
        all_edges.append(np.stack([i[keep], j[keep]], axis=1))
    edges = np.concatenate(all_edges) if all_edges else np.zeros((0, 2), np.int64)
    coords = np.stack([c * pitch_m, r * pitch_m], axis=1).astype(np.float64)
    box = np.array([cols * pitch_m, rows * pitch_m]) if periodic else None
    colors = None
    if not periodic or (rows % 2 == 0 and cols % 2 == 0):
        if all((abs(a) + abs(b)) % 2 == 1 for a, b in offsets):
            colors = ((r + c) % 2).astype(np.int8)  # parity colouring, checked by Graph
    g = from_edges(edges, rows * cols, coords_m=coords, colors=colors, box_m=box, name=name)
    return dataclasses.replace(g, meta=meta)


def grid_graph(
    L: int | tuple[int, int], pattern: str = "G12", periodic: bool = True, *, pitch_m: float = DEFAULT_PITCH_M
) -> Graph:
    """A DTM connectivity grid (``G8`` … ``G32``, see ``GRID_PATTERNS``, or ``G4`` = square lattice).

    Node ``(r, c)`` has index ``r * cols + c`` and position ``(c * pitch_m, r * pitch_m)``. Each rule
    ``(a, b)`` of :data:`GRID_PATTERNS` joins ``(r, c)`` to ``(r + a, c + b)``, ``(r - b, c + a)``,
    ``(r - a, c - b)``, ``(r + b, c - a)``: degree ``4 x (number of rules)`` in the bulk. With
    ``periodic=True`` the grid is a torus (jumps wrap); otherwise jumps that leave the grid are dropped.

    Examples
    --------
    >>> g = grid_graph(70, "G12")
    >>> g.n_nodes, g.n_edges, g.n_colors
    (4900, 29400, 2)
    """
    if pattern not in GRID_PATTERNS:
        raise ConfigError(f"unknown grid pattern {pattern!r}; choose one of {sorted(GRID_PATTERNS)}")
    rows, cols = (L, L) if isinstance(L, (int, np.integer)) else (int(L[0]), int(L[1]))
    offsets = []
    for a, b in GRID_PATTERNS[pattern]:
        offsets += [(a, b), (-b, a)]  # the other two rotations are the same undirected edges reversed
    kind = "torus" if periodic else "open"
    return _grid(rows, cols, offsets, periodic, pitch_m, f"{pattern} {rows}x{cols} {kind}",
                 {"pattern": pattern, "rows": rows, "cols": cols, "periodic": periodic, "pitch_m": pitch_m})


def bipartite_graph(L: int, *, pitch_m: float = DEFAULT_PITCH_M) -> Graph:
    """A complete bipartite graph on the ``L × L`` cells of an array: a crossbar.

    Cells ``0 .. A-1`` (``A = L² // 2``, colour 0) form one side, the other ``L² - A`` cells (colour 1) the
    other; every cell of one side is coupled to every cell of the other (``A (L² - A)`` edges, degree
    ``L² - A`` or ``A``), as in a restricted Boltzmann machine. The cells sit on the ``L × L`` array (position
    ``(c, r) * pitch_m`` of index ``r L + c``, for the clock tree and the I/O lines); the couplings are a
    crossbar: each cell drives one line past its partners' coupling sites, every site one ``pitch_m`` long,
    so a cell's wire is ``degree × pitch_m`` (``meta["edge_length_m"] = pitch_m``; conservative when a
    coupling site is smaller than a cell).

    Examples
    --------
    >>> g = bipartite_graph(16)
    >>> g.n_nodes, g.n_edges, g.n_colors, int(g.degree.max())
    (256, 16384, 2, 128)
    """
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ConfigError(f"bipartite graph side L must be an integer >= 2, got {L!r}")
    if not pitch_m > 0:
        raise ConfigError(f"pitch_m must be positive, got {pitch_m}")
    n = int(L) * int(L)
    a = n // 2
    i, j = np.meshgrid(np.arange(a), np.arange(a, n), indexing="ij")
    edges = np.stack([i.ravel(), j.ravel()], axis=1)
    r, c = np.divmod(np.arange(n), int(L))
    coords = np.stack([c * pitch_m, r * pitch_m], axis=1).astype(np.float64)
    colors = (np.arange(n) >= a).astype(np.int8)
    g = from_edges(edges, n, coords_m=coords, colors=colors, name=f"bipartite {L}x{L} crossbar")
    return dataclasses.replace(g, meta={"pattern": "bipartite", "rows": int(L), "cols": int(L), "periodic": False,
                                        "pitch_m": pitch_m, "edge_length_m": pitch_m})


#: The DTM's array topologies: the grid patterns and the crossbar (:func:`bipartite_graph`).
ARRAY_PATTERNS: tuple[str, ...] = (*GRID_PATTERNS, "bipartite")


def array_graph(L: int, pattern: str = "G12", periodic: bool = True, *, pitch_m: float = DEFAULT_PITCH_M) -> Graph:
    """The ``L × L`` array with connectivity ``pattern``: a grid of :data:`GRID_PATTERNS` (:func:`grid_graph`,
    torus if ``periodic``) or ``"bipartite"`` (:func:`bipartite_graph`; ``periodic`` does not apply)."""
    if pattern == "bipartite":
        return bipartite_graph(L, pitch_m=pitch_m)
    if pattern not in GRID_PATTERNS:
        raise ConfigError(f"unknown array pattern {pattern!r}; choose one of {', '.join(ARRAY_PATTERNS)}")
    return grid_graph(L, pattern, periodic, pitch_m=pitch_m)


def square_lattice(
    L: int | tuple[int, int], periodic: bool = True, *, pitch_m: float = DEFAULT_PITCH_M
) -> Graph:
    """The 2-D square (nearest-neighbour) lattice, open or periodic; degree 4 in the bulk."""
    rows, cols = (L, L) if isinstance(L, (int, np.integer)) else (int(L[0]), int(L[1]))
    kind = "torus" if periodic else "open"
    return _grid(rows, cols, [(0, 1), (1, 0)], periodic, pitch_m, f"square {rows}x{cols} {kind}",
                 {"pattern": "square", "rows": rows, "cols": cols, "periodic": periodic, "pitch_m": pitch_m})


def king_graph(L: int | tuple[int, int], periodic: bool = False, *, pitch_m: float = DEFAULT_PITCH_M) -> Graph:
    """The king's graph (nearest and diagonal neighbours, degree 8 in the bulk); four colours."""
    rows, cols = (L, L) if isinstance(L, (int, np.integer)) else (int(L[0]), int(L[1]))
    kind = "torus" if periodic else "open"
    g = _grid(rows, cols, [(0, 1), (1, 0), (1, 1), (1, -1)], periodic, pitch_m, f"king {rows}x{cols} {kind}",
              {"pattern": "king", "rows": rows, "cols": cols, "periodic": periodic, "pitch_m": pitch_m})
    if rows % 2 == 0 and cols % 2 == 0 or not periodic:
        r, c = np.divmod(np.arange(rows * cols), cols)
        g = g.with_colors(((r % 2) * 2 + (c % 2)).astype(np.int8))
    return g
