"""Orchestration: sessions, cache hits on re-run, a failing point kept out of an otherwise good sweep."""

from __future__ import annotations

import json
import math

import pytest

from pbitkit.circuits.cache import RowCache
from pbitkit.circuits.characterize import PROVENANCE_FILE, characterize, read_table
from pbitkit.circuits.sweep import load_spec
from pbitkit.errors import NgspiceNotFoundError, ProvenanceMismatchError
from pbitkit.io import read_json

from . import test_characterize_cell as oc


@pytest.mark.ngspice
def test_cache_hit_on_rerun_runs_no_simulation(tmp_path, monkeypatch) -> None:
    oc.register(monkeypatch)
    spec = load_spec({"cell": oc.NonlinearNodeCell.name, "bias": {"start_V": -0.4, "stop_V": 0.4, "n": 9},
                      "temps_C": [27.0, 50.0], "max_points_per_job": 5})
    cache = RowCache(tmp_path / "cache")
    first = characterize(spec, tmp_path / "run", workers=1, cache=cache)
    assert first.n_failed == 0 and len(first.rows) == 18
    assert first.n_sessions == 4 and first.n_simulated == 4 and first.n_cached == 0
    for r in first.rows:  # the table carries ngspice's numbers: closed-form check
        assert r["p1"] == pytest.approx(oc.exact_v(r["bias_V"]), abs=1e-9)
    second = characterize(spec, tmp_path / "run", workers=1, cache=cache)
    assert second.n_simulated == 0 and second.n_cached == 4
    assert [r["p1"] for r in second.rows] == [r["p1"] for r in first.rows]
    table = read_table(first.table_path)
    assert [r["bias_V"] for r in table] == [r["bias_V"] for r in first.rows]
    assert all(r["status"] == "ok" and r["error"] == "" for r in table)
    prov = read_json(tmp_path / "run" / PROVENANCE_FILE)
    assert prov["ngspice_version"] and prov["counts"]["sessions"] == 4
    assert "set num_threads=1" in prov["simulator_options"]
    assert len(prov["sessions"]) == 4 and all(s["cached"] for s in prov["sessions"])
    # a different spec in the same run directory is refused
    other = load_spec({"cell": oc.NonlinearNodeCell.name, "bias": {"values_V": [0.1]}})
    with pytest.raises(ProvenanceMismatchError):
        characterize(other, tmp_path / "run", workers=1, cache=cache)


@pytest.mark.ngspice
def test_failed_point_is_reported_and_the_rest_kept(tmp_path, monkeypatch) -> None:
    oc.register(monkeypatch)
    biases = [-0.3, -0.1, 0.1, 0.9, 0.3]  # 0.9 V has no operating point (|b| > 0.5)
    spec = load_spec({"cell": oc.NonlinearNodeCell.name, "bias": {"values_V": biases}})
    cache = RowCache(tmp_path / "cache")
    res = characterize(spec, tmp_path / "run", workers=1, cache=cache)
    # the 5-point session failed as a whole, was retried point by point: only 0.9 V is lost
    assert res.n_sessions == 1 and res.n_simulated == 1 + 5
    assert res.n_failed == 1
    (bad,) = res.failed_rows
    assert bad["bias_V"] == 0.9 and bad["status"] == "failed"
    assert "did not converge" in bad["error"] and "op" in bad["error"].lower()
    # the cause first: ngspice's own error on the first line, the session's name last, no metadata dump
    first = bad["error"].splitlines()[0]
    assert first.startswith("ngspice did not converge: ") and len(first) < 200, first
    assert "{" not in bad["error"] and bad["error"].rstrip().endswith(")")  # "(session <label>)"
    good = [r for r in res.rows if r["status"] == "ok"]
    assert sorted(r["bias_V"] for r in good) == sorted(b for b in biases if b != 0.9)
    for r in good:
        assert r["p1"] == pytest.approx(oc.exact_v(r["bias_V"]), abs=1e-9)
    assert math.isnan(bad["p1"])
    prov = read_json(tmp_path / "run" / PROVENANCE_FILE)
    assert len(prov["failures"]) == 1 and prov["failures"][0]["status"] == "failed"
    assert "Timestep too small" in prov["failures"][0]["error"]
    # without splitting, the whole session is marked failed
    res2 = characterize(spec, tmp_path / "run2", workers=1, cache=RowCache(tmp_path / "c2"), retry_split=False)
    assert res2.n_failed == 5


def test_missing_ngspice_fails_before_anything_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PBITKIT_NGSPICE", str(tmp_path / "nothing"))
    oc.register(monkeypatch)
    spec = load_spec({"cell": oc.NonlinearNodeCell.name})
    with pytest.raises(NgspiceNotFoundError, match="ngspice executable not found"):
        characterize(spec, tmp_path / "run", workers=1)
    assert not (tmp_path / "run").exists()


@pytest.mark.ngspice
def test_emptied_cache_entry_is_simulated_again(tmp_path, monkeypatch, caplog) -> None:
    # fault injection: a cached session rewritten as valid JSON with "rows": [] must not shrink the table
    oc.register(monkeypatch)
    spec = load_spec({"cell": oc.NonlinearNodeCell.name, "bias": {"start_V": -0.4, "stop_V": 0.4, "n": 6},
                      "max_points_per_job": 3})
    cache = RowCache(tmp_path / "cache")
    first = characterize(spec, tmp_path / "run", workers=1, cache=cache)
    assert first.n_sessions == 2 and len(first.rows) == 6
    entry_path = sorted((tmp_path / "cache").rglob("*.json"))[0]
    entry = read_json(entry_path)
    entry["rows"] = []
    entry_path.write_text(json.dumps(entry))
    second = characterize(spec, tmp_path / "run", workers=1, cache=cache)
    assert len(second.rows) == 6 and second.n_failed == 0
    assert second.n_cached == 1 and second.n_simulated == 1
    assert str(entry_path) in caplog.text
    assert [r["p1"] for r in second.rows] == [r["p1"] for r in first.rows]
    assert len(read_json(entry_path)["rows"]) == 3  # rewritten
