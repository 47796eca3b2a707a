"""PySpice cells on a dask.distributed LocalCluster: a user's PySpice cell (loaded from ``$PBITKIT_CELLS``
in the cluster's workers) and the built-in PySpice definition give the same rows as a local run."""

from __future__ import annotations

import os
import shutil

import pytest

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.executors import dask_executor
from pbitkit.circuits.netlist_cell import CELLS_ENV
from pbitkit.circuits.sweep import load_spec
from pbitkit.io import read_json
from pbitkit.paths import repo_root

# the guide's PySpice cell (examples/pyspice_cells/pysalatch.*), 2 bias points x 30 reads, one session each
USER = {"cell": "pysalatch", "bias": {"values_V": [0.86, 0.94]}, "params": {"n_samples": 30},
        "noise_seed": 2, "max_points_per_job": 1}
# the built-in StrongARM's PySpice definition, 2 bias points x 30 reads, one session each
BUILTIN = {"cell": "strongarm_pyspice", "bias": {"values_V": [-0.004, 0.004]}, "params": {"n_samples": 30},
           "noise_seed": 2, "max_points_per_job": 1}


def _table(rows: list[dict]) -> list[tuple]:
    """Every column except the CPU time, sorted by bias."""
    return sorted(tuple(sorted((k, repr(v)) for k, v in r.items() if k != "cpu_time_s")) for r in rows)


@pytest.mark.ngspice
@pytest.mark.dask
def test_pyspice_cells_on_a_dask_local_cluster_give_the_local_rows(tmp_path, monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    cells = tmp_path / "cells"
    shutil.copytree(repo_root() / "examples" / "pyspice_cells", cells)
    monkeypatch.setenv(CELLS_ENV, str(cells))  # before the cluster starts: its worker processes inherit it
    # locally: the user's cell in this process (a process pool's forkserver may hold an older environment,
    # without this $PBITKIT_CELLS), the built-in one in the local process pool
    local_user = characterize(load_spec(USER), tmp_path / "lu", workers=1, use_cache=False, plot=False)
    local_builtin = characterize(load_spec(BUILTIN), tmp_path / "lb", workers=2, use_cache=False, plot=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        ex = dask_executor(cluster.scheduler_address)
        try:
            remote = [characterize(load_spec(s), tmp_path / n, executor=ex, use_cache=False, plot=False)
                      for s, n in ((USER, "du"), (BUILTIN, "db"))]
        finally:
            ex.shutdown()
    for res, local in zip(remote, (local_user, local_builtin), strict=True):
        assert res.n_failed == 0 and local.n_failed == 0, (res.failed_rows, local.failed_rows)
        assert res.n_simulated == res.n_sessions == 2
        per_worker = read_json(res.provenance_path)["timing"]["sessions_per_worker"]
        assert all(not w.endswith(f":{os.getpid()}") for w in per_worker)  # ran in the cluster's workers
        assert _table(res.rows) == _table(local.rows)  # same seeds, same netlists -> the same rows
        p1 = sorted((r["bias_V"], r["p1"]) for r in res.rows)
        assert p1[0][1] < p1[1][1], p1  # not vacuous: P(1) rises with the bias
