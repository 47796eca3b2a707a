"""Sweep specs: TOML loading, validation naming the field, expansion and grouping into sessions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.sweep import QUICK_PARAMS, expand, group_points, load_spec, quick_spec
from pbitkit.errors import ConfigError

SPEC = """
cell = "strongarm"
corners = ["tt", "ff"]
temps_C = [0.0, 27.0]
vdds_V = [1.7, 1.8]
n_mc = 2
mc_seed_start = 5
noise_seed = 3
max_points_per_job = 4

[bias]
start_V = -0.02
stop_V = 0.02
n = 5

[params]
n_samples = 100
"""


def test_toml_spec_expands_to_the_full_grid(tmp_path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(SPEC)
    spec = load_spec(path)
    assert spec.mc_seeds == (-1, 5, 6)
    pts = expand(spec)
    assert len(pts) == 2 * 2 * 2 * 3 * 5
    assert {p.corner for p in pts} == {"tt", "ff"} and {p.mc_seed for p in pts} == {-1, 5, 6}
    assert all(p.params == {"n_samples": 100.0} and p.noise_seed == 3 for p in pts)
    np.testing.assert_allclose(sorted({p.bias_V for p in pts}), np.linspace(-0.02, 0.02, 5))
    sessions = group_points(pts, max_points_per_job=spec.max_points_per_job)
    assert len(sessions) == 24 * 2  # 24 groups of 5 bias points, chunks of <= 4 -> 2 per group
    for s in sessions:
        assert len({p.group_key() for p in s}) == 1 and 1 <= len(s) <= 4
    assert sorted(p.bias_V for s in sessions for p in s) == sorted(p.bias_V for p in pts)
    assert load_spec(spec.to_dict()) == spec  # round trip


def test_grouping_makes_work_for_every_worker() -> None:
    pts = expand(load_spec({"cell": "strongarm", "bias": {"n": 9}}))
    assert len(group_points(pts, max_points_per_job=16, min_jobs=1)) == 1
    two = group_points(pts, max_points_per_job=16, min_jobs=2)
    assert len(two) == 2 and sorted(len(s) for s in two) == [4, 5]
    # interleaved chunks: each session spans the bias range
    assert all(min(p.bias_V for p in s) < 0 < max(p.bias_V for p in s) for s in two)
    assert len(group_points(pts, max_points_per_job=16, min_jobs=100)) == 9
    # several devices: split only where it shortens the estimated wall time (session overhead counted)
    three = expand(load_spec({"cell": "strongarm", "bias": {"n": 9}, "n_mc": 2}))
    assert sorted(len(s) for s in group_points(three, min_jobs=2)) == [4, 4, 4, 5, 5, 5]  # 2 x 5.5 < 2 x 9.5
    ten = expand(load_spec({"cell": "strongarm", "bias": {"n": 9}, "n_mc": 9}))
    assert [len(s) for s in group_points(ten, min_jobs=2)] == [9] * 10  # already balanced: no extra sessions
    # the predicted tier computes all points in one analysis: never split
    both = expand(load_spec({"cell": "latch", "bias": {"n": 9}, "tiers": ["transient", "predicted"]}))
    sessions = group_points(both, min_jobs=2)
    assert sorted((s[0].tier, len(s)) for s in sessions) == [("predicted", 9), ("transient", 4), ("transient", 5)]


@pytest.mark.parametrize(("data", "match"), [
    ({"cell": "nope"}, "unknown cell 'nope'"),
    ({"cell": "strongarm", "corners": ["xx"]}, "corners: 'xx'"),
    ({"cell": "strongarm", "params": {"bogus": 1.0}}, "unknown parameter 'bogus'"),
    ({"cell": "strongarm", "n_mc": -1}, "n_mc"),
    ({"cell": "strongarm", "n_mc": 0, "include_nominal": False}, "no device"),
    ({"cell": "strongarm", "bias": {"values_V": [0.1], "start_V": 0.0, "stop_V": 1.0}}, "either values_V"),
    ({"cell": "strongarm", "temps_C": [300.0]}, "temps_C"),
    ({"cell": "strongarm", "tiers": ["measured"]}, "tiers"),
    ({"cell": "strongarm", "colour": "red"}, r"unknown key\(s\) \['colour'\]"),
    ({"cell": "strongarm", "n_mc": "two"}, "n_mc: expected an integer"),
    # numbers that cannot be right: a clear error naming the field, not a traceback or a MemoryError
    ({"cell": "strongarm", "params": {"n_samples": 0}}, r"n_samples must be an integer in \[2, 1e\+06\], got 0"),
    ({"cell": "strongarm", "params": {"n_samples": 10.5}}, "n_samples must be an integer"),
    ({"cell": "strongarm", "params": {"n_samples": 1e9}}, "n_samples"),
    ({"cell": "strongarm", "params": {"noise_dt_s": 1e-16}}, "time steps per bias point"),
    ({"cell": "strongarm", "timeout_s": math.inf}, "timeout_s must be a finite time"),
    ({"cell": "strongarm", "timeout_s": 0.0}, "timeout_s"),
    ({"cell": "strongarm", "bias": {"n": 1_000_000_000}}, r"bias.n must be an integer in \[1, 10000\]"),
    ({"cell": "strongarm", "bias": {"n": 0}}, "bias.n"),
    ({"cell": "strongarm", "n_mc": 1_000_000_000}, r"n_mc must be in \[0, 10000\]"),
    ({"cell": "strongarm", "n_mc": 9000, "bias": {"n": 9000}}, "the sweep has .* points"),
    ({"cell": "latch", "params": {"noise_dt_s": 1e-16}}, "t_stop_s / noise_dt_s make 1e\\+15 time steps"),
    ({"cell": "latch", "params": {"t_stop_s": -1.0}}, "t_stop_s must be a number in"),
    ({"cell": "latch", "params": {"readout": 0.5}}, "readout must be an integer"),
    ({"cell": "invchain", "params": {"n_samples": 0}}, "n_samples"),
    ({"cell": "invchain", "params": {"sample_period_s": 1e-3}}, "time steps per bias point"),
])
def test_bad_specs_name_the_field(data, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_spec(data)


def test_defaults_and_quick_specs_pass_the_checks() -> None:
    # negative control for the bounds above: every cell's defaults and quick spec are accepted
    for name in ("latch", "strongarm", "invchain"):
        load_spec({"cell": name})
        quick_spec(name)


def test_repeated_bias_values_are_independent_replicas() -> None:
    pts = expand(load_spec({"cell": "strongarm", "bias": {"values_V": [0.01, 0.02, 0.01, 0.01]}}))
    assert [(p.bias_V, p.replica) for p in pts] == [(0.01, 0), (0.02, 0), (0.01, 1), (0.01, 2)]
    same = expand(load_spec({"cell": "strongarm", "bias": {"start_V": 0.0, "stop_V": 0.0, "n": 3}}))
    assert [p.replica for p in same] == [0, 1, 2]
    seeds = {tuple(p.noise_seed_sequence().generate_state(4)) for p in same}
    assert len(seeds) == 3  # three different noise realizations
    # a sweep without repeats is unchanged (replica 0: the same noise, the same rows as before)
    assert {p.replica for p in expand(load_spec({"cell": "strongarm"}))} == {0}


@pytest.mark.ngspice
def test_replicas_give_different_bits(tmp_path) -> None:
    from pbitkit.circuits.bits import read_bits
    from pbitkit.circuits.cache import RowCache
    from pbitkit.circuits.characterize import characterize

    spec = load_spec({"cell": "strongarm", "bias": {"values_V": [0.0, 0.0]}, "params": {"n_samples": 60}})
    res = characterize(spec, tmp_path / "run", workers=1, cache=RowCache(tmp_path / "cache"), plot=False)
    assert [r["noise_replica"] for r in res.rows] == [0, 1] and res.n_failed == 0
    bits = read_bits(res.bits_path)
    a, b = (bits[r["row_id"]].bits for r in res.rows)
    assert a.size == b.size == 60 and not (a == b).all()


def test_quick_spec_spans_the_default_range() -> None:
    for name in QUICK_PARAMS:
        spec = quick_spec(name)
        pts = expand(spec)
        lo, hi = get_cell(name).default_bias_range(spec.params)
        assert len(pts) >= 9 and min(p.bias_V for p in pts) == lo and max(p.bias_V for p in pts) == hi
