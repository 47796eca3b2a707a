"""Per-device bias centering: mismatched devices are swept around their own (predicted) centre."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.sweep import expand, load_spec
from pbitkit.errors import ConfigError

SPEC = {"cell": "strongarm", "corners": ["tt"], "n_mc": 1, "mc_seed_start": 1, "bias": {"n": 3},
        "params": {"n_samples": 100, "stair_steps": 401, "stair_span_V": 0.04}}


def test_mc_corners_limit_mismatch_seeds_to_those_corners() -> None:
    spec = load_spec({**SPEC, "corners": ["tt", "ff", "ss"], "mc_corners": ["tt"], "n_mc": 3})
    devices = {(p.corner, p.mc_seed) for p in expand(spec)}
    assert devices == {("tt", -1), ("tt", 1), ("tt", 2), ("tt", 3), ("ff", -1), ("ss", -1)}
    with pytest.raises(ConfigError, match="mc_corners: 'sf' is not among corners"):
        load_spec({**SPEC, "mc_corners": ["sf"]})


@pytest.mark.ngspice
def test_centering_puts_a_mismatched_device_on_its_sigmoid(tmp_path: Path) -> None:
    # mismatch seed 1 moves the StrongARM's centre by ~+36 mV (~70 sigmoid widths of its 0.5 mV input
    # noise): a fixed grid of +-1.1 mV sees it saturated (negative control), the centred grid puts its
    # sigmoid inside the sweep. (3 bias points, 100 clock cycles each; the centering's +-44 mV search runs a
    # 401-step staircase, 0.22 mV steps: predicted V0 36.19 mV, 36.26 mV with 0.1 mV steps; the noisy reads'
    # 50 % point lies ~0.2 mV (0.4 widths) above the noiseless threshold, so the middle point reads P ~ 0.25-0.4,
    # not 1/2; sessions run two at a time in threads, which only wait on the ngspice processes)
    with ThreadPoolExecutor(2) as ex:
        fixed = characterize(load_spec({**SPEC, "include_nominal": False}), tmp_path / "fixed", ex, plot=False)
        centred = characterize(load_spec({**SPEC, "include_nominal": False, "bias_centering": "predicted"}),
                               tmp_path / "centred", ex, plot=False)
    n = centred.rows[1]["n_samples"]
    se = math.sqrt(0.25 / n)  # binomial SE at P = 1/2 (comparator reads are independent: tau_int ~ 1)
    p_centred = [r["p1"] for r in centred.rows]
    assert p_centred[0] < 0.5 < p_centred[2], p_centred  # the transition lies inside the centred sweep
    assert 0.1 < p_centred[1] < 0.9, p_centred  # the middle point on the sigmoid, not in a tail
    assert all(r["p1"] < 4 * se for r in fixed.rows), [r["p1"] for r in fixed.rows]  # without centering: saturated
    shift = centred.rows[1]["bias_V"] - fixed.rows[1]["bias_V"]
    assert shift > 0.02  # the predicted centre moved the grid by tens of sigmoid widths


def test_centre_cache_key_changes_when_a_netlist_cell_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from pbitkit.circuits.cell_base import SweepPoint
    from pbitkit.circuits.centering import _cache_key
    from pbitkit.paths import netlists_dir

    src = netlists_dir() / "cells"
    for ext in ("cir", "toml"):
        shutil.copyfile(src / f"invchain.{ext}", tmp_path / f"mycell.{ext}")
    monkeypatch.setenv("PBITKIT_CELLS", str(tmp_path))
    pt = SweepPoint("mycell", 0.0)
    before = _cache_key(pt, "sky130", "39")
    (tmp_path / "mycell.cir").write_text((tmp_path / "mycell.cir").read_text() + "* edited\n")
    assert _cache_key(pt, "sky130", "39") != before


@pytest.mark.ngspice
def test_corrupt_centre_cache_entry_is_predicted_again(tmp_path: Path, monkeypatch, caplog) -> None:
    from pbitkit.circuits.centering import centre_points
    from pbitkit.circuits.ngspice import ngspice_version
    from pbitkit.paths import cache_dir

    models = cache_dir() / "models"  # share the built model libraries, not the centre cache
    monkeypatch.setenv("PBITKIT_CACHE", str(tmp_path / "cache"))
    if models.is_dir():
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "models").symlink_to(models, target_is_directory=True)
    pts = expand(load_spec({**SPEC, "n_mc": 0, "bias": {"n": 1}}))
    _, first = centre_points(pts, models="sky130", ngspice_version=ngspice_version())
    (entry,) = (tmp_path / "cache" / "circuits" / "centres").glob("*.json")
    _, again = centre_points(pts, models="sky130", ngspice_version=ngspice_version())
    assert not first[0]["cached"] and again[0]["cached"] and again[0]["v0_pred_V"] == first[0]["v0_pred_V"]
    entry.write_text('{"v0_V": "garbage"}')
    _, third = centre_points(pts, models="sky130", ngspice_version=ngspice_version())
    assert not third[0]["cached"] and third[0]["v0_pred_V"] == first[0]["v0_pred_V"]
    assert str(entry) in caplog.text and "corrupt centre cache entry" in caplog.text
