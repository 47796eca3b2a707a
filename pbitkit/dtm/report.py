"""The DTM report: Markdown table + PNG figures written into a run directory (no numerics here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.dtm.energy import PAPER_FIGURES
from pbitkit.dtm.metrics import SampleQuality, ci_order, matching_point
from pbitkit.dtm.plotting import plot_quality_vs_energy, plot_sample_grid, plot_training_curves
from pbitkit.io import atomic_write_json, atomic_write_text

__all__ = ["write_report"]


def _fmt(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "—"
    try:
        return format(float(x), spec)
    except (TypeError, ValueError):
        return str(x)


def _verdict(pts: list[dict[str, Any]], bases: dict[str, dict[str, Any]]) -> list[str]:
    """Plain-language verdict: the ideal DTM at each K against the other-T machines at the same energy per
    sample and the best baseline, by the 95% CIs of the Fréchet distance (disjoint = a difference)."""
    ideal = [p for p in pts if p["mode"] == "ideal"]
    if not ideal:
        return []

    def cmp(a: dict[str, Any], b: dict[str, Any]) -> str:
        return {-1: "better (CIs disjoint)", 1: "worse (CIs disjoint)", 0: "not distinguishable (CIs overlap)"}[
            ci_order(a, b)]

    out = ["", "## Verdict: does the DTM beat the baselines?", "",
           "Ideal DTM against the other-T machines (at the same energy per sample when evaluated so, else at the "
           "same K) and against the best baseline (lowest FD), by their 95% CIs.", "", "| DTM point | versus | FD DTM | FD other | DTM is |", "|---|---|---|---|---|"]
    best = min(bases.items(), key=lambda kv: kv[1]["fd"]["value"]) if bases else None
    for p in ideal:
        others = [q for q in pts if q["mode"].startswith("T") and q["mode"][1:].isdigit() and q["T"] != p["T"]]
        for name in dict.fromkeys(q["mode"] for q in others):
            match = matching_point(p, [q for q in others if q["mode"] == name])
            if match:
                q, how = match
                out.append(f"| T={p['T']}, K={p['K']} | {q['mode']} (K={q['K']}, {how}) | {_fmt(p['fd']['value'])} "
                           f"| {_fmt(q['fd']['value'])} | {cmp(p['fd'], q['fd'])} |")
        if best:
            out.append(f"| T={p['T']}, K={p['K']} | {best[0]} | {_fmt(p['fd']['value'])} | {_fmt(best[1]['fd']['value'])} "
                       f"| {cmp(p['fd'], best[1]['fd'])} |")
    return out


def write_report(
    out: str | Path,
    *,
    points: Sequence[Any],
    baselines: dict[str, SampleQuality],
    digital: list[dict[str, Any]],
    curves: dict[str, dict[int, dict[str, list[float]]]],
    grids: dict[str, tuple[np.ndarray, tuple[int, int]]],
    meta: dict[str, Any],
    eps: float | None = None,
    comparisons: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``results.json``, ``report.md`` and the figures into ``out``; returns the Markdown path.

    ``points`` are :class:`pbitkit.dtm.evaluate.EvalPoint` (anything with ``as_dict()``), ``baselines`` the
    :class:`~pbitkit.dtm.metrics.SampleQuality` of each baseline model, ``comparisons`` the paired ΔFD
    rows of :func:`pbitkit.dtm.evaluate.paired_comparisons`.
    """
    pts: list[dict[str, Any]] = [p.as_dict() for p in points]
    bases: dict[str, dict[str, Any]] = {k: v.as_dict() for k, v in baselines.items()}
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(d / "results.json", {"points": pts, "baselines": bases, "comparisons": comparisons or [],
                                           "digital": digital, "meta": meta,
                                           "paper": PAPER_FIGURES})
    qpts = [
        {"series": f"{p['mode']} (T={p['T']})", "energy_J": (p.get("energy") or {}).get("total_J") or np.nan,
         "fd": p["fd"]["value"], "fd_lo": p["fd"]["lo"], "fd_hi": p["fd"]["hi"], "label": f"K={p['K']}"}
        for p in pts
    ]
    have_energy = all(np.isfinite(q["energy_J"]) for q in qpts)
    floor = float(np.mean([p["fd_floor"]["value"] for p in pts if "fd_floor" in p])) if pts else None
    if have_energy and qpts:
        plot_quality_vs_energy(qpts, d / "quality_vs_energy.png", floor=floor,
                               baselines={k: v["fd"]["value"] for k, v in bases.items()})
    for name, c in curves.items():
        if c:
            plot_training_curves(c, d / f"training_curves_{name}.png", eps=eps)
    for name, (pix, shape) in grids.items():
        plot_sample_grid(pix, shape, d / f"samples_{name}.png", title=name)

    lines = ["# DTM report", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += ["", "## Quality and energy per sample", "",
              "| mode | T | K | FD (95% CI) | floor | KID | marginal err | pair err | cond. acc ± SE | max lag-K autocorr. | energy/sample (J) | array time/sample (s) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in pts:
        e = p.get("energy") or {}
        ca = p.get("cond_acc")
        lines.append(
            f"| {p['mode']} | {p['T']} | {p['K']} | {_fmt(p['fd']['value'])} [{_fmt(p['fd']['lo'])}, {_fmt(p['fd']['hi'])}] | "
            f"{_fmt(p.get('fd_floor', {}).get('value'))} | {_fmt(p['kid'])} | {_fmt(p['marginal_err'])} | {_fmt(p['pair_err'])} | "
            f"{(_fmt(ca['accuracy']) + ' ± ' + _fmt(ca['se'], '.2g')) if ca else '—'} | {_fmt(p.get('rho_K_max'), '.2f')} | {_fmt(e.get('total_J'))} | {_fmt(e.get('time_s'))} |"
        )
    lines += ["", "## Baselines (same metrics, same sample count)", "", "| model | FD (95% CI) | KID | marginal err | pair err |",
              "|---|---|---|---|---|"]
    for name, b in bases.items():
        lines.append(f"| {name} | {_fmt(b['fd']['value'])} [{_fmt(b['fd']['lo'])}, {_fmt(b['fd']['hi'])}] | {_fmt(b['kid'])} | "
                     f"{_fmt(b['marginal_err'])} | {_fmt(b['pair_err'])} |")
    lines += _verdict(pts, bases)
    if comparisons:
        lines += ["", "## Paired comparisons: is the DTM closer to the held-out data?", "",
                  "ΔFD = FD(DTM) − FD(other), both against the same bootstrap resample of the held-out set in "
                  "every replicate (the reference noise common to both cancels). Below 0 with its whole 95% CI: "
                  "the DTM is better; above 0: worse; CI containing 0: no detectable difference.", "",
                  "| DTM | versus | ΔFD [95% CI] | verdict |", "|---|---|---|---|"]
        for c in comparisons:
            dlt = c["delta_fd"]
            verdict = "DTM better" if dlt["hi"] < 0 else "DTM worse" if dlt["lo"] > 0 else "no detectable difference"
            lines.append(f"| {c['model']} | {c['versus']} | {_fmt(dlt['value'])} [{_fmt(dlt['lo'])}, {_fmt(dlt['hi'])}] "
                         f"| {verdict} |")
    if pts and pts[0].get("energy"):
        e = pts[0]["energy"]
        lines += ["", f"## Energy breakdown (mode {pts[0]['mode']}, T={e['T']}, K={e['K']}, N={e['n_cells']})", "",
                  "| part | J per sample |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in e["breakdown_J"].items()]
        lines += [f"| **total** | **{_fmt(e['total_J'])}** |", "", f"Assumptions: {e['assumptions']}"]
    if digital:
        names = [k for k in digital[0] if k not in ("T", "K", "array_J", "array_without_io_J", "assumptions")]
        lines += ["", "## Digital comparison (same Gibbs chain on conventional hardware)", "",
                  "| T | K | p-bit array incl. I/O (J) | array without I/O (J) | " + " | ".join(names)
                  + " | ratio digital/array (incl. I/O) |",
                  "|---|---|---|---|" + "---|" * len(names) + "---|"]
        for r in digital:
            arr = r["array_J"]
            ratio = ", ".join(f"{r[n] / arr:.3g}" for n in names) if arr else "—"
            lines.append(f"| {r['T']} | {r['K']} | {_fmt(arr)} | {_fmt(r.get('array_without_io_J'))} | "
                         + " | ".join(_fmt(r[n]) for n in names) + f" | {ratio} |")
        lines += ["", "Assumptions: " + "; ".join(f"{k}: {v}" for k, v in digital[0]["assumptions"].items())]
    pf = PAPER_FIGURES
    lines += ["", "## The paper's figures (docs/theory.md §3)", "",
              f"E_cell ≈ {pf['E_cell_J']:.0e} J per cell per sweep; T={pf['T']}, K={pf['K']}, L={pf['L']} → "
              f"≈ {pf['energy_per_image_J']:.2g} J per image; GPU at quality parity ≈ {pf['gpu_energy_per_image_J']:.0e} J "
              f"per image; ≈ {pf['time_per_image_s']:.1g} s per image. Only the RNG was measured; no device variation.", ""]
    figs = sorted(p.name for p in d.glob("*.png"))
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figs] + [""]
    return atomic_write_text(d / "report.md", "\n".join(lines))
