"""The Python examples of docs/array.md run as written (quick start and the compiled form)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[2] / "docs" / "array.md"


def test_docs_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    ns: dict = {}
    exec(compile(blocks[0], "docs/array.md:quickstart", "exec"), ns)  # noqa: S102
    assert ns["s"].shape == (200, 8, 256)
    assert "(200, 8, 256)" in capsys.readouterr().out
    exec(compile(blocks[1], "docs/array.md:compiled", "exec"), ns)  # noqa: S102
    mom = ns["mom"]
    assert mom.m1.shape == (256,) and mom.m2.shape == (ns["g"].n_edges,)
    np.testing.assert_array_equal(mom.m1[:10], 1.0)  # the clamped nodes
