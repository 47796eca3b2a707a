"""Per-device trims in a characterization (``trim = "calibrate"``): mismatch instances of a cell with per-cell
trims are calibrated by the cell's own procedure, cached, and simulated trimmed; the pipeline asks for it
for such cells only."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.device_trim import has_calibration, trim_points
from pbitkit.circuits.ngspice import ngspice_version, run
from pbitkit.circuits.sweep import expand, load_spec
from pbitkit.errors import ConfigError, PbitkitError
from pbitkit.pipeline.config import default_config, quick_config
from pbitkit.pipeline.run import sweep_spec_for

CELL = NativeLatchCell()


def test_trim_is_asked_for_cells_that_have_a_calibration_only() -> None:
    assert has_calibration("native_latch") and not has_calibration("strongarm")
    with pytest.raises(ConfigError, match="no per-device calibration"):
        load_spec({"cell": "strongarm", "n_mc": 1, "trim": "calibrate"})
    with pytest.raises(ConfigError, match="trim"):
        load_spec({"cell": "native_latch", "trim": "sometimes"})
    for cfg in (default_config(), quick_config()):
        for cell in cfg.characterize.cells:
            assert sweep_spec_for(cfg, cell).trim == ("calibrate" if cell == "native_latch" else "none")


@pytest.mark.ngspice
@pytest.mark.slow
def test_mismatch_device_is_calibrated_once_and_then_read_from_the_cache(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBITKIT_CACHE", str(tmp_path / "cache"))
    ref = CELL.params()["ref_V"]
    spec = load_spec({"cell": "native_latch", "n_mc": 1, "mc_seed_start": 1, "tiers": ["predicted"],
                      "bias": {"values_V": [ref]}, "trim": "calibrate"})
    points = expand(spec)  # the nominal device and mc_seed 1
    version = ngspice_version()
    trimmed, trims = trim_points(points, models="sky130", ngspice_version=version, workers=2)
    assert [t["mc_seed"] for t in trims] == [1] and not trims[0]["cached"] and trims[0]["reachable"]
    nominal, inst = trimmed
    assert nominal.params == points[0].params  # the nominal device is not trimmed
    assert set(inst.params) >= {"trim_V", "ro_trim_V"} and inst.params["trim_V"] != 0.0
    again, trims2 = trim_points(points, models="sky130", ngspice_version=version, workers=2)
    assert trims2[0]["cached"] and again[1].params == inst.params

    def p1(pt: SweepPoint) -> float:
        (job,) = CELL.jobs([pt])
        (row,) = CELL.rows(job, run(job))
        return float(row["p1"])

    # negative control: untrimmed, mc_seed 1 sits at P(1) = 0 at bias = ref (measured; its centre lies far
    # outside the bias pair's reach); trimmed, within one core-trim step of 1/2
    assert p1(points[1]) < 0.01
    assert 0.2 < p1(inst) < 0.8


def test_off_nominal_corners_run_at_their_stored_die_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Every device at an off-nominal corner / temperature takes the core supply and trims the per-die
    calibration stored in the cell's corner table; tt / 27 C keeps the defaults; a corner without a working
    record keeps the nominal supply and says so; a malformed record is an error naming the table."""
    import json

    import pbitkit.paths
    from pbitkit.circuits.device_trim import die_setup

    table = tmp_path / "native_latch_corners.jsonl"
    good = {"corner": "ff", "temp_C": 27.0, "ok": True, "code": 36, "well_code": None, "v_core_V": 0.0905,
            "params": {"ro_trim_V": 0.003, "nwell_V": 0.0}}
    failed = {"corner": "sf", "temp_C": 27.0, "ok": False, "v_core_V": 0.2, "params": {}}
    # calibrated, but out of the band in the independent record that follows the calibration
    unchecked = {"corner": "fs", "temp_C": 27.0, "ok": True, "in_band": False, "v_core_V": 0.17, "params": {}}
    table.write_text(json.dumps(good) + "\n" + json.dumps(failed) + "\n" + json.dumps(unchecked) + "\n")
    monkeypatch.setattr(pbitkit.paths, "data_dir", lambda: tmp_path)
    pts = [SweepPoint("native_latch", b, corner=c, temp_C=27.0) for c in ("tt", "ff", "sf") for b in (0.09, 0.11)]
    with caplog.at_level("WARNING"):
        out, recs = trim_points(pts, models="sky130", ngspice_version=ngspice_version())  # no mismatch: no ngspice
    by = {(p.corner, p.bias_V): p for p in out}
    assert by[("tt", 0.09)] == pts[0]                                    # nominal conditions untouched
    assert by[("ff", 0.11)].vdd_V == 0.0905 and by[("ff", 0.11)].params["ro_trim_V"] == 0.003
    assert by[("sf", 0.09)].vdd_V is None                                # failed record: not used
    assert "sf at 27" in caplog.text or "sf / 27" in caplog.text
    assert die_setup("native_latch", "fs", 27.0) is None                  # failed its independent check
    assert [r["corner"] for r in recs] == ["ff"] and recs[0]["die_setup"] and "line 1" in recs[0]["source"]
    assert die_setup("native_latch", "tt", 27.0) is None and die_setup("strongarm", "ff", 27.0) is None
    table.write_text(json.dumps({**good, "v_core_V": "0.09"}) + "\n")    # corrupt: a string supply
    with pytest.raises(PbitkitError, match="native_latch_corners.jsonl, line 1: malformed"):
        die_setup("native_latch", "ff", 27.0)


def test_the_shipped_corner_table_gives_every_working_corner_a_supply() -> None:
    """The shipped table's working records parse, and each sets a core supply within the generator's range."""
    from pbitkit.circuits.device_trim import die_setup
    from pbitkit.circuits.models import CORNERS

    found = [(c, t, s) for c in CORNERS for t in (0.0, 27.0, 85.0)
             if (s := die_setup("native_latch", c, t)) is not None]
    assert found, "the shipped corner table has no working off-nominal record"
    for c, t, s in found:
        assert 0.03 < s["vdd_V"] < 0.45, (c, t, s)
