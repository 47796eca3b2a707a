"""Explore the all-transistor cell's design space and print its Pareto front against the default design.

    python examples/explore_native_latch.py [--budget 64] [--workers 2] [--out runs/explore-native_latch]

1. ``load_space`` reads the shipped space ``pbitkit/data/spaces/native_latch.toml`` (core supply, native
   nFET bin, pFET size, tail bias, pair width, readout supply and input width, read period);
2. ``run`` searches it on the predicted tier (a Latin hypercube, then refinement around the front), each
   design stored as it finishes (re-run to resume);
3. ``finish_run`` writes the front figure, the energy breakdown and floor (``floor.json``) and the Markdown
   report; the best design at the default's tau and variation is printed with its energy ratio, and the floor
   says whether any design of the space could reach a factor 2 at all.
"""

from __future__ import annotations

import argparse
import logging

from pbitkit.explore import builtin_space_path, load_space, run
from pbitkit.explore.report import FLOOR_JSON, best_versus_reference, finish_run, front_markdown
from pbitkit.io import read_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=64)
    ap.add_argument("--initial", type=int, default=24)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="runs/explore-native_latch")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    space = load_space(builtin_space_path("native_latch"))
    res = run(space, args.out, budget=args.budget, n_initial=args.initial, batch=args.batch, workers=args.workers)
    paths = finish_run(res)
    print(front_markdown(res))
    bvr = best_versus_reference(res)
    if bvr["best"] is None:
        print("no feasible design beats the default at its tau and variation")
    else:
        print(f"best at the default's tau and variation: {bvr['best'].key[:8]}, energy ratio default/best "
              f"{bvr['ratio']:.2f}")
    floor = read_json(res.out_dir / FLOOR_JSON)
    print(f"floor: readout + clock energy per read >= {floor['floor_J'] * 1e15:.2f} fJ in the space, factor-2 target "
          f"{floor['target_J'] * 1e15:.2f} fJ: " + ("no design can reach it" if floor["factor2_excluded"] else
                                                    "not excluded by the floor"))
    print("wrote", ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
