"""Cost counting, roofline pricing and energy at equal FD (pure NumPy; no JAX)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from pbitkit.dtm.deep_cost import (
    A100_SXM4,
    OPS_PER_RANDOM,
    HardwareSpec,
    SampleCost,
    diffusion_sample_cost,
    energy_at_fd,
    mlp_cost,
    quality_cost_curve,
    roofline_energy,
    vae_sample_cost,
)
from pbitkit.dtm.deep_report import deep_baselines_section, equal_fd_rows, headline
from pbitkit.dtm.energy import A100_J_PER_OP
from pbitkit.errors import ConfigError


def test_mlp_cost_by_hand() -> None:
    # 2 -> 3 -> 1: MACs 2*2*3 + 2*3*1 = 18, biases 3 + 1, ReLU on the 3 hidden units
    c = mlp_cost([2, 3, 1], batch=10)
    assert c.flops == 18 + 4 + 3
    assert c.params == 3 * 3 + 4 * 1
    assert c.bytes == 4 * (13 / 10 + (2 + 3) + (3 + 1))
    with pytest.raises(ConfigError, match="layer sizes"):
        mlp_cost([5])
    with pytest.raises(ConfigError, match="batch"):
        mlp_cost([2, 2], batch=0)


def test_model_costs_scale_as_the_architecture() -> None:
    v = vae_sample_cost(64, 8, 32, 2)
    assert v.flops == mlp_cost([8, 32, 32, 64]).flops
    assert v.random_ops == OPS_PER_RANDOM * (8 + 64)
    d1 = diffusion_sample_cost(64, 32, 2, 1, 16)
    d8 = diffusion_sample_cost(64, 32, 2, 8, 16)
    assert d8.flops == pytest.approx(8 * d1.flops)  # the denoiser runs once per step
    assert d8.random_ops == OPS_PER_RANDOM * 64 * 9  # initial noise + one draw per pixel per step
    # wider networks cost more; a bigger batch amortises the weights (fewer bytes), not the FLOPs
    assert diffusion_sample_cost(64, 64, 2, 1, 16).flops > d1.flops
    assert diffusion_sample_cost(64, 32, 2, 1, 16, batch=10).bytes > diffusion_sample_cost(64, 32, 2, 1, 16, batch=1000).bytes
    with pytest.raises(ConfigError, match="n_steps"):
        diffusion_sample_cost(64, 32, 2, 0, 16)


def test_roofline_switches_bound_and_matches_the_same_chain_price() -> None:
    hw = HardwareSpec("toy", peak_flops_per_s=1e12, bandwidth_B_per_s=1e11, power_W=100.0, source="test")
    e, bound = roofline_energy(SampleCost(1e6, 0.0, 1e3, 0, 1), hw)  # 1 µs compute vs 10 ns memory
    assert bound == "compute" and e == pytest.approx(100.0 * 1e-6)
    e, bound = roofline_energy(SampleCost(1e3, 0.0, 1e6, 0, 1), hw)
    assert bound == "memory" and e == pytest.approx(100.0 * 1e-5)
    # the A100 spec prices one op exactly as the same-chain digital baseline of pbitkit.dtm.energy
    assert A100_SXM4.power_W / A100_SXM4.peak_flops_per_s == pytest.approx(A100_J_PER_OP)


def _curve(fds: np.ndarray, c0: float = -10.0, c1: float = 2.0) -> np.ndarray:
    """Known quality-vs-cost law E = exp(c0 - c1 FD) (J)."""
    return np.exp(c0 - c1 * fds)


def test_energy_at_fd_recovers_a_log_linear_curve_exactly() -> None:
    fds = np.array([5.0, 3.0, 2.0, 1.5, 1.0])
    e = _curve(fds)
    for target in (4.2, 2.5, 1.7, 1.0, 5.0):
        r = energy_at_fd(e, fds, target)
        assert r.status == "interpolated" or target == 5.0
        if r.status == "interpolated":
            assert r.energy_J == pytest.approx(float(_curve(np.array([target]))[0]), rel=1e-12)
    # negative control: linear interpolation in E (instead of ln E) misses the known answer by > 10 %
    lin = np.interp(2.5, fds[::-1], e[::-1])
    assert abs(lin / float(_curve(np.array([2.5]))[0]) - 1) > 0.1


def test_energy_at_fd_pools_noise_and_never_extrapolates() -> None:
    fds = np.array([5.0, 3.0, 2.0, 1.5])
    e = _curve(fds)
    # a dearer point that is worse than a cheaper one is pooled with it (mean FD at the cheaper energy):
    # (E1, 3.0) and (E1*1.5, 3.4) -> (E1, 3.2); the target 4.0 then lies between (E0, 5) and (E1, 3.2)
    e2, f2 = np.insert(e, 2, e[1] * 1.5), np.insert(fds, 2, 3.4)
    ec, fc = quality_cost_curve(e2, f2)
    assert list(fc) == pytest.approx([5.0, 3.2, 2.0, 1.5]) and list(ec) == pytest.approx(list(e))
    w = (5.0 - 4.0) / (5.0 - 3.2)
    assert energy_at_fd(e2, f2, 4.0).energy_J == pytest.approx(float(np.exp((1 - w) * np.log(e[0]) + w * np.log(e[1]))))
    # negative control: without the pooled point the answer is the known curve's, which differs
    assert energy_at_fd(e, fds, 4.0).energy_J == pytest.approx(float(_curve(np.array([4.0]))[0]))
    assert energy_at_fd(e2, f2, 4.0).energy_J != pytest.approx(energy_at_fd(e, fds, 4.0).energy_J, rel=0.05)
    below = energy_at_fd(e, fds, 1.0)  # better than the family ever gets
    assert below.status == "not_reached" and below.energy_J == math.inf and below.bound_J == pytest.approx(e[-1])
    above = energy_at_fd(e, fds, 6.0)  # worse than its cheapest point
    assert above.status == "cheapest_suffices" and math.isnan(above.energy_J) and above.bound_J == pytest.approx(e[0])
    with pytest.raises(ConfigError, match="positive"):
        energy_at_fd([0.0, 1.0], [2.0, 1.0], 1.5)
    with pytest.raises(ConfigError, match="equal-length"):
        energy_at_fd([1.0], [2.0, 1.0], 1.5)


def _deep(fds: np.ndarray, family: str = "diffusion") -> dict:
    pts = []
    for i, f in enumerate(fds):
        e = float(_curve(np.array([f]))[0])
        setting = {"hidden": 32, "steps": i + 1, "depth": 2} if family == "diffusion" else {"hidden": 8 << i, "latent": 8}
        pts.append({"family": family, "label": f"{family} {i}", "setting": setting,
                    "fd": {"value": float(f), "lo": f - 0.5, "hi": f + 0.5}, "gpu_J": 3 * e, "gpu_ops_J": e,
                    "gpu_xla_J": 4 * e, "gpu_bound": "compute", "cpu_J": 100 * e,
                    "cost": {"ops": 1.0, "bytes": 1.0}, "xla": {"flops": 1.0, "transcendentals": 0.0}})
    return {"dataset": "digits", "points": pts, "hardware": A100_SXM4.as_dict(), "cpu_core_power_W": 7.5,
            "meta": {"dataset": "8x8", "machine": "test"},
            "config": {"vae_latent": 8, "depth": 2, "vae_hidden": [], "diffusion_hidden": [32],
                       "diffusion_steps": [1, 2], "n_samples": 10, "gpu_batch": 1000}}


def test_equal_fd_rows_known_ratio_and_out_of_range() -> None:
    deep = _deep(np.array([5.0, 3.0, 2.0, 1.5]))
    dtm = [{"mode": "ideal", "T": 4, "K": 20, "fd": {"value": 2.5, "lo": 2.2, "hi": 2.8}, "energy": {"total_J": 1e-9}},
           {"mode": "ideal", "T": 4, "K": 40, "fd": {"value": 1.0, "lo": 0.5, "hi": 1.5}, "energy": {"total_J": 2e-9}}]
    rows = equal_fd_rows(dtm, deep)
    r = next(r for r in rows if r["dtm"] == "ideal T=4 K=20" and r["price"] == "gpu_ops_J")
    want = float(_curve(np.array([2.5]))[0]) / 1e-9
    assert r["ratio"] == pytest.approx(want)
    lo, hi = r["ratio_range"]
    assert lo == pytest.approx(float(_curve(np.array([2.8]))[0]) / 1e-9) and hi > want > lo
    cpu = next(r for r in rows if r["dtm"] == "ideal T=4 K=20" and r["price"] == "cpu_J")
    assert cpu["ratio"] == pytest.approx(100 * want)
    out = next(r for r in rows if r["dtm"] == "ideal T=4 K=40" and r["price"] == "gpu_ops_J")
    assert out["ratio"] is None and out["at_fd"]["status"] == "not_reached"
    text = "\n".join(deep_baselines_section(deep, dtm, []))
    assert "FD not reached" in text and f"{want:.3g}×" in text
    assert "does not reach its FD" in headline(rows)  # the best DTM point (FD 1.0) is outside the range
    # the same-chain table: the sweeps per sample are a column of their own, not priced as joules
    digital = [{"T": 4, "K": 20, "sweeps": 35, "array_J": 1e-9, "array_without_io_J": 0.9e-9, "A100": 2e-5,
                "assumptions": {}}]
    table = "\n".join(deep_baselines_section(deep, dtm, digital))
    assert "| T | K | sweeps | p-bit array | A100 |" in table and "| 4 | 20 | 35 | 1 nJ | 20 µJ (2e+04×) |" in table


def test_deep_modules_import_without_jax() -> None:
    # the report side and the CLI registration must work when the 'deep' extra is missing
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('jax', 'equinox', 'optax'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pbitkit.dtm, pbitkit.dtm.deep_cost, pbitkit.dtm.deep_report, pbitkit.dtm.deep_baselines\n"
        "import pbitkit.cli as c; c.build_parser(['dtm', '--help'])\n"
        "try:\n"
        "    import pbitkit.dtm.deep_models\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, 'deep' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PbitkitError", "True"]


def test_pipeline_section_finds_checks_and_refuses(tmp_path) -> None:
    from pbitkit.dtm.deep_report import pipeline_section
    from pbitkit.io import atomic_write_json

    meta = {"dataset": "bars (4x4, train 80, held-out 20)", "classifier": "frozen MLP sha256 abcdef123456, held-out accuracy 0.9"}
    deep = {**_deep(np.array([5.0, 3.0, 2.0, 1.5])), "kind": "deep-baselines", "schema": 1}
    deep["meta"] = {**deep["meta"], **meta}
    pts = [{"mode": "ideal", "T": 4, "K": 20, "fd": {"value": 2.5, "lo": 2.2, "hi": 2.8}, "energy": {"total_J": 1e-9},
            "fd_floor": {"value": 1.0, "lo": 0.8, "hi": 1.2}},
           {"mode": "T1", "T": 1, "K": 20, "fd": {"value": 2.0, "lo": 1.8, "hi": 2.2}, "energy": {"total_J": 1e-9}}]
    results = {"points": pts, "meta": meta}
    fig_dir = tmp_path / "report" / "figures"
    fig_dir.mkdir(parents=True)
    # nothing run and nothing shipped for this dataset: a note with the command
    assert "pbitkit dtm deep-baselines --data bars" in "\n".join(pipeline_section(tmp_path, results, fig_dir))
    atomic_write_json(tmp_path / "deep_baselines" / "deep_baselines.json", deep)
    text = "\n".join(pipeline_section(tmp_path, results, fig_dir, figure_number=7))
    assert "*Figure 7.*" in text and "ideal T=4 K=20" in text and "T1 T=1" not in text  # ideal mode only
    assert "figures/deep_fd_vs_energy.png" in text and (fig_dir / "deep_fd_vs_energy.png").exists()
    # negative control: another classifier's FD is not comparable
    other = {**results, "meta": {**meta, "classifier": "frozen MLP sha256 999999999999, held-out accuracy 0.9"}}
    assert "not comparable" in "\n".join(pipeline_section(tmp_path, other, fig_dir))
    # nor FDs from different sample counts (the FD's finite-sample bias); equal counts are
    deep["config"] = {**deep.get("config", {}), "n_samples": 1000}
    atomic_write_json(tmp_path / "deep_baselines" / "deep_baselines.json", deep)
    counted = {**results, "points": [{**p, "n": 5000} for p in pts]}
    assert "from more samples" in "\n".join(pipeline_section(tmp_path, counted, fig_dir))
    counted["points"] = [{**p, "n": 1000} for p in pts]
    text = "\n".join(pipeline_section(tmp_path, counted, fig_dir))
    assert "*Figure" in text and "understate" not in text
    counted["points"] = [{**p, "n": 300} for p in pts]  # fewer: compared, with the conservative note
    text = "\n".join(pipeline_section(tmp_path, counted, fig_dir))
    assert "*Figure" in text and "understate its advantage" in text
    assert pipeline_section(tmp_path, {"points": []}, fig_dir) == []


def test_curve_groups_pool_within_and_take_the_envelope_across() -> None:
    # group a: a good series; group b: dearer and worse everywhere -> ignored; within b a noisy bump is pooled
    ea, fa = np.array([1e-9, 1e-8, 1e-7]), np.array([4.0, 2.0, 1.0])
    eb, fb = np.array([2e-9, 3e-9, 2e-8]), np.array([6.0, 6.4, 5.0])
    e, f = np.concatenate([ea, eb]), np.concatenate([fa, fb])
    g = ["a"] * 3 + ["b"] * 3
    ce, cf = quality_cost_curve(e, f, g)
    assert list(cf) == [4.0, 2.0, 1.0] and list(ce) == list(ea)
    assert energy_at_fd(e, f, 3.0, g).energy_J == pytest.approx(np.sqrt(1e-9 * 1e-8))
    # negative control: pooling everything as one series lets group b drag the curve up
    assert energy_at_fd(e, f, 3.0).energy_J != pytest.approx(np.sqrt(1e-9 * 1e-8), rel=0.05)
    with pytest.raises(ConfigError, match="groups"):
        quality_cost_curve(e, f, ["a"])


def test_merge_deep_results_checks_data_and_classifier() -> None:
    from pbitkit.dtm.deep_report import merge_deep_results
    from pbitkit.errors import PbitkitError

    a, b = _deep(np.array([5.0, 3.0]), "vae"), _deep(np.array([4.0, 2.0]), "diffusion")
    m = merge_deep_results([a, b])
    assert [p["family"] for p in m["points"]] == ["vae", "vae", "diffusion", "diffusion"]
    assert "widths" in "\n".join(deep_baselines_section(m))
    b["meta"] = {**b["meta"], "dataset": "other"}
    with pytest.raises(PbitkitError, match="different data"):
        merge_deep_results([a, b])


@pytest.mark.parametrize("name", ["digits", "fashion_mnist"])
def test_shipped_deep_results_match_the_shipped_classifier(name: str) -> None:
    # the pipeline report compares shipped deep curves with a run's DTM only when the FD was measured the
    # same way; a retrained classifier must come with re-measured deep curves (docs/gpu_baselines.md)
    from pbitkit.dtm.classifier import load_classifier
    from pbitkit.dtm.deep_baselines import load_deep_results
    from pbitkit.paths import data_dir

    deep = load_deep_results(data_dir() / f"deep_baselines_{name}.json")
    clf = load_classifier(data_dir() / f"dtm_{name}_classifier.npz")
    assert f"sha256 {clf.sha256[:12]}" in deep["meta"]["classifier"]
    assert {p["family"] for p in deep["points"]} == {"vae", "diffusion"}
    if name == "digits":  # and the default split (the demo's)
        from pbitkit.dtm.pipeline import DataConfig, prepare_data

        tr, te = prepare_data(DataConfig())
        assert deep["meta"]["dataset"] == f"digits (8x8, train {len(tr.y)}, held-out {len(te.y)})"
    for p in deep["points"]:  # every price follows from the stored counts (no hand-edited numbers)
        assert p["gpu_ops_J"] == pytest.approx(p["cost"]["ops"] * A100_J_PER_OP)
        assert p["fd"]["lo"] < p["fd"]["value"] < p["fd"]["hi"]
