"""Plotting functions write PNG files from table rows and measurement results (no simulator)."""

from __future__ import annotations

import math

import numpy as np

from pbitkit.circuits import measure, plots


def _rows():
    rows = []
    for tier in ("transient", "predicted"):
        for b in np.linspace(-0.02, 0.02, 5):
            p = 1 / (1 + math.exp(-b / 0.006))
            rows.append({"cell": "strongarm", "tier": tier, "corner": "tt", "temp_C": 27.0, "vdd_V": 1.8,
                         "mc_seed": -1, "bias_V": b, "p1": p, "p1_lo": max(0.0, p - 0.05),
                         "p1_hi": min(1.0, p + 0.05), "tau_corr_s": 5e-9, "energy_per_bit_J": 3.9e-14,
                         "status": "ok"})
    rows.append({"cell": "strongarm", "tier": "transient", "corner": "tt", "temp_C": 27.0, "vdd_V": 1.8,
                 "mc_seed": -1, "bias_V": 0.0, "p1": math.nan, "status": "failed"})
    return rows


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_characterization_writes_pngs(tmp_path):
    paths = plots.plot_characterization(_rows(), tmp_path / "plots")
    assert [p.name for p in paths] == ["p1_vs_bias.png", "tau_vs_bias.png", "energy_vs_bias.png"]
    assert all(_is_png(p) for p in paths)
    assert not list((tmp_path / "plots").glob(".*tmp"))  # atomic writes leave no temp files


def test_plot_autocorrelation_and_dwell(tmp_path):
    rng = np.random.default_rng(0)
    bits = (np.cumsum(rng.standard_normal(5000)) > 0).astype(np.uint8)
    rho = measure.autocorrelation(bits, 50)
    ds = measure.dwell_stats(bits, 1e-6)
    p1 = plots.plot_autocorrelation(rho, 1e-6, tmp_path / "acf.png", tau_corr_s=1e-5)
    p2 = plots.plot_dwell_histograms(ds.dwell_high_s, ds.dwell_low_s, tmp_path / "dwell.png")
    assert _is_png(p1) and _is_png(p2)
