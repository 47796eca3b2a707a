"""Benchmarks of the circuits stage (not timed tests). Writes ``benchmarks/results/circuits.json``.

Measures, on the machine it runs on:

1. **Adapter backends** on the same netlists: ngspice batch mode in a subprocess (what pbitkit uses) vs
   PySpice 1.5 shared mode (libngspice in the Python process): per-run cost, and what happens to the
   caller on a fatal ngspice error and on a hung simulation.
2. **Model-load amortization**: per-point cost of a sky130 operating point with one ngspice session per
   point vs one session for all points (``alter`` in a control loop); slim vs full ``sky130.lib.spice``.
3. **OpenMP oversubscription**: two concurrent BSIM4 transients with ngspice's default 2 threads vs the
   adapter's ``set num_threads=1``.
4. **Sweep throughput**: the quick StrongARM and latch sweeps (9 bias points) with 1 vs 2 local workers:
   wall time and simulations (sweep points) per minute.

Usage::

    .venv/bin/python benchmarks/bench_circuits.py            # everything (~5 min on 2 cores)
    .venv/bin/python benchmarks/bench_circuits.py --skip-full  # without the full library (~25 s per parse)
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pbitkit.circuits import models  # noqa: E402
from pbitkit.circuits import ngspice as ng  # noqa: E402
from pbitkit.circuits.characterize import characterize  # noqa: E402
from pbitkit.circuits.sweep import quick_spec  # noqa: E402
from pbitkit.io import atomic_write_json  # noqa: E402
from pbitkit.provenance import environment_provenance  # noqa: E402

LIBNGSPICE = "/usr/lib/x86_64-linux-gnu/libngspice.so.0"
DIVIDER = "divider\nV1 in 0 DC 1\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n"


def inverter_tran(lib: models.ModelLibrary, t_stop: str = "20n", n: int = 1) -> str:
    inst = "\n".join(f"XN{i} o{i} in 0 0 {lib.nfet} W=1 L=0.15\nXP{i} o{i} in vdd vdd {lib.pfet} W=2 L=0.15\n"
                     f"C{i} o{i} 0 5f" for i in range(n))
    return (f"inv\n{lib.include_line}\nVDD vdd 0 1.8\nVIN in 0 PULSE(0 1.8 0 50p 50p 1n 2n)\n{inst}\n"
            f".tran 1p {t_stop}\n.end\n")


def timed(fn, repeat: int) -> float:
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return sorted(best)[len(best) // 2]  # median


# ---------------------------------------------------------------------------------------------- 1
_PYSPICE_CHILD = textwrap.dedent("""
    import os, sys, time, json
    os.environ["NGSPICE_LIBRARY_PATH"] = {lib!r}
    import logging; logging.disable(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    t0 = time.perf_counter()
    ng = NgSpiceShared.new_instance()
    init = time.perf_counter() - t0
    ng.exec_command("set num_threads=1")
    net = open(sys.argv[1]).read()
    reps = int(sys.argv[2])
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        ng.load_circuit(net)
        ng.run()
        _ = ng.plot(None, ng.last_plot)
        ng.remove_circuit()
        times.append(time.perf_counter() - t0)
    print(json.dumps({{"init_s": init, "run_s": sorted(times)[len(times) // 2]}}))
""")


def pyspice_shared(netlist: str, reps: int, timeout: float = 120) -> dict:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "c.cir").write_text(netlist)
        (Path(d) / "child.py").write_text(_PYSPICE_CHILD.format(lib=LIBNGSPICE))
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, "child.py", "c.cir", str(reps)], cwd=d, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"outcome": f"caller hung: killed by the benchmark after {timeout:.0f} s"}
        wall = time.perf_counter() - t0
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        if p.returncode == 0 and last.startswith("{"):
            return {**json.loads(last), "outcome": "ok", "process_wall_s": wall}
        return {"outcome": f"caller process died (exit code {p.returncode})",
                "stderr_tail": (p.stderr or p.stdout).strip().splitlines()[-3:]}


def bench_backends() -> dict:
    slim = models.sky130_library("tt")
    out = {}
    for name, net, reps in (("divider_op", DIVIDER, 20), ("sky130_inverter_tran_20ns", inverter_tran(slim), 5)):
        sub = timed(lambda n=net: ng.run(ng.SimJob(n)), reps)
        out[name] = {"subprocess_batch_s": sub, "pyspice_shared": pyspice_shared(net, reps)}
    missing = "m\n.lib /nonexistent/models.lib tt\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n"
    try:
        ng.run(ng.SimJob(missing))
        sub_out = "no error?"
    except ng.SimulationError as exc:
        sub_out = "SimulationError raised, caller alive: " + str(exc).splitlines()[0]
    out["fatal_error_missing_lib"] = {"subprocess_batch": sub_out, "pyspice_shared": pyspice_shared(missing, 1, 60)}
    hang = "spin\nV1 a 0 1\nR1 a 0 1\n.control\nwhile 1 = 1\nend\n.endc\n.end\n"
    t0 = time.perf_counter()
    try:
        ng.run(ng.SimJob(hang, timeout_s=2))
        sub_hang = "no timeout?"
    except ng.SimulationTimeoutError:
        sub_hang = f"SimulationTimeoutError after {time.perf_counter() - t0:.2f} s, caller alive"
    out["hung_simulation"] = {"subprocess_batch": sub_hang, "pyspice_shared": pyspice_shared(hang, 1, 10)}
    return out


# ---------------------------------------------------------------------------------------------- 2
def op_points(lib: models.ModelLibrary, biases: list[float], one_session: bool) -> tuple[float, float]:
    head = (f"op\n{lib.include_line}\nVDD vdd 0 1.8\nVIN in 0 0.9\nXN o in 0 0 {lib.nfet} W=1 L=0.15\n"
            f"XP o in vdd vdd {lib.pfet} W=2 L=0.15\n")
    t0 = time.perf_counter()
    cpu = 0.0
    if one_session:
        ctl = ["" + ".control"] + [f"alter vin dc={b}\nop\n{ng.write_command(['v(o)'])}" for b in biases] + [".endc"]
        r = ng.run(ng.SimJob(head + "\n".join(ctl) + "\n.end\n", timeout_s=600))
        cpu = r.cpu_time_s
        assert len(r.plots) == len(biases)
    else:
        for b in biases:
            r = ng.run(ng.SimJob(head.replace("VIN in 0 0.9", f"VIN in 0 {b}") + ".op\n.end\n", timeout_s=600))
            cpu += r.cpu_time_s
    return (time.perf_counter() - t0) / len(biases), cpu / len(biases)


def bench_amortization(full: bool) -> dict:
    biases = [round(0.1 + 0.16 * i, 3) for i in range(11)]
    out = {}
    libs = [("slim", models.sky130_library("tt"))]
    if full:
        libs.append(("full", models.sky130_full_library("tt")))
    for name, lib in libs:
        for one in (False, True):
            if name == "full" and not one:
                # one process per point with the full library = 11 x ~25 s; measure 2 points
                wall, cpu = op_points(lib, biases[:2], False)
            else:
                wall, cpu = op_points(lib, biases, one)
            out[f"{name}_{'one_session' if one else 'session_per_point'}"] = {
                "wall_per_point_s": wall, "cpu_per_point_s": cpu}
    return out


# ---------------------------------------------------------------------------------------------- 3
def bench_threads() -> dict:
    slim = models.sky130_library("tt")
    base = inverter_tran(slim, "50n", n=4)
    out = {}
    for label, extra in (("num_threads=1 (adapter default)", ""), ("num_threads=2 (ngspice default)", "2")):
        net = base if not extra else base.replace(".tran 1p 50n\n.end\n",
                                                  ".control\nset num_threads=2\ntran 1p 50n\nwrite pbk.raw v(o0)\n.endc\n.end\n")
        alone = ng.run(ng.SimJob(net, timeout_s=300))
        with cf.ThreadPoolExecutor(2) as ex:
            t0 = time.perf_counter()
            futs = [ex.submit(ng.run, ng.SimJob(net, timeout_s=300)) for _ in range(2)]
            res = []
            for f in futs:
                try:
                    r = f.result()
                    res.append({"wall_s": r.wall_time_s, "cpu_s": r.cpu_time_s})
                except ng.SimulationTimeoutError:
                    res.append({"wall_s": "timeout > 300 s"})
        out[label] = {"alone_wall_s": alone.wall_time_s, "alone_cpu_s": alone.cpu_time_s,
                      "two_concurrent": res, "two_concurrent_total_wall_s": time.perf_counter() - t0}
    return out


# ---------------------------------------------------------------------------------------------- 4
def bench_sweeps(tmp: Path) -> dict:
    out = {}
    for cell in ("strongarm", "latch"):
        spec = quick_spec(cell)
        for workers in (1, 2):
            r = characterize(spec, tmp / f"{cell}-{workers}", workers=workers, use_cache=False, plot=False)
            out[f"{cell}_quick_{workers}w"] = {
                "points": len(r.rows), "sessions": r.n_sessions, "wall_s": r.wall_time_s, "cpu_s": r.cpu_time_s,
                "sims_per_min": 60 * len(r.rows) / r.wall_time_s, "failed": r.n_failed, "params": spec.params}
    return out


def bench_split(tmp: Path) -> dict:
    """Session split trade-off for single-device quick sweeps (9 bias points): 1 session on 1 worker,
    2 sessions on 2 workers (the default with 2 cores), 9 one-point sessions on 2 workers. The fixed cost
    per session (model parse, elaboration, operating point, noise-file read) is
    c0 = (CPU(9 sessions) - CPU(1 session)) / 8; the parent's job building (noise-file generation) is
    timed separately. Rows must be bit-identical across splits."""
    import time as _time

    from pbitkit.circuits.registry import get_cell
    from pbitkit.circuits.sweep import expand, group_points

    out = {"load_average_at_start": os.getloadavg()}
    for cell in ("latch", "strongarm"):
        res = {}
        configs = (("1s_1w", 1, 16), ("2s_2w", 2, 16), ("9s_2w", 2, 1))
        rows_by = {}
        for name, workers, mpj in configs:
            spec = quick_spec(cell, max_points_per_job=mpj)
            r = characterize(spec, tmp / f"split-{cell}-{name}", workers=workers, use_cache=False, plot=False,
                             keep_bits=False)
            rows_by[name] = [(x["bias_V"], x["p1"], x["tau_corr_s"]) for x in r.rows]
            res[name] = {"sessions": r.n_sessions, "workers": workers, "wall_s": r.wall_time_s,
                         "ngspice_cpu_s": r.cpu_time_s, "failed": r.n_failed}
        res["rows_identical_across_splits"] = all(v == rows_by["1s_1w"] for v in rows_by.values())
        res["fixed_cpu_per_session_s"] = (res["9s_2w"]["ngspice_cpu_s"] - res["1s_1w"]["ngspice_cpu_s"]) / 8
        res["cpu_per_point_s"] = (res["1s_1w"]["ngspice_cpu_s"] - res["fixed_cpu_per_session_s"]) / 9
        c = get_cell(cell)
        pts = expand(quick_spec(cell))
        t0 = _time.perf_counter()
        for s in group_points(pts, max_points_per_job=1):
            c.jobs(s)
        res["parent_job_build_s_per_session"] = (_time.perf_counter() - t0) / len(pts)
        out[cell] = res
    out["load_average_at_end"] = os.getloadavg()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-full", action="store_true", help="skip the full sky130 library (~25 s per parse)")
    ap.add_argument("--only", choices=["backends", "amortization", "threads", "sweeps", "split"], action="append")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "circuits.json")
    args = ap.parse_args()
    os.environ.setdefault("PBITKIT_CACHE", tempfile.mkdtemp(prefix="pbitkit-bench-cache-"))
    todo = args.only or ["backends", "amortization", "threads", "sweeps", "split"]
    results: dict = {}
    if args.out.exists():
        results = json.loads(args.out.read_text()).get("results", {})
    with tempfile.TemporaryDirectory() as tmp:
        for name in todo:
            t0 = time.perf_counter()
            if name == "backends":
                results[name] = bench_backends()
            elif name == "amortization":
                results[name] = bench_amortization(full=not args.skip_full)
            elif name == "threads":
                results[name] = bench_threads()
            elif name == "split":
                results[name] = bench_split(Path(tmp))
            else:
                results[name] = bench_sweeps(Path(tmp))
            print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            print(json.dumps(results[name], indent=1, default=str))
    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "unknown")
    record = {"machine": environment_provenance(cpu_model=cpu, ngspice_version=ng.ngspice_version(),
                                                load_average=os.getloadavg()),
              "note": "the machine is shared with other engineers' jobs: load_average shows the background load",
              "results": results}
    atomic_write_json(args.out, record)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
