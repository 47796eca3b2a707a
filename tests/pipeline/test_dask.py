"""Scale-out: the DTM's per-step training runs on a dask.distributed cluster (loopback LocalCluster) and
gives bit-identical parameters to in-process training (same seeds, whichever worker ran a step)."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.circuits.executors import dask_executor
from pbitkit.dtm.forward import ForwardConfig
from pbitkit.dtm.pipeline import DataConfig, DTMConfig, train_dtm
from pbitkit.dtm.train import TrainConfig

pytestmark = pytest.mark.dask


def _tiny() -> DTMConfig:
    return DTMConfig(
        data=DataConfig(n_train=200),
        forward=ForwardConfig(n_steps=2),
        train=TrainConfig(epochs=2, batch_size=64, burn_in=5, measure=3, seed=3),
    )


def test_dtm_steps_train_on_a_local_dask_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    cfg = _tiny()
    local = train_dtm(cfg)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        ex = dask_executor(cluster.scheduler_address)
        try:
            remote = train_dtm(cfg, executor=ex)
            # both steps were submitted to the cluster's workers, not run in this process
            with distributed.Client(cluster.scheduler_address, timeout=30) as client:
                assert len(client.scheduler_info()["workers"]) == 2
        finally:
            ex.shutdown()
    for a, b in zip(local.dtm.steps, remote.dtm.steps, strict=True):
        np.testing.assert_array_equal(a.J_edge, b.J_edge)
        np.testing.assert_array_equal(a.h, b.h)
