"""Throughput of the deep-baseline samplers on this CPU (not a timed test). Writes ``results/deep.json``.

The CPU column of ``pbitkit dtm deep-baselines`` prices a generated sample by the measured CPU time of the
compiled JAX sampler. This benchmark measures that throughput on its own, for the VAE decoder and the
binary-diffusion denoiser at several widths (untrained weights: the cost does not depend on them), batch
1,000 as in the comparison: samples per second, CPU seconds per sample and the achieved operation rate
(analytic operations of :mod:`pbitkit.dtm.deep_cost` / CPU time), next to the A100's 19.5 TFLOP/s peak.

Usage::

    .venv/bin/python benchmarks/bench_deep.py            # ~1-3 min on 2 loaded cores (needs the 'deep' extra)
    .venv/bin/python benchmarks/bench_deep.py --quick    # one width per model
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import jax  # noqa: E402

from pbitkit.dtm.deep_cost import A100_SXM4, diffusion_sample_cost, vae_sample_cost  # noqa: E402
from pbitkit.dtm.deep_models import BinaryDiffusion, VAE, bind, sample_diffusion, sample_vae  # noqa: E402
from pbitkit.io import atomic_write_json  # noqa: E402


def _measure(fn, key, min_time: float) -> tuple[float, float, int]:
    jax.block_until_ready(fn(key))  # compile + warm up
    calls, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < min_time or calls < 3:
        jax.block_until_ready(fn(key))
        calls += 1
    return (time.process_time() - cpu0) / calls, (time.perf_counter() - t0) / calls, calls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per case")
    args = ap.parse_args()
    n, D = 1000, 64
    key = jax.random.PRNGKey(0)
    widths = (64,) if args.quick else (32, 128, 512)
    rows = []
    for h in widths:
        cases = [("vae", {"hidden": h}, bind(sample_vae, VAE(D, 8, h, 2, key=key), n), vae_sample_cost(D, 8, h, 2, batch=n))]
        for S in (1,) if args.quick else (1, 8):
            cases.append(("diffusion", {"hidden": h, "steps": S},
                          bind(sample_diffusion, BinaryDiffusion(D, h, 2, key=key), n, S, D),
                          diffusion_sample_cost(D, h, 2, S, 16, batch=n)))
        for fam, setting, fn, cost in cases:
            cpu, wall, calls = _measure(fn, key, args.min_time)
            rows.append({"model": fam, **setting, "samples_per_s_wall": n / wall, "cpu_s_per_sample": cpu / n,
                         "ops_per_sample": cost.ops, "achieved_ops_per_cpu_s": cost.ops * n / cpu,
                         "fraction_of_a100_peak": cost.ops * n / cpu / A100_SXM4.peak_flops_per_s, "calls": calls})
            print(f"{fam:9s} {setting}: {n / wall:10.4g} samples/s (wall), {cpu / n:.3g} CPU-s/sample, "  # noqa: T201
                  f"{cost.ops * n / cpu / 1e9:.3g} Gop/CPU-s", flush=True)
    atomic_write_json(REPO / "benchmarks" / "results" / "deep.json", {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "jax": jax.__version__, "load_average": os.getloadavg(), "batch": n, "pixels": D, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
