"""Device-aware p-bit array simulator: graphs, chromatic Gibbs sampling (ideal / device / async),
variation and calibration, energy/time ledger, diagnostics.

Quick start::

    import numpy as np
    from pbitkit.array import grid_graph, sample
    g = grid_graph(16, "G12")
    s = sample(np.full(g.n_edges, 0.2), graph=g, beta=1.0, n_chains=8, n_sweeps=200, seed=0)
"""

from typing import TYPE_CHECKING

from pbitkit.lazy import lazy_package

if TYPE_CHECKING:  # the exports; imported on first use (pbitkit.lazy)
    from pbitkit.array.calibration import CalibrationResult, calibrate
    from pbitkit.array.device import (
        DacSpec,
        DeviceStats,
        HardwareConfig,
        HardwareInstance,
        from_device_model,
        make_hardware,
    )
    from pbitkit.array.graphs import (
        ARRAY_PATTERNS,
        GRID_PATTERNS,
        Graph,
        NeighbourTables,
        check_coloring,
        color_graph,
        from_edges,
        from_sparse,
        array_graph,
        bipartite_graph,
        grid_graph,
        king_graph,
        square_lattice,
    )
    from pbitkit.array.ledger import Ledger, ledger
    from pbitkit.array.sampler import GibbsSampler, Moments, ProgrammedSampler, random_state, sample, sample_async


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
    "GibbsSampler",
    "ProgrammedSampler",
    "Moments",
    "sample",
    "sample_async",
    "random_state",
    "DeviceStats",
    "DacSpec",
    "HardwareConfig",
    "HardwareInstance",
    "make_hardware",
    "from_device_model",
    "calibrate",
    "CalibrationResult",
    "ledger",
    "Ledger",
]

lazy_package(__name__)
