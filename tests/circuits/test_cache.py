"""Row cache: what goes into the key, atomic JSON entries with NaN, corrupt entries are misses."""

from __future__ import annotations

import math

from pbitkit.circuits.cache import RowCache, job_key
from pbitkit.circuits.ngspice import SimJob


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
