"""Per-die calibration of the ``native_latch`` core supply through its transistor-level generator, at an
off-nominal corner (ff, 27 °C), from the cell's read bits only; negative controls: the fixed nominal supply
misses the band there, and a code range below the band raises a clear error."""

from __future__ import annotations

import pytest

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.native_latch_cal import (
    Band,
    CalibrationError,
    GeneratorLevels,
    calibrate_die_supply,
    measure_reads,
)
from pbitkit.circuits.native_latch_trim import READOUT_TRIM_DAC
from pbitkit.circuits.supply_gen import GenPoint, SupplyGenSpec, ladder_hand_V
from pbitkit.errors import ConfigError

CELL = NativeLatchCell()


def test_band_validates() -> None:
    for bad in (dict(p_lo=0.6), dict(p_lo_cal=0.2), dict(half_span_V=0.0), dict(min_flips=0), dict(t_read_s=1.0),
                dict(extend_factor=-1), dict(z_margin=9.0), dict(frozen_backoff=-1)):
        with pytest.raises(ConfigError, match="Band"):
            Band(**bad)  # type: ignore[arg-type]
    assert Band().tau_max_s == pytest.approx(61e-6 / 6)
    # the extended record's test: inside the band by 2 binomial SE (ss / 27 C's 0.060 / 0.985 passes on ~270
    # reads, not on the ~70 of one record); P(1) = 0 still carries one read's worth of error
    assert Band().inside(0.06, 268, 0.985, 268) and not Band().inside(0.06, 67, 0.985, 67)
    assert not Band().inside(0.0, 268, 0.925, 268) and not Band().inside(0.0, 10, 1.0, 10)
    # a short record decides only when it is outside the band by 2 SE: 0.104 of 67 reads may still be inside
    assert Band().undecided(0.104, 67, 0.97, 67) and not Band().undecided(0.3, 67, 0.97, 67)
    assert not Band().undecided(0.0, 268, 0.8, 268)
    with pytest.raises(ConfigError, match="grid_step"):
        GeneratorLevels("tt", 27.0, 16, grid_step=0)
    with pytest.raises(ConfigError, match="grid_codes"):
        GeneratorLevels("tt", 27.0, 16, grid_codes=[5, 200])
    with pytest.raises(ConfigError, match="code_range"):
        calibrate_die_supply("ff", 27.0, code_range=(40, 20))
    with pytest.raises(ConfigError, match="code_range"):
        calibrate_die_supply("ff", 27.0, code_range=(8, 128))
    # the calibration's tau_core aim carries a margin over the band's bistability bound
    assert Band().tau_core_cal_s > Band().tau_core_min_s
    with pytest.raises(ConfigError, match="tau_core_cal_s"):
        Band(tau_core_cal_s=20e-9)
    for bad_stage in ((), ({"vddb_V": 0.8},), ({"vddb_V": 2.5, "vtail_V": 0.3},), ({"vddb_V": 0.8, "vtail_V": 0.3, "x": 1},)):
        with pytest.raises(ConfigError, match="bias_options"):
            calibrate_die_supply("sf", 27.0, bias_options=bad_stage)  # type: ignore[arg-type]


@pytest.mark.ngspice
@pytest.mark.slow
def test_calibration_puts_a_fast_die_in_the_band_and_the_fixed_supply_does_not() -> None:
    """ff / 27 °C, 16 cells on the generator. The generator's levels against hand analysis; the calibration searches a narrowed code window (to keep the
    test short; the corner study searches codes 16-255) and must return a code whose independently measured
    reads span the sigmoid and flip at ``ref``. Negative controls: the fixed nominal 123.5 mV core supply at
    this corner is frozen (too few flips at ``ref``), and a window of codes below the band raises."""
    band = Band(t_read_s=21e-6)
    spec = SupplyGenSpec()
    levels = GeneratorLevels("ff", 27.0, 16, spec, grid_codes=range(8, 47))
    ref = CELL.params()["ref_V"]
    # the generator (one ngspice session, the levels the calibration then uses): monotonic taps and core
    # supply (native nFET pass switches leaked enough at ff to make the taps non-monotonic; the tree's
    # low-Vt pFETs are off with 1.8 V on their gates); above ~0.1 V the taps follow the triode-string hand
    # analysis (V_th 0.1 V, no body effect; measured 4-10 % below at tt, +2 % at 0.1 V, where the pFET
    # switches' n-well leakage lifts the tree's output: 59.8 vs 49.5 mV at code 16, tt)
    grid = levels.grid(None)
    gates, cores = [p.v_gate_V for p in grid], [p.v_core_V for p in grid]
    assert all(b > a for a, b in zip(gates, gates[1:])), gates
    assert all(b > a for a, b in zip(cores, cores[1:])), cores
    for p in grid:
        if p.code >= 32:
            assert p.v_gate_V == pytest.approx(ladder_hand_V(spec, p.code, 0.1), rel=0.15), p
        assert -0.05 < p.v_gate_V - p.v_core_V < 0.2  # the follower's V_GS at the cells' current
    # negative control for the hand model: a linear divider is further off at a quarter scale
    q = grid[[p.code for p in grid].index(32)]
    assert abs(q.v_gate_V - 32 / 128 * spec.v_ref_V) > abs(q.v_gate_V - ladder_hand_V(spec, 32, 0.1))
    # the string's quiescent current: a native 0.42/0.8 unit in triode at V_GS ~ 1.6 V is 10-200 uS
    g_unit = grid[0].p_quiescent_W / spec.v_ref_V ** 2 * spec.n_codes
    assert 10e-6 < g_unit < 200e-6, g_unit
    cal = calibrate_die_supply("ff", 27.0, n_cells=16, band=band, levels=levels, code_range=(30, 46),
                               well_options=(None,), readout_options=((0.45, 0.0),))
    # inside the aim on one record, or inside the band by 2 SE on an extended one (pooled P(1))
    assert cal.p1_span[0] <= band.p_lo and cal.p1_span[1] >= band.p_hi
    assert cal.flips_at_ref >= band.min_flips
    assert 0.08 < cal.vdd_V < 0.115, cal.vdd_V  # the ff critical supply is ~96 mV (tt: ~123 mV)
    # the readout was auto-zeroed at the die's own core supply (not the cell's default 123.5 mV)
    assert cal.extra["readout_null_vdd_V"] == pytest.approx(cal.vdd_V)
    assert any(f"auto-zero at V_core {cal.vdd_V * 1e3:.2f} mV" in line for line in cal.log), cal.log
    rows = measure_reads(cal.point, cal.readout, [ref - 0.06, ref + 0.06], corner="ff", temp_C=27.0,
                         t_stop_s=21e-6, noise_seed=7)
    assert rows[0]["p1"] <= band.p_lo and rows[1]["p1"] >= band.p_hi, [r["p1"] for r in rows]
    # negative control: the nominal fixed supply (ideal 123.5 mV) at ff freezes the core
    fixed = GenPoint(code=-1, well_code=None, v_core_V=CELL.default_vdd_V, v_gate_V=0.0, v_well_V=CELL.default_vdd_V,
                     i_load_A=0.0, p_gen_W=0.0, p_quiescent_W=0.0)
    (row,) = measure_reads(fixed, cal.readout, [ref], corner="ff", temp_C=27.0, t_stop_s=band.t_check_s,
                           noise_seed=7)
    assert row["n_flips"] < band.min_flips, row["n_flips"]
    # negative control: codes far below the band (V_core ~ 60-70 mV) -> a clear error naming the die
    with pytest.raises(CalibrationError, match="ff / 27.0 C: no generator code in the band"):
        calibrate_die_supply("ff", 27.0, n_cells=16, band=band, levels=levels, code_range=(8, 12),
                             well_options=(None,), readout_options=((0.45, 0.0),))
    assert READOUT_TRIM_DAC.lsb_V > 0


def test_shipped_sf_die_works_through_its_stronger_bias_stage() -> None:
    """The shipped sf / 27 °C record (examples/native_latch_corners.py): in the band with a bias stage
    stronger than the cell's own, which its calibration log shows failing at the same readout, well and code
    (the negative control: bistable, the sigmoid not spanning)."""
    import json
    import re
    from pathlib import Path

    from pbitkit.circuits.native_latch_cal import BIAS_STAGE_OPTIONS

    path = Path(__file__).resolve().parents[2] / "pbitkit" / "data" / "native_latch_corners.jsonl"
    (rec,) = [r for r in map(json.loads, path.read_text().splitlines()) if r["corner"] == "sf" and r["temp_C"] == 27]
    band = Band()
    stage = {k: rec["params"][k] for k in ("vddb_V", "vtail_V")}
    assert stage in BIAS_STAGE_OPTIONS[1:] and stage["vddb_V"] > CELL.params()["vddb_V"]
    lo, mid, hi = rec["rows"]
    assert lo["p1"] <= band.p_lo and hi["p1"] >= band.p_hi and mid["tau_core_s"] >= band.tau_core_min_s
    log = rec["cal_log"]
    k = next(i for i, line in enumerate(log) if "bias stage V_ddb" in line)
    spans = [re.search(r"code (\d+) \(.*well 0\): P\(1\) ([\d.]+) / ([\d.]+), tau_core at ref ([\d.]+) ns", line)
             for line in log]
    own = [m for m in spans[:k] if m]
    strong = [m for m in spans[k:] if m]
    # the cell's own stage: bistable at the highest flipping code, but no span there
    assert own and float(own[-1][4]) >= band.tau_core_cal_s * 1e9 and not (
        float(own[-1][2]) <= band.p_lo and float(own[-1][3]) >= band.p_hi), own[-1][0]
    # the stronger stage at the same code spans it
    same = [m for m in strong if m[1] == own[-1][1]]
    assert same and float(same[0][2]) <= band.p_lo and float(same[0][3]) >= band.p_hi, [m[0] for m in strong]
