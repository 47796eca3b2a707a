"""Issue 11 §2, strictly: the default cell's energy per independent bit at P(1) ~ 1/2 (tt, 27 degC, nominal
devices, every supply counted: the cell's own and the per-die supply generator's share for the pipeline's
16 x 16 array) is below 3.5 fJ by more than two standard errors.

Energy per independent bit = mean energy per read x max(1, tau_int), tau_int pooled over independent
records at the centre with a delete-one-record jackknife error (:mod:`pbitkit.circuits.bit_energy`). The
negative control runs the same measurement with the core supply a few mV further from the latch's
bifurcation (deeper wells: slower, correlated reads), where the cell must miss the target by more than two
standard errors. Both go through :func:`pbitkit.circuits.characterize` (real ngspice sessions, cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbitkit.circuits.bit_energy import CentreBitEnergy, centre_bit_energy
from pbitkit.circuits.bits import read_bits
from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.default_cell import DEFAULT_CELL
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.supply_gen import centre_energy_with_generator
from pbitkit.circuits.sweep import load_spec

pytestmark = [pytest.mark.ngspice, pytest.mark.slow]

TARGET_J = 3.5e-15
N_CENTRE = 64  # records of the cell's default length (60 us = 197 reads) at the centre: 12608 reads
N_CONTROL = 3  # 8 records gave 9.79 +- 1.39 fJ, these 3 give 7.53 +- 0.72 fJ: still > 2 SE above the target
# core supply above the default (123.5 mV): measured (8 records of 60 us) tau_corr 202 +- 37 / 652 +- 95 ns at
# +4 / +5.5 mV; at +5.5 mV 10.8 +- 1.6 fJ per independent bit (+4 mV, 3.3 +- 0.6 fJ, is not far enough)
CONTROL_DVDD_V = 0.0055


def measure_centre(out: Path, n_records: int, dvdd_V: float = 0.0, noise_seed: int = 11) -> CentreBitEnergy:
    """``n_records`` independent records of the default cell at bias = ref (P ~ 1/2) with its default
    parameters, at the default core supply + ``dvdd_V``; pooled energy per independent bit."""
    cell = get_cell(DEFAULT_CELL)
    ref = cell.params()["ref_V"]
    spec = load_spec({"cell": "default", "bias": {"values_V": [ref] * n_records}, "noise_seed": noise_seed,
                      "vdds_V": [cell.default_vdd_V + dvdd_V], "max_points_per_job": 8, "timeout_s": 1800.0})
    res = characterize(spec, out, workers=2, plot=False)
    assert res.n_failed == 0
    return centre_bit_energy(res.rows, read_bits(res.bits_path), p1_range=(0.0, 1.0))


def test_default_cell_energy_per_independent_bit_is_below_target_by_two_se(tmp_path: Path) -> None:
    # measured (current cell, 123.5 mV): 64 records, 12608 reads, P(1) 0.50, tau_int 1.10 +- 0.05 reads (tau_corr
    # 166 +- 8 ns), 2.574 fJ per read -> 2.84 +- 0.13 fJ per independent bit (upper 2-SE bound 3.10 fJ); with the
    # generator (0.298 fJ per cell per read: code 55, 123.3 mV on the 0.16 V rail) 3.17 +- 0.14 fJ (bound 3.46 fJ).
    # On the previous design the first 24 records alone gave 3.21 +- 0.21 fJ (bound 3.63 fJ): fewer records do
    # not demonstrate it
    ce = measure_centre(tmp_path / "centre", N_CENTRE)
    assert ce.cell == "native_latch" and ce.n_records == N_CENTRE
    assert abs(ce.p1 - 0.5) < 0.1  # at P ~ 1/2 (the records' mean; each record's own P scatters by ~0.04)
    assert ce.tau_corr_s + 2 * ce.tau_corr_se_s <= 1e-6
    # the strict demonstration: the upper 2-SE bound below the target, and the error small enough to mean it
    assert ce.upper_J(2.0) < TARGET_J, ce.summary()
    assert ce.energy_per_independent_bit_se_J < 0.1 * ce.energy_per_independent_bit_J, ce.summary()
    # every part counted: the supply generator (simulated delivering the records' core supply to 16 x 16 cells)
    # added to every read; the 0.2 V rail with one unit per string step (0.72 fJ) would put the bound at 3.97 fJ
    cg = centre_energy_with_generator(ce)
    g = cg.generator
    assert g.n_cells == 256 and g.v_in_V == 0.16 and abs(g.v_core_V - ce.vdd_V) < 1e-3
    # drop-out (V_in - V_core) x the cells' ~22 nA x 300 ns; string ~0.1 uA from 0.45 V over 256 cells
    assert 0.15e-15 < g.dropout_J < 0.3e-15 and 0.02e-15 < g.quiescent_J < 0.1e-15
    assert g.energy_J == pytest.approx(g.dropout_J + g.quiescent_J) and g.energy_J < 0.35e-15
    assert cg.energy_per_independent_bit_J + 2 * cg.energy_per_independent_bit_se_J < TARGET_J, cg.summary()


def test_negative_control_further_from_the_bifurcation_misses_the_target(tmp_path: Path) -> None:
    ce = measure_centre(tmp_path / "control", N_CONTROL, dvdd_V=CONTROL_DVDD_V)
    assert ce.energy_per_independent_bit_J - 2 * ce.energy_per_independent_bit_se_J > TARGET_J, ce.summary()
