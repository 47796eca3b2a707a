"""The report's words are computed from the numbers: the headline names the winning mode, the margin, the
dominant energy term; captions quote the card. Changing the numbers changes the words (negative control)."""

from __future__ import annotations

import copy

from pbitkit.pipeline.narrative import figure_caption, headline_findings


def _pt(mode: str, fd: float, half: float, total: float = 1e-9) -> dict:
    return {"mode": mode, "K": 5, "T": 2, "fd": {"value": fd, "lo": fd - half, "hi": fd + half},
            "cond_acc": {"accuracy": 0.5, "se": 0.05}, "energy": {"total_J": total}}


POINTS = [_pt("ideal", 10.0, 1.0), _pt("device", 40.0, 2.0), _pt("device+cal", 10.5, 1.0), _pt("hw-aware", 20.0, 1.0)]
RESULTS = {"baselines": {"independent": {"fd": {"value": 30.0, "lo": 28.0, "hi": 32.0}},
                         "mixture": {"fd": {"value": 5.0, "lo": 4.0, "hi": 6.0}}},
           "digital": [{"T": 2, "K": 5, "NVIDIA A100 SXM4 (peak FP32 at TDP)": 2e-6}]}
LEDGER = {"T": 2, "K": 5, "n_cells": 256, "energy_per_sample_J": 1e-9, "time_per_sample_s": 2e-7,
          "terms": [{"name": "rng", "per": "cell update", "per_sample_J": 2e-10, "status": "simulated"},
                    {"name": "wire", "per": "cell update", "per_sample_J": 7e-10, "status": "simulated"},
                    {"name": "io_write", "per": "access", "per_sample_J": 1e-10, "status": "assumed"}]}


def test_headline_states_winner_margin_baselines_and_dominant_term() -> None:
    text = " ".join(headline_findings(POINTS, RESULTS, LEDGER, 5))
    assert "best array mode is `ideal` with FD 10.0 [9.0, 11.0]" in text
    assert "`device+cal` is within its confidence interval" in text
    assert "`device` is worst at 40.0 [38.0, 42.0] (4.0× the best)" in text
    assert "Calibration takes the simulated chip from FD 40.0 to 10.5." in text
    assert "beats the `independent` baseline" in text and "does not beat `mixture`" in text
    assert "largest term is `wire` at 70 %" in text and "I/O is 10.0 %" in text and "2 of 3 terms" in text
    assert "2,000× the array's energy" in text


def test_headline_changes_with_the_numbers() -> None:
    pts = copy.deepcopy(POINTS)
    pts[3]["fd"] = {"value": 5.0, "lo": 4.5, "hi": 5.5}  # hw-aware now wins outright
    led = copy.deepcopy(LEDGER)
    led["terms"][0]["per_sample_J"] = 8e-10  # rng now dominates
    text = " ".join(headline_findings(pts, RESULTS, led, 5))
    assert "best array mode is `hw-aware`" in text and "every other mode is worse" in text
    assert "largest term is `rng`" in text
    assert headline_findings([], RESULTS, LEDGER, 5) == []


def test_captions_quote_the_card_and_the_points() -> None:
    card = {"v0_V": 0.0, "vs_V": 0.01, "v0_sigma_V": 0.03, "tau_corr_s": 5e-9, "energy_per_bit_J": 85e-15}
    cap = figure_caption("fit", "variation", {"cell": "strongarm", "card": card})
    assert "σ(V0) = 30 mV ≈ 3.0 Vs" in cap
    cap = figure_caption("characterize", "energy_vs_bias", {"cell": "strongarm", "card": card})
    assert "85 fJ per bit" in cap
    cap = figure_caption("dtm", "samples_device_K5_label_clamped", {"points": POINTS, "k_best": 5})
    assert "mode `device` at K = 5" in cap and "50%" in cap
    assert figure_caption("dtm", "something_new", {}).startswith("Figure `something_new`")


def test_every_known_figure_says_what_to_conclude() -> None:
    card = {"v0_V": 0.0, "vs_V": 0.01, "v0_sigma_V": 0.03, "tau_corr_s": 5e-9, "energy_per_bit_J": 85e-15}
    ctx = {"cell": "c", "card": card}
    for kind, stems in (("characterize", ["p1_vs_bias", "tau_vs_bias", "autocorrelation", "dwell_times",
                                          "energy_vs_bias"]),
                        ("fit", ["sigmoid", "residuals", "rates", "energy", "variation", "corners"])):
        for stem in stems:
            cap = figure_caption(kind, stem, ctx)
            assert not cap.startswith("Figure `") and cap.count(". ") >= 1, (stem, cap)  # a finding after the "what"
    dtm = {"points": POINTS, "k_best": 5}
    assert "beyond its interval" in figure_caption("dtm", "samples_device_K5", dtm)  # 40 vs 10 [9, 11]
    assert "no significant difference" in figure_caption("dtm", "samples_device+cal_K5", dtm)  # 10.5 vs ideal
    assert "reference for the other modes" in figure_caption("dtm", "samples_ideal_K5", dtm)
    assert "variety of classes" in figure_caption("dtm", "samples_data", dtm)


def test_headline_states_the_dtm_verdict_against_the_best_baseline_and_T1() -> None:
    """The ideal DTM against the lowest-FD baseline and T = 1 (same energy when evaluated so), by CIs; FDs
    below 10 with two decimals (0.86, not 0.9)."""
    from pbitkit.pipeline.narrative import dtm_verdict, fmt_fd

    assert fmt_fd({"value": 0.8577, "lo": 0.7834, "hi": 0.932}) == "0.86 [0.78, 0.93]"
    assert fmt_fd({"value": 16.81, "lo": 16.47, "hi": 17.14}) == "16.8 [16.5, 17.1]"
    pts = [_pt("ideal", 0.86, 0.07, 9e-9), _pt("T1", 2.26, 0.08, 9e-9), _pt("T1", 1.5, 0.1, 2e-9)]
    res = {"baselines": {"independent": {"fd": {"value": 8.0, "lo": 7.8, "hi": 8.2}},
                         "bernoulli_mixture_50": {"fd": {"value": 1.04, "lo": 0.97, "hi": 1.12}}}}
    text = dtm_verdict(pts, res, 5)
    assert "(FD 0.86 [0.79, 0.93]) is below the best baseline, `bernoulli_mixture_50` (FD 1.04" in text
    assert "below the monolithic T = 1 machine at the same energy per sample (FD 2.26" in text
    assert dtm_verdict(pts, res, 5) in " ".join(headline_findings(pts, res, None, 5))
    # negative controls: overlapping CIs are not a win; a better baseline is named as such
    res["baselines"]["bernoulli_mixture_50"]["fd"] = {"value": 0.9, "lo": 0.85, "hi": 0.95}
    assert "is not distinguishable from the best baseline" in dtm_verdict(pts, res, 5)
    res["baselines"]["bernoulli_mixture_50"]["fd"] = {"value": 0.5, "lo": 0.45, "hi": 0.55}
    assert "is above the best baseline" in dtm_verdict(pts, res, 5)
    assert dtm_verdict(pts, res, 20) == ""  # no ideal point at that K
    # without a T = 1 point at the same energy, the one at the same K (the shared rule of the DTM report)
    same_k = [_pt("ideal", 0.86, 0.07, 9e-9), _pt("T1", 1.5, 0.1, 2e-9)]
    assert "the monolithic T = 1 machine at the same K (FD 1.50" in dtm_verdict(same_k, res, 5)
