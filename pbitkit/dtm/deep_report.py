"""Energy per sample at equal quality: DTM evaluation points vs the deep baselines (report section + plot).

Inputs are the plain JSON forms: DTM points as in ``pbitkit dtm evaluate``'s ``results.json``
(``points[*]``: ``mode``, ``T``, ``K``, ``fd {value, lo, hi}``, ``energy {total_J}``) and a deep-baseline
result from :func:`pbitkit.dtm.deep_baselines.load_deep_results`. No JAX needed.

- :func:`equal_fd_rows`: for every DTM point and every deep family and price (A100 at peak, this CPU as
  measured), the family's energy per sample at the DTM's FD (and at the ends of the DTM's FD CI) by
  :func:`pbitkit.dtm.deep_cost.energy_at_fd`, and the ratio deep / DTM. Outside a family's FD range the
  row says so (``status``) and gives a bound instead of a ratio.
- :func:`deep_baselines_section`: Markdown lines (a ``##`` section) with the curves' table, the equal-FD
  table, the same-chain digital comparison as a second, labelled comparison, and the assumptions.
- :func:`plot_fd_vs_energy`: FD vs energy per sample, one curve per family and price, DTM points on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.dtm.deep_cost import EqualFD, energy_at_fd
from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_path

__all__ = ["PRICES", "family_curves", "equal_fd_rows", "deep_baselines_section", "plot_fd_vs_energy", "headline"]

#: price key in a deep point -> label
PRICES = {"gpu_ops_J": "A100, FLOPs only", "gpu_J": "A100 roofline", "cpu_J": "this CPU, measured"}


def family_curves(deep: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Deep points grouped by family (``vae``, ``diffusion``); a family is one curve (all widths and steps)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in deep.get("points", []):
        out.setdefault(p["family"], []).append(p)
    if not out:
        raise PbitkitError("deep-baseline result holds no points")
    return out


def _at(curve: list[dict[str, Any]], price: str, fd: float) -> EqualFD:
    return energy_at_fd([p[price] for p in curve], [p["fd"]["value"] for p in curve], fd)


def equal_fd_rows(dtm_points: Sequence[dict[str, Any]], deep: dict[str, Any],
                  prices: Sequence[str] = tuple(PRICES)) -> list[dict[str, Any]]:
    """One row per (DTM point, deep family, price).

    Row keys: ``dtm`` (``"mode T= K="``), ``dtm_fd`` (value, lo, hi), ``dtm_J`` (energy per sample incl.
    I/O), ``family``, ``price``, ``at_fd`` / ``at_fd_lo`` / ``at_fd_hi`` (:class:`EqualFD` dicts at the DTM's
    FD and its CI ends), ``ratio`` (deep / DTM energy at equal FD, ``None`` unless interpolated), and
    ``ratio_range`` (ratios at the CI ends where both are interpolated, else ``None``).
    """
    curves = family_curves(deep)
    rows = []
    for d in dtm_points:
        e_dtm = (d.get("energy") or {}).get("total_J")
        if not e_dtm:
            raise PbitkitError(f"DTM point {d.get('mode')} K={d.get('K')} has no energy per sample")
        fd = d["fd"]
        for fam, curve in curves.items():
            for price in prices:
                mid, lo, hi = (_at(curve, price, fd[k]) for k in ("value", "lo", "hi"))
                ratio = mid.energy_J / e_dtm if mid.status == "interpolated" else None
                rr = None
                # a lower FD (lo) needs more energy: the ratio's upper end; hi its lower end
                if lo.status == "interpolated" and hi.status == "interpolated":
                    rr = (hi.energy_J / e_dtm, lo.energy_J / e_dtm)
                rows.append({"dtm": f"{d['mode']} T={d['T']} K={d['K']}", "dtm_fd": dict(fd), "dtm_J": e_dtm,
                             "family": fam, "price": price, "at_fd": mid.as_dict(), "at_fd_lo": lo.as_dict(),
                             "at_fd_hi": hi.as_dict(), "ratio": ratio, "ratio_range": rr})
    return rows


def _si(v: float | None, unit: str = "J") -> str:
    if v is None or not math.isfinite(v):
        return "—"
    if v == 0:
        return f"0 {unit}"
    for f, pre in ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, "")):
        if abs(v) < f * 1000:
            return f"{v / f:.3g} {pre}{unit}"
    return f"{v:.3g} {unit}"


def _cell(r: dict[str, Any]) -> str:
    a = r["at_fd"]
    if a["status"] == "interpolated":
        rr = r["ratio_range"]
        rng = f" ({rr[0]:.2g}–{rr[1]:.2g})" if rr else " (CI end outside range)"
        return f"{_si(a['energy_J'])}, **{r['ratio']:.3g}×**{rng}"
    if a["status"] == "not_reached":
        return f"FD not reached (> {_si(a['bound_J'])} at its best point)"
    return f"cheapest point already as good (≤ {_si(a['bound_J'])}, ≤ {a['bound_J'] / r['dtm_J']:.3g}×)"


def headline(rows: Sequence[dict[str, Any]], price: str = "gpu_ops_J") -> str:
    """One sentence: the best DTM point (lowest FD) vs each family on ``price`` at equal FD."""
    sel = [r for r in rows if r["price"] == price]
    if not sel:
        return ""
    best = min(sel, key=lambda r: r["dtm_fd"]["value"])["dtm"]
    parts = []
    for r in (r for r in sel if r["dtm"] == best):
        a = r["at_fd"]
        if a["status"] == "interpolated":
            parts.append(f"the {r['family']} needs {_si(a['energy_J'])} per sample on the {PRICES[price]} "
                         f"({r['ratio']:.3g}× the DTM's {_si(r['dtm_J'])})")
        elif a["status"] == "not_reached":
            parts.append(f"the {r['family']} does not reach its FD (best point {_si(a['bound_J'])})")
        else:
            parts.append(f"the {r['family']}'s cheapest point is already as good ({_si(a['bound_J'])}, "
                         f"≤ {a['bound_J'] / r['dtm_J']:.3g}× the DTM)")
    fd = next(r["dtm_fd"] for r in sel if r["dtm"] == best)
    return (f"At the DTM's FD ({best}: {fd['value']:.3g} [{fd['lo']:.3g}, {fd['hi']:.3g}]), " + "; ".join(parts) + ".")


def deep_baselines_section(deep: dict[str, Any], dtm_points: Sequence[dict[str, Any]] = (),
                           digital: Sequence[dict[str, Any]] = (), *, heading: str = "##",
                           figure: str | None = None) -> list[str]:
    """Markdown lines of the "energy at equal FD vs deep generative models" section.

    Parameters
    ----------
    deep : a deep-baseline result (:func:`pbitkit.dtm.deep_baselines.load_deep_results`).
    dtm_points : DTM evaluation points (``results.json`` ``points``) to compare; empty: curves only.
    digital : the same-chain digital rows (``results.json`` ``digital``), shown as the second comparison.
    heading : Markdown heading prefix of the section.
    figure : relative path of the :func:`plot_fd_vs_energy` PNG to embed, if any.
    """
    hw = deep["hardware"]
    cfg = deep["config"]
    L = [f"{heading} Energy per sample at equal quality: DTM vs deep generative models", ""]
    L += [f"Deep baselines on `{deep['dataset']}` ({deep['meta'].get('dataset', '')}): a Bernoulli-decoder VAE "
          f"(latent {cfg['vae_latent']}, {cfg['depth']} hidden layers, widths {cfg['vae_hidden']}) and a bit-flip "
          f"diffusion model (MLP denoiser, {cfg['depth']} hidden layers, widths {cfg['diffusion_hidden']}, "
          f"{cfg['diffusion_steps']} reverse steps), trained in JAX, {cfg['n_samples']} samples per point, FD with "
          f"the DTM's frozen classifier against the same held-out set. Costs per generated sample counted from "
          f"the architecture (FP32, weights amortised over a batch of {cfg['gpu_batch']}; 20 operations per "
          f"random draw).", ""]
    L += [f"- A100 price: {hw['source']}. *FLOPs only*: ops × {hw['power_W']:g} W / "
          f"{hw['peak_flops_per_s'] / 1e12:g} TFLOP/s (memory traffic free, as the same-chain column prices the "
          f"Gibbs chain); *roofline*: {hw['power_W']:g} W × max(ops / peak, bytes / "
          f"{hw['bandwidth_B_per_s'] / 1e12:.3g} TB/s), activations through HBM layer by layer. Both are the GPU's "
          "best case: full utilisation at its rated power; idle, host and kernel-launch overheads excluded.",
          f"- CPU price: measured CPU time (all threads) of the compiled JAX sampler on this machine "
          f"({deep['meta'].get('machine', '?')}) × an assumed {deep['cpu_core_power_W']:g} W per busy core.", ""]
    rows = [[p["label"], f"{p['fd']['value']:.3g} [{p['fd']['lo']:.3g}, {p['fd']['hi']:.3g}]",
             f"{p['cost']['ops']:.3g}", f"{p['xla']['flops'] + p['xla']['transcendentals']:.3g}",
             f"{p['cost']['bytes']:.3g}", _si(p["gpu_ops_J"]), _si(p["gpu_J"]) + f" ({p['gpu_bound']})",
             _si(p["gpu_xla_J"]), _si(p["cpu_J"])] for p in deep["points"]]
    L += ["| model | FD [95% CI] | ops / sample | XLA ops / sample | bytes / sample | A100 FLOPs only | A100 roofline "
          "| A100 roofline (XLA counts) | this CPU |", "|---|---|---|---|---|---|---|---|---|"]
    L += ["| " + " | ".join(r) + " |" for r in rows] + [""]
    if figure:
        L += [f"![FD vs energy per sample]({figure})", ""]
    if dtm_points:
        eq = equal_fd_rows(dtm_points, deep)
        fams = list(family_curves(deep))
        L += ["Energy per sample of each deep family **at the DTM's FD** X in parentheses the ratio at the ends of the DTM's FD CI). "
              "Ratio = deep model / DTM (DTM energy incl. I/O).", ""]
        head = ["DTM point", "FD [95% CI]", "DTM J / sample"] + [f"{f} on {PRICES[p]}" for f in fams for p in PRICES]
        L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for d in dtm_points:
            key = f"{d['mode']} T={d['T']} K={d['K']}"
            cells = [key, f"{d['fd']['value']:.3g} [{d['fd']['lo']:.3g}, {d['fd']['hi']:.3g}]",
                     _si(d["energy"]["total_J"])]
            for f in fams:
                for p in PRICES:
                    r = next(r for r in eq if r["dtm"] == key and r["family"] == f and r["price"] == p)
                    cells.append(_cell(r))
            L.append("| " + " | ".join(cells) + " |")
        L += ["", "**" + headline(eq) + "**", ""]
    if digital:
        names = [k for k in digital[0] if k not in ("T", "K", "array_J", "array_without_io_J", "assumptions")]
        L += ["Second comparison (not at equal quality): the *same Gibbs chain* run digitally, as priced in the "
              "DTM report.", "", "| T | K | p-bit array | " + " | ".join(names) + " |",
              "|---|---|---|" + "---|" * len(names)]
        for r in digital:
            L.append(f"| {r['T']} | {r['K']} | {_si(r['array_J'])} | "
                     + " | ".join(f"{_si(r[n])} ({r[n] / r['array_J']:.3g}×)" for n in names) + " |")
        L += [""]
    return L


def plot_fd_vs_energy(deep: dict[str, Any], path: str | Path, dtm_points: Sequence[dict[str, Any]] = (),
                      *, floor: float | None = None) -> Path:
    """FD vs energy per sample (log x): each deep family priced on the A100 (FLOPs only: solid; roofline:
    dash-dot) and on this CPU (dashed),
    DTM points with their FD CIs; optional real-vs-real floor line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (fam, curve) in enumerate(family_curves(deep).items()):
        for price, ls in (("gpu_ops_J", "-"), ("gpu_J", "-."), ("cpu_J", "--")):
            pts = sorted(curve, key=lambda p: p[price])
            e = np.array([p[price] for p in pts])
            f = np.array([p["fd"]["value"] for p in pts])
            ax.plot(e, f, ls, marker="o", ms=3, color=f"C{i}", label=f"{fam} ({PRICES[price]})", alpha=0.8)
    for j, d in enumerate(dtm_points):
        fd = d["fd"]
        ax.errorbar([d["energy"]["total_J"]], [fd["value"]], yerr=[[fd["value"] - fd["lo"]], [fd["hi"] - fd["value"]]],
                    fmt="*", ms=9, color="k" if j == 0 else f"C{j + 3}", capsize=3,
                    label=f"DTM {d['mode']} T={d['T']} K={d['K']}")
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", label="real-vs-real floor")
    ax.set_xscale("log")
    ax.set_xlabel("energy per generated sample (J)")
    ax.set_ylabel("Fréchet classifier distance")
    ax.set_title(f"{deep['dataset']}: quality vs energy per sample", fontsize=10)
    ax.legend(fontsize=7)
    p = Path(path)
    with atomic_path(p, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
    plt.close(fig)
    return p
