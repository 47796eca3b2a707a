"""Throughput benchmark of the array sampler (and of thrml on the same graph and batch when installed).

Used by ``benchmarks/bench_array.py`` and ``pbitkit array bench``. Updates per second count single-site
updates: ``n_nodes x n_chains x n_sweeps / wall time`` in steady state (after compilation/warm-up).
pbitkit is timed through its public :func:`~pbitkit.array.sample`; thrml in its fastest form per batch
(``jit`` without vmap for one chain, ``jit(vmap)`` for several); the samplers take turns in every round
of timing, so a change of the machine's load hits both.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from pbitkit.array.device import DacSpec, DeviceStats, HardwareConfig, make_hardware
from pbitkit.array.graphs import Graph, grid_graph, square_lattice
from pbitkit.array.sampler import GibbsSampler, random_state, sample
from pbitkit.errors import ConfigError
from pbitkit.progress import ProgressCallback

__all__ = ["BenchResult", "bench_graph", "bench_pbitkit", "bench_thrml", "run_benchmarks", "machine_info",
           "BENCH_GRAPHS", "pbitkit_case", "thrml_case", "measure_interleaved"]

log = logging.getLogger(__name__)


def _g12() -> Graph:
    return grid_graph(70, "G12")


def _ising128() -> Graph:
    return square_lattice(128)


#: The benchmark graphs of the issue (docs/theory.md §5).
BENCH_GRAPHS = {"G12_70x70_torus": _g12, "ising_128x128_torus": _ising128, "ising_32x32_torus": lambda: square_lattice(32)}


@dataclass(frozen=True)
class BenchResult:
    """One measurement: ``updates_per_s`` single-site updates per second (steady state, best of ``rounds``)."""

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
    api: str = ""  # what was timed: "sample()" (pbitkit public API), "jit" / "jit(vmap)" (thrml)
    all_updates_per_s: tuple[float, ...] = ()  # every timed round, in order


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


#: A timed call: ``f(n_sweeps) -> (wall seconds, process CPU seconds)``.
Timed = Callable[[int], tuple[float, float]]


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def pbitkit_case(graph: Graph, n_chains: int, mode: str = "ideal", *, seed: int = 0) -> tuple[Timed, Callable[[], str]]:
    """A timed call of the public :func:`~pbitkit.array.sample` (``mode`` ``ideal`` or ``device``) doing
    ``n_sweeps`` sweeps from a random state and returning the last one, i.e. ``burn_in = n_sweeps - 1``
    and one recorded sample — the same schedule as :func:`thrml_case`. Everything a user pays is inside
    the timed call: programming (validation, quantization, tables), the random initial state, threads,
    the output array. Also returns a function naming the thread split of the last call."""
    rng = np.random.default_rng(seed)
    J = rng.normal(0.0, 0.3, graph.n_edges)
    h = rng.normal(0.0, 0.1, graph.n_nodes)
    hw = _hardware(graph) if mode == "device" else None
    calls = [0]
    split = [""]

    def f(n_sweeps: int) -> tuple[float, float]:
        calls[0] += 1
        return _timed(lambda: sample(J, h, graph=graph, beta=1.0, n_chains=n_chains, n_sweeps=1,
                                     burn_in=n_sweeps - 1, mode=mode, hardware=hw, seed=seed + calls[0]))

    def last_split() -> str:
        smp = GibbsSampler(graph, mode=mode, hardware=hw)
        prog = smp.program(J, h)
        prog.run(random_state(n_chains, graph.n_nodes, rng), n_sweeps=0, rng=rng, moments=False)
        split[0] = smp.last_split
        return split[0]

    return f, last_split


def thrml_case(graph: Graph, n_chains: int, *, vmap: bool, seed: int = 0) -> Timed | None:
    """A timed call of thrml's Ising block-Gibbs program on the same graph (two blocks = the colour
    classes), ``n_sweeps`` sweeps from a fixed initial state, warm (compiled before timing). ``vmap``:
    ``jit(vmap(sample_states))`` over ``n_chains`` keys; else ``jit(sample_states)`` of ONE chain (its
    fastest single-chain form). ``None`` when thrml/jax are not installed."""
    try:
        import jax
        import jax.numpy as jnp
        from thrml import Block, SamplingSchedule, SpinNode, sample_states
        from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init
    except ImportError:
        return None
    if not vmap and n_chains != 1:
        raise ConfigError("thrml without vmap runs one chain")
    nodes = [SpinNode() for _ in range(graph.n_nodes)]
    edges = [(nodes[int(i)], nodes[int(j)]) for i, j in graph.edges]
    rng = np.random.default_rng(seed)
    model = IsingEBM(nodes, edges, jnp.asarray(rng.normal(0, 0.1, graph.n_nodes), dtype=jnp.float32),
                     jnp.asarray(rng.normal(0, 0.3, graph.n_edges), dtype=jnp.float32), jnp.array(1.0))
    blocks = [Block([nodes[int(i)] for i in np.flatnonzero(graph.colors == c)]) for c in range(graph.n_colors)]
    program = IsingSamplingProgram(model, blocks, clamped_blocks=[])
    k_init, k_run = jax.random.split(jax.random.key(seed))
    observe = [Block(nodes[:1])]
    if vmap:
        init = hinton_init(k_init, model, blocks, (n_chains,))
        keys = jax.random.split(k_run, n_chains)
    else:
        init = hinton_init(k_init, model, blocks, ())
        keys = k_run
    compiled: dict[int, Any] = {}

    def f(n_sweeps: int) -> tuple[float, float]:
        # n_warmup sweeps + one sample (one more sweep): n_sweeps in all
        if n_sweeps not in compiled:
            sched = SamplingSchedule(n_warmup=n_sweeps - 1, n_samples=1, steps_per_sample=1)
            run = lambda k, st: sample_states(k, program, sched, st, [], observe)  # noqa: E731
            g = jax.jit(jax.vmap(run)) if vmap else jax.jit(run)
            jax.block_until_ready(g(keys, init))  # compile + warm
            compiled[n_sweeps] = g
        g = compiled[n_sweeps]
        return _timed(lambda: jax.block_until_ready(g(keys, init)))

    return f


def _calibrate(f: Timed, min_time_s: float, n0: int = 2, n_max: int = 1 << 22) -> int:
    """Sweep count for which one call of ``f`` lasts at least ``min_time_s / 2`` (doubling from ``n0``)."""
    n = n0
    while True:
        dt, _ = f(n)
        if dt >= min_time_s / 2 or n >= n_max:
            return n
        n *= 2 if dt >= min_time_s / 16 else 4


def measure_interleaved(graph: Graph, n_chains: int, cases: dict[str, Timed], *, min_time_s: float = 1.0,
                        rounds: int = 3) -> dict[str, tuple[int, list[tuple[float, float]]]]:
    """Time every case ``rounds`` times, the cases taking turns within each round (so that a change in
    the machine's load hits all of them alike); returns per case the sweep count and ``(wall, cpu)`` of
    each round."""
    n = {name: _calibrate(f, min_time_s) for name, f in cases.items()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, f in cases.items():
            times[name].append(f(n[name]))
    return {name: (n[name], times[name]) for name in cases}


def bench_pbitkit(graph: Graph, n_chains: int, mode: str = "ideal", *, min_time_s: float = 1.0,
                  seed: int = 0, rounds: int = 3) -> BenchResult:
    """Steady-state updates/s of the public :func:`~pbitkit.array.sample` alone (see :func:`pbitkit_case`)."""
    f, split = pbitkit_case(graph, n_chains, mode, seed=seed)
    f(2)  # compile / load the numba cache
    res = measure_interleaved(graph, n_chains, {mode: f}, min_time_s=min_time_s, rounds=rounds)
    return _result(graph, n_chains, f"pbitkit-{mode}", *res[mode], api="sample()", split=split())


def _result(graph: Graph, n_chains: int, sampler: str, n: int, times: list[tuple[float, float]], *,
            api: str, split: str = "", note: str = "") -> BenchResult:
    work = graph.n_nodes * n_chains * n
    best = min(t for t, _ in times)
    best_c = min(c for _, c in times)
    return BenchResult(graph.name, graph.n_nodes, n_chains, sampler, work / best, n, best, None,
                       updates_per_cpu_s=work / max(best_c, 1e-9), note=note, split=split, api=api,
                       all_updates_per_s=tuple(work / t for t, _ in times))


def bench_thrml(graph: Graph, n_chains: int, *, min_time_s: float = 1.0, seed: int = 0,
                rounds: int = 3) -> BenchResult | None:
    """Steady-state updates/s of thrml alone, its fastest form: ``jit`` without vmap for one chain, else
    ``jit(vmap)`` (None if thrml/jax are not installed)."""
    vmap = n_chains != 1
    f = thrml_case(graph, n_chains, vmap=vmap, seed=seed)
    if f is None:
        return None
    res = measure_interleaved(graph, n_chains, {"thrml": f}, min_time_s=min_time_s, rounds=rounds)
    return _result(graph, n_chains, "thrml", *res["thrml"], api="jit(vmap)" if vmap else "jit")


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
    rounds: int = 3,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run the benchmark grid; returns a JSON-ready dict ``{"machine", "results", "ratios"}``.

    Per (graph, chains) every sampler is timed ``rounds`` times, taking turns (:func:`measure_interleaved`),
    and the best round counts. pbitkit is timed through the public :func:`~pbitkit.array.sample`; thrml in
    its fastest form for the batch: ``jit(vmap)`` over chains, and for one chain also ``jit`` without vmap
    (the faster of the two is the reference). ``ratios`` holds, per (graph, chains), pbitkit-ideal / thrml
    (fastest) and pbitkit-device / pbitkit-ideal, by wall time and per process CPU-second.
    """
    graphs = graphs or ["G12_70x70_torus", "ising_128x128_torus"]
    chains = chains or [1, 64, 1024]
    modes = modes or ["ideal", "device"]
    results: list[BenchResult] = []
    ratios: list[dict[str, Any]] = []
    total = len(graphs) * len(chains)
    done = 0
    load_before = _loadavg()
    for gname in graphs:
        g = bench_graph(gname)
        for C in chains:
            cases: dict[str, Timed] = {}
            splits: dict[str, Callable[[], str]] = {}
            for mode in modes:
                f, sp = pbitkit_case(g, C, mode)
                f(2)  # compile / load the numba cache
                cases[f"pbitkit-{mode}"], splits[f"pbitkit-{mode}"] = f, sp
            apis = {f"pbitkit-{m}": "sample()" for m in modes}
            if thrml:
                for vmap in ([False, True] if C == 1 else [True]):
                    tf = thrml_case(g, C, vmap=vmap)
                    if tf is not None:
                        name = "thrml-jit(vmap)" if vmap else "thrml-jit"
                        cases[name], apis[name] = tf, "jit(vmap)" if vmap else "jit"
            res = measure_interleaved(g, C, cases, min_time_s=min_time_s, rounds=rounds)
            rows = {name: _result(g, C, name, n, t, api=apis[name], split=splits[name]() if name in splits else "")
                    for name, (n, t) in res.items()}
            thr = [r for k, r in rows.items() if k.startswith("thrml")]
            if thr:  # the reference: thrml's fastest form for this batch
                best = max(thr, key=lambda r: r.updates_per_s)
                rows["thrml"] = replace(best, sampler="thrml", note=f"fastest thrml form: {best.api}")
            for r in rows.values():
                log.info("%s C=%d %s [%s]: %.3g updates/s", gname, C, r.sampler, r.api, r.updates_per_s)
            results.extend(rows.values())
            ratio: dict[str, Any] = {"graph": g.name, "n_chains": C}
            ideal, dev, ref = rows.get("pbitkit-ideal"), rows.get("pbitkit-device"), rows.get("thrml")
            if ideal and ref:
                ratio["thrml_api"] = ref.api
                ratio["ideal_over_thrml"] = ideal.updates_per_s / ref.updates_per_s
                ratio["ideal_over_thrml_per_cpu_s"] = ideal.updates_per_cpu_s / ref.updates_per_cpu_s
                # the same round's calls ran seconds apart: their ratio sees nearly the same machine load
                per_round = [a / b for a, b in zip(ideal.all_updates_per_s, rows[f"thrml-{ref.api}"].all_updates_per_s)]
                ratio["ideal_over_thrml_rounds"] = per_round
                ratio["ideal_over_thrml_median_round"] = float(np.median(per_round))
            if ideal and dev:
                ratio["device_over_ideal"] = dev.updates_per_s / ideal.updates_per_s
                ratio["device_over_ideal_per_cpu_s"] = dev.updates_per_cpu_s / ideal.updates_per_cpu_s
            ratios.append(ratio)
            done += 1
            if progress:
                progress(done, total, f"{gname} C={C}")
    machine = machine_info()
    machine["loadavg_before"] = load_before
    return {"machine": machine, "results": [asdict(r) for r in results], "ratios": ratios}


def _loadavg() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None
