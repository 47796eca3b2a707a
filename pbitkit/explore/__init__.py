"""explore: design-space exploration of p-bit cells — spaces as data, a predicted-tier inner loop, Pareto
fronts, transient confirmation and end-to-end DTM figures per design (see ``docs/explore.md``).

Python API in one breath::

    from pbitkit.explore import load_space, run
    res = run(load_space("pbitkit/data/spaces/native_latch.toml"), "runs/explore-nl", budget=64, workers=2)
    [d.metrics["energy_per_independent_bit_J"] for d in res.front_designs]
"""

from typing import TYPE_CHECKING

from pbitkit.lazy import lazy_package

if TYPE_CHECKING:  # the exports; imported on first use (pbitkit.lazy)
    from pbitkit.explore.evaluate import evaluate_design
    from pbitkit.explore.pareto import non_dominated
    from pbitkit.explore.driver import DesignResult, ExploreResult, run
    from pbitkit.explore.space import DesignSpace, builtin_space_path, load_space, space_from_dict

__all__ = [
    "DesignSpace",
    "load_space",
    "space_from_dict",
    "builtin_space_path",
    "evaluate_design",
    "non_dominated",
    "run",
    "ExploreResult",
    "DesignResult",
]

lazy_package(__name__)
