"""Output bit sequences: encoding for transport/cache, the bits.npz file, and the plots drawn from them
(no simulator; the real-run check is in test_cli.py's --quick test)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pbitkit.circuits import measure, plots
from pbitkit.circuits.bits import BitRecord, decode_bits, encode_bits, read_bits, write_bits
from pbitkit.errors import PbitkitError
from pbitkit.io import read_json

from .test_measure import telegraph


def _is_png(path) -> bool:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)  # decodes the file
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and img.ndim == 3 and min(img.shape[:2]) > 100


def test_encode_decode_roundtrip_through_json(tmp_path) -> None:
    rng = np.random.default_rng(3)
    bits = (rng.random(10_003) < 0.3).astype(np.uint8)  # length not a multiple of 8
    flips = bits.copy()
    flips[::7] = 0
    enc = encode_bits(bits, 1e-5, flips, 0.004)
    # JSON-safe (the row cache stores it as strict JSON)
    from pbitkit.io import atomic_write_json

    enc2 = read_json(atomic_write_json(tmp_path / "e.json", enc))
    rec = decode_bits(enc2)
    np.testing.assert_array_equal(rec.bits, bits)
    np.testing.assert_array_equal(rec.flip_bits, flips)
    assert rec.dt_s == 1e-5 and rec.hysteresis_V == 0.004
    # flip bits equal to the bits are stored once
    same = encode_bits(bits, 1e-8, bits.copy())
    assert "flips" not in same
    dec = decode_bits(same)
    assert dec.flip_bits is dec.bits
    assert len(enc["bits"]) < bits.size / 5  # packed: ~1.33 characters per 8 bits
    with pytest.raises(PbitkitError, match="malformed"):
        decode_bits({"n": 3})
    with pytest.raises(ValueError, match="0/1"):
        BitRecord(bits=np.array([0, 2]), dt_s=1.0, flip_bits=np.array([0, 1]))


def test_write_and_read_bits_npz(tmp_path) -> None:
    rng = np.random.default_rng(4)
    a = (rng.random(999) < 0.5).astype(np.uint8)
    b = (rng.random(400) < 0.5).astype(np.uint8)
    recs = {3: BitRecord(a, 1e-5, 1 - a, 0.004), 7: BitRecord(b, 1e-8, b)}
    path = write_bits(tmp_path / "run" / "bits.npz", recs)
    assert not list(path.parent.glob(".*tmp"))  # atomic: no temporary file left
    back = read_bits(path.parent)  # a run directory works too
    assert sorted(back) == [3, 7]
    np.testing.assert_array_equal(back[3].bits, a)
    np.testing.assert_array_equal(back[3].flip_bits, 1 - a)
    np.testing.assert_array_equal(back[7].flip_bits, b)
    assert back[3].hysteresis_V == 0.004 and math.isnan(back[7].hysteresis_V) and back[7].dt_s == 1e-8
    with np.load(path) as z:
        assert "flips_7" not in z.files  # not stored twice
    with pytest.raises(PbitkitError, match="not found"):
        read_bits(tmp_path / "nothing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(PbitkitError, match="not a pbitkit bits file"):
        read_bits(tmp_path / "other.npz")


def test_exp_acf_model_recovers_a_telegraph_correlation() -> None:
    # discrete telegraph: rho_k = lam^k exactly, lam = 1 - p_up - p_down
    rng = np.random.default_rng(5)
    p_up, p_down, n, dt = 0.02, 0.03, 200_000, 1e-5
    lam = 1 - p_up - p_down
    bits = telegraph(n, p_up, p_down, rng)
    tau_int = measure.integrated_autocorr_time(bits)
    model = plots.exp_acf_model(tau_int * dt / 2, dt, 60)
    # SE of lam_hat = (tau_int - 1)/(tau_int + 1) from the SE of tau_int (Sokal: rel. SE sqrt(22 tau / n)),
    # d lam / d tau = 2 / (tau + 1)^2; allow 4 SE
    tau_true = (1 + lam) / (1 - lam)
    se_lam = 2 / (tau_true + 1) ** 2 * tau_true * math.sqrt(22 * tau_true / n)
    assert model[0] == 1.0 and abs(model[1] - lam) < 4 * se_lam
    emp = measure.autocorrelation(bits, 59)
    # the overlay follows the measured autocorrelation (Bartlett SE of rho_k <~ sqrt(tau_int (1 + 2 ...)/n):
    # bounded here by sqrt(2 tau_int / n) ~ 0.017); negative control: twice the tau does not
    tol = 4 * math.sqrt(2 * tau_true / n) + 4 * se_lam * 60 * lam ** 59
    assert np.max(np.abs(model - emp)) < max(tol, 0.03)
    wrong = plots.exp_acf_model(2 * tau_int * dt / 2, dt, 60)
    assert np.max(np.abs(wrong - emp)) > 0.2
    # independent bits: tau_corr_s = dt/2 -> no correlation beyond lag 0
    np.testing.assert_array_equal(plots.exp_acf_model(dt / 2, dt, 4), [1.0, 0.0, 0.0, 0.0])


def test_plot_bit_statistics_picks_the_nominal_rows_nearest_one_half(tmp_path) -> None:
    rng = np.random.default_rng(6)
    dt = 1e-5
    rows, recs = [], {}
    rid = 0
    for seed in (-1, 2):
        for p_up in (0.005, 0.01, 0.02, 0.04, 0.08):
            bits = telegraph(20_000, p_up, 0.02, rng)
            est = measure.p1_estimate(bits)
            ds = measure.dwell_stats(bits, dt)
            rows.append({"cell": "latch", "tier": "transient", "corner": "tt", "temp_C": 27.0, "vdd_V": 0.085,
                         "mc_seed": seed, "bias_V": p_up, "p1": est.p1, "tau_corr_s": est.tau_int * dt / 2,
                         "rate_up_Hz": ds.rate_up_Hz, "rate_down_Hz": ds.rate_down_Hz, "status": "ok",
                         "row_id": rid})
            recs[rid] = BitRecord(bits, dt, bits)
            rid += 1
    chosen = plots.select_bit_rows(rows, recs)
    assert all(r["mc_seed"] == -1 for r in chosen)
    assert chosen[0]["bias_V"] == 0.02  # P(1) = 0.02/0.04 = 1/2
    assert len(chosen) == 3 and len({id(r) for r in chosen}) == 3
    paths = plots.plot_bit_statistics(rows, recs, tmp_path / "plots")
    assert [p.name for p in paths] == ["autocorrelation.png", "dwell_times.png"]
    assert all(_is_png(p) for p in paths)
    # rows without bits or only mismatched devices: nothing drawn
    assert plots.plot_bit_statistics(rows[5:], recs, tmp_path / "p2") == []
    assert plots.plot_bit_statistics(rows, {}, tmp_path / "p3") == []
