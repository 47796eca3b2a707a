"""The all-transistor ``native_latch`` cell: netlist audit (with negative controls), the ``pbitkit cells``
listing, and real ngspice runs of the targets (sigmoid span, tau, energy per independent bit, readout
agreement, kickback)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pbitkit.circuits.audit import audit_all_transistor
from pbitkit.circuits.builtin.native_latch import NativeLatchCell, rail_to_rail, readout_levels, render_native_latch
from pbitkit.circuits.bits import BITS_KEY, decode_bits
from pbitkit.circuits.cell_base import TABLE_COLUMNS, SweepPoint, independent_bit_energy
from pbitkit.circuits.cells_cli import cell_summary, format_summary
from pbitkit.circuits.measure import integrated_autocorr_time
from pbitkit.circuits.models import SLIM_DEVICES, generic_library, sky130_library
from pbitkit.circuits.native_latch_trim import CORE_TRIM_DAC, READOUT_TRIM_DAC
from pbitkit.circuits.ngspice import run
from pbitkit.circuits.registry import get_cell, list_cells
from pbitkit.cli import main
from pbitkit.errors import ConfigError

CELL = NativeLatchCell()


def _audit(name: str) -> list[str]:
    cell = get_cell(name)
    return audit_all_transistor(cell.default_netlist(sky130_library("tt")), cell.port_nodes, SLIM_DEVICES.values())


def test_native_latch_netlist_passes_the_all_transistor_audit() -> None:
    net = CELL.default_netlist(sky130_library("tt"))
    assert _audit("native_latch") == []
    # what the audit saw: 4 core + 3 bias + 2 clock-buffer + 11 comparator transistors + the auto-zero
    # switch, 13 port sources (4 supplies, 4 n-well trims, bias, ref, tail gate, clock, auto-zero gate), and
    # two noise blocks (filesource, 1 GOhm sample load, VCCS) -- nothing else
    body = [ln for ln in net.splitlines()[1:] if ln and ln[0] not in "*.+"]
    letters = sorted(ln[0] for ln in body)
    assert letters.count("X") == 21 and letters.count("V") == 13
    assert letters.count("A") == letters.count("R") == letters.count("G") == 2
    assert set(letters) == {"X", "V", "A", "R", "G"}
    # the bias enters through transistors: the bias and ref ports only drive gates of the pFET pair
    assert [ln.split()[:5] for ln in body if " bias " in f" {ln} " and ln[0] == "X"] == [
        ["XBA", "qb", "bias", "tail", "vddb"]]
    assert {ln.split()[5] for ln in body if ln[0] == "X"} == {
        SLIM_DEVICES[r] for r in ("nfet_nvt", "pfet_lvt", "nfet_lvt")}


def test_audit_negative_controls_fail() -> None:
    # the old latch takes its bias through ideal 1 TOhm resistors: it must fail
    v = _audit("latch")
    assert any(m.startswith("Rin bias q") for m in v) and any(m.startswith("Rref ref qb") for m in v)
    # the StrongARM cell's noise amplifier is made of E sources and an R-C filter
    assert any(m.startswith("Ebp") for m in _audit("strongarm"))
    # single offending elements added to the passing netlist
    ok = CELL.default_netlist(sky130_library("tt"))
    for bad, why in (("Rb bias q 1e12", "resistor"), ("Eamp q 0 bias 0 10", "element type E"),
                     ("Bx q 0 i=v(bias)*1e-9", "element type B"), ("Vx q qb 0", "not a port source"),
                     ("Gx 0 q bias 0 1e-9", "controlled source"), ("XM9 q q 0 0 pbk_nmos w=1 l=1", "MOSFET")):
        v = audit_all_transistor(ok + bad + "\n", CELL.port_nodes, SLIM_DEVICES.values())
        assert len(v) == 1 and why in v[0], (bad, v)


def test_declared_all_transistor_matches_the_audit_for_every_builtin_cell() -> None:
    for name in ("latch", "strongarm", "native_latch"):
        assert get_cell(name).all_transistor == (_audit(name) == []), name


def test_native_latch_needs_sky130_and_a_consistent_clock() -> None:
    with pytest.raises(ConfigError, match="sky130"):
        render_native_latch(generic_library(), CELL.params(), vdd_V=0.1265, temp_C=27.0, bias_V=0.1)
    with pytest.raises(ConfigError, match="t_eval_s"):
        render_native_latch(sky130_library("tt"), CELL.params({"t_eval_s": 400e-9}), vdd_V=0.1265, temp_C=27.0,
                            bias_V=0.1)
    with pytest.raises(ConfigError, match="fewer than 20 reads"):
        CELL.jobs([SweepPoint("native_latch", 0.1, params={"t_stop_s": 5e-6})])
    assert "native_latch" in list_cells()


def test_cells_cli_lists_every_cell_and_shows_a_netlist(capsys: pytest.CaptureFixture[str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    assert main(["cells"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list_cells()
    by_name = {ln.split()[0]: ln for ln in lines}
    assert "all-transistor: yes" in by_name["native_latch"] and "all-transistor: no" in by_name["latch"]
    assert "not characterized" in by_name["latch"]
    s = cell_summary("native_latch")
    assert s["characterized"] and s["tau_corr_s"] <= 1e-6 and s["energy_per_independent_bit_J"] <= 3.5e-15
    assert format_summary(s) == by_name["native_latch"]
    assert main(["cells", "show", "native_latch"]) == 0
    shown = capsys.readouterr().out
    assert audit_all_transistor(shown, CELL.port_nodes, SLIM_DEVICES.values()) == []
    assert main(["cells", "show", "no_such_cell"]) != 0
    assert "unknown cell 'no_such_cell'" in caplog.text


# --- real ngspice runs ---------------------------------------------------------------------------------
T_STOP = 60e-6  # 200 reads per point; ~4 s of ngspice CPU each


def _rows(points: list[SweepPoint]) -> list[dict]:
    jobs = [job for pt in points for job in CELL.jobs([pt])]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, jobs))
    return [r for job, res in zip(jobs, results) for r in CELL.rows(job, res)]


def test_trim_dacs_span_exactly_the_cells_trim_range() -> None:
    """Every code of the core and readout trim DACs is a valid cell parameter and the cell accepts nothing a
    step beyond them (the readout DAC once spanned +-0.8 V against the cell's +-0.5 V: its end codes failed)."""
    for key, dac in (("trim_V", CORE_TRIM_DAC), ("ro_trim_V", READOUT_TRIM_DAC)):
        for code in (0, dac.n_codes - 1):
            CELL.params({key: dac.volts(code)})
    fs = READOUT_TRIM_DAC.full_scale_V
    for v in (fs + READOUT_TRIM_DAC.lsb_V, -fs - READOUT_TRIM_DAC.lsb_V):
        with pytest.raises(ConfigError, match="ro_trim_V"):
            CELL.params({"ro_trim_V": v})


@pytest.mark.ngspice
def test_readout_decision_reaches_the_rails_within_its_window() -> None:
    """The comparator's decided outputs are a rail-to-rail bit at the read instant (higher output within
    10 % of vddr of the rail, lower within 10 % of ground), also for core states of 0.5-1 mV read right
    after a 20 mV decision the other way (regeneration and no memory of the last read). Negative control:
    the previous 100 ns decision window, in which the loser stayed ~300 mV above ground at |x| = 1 mV."""
    x = np.array([20.0, -1.0, -20.0, 1.0, 20.0, -0.5, -20.0, 0.5]) * 1e-3
    vr = CELL.params()["vddr_V"]
    v = readout_levels(x)
    assert np.all((v[:, 0] > v[:, 1]) == (x > 0)), v
    assert np.all(rail_to_rail(v.max(axis=1), v.min(axis=1), vr)), v  # measured 449-450 / 5-19 mV
    short = readout_levels(x[:2], params={"t_eval_s": 100e-9})
    assert not rail_to_rail(short[1].max(), short[1].min(), vr), short  # measured 411 / 312 mV


@pytest.mark.ngspice
def test_readout_agreement_aperture_is_where_the_comparator_samples() -> None:
    """The aperture over which ``readout_agreement`` averages the core's state (``aperture_delay_s`` after the
    clock edge, ``aperture_s`` long) holds the comparator's sampling kernel: x switches sign once in the window
    (a state x before, -r x after); the read takes the side with the larger weight. Measured (1 / 3 / 10 mV
    alike): the read changes side at 29-30 ns for r = 1/4 (the kernel's 20 % point), 35-36 ns for r = 1 (its
    median), 41-42 ns for r = 4 (its 80 % point). Negative control: the previous aperture, the first 40 ns of
    the window, ends before the kernel's 80 % point."""
    p = CELL.params()
    a, w = p["aperture_delay_s"], p["aperture_s"]
    # (ratio r, switch delay, expect the state before the switch to win)
    cases = [(0.25, a, False), (4.0, a + w, True), (1.0, a + w / 4, False), (1.0, a + 3 * w / 4, True),
             (4.0, 40e-9, False)]
    r = np.repeat([c[0] for c in cases], 2)
    d = np.repeat([c[1] for c in cases], 2)
    sign = np.tile([1.0, -1.0], len(cases))
    v = readout_levels(3e-3 * sign, x_after_V=-3e-3 * r * sign, t_switch_s=d)
    before = ((v[:, 0] > v[:, 1]) == (sign > 0)).reshape(-1, 2)
    assert np.all(before == np.array([[c[2]] * 2 for c in cases])), (before, v)


@pytest.mark.ngspice
@pytest.mark.slow
def test_native_latch_meets_its_targets_at_tt() -> None:
    lo, hi = CELL.default_bias_range()
    ref = CELL.params()["ref_V"]
    n_ro, n_bare = 7, 4  # records at P ~ 0.5 with / without the readout
    # the sigmoid's ends need only P(1) < 0.05 / > 0.95: half-length records (100 reads)
    pts = [SweepPoint("native_latch", b, params={"t_stop_s": T_STOP / 2}, noise_seed=7) for b in (lo, hi)]
    pts += [SweepPoint("native_latch", ref, params={"t_stop_s": T_STOP}, noise_seed=7, replica=k) for k in range(n_ro)]
    pts += [SweepPoint("native_latch", ref, params={"t_stop_s": T_STOP, "readout": 0.0}, noise_seed=7, replica=k)
            for k in range(n_bare)]
    rows = _rows(pts)
    end_lo, end_hi, with_ro, without = rows[0], rows[1], rows[2:2 + n_ro], rows[2 + n_ro:]
    assert all(r["status"] == "ok" for r in rows)
    # the sigmoid spans 0.05-0.95 over the default range (logistic Vs ~ 11 mV: ~0.5 % at the ends of +-60 mV;
    # a record stuck at 0 or 1 has no finite n_eff, so the point estimates are compared)
    assert end_lo["p1"] < 0.05 and end_hi["p1"] > 0.95, (end_lo["p1"], end_hi["p1"])

    def mean_se(key: str, rr: list[dict]) -> tuple[float, float]:
        v = np.array([r[key] for r in rr], dtype=float)
        return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))

    p1, p1_se = mean_se("p1", with_ro)
    assert abs(p1 - 0.5) < 3 * p1_se + 0.05  # at P ~ 0.5
    tau, tau_se = mean_se("tau_corr_s", with_ro)
    assert tau + 2 * tau_se <= 1e-6
    # energy per independent bit: mean energy per read x tau_int of the 7 records' bits pooled (~1380 reads;
    # one record's tau_int is too noisy), with the standard error of tau_int from its summation window W
    # (Sokal: var(tau_int) ~ 2 (2W + 1) / N tau_int^2, W = 5 tau_int as in measure.integrated_autocorr_time)
    bits = np.concatenate([decode_bits(r[BITS_KEY]).bits for r in with_ro])
    tau_int = max(1.0, integrated_autocorr_time(bits))
    e_read, _ = mean_se("energy_per_bit_J", with_ro)
    e_ind = e_read * tau_int
    e_se = e_ind * math.sqrt(2 * (2 * math.ceil(5 * tau_int) + 1) / bits.size)
    # measured on the 100 ns window (this seed, 8 records): 2.17 fJ/read x tau_int 1.30 = 2.83 +- 0.39 fJ: below
    # the target by 1.7 SE, not by the 2 SE a strict demonstration would need (that is
    # test_energy_per_independent_bit.py's); this test holds the point estimate to the target and requires
    # the record to be long enough for a 20 % estimate
    assert e_ind <= 3.5e-15 and e_se < 0.2 * e_ind, (e_read, tau_int, e_se)
    for r in with_ro:
        assert r["energy_per_independent_bit_J"] == pytest.approx(
            r["energy_per_bit_J"] * max(1.0, 2 * r["tau_corr_s"] / r["sample_period_s"]))
        # every supply is counted: the parts add up to the total per read
        parts = sum(r[f"{c}_energy_per_bit_J"] for c in ("core", "bias", "readout", "clock_buffer", "clock_port",
                                                           "trim"))
        assert parts == pytest.approx(r["energy_per_bit_J"], rel=1e-9)
        assert r["readout_energy_per_bit_J"] > 0.1e-15 and r["clock_buffer_energy_per_bit_J"] > 0.05e-15
        # the readout agrees with the core's state (the sign of q - qb over the comparator's aperture) and
        # its outputs have regenerated at the read instant (median |outp - outn| 0.44-0.45 V of 0.45 V measured)
        assert r["readout_agreement"] > 0.9 and r["readout_swing_V"] > 0.5 * r["param_vddr_V"]
        # and the bit is rail-to-rail at the read (measured 0.93-0.98 per record, 0.958 over 64 records; the
        # rest are reads of a core within a fraction of a mV of its balance point; on the 100 ns window the
        # median |outp - outn| at the read was 0.29-0.32 V < 0.36 V, the least a rail-to-rail read has: < 1/2)
        assert r["readout_rail_fraction"] > 0.9, r["readout_rail_fraction"]
    # measured 0.99-1.00 per 200-read record at the centre against the sign over the comparator's aperture
    # (0.84-0.92 against the first 40 ns of the window, the aperture used before)
    agree, agree_se = mean_se("readout_agreement", with_ro)
    assert agree > 0.95, (agree, agree_se)
    # without the readout only the core and bias supplies draw (negative control of the accounting)
    assert all(r["energy_per_bit_J"] < 0.6 * with_ro[0]["energy_per_bit_J"] for r in without)
    # kickback changes neither P(1) nor the core's correlation time beyond the sampling error
    for key in ("p1_core", "tau_core_s"):
        a, sa = mean_se(key, with_ro)
        b, sb = mean_se(key, without)
        assert abs(a - b) < 3 * np.hypot(sa, sb), (key, a, sa, b, sb)


def test_independent_bit_energy_is_filled_for_every_cell() -> None:
    assert independent_bit_energy(2e-15, 0.15e-6, 0.3e-6) == 2e-15  # tau_int = 1: one bit per read
    assert independent_bit_energy(2e-15, 0.6e-6, 0.3e-6) == pytest.approx(8e-15)  # tau_int = 4
    assert math.isnan(independent_bit_energy(math.nan, 0.6e-6, 0.3e-6))
    assert "energy_per_independent_bit_J" in TABLE_COLUMNS


@pytest.mark.ngspice
def test_strongarm_rows_carry_the_independent_bit_energy() -> None:
    cell = get_cell("strongarm")
    job = cell.jobs([SweepPoint("strongarm", 0.0, params={"n_samples": 40})])[0]
    (row,) = cell.rows(job, run(job))
    assert row["energy_per_independent_bit_J"] == pytest.approx(
        row["energy_per_bit_J"] * max(1.0, 2 * row["tau_corr_s"] / row["sample_period_s"]))
    assert 1e-15 < row["energy_per_independent_bit_J"] < 1e-12


@pytest.mark.ngspice
def test_predicted_tier_spans_the_sigmoid_and_survives_a_mismatch_instance() -> None:
    lo, hi = CELL.default_bias_range()
    ref = CELL.params()["ref_V"]
    pts = [SweepPoint("native_latch", b, tier="predicted") for b in (lo, ref, hi)]
    pts += [SweepPoint("native_latch", ref, tier="predicted", mc_seed=1)]
    rows = _rows(pts)
    nom, mm = rows[:3], rows[3]
    assert nom[0]["p1"] < 0.05 and nom[2]["p1"] > 0.95
    assert nom[1]["p1"] == pytest.approx(0.5, abs=1e-3)  # the nominal cell is symmetric at bias = ref
    for r in nom:
        # the core's own correlation time, the reads' tau_corr (>= ts/2) and the energy per read
        assert 1e-8 < r["tau_core_s"] < 1e-6 and r["sample_period_s"] / 2 <= r["tau_corr_s"] < 1e-6
        assert 1e-15 < r["energy_per_bit_J"] < 4e-15 and r["pred_c_diff_F"] > 1e-15
    # a mismatch instance whose offset the bias pair cannot balance: P stuck near 0 or 1, no crash
    assert mm["status"] == "ok" and min(mm["p1"], 1 - mm["p1"]) < 0.05
