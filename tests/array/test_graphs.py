"""Graphs: jump tables, degrees, bipartiteness, colourings, builders."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pbitkit.array import (
    GRID_PATTERNS,
    check_coloring,
    from_edges,
    from_sparse,
    grid_graph,
    king_graph,
    square_lattice,
)
from pbitkit.errors import ConfigError


def test_g12_70_torus_matches_reference_counts():
    g = grid_graph(70, "G12")
    assert (g.n_nodes, g.n_edges, g.n_colors) == (4900, 29400, 2)  # docs/theory.md §2
    assert np.all(g.degree == 12)


@pytest.mark.parametrize("pattern", sorted(GRID_PATTERNS))
def test_patterns_odd_jumps_bipartite_and_regular(pattern):
    rules = GRID_PATTERNS[pattern]
    assert all((abs(a) + abs(b)) % 2 == 1 for a, b in rules)
    g = grid_graph(40, pattern)  # even torus, larger than 2x the longest jump: no wrap collisions
    assert np.all(g.degree == 4 * len(rules))
    assert g.n_colors == 2
    r, c = np.divmod(np.arange(g.n_nodes), 40)
    np.testing.assert_array_equal(g.colors, (r + c) % 2)


def test_jump_offsets_explicit():
    g = grid_graph(30, "G8", periodic=True)
    node = lambda r, c: (r % 30) * 30 + (c % 30)  # noqa: E731
    i = node(10, 10)
    nb = set(g.tables.nbr[i, : g.tables.degree[i]].tolist())
    want = {node(10 + a, 10 + b) for (a, b) in [(0, 1), (-1, 0), (0, -1), (1, 0), (4, 1), (-1, 4), (-4, -1), (1, -4)]}
    assert nb == want


def test_open_grid_drops_jumps_outside():
    g = grid_graph(24, "G12", periodic=False)
    assert g.degree.min() < 12 and g.degree.max() == 12
    assert g.box_m is None
    i, j = g.edges.T
    assert np.all(i < j)


def test_square_and_king():
    s = square_lattice(6, periodic=True)
    assert s.n_edges == 72 and np.all(s.degree == 4)
    k = king_graph(6)
    assert k.n_colors == 4 and k.degree.max() == 8
    k5 = king_graph(5, periodic=True)  # odd torus: DSATUR
    check_coloring(k5, k5.colors)


def test_improper_coloring_rejected():
    g = square_lattice(4, periodic=False)
    with pytest.raises(ConfigError, match="improper colouring"):
        g.with_colors(np.zeros(g.n_nodes, dtype=np.int8))


def test_odd_cycle_gets_three_colors_and_bad_edges_raise():
    g = from_edges([[0, 1], [1, 2], [2, 0]])
    assert g.n_colors == 3
    with pytest.raises(ConfigError, match="self loops"):
        from_edges([[0, 0]])
    with pytest.raises(ConfigError, match="edges"):
        from_edges([[0, 1, 2]])


def test_from_sparse_roundtrip_and_asymmetric_rejected():
    rng = np.random.default_rng(0)
    A = sp.random(20, 20, density=0.2, random_state=1)
    A = (A + A.T).tocsr()
    A.setdiag(0)
    A.eliminate_zeros()
    g, J = from_sparse(A)
    B = g.adjacency(J)
    assert abs(B - A).max() == 0
    with pytest.raises(ConfigError, match="symmetric"):
        g.edge_values(A + sp.eye(20, k=1) * rng.uniform())


def test_wire_lengths_min_image():
    g = grid_graph(20, "G8", pitch_m=2e-6)
    L = g.edge_lengths_m()
    assert set(np.round(L / 2e-6).astype(int).tolist()) == {1, 5}  # |0|+|1| and |4|+|1|


def test_bipartite_crossbar_graph():
    from pbitkit.array import ARRAY_PATTERNS, array_graph, bipartite_graph

    g = bipartite_graph(6, pitch_m=2e-6)
    a = 18  # half of the 36 cells
    assert (g.n_nodes, g.n_edges, g.n_colors) == (36, a * a, 2)
    np.testing.assert_array_equal(g.colors, (np.arange(36) >= a).astype(np.int8))
    check_coloring(g, g.colors)
    assert np.all(g.degree == a)
    # every pair across the halves coupled, none within a half
    adj = g.adjacency().toarray() != 0
    assert adj[:a, a:].all() and not adj[:a, :a].any() and not adj[a:, a:].any()
    # crossbar wires: one pitch per coupling site, so a cell's line is degree x pitch
    np.testing.assert_allclose(g.edge_lengths_m(), 2e-6)
    assert "bipartite" in ARRAY_PATTERNS and "G20" in ARRAY_PATTERNS
    assert array_graph(6, "bipartite").n_edges == a * a
    assert array_graph(8, "G8").name == grid_graph(8, "G8").name
    with pytest.raises(ConfigError, match="unknown array pattern"):
        array_graph(8, "G13")
    with pytest.raises(ConfigError, match="L must be an integer >= 2"):
        bipartite_graph(1)
