"""Mismatch study of the ``native_latch`` cell's per-cell trims (tt, 27 °C, ``mc_seed`` 0, 1, …).

``--part core`` (the core alone, ``readout = 0``): balance each instance's core trim code for P(1) = 0.5 at
``bias = ref`` (:func:`pbitkit.circuits.native_latch_trim.balance_core`, predicted tier), then the
predicted sigmoid over ``ref_V ± 60 mV`` before and after the trim, and one 61 µs transient record (200
reads of the core's sign) at ``bias = ref`` with the trim: P(1), the core's correlation time, energy.

``--part readout``: the readout comparator's input-referred offset (``x`` forced over ±150 mV in 10 mV
steps, up and down), its auto-zero (:func:`~pbitkit.circuits.native_latch_trim.readout_null`: ``q`` and
``qb`` shorted by the cell's switch with the core running) and the offset left after it (±20 mV in 1 mV
steps at the core's common mode).

``--part aperture --trims FILE`` (the trims ``examples/native_latch_card.py`` wrote): when in its decision
window each trimmed instance's comparator samples (:func:`~pbitkit.circuits.builtin.native_latch.readout_aperture`:
a ±3 mV state that switches sign 0…160 ns after the clock edge, in 5 ns steps; the kernel's median), and one
30 µs noisy record at ``bias = ref``, its reads scored against the core's sign over the cell's default aperture
(25–45 ns) and over the instance's own (20 ns centred on its median).

One JSON record per instance is appended to ``--out`` as soon as it is done:

    nice -n 10 python examples/native_latch_mismatch.py --part core --out runs/nl_mm_core.jsonl
    nice -n 10 python examples/native_latch_mismatch.py --part readout --workers 2 --out runs/nl_mm_readout.jsonl
    nice -n 10 python examples/native_latch_mismatch.py --part aperture --trims TRIMS --workers 2 --out runs/nl_mm_ap.jsonl
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
from pbitkit.circuits.native_latch_trim import CORE_TRIM_DAC, READOUT_TRIM_DAC, balance_core, readout_null, readout_offset
from pbitkit.circuits.ngspice import run
from pbitkit.errors import SimulationError

CELL = NativeLatchCell()
SIGMOID_KEYS = ("v0_V", "vs_V", "p_min", "p_max")


def core_part(seeds: list[int], out: Path, workers: int) -> None:
    ref, base = CELL.params()["ref_V"], {"readout": 0.0}
    bal = balance_core([{"mc_seed": s, "params": base} for s in seeds], transient_steps=0, workers=workers)
    for s, (code, hist, ok) in zip(seeds, bal, strict=True):
        prm = {**base, "trim_V": CORE_TRIM_DAC.volts(code)}
        before = predicted_sigmoid("native_latch", mc_seed=s, params=base,
                                   bias_grid_V=np.linspace(ref - 0.06, ref + 0.06, 25))
        after = predicted_sigmoid("native_latch", mc_seed=s, params=prm,
                                  bias_grid_V=np.linspace(ref - 0.06, ref + 0.06, 121))
        (job,) = CELL.jobs([SweepPoint("native_latch", ref, mc_seed=s, params={**prm, "t_stop_s": 61e-6},
                                       noise_seed=21)])
        (row,) = CELL.rows(job, run(job))
        (pjob,) = CELL.jobs([SweepPoint("native_latch", ref, mc_seed=s, params=prm, tier="predicted")])
        (prow,) = CELL.rows(pjob, run(pjob))
        rec = {"mc_seed": s, "code": code, "trim_V": prm["trim_V"], "reachable": ok, "balance_p1": hist,
               "before": {k: float(before[k]) for k in SIGMOID_KEYS},
               "after": {k: float(after[k]) for k in SIGMOID_KEYS},
               "tran": {k: float(row.get(k, math.nan)) for k in ("p1", "tau_core_s", "tau_corr_s", "energy_per_bit_J",
                                                                 "core_energy_per_bit_J", "x_rms_V")},
               "pred": {k: float(prow.get(k, math.nan)) for k in ("p1", "tau_core_s", "energy_per_bit_J")}}
        _append(out, rec)


def readout_part(seeds: list[int], out: Path, workers: int) -> None:
    def one(s: int) -> dict:
        before = readout_offset(mc_seed=s, x_max_V=0.15, steps=31)
        try:
            code, flips = readout_null(mc_seed=s)
            after = readout_offset(mc_seed=s, params={"ro_trim_V": READOUT_TRIM_DAC.volts(code)}, x_max_V=0.02,
                                   steps=41)
        except SimulationError:
            code, flips, after = None, (math.nan, math.nan), (math.nan, math.nan)
        return {"mc_seed": s, "before": before, "code": code, "flips": flips, "after": after}

    with cf.ThreadPoolExecutor(max(1, workers)) as ex:
        for rec in ex.map(one, seeds):
            _append(out, rec)


def aperture_part(seeds: list[int], trims: dict[int, dict[str, float]], out: Path, workers: int) -> None:
    from pbitkit.circuits.builtin.native_latch import readout_aperture

    p0 = CELL.params()
    delays = np.arange(0.0, 161e-9, 5e-9)

    def one(s: int) -> dict:
        prm = trims.get(s, {})
        before = readout_aperture(delays, mc_seed=s, params=prm)
        # the kernel's median: the first delay from which the read keeps the state before the switch
        med = float(delays[np.argmax(before)] - 2.5e-9) if before.any() and not before[0] else math.nan
        own = {"aperture_s": p0["aperture_s"], "aperture_delay_s": float(np.clip(
            med - p0["aperture_s"] / 2, 0.0, p0["t_eval_s"] - p0["aperture_s"])) if math.isfinite(med)
               else p0["aperture_delay_s"]}
        pt = SweepPoint("native_latch", p0["ref_V"], mc_seed=s, params={**prm, "t_stop_s": 30e-6}, noise_seed=23)
        (job,) = CELL.jobs([pt])
        res = run(job)
        (row,) = CELL.rows(job, res)
        (job_own,) = CELL.jobs([SweepPoint("native_latch", p0["ref_V"], mc_seed=s, noise_seed=23,
                                           params={**prm, "t_stop_s": 30e-6, **own})])
        (row_own,) = CELL.rows(job_own, res)  # the same waveforms (the aperture enters no netlist)
        return {"mc_seed": s, "params": prm, "kernel_median_s": med, "before": before.tolist(),
                "p1": float(row["p1"]), "tau_core_s": float(row["tau_core_s"]),
                "agreement_default": float(row["readout_agreement"]),
                "agreement_own": float(row_own["readout_agreement"]), "own_aperture": own}

    with cf.ThreadPoolExecutor(max(1, workers)) as ex:
        for rec in ex.map(one, seeds):
            _append(out, rec)


def _append(out: Path, rec: dict) -> None:
    with out.open("a") as fh:
        fh.write(json.dumps(rec) + "\n")
    print(json.dumps(rec), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("core", "readout", "aperture"), required=True)
    ap.add_argument("--trims", type=Path, default=None, help="JSON lines {mc_seed, params} (--part aperture)")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    seeds = list(range(a.seeds))
    if a.part == "core":
        core_part(seeds, a.out, a.workers)
    elif a.part == "aperture":
        trims = {}
        if a.trims:
            for line in a.trims.read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    trims[int(rec["mc_seed"])] = {k: float(v) for k, v in rec.get("params", {}).items()}
        aperture_part(seeds, trims, a.out, a.workers)
    else:
        readout_part(seeds, a.out, a.workers)


if __name__ == "__main__":
    main()
