"""Batch-mode vs shared-mode ngspice runner (not a timed test). Writes ``benchmarks/results/runners.json``.

Measures, on the machine it runs on, with both runners of :mod:`pbitkit.circuits.runners`:

1. **Tiny analysis**: a resistor-divider ``.op``, per run (median of N), plus the shared-mode worker's
   start-up (import PySpice, load libngspice) paid once per calling process.
2. **One transient session**: a sky130 inverter ``.tran`` (the simulation dominates).
3. **Predicted tier of a full default sweep**: the bias-centring step of the pipeline's default
   characterization (5 corners + 8 mismatch seeds at tt = 13 devices per cell, one predicted-tier session
   or two per device), for the latch (``.ac`` + ``.op`` + ``.dc`` of 800 points) and the StrongARM (a
   noiseless staircase transient), 2 workers, cache off. Also checks that both runners give identical
   centres.

Usage::

    .venv/bin/python benchmarks/bench_runners.py              # ~3-6 min on 2 loaded cores
    .venv/bin/python benchmarks/bench_runners.py --only tiny  # one section
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pbitkit.circuits import models  # noqa: E402
from pbitkit.circuits.centering import centre_points  # noqa: E402
from pbitkit.circuits.ngspice import SimJob, ngspice_version, run  # noqa: E402
from pbitkit.circuits.shared_runner import run_shared, shutdown_workers  # noqa: E402
from pbitkit.circuits.sweep import expand, load_spec  # noqa: E402
from pbitkit.io import atomic_write_json  # noqa: E402
from pbitkit.provenance import environment_provenance  # noqa: E402

DIVIDER = "divider\nV1 in 0 DC 1\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n"


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def _per_run(fn, job: SimJob, n: int) -> dict:
    walls, cpus = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        r = fn(job)
        walls.append(time.perf_counter() - t0)
        cpus.append(r.cpu_time_s)
    return {"median_wall_s": _median(walls), "median_ngspice_cpu_s": _median(cpus), "n": n}


def bench_tiny(n: int = 50) -> dict:
    shutdown_workers()
    t0 = time.perf_counter()
    run_shared(SimJob(DIVIDER))  # first call: starts the worker
    first = time.perf_counter() - t0
    return {"batch": _per_run(run, SimJob(DIVIDER), n), "shared": _per_run(run_shared, SimJob(DIVIDER), n),
            "shared_first_call_incl_worker_start_s": first}


def bench_transient(n: int = 3) -> dict:
    lib = models.sky130_library("tt")
    net = (f"inv\n{lib.include_line}\nVDD vdd 0 1.8\nVIN in 0 PULSE(0 1.8 0 50p 50p 1n 2n)\n"
           f"XN o in 0 0 {lib.nfet} W=1 L=0.15\nXP o in vdd vdd {lib.pfet} W=2 L=0.15\nC1 o 0 5f\n"
           ".tran 1p 20n\n.end\n")
    job = SimJob(net, vectors=("v(o)",))
    run_shared(job)  # warm the worker
    return {"batch": _per_run(run, job, n), "shared": _per_run(run_shared, job, n)}


def default_sweep_points(cell: str) -> list:
    """The pipeline's default characterization of ``cell``: 5 corners, 8 mismatch seeds at tt."""
    spec = load_spec({"cell": cell, "corners": ["tt", "ff", "ss", "fs", "sf"], "n_mc": 8, "mc_corners": ["tt"],
                      "bias_centering": "predicted"})
    return expand(spec)


def bench_predicted(workers: int = 2) -> dict:
    version = ngspice_version()
    out: dict = {}
    for cell in ("latch", "strongarm"):
        pts = default_sweep_points(cell)
        res = {}
        centres = {}
        for runner in ("batch", "shared"):
            shutdown_workers()
            t0 = time.perf_counter()
            _, c = centre_points(pts, models="sky130", ngspice_version=version, workers=workers, use_cache=False,
                                 runner=runner)
            res[runner] = {"wall_s": time.perf_counter() - t0, "devices": len(c)}
            centres[runner] = [x["v0_pred_V"] for x in c]
        res["identical_centres"] = centres["batch"] == centres["shared"]
        out[cell] = res
    return out


def bench_predicted_sequential() -> dict:
    """The same 13 devices per cell, one after the other in this process (no pool): wall and ngspice CPU
    summed over the predicted-tier sessions (CPU is less sensitive to the machine's load than wall)."""
    from pbitkit.circuits.centering import device_key, predict_centre

    out: dict = {}
    for cell in ("latch", "strongarm"):
        devices = {device_key(pt): pt for pt in default_sweep_points(cell)}
        res: dict = {}
        for runner in ("batch", "shared"):
            shutdown_workers()
            run_shared(SimJob(DIVIDER))  # worker start-up not counted (paid once per process)
            wall = cpu = 0.0
            v0 = []
            for pt in devices.values():
                t0 = time.perf_counter()
                r = predict_centre(pt.cell, pt.corner, pt.mc_seed, pt.temp_C, pt.vdd_V, dict(pt.params), "sky130",
                                   runner)
                wall += time.perf_counter() - t0
                cpu += r["cpu_time_s"]
                v0.append(r["v0_V"])
            res[runner] = {"wall_s": wall, "ngspice_cpu_s": cpu, "devices": len(devices), "v0_V": v0}
        res["identical_centres"] = res["batch"]["v0_V"] == res["shared"]["v0_V"]
        out[cell] = res
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["tiny", "transient", "predicted", "sequential"])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "runners.json")
    args, _ = ap.parse_known_args()  # run_all passes every benchmark the same extra arguments
    sections = {"tiny": bench_tiny, "transient": bench_transient, "predicted": bench_predicted,
                "sequential": bench_predicted_sequential}
    results: dict = {}
    for name, fn in sections.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        results[name] = fn()
        print(name, f"{time.perf_counter() - t0:.1f} s", results[name], flush=True)
    results["load_average"] = os.getloadavg()
    results["environment"] = environment_provenance(kind="benchmark-runners")
    atomic_write_json(args.out, results)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
