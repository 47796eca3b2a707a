"""The headline energy figures of a pipeline run, re-derived from the array cell's card and its ledger.

For the array cell (the card the DTM ran on) and every other fitted card, :func:`headline_record` gives,
at the run's own setting (its grid, ``T`` denoising steps, ``K`` sweeps per step) and at the DTM paper's
(``L = 70``, ``T = 8``, ``K = 250``):

* the energy per cell per sweep by ledger part (the cell's RNG incl. its readout and clock buffer, the bias
  network, the cell's trim, the supply generator, the clock tree, the wires), each with its status and source
  (:mod:`pbitkit.array.ledger`);
* the energy and time per generated sample (array + I/O writes and reads, :func:`pbitkit.dtm.energy.
  dtm_energy_from_ledger`);
* the same chain on an NVIDIA A100 (peak FP32 at TDP) and on this CPU (the sampler's throughput measured by
  the evaluation, times its assumed power), and the paper's ≈ 2 fJ per cell per sweep.

The paper-setting ledger uses the periphery measured for the ``L = 70`` grid (``provenance.details
["periphery_paper"]``, written by :func:`pbitkit.pipeline.bias_network.attach_periphery` in the fit stage):
the clock tree and the wires per cell depend on the pitch and the graph's pattern, the I/O bit lines on the
array's side. Without it the run grid's periphery is used and the record says so. A run whose array has
another fan-in than the paper's grid (the crossbar: 128 against G12's 12) has its cell's bias network
measured at the paper's fan-in too (``["bias_network_paper"]``, :func:`pbitkit.pipeline.bias_network.
paper_network_card`); without it the ledger scales the run's network to the paper's fan-in and marks it
partial.
"""

from __future__ import annotations

from typing import Any

from pbitkit.errors import PbitkitError

__all__ = ["PAPER_SETTING", "PARTS", "paper_graph", "headline_record", "headline_sentences", "times_text"]

#: The DTM paper's MNIST setting (docs/theory.md §3): a 70 x 70 grid, 8 denoising steps, 250 sweeps per step.
PAPER_SETTING = {"L": 70, "T": 8, "K": 250}


def paper_graph(model: Any) -> Any:
    """The paper setting's array: ``PAPER_SETTING["L"]`` square with the run's grid pattern, or the paper's own
    G12 when the run's array is not a grid (the paper's architecture is a local grid; a 70 × 70 crossbar is
    not its setting)."""
    from pbitkit.array import GRID_PATTERNS, grid_graph

    pattern = model.pattern if model.pattern in GRID_PATTERNS else "G12"
    return grid_graph(PAPER_SETTING["L"], pattern, periodic=model.periodic)


#: Per-cell-update ledger parts in the order the tables show them.
PARTS = ("rng", "bias", "trim", "supply", "readout", "clock", "wire")


def _cpu_updates_per_s(results: dict[str, Any], cpu_power_W: float) -> float | None:
    """The software sampler's measured throughput (updates/s), recovered from the evaluation's CPU row
    (``E_cpu = S N / ups x P`` with ``S`` sweeps per sample: the row's ``sweeps``, else ``T K``)."""
    for d in results.get("digital") or []:
        e_cpu = next((v for k, v in d.items() if k.startswith("this CPU")), None)
        n = next((p.get("energy", {}).get("n_cells") for p in results.get("points") or []
                  if p.get("energy", {}).get("n_cells")), None)
        if e_cpu and n:
            sweeps = float(d.get("sweeps") or float(d["T"]) * float(d["K"]))
            return sweeps * float(n) * cpu_power_W / float(e_cpu)
    return None


def _setting(card: Any, graph: Any, *, T: int, K: int, n_write: int, n_read: int, periphery: dict[str, Any] | None,
             cpu_ups: float | None, cpu_power_W: float, step_K: tuple[int, ...] | None = None) -> dict[str, Any]:
    from pbitkit.dtm.energy import PAPER_FIGURES, dtm_energy_from_ledger, digital_energy

    rep = dtm_energy_from_ledger(graph, card, T=T, K=K, n_write=n_write, n_read=n_read, periphery=periphery,
                                 step_K=step_K)
    parts = {t["name"]: t for t in rep.terms}
    per_cell = {k: float(parts[k]["energy_J"]) for k in PARTS if k in parts}
    e_cell = float(sum(per_cell.values()))
    mean_deg = 2.0 * graph.n_edges / graph.n_nodes
    dig = {b.name: b.energy_per_sample_J for b in digital_energy(T=T, K=K, n_cells=graph.n_nodes,
                                                                  mean_degree=mean_deg, cpu_updates_per_s=cpu_ups,
                                                                  cpu_power_W=cpu_power_W, step_K=step_K)}
    io = sum(v for k, v in rep.breakdown_J.items() if k.startswith("io_"))
    return {
        "T": T, "K": K, "step_K": list(step_K or (K,) * T), "sweeps_per_sample": rep.sweeps_per_sample,
        "n_cells": int(graph.n_nodes), "n_write": n_write, "n_read": n_read,
        "per_cell_sweep_J": per_cell, "energy_per_cell_sweep_J": e_cell,
        "status": {k: parts[k]["status"] for k in per_cell} | {k: parts[k]["status"] for k in ("io_write", "io_read")},
        "sources": {k: parts[k]["source"] for k in parts},
        "energy_per_sample_J": rep.total_J, "io_per_sample_J": io, "time_per_sample_s": rep.time_s,
        "gpu_J": next((v for k, v in dig.items() if k.startswith("NVIDIA")), None),
        "cpu_J": next((v for k, v in dig.items() if k.startswith("this CPU")), None),
        "paper_E_cell_J": PAPER_FIGURES["E_cell_J"], "vs_paper_E_cell": e_cell / PAPER_FIGURES["E_cell_J"],
        "all_traced": all(t["status"] in ("simulated", "included") for t in rep.terms),
    }


def headline_record(cards: dict[str, Any], array_cell: str, cfg: Any, results: dict[str, Any],
                    *, k_run: int | None = None) -> dict[str, Any]:
    """The headline figures for every card (``{cell: DeviceModel}``), ``array_cell`` first.

    Parameters
    ----------
    cards : the fitted cards by cell name (each carrying its periphery in ``provenance.details``).
    array_cell : the cell the DTM ran on.
    cfg : the pipeline config (its DTM grid, ``T``, and the evaluation's ``cpu_power_W``).
    results : the evaluation's ``results.json`` (I/O counts per sample and the CPU's measured throughput).
    k_run : sweeps of step 1 in the run's row (default: 20 if evaluated, else the largest evaluated K); steps
        ``2 .. T`` run the evaluation's ``K_later`` when it is set (:func:`pbitkit.dtm.evaluate.point_step_K`).
        The paper's setting keeps its ``K`` sweeps on every step.

    Raises
    ------
    PbitkitError
        If ``array_cell`` has no card.
    """
    from pbitkit.dtm.evaluate import point_step_K
    from pbitkit.dtm.model import model_graph
    from pbitkit.pipeline.bias_network import paper_network_card

    if array_cell not in cards:
        raise PbitkitError(f"headline: no fitted card for the array cell {array_cell!r}")
    m = cfg.dtm.model
    points = results.get("points") or []
    ks = sorted({int(p["K"]) for p in points if p.get("K")})
    k = k_run or (20 if 20 in ks or not ks else ks[-1])
    e0 = next((p["energy"] for p in points if p.get("energy")), {})
    a = e0.get("assumptions") or {}
    n_write, n_read = int(a.get("n_write", 0)), int(a.get("n_read", 0))
    cpu_power = float(getattr(cfg.evaluate, "cpu_power_W", 15.0))
    ups = _cpu_updates_per_s(results, cpu_power)
    g_run = model_graph(m)
    t_run = int(cfg.dtm.forward.n_steps)
    step_k = point_step_K(k, t_run, cfg.evaluate)
    g_paper = paper_graph(m)
    out: dict[str, Any] = {"array_cell": array_cell, "paper_setting": dict(PAPER_SETTING), "cpu_updates_per_s": ups,
                           "cpu_power_W": cpu_power, "cells": {}}
    for cell in [array_cell] + sorted(c for c in cards if c != array_cell):
        card = cards[cell]
        details = card.provenance.details if hasattr(card.provenance, "details") else {}
        paper_per = details.get("periphery_paper") if isinstance(details, dict) else None
        out["cells"][cell] = {
            "run": {"L": m.L, **_setting(card, g_run, T=t_run, K=k, n_write=n_write, n_read=n_read, periphery=None,
                                         cpu_ups=ups, cpu_power_W=cpu_power, step_K=step_k)},
            "paper": {"L": PAPER_SETTING["L"], "periphery_for_L": PAPER_SETTING["L"] if paper_per else m.L,
                      **_setting(paper_network_card(card), g_paper, T=PAPER_SETTING["T"], K=PAPER_SETTING["K"],
                                 n_write=n_write, n_read=n_read, periphery=paper_per, cpu_ups=ups,
                                 cpu_power_W=cpu_power)},
        }
    return out


def times_text(x: float) -> str:
    """``"3.2×"`` below 100, ``"1,234×"`` above."""
    return f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"


def headline_sentences(rec: dict[str, Any]) -> list[str]:
    """Findings about the array cell's energy, computed from :func:`headline_record`'s numbers: its energy
    per cell per sweep against the paper's ≈ 2 fJ and what dominates it, and the paper's setting against an
    A100 and this CPU."""
    from pbitkit.pipeline.report import format_si

    cell = rec["array_cell"]
    run, paper = rec["cells"][cell]["run"], rec["cells"][cell]["paper"]
    parts = run["per_cell_sweep_J"]
    top = max(parts, key=lambda k: parts[k])
    out = [f"Per cell and sweep the `{cell}` array spends {format_si(run['energy_per_cell_sweep_J'], 'J')}, "
           f"{times_text(run['vs_paper_E_cell'])} the DTM paper's ≈ 2 fJ; `{top}` is "
           f"{100 * parts[top] / run['energy_per_cell_sweep_J']:.0f} % of it"
           + ("" if run["all_traced"] else " (not every part is fully simulated: " + ", ".join(
               f"`{k}` {st}" for k, st in run["status"].items() if st not in ("simulated", "included"))
              + "; section 3)") + "."]
    line = (f"At the paper's setting (L = {paper['L']}, T = {paper['T']}, K = {paper['K']}) a sample costs "
            f"{format_si(paper['energy_per_sample_J'], 'J')} in {format_si(paper['time_per_sample_s'], 's')}")
    if paper.get("gpu_J"):
        line += f", {times_text(paper['gpu_J'] / paper['energy_per_sample_J'])} less than an A100's best case"
    if paper.get("cpu_J"):
        line += f" and {times_text(paper['cpu_J'] / paper['energy_per_sample_J'])} less than this CPU"
    return out + [line + "."]
