"""The documented commands: `pbitkit dtm config|train|sample|evaluate` on small settings."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import pickle

import numpy as np
import pytest

from pbitkit.cli import main
from pbitkit.config import from_dict, load_toml
from pbitkit.dtm.pipeline import DTMConfig, train_dtm
from pbitkit.errors import ConfigError, PbitkitError

SMALL = """
monolithic_baseline = true
[data]
name = "digits"
n_train = 300
[forward]
n_steps = 2
[model]
L = 16
[train]
epochs = 2
batch_size = 100
burn_in = 3
measure = 2
k_sample = 5
monitor_chains = 8
"""


@pytest.mark.slow
def test_cli_train_sample_evaluate(tmp_path) -> None:
    cfg = tmp_path / "dtm.toml"
    cfg.write_text(SMALL)
    run = tmp_path / "run"
    assert main(["dtm", "train", "--config", str(cfg), "--out", str(run)]) == 0
    assert (run / "model.npz").exists() and (run / "T1" / "model.npz").exists() and (run / "run.json").exists()
    # re-running resumes (finished checkpoints) and agrees with the saved model
    before = np.load(run / "model.npz")["J_edge_1"]
    assert main(["dtm", "train", "--config", str(cfg), "--out", str(run)]) == 0
    np.testing.assert_array_equal(np.load(run / "model.npz")["J_edge_1"], before)
    out = tmp_path / "s.npz"
    assert main(["dtm", "sample", "--run", str(run), "--n", "20", "--K", "5", "--labels", "3,4", "--out", str(out)]) == 0
    z = np.load(out)
    assert z["pixels"].shape == (20, 64) and list(z["labels"][:4]) == [3, 4, 3, 4]
    assert main(["dtm", "evaluate", "--run", str(run), "--n-samples", "60", "--K", "5"]) == 0
    rep = (run / "evaluate" / "report.md").read_text()
    assert "| ideal | 2 | 5 |" in rep and "| T1 | 1 | 5 |" in rep and "independent" in rep
    assert (run / "evaluate" / "samples_ideal_K5.png").exists()
    assert main(["dtm", "evaluate", "--run", str(run), "--n-samples", "60", "--K", "5", "--modes", "ideal,bogus"]) == 1  # unknown mode: an error, not a warning
    # a different config in the same directory is refused
    cfg.write_text(SMALL.replace("epochs = 2", "epochs = 3"))
    assert main(["dtm", "train", "--config", str(cfg), "--out", str(run)]) == 1


def test_default_config_roundtrips(tmp_path, capsys) -> None:
    assert main(["dtm", "config", "--out", str(tmp_path / "c.toml")]) == 0
    assert from_dict(DTMConfig, load_toml(tmp_path / "c.toml")) == DTMConfig()
    with pytest.raises(ConfigError, match="train.lr"):
        from_dict(DTMConfig, {"train": {"lr": -1.0}})
    with pytest.raises(ConfigError, match="unknown"):
        from_dict(DTMConfig, {"model": {"side": 3}})


def test_steps_run_through_an_executor(tmp_path) -> None:
    """The per-step jobs are picklable and run through any Executor (process pool / Dask); ``init_model``
    starts every step from a trained model (relative to the directory trained into)."""
    cfg = from_dict(DTMConfig, {**load_toml_text(SMALL), "monolithic_baseline": False})
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        a = train_dtm(cfg, executor=ex)
    b = train_dtm(cfg, tmp_path)
    for sa, sb in zip(a.dtm.steps, b.dtm.steps):
        np.testing.assert_array_equal(sa.J_edge, sb.J_edge)  # same result as in-process, step by step
    tiny = dataclasses.replace(cfg.train, epochs=1, lr=1e-6)
    ft = train_dtm(dataclasses.replace(cfg, init_model="../model.npz", train=tiny), tmp_path / "ft")
    scratch = train_dtm(dataclasses.replace(cfg, train=tiny))
    for sf, ss, sb in zip(ft.dtm.steps, scratch.dtm.steps, b.dtm.steps):
        assert np.max(np.abs(sf.J_edge - sb.J_edge)) < 1e-4 < np.max(np.abs(ss.J_edge - sb.J_edge))
    with pytest.raises(ConfigError, match="relative"):
        train_dtm(dataclasses.replace(cfg, init_model="model.npz"))
    with pytest.raises(PbitkitError, match="not found"):
        train_dtm(dataclasses.replace(cfg, init_model=str(tmp_path / "none.npz")))
    from pbitkit.dtm.train import StepJob

    job = StepJob(1, a.dtm.layout, a.dtm.forward, a.train.x[:, :0], cfg.train)
    assert pickle.loads(pickle.dumps(job)).step == 1


def load_toml_text(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def test_variants_for_the_T_sweep() -> None:
    from pbitkit.dtm.pipeline import variants

    v = variants(DTMConfig(hardware_aware=True, acp_baseline=True, extra_T=(2, 4, 8)))  # 4 = main's T: once
    assert list(v) == ["main", "T1", "T2", "T8", "no_acp", "hw_aware"]  # the cheap comparisons train first
    assert v["T8"][0].forward.n_steps == 8 and v["T8"][1] == "T8"
    hw = v["hw_aware"][0]
    assert hw.sampler.mode == "device"  # fine-tunes the main model on the chip (the default), never longer than it
    assert hw.init_model == "../model.npz" and hw.train.epochs == 10 and hw.train.lr == 0.005
    assert v["main"][0].init_model is None and v["main"][0].train.epochs == 80
    short = variants(DTMConfig(hardware_aware=True, train=dataclasses.replace(DTMConfig().train, epochs=3)))
    assert short["hw_aware"][0].train.epochs == 3
    scratch = variants(DTMConfig(hardware_aware=True, hardware_aware_init="scratch"))["hw_aware"][0]
    assert scratch.init_model is None and scratch.train == DTMConfig().train
    for bad in ({"hardware_aware_init": "ideal"}, {"hardware_aware_epochs": 0}, {"hardware_aware_lr": 0.0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            DTMConfig(**bad)
    acp = v["no_acp"][0].train.acp
    assert not acp.enabled and acp.lambda_init == 0.0 and v["main"][0].train.acp.enabled


def test_equal_energy_K_and_pipeline_preset(tmp_path) -> None:
    """T = 1 at the main DTM's sweeps per sample; `dtm` commands read a pipeline preset's [dtm]/[evaluate]."""
    from pbitkit.dtm.cli import _load_cfg, _section
    from pbitkit.dtm.evaluate import EvalConfig, mode_K_values
    from pbitkit.paths import repo_root

    e = EvalConfig(K_values=(10, 50), K_later=0, equal_energy=True)
    assert mode_K_values("T1", 1, 8, e) == (80, 400)
    assert mode_K_values("ideal", 8, 8, e) == (10, 50) and mode_K_values("no-acp", 8, 8, e) == (10, 50)
    assert mode_K_values("T1+cal", 1, 8, e) == (80, 400)  # the monolithic machine on the calibrated chip too
    assert mode_K_values("no-acp+cal", 8, 8, e) == (10, 50)
    assert mode_K_values("T1", 1, 8, EvalConfig(K_values=(10, 50), K_later=0)) == (10, 50)  # negative control: flag off
    preset = repo_root() / "configs" / "fashion_mnist.toml"
    cfg = _load_cfg(str(preset))
    assert (cfg.model.L, cfg.model.pattern, cfg.forward.n_steps, cfg.data.name) == (70, "G12", 8, "fashion_mnist")
    assert cfg.data.holdout == "test_split" and cfg.acp_baseline and cfg.hardware_aware
    ev, where = _section(str(preset), "evaluate")
    assert 250 in ev["K_values"] and ev["equal_energy"] is True and "[evaluate]" in where
    assert ev["K_later"] == 0  # the preset's documented results run K on every step
    from pbitkit.pipeline.config import load_pipeline_config

    pc = load_pipeline_config(preset)  # the one-command run: only the array cell is characterized (tt + mismatch)
    assert pc.array_cell == "native_latch" and pc.characterize.cells == ("native_latch",)
    assert pc.characterize.corners == ("tt",) and pc.characterize.n_mc >= 8 and pc.dtm == cfg
    plain = tmp_path / "dtm.toml"
    plain.write_text("[model]\nL = 12\n")
    assert _load_cfg(str(plain)).model.L == 12  # a plain DTM config still works
    with pytest.raises(ConfigError, match="test split"):
        from pbitkit.dtm.pipeline import DataConfig

        DataConfig(name="digits", holdout="test_split")
    with pytest.raises(ConfigError, match="extra_T"):
        DTMConfig(extra_T=(0,))


@pytest.mark.slow
def test_fashion_mnist_preset_shrunk(tmp_path) -> None:
    """configs/fashion_mnist.toml end to end, shrunk (L 42, T 2, 200 training images, 1 epoch) on the real
    Fashion-MNIST (fetched once): every variant trains, T = 1 runs at the DTM's sweeps per sample, the
    no-penalty and chip modes are evaluated against the t10k reference, and the report states a verdict."""
    import tomllib

    from pbitkit.config import dump_toml
    from pbitkit.paths import repo_root

    raw = tomllib.loads((repo_root() / "configs" / "fashion_mnist.toml").read_text())
    raw["dtm"]["model"]["L"] = 42
    raw["dtm"]["forward"]["n_steps"] = 2
    raw["dtm"]["data"].update(n_train=200, n_test=500)
    raw["dtm"]["train"].update(epochs=1, k_sample=3, monitor_chains=8)
    raw["evaluate"].update(n_samples=30, K_values=[2], n_mixture=[2], n_boot=5)
    cfg = tmp_path / "fm.toml"
    cfg.write_text(dump_toml(raw))
    run = tmp_path / "run"
    assert main(["dtm", "train", "--config", str(cfg), "--out", str(run)]) == 0
    for sub in ("T1", "no_acp", "hw_aware"):
        assert (run / sub / "model.npz").exists()
    assert main(["dtm", "evaluate", "--run", str(run), "--config", str(cfg)]) == 0
    rep = (run / "evaluate" / "report.md").read_text()
    assert "held-out 500" in rep and "| T1 | 1 | 4 |" in rep  # T = 1 at K x T = 4 sweeps: same energy
    for mode in ("| ideal | 2 | 2 |", "| no-acp | 2 | 2 |", "| no-acp+cal | 2 | 2 |", "| hw-aware | 2 | 2 |",
                 "| T1+cal | 1 | 4 |"):
        assert mode in rep
    assert "T1 (K=4, same energy)" in rep and "## Verdict" in rep


def test_default_crossbar_shrunk_and_grid_preset(tmp_path) -> None:
    """The default DTM is the crossbar with its training and evaluation settings (in the pipeline's default
    config too); configs/digits_grid.toml loads the grid's. Shrunk (200 digits, 1 epoch, T = 2), the default
    trains the main, T = 1 and hardware-aware models on the crossbar and evaluates them on the shipped
    native_latch card's chip, whose bias network (measured at fan-in 20) the ledger scales to the crossbar's
    fan-in 128 and marks partial."""
    from pbitkit.config import dump_toml, to_dict
    from pbitkit.dtm.evaluate import EvalConfig
    from pbitkit.paths import repo_root
    from pbitkit.pipeline.config import default_config, load_pipeline_config

    pc = default_config()
    m, t = pc.dtm.model, pc.dtm.train
    assert (m.pattern, m.L, t.epochs, t.lr, t.weight_decay) == ("bipartite", 16, 80, 0.01, 0.001)
    assert pc.evaluate.K_later == 0 and pc.evaluate.n_samples == 10000 and pc.dtm.hardware_aware
    assert pc.characterize.cells == ("native_latch",) and pc.dtm.model == DTMConfig().model
    grid = load_pipeline_config(repo_root() / "configs" / "digits_grid.toml")
    m, t = grid.dtm.model, grid.dtm.train
    assert (m.pattern, t.epochs, t.lr, t.weight_decay) == ("G20", 40, 0.02, 0.0001)
    assert (grid.evaluate.K_later, grid.evaluate.n_samples) == (5, 5000)
    assert grid.characterize.cells == ("native_latch", "strongarm")
    raw = {"dtm": to_dict(DTMConfig()), "evaluate": to_dict(EvalConfig())}
    raw["dtm"].update(hardware_aware=True, monolithic_baseline=True, forward={"n_steps": 2},
                      data={"n_train": 200},
                      device={"mode": "device", "weight_bits": 8, "bias_bits": 8, "calibrate": True,
                              "card": str(repo_root() / "pbitkit" / "data" / "native_latch_card.json")})
    raw["dtm"]["train"].update(epochs=1, k_sample=3, monitor_chains=8, burn_in=3, measure=2)
    raw["evaluate"].update(n_samples=40, K_values=[3], n_mixture=[2], n_boot=5)
    cfg = tmp_path / "xb.toml"
    cfg.write_text(dump_toml(raw))
    run = tmp_path / "run"
    assert main(["dtm", "train", "--config", str(cfg), "--out", str(run)]) == 0
    for sub in ("T1", "hw_aware"):
        assert (run / sub / "model.npz").exists()
    assert np.load(run / "model.npz")["J_edge_1"].shape == (128 * 128,)
    assert main(["dtm", "evaluate", "--run", str(run), "--config", str(cfg),
                 "--modes", "ideal,device+cal,hw-aware,T1"]) == 0
    rep = (run / "evaluate" / "report.md").read_text()
    assert "bipartite 16x16 (256 nodes, 16384 edges)" in rep
    for mode in ("| ideal | 2 | 3 |", "| device+cal | 2 | 3 |", "| hw-aware | 2 | 3 |"):
        assert mode in rep
    import json

    pts = json.loads((run / "evaluate" / "results.json").read_text())["points"]
    bias = next(t for t in next(p for p in pts if p["mode"] == "ideal")["energy"]["terms"] if t["name"] == "bias")
    assert bias["status"] == "partial" and "128-128 inputs" in bias["source"]
