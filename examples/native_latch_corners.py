"""Corner x temperature table of the ``native_latch`` cell on its calibrated, transistor-level supply generator.

For each (corner, temperature) this script

1. calibrates the die (:func:`pbitkit.circuits.native_latch_cal.calibrate_die_supply`: generator code and well
   setting, readout supply / n-well / auto-zero, from the read bits of the cell only), for an array of
   ``--cells`` cells on the generator;
2. measures the calibrated cell independently (another noise seed, ``--t-stop`` records) at ``ref - 60 mV``,
   ``ref`` and ``ref + 60 mV``;
3. simulates the generator at that code (:func:`pbitkit.circuits.supply_gen.gen_report`: load regulation, output
   noise, load step) and at ``--cells-large`` cells, and adds its energy per cell per read. The follower's
   drain rail is the lowest of ``--rails`` with 2.5 U_T of headroom over the die's supply
   (:func:`pbitkit.circuits.supply_gen.follower_rail`): the die is calibrated on the lowest rail (again on
   the next one up if the reads still flip at the top code there: a follower in triode tops out below its
   rail), and if its supply needs a higher rail the generator's code is re-found there for the same supply
   (:func:`pbitkit.circuits.supply_gen.retarget`) before step 2;
4. negative control: the same cell on the fixed nominal supply (123.5 mV, wells at the supply, 0.45 V readout
   auto-zeroed at this die), same records.

One JSON record per point is appended to ``--out`` as soon as it is done (a rerun skips the done ones):

    python examples/native_latch_corners.py --out pbitkit/data/native_latch_corners.jsonl
    python examples/native_latch_corners.py --out pbitkit/data/native_latch_corners.jsonl --table

Records measured into another file are merged into the shipped one with ``--merge runs/x.jsonl`` (a point's
record there replaces the shipped record of the same point).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.native_latch_cal import Band, CalibrationError, GeneratorLevels, calibrate_die_supply, measure_reads
from pbitkit.circuits.cache import module_hash
from pbitkit.circuits.native_latch_trim import READOUT_OPTIONS
from pbitkit.circuits.supply_gen import (
    FOLLOWER_RAILS,
    GenPoint,
    SupplyGenSpec,
    amortized_energy,
    follower_rail,
    gen_levels,
    gen_report,
    retarget,
)
from pbitkit.io import atomic_write_text

CELL = NativeLatchCell()
#: the reads must agree with the core's state at ``ref`` at least this often for a point to count as in the band
#: (the tt / 27 C design: 0.90-0.93 at the centre; a core whose sign changes within the readout's 40 ns aperture
#: lowers it: 0.77 at ff / 27 C with tau_core 31 ns)
MIN_AGREEMENT = 0.75
KEYS = ("p1", "p1_core", "tau_corr_s", "tau_core_s", "energy_per_bit_J", "readout_agreement", "n_flips",
        "core_energy_per_bit_J", "bias_energy_per_bit_J", "readout_energy_per_bit_J", "clock_buffer_energy_per_bit_J",
        "trim_energy_per_bit_J", "clock_port_energy_per_bit_J")


def in_band(rows: list[dict[str, float]], band: Band) -> bool:
    lo, mid, hi = rows
    tau_int = max(1.0, 2 * mid["tau_corr_s"] / CELL.params()["sample_period_s"]) if math.isfinite(mid["tau_corr_s"]) \
        else math.inf
    # the band on the reads, the core bistable and flipping itself (tau_core finite and >= the minimum: a
    # frozen core under a misreading readout also gives read flips), and the reads following the core
    return lo["p1"] <= band.p_lo and hi["p1"] >= band.p_hi and math.isfinite(tau_int) and \
        mid["tau_corr_s"] <= 10e-6 and mid["n_flips"] >= band.min_flips and \
        mid["tau_core_s"] >= band.tau_core_min_s and mid["readout_agreement"] >= MIN_AGREEMENT


def cell_design(rel: str = "builtin/native_latch.py", module: str = "pbitkit.circuits.builtin.native_latch") -> str:
    """The design the records are measured on: the last commit of the cell's module (or another module under
    ``pbitkit/circuits``, e.g. the generator's) and its source hash."""
    path = Path(__file__).resolve().parents[1] / "pbitkit" / "circuits" / rel
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", str(path)], capture_output=True, text=True,
                                cwd=path.parent, check=True, timeout=30).stdout.strip() or "uncommitted"
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(path)], cwd=path.parent, timeout=30).returncode
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "no git", 0
    return f"{path.name} {commit}{' + local edits' if dirty else ''}, source {module_hash(module)[:10]}"


def record(corner: str, temp: float, n_cells: int, n_large: int, t_stop: float, workers: int,
           large_run: bool = False, rails: tuple[float, ...] = FOLLOWER_RAILS,
           tau_core_aim_s: float = Band().tau_core_cal_s,
           readouts: tuple[tuple[float, float], ...] = READOUT_OPTIONS) -> dict[str, object]:
    band = Band(t_read_s=21e-6, tau_core_cal_s=tau_core_aim_s)
    ref = CELL.params()["ref_V"]
    biases = [ref - band.half_span_V, ref, ref + band.half_span_V]
    t0 = time.time()
    out: dict[str, object] = {"corner": corner, "temp_C": temp, "n_cells": n_cells,
                              "band": {"tau_core_cal_s": band.tau_core_cal_s, "t_read_s": band.t_read_s},
                              "readout_options": [list(r) for r in readouts]}
    # negative control: the fixed nominal design (ideal 123.5 mV core source, wells at it, 0.45 V readout, no
    # readout trim: the nominal devices are symmetric), the same three records
    fixed = GenPoint(code=-1, well_code=None, v_core_V=CELL.default_vdd_V, v_gate_V=math.nan,
                     v_well_V=CELL.default_vdd_V, i_load_A=math.nan, p_gen_W=math.nan, p_quiescent_W=math.nan)
    rows = measure_reads(fixed, {"vddr_V": 0.45, "ro_nwell_V": 0.0, "ro_trim_V": 0.0}, biases, corner=corner,
                         temp_C=temp, t_stop_s=t_stop, noise_seed=31, workers=workers)
    out["fixed"] = {"rows": [{k: float(r.get(k, math.nan)) for k in KEYS} for r in rows],
                    "in_band": in_band(rows, band)}
    out["cell_design"] = cell_design()
    out["gen_design"] = cell_design("supply_gen.py", "pbitkit.circuits.supply_gen")
    errors: list[str] = []
    cal = None
    for rail_cal in sorted(rails):
        spec = replace(SupplyGenSpec(), v_in_V=rail_cal)
        levels = GeneratorLevels(corner, temp, n_cells, spec)
        try:
            cal = calibrate_die_supply(corner, temp, n_cells=n_cells, band=band, spec=spec, levels=levels,
                                       workers=workers, readout_options=readouts, log=lambda m: print(f"  [{corner}/{temp:g}] {m}", flush=True))
            break
        except CalibrationError as e:
            errors.append(f"on the {rail_cal:g} V rail: {e}")
            # the reads still flip at the top code: the band may lie above the supply this rail reaches (the
            # follower in triode tops out below the rail) -> calibrate again on the next rail up
            if f"flip up to code {spec.n_codes - 1} " not in str(e):
                break
    if cal is None:
        out.update(ok=False, error="\n".join(errors), v_in_V=spec.v_in_V, wall_s=time.time() - t0)
        return out
    out["calibration_errors_on_lower_rails"] = errors
    point, code = cal.point, cal.code
    rail = follower_rail(cal.vdd_V, temp, rails)
    out["calibrated_on"] = {"v_in_V": spec.v_in_V, "code": cal.code, "v_core_V": cal.vdd_V}
    if rail != spec.v_in_V:
        # the die's supply leaves the follower too little headroom on this rail: the same supply from the next
        # rail up (the cell sees only V_core; the code is re-found there)
        spec = replace(spec, v_in_V=rail)
        point = retarget(cal.vdd_V, cal.code, corner=corner, temp_C=temp, n_cells=n_cells, well_code=cal.well_code,
                         spec=spec)
        code = point.code
        print(f"  [{corner}/{temp:g}] rail {rail} V: code {code}, V_core {point.v_core_V * 1e3:.2f} mV "
              f"(calibrated {cal.vdd_V * 1e3:.2f} mV on {out['calibrated_on']['v_in_V']} V)", flush=True)
    rows = measure_reads(point, cal.readout, biases, corner=corner, temp_C=temp, t_stop_s=t_stop, noise_seed=31,
                         workers=workers)
    rep = gen_report(code, corner=corner, temp_C=temp, n_cells=n_cells, well_code=cal.well_code, spec=spec,
                     i_load_A=point.i_load_A)
    e_small = amortized_energy(rep.point, n_cells)
    if large_run:
        (big,) = gen_levels([code], corner=corner, temp_C=temp, n_cells=n_large, well_code=cal.well_code, spec=spec)
    else:
        # the follower has one unit per cell and the string carries no load current: with n_large cells the
        # per-cell current, V_core and drop-out are those of the n_cells run, the string's power is shared
        # by n_large cells (checked at tt / 27 C with --large-run: see docs/cells.md)
        big = rep.point
    e_large = {**amortized_energy(big, n_large if large_run else n_cells),
               "quiescent_J": big.p_quiescent_W * CELL.params()["sample_period_s"] / n_large}
    if not large_run:
        e_large["total_J"] = e_large["dropout_J"] + e_large["quiescent_J"]
    mid = rows[1]
    ts = CELL.params()["sample_period_s"]
    tau_int = max(1.0, 2 * mid["tau_corr_s"] / ts) if math.isfinite(mid["tau_corr_s"]) else math.nan
    out.update(ok=True, code=code, well_code=cal.well_code, v_core_V=point.v_core_V, v_well_V=point.v_well_V,
               v_in_V=spec.v_in_V, follower_headroom_V=spec.v_in_V - point.v_core_V,
               params={**cal.readout, "nwell_V": 0.0 if cal.well_code is None else point.v_well_V - point.v_core_V},
               cal_span=cal.p1_span, cal_flips=cal.flips_at_ref, cal_measurements=cal.n_measurements,
               cal_log=list(cal.log), cal_extra=cal.extra,
               rows=[{k: float(r.get(k, math.nan)) for k in KEYS} for r in rows], in_band=in_band(rows, band),
               tau_int=tau_int, gen=rep.to_dict(), gen_energy=e_small,
               gen_large={"n_cells": n_large, "v_core_V": big.v_core_V, "energy": e_large, "simulated": large_run},
               energy_per_read_J=float(mid["energy_per_bit_J"]),
               gen_grid=[[g.code, g.v_gate_V, g.v_core_V, g.i_load_A, g.p_gen_W, g.p_quiescent_W]
                         for g in levels.grid(cal.well_code)] if spec.v_in_V == levels.spec.v_in_V else [],
               energy_per_independent_bit_J=(float(mid["energy_per_bit_J"]) + e_small["total_J"]) * tau_int,
               energy_per_independent_bit_large_J=(float(mid["energy_per_bit_J"]) + e_large["total_J"]) * tau_int,
               wall_s=time.time() - t0)
    return out


def fmt(x: float, scale: float = 1.0, nd: int = 2) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x * scale:.{nd}f}"


def table(path: Path) -> str:
    recs = [json.loads(s) for s in path.read_text().splitlines() if s.strip()]
    order = {c: i for i, c in enumerate(("tt", "ff", "ss", "fs", "sf"))}
    recs.sort(key=lambda r: (order.get(r["corner"], 9), r["temp_C"]))
    head = ("| corner / °C | code → V_core (mV) | follower rail (V) | well | readout V / n-well | bias stage V_ddb / V_tail (V) | P(1) at −60 / 0 / +60 mV | τ_corr (ns) | "
            "τ_core (ns) | flips at ref | readout agreement at ref | energy per read (fJ) | generator per cell per read, 16×16 / 70×70 (fJ) | "
            "energy per independent bit incl. generator, 16×16 / 70×70 (fJ) | in band | cell; generator | fixed 123.5 mV: P(1) −60 / +60, in band |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    band = Band()
    dflt = CELL.params()
    for r in recs:
        fx = r.get("fixed", {})
        if "rows" in fx:
            fx["in_band"] = in_band(fx["rows"], band)
        if r.get("ok"):
            r["in_band"] = in_band(r["rows"], band)
        fxs = (f"{fmt(fx['rows'][0]['p1'])} / {fmt(fx['rows'][2]['p1'])}, {'yes' if fx['in_band'] else 'no'}"
               if "rows" in fx else "auto-zero fails, no")
        if not r.get("ok"):
            lines.append(f"| {r['corner']} / {r['temp_C']:g} | no code in the band (see text) | {r.get('v_in_V', 0.4):g} | | | | | | | | | | | | no | "
                         f"{r.get('cell_design', '—')} | {fxs} |")
            continue
        rows = r["rows"]
        p = r["params"]
        well = "at V_core" if r["well_code"] is None else f"tap {r['well_code']} ({r['v_well_V'] * 1e3:.0f} mV)"
        lines.append(
            f"| {r['corner']} / {r['temp_C']:g} | {r['code']} → {r['v_core_V'] * 1e3:.1f} | {r.get('v_in_V', 0.4):g} | {well} | "
            f"{p['vddr_V']:.2f} / {p['ro_nwell_V']:+.2f} | {p.get('vddb_V', dflt['vddb_V']):.2f} / "
            f"{p.get('vtail_V', dflt['vtail_V']):.2f} | "
            f"{' / '.join(fmt(x['p1']) for x in rows)} | {fmt(rows[1]['tau_corr_s'], 1e9, 0)} | "
            f"{fmt(rows[1]['tau_core_s'], 1e9, 0)} | {rows[1]['n_flips']:.0f} | {fmt(rows[1]['readout_agreement'])} | "
            f"{fmt(r['energy_per_read_J'], 1e15)} | "
            f"{fmt(r['gen_energy']['total_J'], 1e15)} / {fmt(r['gen_large']['energy']['total_J'], 1e15)} | "
            f"{fmt(r['energy_per_independent_bit_J'], 1e15)} / {fmt(r['energy_per_independent_bit_large_J'], 1e15)} | "
            f"{'yes' if r['in_band'] else 'no'} | {r.get('cell_design', '—')}; {r.get('gen_design', 'supply_gen.py before 02d89e0')} | {fxs} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corners", default="tt,ff,ss,fs,sf")
    ap.add_argument("--temps", default="0,27,85")
    ap.add_argument("--points", default="", help="explicit order, e.g. sf/27,ss/0 (overrides --corners/--temps)")
    ap.add_argument("--large-run", action="store_true", help="simulate the generator with --cells-large cells too")
    ap.add_argument("--cells", type=int, default=256, help="array size the generator feeds (16x16)")
    ap.add_argument("--cells-large", type=int, default=4900, help="the larger array (70x70) for the energy")
    ap.add_argument("--t-stop", type=float, default=41e-6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rails", default=",".join(f"{r:g}" for r in FOLLOWER_RAILS),
                    help="the follower's drain rails (V), lowest first")
    ap.add_argument("--tau-core-aim-ns", type=float, default=Band().tau_core_cal_s * 1e9,
                    help="the calibration's tau_core aim (Band.tau_core_cal_s, ns)")
    ap.add_argument("--readouts", default="", help="the readout settings tried, in order, as vddr_V:ro_nwell_V,... "
                    "(default: all of native_latch_trim.READOUT_OPTIONS, cheapest first)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--table", action="store_true", help="print the markdown table of --out and exit")
    ap.add_argument("--merge", type=Path, default=None,
                    help="replace --out's records of the points in this file by its records (one per point), then exit")
    a = ap.parse_args()
    if a.merge is not None:
        new = {(r["corner"], r["temp_C"]): r for r in map(json.loads, a.merge.read_text().splitlines()) if r}
        old = [json.loads(s) for s in a.out.read_text().splitlines() if s.strip()] if a.out.is_file() else []
        kept = [r for r in old if (r["corner"], r["temp_C"]) not in new]
        atomic_write_text(a.out, "".join(json.dumps(r) + "\n" for r in kept + list(new.values())))  # never half-written
        print(f"{a.out}: {len(kept)} records kept, {len(new)} from {a.merge}: "
              + ", ".join(f"{c}/{t:g}" for c, t in new))
        return
    if a.table:
        print(table(a.out))
        return
    done = set()
    if a.out.is_file():
        done = {(r["corner"], r["temp_C"]) for r in map(json.loads, a.out.read_text().splitlines()) if r}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    points = ([(c, float(t)) for c, t in (p.split("/") for p in a.points.split(","))] if a.points else
              [(c, float(t)) for c in a.corners.split(",") for t in a.temps.split(",")])
    for corner, temp in points:
        if (corner, temp) in done:
            continue
        rec = record(corner, temp, a.cells, a.cells_large, a.t_stop, a.workers, a.large_run,
                     tuple(float(r) for r in a.rails.split(",")), a.tau_core_aim_ns * 1e-9,
                     tuple((float(v), float(w)) for v, w in (x.split(":") for x in a.readouts.split(",")))
                     if a.readouts else READOUT_OPTIONS)
        with a.out.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(json.dumps({k: v for k, v in rec.items() if k not in ("cal_log", "rows", "gen", "gen_grid")}), flush=True)


if __name__ == "__main__":
    main()
