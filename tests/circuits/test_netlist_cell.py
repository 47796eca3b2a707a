"""Netlist cells (``pbitkit.circuits.netlist_cell``): template rendering as text, validation errors that
name the file and key, discovery through ``$PBITKIT_CELLS``, and the user guide followed verbatim.

The user-cell test extracts ``salatch.cir`` / ``salatch.toml`` from ``docs/adding_a_cell.md`` (the blocks
after ``<!-- file: NAME -->``), puts them in a temporary directory named by ``$PBITKIT_CELLS`` and runs the
guide's commands (``pbitkit characterize --quick``, ``pbitkit fit``) in real ngspice with sky130.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from pbitkit.circuits import measure
from pbitkit.circuits import netlist_cell as nc
from pbitkit.circuits.bits import read_bits
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.models import ModelLibrary
from pbitkit.circuits.noise import K_B
from pbitkit.circuits.registry import get_cell, list_cells
from pbitkit.errors import ConfigError
from pbitkit.paths import netlists_dir, repo_root

GUIDE = repo_root() / "docs" / "adding_a_cell.md"


def guide_files() -> dict[str, str]:
    """``{file name: text}`` of the blocks marked ``<!-- file: NAME -->`` in the guide."""
    text = GUIDE.read_text()
    return {m.group(1): m.group(2) for m in
            re.finditer(r"<!-- file: (\S+) -->\s*```[a-z]*\n(.*?)```", text, flags=re.DOTALL)}


def generic_lib() -> ModelLibrary:
    """A library description for rendering tests (nothing is simulated with it)."""
    return ModelLibrary(name="generic", version="test", corner="tt", mismatch=False,
                        include_line='.include "/models/generic.spice"', nfet="nfet", pfet="pfet",
                        instance_prefix="M", path=Path("/models/generic.spice"), files={})


@pytest.fixture
def user_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cells"
    d.mkdir()
    for name, text in guide_files().items():
        (d / name).write_text(text)
    monkeypatch.setenv(nc.CELLS_ENV, str(d))
    return d


# --------------------------------------------------------------------------------------------------
# rendering as text


def test_guide_holds_both_files() -> None:
    files = guide_files()
    assert sorted(files) == ["salatch.cir", "salatch.toml"]
    assert "{models}" in files["salatch.cir"] and "[readout]" in files["salatch.toml"]


def test_render_template_substitutes_placeholders_and_leaves_spice_expressions() -> None:
    tpl = "X1 a b {nfet} w={w_um}{um}\nR1 a 0 {2*r}\nR2 b 0 { r }\n.param r=1k\n"
    out = nc.render_template(tpl, {"nfet": "nch", "w_um": 0.42, "um": "u"})
    assert out == "X1 a b nch w=0.42u\nR1 a 0 {2*r}\nR2 b 0 { r }\n.param r=1k\n"
    with pytest.raises(ConfigError, match=r"my\.cir: line 2: no value for placeholder \{w_um\}"):
        nc.render_template("* title\nM1 d g s b {w_um}\n", {}, source="my.cir")


def test_shipped_example_renders_as_expected() -> None:
    cell = get_cell("invchain")
    assert isinstance(cell, nc.NetlistCell) and "invchain" in list_cells()
    p = cell.params()
    text = nc.render_cell(cell.spec, generic_lib(), p, vdd_V=1.8, temp_C=27.0, bias_V=0.745, mc_seed=-1)
    lines = text.splitlines()
    assert lines[0].startswith("* pbitkit netlist cell invchain")
    assert f"sha256={cell.spec.template_sha256}" in lines[1] and f"sha256={cell.spec.toml_sha256}" in lines[2]
    assert '.include "/models/generic.spice"' in lines
    assert "Vb bias 0 0.745" in lines and "Vdd vdd 0 1.8" in lines
    assert "MN1 mid nin 0 0 nfet w=0.42u l=0.5u" in lines  # generic card: M prefix, W/L in um
    assert ".temp 27" in lines and not any(ln.startswith(".options seed") for ln in lines)
    # noise: 4kTR * gain^2, sigma = sqrt(S / (2 dt)) drives a 1-Ohm || C low-pass, then E in series with bias
    s = 4 * K_B * 300.15 * 1e4 * 200.0**2
    sig = math.sqrt(s / (2 * 0.5e-9))
    g = next(ln for ln in lines if ln.startswith("GF_in "))
    assert g.split()[:5] == ["GF_in", "0", "nz_in", "nzf_in", "0"]
    assert float(g.split()[5]) == pytest.approx(sig, rel=1e-8)
    assert "CF_in nz_in 0 3.18309886e-09" in lines  # 1 / (2 pi 50 MHz)
    assert "E_in nin bias nz_in 0 1" in lines
    # mismatch seed k is rendered as ngspice seed k + 1 (seed=0 means unseeded)
    text3 = nc.render_cell(cell.spec, generic_lib(), p, vdd_V=1.8, temp_C=27.0, bias_V=0.7, mc_seed=3)
    assert ".options seed=4" in text3.splitlines()


def test_job_loops_over_bias_in_one_session_with_seeded_noise(user_dir) -> None:
    cell = get_cell("salatch")
    pts = [SweepPoint("salatch", b, noise_seed=5) for b in (0.8, 0.9, 1.0)]
    jobs = cell.jobs(pts, library=lambda corner, mm: generic_lib())
    assert len(jobs) == 1
    net = jobs[0].netlist
    ctl = net[net.index(".control"):].splitlines()
    assert ctl[1:4] == ["alter vb dc=0.8", "tran 1e-10 1e-06 0 1e-10",
                        "write pbk.raw v(outp) v(outn) i(vdd) i(vclkb)"]
    assert sum(ln.startswith("alter vb") for ln in ctl) == 3 and ctl[-2:] == [".endc", ".end"]
    assert "Vclkb clkb 0 PULSE(1.8 0 5e-09 50p 50p 5e-09 1e-08)" in net
    assert "G_np 0 outp nz_np 0 1" in net  # current noise from ground into outp
    # one noise table per point; point k >= 1 copies its own over the one the filesource reads
    assert sorted(jobs[0].files) == ["noise_np.p1.txt", "noise_np.p2.txt", "noise_np.txt"]
    assert ctl[4:6] == ["shell cp -f noise_np.p1.txt noise_np.txt", "alter vb dc=0.9"]
    # same seed -> identical files; another seed -> different files
    again = cell.jobs(pts, library=lambda corner, mm: generic_lib())[0]
    other = cell.jobs([SweepPoint("salatch", 0.8, noise_seed=6)], library=lambda c, m: generic_lib())[0]
    assert again.files == jobs[0].files and other.files != jobs[0].files
    # parameter overrides reach the netlist and the readout (n_samples -> simulated time)
    j2 = cell.jobs([SweepPoint("salatch", 0.9, params={"n_samples": 20, "c_F": 1e-14})],
                   library=lambda c, m: generic_lib())[0]
    assert "Cp outp 0 1e-14" in j2.netlist and "tran 1e-10 2e-07 0 1e-10" in j2.netlist


def test_predicted_tier_is_a_noiseless_staircase(user_dir) -> None:
    lib = lambda c, m: generic_lib()  # noqa: E731
    pts = [SweepPoint("invchain", b, tier="predicted") for b in (0.6, 0.9)]
    job = get_cell("invchain").jobs(pts, library=lib)[0]
    lines = job.netlist.splitlines()
    assert not job.files and not any(ln.startswith(("A_in", "GF_in", "E_in")) for ln in lines)
    assert "V_in nin bias 0" in lines  # the voltage-noise source becomes a 0 V short
    k = lines.index("Vb bias 0 PWL(")
    pwl = [float(x) for ln in lines[k + 1:k + 1 + 2 * nc.PREDICTED_STEPS] if ln != "+ )" for x in ln[1:].split()]
    t, v = np.array(pwl[0::2]), np.array(pwl[1::2])
    assert np.all(np.diff(t) > 0) and v[0] == 0.6 and v[-1] == 0.9  # one step per sample period
    assert len(np.unique(v)) == nc.PREDICTED_STEPS
    assert "tran 5e-10 8.02e-06 0 5e-10" in lines  # 401 periods of 20 ns


def test_editing_the_toml_changes_the_cache_key(user_dir) -> None:
    lib = lambda c, m: generic_lib()  # noqa: E731
    pt = [SweepPoint("salatch", 0.9)]
    h0 = get_cell("salatch").jobs(pt, library=lib)[0].content_hash()
    toml = user_dir / "salatch.toml"
    toml.write_text(toml.read_text().replace("read_phase = 0.95", "read_phase = 0.9"))
    assert get_cell("salatch").jobs(pt, library=lib)[0].content_hash() != h0


# --------------------------------------------------------------------------------------------------
# validation


BAD_CASES = [
    # (what to change in the guide's files, file that must be named, text that must appear)
    ("toml", ("vdd_V = 1.8", "vdd_V = 1.8\ncolour = 3"), "salatch.toml", "key 'colour': unknown key"),
    ("toml", ('bias_source = "Vb"\n', ""), "salatch.toml", "key 'bias_source': missing"),
    ("toml", ('bias_source = "Vb"', 'bias_source = "Vbias"'), "salatch.toml",
     "key 'bias_source': 'Vbias' is not a voltage source"),
    ("toml", ('outputs = ["outp", "outn"]', 'outputs = ["outp", "qq"]'), "salatch.toml",
     "key 'readout.outputs': unknown node 'qq'"),
    ("toml", ('node = "outp"', 'node = "nowhere"'), "salatch.toml", "key 'noise.node': unknown node 'nowhere'"),
    ("toml", ("read_phase = 0.95", "read_phase = 0.95\nphase = 1"), "salatch.toml", "key 'readout.phase': unknown"),
    ("toml", ('n_samples = "n_samples"', 'n_samples = "n_bits"'), "salatch.toml",
     "key 'readout.n_samples': 'n_bits' is not a parameter"),
    ("toml", ('kind = "current"', 'kind = "magic"'), "salatch.toml", "key 'noise[0].kind'"),
    ("toml", ("resistor_Ohm = 1e4", "resistor_Ohm = 1e4\npsd = 1e-20"), "salatch.toml",
     "key 'noise[0].psd': give exactly one"),
    ("toml", ('mode = "clocked"', 'mode = "sometimes"'), "salatch.toml", "key 'readout.mode'"),
    ("toml", ("bias_range_V = [0.70, 1.10]", "bias_range_V = [1.10, 0.70]"), "salatch.toml", "key 'bias_range_V'"),
    ("toml", ("c_F = 5e-15", 'c_F = "big"'), "salatch.toml", "key 'params.c_F'"),
    ("toml", ("[params]", "[params"), "salatch.toml", "invalid TOML"),
    ("cir", ("{rb_Ohm}\nRbn", "{rb_ohm}\nRbn"), "salatch.cir", "line 12: unknown placeholder {rb_ohm}"),
    ("cir", ("{models}\n", ""), "salatch.cir", "'{models}'"),
    ("cir", ("Cn outn 0 {c_F}\n", "Cn outn 0 {c_F}\n.tran 1n 10n\n"), "salatch.cir", "line 16"),
]


@pytest.mark.parametrize("which, change, fname, msg", BAD_CASES, ids=[c[3][:40] for c in BAD_CASES])
def test_validation_errors_name_file_and_key(user_dir, which, change, fname, msg) -> None:
    path = user_dir / f"salatch.{which}"
    text = path.read_text()
    assert change[0] in text, change[0]
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as exc:
        get_cell("salatch")
    assert fname in str(exc.value) and msg in str(exc.value), str(exc.value)


def test_discovery_and_unknown_names(user_dir, tmp_path, monkeypatch, caplog) -> None:
    assert {"salatch", "invchain", "latch", "strongarm"} <= set(list_cells())
    assert nc.discover()["salatch"] == user_dir / "salatch.cir"
    with pytest.raises(ConfigError, match="unknown cell 'nocell'.*salatch"):
        get_cell("nocell")
    # a missing directory in $PBITKIT_CELLS is skipped with a warning, the others still work
    monkeypatch.setenv(nc.CELLS_ENV, f"{tmp_path / 'missing'}:{user_dir}")
    assert "salatch" in list_cells()
    assert "does not exist" in caplog.text
    # the shipped directory is found without $PBITKIT_CELLS
    monkeypatch.delenv(nc.CELLS_ENV)
    assert nc.discover()["invchain"] == netlists_dir() / "cells" / "invchain.cir" and "salatch" not in list_cells()


# --------------------------------------------------------------------------------------------------
# the guide, followed by a new user: real ngspice, sky130


@pytest.mark.ngspice
def test_user_cell_from_the_guide_characterizes_and_fits(user_dir, tmp_path, capsys) -> None:
    from pbitkit.circuits.characterize import read_table
    from pbitkit.cli import main

    with pytest.raises(SystemExit):
        main(["characterize", "--help"])
    assert "salatch" in capsys.readouterr().out  # --cell choices include the discovered cell
    out = tmp_path / "runs" / "salatch-quick"
    assert main(["-q", "characterize", "--cell", "salatch", "--quick", "--workers", "1", "--out", str(out)]) == 0
    rows = read_table(out / "characterization.csv")
    assert len(rows) == 9 and all(r["status"] == "ok" and r["cell"] == "salatch" for r in rows)
    bias = np.array([r["bias_V"] for r in rows])
    p1 = np.array([r["p1"] for r in rows])
    assert np.allclose(bias, np.linspace(0.70, 1.10, 9))
    # spans the sigmoid (100 decisions per point: at the ends P ~ 0.01 / 0.99, 1.5 binomial SE from 0/1)
    assert p1[0] < 0.1 and p1[-1] > 0.9
    # monotone up to the confidence intervals (Wilson on n_eff)
    lo, hi = np.array([r["p1_lo"] for r in rows]), np.array([r["p1_hi"] for r in rows])
    assert np.all(hi[1:] >= lo[:-1])
    # one decision per clock: tau = period / 2 up to the autocorrelation estimator's noise
    assert all(r["sample_period_s"] == 10e-9 and r["n_samples"] == 100 for r in rows)
    # energy: supply + clock drive, both positive and of the fJ-pJ order for a 1.8 V latch at 100 MHz
    for r in rows:
        assert r["energy_per_bit_J"] == pytest.approx(r["supply_energy_per_bit_J"] + r["clock_energy_per_bit_J"])
        assert 1e-15 < r["clock_energy_per_bit_J"] and 1e-15 < r["supply_energy_per_bit_J"] < 1e-11
        assert r["param_rb_Ohm"] == 1e6
    assert list((out / "plots").glob("*.png"))
    # the output bits are kept (bits.npz) and are what the table reports
    recs = read_bits(out)
    for r in rows:
        assert recs[r["row_id"]].bits.size == 100 and recs[r["row_id"]].bits.mean() == pytest.approx(r["p1"])
    # re-running is a cache hit (no simulation)
    assert main(["-q", "characterize", "--cell", "salatch", "--quick", "--workers", "1", "--out", str(out)]) == 0
    from pbitkit.io import read_json

    sessions = read_json(out / "characterization.json")["sessions"]
    assert sessions and all(s["cached"] for s in sessions)
    # the guide's next step: pbitkit fit
    assert main(["-q", "fit", str(out)]) == 0
    card = read_json(out / "device_card.json")
    assert card["cell"] == "salatch" and 0.70 < card["v0_V"] < 1.10 and 0 < card["vs_V"] < 0.3
    # the predicted tier (noiseless staircase, used for per-device bias centering) finds the same centre:
    # within one staircase step (40 range widths / 400 steps = 0.04 V: half a step of quantization plus
    # the difference between noiseless and noisy decisions; measured 0.031 V) plus 3 standard errors of the fit
    from pbitkit.circuits.centering import predict_centre

    pred = predict_centre("salatch", "tt", -1, 27.0, None, {}, "sky130")
    assert abs(pred["v0_V"] - card["v0_V"]) < 0.04 + 3 * card["v0_se_V"], (pred, card["v0_V"])


@pytest.mark.ngspice
def test_shipped_invchain_quick_spans_the_sigmoid_and_fits(tmp_path) -> None:
    """The shipped example, unclocked: `pbitkit characterize --cell invchain --quick` then `pbitkit fit`."""
    from pbitkit.circuits.characterize import read_table
    from pbitkit.cli import main
    from pbitkit.io import read_json

    out = tmp_path / "inv"
    assert main(["-q", "characterize", "--cell", "invchain", "--quick", "--workers", "2", "--out", str(out)]) == 0
    rows = read_table(out / "characterization.csv")
    p1 = np.array([r["p1"] for r in rows])
    lo, hi = np.array([r["p1_lo"] for r in rows]), np.array([r["p1_hi"] for r in rows])
    assert len(rows) == 9 and p1[0] < 0.1 and p1[-1] > 0.9 and np.all(hi[1:] >= lo[:-1])
    recs = read_bits(out)
    for r in rows:  # unclocked: flips counted with the 0.2 V Schmitt trigger, tau from the plain threshold bits
        rec = recs[r["row_id"]]
        assert r["flip_hysteresis_V"] == 0.2 and rec.bits.mean() == pytest.approx(r["p1"])
        assert measure.dwell_stats(rec.flip_bits, rec.dt_s).flip_rate_Hz == pytest.approx(r["flip_rate_Hz"])
        assert r["flip_rate_Hz"] >= 0 and r["static_power_W"] > 0 and r["energy_per_bit_J"] > 0
    assert main(["-q", "fit", str(out)]) == 0
    card = read_json(out / "device_card.json")
    assert card["cell"] == "invchain" and 0.705 < card["v0_V"] < 0.785 and 0 < card["vs_V"] < 0.04
