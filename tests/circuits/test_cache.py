"""Row cache: what goes into the key, atomic JSON entries with NaN, corrupt entries are misses."""

from __future__ import annotations

import math

from pbitkit.circuits.cache import RowCache, job_key
from pbitkit.circuits.ngspice import SimJob
from pbitkit.io import atomic_write_json, read_json, sha256_json


def _net(model_path) -> str:
    return f'c\n.include "{model_path}"\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n'


def test_key_covers_netlist_files_models_version_and_code(tmp_path) -> None:
    model = tmp_path / "m.spice"
    model.write_text("* model v1\n")
    base = SimJob(_net(model), files={"n.txt": "0 0\n"}, vectors=("v(a)",))
    k = job_key(base, ngspice_version="39")
    assert k == job_key(SimJob(_net(model), files={"n.txt": "0 0\n"}, vectors=("v(a)",), label="x", timeout_s=9),
                        ngspice_version="39")  # label/timeout do not matter
    assert k != job_key(SimJob(_net(model) + "* changed\n", files={"n.txt": "0 0\n"}, vectors=("v(a)",)),
                        ngspice_version="39")
    assert k != job_key(SimJob(_net(model), files={"n.txt": "0 1\n"}, vectors=("v(a)",)), ngspice_version="39")
    assert k != job_key(base, ngspice_version="40")
    assert k != job_key(base, ngspice_version="39", code_modules=("pbitkit.circuits.measure",))
    model.write_text("* model v2, same path\n")  # model content is hashed, not just its path
    assert k != job_key(base, ngspice_version="39")


def test_put_get_round_trip_with_nan_and_corrupt_entries(tmp_path) -> None:
    cache = RowCache(tmp_path)
    rows = [{"bias_V": 0.1, "p1": math.nan, "tau_corr_s": math.inf, "status": "ok", "mc_seed": -1}]
    key = "ab" * 32
    assert cache.get(key) is None and key not in cache
    path = cache.put(key, rows, label="t")
    assert key in cache and "NaN" not in path.read_text()  # strict JSON on disk
    got = cache.get(key)
    assert got is not None and math.isnan(got[0]["p1"]) and got[0]["tau_corr_s"] == math.inf
    assert got[0]["mc_seed"] == -1 and got[0]["status"] == "ok"
    path.write_text("{ truncated")
    assert cache.get(key) is None  # unreadable entry -> miss (re-simulated), not a crash
    assert not list(tmp_path.rglob("*.tmp"))


def test_entries_are_verified_against_their_recorded_count_and_checksum(tmp_path, caplog) -> None:
    cache = RowCache(tmp_path)
    rows = [{"bias_V": b, "p1": 0.5, "status": "ok"} for b in (0.1, 0.2, 0.3)]
    key = "cd" * 32
    path = cache.put(key, rows)
    assert cache.get(key, n_rows=3) == rows
    entry = read_json(path)
    assert entry["n_rows"] == 3 and len(entry["rows_sha256"]) == 64
    # valid JSON, rows emptied (the fault-injection case): a miss that names the file
    atomic_write_json(path, {**entry, "rows": []})
    assert cache.get(key) is None
    assert str(path) in caplog.text and "corrupt" in caplog.text
    # one row dropped, or one value changed: a miss
    atomic_write_json(path, {**entry, "rows": entry["rows"][:2]})
    assert cache.get(key) is None
    atomic_write_json(path, {**entry, "rows": [{**entry["rows"][0], "p1": 0.9}, *entry["rows"][1:]]})
    assert cache.get(key) is None
    # consistent with itself but not with the session it stands for (count and checksum rewritten too)
    short = entry["rows"][:2]
    atomic_write_json(path, {**entry, "rows": short, "n_rows": 2, "rows_sha256": sha256_json(short)})
    assert cache.get(key) is not None and cache.get(key, n_rows=3) is None
    # an entry written before counts and checksums were recorded is not trusted either
    atomic_write_json(path, {k: v for k, v in entry.items() if k not in ("n_rows", "rows_sha256")})
    assert cache.get(key) is None
    # a re-put repairs it
    cache.put(key, rows)
    assert cache.get(key, n_rows=3) == rows
