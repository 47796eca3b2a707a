"""The public face of ``pbitkit.dtm``: curated, documented, no name shadowing a submodule."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import pytest

import pbitkit.dtm as dtm
from pbitkit.dtm.evaluate import EvalConfig, run_evaluation
from pbitkit.dtm.pipeline import DTMConfig
from pbitkit.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dtm.md"


def test_every_public_name_is_documented() -> None:
    # a name counts as documented when it appears as an identifier inside a code span of docs/dtm.md
    text = DOCS.read_text(encoding="utf-8")
    fenced = re.findall(r"```.*?```", text, flags=re.S)
    spans = fenced + re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    documented = set(re.findall(r"[A-Za-z_]\w*", " ".join(spans)))
    missing = [n for n in dtm.__all__ if n not in documented]
    assert not missing, f"public names of pbitkit.dtm not documented in docs/dtm.md: {missing}"
    assert "_sqrtm_psd" not in documented  # negative control: an internal name is not there


def test_all_is_curated_and_resolves() -> None:
    assert len(dtm.__all__) == len(set(dtm.__all__))
    for name in dtm.__all__:
        assert not name.startswith("_") and hasattr(dtm, name), name


def test_no_public_name_shadows_a_submodule() -> None:
    submodules = {m.name for m in pkgutil.iter_modules(dtm.__path__)}
    assert {"generation", "train", "evaluate"} <= submodules
    assert not submodules & set(dtm.__all__), submodules & set(dtm.__all__)
    import pbitkit.dtm.generation as gen_mod

    assert dtm.generation is gen_mod  # the attribute is the module, the function is dtm.generate
    assert callable(dtm.generate) and dtm.generate is gen_mod.generate


def test_unknown_evaluation_mode_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="holds no trained model"):
        run_evaluation(DTMConfig(), tmp_path, tmp_path / "ev", EvalConfig(), modes=["ideal"])


def test_unconditional_labels_follow_the_training_prior() -> None:
    import numpy as np

    from pbitkit.dtm.datasets import load_digits_binary
    from pbitkit.dtm.evaluate import unconditional_labels
    from pbitkit.dtm.forward import ForwardConfig, ForwardProcess
    from pbitkit.dtm.model import DTM, ModelConfig, StepParams, build_layout

    train = load_digits_binary().subset(500, seed=0)
    lay = build_layout(ModelConfig(L=16, label_repeat=2), train.n_pixels, 10)
    fp = ForwardProcess(ForwardConfig(n_steps=1), lay.n_pixels, lay.n_label_bits)
    zero = StepParams(np.zeros(lay.graph.n_edges), np.zeros(lay.n_nodes), fp.coupling(1))
    tr = dtm.TrainedDTM(DTM(lay, fp, (zero,), ModelConfig(L=16, label_repeat=2)), {}, train, train)
    ss = np.random.SeedSequence(0)
    assert unconditional_labels(tr, 10, EvalConfig(), ss) is None  # default: free label bits
    labs = unconditional_labels(tr, 20000, EvalConfig(unconditional="label_prior"), ss)
    prior = np.bincount(train.y, minlength=10) / len(train.y)
    np.testing.assert_allclose(np.bincount(labs, minlength=10) / 20000, prior, atol=5 * np.sqrt(0.25 / 20000))
    with pytest.raises(ConfigError, match="unconditional"):
        EvalConfig(unconditional="sometimes")
