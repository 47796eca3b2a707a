"""The deep baselines in JAX (the 'deep' extra, installed by `make test`): training, sampling, FLOP counts."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pbitkit.cli import main
from pbitkit.dtm.baselines import fit_independent
from pbitkit.dtm.classifier import classifier_for
from pbitkit.dtm.deep_cost import diffusion_sample_cost, mlp_cost, vae_sample_cost
from pbitkit.dtm.pipeline import DataConfig, evaluate_samples, prepare_data
from pbitkit.errors import ConfigError

if os.environ.get("CI"):  # `make test` installs the 'deep' extra: in CI a missing JAX is a failure, not a skip
    import jax

    import pbitkit.dtm.deep_models as dm
else:  # a bare checkout without the extra skips these tests (with the reason)
    jax = pytest.importorskip("jax")
    pytest.importorskip("equinox")
    pytest.importorskip("optax")
    import pbitkit.dtm.deep_models as dm


@pytest.fixture(scope="module")
def digits():
    return prepare_data(DataConfig())


@pytest.mark.slow
def test_tiny_vae_beats_independent_pixels_and_untrained_does_not(digits) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small eigh calls of the bootstrap: OpenBLAS threads only contend with XLA's
        _vae_vs_independent(*digits)


def _vae_vs_independent(train, test) -> None:
    clf = classifier_for("digits")
    rng = np.random.default_rng(0)
    ind = evaluate_samples(fit_independent(train.x).sample(500, rng), test.x, clf, rng, n_boot=30).fd
    model, curve = dm.train_vae(train.x, latent=8, hidden=64, cfg=dm.DeepTrainConfig(n_iter=1500, seed=0))
    assert curve[-1] < curve[0]  # the negative ELBO fell
    vae = evaluate_samples(np.asarray(dm.bind(dm.sample_vae, model, 500)(jax.random.PRNGKey(1))), test.x, clf, rng,
                           n_boot=30).fd
    assert vae.hi < ind.lo, (vae, ind)
    # negative control: one optimiser step leaves ~50 % pixels, far worse than independent pixels
    raw, _ = dm.train_vae(train.x, latent=8, hidden=64, cfg=dm.DeepTrainConfig(n_iter=1, seed=0))
    bad = evaluate_samples(np.asarray(dm.bind(dm.sample_vae, raw, 500)(jax.random.PRNGKey(1))), test.x, clf, rng,
                           n_boot=10).fd
    assert bad.lo > ind.hi, (bad, ind)


def _xla(fn, shape) -> dict[str, float]:
    ca = jax.jit(fn).lower(jax.ShapeDtypeStruct(shape, jax.numpy.float32)).compile().cost_analysis()
    return ca[0] if isinstance(ca, (list, tuple)) else ca


@pytest.mark.slow
def test_analytic_flops_match_xla_cost_analysis() -> None:
    # network FLOPs agree with XLA's count of the compiled forward pass within 25 % (XLA also counts the
    # time features, which the analytic count leaves out); the whole sampler incl.
    # its RNG within 50 %. XLA's CPU byte count is larger (every fused op's operands; the RNG's buffers):
    # within 1-8x of the analytic traffic (5x for this small VAE).
    key = jax.random.PRNGKey(0)
    n = 200
    vae = dm.VAE(64, 8, 32, 2, key=key)
    x = _xla(lambda z: dm.vae_decode(vae, z), (n, 8))
    assert x["flops"] / n == pytest.approx(mlp_cost([8, 32, 32, 64]).flops, rel=0.25)
    whole = dm.xla_cost(dm.sample_vae, vae, n)
    ana = vae_sample_cost(64, 8, 32, 2, batch=n)
    assert (whole["flops"] + whole["transcendentals"]) / n == pytest.approx(ana.ops, rel=0.5)
    assert 1.0 <= whole["bytes accessed"] / n / ana.bytes <= 8.0
    dif = dm.BinaryDiffusion(64, 48, 2, n_freq=8, key=key)
    x = _xla(lambda xt: dm.diffusion_denoise(dif, xt, 0.5), (n, 64))
    assert x["flops"] / n == pytest.approx(mlp_cost([80, 48, 48, 64]).flops, rel=0.25)
    one = dm.xla_cost(dm.sample_diffusion, dif, n, 1, 64)
    ana = diffusion_sample_cost(64, 48, 2, 1, 16, batch=n)
    assert (one["flops"] + one["transcendentals"]) / n == pytest.approx(ana.ops, rel=0.5)
    # negative control: a 4x wider network is not within the tolerance of the narrow one's count
    assert x["flops"] / n > 1.25 * mlp_cost([80, 24, 24, 64]).flops


def _exact_denoiser(p: float, a_t: float, n_pixels: int):
    """The exact p(x0 = +1 | x_t) for x0 ~ Bern(p) noised to correlation a_t, built into the MLP by hand:
    logit = ln(p / (1 - p)) + x_t ln((1 + a_t) / (1 - a_t)) (hidden layer [relu(x), relu(-x)], time ignored)."""
    import equinox as eqx

    jnp = jax.numpy
    D, nf = n_pixels, 2
    m = dm.BinaryDiffusion(D, 2 * D, 1, n_freq=nf, key=jax.random.PRNGKey(0))
    eye = jnp.eye(D)
    w1 = jnp.concatenate([jnp.concatenate([eye, -eye], axis=0), jnp.zeros((2 * D, 2 * nf))], axis=1)
    c = float(np.log((1 + a_t) / (1 - a_t)))
    w2 = jnp.concatenate([c * eye, -c * eye], axis=1)
    b2 = jnp.full(D, float(np.log(p / (1 - p))))
    l1, l2 = m.net.layers
    l1 = eqx.tree_at(lambda l: (l.weight, l.bias), l1, (w1, jnp.zeros(2 * D)))
    l2 = eqx.tree_at(lambda l: (l.weight, l.bias), l2, (w2, b2))
    return eqx.tree_at(lambda mm: mm.net.layers, m, (l1, l2))


@pytest.mark.parametrize("t,s", [(1.0, 0.5), (0.7, 0.3)])
def test_reverse_step_inverts_the_forward_process(t: float, s: float) -> None:
    # x0 ~ Bern(p) noised to t; with the exact prediction p(x0 | x_t), one reverse step to s must give x_s the
    # forward marginal P(+1) = (1 + a_s (2p - 1)) / 2 and P(x_s = x_t) = (1 + a_t / a_s) / 2 (known answers)
    p, n, D = 0.8, 20000, 4
    jnp = jax.numpy
    k0, k1, k2 = jax.random.split(jax.random.PRNGKey(3), 3)
    x0 = jnp.where(jax.random.uniform(k0, (n, D)) < p, 1.0, -1.0)
    a_t, a_s = float(dm.corr(jnp.asarray(t))), float(dm.corr(jnp.asarray(s)))
    x_t = jnp.where(jax.random.uniform(k1, (n, D)) < 0.5 * (1 + a_t), x0, -x0)

    def stats(pred: float) -> tuple[float, float]:
        xs = np.asarray(dm.reverse_step(_exact_denoiser(pred, a_t, D), x_t, jnp.asarray(t), jnp.asarray(s), k2))
        return float(np.mean(xs > 0)), float(np.mean(xs == np.asarray(x_t)))

    on, agree = stats(p)
    se = np.sqrt(0.25 / (n * D))
    assert on == pytest.approx(0.5 * (1 + a_s * (2 * p - 1)), abs=5 * se)
    assert agree == pytest.approx(0.5 * (1 + a_t / a_s), abs=5 * se)
    on_wrong, _ = stats(0.5)  # negative control: a wrong prediction misses the forward marginal
    assert abs(on_wrong - 0.5 * (1 + a_s * (2 * p - 1))) > 10 * se


@pytest.mark.slow
def test_cli_deep_baselines_small(tmp_path) -> None:
    dtm_res = tmp_path / "results.json"
    # a DTM evaluation point to compare against (its FD and energy are inputs here, not results under test)
    dtm_res.write_text(json.dumps({"points": [
        {"mode": "ideal", "T": 4, "K": 20, "fd": {"value": 3.0, "lo": 2.5, "hi": 3.5}, "energy": {"total_J": 1e-8},
         "fd_floor": {"value": 1.0, "lo": 0.5, "hi": 1.5}}],
        "digital": [{"T": 4, "K": 20, "array_J": 1e-8, "NVIDIA A100": 2e-5, "assumptions": {}}]}))
    out = tmp_path / "deep"
    cfg = tmp_path / "deep.toml"
    cfg.write_text("n_boot = 5\ncpu_repeats = 1\nbatch_size = 64\n")
    dtm_cfg = tmp_path / "dtm.toml"  # the DTM's data table: the deep models train on the same split
    dtm_cfg.write_text('[data]\nname = "digits"\nn_train = 600\n')
    args = ["dtm", "deep-baselines", "--data-from", str(dtm_cfg), "--out", str(out), "--config", str(cfg), "--vae-hidden", "16",
            "--diffusion-hidden", "16", "--steps", "1,4", "--n-iter", "200", "--n-samples", "200",
            "--dtm-results", str(dtm_res)]
    assert main(args) == 0
    res = json.loads((out / "deep_baselines.json").read_text())
    assert "train 600" in res["meta"]["dataset"]
    assert [p["label"] for p in res["points"]] == ["vae hidden=16 latent=8 depth=2", "diffusion hidden=16 steps=1 depth=2",
                                                   "diffusion hidden=16 steps=4 depth=2"]
    d1, d4 = res["points"][1:]
    assert d4["cost"]["flops"] == pytest.approx(4 * d1["cost"]["flops"]) and d4["gpu_ops_J"] > d1["gpu_ops_J"]
    assert all(p["cpu_time_s"] > 0 and p["fd"]["lo"] < p["fd"]["value"] < p["fd"]["hi"] for p in res["points"])
    text = (out / "report.md").read_text()
    assert "Energy per sample at equal quality" in text and "same Gibbs chain" in text
    assert (out / "fd_vs_energy.png").stat().st_size > 1000
    # re-use the result without training
    assert main(["dtm", "deep-baselines", "--compare", str(out / "deep_baselines.json"), "--dtm-results",
                 str(dtm_res), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "report.md").read_text() == text
    # negative control: a DTM measured on more samples than the deep models (200) is refused
    many = json.loads(dtm_res.read_text())
    many["points"][0]["n"] = 5000
    (tmp_path / "many.json").write_text(json.dumps(many))
    assert main(["dtm", "deep-baselines", "--compare", str(out / "deep_baselines.json"), "--dtm-results",
                 str(tmp_path / "many.json"), "--out", str(tmp_path / "cmp2")]) == 1
    assert main(["dtm", "deep-baselines", "--out", str(tmp_path / "x"), "--dtm-results", str(tmp_path / "nope.json")]) == 1
    assert main(["dtm", "deep-baselines", "--out", str(tmp_path / "x"), "--steps", "1,a"]) == 1
    dtm_cfg.write_text("[model]\nL = 16\n")
    assert main(["dtm", "deep-baselines", "--out", str(tmp_path / "x"), "--data-from", str(dtm_cfg)]) == 1  # no [data]
    cfg.write_text("n_bot = 5\n")
    assert main(["dtm", "deep-baselines", "--out", str(tmp_path / "x"), "--config", str(cfg)]) == 1  # unknown key
    from pbitkit.dtm.deep_baselines import DeepBaselineConfig

    with pytest.raises(ConfigError, match="diffusion_steps"):
        DeepBaselineConfig(diffusion_steps=(0,))
