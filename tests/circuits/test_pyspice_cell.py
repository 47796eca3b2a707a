"""PySpice cells: the StrongARM's PySpice definition against the built-in renderer (bit for bit), a user's
PySpice cell from the guide characterized end to end, and clear errors for bad circuits. Real ngspice."""

from __future__ import annotations

import concurrent.futures as cf
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from pbitkit.circuits import registry
from pbitkit.circuits.bits import BITS_KEY
from pbitkit.circuits.builtin.strongarm import StrongArmCell
from pbitkit.circuits.builtin.strongarm_pyspice import PySpiceStrongArmCell
from pbitkit.circuits.cache import RowCache
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.models import sky130_library
from pbitkit.circuits.netlist_cell import CELLS_ENV
from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.circuits.pyspice_cell import PySpiceCell, load_pyspice_cell
from pbitkit.circuits.sweep import load_spec
from pbitkit.errors import ConfigError
from pbitkit.paths import repo_root

EXAMPLE_CELLS = repo_root() / "examples" / "pyspice_cells"
GUIDE = repo_root() / "docs" / "adding_a_cell.md"


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
    keys = set(a) | set(b)
    for k in keys - {"cpu_time_s"}:
        x, y = a.get(k), b.get(k)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


@pytest.mark.ngspice
def test_strongarm_pyspice_definition_gives_the_builtin_rows_bit_for_bit() -> None:
    builtin, pyspice = StrongArmCell(), PySpiceStrongArmCell()
    pyspice.name = "strongarm"  # same point identity -> same seeded noise as the built-in cell
    # mismatch seed 2 puts the comparator's threshold at -12.25 mV (predicted tier, 0.5 mV staircase); its
    # input noise is ~0.5 mV: three points across its sigmoid
    pts = [SweepPoint("strongarm", b, mc_seed=2, noise_seed=5, params={"n_samples": 30})
           for b in (-0.0128, -0.01225, -0.0117)]
    pred = [SweepPoint("strongarm", b, mc_seed=2, tier="predicted", params={"stair_steps": 41, "stair_span_V": 0.02})
            for b in (-0.013, -0.011)]
    jobs = [c.jobs(p, library=_lib)[0] for p in (pts, pred) for c in (builtin, pyspice)]
    assert jobs[0].files == jobs[1].files and jobs[0].files  # the same seeded noise tables
    assert _element_lines(jobs[0].netlist) == _element_lines(jobs[1].netlist)  # same elements, same order
    assert "PySpice definition" in jobs[1].netlist and "PySpice" not in jobs[0].netlist
    with cf.ThreadPoolExecutor(2) as ex:
        results = list(ex.map(run, jobs))
    rows = [c.rows(j, r) for c, j, r in zip((builtin, pyspice) * 2, jobs, results, strict=True)]
    for a, b in zip(rows[0], rows[1], strict=True):
        assert _same_row(a, b), (a, b)
        assert a[BITS_KEY] == b[BITS_KEY] and a["status"] == "ok"
    assert [r["p1"] for r in rows[0]] != [rows[0][0]["p1"]] * 3  # not vacuous: P(1) moves with the bias
    for a, b in zip(rows[2], rows[3], strict=True):
        assert _same_row(a, b) and math.isfinite(a["pred_v0_V"])
    # negative control: another noise seed gives other bits
    other = [SweepPoint("strongarm", b, mc_seed=2, noise_seed=6, params={"n_samples": 30}) for b in (-0.0128,)]
    (jo,) = pyspice.jobs(other, library=_lib)
    assert pyspice.rows(jo, run(jo))[0][BITS_KEY] != rows[1][0][BITS_KEY]


def guide_files() -> dict[str, str]:
    """``{file name: text}`` of the PySpice cell blocks marked ``<!-- pyspice file: NAME -->`` in the guide."""
    text = GUIDE.read_text()
    return {m.group(1): m.group(2) for m in
            re.finditer(r"<!-- pyspice file: (\S+) -->\s*```[a-z]*\n(.*?)```", text, flags=re.DOTALL)}


@pytest.fixture
def cell_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cells"
    d.mkdir()
    for name, text in guide_files().items():
        (d / name).write_text(text)
    monkeypatch.setenv(CELLS_ENV, str(d))
    return d


def test_guide_example_is_the_shipped_example() -> None:
    files = guide_files()
    assert sorted(files) == ["pysalatch.py", "pysalatch.toml"]
    for name, text in files.items():
        assert text == (EXAMPLE_CELLS / name).read_text(), name


@pytest.mark.slow
@pytest.mark.ngspice
def test_pyspice_cell_from_the_guide_is_characterized_like_a_netlist_cell(cell_dir, tmp_path) -> None:
    cell = registry.get_cell("pysalatch")
    assert isinstance(cell, PySpiceCell) and "pysalatch" in registry.list_cells()
    assert registry.cell_origins()["pysalatch"].startswith("pyspice: ")
    spec = load_spec({"cell": "pysalatch", "bias": {"values_V": [0.70, 0.90, 1.10]}, "params": {"n_samples": 30},
                      "tiers": ["transient", "predicted"], "noise_seed": 4})
    cache = RowCache(tmp_path / "cache")
    # workers=1: a process pool's forkserver keeps the environment it started with (an earlier test's
    # $PBITKIT_CELLS), so its workers would not see this test's cell directory
    res = characterize(spec, tmp_path / "run", workers=1, cache=cache, plot=False)
    assert res.n_failed == 0, res.failed_rows
    tr = {r["bias_V"]: r for r in res.rows if r["tier"] == "transient"}
    # P(1) rises across the default range: from ~0.02 to ~0.98 (30 reads each; 0.5 is > 4 binomial SE)
    assert tr[1.10]["p1"] - tr[0.70]["p1"] > 0.5, [(b, r["p1"]) for b, r in sorted(tr.items())]
    assert all(np.isfinite(r["energy_per_bit_J"]) and r["energy_per_bit_J"] > 0 for r in tr.values())
    v0 = {r["pred_v0_V"] for r in res.rows if r["tier"] == "predicted"}
    assert len(v0) == 1 and 0.70 < v0.pop() < 1.10
    again = characterize(spec, tmp_path / "run", workers=1, cache=cache, plot=False)
    assert again.n_simulated == 0 and [r["p1"] for r in again.rows] == [r["p1"] for r in res.rows]
    # the rendered netlist carries the circuit file's hash: editing the function changes the cache key
    (job,) = cell.jobs([SweepPoint("pysalatch", 0.9)], library=_lib)
    assert "pysalatch.py sha256=" in job.netlist and "XN1 outp outn 0 0 sky130_fd_pr__nfet_01v8" in job.netlist
    (cell_dir / "pysalatch.py").write_text((cell_dir / "pysalatch.py").read_text().replace(
        'c.C("p", "outp", c.gnd, p["c_F"])', 'c.C("p", "outp", c.gnd, 2 * p["c_F"])'))
    (job2,) = load_pyspice_cell(cell_dir / "pysalatch.py").jobs([SweepPoint("pysalatch", 0.9)], library=_lib)
    assert job2.netlist != job.netlist


@pytest.mark.parametrize(("what", "old", "new", "pattern"), [
    ("toml", 'bias_source = "Vb"', 'bias_source = "Vx"', r"pysalatch.toml: key 'bias_source'.*'Vx'"),
    ("toml", 'outputs = ["outp", "outn"]', 'outputs = ["outp", "nosuchnode"]', r"nosuchnode"),
    ("py", 'ctx.mos(c, "NEQ", "outp", "clkb", "outn", c.gnd, "n", 1.0, 0.15)',
     'c.X("NEQ", "nfet_typo", "outp", "clkb", "outn", c.gnd)', r"element XNEQ uses subcircuit 'nfet_typo'"),
    ("py", "    return c\n", "    return None\n", r"must return a PySpice Circuit, got NoneType"),
    ("py", "def circuit(p, ctx):", "def build(p, ctx):", r"pysalatch.py: defines no function circuit\(p, ctx\)"),
    ("py", "    return c\n", '    c.raw_spice = ".tran 1n 10n"\n    return c\n', r"\.tran|analysis"),
    ("py", 'p["rb_Ohm"])\n    c.R("bn"', 'p["rb_kOhm"])\n    c.R("bn"', r"raised KeyError: 'rb_kOhm'"),
])
def test_bad_pyspice_cell_gives_a_clear_error(cell_dir, what, old, new, pattern) -> None:
    f = cell_dir / f"pysalatch.{what}"
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=pattern):
        load_pyspice_cell(cell_dir / "pysalatch.py")


def test_pyspice_cell_in_a_copied_directory_loads(tmp_path) -> None:
    d = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLE_CELLS, d)
    cell = load_pyspice_cell(d / "pysalatch.py")
    assert cell.name == "pysalatch" and cell.params()["rb_Ohm"] == 1e6
    assert cell.default_bias_range() == (0.70, 1.10)


def _channel_cell(cell_dir: Path, noisy: bool) -> Path:
    """The guide's cell without its resistor noise, with (or without) the channel noise of its latch FETs."""
    name = "chlatch" if noisy else "quiet"
    shutil.copy(cell_dir / "pysalatch.py", cell_dir / f"{name}.py")
    toml = (cell_dir / "pysalatch.toml").read_text().split("[[noise]]")[0]
    if noisy:
        toml = toml.replace('clock_source = "Vclkb"\n', 'clock_source = "Vclkb"\nnoisy_transistors = ["N1", "N2", "P1", "P2"]\n')
    (cell_dir / f"{name}.toml").write_text(toml)
    return cell_dir / f"{name}.py"


@pytest.mark.ngspice
def test_channel_noise_of_named_transistors_is_injected_from_the_operating_point(cell_dir) -> None:
    from pbitkit.circuits.noise import channel_noise_psd

    noisy = load_pyspice_cell(_channel_cell(cell_dir, True))
    quiet = load_pyspice_cell(_channel_cell(cell_dir, False))
    assert noisy.noisy_transistors == ("N1", "N2", "P1", "P2") and not quiet.noisy_transistors
    biases = (0.88, 0.90, 0.92)
    jobs = [c.jobs([SweepPoint(c.name, b, noise_seed=1, params={"n_samples": 40}) for b in biases], library=_lib)[0]
            for c in (noisy, quiet)]
    assert "G_chn1 outp 0 nzf_chn1 0 0" in jobs[0].netlist and "noise_chp2.p2.txt" in jobs[0].files
    # the injected sigma is sqrt(S / 2 dt) with S = 2 q |I_D| coth(|V_DS| / 2 U_T) at the point's operating point
    probe = jobs[0].netlist.replace(
        "alter @g_chp2[gain] = sqrt(s_chp2/2e-10)\n",
        "alter @g_chp2[gain] = sqrt(s_chp2/2e-10)\nprint @g_chp2[gain] @m.xp2.msky130_fd_pr__pfet_01v8[id] "
        "@m.xp2.msky130_fd_pr__pfet_01v8[vds]\n", 1)
    with cf.ThreadPoolExecutor(2) as ex:
        res = list(ex.map(run, [jobs[0], jobs[1], SimJob(probe, files=jobs[0].files)]))
    printed = dict(re.findall(r"(\S+\[\w+\])\s*=\s*(\S+)", res[2].stdout))
    i_d, v_ds = float(printed["@m.xp2.msky130_fd_pr__pfet_01v8[id]"]), float(printed["@m.xp2.msky130_fd_pr__pfet_01v8[vds]"])
    expected = math.sqrt(float(channel_noise_psd(i_d, v_ds, 0.0, 27.0)) / (2 * 1e-10))
    assert abs(i_d) > 1e-6 and float(printed["@g_chp2[gain]"]) == pytest.approx(expected, rel=1e-6)
    p_noisy = [r["p1"] for r in noisy.rows(jobs[0], res[0])]
    p_quiet = [r["p1"] for r in quiet.rows(jobs[1], res[1])]
    assert set(p_quiet) <= {0.0, 1.0}  # negative control: without noise every decision is the same
    assert all(0.15 < p < 0.85 for p in p_noisy), p_noisy  # the channel noise makes the decisions random


@pytest.mark.parametrize(("noisy", "pattern"), [
    ('["N1", "NX"]', r"noisy_transistors': 'NX' is not a transistor added with ctx.mos"),
    ('"N1"', r"noisy_transistors': expected a list of transistor names"),
])
def test_bad_noisy_transistors_are_named(cell_dir, noisy, pattern) -> None:
    toml = cell_dir / "pysalatch.toml"
    toml.write_text(toml.read_text().replace('clock_source = "Vclkb"\n', f'clock_source = "Vclkb"\nnoisy_transistors = {noisy}\n'))
    with pytest.raises(ConfigError, match=pattern):
        load_pyspice_cell(cell_dir / "pysalatch.py")
