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
from pbitkit.errors import ConfigError
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
