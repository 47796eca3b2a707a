"""Executors: a local process pool and a dask.distributed LocalCluster run real ngspice sessions."""

from __future__ import annotations

import os

import pytest

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.executors import dask_executor, local_executor, run_tasks
from pbitkit.circuits.ngspice import SimJob
from pbitkit.circuits.sweep import load_spec
from pbitkit.errors import ConfigError
from pbitkit.io import read_json

# a real but small StrongARM sweep: 4 bias points spanning the sigmoid, 40 clock cycles each
SMALL = {"cell": "strongarm", "bias": {"n": 4}, "params": {"n_samples": 40}, "max_points_per_job": 2}


@pytest.mark.ngspice
def test_local_pool_keeps_good_sessions_when_one_fails() -> None:
    from pbitkit.circuits.cell_base import SweepPoint
    from pbitkit.circuits.registry import get_cell

    cell = get_cell("strongarm")
    good = cell.jobs([SweepPoint(cell="strongarm", bias_V=0.01, params={"n_samples": 20})])[0]
    bad = SimJob("bad\nV1 in 0 DC 1\nQ1 a b c nomodel\n.op\n.end\n", label="bad|{}")
    seen = []
    with local_executor(2) as ex:
        outs = sorted(run_tasks([("strongarm", good), ("strongarm", bad)], ex,
                                progress=lambda d, t, m: seen.append((d, t))), key=lambda o: o.index)
    assert outs[0].status == "ok" and len(outs[0].rows) == 1 and outs[0].rows[0]["n_samples"] == 20
    assert outs[1].status == "failed" and "could not find a valid modelname" in outs[1].error
    assert sorted(seen) == [(1, 2), (2, 2)]
    with pytest.raises(ConfigError, match="workers"):
        local_executor(0)


@pytest.mark.ngspice
@pytest.mark.dask
def test_dask_local_cluster_sweep_matches_local_run(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    spec = load_spec(SMALL)
    # locally all 4 points in one session; on the cluster 2 sessions of 2: the bits must not depend on it
    local = characterize(load_spec({**SMALL, "max_points_per_job": 4}), tmp_path / "local", workers=1,
                         use_cache=False, plot=False)
    assert local.n_sessions == 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        ex = dask_executor(cluster.scheduler_address)
        try:
            remote = characterize(spec, tmp_path / "dask", executor=ex, use_cache=False, plot=False)
        finally:
            ex.shutdown()
    assert remote.n_failed == 0 and remote.n_simulated == remote.n_sessions == 2
    per_worker = read_json(remote.provenance_path)["timing"]["sessions_per_worker"]
    assert sum(per_worker.values()) == 2
    assert all(not w.endswith(f":{os.getpid()}") for w in per_worker)  # ran in the cluster's workers
    # same seeds, same netlists -> the same bits, whichever machine ran them
    assert [r["p1"] for r in remote.rows] == [r["p1"] for r in local.rows]
    assert [r["bias_V"] for r in remote.rows] == [r["bias_V"] for r in local.rows]


def test_dask_executor_reports_unreachable_scheduler() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ConfigError, match="cannot connect to the dask scheduler"):
        dask_executor("tcp://127.0.0.1:9", timeout_s=1.0)
