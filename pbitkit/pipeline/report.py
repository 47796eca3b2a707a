"""The pipeline's combined report: one folder (``OUT/report/``) with ``report.md`` and its figures.

Readable by a circuit designer (the cells' sigmoids, dynamics, energy, variation and corners) and by an
ML researcher (DTM quality vs energy per sample, per hardware mode, against baselines and a digital
reference), with a provenance table at the end.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from pbitkit.array.ledger import provenance_sentence
from pbitkit.io import atomic_write_json, atomic_write_text, read_json
from pbitkit.pipeline.narrative import k_text, sweeps_text
from pbitkit.pipeline.stages import StageRecord

__all__ = ["write_pipeline_report", "format_si", "ledger_record", "plot_ledger", "plot_quality_energy_cells",
           "LEDGER_FILE", "HEADLINE_FILE"]

#: The ledger with a source per term, written next to ``report.md``.
LEDGER_FILE = "ledger.json"
#: The headline figures (:mod:`pbitkit.pipeline.headline`), written next to ``report.md``.
HEADLINE_FILE = "headline.json"

log = logging.getLogger(__name__)

_PREFIXES = [(1e-18, "a"), (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G")]


def format_si(value: Any, unit: str, digits: int = 3) -> str:
    """``format_si(3.5e-14, "J") == "35 fJ"``; non-numbers and NaN give ``"–"``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if v != v:  # NaN
        return "–"
    if v == 0:
        return f"0 {unit}"
    mag = abs(v)
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if mag >= s:
            scale, prefix = s, p
    return f"{v / scale:.{digits}g} {prefix}{unit}"


def _models_text(models: Any) -> str:
    if isinstance(models, list):
        names = [m.get("source", "?") if isinstance(m, dict) else str(m) for m in models]
        return ", ".join(dict.fromkeys(names)) or "?"
    return str(models) if models else "?"


def _img(rel: str) -> str:
    title = Path(rel).stem.replace("_", " ")
    return f"![{title}]({rel})"


_STATUS_COLOURS = {"simulated": "#2b7bba", "included": "#9ecae1", "partial": "#f0a030", "assumed": "#d7301f",
                   "missing": "#888888"}


def plot_ledger(led: dict[str, Any], path: Path) -> Path:
    """Horizontal bars: energy per generated sample of each ledger term (log scale), coloured by status."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pbitkit.io import atomic_path

    terms = [t for t in led.get("terms", []) if float(t.get("per_sample_J", 0.0)) > 0]
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(terms) + 1.4))
    names = [t["name"] for t in terms][::-1]
    vals = [float(t["per_sample_J"]) for t in terms][::-1]
    cols = [_STATUS_COLOURS.get(str(t.get("status")), "grey") for t in terms][::-1]
    ax.barh(names, vals, color=cols)
    ax.set_xscale("log")
    total = float(led.get("energy_per_sample_J") or sum(vals) or 1.0)
    for y, v in enumerate(vals):
        ax.text(v, y, f" {format_si(v, 'J')} ({100 * v / total:.1f} %)", va="center", fontsize=8)
    ax.set_xlim(min(vals) / 3 if vals else 1e-15, max(vals) * 30 if vals else 1.0)
    ax.set_xlabel(f"energy per generated sample (J); total {format_si(total, 'J')}")
    for st, c in _STATUS_COLOURS.items():
        ax.bar(0, 0, color=c, label=st)
    ax.legend(fontsize=7, loc="lower right", title="source status", title_fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def plot_quality_energy_cells(points: list[dict[str, Any]], energies: dict[str, dict[int, float]],
                              path: Path) -> Path:
    """FD of the ideal mode (95 % CI) against energy per generated sample on each cell's array, one line per
    cell (``energies[cell][K]``: J per sample at that K), log energy axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pbitkit.io import atomic_path

    ideal = {int(p["K"]): p["fd"] for p in points if p.get("mode") == "ideal" and p.get("fd")}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for cell, by_k in energies.items():
        ks = sorted(k for k in by_k if k in ideal)
        if not ks:
            continue
        x = [by_k[k] for k in ks]
        y = [ideal[k]["value"] for k in ks]
        err = [[ideal[k]["value"] - ideal[k]["lo"] for k in ks], [ideal[k]["hi"] - ideal[k]["value"] for k in ks]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=cell)
        for k, xx, yy in zip(ks, x, y, strict=True):
            ax.annotate(f"K={k}", (xx, yy), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("energy per generated sample on the array (J)")
    ax.set_ylabel("FD (ideal mode, lower is better)")
    ax.legend(fontsize=8, title="array cell", title_fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _fitted_cards(stages: dict[str, StageRecord]) -> dict[str, Any]:
    from pbitkit.pbitmodel.card import DeviceModel

    return {n.removeprefix("fit_"): DeviceModel.load(r.path / "device_card.json") for n, r in stages.items()
            if n.startswith("fit_") and (r.path / "device_card.json").exists()}


def _headline(cfg: Any, stages: dict[str, StageRecord], results: dict[str, Any],
              rep_dir: Path) -> tuple[dict[str, Any] | None, dict[str, Any], list[str]]:
    """(:func:`pbitkit.pipeline.headline.headline_record`, the fitted cards, its sentences); writes
    ``headline.json``. ``(None, {}, [])`` without a card for the array cell."""
    from pbitkit.pipeline.headline import headline_record, headline_sentences

    cards = _fitted_cards(stages)
    if cfg.array_cell not in cards:
        return None, cards, []
    rec = headline_record(cards, cfg.array_cell, cfg, results)
    atomic_write_json(rep_dir / HEADLINE_FILE, rec)
    return rec, cards, headline_sentences(rec)


def _headline_lines(rec: dict[str, Any], cards: dict[str, Any], cfg: Any, results: dict[str, Any],
                    figs: Any) -> list[str]:
    """The headline table by cell and setting, and the every-cell quality-vs-energy figure with its caption."""
    from pbitkit.dtm.energy import dtm_energy_from_ledger
    from pbitkit.dtm.evaluate import point_step_K
    from pbitkit.pipeline.headline import PARTS, times_text

    rows = []
    for cell, c in rec["cells"].items():
        for key in ("run", "paper"):
            s = c[key]
            parts = s["per_cell_sweep_J"]
            rows.append([f"`{cell}`" + (" (array cell)" if cell == cfg.array_cell else ""),
                         f"L={s['L']}, T={s['T']}, K={s['K']}"
                         + (f" ({s['sweeps_per_sample']} sweeps)" if s["sweeps_per_sample"] != s["T"] * s["K"] else "")]
                        + [_amount(parts.get(k), s["status"].get(k)) for k in PARTS]
                        + [format_si(s["energy_per_cell_sweep_J"], "J"), times_text(s["vs_paper_E_cell"]),
                           format_si(s["energy_per_sample_J"], "J"), format_si(s["io_per_sample_J"], "J"),
                           format_si(s["time_per_sample_s"], "s"), format_si(s.get("gpu_J"), "J"),
                           format_si(s.get("cpu_J"), "J"), "yes" if s["all_traced"] else "**no**"])
    lines = ["### Headline figures by cell and setting", "",
             "Energy per cell per sweep by ledger part (`rng` = the cell incl. its readout and clock buffer; "
             "`bias` = the weighted-sum network; `trim` = the cell's own trim; `supply` = the per-die supply "
             "generator per cell; `clock` = the clock tree incl. the cells' clock pins where it drives them; "
             "`wire` = the neighbour wires), against "
             "the DTM paper's ≈ 2 fJ; energy per generated sample (array + I/O) and time per sample; the same "
             f"Gibbs chain on an A100 (peak FP32 at TDP) and on this CPU ({format_si(rec['cpu_updates_per_s'], '')}"
             f"updates/s measured × {rec['cpu_power_W']:g} W assumed). The paper's setting (L = "
             f"{rec['paper_setting']['L']}) uses the I/O bit lines measured for its side. `headline.json` holds every "
             "source.", ""]
    lines += _table(["cell", "setting", *PARTS, "E / cell / sweep", "vs 2 fJ", "E / sample", "of it I/O",
                     "t / sample", "A100", "this CPU", "all simulated"], rows) + [""]
    # quality vs energy for every cell: the ideal mode's FD at each K against each card's energy per sample
    points = results.get("points") or []
    e0 = next((p["energy"] for p in points if p.get("energy")), {})
    a = e0.get("assumptions") or {}
    ks = sorted({int(p["K"]) for p in points if p.get("mode") == "ideal" and p.get("fd")})
    if ks and a:
        from pbitkit.dtm.model import model_graph

        g = model_graph(cfg.dtm.model)
        t_run = int(cfg.dtm.forward.n_steps)
        energies = {cell: {k: dtm_energy_from_ledger(g, card, T=t_run, K=k, n_write=int(a.get("n_write", 0)),
                                                     n_read=int(a.get("n_read", 0)),
                                                     step_K=point_step_K(k, t_run, cfg.evaluate)).total_J
                           for k in ks}
                    for cell, card in cards.items()}
        plot_quality_energy_cells(points, energies, figs.fig_dir / "quality_vs_energy_cells.png")
        kmax = ks[-1]
        order = sorted(energies, key=lambda c: energies[c][kmax])
        cheap, dear = order[0], order[-1]
        figs.n += 1
        lines += [_img("figures/quality_vs_energy_cells.png"), "",
                  f"*Figure {figs.n}.* Sample quality (FD of the ideal mode, 95 % CI) against energy per generated "
                  f"sample on an array of each fitted cell, one point per K. The FD does not depend on the cell "
                  f"(the ideal mode samples the trained model exactly); what moves the curves is the cell's ledger: "
                  f"at K = {kmax} `{cheap}` needs {format_si(energies[cheap][kmax], 'J')} per sample"
                  + (f", `{dear}` {energies[dear][kmax] / energies[cheap][kmax]:.0f}× more." if dear != cheap else "."),
                  ""]
    return lines


def _cards_ledger_table(cfg: Any, stages: dict[str, StageRecord]) -> list[str]:
    """Every fitted card's ledger on the DTM's array, side by side (per cell per sweep, by term)."""
    from pbitkit.array.ledger import ledger
    from pbitkit.dtm.model import model_graph
    from pbitkit.pbitmodel.card import DeviceModel

    cards = [(n.removeprefix("fit_"), r.path / "device_card.json") for n, r in stages.items()
             if n.startswith("fit_") and (r.path / "device_card.json").exists()]
    if not cards:
        return []
    g = model_graph(cfg.dtm.model)
    names = ["rng", "bias", "trim", "supply", "readout", "clock", "wire"]
    rows = []
    for cell, path in cards:
        led = ledger(g, DeviceModel.load(path))
        parts = led.parts()
        status = {t.name: t.status for t in led.terms}
        missing = [f"{t.name} ({t.status})" for t in led.terms if not t.traced]
        rows.append([f"`{cell}`"] + [_amount(parts.get(k), status.get(k)) for k in names]
                    + [format_si(led.energy_per_update_J, "J"), format_si(led.time_per_sweep_s, "s"), led.limited_by,
                       ", ".join(missing) or "none"])
    return (["Every fitted cell on the same array (the DTM's, per cell per sweep; I/O is the same for all "
             "cells):", ""]
            + _table(["cell"] + names + ["total", "time / sweep", "limited by", "not fully simulated"], rows) + [""])


def _card_summary(path: Path | None) -> dict[str, Any]:
    """The card values the captions quote (flat dict; empty without a card)."""
    if path is None or not path.exists():
        return {}
    from pbitkit.pbitmodel.card import DeviceModel

    c = DeviceModel.load(path)
    return {"v0_V": c.v0_V, "vs_V": c.vs_V, "v0_sigma_V": c.variation.v0_sigma_V, "tau_corr_s": c.dynamics.tau_corr_s,
            "sample_period_s": c.dynamics.sample_period_s, "energy_per_bit_J": c.energy.energy_per_bit_J}


class _Figures:
    """Copies a section's figures into the report and numbers and captions them (:mod:`.narrative`)."""

    def __init__(self, fig_dir: Path) -> None:
        self.fig_dir = fig_dir
        self.n = 0

    def section(self, src_dir: Path, prefix: str, kind: str, ctx: dict[str, Any]) -> list[str]:
        from pbitkit.pipeline.narrative import figure_caption

        lines: list[str] = []
        if not src_dir.is_dir():
            return lines
        for png in sorted(src_dir.glob("*.png")):
            dest = self.fig_dir / f"{prefix}{png.name}"
            shutil.copyfile(png, dest)
            self.n += 1
            lines += [_img(f"figures/{dest.name}"), "",
                      f"*Figure {self.n}.* {figure_caption(kind, png.stem, ctx)}", ""]
        return lines


def _amount(energy_J: Any, status: Any) -> str:
    """An energy for the tables: ``"–"`` for a term the ledger does not have, ``"not counted"`` for a
    ``missing`` one (never a silent 0 J)."""
    if status is None:
        return "–"
    return "not counted" if status == "missing" else format_si(energy_J, "J")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _fd(p: dict[str, Any]) -> str:
    fd = p.get("fd") or {}
    if not fd:
        return "–"
    return f"{fd.get('value', float('nan')):.2f} [{fd.get('lo', float('nan')):.2f}, {fd.get('hi', float('nan')):.2f}]"


def ledger_record(point: dict[str, Any], array_cell: str) -> dict[str, Any]:
    """The content of ``ledger.json`` for one evaluated point (its ``energy`` from :mod:`pbitkit.dtm.energy`).

    Every term with its energy per cell update (or per access), per sample, status and source; the sum of
    the per-sample parts next to the total (equal by construction, checked here); the opening sentence.

    Raises
    ------
    PbitkitError
        If the parts do not add up to the total (a bookkeeping bug, never silently reported).
    """
    from pbitkit.errors import PbitkitError

    e = point.get("energy") or {}
    terms = [dict(t) for t in e.get("terms") or []]
    total = float(e.get("total_J", float("nan")))
    parts = float(sum(float(t.get("per_sample_J", 0.0)) for t in terms))
    if terms and not abs(parts - total) <= 1e-9 * max(abs(total), 1e-30):
        raise PbitkitError(f"ledger: the parts ({parts:.6g} J) do not add up to the total ({total:.6g} J)")
    per_update = float(sum(float(t["energy_J"]) for t in terms if t.get("per") == "cell update"))
    return {
        "array_cell": array_cell, "mode": point.get("mode"), "T": point.get("T"), "K": point.get("K"),
        "step_K": e.get("step_K"), "sweeps_per_sample": e.get("sweeps_per_sample"), "n_cells": e.get("n_cells"), "terms": terms, "energy_per_cell_update_J": per_update,
        "energy_per_sample_J": total, "sum_of_parts_per_sample_J": parts, "time_per_sample_s": e.get("time_s"),
        "all_traced_to_ngspice": bool(terms) and all(t.get("status") in ("simulated", "included") for t in terms),
        "sentence": provenance_sentence(terms),
    }


def write_pipeline_report(out: Path, cfg: Any, stages: dict[str, StageRecord], run_record: dict[str, Any]) -> Path:
    """Assemble ``out/report/report.md`` from the stage folders; returns its path."""
    rep_dir = out / "report"
    fig_dir = rep_dir / "figures"
    if fig_dir.exists():
        shutil.rmtree(fig_dir)
    fig_dir.mkdir(parents=True)
    figs = _Figures(fig_dir)
    L: list[str] = ["# pbitkit pipeline report", ""]
    prov = run_record.get("provenance", {})
    L += [
        f"Run directory `{out}` · created {prov.get('created_utc', '?')} · pbitkit {prov.get('pbitkit_version', '?')}"
        f" (git {prov.get('git_commit') or 'n/a'}) · {prov.get('cpu_count', '?')} cores · config hash "
        f"`{run_record.get('config_hash', '')[:12]}`",
        "",
    ]
    ev_dir = stages.get("dtm_evaluate").path if "dtm_evaluate" in stages else None
    results = read_json(ev_dir / "results.json") if ev_dir and (ev_dir / "results.json").exists() else {}
    points = results.get("points", [])
    k_best = None
    if points:
        ideal = [p for p in points if p.get("mode") == "ideal"] or points
        k_best = min(ideal, key=lambda p: (p.get("fd") or {}).get("value", 1e99))["K"]
    with_e = [q for q in points if q.get("energy") and q.get("mode") == "ideal"]
    p_energy = next((q for q in with_e if q["K"] == k_best), max(with_e, key=lambda q: q["K"], default=None))
    led = ledger_record(p_energy, cfg.array_cell) if p_energy else None
    if led:
        atomic_write_json(rep_dir / LEDGER_FILE, led)
        L += [led["sentence"] + " The ledger's boundary is the array chip's edge: moving bits on and off the chip "
              "(pads, board, host) is not counted.", ""]
    else:
        L += ["No energy ledger in this run (no device card reached the DTM evaluation).", ""]

    # --- headline ---------------------------------------------------------------------------------------
    L += ["## Headline", ""]
    from pbitkit.pipeline.narrative import headline_findings

    findings = headline_findings(points, results, led, k_best)
    head_rec, head_cards, head_sentences = _headline(cfg, stages, results, rep_dir) if points else (None, {}, [])
    if findings or head_sentences:
        L += [" ".join(findings + head_sentences), ""]
    if points:
        rows = []
        for p in points:
            if p["K"] != k_best:
                continue
            e = (p.get("energy") or {})
            acc = p.get("cond_acc") or {}
            rows.append([
                p["mode"], str(p.get("T", "")), str(p.get("K", "")), str(p.get("sweeps_per_sample", "")), _fd(p),
                f"{acc['accuracy']:.3f} ± {acc['se']:.3f}" if acc else "–",
                format_si(e.get("total_J"), "J"), format_si(e.get("time_s"), "s"),
            ])
        L += [f"Fréchet classifier distance (FD, lower is better, 95% bootstrap CI) per array mode at "
              f"{k_text(k_best, points)} (the ideal model's best K; sweeps = array sweeps per sample), on held-out "
              "digits; label-clamped samples classified by "
              "the frozen classifier (chance 0.10); energy and time per generated sample from the array ledger of "
              f"the `{cfg.array_cell}` card (all K: section 4).", ""]
        L += _table(["mode", "T", "K", "sweeps", "FD [CI]", "label-clamped accuracy", "energy / sample", "time / sample"],
                    rows)
        floor = next((p.get("fd_floor") for p in points if p.get("fd_floor")), None)
        if floor:
            L += ["", f"Real-vs-real FD floor at the same sample count: {floor.get('value', float('nan')):.2f}."]
        L += [""]
    else:
        L += ["(no DTM evaluation in this run)", ""]

    # --- 1. cells -----------------------------------------------------------------------------------------
    L += ["## 1. Transistor-level p-bit cells (ngspice, sky130)", ""]
    for name, rec in stages.items():
        if not name.startswith("characterize_"):
            continue
        cell = name.removeprefix("characterize_")
        s = rec.summary
        side = rec.path / "characterization.json"
        meta = read_json(side) if side.exists() else {}
        L += [f"### Cell `{cell}`", ""]
        L += [f"{s.get('n_points', '?')} sweep points in {s.get('n_sessions', '?')} ngspice sessions "
              f"({s.get('n_cached', 0)} from cache), {s.get('n_failed', 0)} failed; wall "
              f"{format_si(s.get('wall_time_s'), 's')}, ngspice CPU {format_si(s.get('cpu_time_s'), 's')}"
              f"{' (reused from a previous run)' if rec.reused else ''}.", ""]
        for f in s.get("failed", [])[:10]:
            L += [f"- failed point bias {f.get('bias_V')} V corner {f.get('corner')} seed {f.get('mc_seed')}: "
                  f"`{f.get('error')}`"]
        if meta:
            L += [f"Models: {_models_text(meta.get('models'))}; ngspice {meta.get('ngspice_version', '?')}.", ""]
        fit_card = stages[f"fit_{cell}"].path / "device_card.json" if f"fit_{cell}" in stages else None
        card_d = _card_summary(fit_card)
        L += figs.section(rec.path / "plots", f"{cell}_", "characterize", {"cell": cell, "card": card_d})

    # --- 2. device models -----------------------------------------------------------------------------------
    L += ["## 2. Fitted device models (DeviceModel cards)", ""]
    rows = []
    for name, rec in stages.items():
        card_file = rec.path / "device_card.json"
        if not name.startswith("fit_") or not card_file.exists():
            continue
        from pbitkit.pbitmodel.card import DeviceModel

        c = DeviceModel.load(card_file)
        rows.append([f"`{c.cell}`", c.link, format_si(c.v0_V, "V"), format_si(c.vs_V, "V"),
                     format_si(c.variation.v0_sigma_V, "V"), format_si(c.dynamics.tau_corr_s, "s"),
                     format_si(c.energy.energy_per_bit_J, "J"), format_si(c.energy.energy_per_flip_J, "J"),
                     format_si(c.energy.static_power_W, "W"), format_si(c.bias_network.energy_per_update_J, "J"),
                     format_si(c.bias_network.g_unit_S, "S")])
    if rows:
        L += ["P(1) = link((V − V0)/Vs); σ(V0) is the cell-to-cell (mismatch) spread of the offset.", ""]
        L += _table(["cell", "link", "V0", "Vs", "σ(V0)", "τ_corr", "E/bit", "E/flip", "P_static",
                     "bias net. E/update", "bias net. g_unit"], rows) + [""]
        L += ["The bias network (neighbour-weighted sum, docs/theory.md §2) is sized so that it settles within half "
              "the cell's update interval at the DTM graph's fan-in and simulated at transistor level; its "
              "static conduction is charged per update in the ledger (section 3).", ""]
    for name, rec in stages.items():
        if name.startswith("fit_"):
            cell = name.removeprefix("fit_")
            L += [f"### Fits of `{cell}` (full report: `{rec.path.name}/fit_report.md`)", ""]
            card_d = _card_summary(rec.path / "device_card.json")
            L += figs.section(rec.path / "fit_plots", f"{cell}_fit_", "fit", {"cell": cell, "card": card_d})
            if (rec.path / "device_card.json").exists():
                shutil.copyfile(rec.path / "device_card.json", rep_dir / f"device_card_{cell}.json")

    # --- 3. energy ---------------------------------------------------------------------------------------------
    L += ["## 3. Energy per cell update and per generated sample", ""]
    if points:
        p = p_energy
        if p:
            e = p["energy"]
            ledd = (e.get("assumptions") or {}).get("ledger") or {}
            L += [f"Array cell `{cfg.array_cell}` (ledger of its card), {e.get('n_cells')} cells, T = {p['T']} steps, "
                  f"{sweeps_text(p['T'], p['K'], e.get('step_K'))}. Every term with where its joules come from "
                  "(`ledger.json` holds the same with the full hashes):", ""]
            per_cell = e.get("per_cell_sweep_J") or {}
            tot_cell = sum(per_cell.values()) or float("nan")
            rows = []
            for t in (led or {}).get("terms", []):
                if t.get("per") == "cell update":
                    amount = _amount(t["energy_J"], t.get("status")) + " / cell / sweep"
                    share = f"{100 * t['energy_J'] / tot_cell:.0f} % of E_cell"
                else:
                    amount = f"{format_si(t['energy_J'], 'J')} / access × {t.get('n_per_sample', '?')}"
                    share = "per sample"
                rows.append([f"`{t['name']}`", amount, format_si(t.get("per_sample_J"), "J"), share, t.get("status", "?"),
                             str(t.get("source", "")).replace("|", "/")])
            rows.append(["**total**", format_si(tot_cell, "J") + " / cell / sweep", format_si(e.get("total_J"), "J"),
                         "", "", "sum of the rows above"])
            L += _table(["term", "energy", "per sample", "share", "status", "source"], rows) + [""]
            if led and any(float(t.get("per_sample_J", 0.0)) > 0 for t in led["terms"]):
                plot_ledger(led, fig_dir / "ledger.png")
                top = max(led["terms"], key=lambda t: float(t.get("per_sample_J", 0.0)))
                figs.n += 1
                L += [_img("figures/ledger.png"), "",
                      f"*Figure {figs.n}.* Energy per generated sample by ledger term (log scale), coloured by where "
                      f"its joules come from. `{top['name']}` dominates with "
                      f"{100 * float(top['per_sample_J']) / float(led['energy_per_sample_J']):.0f} % of "
                      f"{format_si(led['energy_per_sample_J'], 'J')}; a bar that is not dark blue is a term whose "
                      "energy is not (fully) simulated.", ""]
            L += ["Status: `simulated` = measured by the ngspice run named; `included` = its joules are inside "
                  "another simulated term; `partial` = simulated, but part of the circuit is behavioural and its "
                  "power is missing; `assumed` = not simulated (the reference is given); `missing` = a part of the "
                  "circuit that was not simulated and is not counted (the source says why).", ""]
            if ledd:
                L += [f"Time per sweep {format_si(ledd.get('time_per_sweep_s'), 's')} (limited by "
                      f"{ledd.get('limited_by', '?')}), per sample {format_si(e.get('time_s'), 's')}.", ""]
    L += _cards_ledger_table(cfg, stages)
    if head_rec:
        L += _headline_lines(head_rec, head_cards, cfg, results, figs)
    if points:
        dig = results.get("digital", [])
        if dig:
            keys = [k for k in dig[0] if k not in ("T", "K", "sweeps", "array_J", "assumptions")]
            rows = [[str(d["T"]), str(d["K"]), str(d.get("sweeps", d["T"] * d["K"])), format_si(d.get("array_J"), "J")] +
                    [format_si(d.get(k), "J") for k in keys] for d in dig]
            L += ["Digital comparison (the same samples produced on conventional hardware; K = step 1's sweeps, "
                  "sweeps = array sweeps per sample):", ""]
            L += _table(["T", "K", "sweeps", "p-bit array"] + keys, rows) + [""]
            for k, a in (dig[0].get("assumptions") or {}).items():
                L += [f"- `{k}`: {a}"]
            L += [""]
        # energy at equal FD vs deep generative models (section built by pbitkit.dtm.deep_report)
        from pbitkit.dtm.deep_report import pipeline_section

        deep = pipeline_section(out, results, fig_dir, figure_number=figs.n + 1)
        figs.n += sum(line.startswith("![") for line in deep)
        L += deep
    # --- 4. DTM ---------------------------------------------------------------------------------------------
    L += ["## 4. Denoising thermodynamic model on the simulated array", ""]
    if ev_dir:
        L += [f"Full DTM report: `{ev_dir.name}/report.md`.", ""]
        L += figs.section(ev_dir, "dtm_", "dtm", {"points": points, "k_best": k_best,
                                                   "baselines": results.get("baselines") or {}})
    # --- design-space exploration, when the run holds one (section built by pbitkit.explore.report) -------------
    from pbitkit.explore.report import pipeline_section as explore_section

    ex = explore_section(out, fig_dir, figure_number=figs.n + 1)
    figs.n += sum(line.startswith("![") for line in ex)
    L += ex
    # --- 5. provenance -------------------------------------------------------------------------------------------
    L += ["## 5. Provenance", ""]
    rows = [["pbitkit", f"{prov.get('pbitkit_version')} (git {prov.get('git_commit')})"],
            ["python", str(prov.get("python"))], ["platform", str(prov.get("platform"))]]
    rows += [[k, str(v)] for k, v in (prov.get("packages") or {}).items() if v]
    for name, rec in stages.items():
        rows.append([f"stage `{name}`", f"inputs `{rec.inputs_hash[:16]}` · {format_si(rec.wall_time_s, 's')}"
                                        f"{' (reused)' if rec.reused else ''}"])
    for name, rec in stages.items():
        side = rec.path / "characterization.json"
        if side.exists():
            meta = read_json(side)
            rows.append([f"{name}: models", _models_text(meta.get("models"))])
            for m in meta.get("models") or []:
                if isinstance(m, dict) and (m.get("files") or {}).get("library"):
                    rows.append([f"{name}: library {m.get('source')}", f"sha256 `{m['files']['library'][:16]}`"])
            for key in ("ngspice_version", "netlist_sha256", "seeds"):
                if key in meta:
                    rows.append([f"{name}: {key}", f"`{str(meta[key])[:200]}`"])
    L += _table(["item", "value"], rows) + [""]
    L += ["Configs: `run.json` (pipeline) and each stage's `stage.json` hold the full inputs; seeds are part "
          "of those configs, so the run reproduces from them.", ""]
    path = atomic_write_text(rep_dir / "report.md", "\n".join(L))
    return path
