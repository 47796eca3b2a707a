"""Design spaces as data: the shipped spaces load (the native latch's matches its cell's netlist); every bad
field is named; decode/encode round trip."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from pbitkit.config import load_toml
from pbitkit.errors import ConfigError
from pbitkit.explore.space import builtin_space_path, load_space, space_from_dict

TINY = {
    "cell": "native_latch",
    "conditions": {"mc_instances": 2, "mc_params": {"readout": 0}},
    "parameter": [
        {"name": "vdd_V", "kind": "range", "lo": 0.12, "hi": 0.13},
        {"names": ["wn_um", "ln_um"], "kind": "levels", "levels": [[0.42, 0.8], [1.0, 0.5]]},
        {"name": "wp_um", "kind": "log_range", "lo": 0.5, "hi": 4.0},
    ],
    "constraint": [{"metric": "tau_corr_s", "max": 1e-6}],
    "area": {"fixed_um2": 0.5, "terms": [{"w": "wn_um", "l": "ln_um", "count": 2}]},
}


@pytest.mark.parametrize("cell", ["native_latch", "strongarm"])
def test_shipped_spaces_load(cell: str) -> None:
    s = load_space(builtin_space_path(cell))
    assert s.cell == cell and s.dim >= 5 and s.constraints
    # every corner of the box passed the cell's check_params; a mid design decodes inside the ranges
    d = s.decode([0.5] * s.dim)
    assert set(d) >= set(s.names)
    if cell == "native_latch":
        _check_native_latch_space(s)


def test_decode_encode_round_trip() -> None:
    s = space_from_dict(TINY)
    rng = np.random.default_rng(1)
    for _ in range(20):
        u = rng.random(s.dim)
        d = s.decode(u)
        assert 0.12 <= d["vdd_V"] <= 0.13 and 0.5 <= d["wp_um"] <= 4.0
        assert (d["wn_um"], d["ln_um"]) in ((0.42, 0.8), (1.0, 0.5))
        back = s.encode(d)
        assert back is not None
        assert s.decode(back) == pytest.approx(d)
    # log range: the middle of the cube is the geometric mean
    assert s.decode([0.0, 0.0, 0.5])["wp_um"] == pytest.approx(np.sqrt(0.5 * 4.0))
    assert s.encode({"vdd_V": 0.2, "wn_um": 0.42, "ln_um": 0.8, "wp_um": 1.0}) is None  # outside the range
    assert s.area_um2({"wn_um": 1.0, "ln_um": 0.5}) == pytest.approx(0.5 + 2 * 0.5)


def _bad(mutate, match: str) -> None:
    d = copy.deepcopy(TINY)
    mutate(d)
    with pytest.raises(ConfigError, match=match):
        space_from_dict(d, source="bad.toml")


def test_errors_name_the_field() -> None:
    _bad(lambda d: d.update(colour="red"), r"bad.toml: design space: unknown key\(s\) \['colour'\]")
    _bad(lambda d: d.update(cell="no_such_cell"), "no_such_cell")
    _bad(lambda d: d["parameter"][0].update(name="vdd_volts"), r"parameter\[0\]: 'vdd_volts' is not a parameter")
    _bad(lambda d: d["parameter"][0].update(kind="grid"), r"parameter\[0\].kind must be one of")
    _bad(lambda d: d["parameter"][0].update(lo=0.2), r"parameter\[0\]: need lo < hi")
    _bad(lambda d: d["parameter"][2].update(lo=-1.0), r"parameter\[2\]: kind = \"log_range\" needs lo > 0")
    _bad(lambda d: d["parameter"][1].update(levels=[[0.42, 0.8], [1.0]]), r"parameter\[1\].levels\[1\] has 1 value")
    _bad(lambda d: d["parameter"][0].update(lo="0.1"), r"parameter\[0\].lo must be a finite number")
    _bad(lambda d: d["constraint"][0].update(metric="speed"), r"constraint\[0\].metric: 'speed' is not a design metric")
    _bad(lambda d: d["constraint"][0].pop("max"), r"constraint\[0\]: give min and/or max")
    _bad(lambda d: d["conditions"].update(mc_instances=1), r"conditions.mc_instances: one mismatch instance")
    _bad(lambda d: d["conditions"].update(mc_params={"readout": 0, "colour": 1}), r"conditions.mc_params: 'colour'")
    _bad(lambda d: d["area"]["terms"][0].update(w="width"), r"area.terms\[0\].w: 'width'")
    _bad(lambda d: d.update(fixed={"wp_um": 1.0}), r"'wp_um' is varied twice or also fixed")
    # a range whose end the cell itself rejects: check_params names the parameter
    _bad(lambda d: d["parameter"].append({"name": "sample_period_s", "kind": "range", "lo": 5e-8, "hi": 3e-7}),
         r"rejected by the cell: .*sample_period_s")


def test_space_file_errors_name_the_file(tmp_path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('cell = "native_latch"\n[[parameter]]\nname = "wp_um"\nkind = "range"\nlo = 1.0\n')
    with pytest.raises(ConfigError, match=r"s.toml: parameter\[0\].hi is missing"):
        load_space(p)
    p.write_text("cell = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_space(p)
    # the shipped file is data: loading it twice gives equal spaces (nothing executes, no state)
    raw = load_toml(builtin_space_path("native_latch"))
    assert space_from_dict(raw) == space_from_dict(raw)


def _netlist_area_um2(netlist: str, drop: str = "") -> float:
    """Σ W·L (µm²) over the MOSFET instance lines (``X<name> ... w=<W> l=<L>``) of a netlist."""
    import re

    total = 0.0
    for line in netlist.splitlines():
        m = re.match(r"^(X\S+)\s.*\sw=([0-9.eE+-]+)\s+l=([0-9.eE+-]+)\s*$", line)
        if m and m.group(1) != drop:
            total += float(m.group(2)) * float(m.group(3))
    return total


def _check_native_latch_space(s) -> None:
    """The shipped space describes the shipped cell: its default design lies inside the box, and the area proxy
    (fixed part + sized terms) equals Σ W·L over every transistor of the cell's rendered netlist, for the
    default and for designs across the box. Negative control: a netlist without its smallest device (the
    auto-zero switch, 0.063 µm²) is told apart."""
    from pbitkit.circuits import get_cell
    from pbitkit.circuits.cell_base import default_library

    cell = get_cell("native_latch")
    p0 = cell.params()
    assert s.encode({"vdd_V": cell.default_vdd_V, **{k: p0[k] for k in s.names if k != "vdd_V"}}) is not None
    lib = default_library("tt", False)
    for u in ([0.5] * s.dim, [0.1] * s.dim, [0.9] * s.dim):
        d = s.decode(u)
        p = cell.params({k: v for k, v in d.items() if k != "vdd_V"})
        net = cell.render(lib, p, vdd_V=d["vdd_V"], temp_C=27.0, bias_V=p["ref_V"])
        assert s.area_um2(p) == pytest.approx(_netlist_area_um2(net), abs=1e-4)  # the netlist prints W, L rounded
    net0 = cell.default_netlist()
    assert s.area_um2(p0) == pytest.approx(_netlist_area_um2(net0), abs=1e-9)
    assert abs(s.area_um2(p0) - _netlist_area_um2(net0, drop="XSZ")) == pytest.approx(0.42 * 0.15)
