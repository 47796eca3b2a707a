"""Corner x temperature study of the ``native_latch`` cell with its per-die trim.

For each (corner, temperature) this script calibrates the die
(:func:`pbitkit.circuits.native_latch_trim.calibrate_die`: core supply code from the predicted tier, readout
supply / n-well from the auto-zero scan), then records ``--t-stop`` transients at ``ref_V - 45 mV``, ``ref_V``
and ``ref_V + 45 mV`` (nominal devices) and writes one JSON record per (corner, temperature) to ``--out`` as
soon as it is done (a rerun skips the done ones, so the table can be run in pieces):

    nice -n 10 python examples/native_latch_corners.py --corners tt,ff --temps 0,27,85 --out runs/nl_corners.jsonl
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
from pathlib import Path

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.native_latch_trim import calibrate_die
from pbitkit.circuits.ngspice import run

CELL = NativeLatchCell()
KEYS = ("p1", "p1_core", "tau_corr_s", "tau_core_s", "energy_per_bit_J", "readout_agreement", "readout_swing_V",
        "core_energy_per_bit_J", "readout_energy_per_bit_J", "clock_buffer_energy_per_bit_J")


def record(corner: str, temp: float, t_stop: float, workers: int) -> dict[str, object]:
    die = calibrate_die(corner, temp)
    ref = CELL.params()["ref_V"]
    pts = [SweepPoint("native_latch", ref + d, corner=corner, temp_C=temp, vdd_V=die.vdd_V,
                      params={**die.params, "t_stop_s": t_stop}, noise_seed=31) for d in (-0.045, 0.0, 0.045)]
    jobs = [CELL.jobs([pt])[0] for pt in pts]
    with cf.ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(run, jobs))
    rows = [CELL.rows(j, r)[0] for j, r in zip(jobs, results, strict=True)]
    return {"corner": corner, "temp_C": temp, "vdd_V": die.vdd_V, "vddr_V": die.vddr_V, "ro_nwell_V": die.ro_nwell_V,
            "readout_code": die.readout_code, "readout_ok": die.readout_ok, "pred_tau_core_s": die.pred_tau_core_s,
            "tried": die.tried, "rows": [{k: float(r.get(k, math.nan)) for k in KEYS} for r in rows]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corners", default="tt,ff,ss,fs,sf")
    ap.add_argument("--temps", default="0,27,85")
    ap.add_argument("--t-stop", type=float, default=31e-6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    done = set()
    if a.out.is_file():
        done = {(r["corner"], r["temp_C"]) for r in map(json.loads, a.out.read_text().splitlines()) if r}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    for corner in a.corners.split(","):
        for temp in (float(t) for t in a.temps.split(",")):
            if (corner, temp) in done:
                continue
            rec = record(corner, temp, a.t_stop, a.workers)
            with a.out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
