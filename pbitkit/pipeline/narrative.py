"""The words of the pipeline report: figure captions and the headline findings, generated from the numbers.

Every sentence here is computed from the run's own results (the evaluation's ``results.json``, the device
cards, the ledger), so it cannot drift from the tables: a caption says what a figure shows and what to
conclude from it; :func:`headline_findings` states which array mode wins, by how much, how it compares with
the baselines and digital hardware, and which ledger term dominates the energy.
"""

from __future__ import annotations

from typing import Any

from pbitkit.dtm.metrics import ci_order, matching_point

__all__ = ["figure_caption", "headline_findings", "fmt_fd", "fd_value", "dtm_verdict", "sweeps_text", "k_text"]


def _si(value: Any, unit: str) -> str:
    from pbitkit.pipeline.report import format_si

    return format_si(value, unit)


def sweeps_text(T: Any, K: Any, step_K: Any = None) -> str:
    """``"K = 20 sweeps per step"``, or with per-step sweeps that differ ``"20, 5, 5, 5 sweeps on steps 1 .. 4
    (35 per sample)"``."""
    ks = [int(k) for k in step_K] if step_K else []
    if not ks or len(set(ks)) == 1:
        return f"K = {K} sweeps per step"
    return f"{', '.join(map(str, ks))} sweeps on steps 1 .. {T} ({sum(ks)} per sample)"


def k_text(k: Any, points: list[dict[str, Any]]) -> str:
    """``"K = 20 sweeps per step"``, or ``"K = 20 sweeps on step 1 (5 on steps 2 .. 4)"`` when the points at
    that K ran the later steps with fewer sweeps (their ``step_K``)."""
    ks = next((p.get("step_K") for p in points if p.get("K") == k and p.get("mode") == "ideal" and p.get("step_K")),
              None)
    if not ks or len(set(ks)) == 1:
        return f"K = {k} sweeps per step"
    return f"K = {k} sweeps on step 1 ({ks[1]} on steps 2 .. {len(ks)})"


def fmt_fd(fd: dict[str, Any] | None) -> str:
    """``"14.8 [11.5, 18.0]"`` from an ``{"value", "lo", "hi"}`` interval (two decimals below 10:
    ``"0.86 [0.78, 0.93]"``, where one decimal would hide the differences that matter); ``"–"`` without one."""
    if not fd:
        return "–"
    v, lo, hi = (float(fd.get(k, float("nan"))) for k in ("value", "lo", "hi"))
    return f"{fd_value(v)} [{fd_value(lo, v)}, {fd_value(hi, v)}]"


def fd_value(x: float, scale: float | None = None) -> str:
    """An FD value: two decimals below 10 (of ``scale``, default ``x``), one above."""
    return f"{x:.2f}" if abs(x if scale is None else scale) < 10 else f"{x:.1f}"


def _compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """``a``'s FD interval against ``b``'s: below / above with disjoint 95 % CIs, or not distinguishable."""
    return {-1: "below", 1: "above", 0: "not distinguishable from"}[ci_order(a, b)]


def dtm_verdict(points: list[dict[str, Any]], results: dict[str, Any], k_best: int | None) -> str:
    """One sentence: the DTM on ideal p-bits at ``k_best`` against the best (lowest-FD) baseline and the
    monolithic machine (``T1``, at the same energy per sample when evaluated so), by their 95 % CIs; empty
    when the ideal point is missing."""
    ideal = next((p for p in points if p.get("mode") == "ideal" and p.get("K") == k_best and p.get("fd")), None)
    if ideal is None:
        return ""
    parts = []
    base = {n: b for n, b in (results.get("baselines") or {}).items() if b.get("fd")}
    if base:
        name, b = min(base.items(), key=lambda kv: kv[1]["fd"]["value"])
        parts.append(f"{_compare(ideal['fd'], b['fd'])} the best baseline, `{name}` (FD {fmt_fd(b['fd'])})")
    match = matching_point(ideal, [p for p in points if p.get("mode") == "T1" and p.get("fd")])
    if match:
        t1_pt, how = match
        parts.append(f"{_compare(ideal['fd'], t1_pt['fd'])} the monolithic T = 1 machine at the "
                     f"{'same energy per sample' if how == 'same energy' else how} (FD {fmt_fd(t1_pt['fd'])})")
    if not parts:
        return ""
    return (f"The DTM on ideal p-bits (FD {fmt_fd(ideal['fd'])}) is " + " and ".join(parts)
            + " — below or above means disjoint 95 % CIs.")


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return ci_order(a, b) == 0


def _card_bits(card: dict[str, Any]) -> dict[str, str]:
    vs = float(card.get("vs_V") or float("nan"))
    sig = float(card.get("v0_sigma_V") or 0.0)
    return {"v0": _si(card.get("v0_V"), "V"), "vs": _si(vs, "V"), "sigma": _si(sig, "V"),
            "ratio": f"{sig / vs:.1f}" if vs == vs and vs > 0 else "?", "tau": _si(card.get("tau_corr_s"), "s"),
            "ebit": _si(card.get("energy_per_bit_J"), "J"), "period": _si(card.get("sample_period_s"), "s")}


def figure_caption(kind: str, stem: str, ctx: dict[str, Any]) -> str:
    """Caption of figure ``stem`` (file name without ``.png``) of a report section ``kind``.

    ``kind`` is ``"characterize"`` or ``"fit"`` (``ctx["card"]``: the cell's card as a dict) or ``"dtm"``
    (``ctx["points"]``, ``ctx["baselines"]``, ``ctx["k_best"]``). Unknown figures get a neutral caption.
    """
    card = ctx.get("card") or {}
    c = _card_bits(card) if card else {}
    cell = ctx.get("cell", "the cell")
    if kind == "characterize":
        caps = {
            "p1_vs_bias": (f"P(output = 1) of `{cell}` against its bias voltage, one curve per corner and Monte-Carlo "
                           "instance, with 95 % Wilson intervals.",
                           f"The curves are sigmoids shifted by mismatch: the fitted offset spread σ(V0) = "
                           f"{c.get('sigma', '?')} is {c.get('ratio', '?')}× the slope Vs = {c.get('vs', '?')}, so "
                           "uncalibrated cells are strongly biased." if c else ""),
            "tau_vs_bias": (f"Correlation time of the output bit stream of `{cell}` against bias.",
                            f"Fitted τ_corr = {c.get('tau', '?')}; a Gibbs update cannot be faster than this (or than "
                            "the clock period for a clocked cell)." if c else ""),
            "autocorrelation": (f"Autocorrelation of the output bits of `{cell}` at the bias points.",
                                "Bits decorrelate within a few samples when the curve drops to zero quickly; slow "
                                "decay would mean successive updates are not independent draws."),
            "dwell_times": (f"Distributions of the times `{cell}` stays at 1 and at 0.",
                            "Exponential (straight on the log axis) dwell times mean a memoryless two-state "
                            "(telegraph) process, which is what the array's device model assumes."),
            "energy_vs_bias": (f"Energy per output bit of `{cell}` (supply plus clock drive) against bias.",
                               f"The cell's ledger term uses the fitted {c.get('ebit', '?')} per bit; the spread "
                               "across bias and instances is the uncertainty of that number." if c else ""),
        }
    elif kind == "fit":
        caps = {
            "sigmoid": (f"Measured P(1) with the maximum-likelihood sigmoid fit of `{cell}`.",
                        f"V0 = {c.get('v0', '?')}, Vs = {c.get('vs', '?')}; points far outside their intervals would "
                        "mean the link function is wrong." if c else ""),
            "residuals": ("Standardized residuals of the sigmoid fit.",
                          "Residuals within ±2 with no trend across bias mean the fit explains the data to its "
                          "sampling noise."),
            "rates": ("Up and down flip rates against bias with the fitted rate model.",
                      "They set the cell's correlation time and how it changes with bias."),
            "energy": ("Energy per bit against bias with the fitted value.",
                       f"The card's energy per bit is {c.get('ebit', '?')}; a flat curve means the ledger's `rng` "
                       "term does not depend on where the cell is biased." if c else ""),
            "corners": ("Fitted centre V0 and slope Vs of the nominal device at each process corner.",
                        "A corner that moves V0 by more than a few Vs needs its own bias centre (a per-die trim); "
                        "a corner whose Vs differs strongly changes the array's effective temperature."),
            "variation": ("Cell-to-cell variation: offset V0 and slope Vs of each Monte-Carlo instance.",
                          f"σ(V0) = {c.get('sigma', '?')} ≈ {c.get('ratio', '?')} Vs: the offset, not the slope, is "
                          "what calibration must remove (with few instances these spreads are rough)." if c else ""),
        }
    else:
        caps = _dtm_captions(stem, ctx)
    what, conclude = caps.get(stem, (f"Figure `{stem}`.", ""))
    return f"{what} {conclude}".strip()


def _dtm_captions(stem: str, ctx: dict[str, Any]) -> dict[str, tuple[str, str]]:
    points = ctx.get("points") or []
    caps: dict[str, tuple[str, str]] = {
        "quality_vs_energy": ("Fréchet classifier distance (lower is better, 95 % CI) against energy per generated "
                              "sample on the p-bit array, one line per array mode, one point per K; dashed lines: "
                              "baselines, dotted: the real-vs-real floor.",
                              _quality_energy_conclusion(points)),
        "samples_data": ("Held-out data digits, for comparison with the generated grids.",
                         "Generated grids should show the same variety of classes and strokes; blurred, repeated "
                         "or noise-like digits mean too few sweeps per step or a mode that lost the model."),
    }
    if stem.startswith("samples_") and stem != "samples_data":
        rest = stem.removeprefix("samples_")
        clamped = rest.endswith("_label_clamped")
        rest = rest.removesuffix("_label_clamped")
        mode, _, k = rest.rpartition("_K")
        p = next((q for q in points if q.get("mode") == mode and str(q.get("K")) == k), None)
        what = (f"Samples of mode `{mode}` at K = {k}" + (", label-clamped (one row per class)" if clamped else "")
                + ".")
        if p and clamped and p.get("cond_acc"):
            concl = (f"The frozen classifier recognizes the clamped class in {p['cond_acc']['accuracy']:.0%} of "
                     "samples (chance 10 %).")
        elif p and p.get("fd"):
            ref = next((q for q in points if q.get("mode") == "ideal" and str(q.get("K")) == k and q.get("fd")), None)
            concl = f"FD {fmt_fd(p['fd'])}"
            if ref is not None and mode != "ideal":
                concl += (": within the ideal mode's interval (no significant difference)."
                          if _overlap(p["fd"], ref["fd"]) else
                          f": {p['fd']['value'] / ref['fd']['value']:.1f}× the ideal mode's FD, beyond its interval.")
            else:
                concl += " (the reference for the other modes)."
        else:
            concl = ""
        caps[stem] = (what, concl)
    if stem.startswith("training_curves_"):
        variant = stem.removeprefix("training_curves_")
        caps[stem] = (f"Training curves of the `{variant}` DTM (one line per denoising step).",
                      "Flat curves at the end mean training converged for the epochs given.")
    return caps


def _quality_energy_conclusion(points: list[dict[str, Any]]) -> str:
    ideal = sorted((p for p in points if p.get("mode") == "ideal" and p.get("fd") and p.get("energy")),
                   key=lambda p: p["K"])
    if len(ideal) < 2:
        return ""
    a, b = ideal[0], ideal[-1]
    ea, eb = a["energy"]["total_J"], b["energy"]["total_J"]
    same = _overlap(a["fd"], b["fd"])
    return (f"Going from K = {a['K']} to K = {b['K']} costs {eb / ea:.1f}× the energy per sample and "
            + ("does not improve FD beyond its confidence interval at this sample size."
               if same else f"changes FD from {fd_value(a['fd']['value'])} to {fd_value(b['fd']['value'])}."))


def headline_findings(points: list[dict[str, Any]], results: dict[str, Any], ledger: dict[str, Any] | None,
                      k_best: int | None) -> list[str]:
    """A few sentences stating the run's findings, each computed from the numbers (empty without points)."""
    at_k = [p for p in points if p.get("K") == k_best and p.get("fd")]
    if not at_k:
        return []
    out = []
    ranked = sorted(at_k, key=lambda p: p["fd"]["value"])
    best = ranked[0]
    ties = [p["mode"] for p in ranked[1:] if _overlap(p["fd"], best["fd"])]
    worst = ranked[-1]
    s = (f"At {k_text(k_best, points)}, the best array mode is `{best['mode']}` with FD {fmt_fd(best['fd'])}")
    s += (f"; {', '.join(f'`{m}`' for m in ties)} {'is' if len(ties) == 1 else 'are'} within its confidence interval"
          if ties else "; every other mode is worse beyond the confidence intervals")
    if worst is not best and not _overlap(worst["fd"], best["fd"]):
        s += f", while `{worst['mode']}` is worst at {fmt_fd(worst['fd'])} ({worst['fd']['value'] / best['fd']['value']:.1f}× the best)"
    out.append(s + ".")
    dev, cal = next((p for p in at_k if p["mode"] == "device"), None), next((p for p in at_k if p["mode"] == "device+cal"), None)
    if dev and cal:
        out.append(f"Calibration takes the simulated chip from FD {fd_value(dev['fd']['value'])} to "
                   f"{fd_value(cal['fd']['value'])}"
                   + (" (the intervals overlap: no significant gain)." if _overlap(dev["fd"], cal["fd"]) else "."))
    verdict = dtm_verdict(points, results, k_best)
    if verdict:
        out.append(verdict)
    base = results.get("baselines") or {}
    beaten = [n for n, b in base.items() if b.get("fd") and best["fd"]["hi"] < b["fd"]["lo"]]
    not_beaten = [n for n, b in base.items() if b.get("fd") and not best["fd"]["hi"] < b["fd"]["lo"]]
    if base:
        out.append(("The best mode beats the " + ", ".join(f"`{n}`" for n in beaten) + " baseline" if beaten else
                    "The best mode beats no baseline")
                   + ("" if not not_beaten else ("; it does not beat " + ", ".join(
                       f"`{n}` (FD {fmt_fd(base[n]['fd'])})" for n in not_beaten)))
                   + " at this model size and sample count.")
    if ledger and ledger.get("terms"):
        terms = ledger["terms"]
        total = float(ledger.get("energy_per_sample_J") or 0.0)
        top = max(terms, key=lambda t: float(t.get("per_sample_J", 0.0)))
        io = sum(float(t.get("per_sample_J", 0.0)) for t in terms if t.get("per") == "access")
        n_traced = sum(t.get("status") in ("simulated", "included") for t in terms)
        out.append(f"One generated sample costs {_si(total, 'J')} on the array (T = {ledger.get('T')}, "
                   f"{sweeps_text(ledger.get('T'), ledger.get('K'), ledger.get('step_K'))}, {ledger.get('n_cells')} "
                   f"cells) in {_si(ledger.get('time_per_sample_s'), 's')}; "
                   f"the largest term is `{top['name']}` at {100 * float(top['per_sample_J']) / total:.0f} %, I/O is "
                   f"{100 * io / total:.1f} %; {n_traced} of {len(terms)} terms are traced to an ngspice run.")
        dig = next((d for d in results.get("digital") or [] if d.get("K") == ledger.get("K") and d.get("T") == ledger.get("T")), None)
        if dig:
            gpu = next((v for k, v in dig.items() if k.startswith("NVIDIA")), None)
            if gpu:
                out.append(f"The same chain on an A100 at peak FP32 and full TDP would take {_si(gpu, 'J')}, "
                           f"{gpu / total:,.0f}× the array's energy (the GPU's best case).")
    return out
