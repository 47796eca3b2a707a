"""`pbitkit fit RUN_DIR` and `pbitkit export CARD --format ...` end to end on a table from a known card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pbitkit.cli import main
from pbitkit.errors import ModelCardError
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.synthetic import synthetic_table
from pbitkit.pbitmodel.table import table_to_csv


def test_fit_then_export(tmp_path):
    true = DeviceModel.ideal(vs_V=0.01, v0_V=0.02, tau_corr_s=1e-6).replace(
        variation={"v0_sigma_V": 0.01}, energy={"static_power_W": 1e-9, "energy_per_flip_J": 1e-15})
    tab = synthetic_table(true, np.linspace(-4, 4, 9) * 0.01, n_samples=2000, mc_seeds=[-1, 0, 1, 2, 3],
                          corners=["tt", "ss"], corner_shift_V={"ss": 0.02}, relative_bias=True, seed=9)
    run = tmp_path / "run"
    run.mkdir()
    (run / "characterization.csv").write_text(table_to_csv(tab))
    (run / "characterization.json").write_text(json.dumps({"models": [{"source": "synthetic 1.0 tt", "corner": "tt"}]}))
    assert main(["-q", "fit", str(run)]) == 0
    card = DeviceModel.load(run / "device_card.json")
    assert card.process == "synthetic 1.0 tt"
    assert abs(card.v0_V - 0.02) < 4 * card.v0_se_V
    assert card.provenance.table_sha256 and card.provenance.details["fit_config"]["link"] == "auto"
    report = (run / "fit_report.md").read_text()
    for section in ("## Sigmoid", "## Dynamics", "## Energy", "## Variation", "## Corners", "fit_plots/sigmoid.png"):
        assert section in report
    names = {p.name for p in (run / "fit_plots").iterdir()}
    assert {"sigmoid.png", "residuals.png", "rates.png", "energy.png", "variation.png", "corners.png"} <= names
    assert (run / "fit_params.csv").read_text().startswith("parameter,value,unit,std_error")

    assert main(["-q", "export", str(run / "device_card.json"), "--format", "spice", "--out", str(tmp_path / "m.lib"),
                 "--instances", "2", "--t-stop", "1e-5"]) == 0
    assert ".subckt pbit1 bias out" in (tmp_path / "m.lib").read_text()
    assert (tmp_path / "m_noise1.txt").is_file()
    assert main(["-q", "export", str(run / "device_card.json"), "--format", "csv"]) == 0
    assert (run / "device_card.csv").is_file()
    assert main(["-q", "export", str(run / "device_card.json"), "--format", "json"]) == 0
    assert DeviceModel.load(run / "device_card_export.json") == card


def test_cli_errors_are_reported(tmp_path, caplog):
    assert main(["-q", "fit", str(tmp_path / "missing")]) == 1
    assert "not found" in caplog.text
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 7}')
    assert main(["-q", "export", str(bad), "--format", "csv"]) == 1
    assert "unknown schema version 7" in caplog.text
    with pytest.raises(ModelCardError):
        DeviceModel.load(bad)


def test_fit_run_into_another_directory(tmp_path):
    """The pipeline's entry point: fit_run(characterization dir, out dir, config) -> summary()."""
    from pbitkit.pbitmodel import FitConfig, fit_run

    true = DeviceModel.ideal(vs_V=0.01, tau_corr_s=1e-6)
    src = tmp_path / "char"
    src.mkdir()
    (src / "characterization.csv").write_text(
        table_to_csv(synthetic_table(true, np.linspace(-0.04, 0.04, 9), n_samples=1000, seed=3)))
    res = fit_run(src, tmp_path / "fit", FitConfig(link="logistic"), plots=False)
    s = res.summary()
    json.dumps(s)
    assert res.card_path == tmp_path / "fit" / "device_card.json" and s["link"] == "logistic"
    assert abs(s["vs_V"] - 0.01) < 4 * s["vs_se_V"]
    assert json.loads((tmp_path / "fit" / "fit.json").read_text())["config"]["link"] == "logistic"
    assert not (src / "device_card.json").exists()
