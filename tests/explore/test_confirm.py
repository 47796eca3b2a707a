"""Transient confirmation (predicted vs transient tier within stated tolerances) and the end-to-end step."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pbitkit.explore.confirm import (
    AGREEMENT_MIN,
    ENERGY_TOL_REL,
    P_TOL_ABS,
    P_TOL_SE,
    TAU_TOL_FACTOR,
    ConfirmResult,
    compare_tiers,
    confirm_design,
    confirm_front,
    confirm_markdown,
)
from pbitkit.explore.driver import run
from pbitkit.explore.endtoend import E2EConfig, end_to_end, end_to_end_markdown
from pbitkit.explore.space import space_from_dict
from pbitkit.errors import ConfigError
from pbitkit.pbitmodel import DeviceModel


def _rows(p_pred, p_tran, *, tau=(150e-9, 158e-9), e=(2.2e-15, 2.17e-15), agreement=0.97, n_eff=200.0):
    b = np.linspace(0.04, 0.16, len(p_pred))
    rows = []
    for x, pp, pt in zip(b, p_pred, p_tran, strict=True):
        half = 1.96 * math.sqrt(max(pt * (1 - pt), 1e-4) / n_eff)
        rows.append({"tier": "predicted", "status": "ok", "bias_V": x, "p1": pp, "tau_corr_s": tau[0],
                     "energy_per_bit_J": e[0], "energy_per_independent_bit_J": e[0]})
        rows.append({"tier": "transient", "status": "ok", "bias_V": x, "p1": pt, "p1_lo": pt - half, "p1_hi": pt + half,
                     "tau_corr_s": tau[1], "energy_per_bit_J": e[1], "energy_per_independent_bit_J": e[1],
                     "readout_agreement": agreement})
    return rows


def test_compare_tiers_flags_each_disagreement() -> None:
    p = np.array([0.02, 0.2, 0.5, 0.8, 0.98])
    ok = compare_tiers(_rows(p + 0.01, p))
    assert ok.agree and ok.max_dp == pytest.approx(0.01) and ok.n_p_fail == 0
    # negative controls, one figure at a time beyond its tolerance
    off = compare_tiers(_rows(p + np.array([0, 0, 0.2, 0, 0]), p))
    assert not off.agree and off.n_p_fail == 1 and "P(1) at 1 of 5 points" in off.disagreements[0]
    assert not compare_tiers(_rows(p, p, tau=(150e-9, 150e-9 * (TAU_TOL_FACTOR + 0.5)))).agree
    assert not compare_tiers(_rows(p, p, e=(2.2e-15 * (1 + ENERGY_TOL_REL + 0.05), 2.2e-15))).agree
    # energy per independent bit off while energy per read and tau are inside their own tolerances
    rows = _rows(p, p)
    for r in rows:
        if r["tier"] == "transient":
            r["energy_per_independent_bit_J"] *= 1 + ENERGY_TOL_REL + 0.1
    assert "energy per independent bit" in compare_tiers(rows).disagreements[0]
    stalled = compare_tiers(_rows(p, p, agreement=AGREEMENT_MIN - 0.2))
    assert not stalled.agree and "readout agreement" in stalled.disagreements[0]
    with pytest.raises(ValueError, match="different biases"):
        compare_tiers(_rows(p, p)[:-1])


#: the default design and one near it (a slightly higher core supply, a stronger tail)
NEAR_DEFAULT = {
    "cell": "native_latch",
    "conditions": {"mc_instances": 2, "bias_points": 7, "mc_bias_points": 9, "mc_params": {"readout": 0}},
    "parameter": [{"name": "vdd_V", "kind": "levels", "levels": [0.126]},
                  {"name": "vtail_V", "kind": "levels", "levels": [0.1]}],
    "constraint": [{"metric": "p1_min", "max": 0.1}, {"metric": "p1_max", "min": 0.9}],
    "area": {"fixed_um2": 0.819, "terms": [{"w": "wn_um", "l": "ln_um", "count": 2}]},
}


@pytest.mark.ngspice
@pytest.mark.slow  # two designs x 5 bias points x both tiers (30 us transients), a tiny DTM trained and sampled, trim
def test_confirmation_and_end_to_end(tmp_path: Path) -> None:
    res = run(space_from_dict(NEAR_DEFAULT), tmp_path / "run", budget=1, n_initial=1, workers=1)
    assert len(res.designs) == 2 and res.front.any()
    conf = confirm_front(res, k=1, n_bias=5, params={"t_stop_s": 30e-6}, workers=2)
    # the default first, once, then the front designs besides it (here the nearby design, when it is on the front)
    others = [d for d in res.front_designs if d.origin != "reference"]
    assert [it.design.origin for it in conf.items] == ["reference"] + ["initial"] * len(others[:1])
    if not others:  # the nearby design is dominated by the default: confirm it directly
        near = next(d for d in res.designs if d.origin != "reference")
        conf = ConfirmResult(res, conf.items + [confirm_design(res, near, res.out_dir, n_bias=5,
                                                               params={"t_stop_s": 30e-6}, workers=2)], n_bias=5)
    assert len(conf.items) == 2
    for it in conf.items:
        c = it.comparison
        assert c is not None, it.error
        # the stated tolerances (module constants); the transient SE is from each row's n_eff interval
        assert np.all(np.abs(c.p_pred - c.p_tran) <= P_TOL_SE * c.p_se + P_TOL_ABS), (it.label, c.disagreements)
        assert abs(c.e_pred_J / c.e_tran_J - 1) <= ENERGY_TOL_REL
        assert 1 / TAU_TOL_FACTOR <= c.tau_pred_s / c.tau_tran_s <= TAU_TOL_FACTOR
        # energy per independent bit: the default within tolerance; the nearby design (core supply 2.5 mV closer
        # to freezing) has transient reads ~1.5x more correlated than predicted (seeded: measured 2.54 vs 3.88 fJ),
        # which the comparison must report as a disagreement
        ei_ok = abs(c.ei_pred_J / c.ei_tran_J - 1) <= ENERGY_TOL_REL
        assert ei_ok == (not any("energy per independent bit" in w for w in c.disagreements))
        if it.design.origin == "reference":
            assert ei_ok and c.agree, c.disagreements
        card = DeviceModel.load(it.card_path)
        assert card.cell == "native_latch" and 0.005 < card.vs_V < 0.05
        assert (card.variation.v0_sigma_V > 0) and (it.variation_defined == math.isfinite(it.design.metrics["sigma_v0_V"]))
    assert "Transient confirmation" in confirm_markdown(conf)
    tiny = E2EConfig(n_steps=1, epochs=1, n_train=100, label_repeat=3, K=5, n_samples=40, n_boot=5, hardware_aware="always")
    e2e = end_to_end(conf, k=1, config=tiny)
    assert len(e2e.points) == 2 and e2e.gpu_energy_J > e2e.paper_energy_J > 0
    for p in e2e.points:
        assert math.isfinite(p.fd) and p.fd_lo <= p.fd <= p.fd_hi and p.energy_per_sample_J > 0
        # a hardware-aware model trained on each design's calibrated chip, sampled on that chip
        assert p.hardware_aware and p.fd_hw_lo <= p.fd_hw <= p.fd_hw_hi and 0 <= p.cond_acc_hw <= 1
    assert math.isfinite(e2e.ideal_fd)
    rec = json.loads((tmp_path / "run" / "endtoend.json").read_text())
    assert len(rec["points"]) == 2 and (tmp_path / "run" / "quality_vs_energy.png").is_file()
    assert "End to end" in end_to_end_markdown(e2e) and "Hardware-aware" in end_to_end_markdown(e2e)
    # a second call takes every design's result from its record (no sampling, no training): same numbers; with
    # "never" the same records serve and no hardware-aware figure is reported
    again = end_to_end(conf, k=1, config=tiny)
    assert [(p.fd, p.fd_hw) for p in again.points] == [(p.fd, p.fd_hw) for p in e2e.points]
    never = end_to_end(conf, k=1, config=dataclasses.replace(tiny, hardware_aware="never"))
    assert [p.fd for p in never.points] == [p.fd for p in e2e.points] and not any(p.hardware_aware for p in never.points)
    with pytest.raises(ConfigError, match="hardware_aware"):
        E2EConfig(hardware_aware="sometimes")
    # other array / DTM code (e.g. another calibration): nothing is reused, the model and every record are new
    import pbitkit.provenance

    before = {p.name for p in (tmp_path / "run" / "endtoend").iterdir()}
    real_version = pbitkit.provenance.code_version
    try:
        pbitkit.provenance.code_version = lambda parts: {"pbitkit": "0", "source_sha256": "other code"}
        end_to_end(conf, k=1, config=dataclasses.replace(tiny, hardware_aware="never"))
    finally:
        pbitkit.provenance.code_version = real_version
    new = {p.name for p in (tmp_path / "run" / "endtoend").iterdir()} - before
    assert len([n for n in new if n.startswith("dtm-")]) == 1 and len([n for n in new if n.endswith(".json")]) == 2, new
    # the default's chip after per-cell trim: its card's spread replaced by the trimmed instances' residual
    from pbitkit.explore.trim import trim_design

    t = trim_design(res, res.reference, workers=2)
    trimmed = end_to_end(conf, k=0, config=dataclasses.replace(tiny, hardware_aware="never"), trims={"default": t})
    assert len(trimmed.points) == 2 and trimmed.points[0].label.startswith("default")
    assert trimmed.points[1].label == "default-trimmed" and trimmed.points[1].variation_defined
    card = DeviceModel.load(tmp_path / "run" / "cards" / "default-trimmed.json")
    assert card.variation.v0_sigma_V == pytest.approx(t.rms_after_V) and math.isfinite(trimmed.points[1].fd)
