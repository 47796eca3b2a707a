"""The all-transistor ``native_latch`` cell's PySpice definition against the built-in renderer: the same
rows bit for bit for the same seeded points, in both tiers. Real ngspice."""

from __future__ import annotations

import concurrent.futures as cf
import math

import pytest

from pbitkit.circuits.bits import BITS_KEY
from pbitkit.circuits.builtin.native_latch import NativeLatchCell
from pbitkit.circuits.builtin.native_latch_pyspice import PySpiceNativeLatchCell, render_native_latch_pyspice
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.models import generic_library, sky130_library
from pbitkit.circuits.ngspice import run
from pbitkit.circuits.registry import get_cell
from pbitkit.errors import ConfigError

# t_settle_s (1 us) + 21 reads of 300 ns: the shortest record the cell accepts, plus one read
LEAN = {"t_stop_s": 7.3e-6}


def _lib(corner: str, mismatch: bool):
    return sky130_library(corner, mismatch=mismatch)


def _element_lines(netlist: str) -> list[str]:
    """Element lines up to the control block, instance parameters sorted (PySpice writes them sorted)."""
    out = []
    for line in netlist.split(".control")[0].splitlines():
        s = line.strip()
        if s and not s.startswith(("*", ".")):
            toks = s.split()
            out.append(" ".join([t for t in toks if "=" not in t] + sorted(t for t in toks if "=" in t)))
    return out


def _same_row(a: dict, b: dict) -> bool:
    """Every column equal (NaN equals NaN) except the CPU time."""
    for k in (set(a) | set(b)) - {"cpu_time_s"}:
        x, y = a.get(k), b.get(k)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


@pytest.mark.ngspice
def test_native_latch_pyspice_definition_gives_the_builtin_rows_bit_for_bit() -> None:
    builtin, pyspice = NativeLatchCell(), PySpiceNativeLatchCell()
    assert isinstance(get_cell("native_latch_pyspice"), PySpiceNativeLatchCell)
    pyspice.name = "native_latch"  # same point identity -> same seeded noise as the built-in cell
    ref = builtin.params()["ref_V"]
    # nominal devices (a mismatch instance's offset can pin P(1) at 0 or 1 over this short range)
    pts = [SweepPoint("native_latch", b, noise_seed=3, params=LEAN) for b in (ref, ref + 0.03)]
    pred = [SweepPoint("native_latch", b, tier="predicted") for b in (ref - 0.03, ref + 0.03)]
    jobs = [c.jobs(p, library=_lib)[0] for p in (pts, pred) for c in (builtin, pyspice)]
    assert jobs[0].files == jobs[1].files and jobs[0].files  # the same seeded noise tables
    for a, b in ((jobs[0], jobs[1]), (jobs[2], jobs[3])):
        assert _element_lines(a.netlist) == _element_lines(b.netlist)  # same elements, same order
        assert a.netlist.split(".control")[1] == b.netlist.split(".control")[1]  # same analyses
        assert "PySpice definition" in b.netlist and "PySpice" not in a.netlist
    other = SweepPoint("native_latch", ref, noise_seed=4, params=LEAN)
    (jo,) = pyspice.jobs([other], library=_lib)
    with cf.ThreadPoolExecutor(2) as ex:
        results = list(ex.map(run, [*jobs, jo]))
    rows = [c.rows(j, r) for c, j, r in zip((builtin, pyspice) * 2, jobs, results[:4], strict=True)]
    for a, b in zip(rows[0], rows[1], strict=True):
        assert a["status"] == "ok" and a["n_samples"] >= 20
        assert _same_row(a, b), (a, b)
        assert a[BITS_KEY] == b[BITS_KEY]
    for a, b in zip(rows[2], rows[3], strict=True):
        assert a["status"] == "ok" and _same_row(a, b), (a, b)
    # not vacuous: P(1) rises with the bias in both tiers (predicted 0.10 -> 0.89; measured 0.33 -> 0.81 of 21 reads)
    assert rows[0][0]["p1"] < rows[0][1]["p1"] and rows[2][0]["p1"] < rows[2][1]["p1"]
    # negative control: another noise seed gives other bits
    assert pyspice.rows(jo, results[4])[0][BITS_KEY] != rows[1][0][BITS_KEY]


def test_native_latch_pyspice_rejects_what_the_builtin_rejects() -> None:
    cell = PySpiceNativeLatchCell()
    with pytest.raises(ConfigError, match="needs the sky130 library"):
        render_native_latch_pyspice(generic_library(), cell.params(), vdd_V=0.125, temp_C=27.0, bias_V=0.1)
    with pytest.raises(ConfigError, match="t_eval_s < sample_period_s"):
        render_native_latch_pyspice(sky130_library("tt"), cell.params({"t_eval_s": 400e-9}), vdd_V=0.125,
                                    temp_C=27.0, bias_V=0.1)
