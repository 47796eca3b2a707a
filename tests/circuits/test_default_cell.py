"""`default` names the pipeline's default cell everywhere a cell is named (issue 11 §6): the registry, sweep
specs, `pbitkit characterize/fit/export/cells show`, the pipeline config; the alias never reaches a table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pbitkit.circuits import registry
from pbitkit.circuits.builtin.strongarm import StrongArmCell
from pbitkit.circuits.default_cell import DEFAULT_CELL, DEFAULT_CELL_ALIAS, resolve_cell_name
from pbitkit.circuits.sweep import expand, load_spec, quick_spec
from pbitkit.cli import main
from pbitkit.errors import ConfigError
from pbitkit.pbitmodel.card import DeviceModel
from pbitkit.pbitmodel.cli import shipped_card_path
from pbitkit.pbitmodel.fit import FitConfig
from pbitkit.pbitmodel.synthetic import synthetic_table
from pbitkit.pbitmodel.table import table_to_csv
from pbitkit.pipeline.config import default_config, load_pipeline_config, quick_config


def test_default_is_the_all_transistor_native_latch_in_the_registry_and_specs() -> None:
    assert (DEFAULT_CELL, DEFAULT_CELL_ALIAS) == ("native_latch", "default")
    assert resolve_cell_name("default") == "native_latch" and resolve_cell_name("latch") == "latch"
    cell = registry.get_cell("default")
    assert cell is registry.get_cell("native_latch") and cell.all_transistor
    assert "default" not in registry.list_cells()  # an alias, not a second cell
    spec = load_spec({"cell": "default"})
    assert spec.cell == "native_latch" and {p.cell for p in expand(spec)} == {"native_latch"}
    assert quick_spec("default") == quick_spec("native_latch")  # incl. the cell's quick parameters
    assert load_spec({"cell": "native_latch"}, cell="default").cell == "native_latch"  # the same cell
    with pytest.raises(ConfigError, match="not 'default'"):
        load_spec({"cell": "strongarm"}, cell="default")  # a spec is never re-targeted
    with pytest.raises(ConfigError, match="'default' = 'native_latch'"):
        registry.get_cell("nope")

    class Default(StrongArmCell):
        name = "default"

    with pytest.raises(ConfigError, match="names the pipeline's default cell"):
        registry.register_cell(Default())


def test_pipeline_defaults_to_the_default_cell(tmp_path: Path) -> None:
    for cfg in (default_config(), quick_config()):
        assert cfg.array_cell == DEFAULT_CELL and cfg.characterize.cells[0] == DEFAULT_CELL
    f = tmp_path / "p.toml"
    f.write_text('array_cell = "default"\n[characterize]\ncells = ["strongarm", "default"]\n'
                 '[characterize.params.default]\nt_stop_s = 3e-5\n')
    cfg = load_pipeline_config(f)
    assert cfg.array_cell == "native_latch" and cfg.characterize.cells == ("strongarm", "native_latch")
    assert cfg.characterize.params == {"native_latch": {"t_stop_s": 3e-5}}
    f.write_text('[characterize]\ncells = ["native_latch", "default"]\n')
    with pytest.raises(ConfigError, match="names a cell twice"):
        load_pipeline_config(f)
    f.write_text('array_cell = "latch"\n[characterize]\ncells = ["default"]\n')
    with pytest.raises(ConfigError, match="array_cell 'latch' is not among"):
        load_pipeline_config(f)


def test_cli_commands_accept_default(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["cells", "show", "default"]) == 0
    assert capsys.readouterr().out == registry.get_cell("native_latch").default_netlist()
    assert main(["cells"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "the pipeline's default cell" in ln]
    assert [ln.split()[0] for ln in lines] == ["native_latch"]
    # export: a cell name exports the cell's shipped card into the working directory
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "export", "default", "--format", "json"]) == 0
    shipped = DeviceModel.load(shipped_card_path("native_latch"))
    assert DeviceModel.load(tmp_path / "native_latch_card.json") == shipped
    assert main(["-q", "export", "latch", "--format", "csv"]) == 1
    assert "ships no card" in caplog.text
    # fit: --cell default picks the default cell's rows of a table holding several cells
    card = DeviceModel.ideal(vs_V=0.01, v0_V=0.1, tau_corr_s=1e-7)
    tabs = [synthetic_table(card.replace(v0_V=v0), 0.1 + np.linspace(-0.04, 0.04, 9), n_samples=400, seed=3, cell=c)
            for c, v0 in (("native_latch", 0.1), ("strongarm", 0.12))]
    run = tmp_path / "run"
    run.mkdir()
    header, *rows0 = table_to_csv(tabs[0]).splitlines()
    rows1 = table_to_csv(tabs[1]).splitlines()[1:]
    (run / "characterization.csv").write_text("\n".join([header, *rows0, *rows1]) + "\n")
    (run / "characterization.json").write_text(json.dumps({"models": [{"source": "synthetic", "corner": "tt"}]}))
    assert FitConfig(cell="default").cell == "native_latch"
    assert main(["-q", "fit", str(run), "--no-plots"]) == 1
    assert "several cells" in caplog.text
    assert main(["-q", "fit", str(run), "--cell", "default", "--no-plots"]) == 0
    fitted = DeviceModel.load(run / "device_card.json")
    assert fitted.cell == "native_latch" and abs(fitted.v0_V - 0.1) < 4 * fitted.v0_se_V


def test_shipped_native_latch_card_carries_its_measured_bias_network() -> None:
    """The shipped card's bias network is the measured charge-domain network (energy, provenance), and its
    swing leaves the array's field rails wide of the programmed fields; the unmodelled network (swing = the
    cell's 0.12 V core supply) clips them at about 2 and must fail the same check."""
    from pbitkit.array.device import from_device_model
    from pbitkit.pbitmodel.card import BiasNetwork

    card = DeviceModel.load(shipped_card_path("native_latch"))
    bn = card.bias_network
    assert bn.energy_per_update_J > 0 and bn.c_node_F > 0 and bn.settling_s > 0
    assert "bias_network" in card.provenance.details

    def field_rail(c: DeviceModel) -> float:  # largest field (units of 2 Vs) before the rails clip
        s = from_device_model(c)
        return 0.5 * s.bias_vdd_V / (2.0 * s.vs_V)

    assert field_rail(card) > 5.0
    assert field_rail(card.replace(bias_network=BiasNetwork.unmodelled(card.vdd_V))) < 5.0
