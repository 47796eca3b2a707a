"""The exploration on real ngspice runs: a tiny space end to end, the nominal screen, resume after a kill."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pbitkit.explore.driver import DESIGNS_LOG, run
from pbitkit.explore.evaluate import evaluate_design
from pbitkit.explore.report import REPORT_FILE, best_versus_reference, finish_run
from pbitkit.explore.space import space_from_dict
from pbitkit.explore.store import read_records

pytestmark = pytest.mark.ngspice

#: two native-nFET bins x a core-supply range: a p-bit at 125 mV (both bins), frozen or monostable elsewhere
TINY = {
    "cell": "native_latch",
    "conditions": {"mc_instances": 2, "bias_points": 7, "mc_bias_points": 9, "mc_params": {"readout": 0}},
    "parameter": [
        {"name": "vdd_V", "kind": "range", "lo": 0.118, "hi": 0.132},
        {"name": "vtail_V", "kind": "levels", "levels": [0.08, 0.12]},
    ],
    "constraint": [{"metric": "tau_corr_s", "max": 1e-6}, {"metric": "bistable", "min": 1},
                   {"metric": "p1_min", "max": 0.1}, {"metric": "p1_max", "min": 0.9}],
    "area": {"fixed_um2": 0.819, "terms": [{"w": "wn_um", "l": "ln_um", "count": 2}]},
}


@pytest.mark.slow  # ~15 s idle, ~30 s on the loaded shared machine (7 predicted-tier designs)
def test_tiny_space_end_to_end_and_resume_from_the_log(tmp_path: Path) -> None:
    space = space_from_dict(TINY)
    out = tmp_path / "explore"  # inside a pipeline run directory (tmp_path): the pipeline's report includes it
    res = run(space, out, budget=3, n_initial=3, batch=2, workers=1)
    assert len(res.designs) == 4 and res.reference.origin == "reference"
    ref = res.reference.metrics
    # the default cell under these conditions: a p-bit spanning its range, energy per read ~2.2 fJ
    assert ref["status"] == "ok" and ref["p1_min"] < 0.05 and ref["p1_max"] > 0.95
    assert 1e-15 < ref["energy_per_bit_J"] < 4e-15 and ref["energy_per_independent_bit_J"] >= ref["energy_per_bit_J"]
    assert ref["area_um2"] == pytest.approx(0.819 + 2 * 0.42 * 0.8)
    assert len(ref["mc_v0_V"]) == 2 and ref["mc_censored"] in ([0, 0], [0, 1], [1, 0], [0, -1], [-1, 0], [1, 1],
                                                               [-1, -1], [1, -1], [-1, 1])
    # front: feasible and non-dominated; every feasible design meets every constraint
    for d, f, p in zip(res.designs, res.feasible, res.front, strict=True):
        assert not p or f
        if f:
            assert d.metrics["tau_corr_s"] <= 1e-6 and d.metrics["bistable"] == 1
    assert res.front.any()
    for name in ("designs.csv", "front.csv", DESIGNS_LOG):
        assert (out / name).stat().st_size > 0
    paths = finish_run(res, command="pbitkit explore --cell native_latch --out X")
    report = (out / REPORT_FILE).read_text()
    assert report.count("| default |") == 1 and "Energy breakdown and floor" in report
    assert (out / "front.png").read_bytes()[:4] == b"\x89PNG" and (out / "breakdown.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.name for p in paths} >= {"front.png", "breakdown.csv", "breakdown.png", "floor.json", REPORT_FILE}
    # the floor: the parts of every design that ran, the bound below every design's energy, the corner measured
    floor = json.loads((out / "floor.json").read_text())
    assert floor["n_ran"] == sum(d.ok for d in res.designs)
    assert floor["bound_J"] <= min(d.metrics["energy_per_independent_bit_J"] for d in res.designs if d.ok)
    assert floor["bound_J"] == min(d.metrics["dynamic_energy_per_bit_J"] for d in res.designs if d.ok)
    assert len((out / "breakdown.csv").read_text().splitlines()) == 1 + floor["n_ran"]
    # the pipeline report's section: the exploration's report with its figures copied and captioned
    from pbitkit.explore.report import pipeline_section

    (tmp_path / "figs").mkdir()
    sec = pipeline_section(tmp_path, tmp_path / "figs", figure_number=3)
    assert sec[0].startswith("## Design-space exploration") and "*Figure 3.*" in "\n".join(sec)
    assert (tmp_path / "figs" / "explore_front.png").is_file() and (tmp_path / "figs" / "explore_breakdown.png").is_file()
    assert pipeline_section(tmp_path / "explore", tmp_path / "figs") == []  # no exploration there
    bvr = best_versus_reference(res)
    assert bvr["best"] is None or bvr["ratio"] > 0
    # the same call again: every design from the run log, nothing evaluated
    again = run(space, out, budget=3, n_initial=3, batch=2, workers=1)
    assert again.n_evaluated == 0 and [d.key for d in again.designs] == [d.key for d in res.designs]
    # a larger budget continues the same search (same first designs), a fresh directory reuses the cache
    other = run(space, tmp_path / "run2", budget=3, n_initial=3, batch=2, workers=1)
    assert other.n_evaluated == 0 and other.n_cached == 4


def test_screen_skips_the_mismatch_runs() -> None:
    space = space_from_dict(TINY)
    cond = space.conditions.to_dict()
    area = {"fixed_um2": 0.0, "terms": []}
    m = evaluate_design("native_latch", {"vdd_V": 0.125}, cond, area,
                        screen=[{"metric": "tau_corr_s", "max": 1e-9, "min": None}])
    assert m["status"] == "ok" and m["screened"] == 1 and m["n_sessions"] == 1
    assert math.isnan(m["sigma_v0_over_vs"]) and "tau_corr_s <= 1e-09" in m["error"]
    # a check corner: the nominal step again at ff, its metrics named corner_ff_*; constraints may use them
    cond_ff = space_from_dict({**TINY, "conditions": {**TINY["conditions"], "check_corners": ["ff"]},
                               "constraint": [{"metric": "corner_ff_bistable", "min": 1}]}).conditions.to_dict()
    mf = evaluate_design("native_latch", {"vdd_V": 0.125}, cond_ff, area,
                         screen=[{"metric": "tau_corr_s", "max": 1e-9, "min": None}])
    assert mf["n_sessions"] == 2 and math.isfinite(mf["corner_ff_tau_core_s"]) and mf["corner_ff_bistable"] in (0.0, 1.0)
    # the ff corner's critical supply is ~96 mV (docs/cells.md): 125 mV is far above it, the core freezes
    assert mf["corner_ff_tau_core_s"] > mf["tau_core_s"]
    # a design the cell rejects is a failed design with the cell's message, not an exception
    bad = evaluate_design("native_latch", {"wp_um": -1.0}, cond, area)
    assert bad["status"] == "failed" and "wp_um" in bad["error"]


_CHILD = r"""
import sys
from pbitkit.explore.driver import run
from pbitkit.explore.space import space_from_dict
import json
if __name__ == "__main__":
    run(space_from_dict(json.loads(sys.argv[2])), sys.argv[1], budget=int(sys.argv[3]), n_initial=4, batch=2, workers=1)
"""


@pytest.mark.slow  # ~10 s idle, ~20-30 s loaded
def test_resume_after_a_kill(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                          os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(out), json.dumps(TINY), "4"], env=env,
                            start_new_session=True)
    log = out / DESIGNS_LOG
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 240:  # wait until two designs are stored, then kill mid-run
            if log.is_file() and len(read_records(log)) >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"the exploration ended (rc {proc.returncode}) before it could be interrupted")
            time.sleep(0.2)
        else:
            pytest.fail("no design was stored within 240 s")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # a half-written last line (as a kill during the write would leave) is ignored on resume
    with open(log, "a", encoding="utf-8") as fh:
        fh.write('{"format": 1, "key": "trunc')
    n_before = len(read_records(log))
    assert 2 <= n_before < 5
    res = run(space_from_dict(TINY), out, budget=4, n_initial=4, batch=2, workers=1)
    assert len(res.designs) == 5 and res.n_evaluated == 5 - n_before
    keys = [d.key for d in res.designs]
    assert len(set(keys)) == 5
    # the killed run's designs are the resumed run's first designs (deterministic proposals)
    assert set(r["key"] for r in read_records(log)) == set(keys)
    assert np.all([d.metrics["status"] == "ok" for d in res.designs])


def test_lean_mismatch_grid_matches_a_fine_grid() -> None:
    """The inner loop reads each mismatch instance's V0 off a 13-point grid (40 mV steps, logit-interpolated);
    a 161-point grid over the same window (3 mV steps) of the same instance agrees within 0.15 Vs."""
    from pbitkit.circuits.centering import predicted_sigmoid

    space = space_from_dict({**TINY, "conditions": {**TINY["conditions"], "mc_bias_points": 13}})
    m = evaluate_design("native_latch", {"vdd_V": 0.125}, space.conditions.to_dict(), {"fixed_um2": 0.0, "terms": []})
    centred = [k for k, c in enumerate(m["mc_censored"]) if c == 0]
    assert centred, "no mismatch instance of the default design centred in the window (seed 0 is, docs/cells.md)"
    k = centred[0]
    centre = m["v0_V"]
    fine = predicted_sigmoid("native_latch", mc_seed=k, vdd_V=0.125, params={"readout": 0.0},
                             bias_grid_V=np.linspace(centre - 0.24, centre + 0.24, 161))
    assert abs(m["mc_v0_V"][k] - fine["v0_V"]) < 0.15 * m["vs_V"], (m["mc_v0_V"][k], fine["v0_V"], m["vs_V"])
