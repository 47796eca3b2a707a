"""The exploration's report: the front figure, the front table (Markdown) and the comparison with the cell's
default design; :func:`finish_run` writes them (and runs the confirmation and end-to-end steps when asked).

The Markdown section (``explore_report.md``) is self-contained with relative image links, so the pipeline's
report can include it as is.
"""

from __future__ import annotations

import math
import concurrent.futures as cf
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pbitkit.explore.driver import DesignResult, ExploreResult, front_mask, full_design, table_rows
from pbitkit.io import atomic_write_text

__all__ = ["best_versus_reference", "energy_floor", "front_markdown", "card_label", "finish_run", "measure_floor",
           "pipeline_section", "REPORT_FILE", "FRONT_PNG", "BREAKDOWN_CSV", "BREAKDOWN_PNG", "FLOOR_JSON",
           "PIPELINE_DIR"]

#: the Markdown report section in the run directory
REPORT_FILE = "explore_report.md"
#: the front figure in the run directory
FRONT_PNG = "front.png"
#: every design's energy split into its parts (pbitkit.explore.floor)
BREAKDOWN_CSV = "breakdown.csv"
#: the parts of the reference's and the front designs' energy, stacked
BREAKDOWN_PNG = "breakdown.png"
#: the floor analysis and the corner design's measurement
FLOOR_JSON = "floor.json"
#: where a pipeline run keeps an exploration (``pbitkit explore --out RUN/explore``): its report includes it
PIPELINE_DIR = "explore"


def _fmt(v: Any, scale: float = 1.0, digits: int = 3) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞"
    return f"{x * scale:.{digits}g}"


def best_versus_reference(res: ExploreResult) -> dict[str, Any]:
    """The feasible design of lowest energy per independent bit among those with τ and σ(V0)/Vs no worse than
    the reference's (the cell's default), and the energy ratio reference / best.

    Returns ``{"reference": DesignResult, "best": DesignResult | None, "ratio": float, "n_candidates": int}``
    (``ratio`` NaN without a candidate). A reference σ(V0)/Vs of ∞ (fewer than two of its mismatch
    instances centred in the window) lets every design qualify on variation.
    """
    ref = res.reference
    rt, rv = float(ref.metrics["tau_corr_s"]), float(ref.metrics["sigma_v0_over_vs"])
    cands = [d for d, f in zip(res.designs, res.feasible, strict=True)
             if f and d.origin != "reference" and float(d.metrics["tau_corr_s"]) <= rt
             and not float(d.metrics["sigma_v0_over_vs"]) > rv]
    best = min(cands, key=lambda d: float(d.metrics["energy_per_independent_bit_J"]), default=None)
    ratio = (float(ref.metrics["energy_per_independent_bit_J"]) / float(best.metrics["energy_per_independent_bit_J"])
             if best is not None else math.nan)
    return {"reference": ref, "best": best, "ratio": ratio, "n_candidates": len(cands)}


_TABLE_COLS = (("energy_per_independent_bit_J", "E/indep. bit (fJ)", 1e15), ("energy_per_bit_J", "E/read (fJ)", 1e15),
               ("tau_corr_s", "τ (ns)", 1e9), ("tau_core_s", "τ core (ns)", 1e9),
               ("sigma_v0_over_vs", "σ(V0)/Vs", 1.0), ("mc_centred_fraction", "centred", 1.0),
               ("vs_V", "Vs (mV)", 1e3), ("area_um2", "area (µm²)", 1.0))


def card_label(d: DesignResult) -> str:
    """A design's label in the run directory (``cards/<label>.json``, ``confirm/<label>/``): ``default`` for the
    reference, else the first 12 hex digits of its key."""
    return "default" if d.origin == "reference" else d.key[:12]


def front_markdown(res: ExploreResult, designs: Sequence[DesignResult] | None = None) -> str:
    """A Markdown table: the reference (once, first; marked on the front by the report's text), then ``designs``
    (default the front, by energy), with their
    parameters and figures; the ``card`` column says which designs were confirmed with the transient tier and
    have a card in ``cards/`` (``transient``) and which have predicted figures only (``—``)."""
    rows = [res.reference] + [d for d in (res.front_designs if designs is None else designs) if d.origin != "reference"]
    names = list(dict.fromkeys(n for p in res.space.parameters for n in p.names))
    head = ["design", "card"] + [c[1] for c in _TABLE_COLS] + names
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for d in rows:
        label = "default" if d.origin == "reference" else d.key[:8]
        card = "transient" if (res.out_dir / "cards" / f"{card_label(d)}.json").is_file() else "—"
        cells = [label, card] + [_fmt(d.metrics.get(k), s) for k, _, s in _TABLE_COLS]
        full = full_design(res.space, d.design)
        cells += [_fmt(full.get(n, math.nan), 1e9 if n.endswith("_s") else 1.0, 4) for n in names]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _report_text(res: ExploreResult, extra_sections: Sequence[str], floor_section: str = "",
                 confirmed: bool = False) -> str:
    sp = res.space
    bvr = best_versus_reference(res)
    ref, best = bvr["reference"], bvr["best"]
    n_ok = sum(d.ok for d in res.designs)
    lines = [f"## Design-space exploration: `{sp.cell}`", "",
             f"Space `{sp.source or sp.cell}` ({sp.dim} dimensions; {sp.conditions.corner}, "
             f"{sp.conditions.temp_C:g} °C; {sp.conditions.mc_instances} mismatch instances per design). "
             f"{len(res.designs)} designs evaluated on the predicted tier ({n_ok} ran, {int(res.feasible.sum())} "
             f"feasible, {int(res.front.sum())} on the front). Constraints: "
             + "; ".join(c.describe() for c in sp.constraints) + ".", "",
             f"![The Pareto front: energy per independent bit against τ, σ(V0)/Vs and area; infeasible designs light "
             f"grey crosses, dominated ones grey, the front red, the cell's default a star]({FRONT_PNG})", "",
             "Front (predicted tier; energies per read and per independent bit, τ of the read bits; "
             "times in the parameter columns in ns):", "", front_markdown(res)]
    if best is None:
        lines += ["No feasible design reaches the default's τ and variation at lower energy.", ""]
    else:
        lines += [f"Best design at τ and σ(V0)/Vs no worse than the default (`{best.key[:8]}`, of "
                  f"{bvr['n_candidates']} candidates): **{_fmt(best.metrics['energy_per_independent_bit_J'], 1e15)} fJ** "
                  f"per independent bit vs {_fmt(ref.metrics['energy_per_independent_bit_J'], 1e15)} fJ for the default "
                  f"(**×{bvr['ratio']:.2f}**); τ {_fmt(best.metrics['tau_corr_s'], 1e9)} vs "
                  f"{_fmt(ref.metrics['tau_corr_s'], 1e9)} ns; σ(V0)/Vs {_fmt(best.metrics['sigma_v0_over_vs'])} vs "
                  f"{_fmt(ref.metrics['sigma_v0_over_vs'])} (predicted tier"
                  + ("; whether the transient tier confirms it: the confirmation below" if confirmed else "") + ").", ""]
    lines += [floor_section or _floor_text(res), ""]
    lines += list(extra_sections)
    return "\n".join(lines) + "\n"


def energy_floor(res: ExploreResult) -> dict[str, Any]:
    """Where the energy per independent bit cannot go below: the lowest energy per independent bit of any
    feasible design, and the lowest per-read energy beyond static power × period (the native latch's readout
    and clock: ``dynamic_energy_per_bit_J``) of any design that ran, with that design.

    A design's energy per independent bit is at least its per-read energy, which is at least its dynamic
    part; so if the lowest dynamic part of every design explored exceeds half the default's energy per
    independent bit, no design in the space (as sampled) reaches a factor 2.
    """
    ok = [d for d in res.designs if d.ok]
    feas = [d for d, f in zip(res.designs, res.feasible, strict=True) if f]
    best = min(feas, key=lambda d: float(d.metrics["energy_per_independent_bit_J"]), default=None)
    dyn = [d for d in ok if math.isfinite(float(d.metrics.get("dynamic_energy_per_bit_J", math.nan)))]
    low = min(dyn, key=lambda d: float(d.metrics["dynamic_energy_per_bit_J"]), default=None)
    return {"best_feasible": best, "lowest_dynamic": low,
            "target_J": float(res.reference.metrics["energy_per_independent_bit_J"]) / 2}


def _floor_text(res: ExploreResult) -> str:
    fl = energy_floor(res)
    best, low = fl["best_feasible"], fl["lowest_dynamic"]
    parts = [f"Factor-2 target: {_fmt(fl['target_J'], 1e15)} fJ per independent bit."]
    if best is not None:
        parts.append(f"Lowest energy per independent bit of any feasible design: "
                     f"{_fmt(best.metrics['energy_per_independent_bit_J'], 1e15)} fJ (`{best.key[:8]}`).")
    if low is not None:
        full = full_design(res.space, low.design)
        shown = ", ".join(f"{n} = {_fmt(full[n], 1e9 if n.endswith('_s') else 1.0, 4)}"
                          for n in ("vddr_V", "w_in_um", "sample_period_s") if n in full)
        parts.append(f"Lowest per-read energy beyond static power × period (readout, clock) of any design that ran: "
                     f"{_fmt(low.metrics['dynamic_energy_per_bit_J'], 1e15)} fJ (`{low.key[:8]}`{'; ' + shown if shown else ''})"
                     + (" — above the target by itself, so no design of this space reaches the factor 2 while its "
                        "readout runs at these bounds." if float(low.metrics["dynamic_energy_per_bit_J"]) > fl["target_J"]
                        else "."))
    return " ".join(parts)


def measure_floor(res: ExploreResult, *, corner: bool = True, runner: str | None = None) -> tuple[Any, list[Path]]:
    """The energy breakdown and floor of ``res`` (:func:`pbitkit.explore.floor.floor_analysis`); with
    ``corner`` the design of :func:`~pbitkit.explore.floor.floor_corner` (the space's fixed values, the cell's
    defaults, every parameter the readout/clock part depends on at its lowering bound) is evaluated once on the
    nominal predicted tier (one session, no mismatch runs; kept in the design cache). Writes ``breakdown.csv``,
    ``breakdown.png`` and ``floor.json``; returns ``(FloorAnalysis, paths)``."""
    from pbitkit.circuits.ngspice import ngspice_version
    from pbitkit.circuits.registry import get_cell
    from pbitkit.circuits.runners import DEFAULT_RUNNER
    from pbitkit.explore.evaluate import EVAL_CODE_MODULES, evaluate_design
    from pbitkit.explore.floor import PARTS, breakdown_rows, floor_analysis, floor_corner
    from pbitkit.explore.plots import plot_breakdown
    from pbitkit.explore.space import SUPPLY
    from pbitkit.explore.store import DesignCache, design_key, make_record, restore_metrics
    from pbitkit.io import atomic_write_json

    out = res.out_dir
    fa = floor_analysis(res)
    if corner and floor_corner(fa):
        sp = res.space
        cell = get_cell(sp.cell)
        design = {SUPPLY: float(cell.default_vdd_V), **dict(sp.fixed), **floor_corner(fa)}
        cond = {**sp.conditions.to_dict(), "mc_instances": 0, "check_corners": []}
        area = {"fixed_um2": sp.area_fixed_um2, "terms": [(t.w, t.l, t.count) for t in sp.area_terms]}
        key = design_key(sp.cell, design, conditions=cond, area=area, screen=[], ngspice_version=ngspice_version(),
                         code_modules=(*EVAL_CODE_MODULES, type(cell).__module__))
        cache = DesignCache.default()
        hit = cache.get(key)
        if hit is None:
            m = evaluate_design(sp.cell, design, cond, area, (), runner or DEFAULT_RUNNER)
            cache.put(make_record(key, design, m, origin="floor_corner"))
        else:
            m = restore_metrics(hit)
        fa = floor_analysis(res, corner_metrics=m, corner_design=floor_corner(fa))
    rows = breakdown_rows(res)
    cols = list(rows[0]) if rows else []
    csv_text = ",".join(cols) + "\n" + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows)
    paths = [atomic_write_text(out / BREAKDOWN_CSV, csv_text)]
    front = [res.reference] + [d for d in res.front_designs if d.origin != "reference"]
    from pbitkit.explore.floor import energy_parts

    bars = [{"label": "default" if d.origin == "reference" else d.key[:8], **energy_parts(d.metrics)} for d in front]
    paths.append(plot_breakdown(bars, out / BREAKDOWN_PNG, parts=PARTS, target_J=fa.target_J, floor_J=fa.floor_J,
                                title=f"{res.space.cell}: energy per independent bit by part (default and front)"))
    paths.append(atomic_write_json(out / FLOOR_JSON, {
        "target_J": fa.target_J, "reference_J": fa.reference_J, "bound_J": fa.bound_J,
        "bound_design": fa.bound_design.key if fa.bound_design else None, "corner_J": fa.corner_J,
        "corner_design": fa.corner_design, "floor_J": fa.floor_J, "factor2_excluded": fa.factor2_excluded,
        "best_ratio_possible": fa.best_ratio_possible, "dominant": fa.dominant, "fit_r2": fa.fit_r2,
        "stats": fa.stats, "n_ran": fa.n_ran, "n_feasible": fa.n_feasible,
        "coverage": [{"name": c.name, "lo": c.lo, "hi": c.hi, "explored_lo": c.explored_lo,
                      "explored_hi": c.explored_hi, "rho": c.rho, "effect": c.effect, "depends": c.depends,
                      "floor_value": c.floor_value} for c in fa.coverage]}))
    return fa, paths


def finish_run(res: ExploreResult, *, confirm: int = 0, end_to_end: int = 0, executor: cf.Executor | None = None,
               workers: int | None = None, confirm_params: Mapping[str, float] | None = None,
               e2e_config: Any = None, extra_sections: Sequence[str] = (), floor: bool = True,
               command: str = "", confirm_biases: int = 9, trim: int = 0) -> list[Path]:
    """Write ``front.png``, the energy breakdown and floor (:func:`measure_floor`, with ``floor``) and
    ``explore_report.md`` into the run directory.

    With ``confirm`` > 0 the reference and that many front designs (every front design when ``confirm`` is at
    least the front's size) are first confirmed with the transient tier and their cards saved
    (:func:`pbitkit.explore.confirm.confirm_front` on ``confirm_biases`` bias points, ``confirm_params`` extra
    cell overrides for it, e.g. a shorter ``t_stop_s``); with
    ``end_to_end`` > 0 that many confirmed cards go through chip → calibration → DTM
    (:func:`pbitkit.explore.endtoend.end_to_end`, settings ``e2e_config``; with ``trim`` also each trimmed
    design's chip). ``extra_sections`` are appended to
    the report; ``command`` (the command line that produced the run) is quoted in it. With ``trim`` > 0 the
    reference and that many front designs (in :func:`~pbitkit.explore.confirm.select_front`'s order) get their
    variation after per-cell trim (:func:`pbitkit.explore.trim.trim_front`). Returns the paths written.
    """
    from pbitkit.explore.plots import plot_front

    out = res.out_dir
    feas, front = front_mask(res.space, res.designs)
    rows = table_rows(res.space, res.designs, feas, front)
    paths = [plot_front(rows, out / FRONT_PNG, title=f"{res.space.cell}: {len(rows)} designs, predicted tier")]
    floor_section = ""
    if floor:
        from pbitkit.explore.floor import floor_markdown

        fa, fpaths = measure_floor(res)
        paths += fpaths
        floor_section = floor_markdown(fa, command=command) + ("\n![Energy per independent bit of the default and of every front design, by part, with the "
                                                            f"factor-2 target and the floor]({BREAKDOWN_PNG})\n")
    sections = []
    trims: dict[str, Any] = {}
    if trim > 0:
        from pbitkit.explore.confirm import select_front
        from pbitkit.explore.trim import trim_front, trim_markdown

        tr = trim_front(res, select_front(res, trim, exclude_reference=True), workers=workers or 1)
        paths += [out / "trim" / f"{t.label}.json" for t in tr]
        trims = {t.label: t for t in tr}
        trim_section = trim_markdown(tr)
    if confirm > 0:
        from pbitkit.explore.confirm import confirm_front, confirm_markdown

        conf = confirm_front(res, k=confirm, n_bias=confirm_biases, params=confirm_params, executor=executor,
                             workers=workers)
        paths += conf.paths
        sections.append(confirm_markdown(conf))
        if end_to_end > 0:
            from pbitkit.explore.endtoend import end_to_end as run_e2e
            from pbitkit.explore.endtoend import end_to_end_markdown

            e2e = run_e2e(conf, k=end_to_end, config=e2e_config, trims=trims)
            paths += e2e.paths
            sections.append(end_to_end_markdown(e2e))
    if trims:
        sections.append(trim_section)
    sections += list(extra_sections)
    paths.append(atomic_write_text(out / REPORT_FILE, _report_text(res, sections, floor_section, confirm > 0)))
    return paths


def pipeline_section(run_dir: str | Path, fig_dir: str | Path, *, figure_number: int = 1) -> list[str]:
    """Report lines for a pipeline run that holds an exploration in ``run_dir / PIPELINE_DIR`` (written by
    ``pbitkit explore --out RUN/explore``): its ``explore_report.md`` with every figure copied into ``fig_dir``
    (prefixed ``explore_``) and captioned ``*Figure <n>.*`` from ``figure_number`` on. Empty when the run holds
    no exploration."""
    import re
    import shutil

    src = Path(run_dir) / PIPELINE_DIR
    md = src / REPORT_FILE
    if not md.is_file():
        return []
    fig_dir = Path(fig_dir)
    lines = ["## Design-space exploration of the cell (`pbitkit explore`)", "",
             f"From the exploration in `{PIPELINE_DIR}/` (its full report: `{PIPELINE_DIR}/{REPORT_FILE}`).", ""]
    n = figure_number
    for line in md.read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"!\[(.*)\]\(([^)/]+\.png)\)", line.strip())
        if m:
            png = src / m.group(2)
            if not png.is_file():
                continue
            dest = fig_dir / f"explore_{png.name}"
            shutil.copyfile(png, dest)
            lines += [f"![{m.group(1)}]({fig_dir.name}/{dest.name})", "", f"*Figure {n}.* {m.group(1)}."]
            n += 1
            continue
        # the exploration's own headings one level down (its title becomes a sub-section of this one)
        lines.append("#" + line if line.startswith("## ") or line.startswith("### ") else line)
    return lines + [""]
