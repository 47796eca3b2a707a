"""Throughput benchmark of the array sampler (and of thrml on the same graph and batch when installed).

Used by ``benchmarks/bench_array.py`` and ``pbitkit array bench``. Updates per second count single-site
updates: ``n_nodes x n_chains x n_sweeps / wall time`` in steady state (after compilation/warm-up).
"""

from __future__ import annotations

import logging
import os
import platform
import time
import tracemalloc
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pbitkit.array.device import DacSpec, DeviceStats, HardwareConfig, make_hardware
from pbitkit.array.graphs import Graph, grid_graph, square_lattice
from pbitkit.array.sampler import GibbsSampler, random_state
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback

__all__ = ["BenchResult", "bench_graph", "bench_pbitkit", "bench_thrml", "run_benchmarks", "machine_info",
           "BENCH_GRAPHS"]

log = logging.getLogger(__name__)


def _g12() -> Graph:
    return grid_graph(70, "G12")


def _ising128() -> Graph:
    return square_lattice(128)


#: The benchmark graphs of the issue (REFERENCE.md §5).
BENCH_GRAPHS = {"G12_70x70_torus": _g12, "ising_128x128_torus": _ising128, "ising_32x32_torus": lambda: square_lattice(32)}


@dataclass(frozen=True)
class BenchResult:
    """One measurement: ``updates_per_s`` single-site updates per second (steady state)."""

    graph: str
    n_nodes: int
    n_chains: int
    sampler: str  # "pbitkit-ideal", "pbitkit-device", "thrml"
    updates_per_s: float
    n_sweeps: int
    wall_s: float
    peak_bytes: int | None = None
    updates_per_cpu_s: float | None = None  # per CPU-second of the whole process (robust to a shared machine)
    note: str = ""
    split: str = ""  # pbitkit: how threads shared the work ("serial", "chains", "nodes"; GibbsSampler.last_split)


def machine_info() -> dict[str, Any]:
    """CPU model, core count, Python/NumPy/numba versions, load average at the time of the run."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba

    info = {"cpu": cpu, "n_cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__}
    try:
        info["loadavg_1_5_15"] = list(os.getloadavg())
    except OSError:
        pass
    try:
        import jax
        import thrml

        info["thrml"] = getattr(thrml, "__version__", "?")
        info["jax"] = jax.__version__
    except ImportError:
        info["thrml"] = None
    return info


def _hardware(graph: Graph) -> Any:
    stats = DeviceStats(vs_V=0.02, v0_sigma_V=0.01, vs_sigma_rel=0.05, tau_corr_s=100e-9, tau_sigma_rel=0.1)
    cfg = HardwareConfig(weight_dac=DacSpec(bits=6, full_scale=1.0), bias_dac=DacSpec(bits=6, full_scale=1.0),
                         update_interval_s=50e-9)  # update interval < tau: telegraph memory active
    return make_hardware(graph.n_nodes, stats, cfg, seed=0)


def bench_pbitkit(graph: Graph, n_chains: int, mode: str = "ideal", *, min_time_s: float = 1.0,
                  seed: int = 0) -> BenchResult:
    """Steady-state updates/s of :class:`GibbsSampler` (``mode`` ``ideal`` or ``device``), moments off.

    The sweep count doubles until one timed call lasts ``min_time_s / 2``; the fastest of three such calls
    is reported (the machine may be shared). ``peak_bytes`` is the NumPy peak allocation of one call.
    """
    rng = np.random.default_rng(seed)
    J = rng.normal(0.0, 0.3, graph.n_edges)
    h = rng.normal(0.0, 0.1, graph.n_nodes)
    smp = GibbsSampler(graph, mode=mode, hardware=_hardware(graph) if mode == "device" else None)
    s = random_state(n_chains, graph.n_nodes, rng)
    s, _ = smp.run(s, J, h, n_sweeps=2, rng=rng, moments=False)  # compile / load cache, warm up
    n = 2
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        s, _ = smp.run(s, J, h, n_sweeps=n, rng=rng, moments=False)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if dt >= min_time_s / 2 or n > 1 << 24:
            break
        n *= 2
    best, best_c = dt, dc
    for _ in range(2):  # best of three timed calls: the machine may be shared
        t0, c0 = time.perf_counter(), time.process_time()
        s, _ = smp.run(s, J, h, n_sweeps=n, rng=rng, moments=False)
        best, best_c = min(best, time.perf_counter() - t0), min(best_c, time.process_time() - c0)
    tracemalloc.start()
    smp.run(s, J, h, n_sweeps=1, rng=rng, moments=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ups = graph.n_nodes * n_chains * n / best
    return BenchResult(graph.name, graph.n_nodes, n_chains, f"pbitkit-{mode}", ups, n, best, int(peak),
                       updates_per_cpu_s=graph.n_nodes * n_chains * n / max(best_c, 1e-9), split=smp.last_split)


def bench_thrml(graph: Graph, n_chains: int, *, min_time_s: float = 1.0, seed: int = 0) -> BenchResult | None:
    """Steady-state updates/s of thrml's Ising block-Gibbs sampler on the same graph and batch (None if
    thrml/jax are not installed). Two blocks = the graph's colour classes; one chain per vmapped key."""
    try:
        import jax
        import jax.numpy as jnp
        from thrml import Block, SamplingSchedule, SpinNode, sample_states
        from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init
    except ImportError:
        return None
    nodes = [SpinNode() for _ in range(graph.n_nodes)]
    edges = [(nodes[int(i)], nodes[int(j)]) for i, j in graph.edges]
    rng = np.random.default_rng(seed)
    model = IsingEBM(nodes, edges, jnp.asarray(rng.normal(0, 0.1, graph.n_nodes), dtype=jnp.float32),
                     jnp.asarray(rng.normal(0, 0.3, graph.n_edges), dtype=jnp.float32), jnp.array(1.0))
    blocks = [Block([nodes[int(i)] for i in np.flatnonzero(graph.colors == c)]) for c in range(graph.n_colors)]
    program = IsingSamplingProgram(model, blocks, clamped_blocks=[])
    key = jax.random.key(seed)

    def run(n_sweeps: int) -> float:
        sched = SamplingSchedule(n_warmup=n_sweeps, n_samples=1, steps_per_sample=1)
        k_init, k_run = jax.random.split(key)
        init = hinton_init(k_init, model, blocks, (n_chains,))
        keys = jax.random.split(k_run, n_chains)
        f = jax.jit(jax.vmap(lambda k, st: sample_states(k, program, sched, st, [], [Block(nodes[:1])])))
        out = f(keys, init)
        jax.block_until_ready(out)  # compile + warm
        t0, c0 = time.perf_counter(), time.process_time()
        out = f(keys, init)
        jax.block_until_ready(out)
        return time.perf_counter() - t0, time.process_time() - c0

    n = 4
    while True:
        dt, dc = run(n)
        if dt >= min_time_s / 2 or n > 1 << 20:
            break
        n *= 4
    # the timed call also runs 2 extra steps (1 sample); count them
    ups = graph.n_nodes * n_chains * (n + 1) / dt
    return BenchResult(graph.name, graph.n_nodes, n_chains, "thrml", ups, n + 1, dt, None,
                       updates_per_cpu_s=graph.n_nodes * n_chains * (n + 1) / max(dc, 1e-9),
                       note="jit(vmap(sample_states)) over chains, warm")


def bench_graph(name: str) -> Graph:
    if name not in BENCH_GRAPHS:
        raise ConfigError(f"unknown benchmark graph {name!r}; choose one of {sorted(BENCH_GRAPHS)}")
    return BENCH_GRAPHS[name]()


def run_benchmarks(
    graphs: list[str] | None = None,
    chains: list[int] | None = None,
    modes: list[str] | None = None,
    *,
    thrml: bool = True,
    min_time_s: float = 1.0,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run the benchmark grid; returns a JSON-ready dict ``{"machine", "results", "ratios"}``.

    ``ratios`` holds, per (graph, chains), pbitkit-ideal / thrml and pbitkit-device / pbitkit-ideal.
    """
    graphs = graphs or ["G12_70x70_torus", "ising_128x128_torus"]
    chains = chains or [1, 64, 1024]
    modes = modes or ["ideal", "device"]
    results: list[BenchResult] = []
    total = len(graphs) * len(chains) * (len(modes) + int(thrml))
    done = 0
    for gname in graphs:
        g = bench_graph(gname)
        for C in chains:
            for mode in modes:
                r = bench_pbitkit(g, C, mode, min_time_s=min_time_s)
                log.info("%s C=%d %s: %.3g updates/s", gname, C, r.sampler, r.updates_per_s)
                results.append(r)
                done += 1
                if progress:
                    progress(done, total, f"{gname} C={C} {mode}")
            if thrml:
                r = bench_thrml(g, C, min_time_s=min_time_s)
                if r is not None:
                    log.info("%s C=%d thrml: %.3g updates/s", gname, C, r.updates_per_s)
                    results.append(r)
                done += 1
                if progress:
                    progress(done, total, f"{gname} C={C} thrml")
    ratios = []
    for gname in graphs:
        gn = bench_graph(gname).name
        for C in chains:
            by = {r.sampler: r.updates_per_s for r in results if r.graph == gn and r.n_chains == C}
            byc = {r.sampler: r.updates_per_cpu_s for r in results if r.graph == gn and r.n_chains == C}
            row: dict[str, Any] = {"graph": gn, "n_chains": C}
            if "pbitkit-ideal" in by and "thrml" in by:
                row["ideal_over_thrml"] = by["pbitkit-ideal"] / by["thrml"]
                row["ideal_over_thrml_per_cpu_s"] = byc["pbitkit-ideal"] / byc["thrml"]
            if "pbitkit-device" in by and "pbitkit-ideal" in by:
                row["device_over_ideal"] = by["pbitkit-device"] / by["pbitkit-ideal"]
                row["device_over_ideal_per_cpu_s"] = byc["pbitkit-device"] / byc["pbitkit-ideal"]
            ratios.append(row)
    return {"machine": machine_info(), "results": [asdict(r) for r in results], "ratios": ratios}
