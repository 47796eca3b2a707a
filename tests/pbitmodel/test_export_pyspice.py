"""`pbitkit export --format pyspice`: the macro-model as a PySpice subcircuit, simulated in PySpice's shared
mode (in this process, as a user's testbench would) and against the SPICE export in batch mode."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from pbitkit.circuits.ngspice import SimJob, run
from pbitkit.circuits.pyspice_interop import circuit_class, ngspice_shared_class
from pbitkit.cli import main
from pbitkit.errors import ConfigError
from pbitkit.pbitmodel.card import DeviceModel, RateModel
from pbitkit.pbitmodel.export import export_card
from pbitkit.pbitmodel.export_pyspice import export_pyspice, spice_number

CARD = DeviceModel.ideal(vs_V=0.0064, v0_V=0.01, tau_corr_s=1e-6, cell="test").replace(
    dynamics={"rate_model": RateModel("constant_tau")})
T_STOP = 3e-4  # 300 tau per bias point


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reads(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Decisions read once per tau (at k tau + tau/2, away from the latch windows)."""
    tk = (np.arange(int(T_STOP / CARD.dynamics.tau_corr_s) - 1) + 0.5) * CARD.dynamics.tau_corr_s
    return (np.interp(tk, t, v) > CARD.vdd_V / 2).astype(np.uint8)


def test_spice_number() -> None:
    assert spice_number("1G") == 1e9 and spice_number("2.5meg") == 2.5e6 and spice_number("1e-12") == 1e-12
    with pytest.raises(ValueError, match="not a SPICE number"):
        spice_number("1 G")


def test_bad_output_name_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--out.*importable"):
        export_pyspice(CARD, tmp_path / "my-card.py")


@pytest.mark.ngspice
def test_pyspice_export_simulates_in_pyspice_like_the_spice_export(tmp_path) -> None:
    card_path = tmp_path / "card.json"
    CARD.save(card_path)
    assert main(["export", str(card_path), "--format", "pyspice", "--out", str(tmp_path / "mm.py"),
                 "--instances", "2", "--seed", "3", "--t-stop", str(T_STOP)]) == 0
    spice = export_card(CARD, "spice", tmp_path / "ref" / "mm.lib", n_instances=2, seed=3, t_stop_s=T_STOP)
    for i in range(2):  # the same seeded noise tables as the SPICE export
        assert (tmp_path / f"mm_noise{i}.txt").read_text() == spice[1 + i].read_text()
    mod = _load(tmp_path / "mm.py")
    assert [s.name for s in mod.subcircuits()] == ["pbit0", "pbit1"] and mod.MAX_STEP_S > 0

    ngspice_shared_class()  # points PySpice at libngspice (a user sets NGSPICE_LIBRARY_PATH instead)
    biases = CARD.v0_V + CARD.vs_V * np.array([-1.0, 0.0, 1.0])
    bits_pyspice, bits_batch = [], []
    for b in biases:
        c = circuit_class()("user testbench")
        c.subcircuit(mod.PbitMacroModel(0))
        c.X("p0", "pbit0", "bin", "q")
        c.V("b", "bin", c.gnd, float(b))
        an = c.simulator(simulator="ngspice-shared").transient(step_time=mod.MAX_STEP_S, end_time=T_STOP,
                                                               max_time=mod.MAX_STEP_S)
        bits_pyspice.append(_reads(np.asarray(an.time, dtype=float), np.asarray(an["q"], dtype=float)))
        net = (f"ref\n.include {spice[0].name}\nXp0 bin q pbit0\nVb bin 0 {float(b)!r}\n"
               f".tran {mod.MAX_STEP_S!r} {T_STOP!r} 0 {mod.MAX_STEP_S!r}\n.end\n")
        res = run(SimJob(net, files={f.name: f.read_text() for f in spice}, vectors=("v(q)",)))
        bits_batch.append(_reads(np.real(res.plots[0]["time"]), np.real(res.plots[0]["v(q)"])))
    # the same decisions, read for read, as the SPICE export run in batch mode
    for a, b in zip(bits_pyspice, bits_batch, strict=True):
        np.testing.assert_array_equal(a, b)
    # and the card's sigmoid: reads one tau apart have correlation e^-1, n_eff = n (1 - e^-1) / (1 + e^-1)
    p_hat = np.array([x.mean() for x in bits_pyspice])
    n_eff = bits_pyspice[0].size * (1 - math.exp(-1)) / (1 + math.exp(-1))

    def z(card: DeviceModel) -> np.ndarray:
        p = card.p1(biases)
        return (p_hat - p) / np.sqrt(p * (1 - p) / n_eff)

    assert np.all(np.abs(z(CARD)) < 4), (p_hat, CARD.p1(biases))
    assert np.max(np.abs(z(CARD.replace(v0_V=CARD.v0_V + 2 * CARD.vs_V)))) > 4  # negative control


@pytest.mark.ngspice
def test_default_cell_card_exports_to_pyspice_like_spice(tmp_path, monkeypatch) -> None:
    """`pbitkit export default --format pyspice` (the shipped card of the pipeline's default cell, clocked with
    correlated reads): in PySpice's shared mode the same reads, clock for clock, as the SPICE export in batch
    mode; P(1) at the card's centre within 4 SE."""
    from pbitkit.pbitmodel.cli import shipped_card_path

    card = DeviceModel.load(shipped_card_path("default"))
    ts = card.dynamics.sample_period_s
    assert ts > 0
    t_stop = 600 * ts
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "export", "default", "--format", "pyspice", "--seed", "4", "--t-stop", repr(t_stop)]) == 0
    assert main(["-q", "export", "default", "--format", "spice", "--seed", "4", "--t-stop", repr(t_stop)]) == 0
    mod = _load(tmp_path / "native_latch_card_pyspice.py")
    spice = [tmp_path / "native_latch_card.lib", tmp_path / "native_latch_card_noise0.txt"]
    assert (tmp_path / "native_latch_card_pyspice_noise0.txt").read_text() == spice[1].read_text()
    ngspice_shared_class()
    tk = (np.arange(5, 599) + 0.5) * ts  # one read per clock, half a period after the decision
    c = circuit_class()("user testbench")
    c.subcircuit(mod.PbitMacroModel(0))
    c.X("p0", "pbit0", "bin", "q")
    c.V("b", "bin", c.gnd, card.v0_V)
    an = c.simulator(simulator="ngspice-shared").transient(step_time=mod.MAX_STEP_S, end_time=t_stop,
                                                           max_time=mod.MAX_STEP_S)
    a = (np.interp(tk, np.asarray(an.time, dtype=float), np.asarray(an["q"], dtype=float)) > card.vdd_V / 2)
    net = (f"ref\n.include {spice[0].name}\nXp0 bin q pbit0\nVb bin 0 {card.v0_V!r}\n"
           f".tran {mod.MAX_STEP_S!r} {t_stop!r} 0 {mod.MAX_STEP_S!r}\n.end\n")
    res = run(SimJob(net, files={f.name: f.read_text() for f in spice}, vectors=("v(q)",)))
    b = np.interp(tk, np.real(res.plots[0]["time"]), np.real(res.plots[0]["v(q)"])) > card.vdd_V / 2
    np.testing.assert_array_equal(a, b)
    tau_int = max(1.0, 2 * card.dynamics.tau_corr_s / ts)
    assert abs(a.mean() - 0.5) < 4 * math.sqrt(0.25 * tau_int / a.size)
