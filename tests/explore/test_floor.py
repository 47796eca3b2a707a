"""The energy breakdown and floor on synthetic designs whose readout/clock energy is a known function of the
parameters: the parts add up, the fitted effects and the dependence are recovered, the bound and the verdict
follow (and flip when the readout is made cheap: the negative control)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pbitkit.explore.driver import DesignResult, ExploreResult, front_mask
from pbitkit.explore.floor import PARTS, energy_parts, floor_analysis, floor_corner, floor_markdown
from pbitkit.explore.space import space_from_dict

SPACE = {
    "cell": "native_latch",
    "parameter": [
        {"name": "vddr_V", "kind": "range", "lo": 0.45, "hi": 0.6},
        {"name": "w_in_um", "kind": "log_range", "lo": 0.42, "hi": 2.0},
        {"name": "wp_um", "kind": "log_range", "lo": 0.42, "hi": 8.0},
        {"name": "sample_period_s", "kind": "range", "lo": 2e-7, "hi": 6e-7},
    ],
    "constraint": [{"metric": "tau_corr_s", "max": 1e-6}],
    "area": {"fixed_um2": 1.0, "terms": []},
}
#: the readout/clock energy rises x2.5 over the readout supply's range and x1.3 over the input pair's, and
#: does not depend on the core pFET's width nor on the read period
E_RC0, F_VDDR, F_WIN = 1.4e-15, 2.5, 1.3


def _designs(scale_rc: float = 1.0, n: int = 60, seed: int = 0) -> ExploreResult:
    space = space_from_dict(SPACE)
    rng = np.random.default_rng(seed)
    designs = []
    for k in range(n + 1):
        u = np.full(4, 0.0) if k == 0 else rng.uniform(size=4)
        u[3] = 0.25 if k == 0 else u[3]  # the reference reads every 300 ns
        d = space.decode(u)
        # log-linear in each parameter scaled to [0, 1] over its bounds (u[0]: the readout supply's range is linear)
        rc = scale_rc * E_RC0 * F_VDDR ** u[0] * F_WIN ** ((d["w_in_um"] - 0.42) / (2.0 - 0.42))
        p_static = 2e-9 * (1 + 0.1 * d["wp_um"])
        period = d["sample_period_s"]
        tau = (0.3 if k == 0 else rng.uniform(0.3, 1.2)) * period
        e_read = p_static * period + rc
        metrics = {"status": "ok", "static_power_W": p_static, "sample_period_s": period,
                   "dynamic_energy_per_bit_J": rc, "energy_per_bit_J": e_read,
                   "energy_per_independent_bit_J": e_read * max(1.0, 2 * tau / period), "tau_corr_s": tau,
                   "sigma_v0_over_vs": 1.0, "area_um2": 1.0}
        designs.append(DesignResult(f"{k:064x}", d, metrics, "reference" if k == 0 else "initial", 0, tuple(u)))
    feas, front = front_mask(space, designs)
    return ExploreResult(space, Path("."), designs, feas, front, len(designs), 0, 0.0, 0.0)


def test_parts_add_up_and_the_floor_follows() -> None:
    res = _designs()
    for d in res.designs:
        parts = energy_parts(d.metrics)
        assert sum(parts[p] for p in PARTS) == pytest.approx(d.metrics["energy_per_independent_bit_J"], rel=1e-12)
        assert parts["readout_clock"] == d.metrics["dynamic_energy_per_bit_J"] and parts["correlation"] >= 0
    fa = floor_analysis(res)
    cov = {c.name: c for c in fa.coverage}
    # the multi-parameter fit recovers the law exactly (it is log-linear in the scaled parameters)
    assert cov["vddr_V"].effect == pytest.approx(F_VDDR, rel=1e-9) and cov["w_in_um"].effect == pytest.approx(F_WIN, rel=1e-9)
    assert cov["wp_um"].effect == pytest.approx(1.0, abs=1e-9) and fa.fit_r2 == pytest.approx(1.0)
    assert [c.name for c in fa.coverage if c.depends] == ["vddr_V", "w_in_um"]
    assert floor_corner(fa) == {"vddr_V": 0.45, "w_in_um": 0.42}
    rc = [d.metrics["dynamic_energy_per_bit_J"] for d in res.designs]
    assert fa.bound_J == min(rc) and fa.bound_design is not None
    assert fa.target_J == pytest.approx(res.reference.metrics["energy_per_independent_bit_J"] / 2)
    # the reference (at the corner) costs >= 1.4 fJ of readout alone: no factor 2 possible
    assert fa.factor2_excluded and fa.best_ratio_possible < 2 and fa.dominant == "readout_clock"
    text = floor_markdown(fa, command="pbitkit explore --cell native_latch --out X")
    assert "No design of the space can reach the factor 2" in text and "`pbitkit explore --cell" in text
    # the corner measured directly lowers the floor when it is below every explored design
    corner = {"status": "ok", "static_power_W": 1e-9, "sample_period_s": 2e-7, "dynamic_energy_per_bit_J": 0.5 * min(rc),
              "energy_per_bit_J": 0.5 * min(rc) + 2e-16, "energy_per_independent_bit_J": 0.5 * min(rc) + 2e-16}
    fc = floor_analysis(res, corner_metrics=corner, corner_design=floor_corner(fa))
    assert fc.floor_J == pytest.approx(0.5 * min(rc)) and fc.corner_design == {"vddr_V": 0.45, "w_in_um": 0.42}


def test_a_cheap_readout_does_not_exclude_the_factor_2() -> None:
    """Negative control: the same designs with the readout/clock part / 5 — the floor no longer excludes it."""
    fa = floor_analysis(_designs(scale_rc=0.2))
    assert not fa.factor2_excluded and fa.floor_J < fa.target_J
    assert "does not exclude the factor 2" in floor_markdown(fa)


def test_pipeline_report_includes_an_exploration(tmp_path: Path) -> None:
    """A pipeline run directory holding ``explore/`` gets the exploration as a report section, its figure copied
    and numbered; without it the report has no such section (negative control)."""
    from pbitkit.explore.plots import plot_breakdown
    from pbitkit.explore.report import PIPELINE_DIR, REPORT_FILE
    from pbitkit.pipeline.config import default_config
    from pbitkit.pipeline.report import write_pipeline_report

    bare = write_pipeline_report(tmp_path, default_config(), {}, {}).read_text()
    assert "Design-space exploration" not in bare
    ex = tmp_path / PIPELINE_DIR
    ex.mkdir()
    plot_breakdown([{"label": "default", "static": 1e-15, "readout_clock": 1.4e-15, "correlation": 0.0}],
                   ex / "breakdown.png", parts=PARTS, target_J=1.2e-15, floor_J=1.4e-15)
    (ex / REPORT_FILE).write_text("## Design-space exploration: `native_latch`\n\n### Energy breakdown and floor\n\n"
                                  "![Energy by part (J)](breakdown.png)\n\nNo design reaches the factor 2.\n")
    text = write_pipeline_report(tmp_path, default_config(), {}, {}).read_text()
    assert "## Design-space exploration of the cell" in text and "#### Energy breakdown and floor" in text
    assert "![Energy by part (J)](figures/explore_breakdown.png)" in text and "Energy by part (J)." in text
    assert (tmp_path / "report" / "figures" / "explore_breakdown.png").is_file()
    assert text.index("Design-space exploration") < text.index("Provenance")
