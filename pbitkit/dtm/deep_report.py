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

__all__ = ["PRICES", "family_curves", "curve_group", "equal_fd_rows", "deep_baselines_section", "plot_fd_vs_energy", "headline",
           "comparable", "sample_count_problem", "sample_count_note", "find_deep_results", "pipeline_section", "merge_deep_results"]

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


def curve_group(p: dict[str, Any]) -> str:
    """The one-knob group of a deep point: the diffusion steps vary within a width; a VAE family is one group
    (its widths are the knob)."""
    st = p.get("setting") or {}
    return f"{p['family']} " + " ".join(f"{k}={v}" for k, v in st.items() if k not in ("steps", "hidden")) + (
        f" hidden={st.get('hidden')}" if "steps" in st else "")


def _at(curve: list[dict[str, Any]], price: str, fd: float) -> EqualFD:
    return energy_at_fd([p[price] for p in curve], [p["fd"]["value"] for p in curve], fd,
                        [curve_group(p) for p in curve])


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


def _end(a: dict[str, Any], e_dtm: float) -> str:
    if a["status"] == "interpolated":
        return f"{a['energy_J'] / e_dtm:.2g}×"
    if a["status"] == "not_reached":
        return "n.r."
    return f"≤ {a['bound_J'] / e_dtm:.2g}×"


def _cell(r: dict[str, Any]) -> str:
    a = r["at_fd"]
    ci = f" ({_end(r['at_fd_hi'], r['dtm_J'])} – {_end(r['at_fd_lo'], r['dtm_J'])})"
    if a["status"] == "interpolated":
        return f"{_si(a['energy_J'])}, **{r['ratio']:.3g}×**{ci}"
    if a["status"] == "not_reached":
        return f"FD not reached (> {_si(a['bound_J'])} at its best point){ci}"
    return f"cheapest point already as good (≤ {_si(a['bound_J'])}, ≤ {a['bound_J'] / r['dtm_J']:.3g}×){ci}"


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
                           figure: str | None = None, caption: str | None = None) -> list[str]:
    """Markdown lines of the "energy at equal FD vs deep generative models" section.

    Parameters
    ----------
    deep : a deep-baseline result (:func:`pbitkit.dtm.deep_baselines.load_deep_results`).
    dtm_points : DTM evaluation points (``results.json`` ``points``) to compare; empty: curves only.
    digital : the same-chain digital rows (``results.json`` ``digital``), shown as the second comparison.
    heading : Markdown heading prefix of the section.
    figure : relative path of the :func:`plot_fd_vs_energy` PNG to embed, if any.
    caption : a caption line put under the figure (e.g. ``"*Figure 7.* ..."``).
    """
    hw = deep["hardware"]
    cfg = deep["config"]
    L = [f"{heading} Energy per sample at equal quality: DTM vs deep generative models", ""]
    def knob(fam: str, key: str) -> str:
        vals = sorted({p["setting"][key] for p in deep["points"] if p["family"] == fam and key in p["setting"]})
        return "" if not vals else str(vals[0]) if len(vals) == 1 else ", ".join(map(str, vals))

    models = []
    if knob("vae", "hidden"):
        models.append(f"a Bernoulli-decoder VAE (latent {knob('vae', 'latent')}, {knob('vae', 'depth')} hidden layers, "
                      f"widths {knob('vae', 'hidden')})")
    if knob("diffusion", "hidden"):
        models.append(f"a bit-flip diffusion model (MLP denoiser, {knob('diffusion', 'depth')} hidden layers, widths "
                      f"{knob('diffusion', 'hidden')}; {knob('diffusion', 'steps')} reverse steps)")
    L += [f"Deep baselines on `{deep['dataset']}` ({deep['meta'].get('dataset', '')}): {' and '.join(models)}, "
          f"trained in JAX, {cfg['n_samples']} samples per point, FD with the DTM's frozen classifier against the "
          f"same held-out set. Costs per generated sample counted from the architecture (FP32, weights amortised "
          f"over a batch of {cfg['gpu_batch']}; 20 operations per random draw).", ""]
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
        L += [f"![FD vs energy per sample]({figure})", ""] + ([caption, ""] if caption else [])
    if dtm_points:
        eq = equal_fd_rows(dtm_points, deep)
        fams = list(family_curves(deep))
        L += ["Energy per sample of each deep family **at the DTM's FD**: the points of each one-knob series (VAE "
              "widths; diffusion steps at one width) fitted by a non-increasing FD-vs-energy curve (a dearer point "
              "that measured worse is pooled with the cheaper one), the lower envelope over the series taken, and "
              "interpolated in (FD, ln E). In parentheses: the ratio at the upper and lower "
              "end of the DTM's FD CI (n.r. = that FD is not reached by the family; ≤ = even its cheapest point is "
              "as good). "
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
        names = [k for k in digital[0] if k not in ("T", "K", "sweeps", "array_J", "array_without_io_J", "assumptions")]
        L += ["Second comparison (not at equal quality): the *same Gibbs chain* run digitally, as priced in the "
              "DTM report (K = step 1's sweeps, sweeps = array sweeps per sample).", "",
              "| T | K | sweeps | p-bit array | " + " | ".join(names) + " |", "|---|---|---|---|" + "---|" * len(names)]
        for r in digital:
            L.append(f"| {r['T']} | {r['K']} | {r.get('sweeps', '')} | {_si(r['array_J'])} | "
                     + " | ".join(f"{_si(r[n])} ({r[n] / r['array_J']:.3g}×)" for n in names) + " |")
        L += [""]
    return L


def plot_fd_vs_energy(deep: dict[str, Any], path: str | Path, dtm_points: Sequence[dict[str, Any]] = (),
                      *, floor: float | None = None) -> Path:
    """FD vs energy per sample (log x): each deep family's points and fitted non-increasing curve, priced on
    the A100 (FLOPs only: circles, solid) and on this CPU (squares, dashed),
    DTM points with their FD CIs; optional real-vs-real floor line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pbitkit.dtm.deep_cost import quality_cost_curve

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (fam, curve) in enumerate(family_curves(deep).items()):
        for price, ls, mk in (("gpu_ops_J", "-", "o"), ("cpu_J", "--", "s")):
            e = np.array([p[price] for p in curve])
            f = np.array([p["fd"]["value"] for p in curve])
            ax.scatter(e, f, s=9, marker=mk, color=f"C{i}", alpha=0.45)
            ce, cf = quality_cost_curve(e, f, [curve_group(p) for p in curve])
            ax.plot(ce, cf, ls, color=f"C{i}", label=f"{fam} ({PRICES[price]}): points and fitted curve")
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


def _clf_key(meta: dict[str, Any]) -> str:
    return str(meta.get("classifier", "")).split(",")[0]


def comparable(deep: dict[str, Any], dtm_results: dict[str, Any]) -> str | None:
    """``None`` when a deep result and a DTM evaluation measured FD the same way (same dataset split sizes,
    same frozen classifier hash, and no more generated samples per DTM point than per deep point: the FD is
    biased upward at small sample counts, ≈ 0.2 on digits between 1,000 and 5,000, so a DTM measured on more
    samples would look better than it is; on fewer the comparison is conservative, see
    :func:`sample_count_note`), else the reason they are not comparable."""
    dm, rm = deep.get("meta") or {}, dtm_results.get("meta") or {}
    if dm.get("dataset") != rm.get("dataset"):
        return f"different data ({dm.get('dataset')!r} vs the DTM's {rm.get('dataset')!r})"
    if not _clf_key(dm) or _clf_key(dm) != _clf_key(rm):
        return f"different frozen classifier ({_clf_key(dm)!r} vs the DTM's {_clf_key(rm)!r})"
    return sample_count_problem(deep, dtm_results)


def sample_count_problem(deep: dict[str, Any], dtm_results: dict[str, Any]) -> str | None:
    """The reason a comparison is refused when the DTM's FD comes from more generated samples per point than
    the deep models' (it would look better than it is), else ``None``."""
    n_deep, n_dtm = _sample_counts(deep, dtm_results)
    if n_deep and n_dtm and max(n_dtm) > n_deep:
        return (f"the DTM's FD is from more samples ({', '.join(str(n) for n in sorted(n_dtm))} per point) than "
                f"the deep models' ({n_deep}), and the FD is biased upward at small counts: the DTM would look "
                "better than it is")
    return None


def _sample_counts(deep: dict[str, Any], dtm_results: dict[str, Any]) -> tuple[int | None, set[int]]:
    n_deep = (deep.get("config") or {}).get("n_samples")
    n_dtm = {int(p["n"]) for p in dtm_results.get("points") or [] if p.get("mode") == "ideal" and p.get("n")}
    return (int(n_deep) if n_deep else None), n_dtm


def sample_count_note(deep: dict[str, Any], dtm_results: dict[str, Any]) -> str | None:
    """A sentence when the DTM's FD comes from fewer generated samples than the deep models' (its FD biased
    upward, so the energy ratio at equal FD is conservative), else ``None``."""
    n_deep, n_dtm = _sample_counts(deep, dtm_results)
    if n_deep and n_dtm and max(n_dtm) < n_deep:
        return (f"The DTM's FD is from {', '.join(str(n) for n in sorted(n_dtm))} generated samples per point, the "
                f"deep models' from {n_deep}: the FD is biased upward at small counts, so the DTM's FD is the "
                "pessimistic one and the ratios below understate its advantage.")
    return None


def find_deep_results(run_dir: str | Path, dataset: str) -> tuple[dict[str, Any], str] | None:
    """The deep-baseline result for a pipeline run: ``RUN/deep_baselines/deep_baselines.json`` if the user
    ran ``pbitkit dtm deep-baselines --out RUN/deep_baselines``, else the one shipped for ``dataset`` in
    ``pbitkit/data/deep_baselines_<dataset>.json`` (measured once; see docs/gpu_baselines.md). Returns the
    result and where it came from, or ``None``."""
    from pbitkit.dtm.deep_baselines import load_deep_results
    from pbitkit.paths import data_dir

    run_file = Path(run_dir) / "deep_baselines" / "deep_baselines.json"
    if run_file.exists():
        return load_deep_results(run_file), str(run_file)
    shipped = data_dir() / f"deep_baselines_{dataset}.json"
    if shipped.exists():
        return load_deep_results(shipped), f"pbitkit/data/{shipped.name} (shipped; docs/gpu_baselines.md)"
    return None


def pipeline_section(run_dir: str | Path, dtm_results: dict[str, Any], fig_dir: str | Path, *,
                     heading: str = "###", figure_number: int = 1) -> list[str]:
    """Report lines for a pipeline run: the equal-FD comparison of its ideal-mode DTM points with the deep
    baselines found by :func:`find_deep_results` (figure ``deep_fd_vs_energy.png`` into ``fig_dir``, captioned
    ``*Figure <figure_number>.*``), or a one-line note saying why there is none. Empty when the run has no
    DTM evaluation points."""
    pts = [p for p in dtm_results.get("points", []) if p.get("mode") == "ideal" and (p.get("energy") or {}).get("total_J")]
    if not pts:
        return []
    name = str((dtm_results.get("meta") or {}).get("dataset", "")).split(" ")[0]
    found = find_deep_results(run_dir, name)
    if found is None:
        return [f"No deep-baseline result for `{name}`: run `pbitkit dtm deep-baselines --data {name} --out "
                f"{Path(run_dir) / 'deep_baselines'}` for the comparison at equal FD (docs/gpu_baselines.md).", ""]
    deep, src = found
    why = comparable(deep, dtm_results)
    if why:
        return [f"The deep-baseline result `{src}` is not comparable with this run's DTM: {why}. Re-run "
                f"`pbitkit dtm deep-baselines --out {Path(run_dir) / 'deep_baselines'}` on this run's data.", ""]
    floors = [p["fd_floor"]["value"] for p in pts if p.get("fd_floor")]
    fig = plot_fd_vs_energy(deep, Path(fig_dir) / "deep_fd_vs_energy.png", pts,
                            floor=sum(floors) / len(floors) if floors else None)
    cap = (f"*Figure {figure_number}.* Fréchet distance vs energy per generated sample: each deep model family "
           "(all widths and step counts: points, and the fitted non-increasing curve the equal-FD energies are read "
           "from) priced on the A100 at peak FP32 (FLOPs only, circles, solid) and on this CPU (squares, dashed); stars: this run's ideal DTM points with their 95 % CIs; dotted: real-vs-real floor.")
    lines = deep_baselines_section(deep, pts, (), heading=heading, figure=f"{Path(fig_dir).name}/{fig.name}",
                                   caption=cap)
    note = sample_count_note(deep, dtm_results)
    return lines[:2] + [f"Deep-baseline curves from `{src}`." + (f" {note}" if note else ""), ""] + lines[2:]


def merge_deep_results(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One deep-baseline result from several runs on the same data with the same classifier (e.g. the VAE and
    the diffusion family trained in two processes): points concatenated, the first run's config and hardware.

    Raises
    ------
    PbitkitError
        Runs on different data, with different classifiers, or priced on different hardware.
    """
    if not results:
        raise PbitkitError("no deep-baseline results to merge")
    first = results[0]
    for r in results[1:]:
        for key, a, b in (("data", first["meta"].get("dataset"), r["meta"].get("dataset")),
                          ("classifier", _clf_key(first["meta"]), _clf_key(r["meta"])),
                          ("hardware", first["hardware"], r["hardware"])):
            if a != b:
                raise PbitkitError(f"cannot merge deep-baseline results with different {key}: {a!r} vs {b!r}")
    return {**first, "points": [p for r in results for p in r["points"]]}
