"""The shared-mode runner (libngspice via PySpice in a worker process) against the batch adapter.

Real ngspice both ways. PySpice is a core dependency: these tests import it and fail (never skip) when
it is missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import time

import numpy as np
import pytest

from pbitkit.circuits import models
from pbitkit.circuits.cache import RowCache
from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.ngspice import SimJob, filesource_model, filesource_noise_text, run, write_command
from pbitkit.circuits.pyspice_interop import LIBRARY_ENV, find_libngspice, pyspice_version
from pbitkit.circuits.runners import check_runner, resolve_runner, run_job
from pbitkit.circuits.shared_runner import run_shared
from pbitkit.circuits.sweep import load_spec
from pbitkit.errors import ConfigError, NgspiceNotFoundError, SimulationError, SimulationTimeoutError

from . import test_characterize_cell as oc

DIVIDER = ("divider\nV1 in 0 DC 1 ac 1\nR1 in out 1k\nR2 out 0 3k\nC1 out 0 1n\n"
           "D1 out 0 dmod\n.model dmod D(IS=1e-14 N=1.2)\n")
HANG = "runaway\nV1 a 0 1\nR1 a 0 1\n.control\nwhile 1 = 1\nend\n.endc\n.end\n"


def assert_same_plots(a, b) -> None:
    """Same plots, same vector names, identical values. The batch raw file's AC/noise ``frequency``
    scale carries uninitialized memory in its imaginary part (ngspice 39 writes the real scale as
    complex), so the scale is compared on its real part."""
    assert a.plot_names == b.plot_names
    for pa, pb in zip(a.plots, b.plots, strict=True):
        assert sorted(pa) == sorted(pb)
        for k in pa:
            if k == "frequency":
                np.testing.assert_array_equal(pa[k].real, pb[k].real)
            else:
                np.testing.assert_array_equal(pa[k], pb[k])


def test_pyspice_is_installed_and_libngspice_found() -> None:
    assert pyspice_version().startswith("PySpice 1.")
    assert "ngspice" in find_libngspice()


def test_missing_libngspice_names_what_to_set(monkeypatch) -> None:
    monkeypatch.setenv(LIBRARY_ENV, "/nonexistent/libngspice.so.0")
    with pytest.raises(NgspiceNotFoundError, match="NGSPICE_LIBRARY_PATH.*/nonexistent/libngspice.so.0"):
        find_libngspice()


@pytest.mark.ngspice
@pytest.mark.parametrize("analysis", [".op", ".dc V1 0 1 0.05", ".ac dec 5 1 1meg", ".tran 10n 10u",
                                      ".op\n.dc V1 0 1 0.25\n.ac dec 2 1 1k\n.tran 100n 2u"])
def test_shared_mode_returns_the_batch_vectors(analysis: str) -> None:
    net = DIVIDER + analysis + "\n.end\n"
    batch, shared = run(SimJob(net)), run_shared(SimJob(net))
    assert_same_plots(batch, shared)
    assert shared.plots[0]  # not vacuous: every plot holds vectors
    assert shared.ngspice_version == batch.ngspice_version


@pytest.mark.ngspice
def test_shared_mode_sky130_transient_with_filesource_noise_is_bit_identical() -> None:
    lib = models.sky130_library("tt", mismatch=True)
    rng = np.random.default_rng(5)
    net = (f"inv\n{lib.include_line}\n{lib.seed_line(3)}\nVDD vdd 0 1.8\nVIN in 0 0.9\n"
           f"XN o in 0 0 {lib.nfet} W=1 L=0.15\nXP o in vdd vdd {lib.pfet} W=2 L=0.15\nC1 o 0 5f\n"
           f"AN %vd([nz 0]) fs1\n{filesource_model('fs1', 'n.txt')}\nRZ nz 0 1G\nGN 0 o nz 0 1e-6\n"
           ".control\nforeach v 0.8 0.9\n alter vin dc=$v\n tran 0.1n 5n 0 0.1n\n"
           f" {write_command(['v(o)', 'i(vdd)'])}\nend\n.endc\n.end\n")
    job = SimJob(net, files={"n.txt": filesource_noise_text(rng, dt_s=0.1e-9, n_steps=60)},
                 vectors=("v(o)", "i(vdd)"))
    batch, shared = run(job), run_shared(job)
    assert len(shared.plots) == 2
    assert_same_plots(batch, shared)
    assert not np.array_equal(shared.plots[0]["v(o)"], shared.plots[1]["v(o)"])


@pytest.mark.ngspice
def test_runaway_simulation_is_killed_at_its_timeout_and_the_rest_completes() -> None:
    good = [SimJob(f"d{i}\nV1 in 0 {i}\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n", vectors=("v(out)",), timeout_s=60)
            for i in range(1, 5)]
    jobs = [good[0], SimJob(HANG, timeout_s=1.5, label="runaway"), *good[1:]]

    def one(job: SimJob) -> tuple[str, object, float]:
        t0 = time.perf_counter()
        try:
            return "ok", run_job(job, "shared").plots[0]["v(out)"][0], time.perf_counter() - t0
        except SimulationTimeoutError as exc:
            return "timeout", str(exc), time.perf_counter() - t0

    with cf.ThreadPoolExecutor(2) as ex:
        outs = list(ex.map(one, jobs))
    status = [o[0] for o in outs]
    assert status == ["ok", "timeout", "ok", "ok", "ok"]
    assert [o[1] for o in outs if o[0] == "ok"] == [0.75 * i for i in range(1, 5)]
    _, msg, elapsed = outs[1]
    assert "runaway" in msg and "timed out after 1.5 s" in msg and "while" in msg  # ngspice's own last words
    assert 1.5 <= elapsed < 1.5 + 10  # killed at the timeout (margin: a loaded 2-core machine)


@pytest.mark.ngspice
@pytest.mark.parametrize(("net", "pattern"), [
    ("m\n.lib /nonexistent/models.lib tt\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n",
     r"missing model/include file:(.|\n)*/nonexistent/models.lib"),
    ("m\nV1 a 0 1\nX1 a b nosuchcell\n.op\n.end\n", r"unknown subckt: x1 a b nosuchcell"),
    ("m\nV1 a 0 1\nM1 a a 0 0 nomodel W=1u L=1u\n.op\n.end\n", r"nomodel(.|\n)*could not find a valid modelname"),
    ("m\nV1 a 0 1\nR1 a 0 1k\n.control\nalter vq dc=1\nop\nwrite pbk.raw v(a)\n.endc\n.end\n",
     r"no such device or model name vq"),
])
def test_bad_netlist_gives_ngspice_message_in_both_runners(net: str, pattern: str) -> None:
    for runner in (run, run_shared):
        with pytest.raises(SimulationError, match=pattern):
            runner(SimJob(net))
    # the worker survives (or is replaced after a fatal error): the next job runs
    assert run_shared(SimJob(DIVIDER + ".op\n.end\n", vectors=("v(out)",))).plots[0]["v(out)"].size == 1


@pytest.mark.ngspice
def test_unknown_vector_is_named() -> None:
    with pytest.raises(SimulationError, match=r"'v\(nosuchnode\)'.*not in any plot"):
        run_shared(SimJob(DIVIDER + ".op\n.end\n", vectors=("v(nosuchnode)",)))


def test_runner_choice() -> None:
    tran = SimJob(DIVIDER + ".control\ntran 1n 10n\nwrite pbk.raw\n.endc\n")
    dc = SimJob(DIVIDER + ".control\nop\nwrite pbk.raw\ndc V1 0 1 0.1\nwrite pbk.raw\n.endc\n")
    assert resolve_runner(tran, "auto") == "batch" and resolve_runner(dc, "auto") == "shared"
    assert resolve_runner(tran, "shared") == "shared"
    with pytest.raises(ConfigError, match="sweep spec.runner: 'fast' is not one of"):
        load_spec({"cell": "latch", "runner": "fast"})
    with pytest.raises(ConfigError, match="runner"):
        check_runner("fast")


@pytest.mark.ngspice
def test_sweep_with_shared_runner_keeps_the_rest_and_matches_batch(tmp_path, monkeypatch) -> None:
    oc.register(monkeypatch)
    biases = [-0.3, -0.1, 0.1, 0.9, 0.3]  # 0.9 V has no operating point
    rows = {}
    for runner in ("batch", "shared"):
        spec = load_spec({"cell": oc.NonlinearNodeCell.name, "bias": {"values_V": biases}, "runner": runner})
        res = characterize(spec, tmp_path / runner, workers=1, cache=RowCache(tmp_path / f"c-{runner}"), plot=False)
        assert res.n_failed == 1 and res.failed_rows[0]["bias_V"] == 0.9
        assert "did not converge" in res.failed_rows[0]["error"]
        rows[runner] = [(r["bias_V"], r["p1"]) for r in res.rows if r["status"] == "ok"]
    assert rows["shared"] == rows["batch"] and len(rows["shared"]) == 4


@pytest.mark.ngspice
def test_worker_of_a_finished_thread_is_reaped_and_replaced() -> None:
    """A worker started from a thread dies with that thread (Linux's parent-death signal is per thread);
    the next call reaps it and starts another, leaving no unclosed pipes (ResourceWarning -> error here)."""
    import gc

    job = SimJob(DIVIDER + ".op\n.end\n", vectors=("v(out)",))
    for _ in range(2):
        with cf.ThreadPoolExecutor(1) as ex:
            ex.submit(run_shared, job).result()  # the worker goes back to the pool, its thread then ends
        time.sleep(0.5)
    assert run_shared(job).plots[0]["v(out)"].size == 1
    gc.collect()
