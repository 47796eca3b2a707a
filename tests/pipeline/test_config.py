"""Pipeline config: TOML loading, merging over defaults, errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbitkit.errors import ConfigError
from pbitkit.pipeline.config import default_config, load_pipeline_config, quick_config
from pbitkit.pipeline.run import sweep_spec_for


def test_defaults_cover_every_corner_and_hardware_mode() -> None:
    cfg = default_config()
    assert set(cfg.characterize.corners) == {"tt", "ff", "ss", "fs", "sf"}
    assert cfg.characterize.n_mc > 0
    assert cfg.dtm.hardware_aware
    assert cfg.array_cell in cfg.characterize.cells


def test_quick_is_smaller_than_default() -> None:
    q, d = quick_config(), default_config()
    assert q.characterize.cells == d.characterize.cells == ("native_latch",)
    assert len(q.characterize.corners) < len(d.characterize.corners) and q.characterize.n_mc < d.characterize.n_mc
    assert (q.dtm.model.pattern, d.dtm.model.pattern) == ("G20", "bipartite")  # quick: no fan-in-128 network
    assert q.dtm.train.epochs < d.dtm.train.epochs
    spec = sweep_spec_for(q, q.array_cell)
    assert q.array_cell == d.array_cell == "native_latch" == spec.cell  # the default cell (issue 11)
    assert spec.corners == ("tt",) and spec.bias.n >= 9
    assert spec.params == {"t_stop_s": 30e-6}  # the cell's quick parameters
    assert sweep_spec_for(d, "strongarm").params == {"n_samples": 100}  # the pipeline's own StrongARM reads


def test_toml_overrides_merge_key_by_key(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('array_cell = "strongarm"\n[characterize]\ncells = ["native_latch", "strongarm"]\nn_mc = 1\n'
                 '[dtm.model]\nL = 10\n')
    cfg = load_pipeline_config(f)
    assert (cfg.array_cell, cfg.characterize.n_mc, cfg.dtm.model.L) == ("strongarm", 1, 10)
    assert cfg.characterize.corners == default_config().characterize.corners  # untouched keys keep defaults
    assert cfg.dtm.hardware_aware


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("bogus = 1\n", "unknown key(s) ['bogus']"),
        ("[characterize]\nn_mc = -1\n", "n_mc must be >= 0"),
        ('array_cell = "nope"\n', "array_cell 'nope' is not among"),
        ("[dtm.model]\nL = 'big'\n", "dtm.model.L"),
        ("[fit]\nlink = 'cubic'\n", "fit.link"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_pipeline_config(f)
    assert needle in str(info.value)
    assert "bad.toml" in str(info.value)
