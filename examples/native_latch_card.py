"""The default cell's card and its macro-model validation, end to end (what produced
``pbitkit/data/native_latch_card.json`` and the tables in docs/cells.md, "Card and macro-model").

    nice -n 10 python examples/native_latch_card.py [--out runs/nl-card] [--n-mc 16] [--replicas 8]
                                                    [--t-stop T] [--nominal-t-stop T] [--trims FILE]
                                                    [--workers 2] [--predicted] [--ship]
    python examples/native_latch_card.py --ship-card CARD      # only the shipping step, for an existing card

1. **Trims**: each mismatch instance (``mc_seed`` 0 … n-1, tt, 27 degC) is calibrated by the cell's own
   procedure (:func:`pbitkit.circuits.native_latch_trim.calibrate_cell`: readout auto-zero, core balance at
   bias = ref), or its trims are read from ``--trims`` (JSON lines ``{"mc_seed": s, "params": {...}}``);
   written to ``OUT/trims.jsonl``.
2. **Card**: ``characterize`` the nominal cell (13 bias points over the default range, ``--nominal-t-stop``
   per point; with ``--predicted`` also the predicted tier: the 13-point table of docs/cells.md) and each trimmed instance (9 bias points, ``--t-stop`` per point), merged into ``OUT/card``
   and fitted as ``pbitkit fit OUT/card`` would (transient tier; ``variation`` = the spread of the trimmed
   instances; the correlation time pooled
   from the run's bits). ``--ship`` writes the card to ``pbitkit/data/native_latch_card.json`` with its bias
   network measured (the charge-domain network at fan-in 20, the default DTM grid's, as the pipeline attaches
   it: without it the card's network is unmodelled and its swing defaults to the cell's 0.12 V core supply,
   which clips every programmed field at about 2 units of 2 Vs); ``--ship-card CARD`` does only that step.
3. **Validation data**, independent of the fit (another noise seed): the nominal cell at 7 biases
   (ref +- 1, 2, 3 x 15 mV) with ``--replicas`` independent records each.
4. **Macro-model**: the card's SPICE macro-model (what ``pbitkit export CARD --format spice`` writes)
   simulated in ngspice at the same biases (``--clocks`` clock periods each).
5. **Agreement table**: P(1) of cell and macro-model with standard errors (cell: pooled over the replicas,
   with the pooled tau_int), dP; tau_corr of the reads (pooled tau_int, jackknife SE) and their ratio; the
   pooled energy per independent bit at the centre.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from pbitkit.circuits.bit_energy import centre_bit_energy
from pbitkit.circuits.bits import read_bits
from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.measure import pooled_integrated_autocorr_time
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.sweep import load_spec
from pbitkit.paths import data_dir
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.fit import FitConfig
from pbitkit.pbitmodel.macromodel import simulate_macromodel_sweep
from pbitkit.pbitmodel.run import fit_run
from pbitkit.pipeline.bias_network import attach_cell_bias_network

CELL = "native_latch"
#: Fan-in of the bias network measured into the shipped card: the default DTM grid's (G20).
SHIP_FAN_IN = 20


def ship(card_path: Path) -> Path:
    """Write the card at ``card_path`` to ``pbitkit/data/native_latch_card.json`` with its bias network measured
    in ngspice (:func:`pbitkit.pipeline.bias_network.attach_cell_bias_network` at fan-in :data:`SHIP_FAN_IN`)."""
    card, summary = attach_cell_bias_network(DeviceModel.load(card_path), SHIP_FAN_IN)
    dst = card.save(Path(data_dir()) / "native_latch_card.json")
    print(f"shipped {dst}: bias network {summary['kind']}, {summary['energy_per_update_J']:.3g} J per update, "
          f"swing {card.bias_network.vdd_V:.3g} V")
    return dst


def instance_spec(mc_seed: int, params: dict[str, float], t_stop_s: float | None = None,
                  predicted: bool = False) -> dict:
    """One device's sweep: the nominal cell (``mc_seed = -1``: 13 bias points over the default range; its
    records near the centre give the card's correlation time) or one mismatch instance with its own trim
    parameters (balanced at bias = ref by its calibration), 9 bias points; ``t_stop_s`` per point (default:
    the cell's 60 us = 200 reads); ``predicted`` adds the predicted tier to the nominal device's points."""
    prm = {**params, **({"t_stop_s": t_stop_s} if t_stop_s else {})}
    if mc_seed < 0:
        return {"cell": CELL, "noise_seed": 3, "bias": {"n": 13}, "params": prm,
                "tiers": ["transient", "predicted"] if predicted else ["transient"]}
    return {"cell": CELL, "noise_seed": 3, "bias": {"n": 9}, "params": prm, "n_mc": 1, "mc_seed_start": mc_seed,
            "include_nominal": False}


def merge_runs(runs: list, out: Path) -> Path:
    """One run directory (characterization.csv + .json + bits.npz) holding the rows of several characterize
    results, row ids renumbered, so that ``pbitkit fit OUT`` fits them together."""
    from pbitkit.circuits.bits import BITS_FILE, write_bits
    from pbitkit.io import atomic_write_json, atomic_write_text, read_json
    from pbitkit.pbitmodel.table import rows_to_table, table_to_csv

    rows, bits, sources = [], {}, []
    for res in runs:
        recs = read_bits(res.bits_path) if res.bits_path else {}
        for r in res.rows:
            new_id = len(rows)
            if int(r["row_id"]) in recs:
                bits[new_id] = recs[int(r["row_id"])]
            rows.append({**r, "row_id": new_id})
        sources.append(read_json(res.provenance_path))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "characterization.csv", table_to_csv(rows_to_table(rows)))
    side = {"merged_from": [str(r.out_dir) for r in runs], "models": sources[0].get("models", []),
            "sources": sources, "counts": {"rows": len(rows)}}
    atomic_write_json(out / "characterization.json", side)
    write_bits(out / BITS_FILE, bits)
    return out


def validation_spec(replicas: int, t_stop_s: float | None = None) -> dict:
    ref = get_cell(CELL).params()["ref_V"]
    biases = [round(ref + k * 0.015, 6) for k in range(-3, 4)]
    return {"cell": CELL, "noise_seed": 5, "bias": {"values_V": [b for b in biases for _ in range(replicas)]},
            "params": {"t_stop_s": t_stop_s} if t_stop_s else {}}


def read_trims(path: Path) -> dict[int, dict[str, float]]:
    """``{mc_seed: params}`` of the trimmable instances in JSON lines with ``mc_seed`` and ``params``."""
    out: dict[int, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get("trimmable", True) and rec.get("params"):
                out[int(rec["mc_seed"])] = {k: float(v) for k, v in rec["params"].items()}
    return out


def calibrate(n_mc: int, workers: int, path: Path) -> dict[int, dict[str, float]]:
    """Each mismatch instance's trims by the cell's own calibration procedure
    (:mod:`pbitkit.circuits.native_latch_trim`: readout auto-zero, then the core's balance at bias = ref).
    An instance whose readout or core cannot be trimmed within the DACs' ranges is left out (recorded with
    ``"trimmable": false``). Written to ``path`` as JSON lines (reusable with ``--trims``)."""
    import concurrent.futures as cf

    from pbitkit.circuits.native_latch_trim import CORE_TRIM_DAC, READOUT_TRIM_DAC, balance_core, readout_null
    from pbitkit.errors import SimulationError

    def null(seed: int) -> tuple[int, int | None, str]:
        try:
            return seed, readout_null(mc_seed=seed)[0], ""
        except SimulationError as exc:
            return seed, None, str(exc).splitlines()[0]

    with cf.ThreadPoolExecutor(max(1, workers)) as ex:
        nulls = list(ex.map(null, range(n_mc)))
    ok = [(s, c) for s, c, _ in nulls if c is not None]
    inst = [{"mc_seed": s, "params": {"ro_trim_V": READOUT_TRIM_DAC.volts(c)}} for s, c in ok]
    bal = balance_core(inst, workers=workers) if inst else []
    recs = {s: {"mc_seed": s, "trimmable": False, "reason": why} for s, c, why in nulls if c is None}
    for (s, rcode), i, (ccode, _hist, reach) in zip(ok, inst, bal, strict=True):
        prm = {**i["params"], "trim_V": CORE_TRIM_DAC.volts(ccode)}
        recs[s] = {"mc_seed": s, "trimmable": bool(reach), "params": prm, "core_code": ccode, "readout_code": rcode,
                   **({} if reach else {"reason": "core balance out of the trim DAC's range"})}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(recs[s]) + "\n" for s in sorted(recs)))
    return {s: r["params"] for s, r in recs.items() if r["trimmable"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/nl-card")
    ap.add_argument("--n-mc", type=int, default=16)
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clocks", type=int, default=4000, help="macro-model transient length in clock periods")
    ap.add_argument("--trims", type=Path, default=None,
                    help="JSON lines {mc_seed, params} with each instance's calibrated trim parameters")
    ap.add_argument("--t-stop", type=float, default=None, help="simulated time per point (default: the cell's)")
    ap.add_argument("--nominal-t-stop", type=float, default=None,
                    help="simulated time per point of the nominal device (default: --t-stop)")
    ap.add_argument("--predicted", action="store_true", help="also the predicted tier at the nominal device's points")
    ap.add_argument("--ship", action="store_true",
                    help="write the card, with its bias network measured, to pbitkit/data/native_latch_card.json")
    ap.add_argument("--ship-card", type=Path, default=None, metavar="CARD",
                    help="only ship CARD (an existing card) with its bias network measured, then stop")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.ship_card is not None:
        ship(args.ship_card)
        return
    out = Path(args.out)
    t0 = time.perf_counter()
    trims = read_trims(args.trims) if args.trims else calibrate(args.n_mc, args.workers, out / "trims.jsonl")
    nominal_t_stop = args.nominal_t_stop if args.nominal_t_stop is not None else args.t_stop
    runs = [characterize(load_spec(instance_spec(seed, trims.get(seed, {}),
                                                 nominal_t_stop if seed < 0 else args.t_stop, args.predicted)),
                         out / f"dev{seed}", workers=args.workers, plot=False)
            for seed in [-1, *sorted(trims)]]
    print(f"trimmed instances: {len(trims)} of {args.n_mc} ({sorted(trims)})")
    merged = merge_runs(runs, out / "card")
    t1 = time.perf_counter()
    fit = fit_run(merged, None, FitConfig(cell=CELL), plots=True)
    card = fit.report.card
    val = characterize(load_spec(validation_spec(args.replicas, args.t_stop)), out / "validation", workers=args.workers,
                       plot=False)
    t2 = time.perf_counter()
    all_rows = [r for res in runs for r in res.rows]
    cpu = sum(float(r.get("cpu_time_s") or 0.0) for r in all_rows)
    n_tr = sum(1 for r in all_rows if r.get("tier") == "transient")
    print(f"card runs: {len(all_rows)} rows, {n_tr} transient, ngspice CPU {cpu:.0f} s "
          f"({cpu / max(n_tr, 1):.2f} s per transient point), wall {t1 - t0:.0f} s; validation run wall {t2 - t1:.0f} s")
    rep = fit.report
    v = card.variation
    print(f"card: {card.link} v0 = {card.v0_V * 1e3:.2f} +- {card.v0_se_V * 1e3:.2f} mV, vs = {card.vs_V * 1e3:.2f} +- "
          f"{card.vs_se_V * 1e3:.2f} mV, tau_corr = {card.dynamics.tau_corr_s * 1e9:.1f} ns, t_s = "
          f"{card.dynamics.sample_period_s * 1e9:.0f} ns, energy per read {card.energy.energy_per_bit_J * 1e15:.3f} fJ")
    n_ok = len(rep.instances)
    print(f"variation: {n_ok} of {args.n_mc} instances fitted; sigma(v0) = {v.v0_sigma_V * 1e3:.2f} mV "
          f"(= {v.v0_sigma_V / card.vs_V:.2f} vs), sigma(vs)/vs = {v.vs_sigma_rel:.3f}, corr = {v.v0_vs_corr:.2f}")
    print("\n| mc_seed | trim_V (V) | ro_trim_V (V) | V0 (mV) | Vs (mV) | P(1) at ref | tau_corr at ref (ns) | "
          "energy per read (fJ) | readout agreement at ref |")
    print("|---|---|---|---|---|---|---|---|---|")
    for res in runs:
        rows = [r for r in res.rows if r.get("status") == "ok" and r.get("tier", "transient") == "transient"]
        seed = int(rows[0]["mc_seed"])
        ref = min(rows, key=lambda r: abs(float(r["bias_V"]) - float(r["param_ref_V"])))
        f = rep.instances.get(seed) if seed >= 0 else None
        v0, vs = (f.v0_V, f.vs_V) if f is not None else (card.v0_V, card.vs_V)
        e = np.mean([float(r["energy_per_bit_J"]) for r in rows])
        print(f"| {seed} | {float(ref['param_trim_V']):+.3f} | {float(ref['param_ro_trim_V']):+.3f} | {v0 * 1e3:.1f} | "
              f"{vs * 1e3:.1f} | {float(ref['p1']):.2f} | {float(ref['tau_corr_s']) * 1e9:.0f} | {e * 1e15:.2f} | "
              f"{float(ref['readout_agreement']):.2f} |")
    for note in rep.notes:
        print(f"  note: {note}")
    # the nominal device's 13 points: transient vs predicted tier, readout agreement
    nom = [r for r in runs[0].rows if r.get("status") == "ok"]
    tr = sorted((r for r in nom if r.get("tier") == "transient"), key=lambda r: float(r["bias_V"]))
    pr = {round(float(r["bias_V"]), 6): r for r in nom if r.get("tier") == "predicted"}
    print("\n| bias (mV) | " + " | ".join(f"{float(r['bias_V']) * 1e3:.0f}" for r in tr) + " |")
    print("|---|" + "---|" * len(tr))
    print("| transient P(1) | " + " | ".join(f"{float(r['p1']):.3f}" for r in tr) + " |")
    print("| predicted P(1) | " + " | ".join(f"{float(pr[round(float(r['bias_V']), 6)]['p1']):.3f}"
                                          if round(float(r["bias_V"]), 6) in pr else "—" for r in tr) + " |")
    print("| readout agreement | " + " | ".join(f"{float(r['readout_agreement']):.2f}" for r in tr) + " |")
    for key in ("tau_corr_s", "tau_core_s", "energy_per_bit_J", "readout_rail_fraction"):
        print(f"  {key}: transient " + " ".join(f"{float(r[key]):.3g}" for r in tr))
        print(f"  {key}: predicted " + " ".join(f"{float(pr[k][key]):.3g}" if key in pr[k] else "-"
                                                for k in sorted(pr)))

    # validation: pool the replicas per bias
    recs = read_bits(val.bits_path)
    rows = [r for r in val.rows if r["status"] == "ok"]
    biases = sorted({float(r["bias_V"]) for r in rows})
    lib = out / "macro" / "native_latch.lib"
    lib.parent.mkdir(parents=True, exist_ok=True)
    ts = card.dynamics.sample_period_s
    sw = simulate_macromodel_sweep(card, np.array(biases), t_stop_s=args.clocks * ts, seed=7)
    table = []
    print("\n| bias (mV) | P(1) cell | P(1) macro-model | ΔP | tau_corr cell (ns) | tau_corr macro (ns) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for i, b in enumerate(biases):
        bits = [recs[int(r["row_id"])].bits for r in rows if float(r["bias_V"]) == b]
        allb = np.concatenate(bits)
        p_c = float(allb.mean())
        try:
            tc = pooled_integrated_autocorr_time(bits)
            tau_c, tau_c_se = max(1.0, tc.tau_int), tc.se
        except ValueError:
            tau_c, tau_c_se = math.nan, math.nan
        se_c = math.sqrt(max(p_c * (1 - p_c), 1e-4) * (tau_c if math.isfinite(tau_c) else 1.0) / allb.size)
        mb = sw.bits[i]
        p_m = float(mb.mean())
        tm = pooled_integrated_autocorr_time(list(mb[: mb.size // 8 * 8].reshape(8, -1)))  # 8 blocks: jackknife
        se_m = math.sqrt(max(p_m * (1 - p_m), 1e-4) * max(1.0, tm.tau_int) / mb.size)
        tau_cn, tau_mn = tau_c * ts / 2 * 1e9, max(1.0, tm.tau_int) * ts / 2 * 1e9
        ratio = tau_mn / tau_cn
        table.append({"bias_V": b, "p_cell": p_c, "p_cell_se": se_c, "p_macro": p_m, "p_macro_se": se_m,
                      "tau_cell_ns": tau_cn, "tau_cell_se_ns": tau_c_se * ts / 2 * 1e9, "tau_macro_ns": tau_mn,
                      "tau_macro_se_ns": tm.se * ts / 2 * 1e9, "n_reads_cell": int(allb.size)})
        print(f"| {b * 1e3:.0f} | {p_c:.3f} ± {se_c:.3f} | {p_m:.3f} ± {se_m:.3f} | {p_m - p_c:+.3f} | "
              f"{tau_cn:.0f} ± {tau_c_se * ts / 2 * 1e9:.0f} | {tau_mn:.0f} ± {tm.se * ts / 2 * 1e9:.0f} | {ratio:.2f} |")
    dps = [abs(t["p_macro"] - t["p_cell"]) for t in table]
    print(f"max |dP| = {max(dps):.3f}; chi2 = "
          f"{sum((t['p_macro'] - t['p_cell']) ** 2 / (t['p_cell_se'] ** 2 + t['p_macro_se'] ** 2) for t in table):.2f} "
          f"on {len(table)} points")
    ce = centre_bit_energy(rows, recs)
    print(ce.summary())
    (out / "validation.json").write_text(json.dumps({"table": table, "centre": ce.__dict__,
                                                     "card": card.to_dict()}, indent=1, default=float))
    if args.ship:
        ship(Path(fit.card_path))
    DeviceModel.load(fit.card_path)


if __name__ == "__main__":
    main()
