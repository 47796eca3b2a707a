"""A p-bit cell written in PySpice, from its Circuit to a fitted DeviceModel card and back into PySpice.

    python examples/pyspice_cell.py [--out runs/pyspice-cell] [--points 9] [--samples 100] [--workers 2]

1. The cell is ``examples/pyspice_cells/pysalatch.py`` (``circuit(p, ctx)`` returns a PySpice ``Circuit``)
   plus ``pysalatch.toml`` (bias / supply / clock sources, outputs, readout, seeded noise). Pointing
   ``$PBITKIT_CELLS`` at the directory registers it as the cell ``pysalatch``.
2. ``characterize`` simulates it in ngspice (sky130, seeded noise, transient tier) over its bias range.
3. ``fit_characterization`` fits the DeviceModel card; the card is saved.
4. ``export_pyspice`` writes the card's macro-model as a PySpice subcircuit, which is simulated in
   PySpice's shared mode at the fitted centre (P(1) should be near 1/2).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CELLS = HERE / "pyspice_cells"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/pyspice-cell")
    ap.add_argument("--points", type=int, default=9, help="bias points over the cell's default range")
    ap.add_argument("--samples", type=int, default=100, help="decisions per bias point")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ["PBITKIT_CELLS"] = os.pathsep.join(
        [str(CELLS), *[d for d in os.environ.get("PBITKIT_CELLS", "").split(os.pathsep) if d]])

    from pbitkit.circuits.characterize import characterize
    from pbitkit.circuits.pyspice_interop import circuit_class, ngspice_shared_class
    from pbitkit.circuits.sweep import load_spec
    from pbitkit.pbitmodel import fit_characterization, read_characterization
    from pbitkit.pbitmodel.export_pyspice import export_pyspice

    out = Path(args.out)
    t0 = time.perf_counter()
    spec = load_spec({"cell": "pysalatch", "bias": {"n": args.points}, "params": {"n_samples": args.samples}})
    res = characterize(spec, out / "characterize", workers=args.workers, plot=False)
    print(f"characterized pysalatch: {len(res.rows)} rows, {res.n_failed} failed, {time.perf_counter() - t0:.1f} s")
    for r in res.rows:
        print(f"  bias {r['bias_V']:.3f} V  P(1) = {r['p1']:.3f} [{r['p1_lo']:.3f}, {r['p1_hi']:.3f}]  "
              f"E/bit = {r['energy_per_bit_J']:.3g} J")

    card = fit_characterization(read_characterization(out / "characterize")).card
    card_path = card.save(out / "pysalatch_card.json")
    print(f"card {card_path}: {card.link} v0 = {card.v0_V:.4f} V, vs = {card.vs_V:.4f} V, "
          f"E/bit = {card.energy.energy_per_bit_J:.3g} J")

    module_path = export_pyspice(card, out / "pysalatch_macro.py", t_stop_s=400 * card.dynamics.sample_period_s)[0]
    spec_mod = importlib.util.spec_from_file_location("pysalatch_macro", module_path)
    macro = importlib.util.module_from_spec(spec_mod)
    spec_mod.loader.exec_module(macro)
    ngspice_shared_class()  # point PySpice at libngspice
    tb = circuit_class()("macro-model at the fitted centre")
    tb.subcircuit(macro.PbitMacroModel(0))
    tb.X("p0", "pbit0", "b", "q")
    tb.V("b", "b", tb.gnd, card.v0_V)
    an = tb.simulator(simulator="ngspice-shared").transient(step_time=macro.MAX_STEP_S, end_time=macro.T_STOP_S,
                                                            max_time=macro.MAX_STEP_S)
    t, v = np.asarray(an.time, dtype=float), np.asarray(an["q"], dtype=float)
    reads = (np.arange(int(macro.T_STOP_S / card.dynamics.sample_period_s) - 1) + 0.5) * card.dynamics.sample_period_s
    p_hat = float(np.mean(np.interp(reads, t, v) > card.vdd_V / 2))
    print(f"macro-model in PySpice shared mode at v0: P(1) = {p_hat:.3f} over {reads.size} clock periods")


if __name__ == "__main__":
    main()
