"""Design-space exploration throughput (not a timed test). Writes ``benchmarks/results/explore.json``.

Designs evaluated per minute on the predicted tier (``pbitkit.explore.run``, the shipped native_latch
space: nominal sweep, screen, mismatch instances for the designs that pass it), the same ``N`` designs
(the search's first, space-filling round, seed 0) each time, no design cache:

1. one process (designs one after the other),
2. a local process pool of 2 workers,
3. a local dask.distributed cluster of 2 single-threaded worker processes (``LocalCluster``) through
   ``executor=dask_executor(address)`` — what ``pbitkit explore --scheduler ADDR`` does.

Usage::

    .venv/bin/python benchmarks/bench_explore.py [--designs 24] [--only local1 local2 dask2] [--cell native_latch]

Reports wall time, designs per minute, ngspice CPU per design and how many designs the screen stopped
before their mismatch runs, with the load average before and after each mode (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pbitkit.circuits.executors import dask_executor  # noqa: E402
from pbitkit.explore.driver import run  # noqa: E402
from pbitkit.explore.space import builtin_space_path, load_space  # noqa: E402
from pbitkit.io import atomic_write_json  # noqa: E402
from pbitkit.provenance import environment_provenance  # noqa: E402


def one(mode: str, space, n: int) -> dict:
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"bench-explore-{mode}-") as d:
        cluster = ex = None
        if mode == "dask2":
            import distributed

            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                               dashboard_address=None)
            ex = dask_executor(cluster.scheduler_address)
        try:
            t0 = time.perf_counter()
            res = run(space, Path(d) / "run", budget=n, n_initial=n, batch=n, seed=0, use_cache=False,
                      workers={"local1": 1, "local2": 2, "dask2": None}[mode], executor=ex)
            wall = time.perf_counter() - t0
        finally:
            if ex is not None:
                ex.shutdown()
            if cluster is not None:
                cluster.close()
    n_done = len(res.designs)
    screened = sum(int(x.metrics.get("screened", 0) or 0) for x in res.designs)
    return {"mode": mode, "designs": n_done, "wall_s": wall, "designs_per_min": 60 * n_done / wall,
            "ngspice_cpu_per_design_s": res.cpu_time_s / max(n_done, 1), "screened": screened,
            "failed": sum(not x.ok for x in res.designs), "load_before": load0, "load_after": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=24)
    ap.add_argument("--cell", default="native_latch")
    ap.add_argument("--only", nargs="*", default=["local1", "local2", "dask2"])
    args = ap.parse_args()
    space = load_space(builtin_space_path(args.cell))
    out = []
    for mode in args.only:
        r = one(mode, space, args.designs)
        print(json.dumps(r), flush=True)  # noqa: T201
        out.append(r)
    atomic_write_json(REPO / "benchmarks" / "results" / "explore.json",
                      {"cell": args.cell, "space": str(builtin_space_path(args.cell).name), "results": out,
                       "environment": environment_provenance()})


if __name__ == "__main__":
    main()
