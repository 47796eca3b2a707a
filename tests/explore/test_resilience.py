"""The exploration on a dask.distributed cluster (same figures as the local pool), and resume after damage to
the run log and the design cache (each damaged record is evaluated again, the rest reused)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from pbitkit.explore.driver import DESIGNS_LOG, run
from pbitkit.explore.space import space_from_dict
from pbitkit.explore.store import DesignCache, read_records

pytestmark = pytest.mark.ngspice

#: one core-supply dimension around the default (a p-bit at every point), 2 mismatch instances, 7 biases
SMALL = {
    "cell": "native_latch",
    "conditions": {"mc_instances": 2, "bias_points": 7, "mc_bias_points": 9, "mc_params": {"readout": 0}},
    "parameter": [{"name": "vdd_V", "kind": "range", "lo": 0.121, "hi": 0.129}],
    "constraint": [{"metric": "tau_corr_s", "max": 1e-6}],
    "area": {"fixed_um2": 0.819, "terms": [{"w": "wn_um", "l": "ln_um", "count": 2}]},
}

_COMPARED = ("v0_V", "vs_V", "energy_per_bit_J", "energy_per_independent_bit_J", "tau_corr_s", "sigma_v0_V",
             "static_power_W", "dynamic_energy_per_bit_J")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.dask
@pytest.mark.slow  # a 2-worker LocalCluster and a 2-process pool, 2 designs each (~15 s idle)
def test_dask_cluster_gives_the_local_pools_figures(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from pbitkit.circuits.executors import dask_executor

    space = space_from_dict(SMALL)
    local = run(space, tmp_path / "local", budget=1, n_initial=1, workers=2, use_cache=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        ex = dask_executor(cluster.scheduler_address)
        try:
            with distributed.get_task_stream(client=ex.client) as stream:
                remote = run(space, tmp_path / "dask", budget=1, n_initial=1, executor=ex, use_cache=False)
        finally:
            ex.shutdown()
    # every design was evaluated by the cluster's workers (the task stream records each evaluation)
    ran = [t for t in stream.data if "evaluate_design" in str(t.get("key", ""))]
    assert len(ran) == 2, [t.get("key") for t in stream.data]
    assert remote.n_evaluated == local.n_evaluated == 2
    assert [d.key for d in remote.designs] == [d.key for d in local.designs]
    for a, b in zip(local.designs, remote.designs, strict=True):
        assert a.metrics["status"] == b.metrics["status"] == "ok"
        for m in _COMPARED:  # same netlists, same seeds: the same numbers, whichever process ran them
            assert _same(float(a.metrics[m]), float(b.metrics[m])), (m, a.metrics[m], b.metrics[m])
    assert list(remote.front) == list(local.front) and list(remote.feasible) == list(local.feasible)


@pytest.mark.slow  # 2 designs evaluated, then 2 again (~15 s idle)
def test_resume_after_damage_to_the_log_and_the_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    space = space_from_dict(SMALL)
    cache = DesignCache(tmp_path / "cache")
    out = tmp_path / "run"
    first = run(space, out, budget=1, n_initial=1, cache=cache)
    assert first.n_evaluated == 2
    # 1. a run-log record edited after the fact (its checksum no longer matches): skipped, the design comes from
    #    the cache; the intact record is reused
    log = out / DESIGNS_LOG
    lines = log.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["metrics"]["energy_per_bit_J"] = 1e-18
    log.write_text("\n".join([lines[0], json.dumps(rec)]) + "\n")
    with caplog.at_level(logging.WARNING, logger="pbitkit.explore.store"):
        again = run(space, out, budget=1, n_initial=1, cache=cache)
    assert "checksum does not match" in caplog.text
    assert again.n_evaluated == 0 and again.n_cached == 2
    assert again.designs[1].metrics["energy_per_bit_J"] == first.designs[1].metrics["energy_per_bit_J"]
    # 2. the cache damaged: one entry truncated mid-file (a crash while writing without the atomic rename), one
    #    entry's figure edited; a fresh run directory evaluates both designs again and gets the same figures
    files = sorted(cache.root.rglob("*.json"))
    assert len(files) == 2
    text = files[0].read_text()
    files[0].write_text(text[: len(text) // 2])
    bad = json.loads(files[1].read_text())
    bad["metrics"]["tau_corr_s"] = 1.0
    files[1].write_text(json.dumps(bad))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pbitkit.explore.store"):
        fresh = run(space, tmp_path / "run2", budget=1, n_initial=1, cache=cache)
    assert "ignoring unreadable design cache entry" in caplog.text and "ignoring corrupt design cache entry" in caplog.text
    assert fresh.n_evaluated == 2 and fresh.n_cached == 0
    for a, b in zip(first.designs, fresh.designs, strict=True):
        assert a.key == b.key
        for m in _COMPARED:
            assert _same(float(a.metrics[m]), float(b.metrics[m])), m
    # the re-evaluated records repaired the cache: a third directory takes both from it
    assert run(space, tmp_path / "run3", budget=1, n_initial=1, cache=cache).n_cached == 2
    assert len(read_records(tmp_path / "run3" / DESIGNS_LOG)) == 2


@pytest.mark.slow  # 2 designs x 2 mismatch instances balanced (~10 predicted sessions each) and gridded (~20 s idle)
def test_variation_after_per_cell_trim(tmp_path: Path) -> None:
    """The default's mismatch instances trimmed with the core's n-well DAC land next to ``ref`` (within a few
    Vs: one DAC step); a DAC of ±10 mV cannot reach an instance that needs more (negative control)."""
    import dataclasses as dc

    from pbitkit.circuits.native_latch_trim import CORE_TRIM_DAC, TrimDac
    from pbitkit.explore.trim import trim_front, trim_markdown

    res = run(space_from_dict(SMALL), tmp_path / "run", budget=0, n_initial=1, cache=DesignCache(tmp_path / "c"))
    (t,) = trim_front(res, [], workers=2)
    ref = 0.1  # the cell's ref_V
    assert t.label == "default" and len(t.codes) == 2 and all(0 <= c < CORE_TRIM_DAC.n_codes for c in t.codes)
    assert all(t.reachable) and t.censored == (0, 0)
    assert all(abs(v - ref) < 3 * t.vs_V for v in t.v0_after_V), (t.v0_after_V, t.vs_V)
    assert math.isfinite(t.rms_after_over_vs) and "Variation after per-cell trim" in trim_markdown([t])
    # cached: the same call reads trim/default.json
    assert trim_front(res, [])[0] == t and (tmp_path / "run" / "trim" / "default.json").is_file()
    # negative control: a +-10 mV trim range; the instances need codes far from the middle of the +-0.45 V DAC
    assert any(abs(CORE_TRIM_DAC.volts(c)) > 0.02 for c in t.codes)
    small = trim_front(dc.replace(res, out_dir=tmp_path / "small"), [], dac=TrimDac(8, 0.01), workers=2)[0]
    assert not all(small.reachable) and small.reach_fraction < 1
