"""Array sampler throughput: pbitkit (ideal, device; public ``sample()``) vs thrml (its fastest form per
batch) on the G12 70x70 torus and the 2-D Ising 128x128 torus with 1, 64 and 1024 chains, timed in
alternation in one process.

    .venv/bin/python benchmarks/bench_array.py [--min-time 1.0] [--no-thrml] [--quick]

Writes benchmarks/results/array.json (results, ratios, machine info incl. load average) and prints a
Markdown table (the one recorded in benchmarks/README.md and docs/array.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pbitkit.array.bench import run_benchmarks
from pbitkit.io import atomic_write_json

HERE = Path(__file__).resolve().parent


def table(res: dict) -> str:
    """Markdown table: updates/s per sampler (best round) and the ratios against thrml's fastest form."""
    rows = ["| graph | chains | pbitkit ideal `sample()` | pbitkit device `sample()` | thrml fastest (form) "
            "| thrml other form | ideal / thrml | median of rounds | per CPU-s | device / ideal | split |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    by: dict = {}
    for r in res["results"]:
        by.setdefault((r["graph"], r["n_chains"]), {})[r["sampler"]] = r
    ratios = {(r["graph"], r["n_chains"]): r for r in res["ratios"]}
    fmt = lambda r: f"{r['updates_per_s'] / 1e6:,.0f} M/s" if r else "–"  # noqa: E731
    for (gname, C), d in by.items():
        rt = ratios.get((gname, C), {})
        ref = d.get("thrml")
        other = [r for k, r in d.items() if k.startswith("thrml-") and ref and r["api"] != ref["api"]]
        r1 = f"**{rt['ideal_over_thrml']:.1f}×**" if "ideal_over_thrml" in rt else "–"
        r2 = f"{rt['ideal_over_thrml_per_cpu_s']:.1f}×" if "ideal_over_thrml_per_cpu_s" in rt else "–"
        r3 = f"{rt['device_over_ideal']:.2f}" if "device_over_ideal" in rt else "–"
        rm = f"{rt['ideal_over_thrml_median_round']:.1f}×" if "ideal_over_thrml_median_round" in rt else "–"
        thr = f"{fmt(ref)} ({ref['api']})" if ref else "–"
        oth = f"{fmt(other[0])} ({other[0]['api']})" if other else "–"
        split = (d.get("pbitkit-ideal") or {}).get("split", "")
        rows.append(f"| {gname} | {C} | {fmt(d.get('pbitkit-ideal'))} | {fmt(d.get('pbitkit-device'))} | {thr} | "
                    f"{oth} | {r1} | {rm} | {r2} | {r3} | {split} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=4, help="timed rounds per sampler (samplers take turns)")
    ap.add_argument("--no-thrml", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small smoke run (32x32 Ising, 4 chains)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "array.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.quick:
        res = run_benchmarks(["ising_32x32_torus"], [4], thrml=not args.no_thrml, min_time_s=0.1, rounds=1)
    else:
        res = run_benchmarks(thrml=not args.no_thrml, min_time_s=args.min_time, rounds=args.rounds)
    atomic_write_json(args.out, res)
    print(table(res))  # noqa: T201
    print(f"\nmachine: {res['machine']}\nwrote {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
