"""Mismatch study of the ``native_latch`` cell: per-instance trim calibration and the statistics after it.

For ``--seeds`` mismatch instances (``mc_seed`` 0, 1, …; tt, 27 °C) this script

1. measures the readout comparator's input-referred offset before trimming (``x`` forced over ±100 mV),
2. calibrates each instance (:func:`pbitkit.circuits.native_latch_trim.calibrate_cell`: readout auto-zero,
   core balance in the predicted tier, then ``--transient-steps`` refining steps on the read bits),
3. measures the readout's offset after trimming, the predicted-tier sigmoid (V0, Vs) before and after,
   and one transient record at ``bias = ref`` per instance (P(1), tau, energy per read, agreement),

and writes one JSON record per instance to ``--out`` as soon as it is done (a rerun skips done seeds).

    nice -n 10 python examples/native_latch_mismatch.py --seeds 16 --out runs/nl_mismatch.jsonl
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
from pathlib import Path

import numpy as np

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.centering import predicted_sigmoid
from pbitkit.circuits.native_latch_trim import calibrate_cell, readout_offset
from pbitkit.circuits.ngspice import run

CELL = NativeLatchCell()


def sigmoid(seed: int, params: dict[str, float], half_span_V: float, n: int) -> dict[str, float]:
    """Predicted-tier sigmoid over ``ref_V +- half_span_V`` (NaN centre if P(1) never crosses 0.5)."""
    ref = CELL.params()["ref_V"]
    s = predicted_sigmoid("native_latch", mc_seed=seed, params=params,
                          bias_grid_V=np.linspace(ref - half_span_V, ref + half_span_V, n))
    return {k: float(s[k]) for k in ("v0_V", "vs_V", "p_min", "p_max")}


def transient(seed: int, params: dict[str, float], t_stop_s: float) -> dict[str, float]:
    pt = SweepPoint("native_latch", CELL.params()["ref_V"], mc_seed=seed, params={**params, "t_stop_s": t_stop_s},
                    noise_seed=21)
    (job,) = CELL.jobs([pt])
    (row,) = CELL.rows(job, run(job))
    keys = ("p1", "p1_core", "tau_corr_s", "tau_core_s", "energy_per_bit_J", "energy_per_independent_bit_J",
            "readout_agreement", "readout_swing_V", "x_rms_V", "trim_energy_per_bit_J")
    return {k: float(row.get(k, math.nan)) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--transient-steps", type=int, default=3)
    ap.add_argument("--t-stop", type=float, default=61e-6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    done = set()
    if a.out.is_file():
        done = {json.loads(ln)["mc_seed"] for ln in a.out.read_text().splitlines() if ln.strip()}
    seeds = [s for s in range(a.first_seed, a.first_seed + a.seeds) if s not in done]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with cf.ThreadPoolExecutor(a.workers) as ex:
        before = list(ex.map(lambda s: readout_offset(mc_seed=s, steps=41), seeds))
    trims = calibrate_cell([{"mc_seed": s} for s in seeds], transient_steps=a.transient_steps, workers=a.workers)

    def after(k: int) -> dict[str, object]:
        s, tr = seeds[k], trims[k]
        rec: dict[str, object] = {"mc_seed": s, "core_code": tr.core_code, "readout_code": tr.readout_code,
                                  "trim_V": tr.params["trim_V"], "ro_trim_V": tr.params["ro_trim_V"],
                                  "readout_flips_trim_V": tr.readout_flips_V, "balance_p1": tr.balance_p1,
                                  "reachable": tr.reachable, "readout_offset_before_V": before[k]}
        rec["readout_offset_after_V"] = readout_offset(mc_seed=s, params=tr.params, x_max_V=0.03, steps=61)
        rec["sigmoid_before"] = sigmoid(s, {}, 0.3, 61)
        rec["sigmoid_after"] = sigmoid(s, dict(tr.params), 0.06, 121)
        rec["transient_after"] = transient(s, dict(tr.params), a.t_stop)
        return rec

    with cf.ThreadPoolExecutor(a.workers) as ex, a.out.open("a") as fh:
        for rec in ex.map(after, range(len(seeds))):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
