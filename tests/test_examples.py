"""Every script in examples/ runs on small settings (the way users drive each stage from Python)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pbitkit.paths import repo_root

EXAMPLES = repo_root() / "examples"


def _run(args: list[str], cwd: Path, timeout: float = 600) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def _pngs(d: Path) -> list[Path]:
    return sorted(d.rglob("*.png"))


def test_every_example_is_covered() -> None:
    covered = {"array_ising_phase.py", "array_variation_calibration.py", "dtm_digits.py", "dtm_digits_experiments.py",
               "dtm_fashion_mnist.py",
               "dtm_hardware_ablation.py", "explore_native_latch.py", "native_latch_card.py",
               "native_latch_corners.py", "native_latch_mismatch.py", "strongarm_noise_step.py", "pbitmodel_coupled_pair.py", "pbitmodel_default_card.py",
               "pbitmodel_validate.py", "pyspice_cell.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} <= covered, "a new example needs a test here"


@pytest.mark.slow
def test_array_examples(tmp_path: Path) -> None:
    _run([str(EXAMPLES / "array_ising_phase.py"), "--size", "8", "--sweeps", "50", "--chains", "4",
          "--out", str(tmp_path / "a")], tmp_path)
    _run([str(EXAMPLES / "array_variation_calibration.py"), "--size", "8", "--out", str(tmp_path / "b")], tmp_path)
    assert _pngs(tmp_path / "a") and _pngs(tmp_path / "b")


@pytest.mark.slow
def test_dtm_examples(tmp_path: Path) -> None:
    _run([str(EXAMPLES / "dtm_digits.py"), "--epochs", "1", "--out", str(tmp_path / "digits")], tmp_path)
    out = _run([str(EXAMPLES / "dtm_digits_experiments.py"), "--name", "x", "--set", "train.epochs=1",
                "--config", str(EXAMPLES.parent / "configs" / "digits_grid.toml"),
                "--set", "forward.n_steps=2", "--set", "data.n_train=200",
                "--n-samples", "50", "--step-K", "3,1", "--anneal-gen", "0.5,2,1", "--memorization", "--em-seeds", "0", "--out", str(tmp_path / "exp")],
               tmp_path)
    assert "x K=20: FD" in out and "x step K=[3, 1]: FD" in out and "x step K=[3, 1]: label-clamped" in out
    assert "memorization: DTM: FD vs held-out" in out and "memorization: Bernoulli mixture 50 (EM seed 0)" in out
    assert (tmp_path / "exp" / "x" / "model.npz").exists()
    # the grid preset's G20 (16 x 16 x 20 / 2 couplings), not the default crossbar's 128 x 128
    assert np.load(tmp_path / "exp" / "x" / "model.npz")["J_edge_1"].shape == (2560,)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text("[data]\nn_train = 200\n[forward]\nn_steps = 2\n[train]\nepochs = 1\nbatch_size = 64\n")
    _run(["-m", "pbitkit", "dtm", "train", "--config", str(cfg), "--out", str(tmp_path / "run")], tmp_path)
    out = _run([str(EXAMPLES / "dtm_hardware_ablation.py"), "--run", str(tmp_path / "run"), "--K", "2", "--n", "20"],
               tmp_path)
    assert "dac" in out.lower() or "bits" in out.lower()
    # the paper's Fashion-MNIST setting, shrunk, on a stand-in file of the right format (Keras-style .npz)
    rng = np.random.default_rng(0)
    x = (rng.random((120, 28, 28)) * 255).astype(np.uint8)
    y = rng.integers(0, 10, 120).astype(np.uint8)
    data = tmp_path / "fashion.npz"
    np.savez(data, x_train=x[:100], y_train=y[:100], x_test=x[100:], y_test=y[100:])
    _run([str(EXAMPLES / "dtm_fashion_mnist.py"), "--data", str(data), "--out", str(tmp_path / "fashion"),
          "--epochs", "1", "--L", "42", "--steps", "2", "--n-samples", "10", "--K", "2"], tmp_path)
    assert (tmp_path / "fashion" / "evaluate" / "report.md").exists()


@pytest.mark.slow
@pytest.mark.ngspice
def test_pbitmodel_examples(tmp_path: Path) -> None:
    _run([str(EXAMPLES / "pbitmodel_validate.py"), "--cell", "strongarm", "--out", str(tmp_path / "v"),
          "--periods", "200"], tmp_path)
    _run([str(EXAMPLES / "pbitmodel_coupled_pair.py"), "--t-stop", "0.01", "--out", str(tmp_path / "pair")], tmp_path)
    inst = tmp_path / "installed"
    _run([str(EXAMPLES / "pbitmodel_default_card.py"), "--out", str(tmp_path / "card"), "--n-mc", "1",
          "--install-dir", str(inst)], tmp_path)
    card = json.loads((inst / "default_card.json").read_text())
    assert card["cell"] == "strongarm" and card["bias_network"]["g_unit_S"] > 0
    out = _run([str(EXAMPLES / "native_latch_card.py"), "--out", str(tmp_path / "nl"), "--n-mc", "2", "--replicas", "2",
                "--clocks", "300", "--t-stop", "2e-5"], tmp_path)
    assert "| bias (mV) | P(1) cell |" in out and "energy_per_independent_bit_J" in out
    assert json.loads((tmp_path / "nl" / "card" / "device_card.json").read_text())["cell"] == "native_latch"


@pytest.mark.slow
@pytest.mark.ngspice
def test_pyspice_cell_example(tmp_path: Path) -> None:
    out = _run([str(EXAMPLES / "pyspice_cell.py"), "--out", str(tmp_path / "ps"), "--points", "5", "--samples", "30"],
               tmp_path)
    assert "characterized pysalatch: 5 rows, 0 failed" in out
    assert (tmp_path / "ps" / "pysalatch_card.json").exists() and (tmp_path / "ps" / "pysalatch_macro.py").exists()
    # the exported macro-model at the card's centre: P(1) = 1/2 within 4 binomial SE of ~400 independent reads
    p = float(out.split("P(1) = ")[-1].split()[0])
    assert abs(p - 0.5) < 4 * 0.5 / 400**0.5


@pytest.mark.ngspice
@pytest.mark.slow
def test_explore_example(tmp_path: Path) -> None:
    out = _run([str(EXAMPLES / "explore_native_latch.py"), "--budget", "2", "--initial", "2", "--workers", "1",
                "--out", str(tmp_path / "ex")], tmp_path)
    assert "| default |" in out and (tmp_path / "ex" / "front.png").is_file() and "floor: readout + clock" in out


@pytest.mark.slow
@pytest.mark.ngspice
def test_cell_study_examples(tmp_path: Path) -> None:
    """The corner, mismatch and StrongARM noise-step studies of docs/cells.md, each on one small point."""
    out = _run([str(EXAMPLES / "strongarm_noise_step.py"), "--steps", "80e-12", "--n", "60"], tmp_path)
    assert "80 ps" in out
    _run([str(EXAMPLES / "native_latch_mismatch.py"), "--part", "readout", "--seeds", "1",
          "--out", str(tmp_path / "ro.jsonl")], tmp_path)
    rec = json.loads((tmp_path / "ro.jsonl").read_text().splitlines()[0])
    assert rec["mc_seed"] == 0 and "after" in rec
    # the corner study calibrates each die (minutes per point; its functions are tested in
    # tests/circuits/test_native_latch_cal.py): here its table from the stored data
    out = _run([str(EXAMPLES / "native_latch_corners.py"), "--table", "--out",
                str(EXAMPLES.parent / "pbitkit" / "data" / "native_latch_corners.jsonl")], tmp_path)
    assert "| tt / 27 |" in out
