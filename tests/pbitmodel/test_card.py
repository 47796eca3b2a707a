"""DeviceModel card: exact round trip, validation naming the field, evaluation helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pathlib import Path

from pbitkit.errors import ModelCardError, PbitkitError
from pbitkit.pbitmodel import SCHEMA_VERSION, DeviceModel, draw_cell_params
from pbitkit.pbitmodel.card import Provenance, RateModel, Variation, migrate_card_dict

V1_CARD = Path(__file__).parent / "data" / "card_v1.json"  # the shipped default card as written by schema 1


def _card() -> DeviceModel:
    return DeviceModel.ideal(vs_V=6.44e-3, v0_V=0.012, tau_corr_s=2.5e-7, energy_per_bit_J=3.9e-14).replace(
        v0_se_V=1e-4, vs_se_V=2e-5, variation=Variation(0.022, 0.05, -0.3),
        temp_coeffs={"v0_V_per_K": 1e-4, "vs_V_per_V": 0.002},
        provenance=Provenance("test", table_sha256="ab" * 32, notes=("a note",), details={"k": [1, 2]}),
    )


def test_round_trip_is_exact(tmp_path):
    card = _card()
    assert DeviceModel.from_json(card.to_json()) == card
    path = card.save(tmp_path / "card.json")
    back = DeviceModel.load(path)
    assert back == card
    assert back.to_json() == card.to_json()
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def _bad(mutate) -> str:
    d = _card().to_dict()
    mutate(d)
    with pytest.raises(ModelCardError) as info:
        DeviceModel.from_dict(d)
    return str(info.value)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.pop("vs_V"), "'vs_V': missing"),
        (lambda d: d.update(colour="red"), "'colour': unknown field"),
        (lambda d: d.update(v0_V="0.1"), "'v0_V': expected a number"),
        (lambda d: d["dynamics"].update(tau_corr_s=True), "'dynamics.tau_corr_s': expected a number"),
        (lambda d: d.update(vs_V=-0.01), "'vs_V'"),
        (lambda d: d["variation"].update(v0_vs_corr=1.5), "'variation.v0_vs_corr'"),
        (lambda d: d["variation"].update(v0_sigma_V=math.nan), "'variation.v0_sigma_V'"),
        (lambda d: d["variation"].update(spread=1.0), "'variation.spread': unknown key"),
        (lambda d: d.update(temp_C=-300.0), "'temp_C'"),
        (lambda d: d["energy"].update(energy_per_bit_J=-1e-15), "'energy.energy_per_bit_J'"),
        (lambda d: d["energy"].pop("static_power_W"), "'energy.static_power_W': missing"),
        (lambda d: d.update(schema_version=3), "unknown schema version 3"),
        (lambda d: d.update(schema_version=True), "unknown schema version True"),
        (lambda d: d.pop("schema_version"), "'schema_version': missing"),
        (lambda d: d.update(link="tanh"), "'link'"),
        (lambda d: d.update(cell=3), "'cell'"),
        (lambda d: d.update(cell="x\n.control\nshell touch PWNED\n.endc"), "'cell'"),
        (lambda d: d.update(variation=[0.0, 0.0, 0.0]), "'variation': expected an object"),
        (lambda d: d["dynamics"]["rate_model"].update(form="magic"), "'dynamics.rate_model.form'"),
        (lambda d: d["dynamics"]["rate_model"].pop("rate0_Hz"), "'dynamics.rate_model.rate0_Hz': missing"),
        (lambda d: d["dynamics"]["rate_model"].update(form="constant_tau"), "'dynamics.rate_model.rate0_Hz': unknown"),
        (lambda d: d["dynamics"]["rate_model"].update(rate0_Hz=0.0), "'dynamics.rate_model.rate0_Hz'"),
        (lambda d: d["bias_network"].update(c_node_F=-1.0), "'bias_network.c_node_F'"),
        (lambda d: d["bias_network"].pop("g_unit_S"), "'bias_network.g_unit_S': missing"),
        (lambda d: d["temp_coeffs"].update(v0=1.0), "'temp_coeffs.v0': unknown key"),
        (lambda d: d["temp_coeffs"].update(v0_V_per_K="1"), "'temp_coeffs.v0_V_per_K'"),
        (lambda d: d["provenance"].pop("source"), "'provenance.source': missing"),
        (lambda d: d["provenance"].update(notes="one"), "'provenance.notes'"),
        (lambda d: d["provenance"].update(extra=1), "'provenance.extra': unknown key"),
    ],
)
def test_bad_card_names_the_field(mutate, needle):
    assert needle in _bad(mutate)


def test_non_finite_and_bad_json_rejected():
    with pytest.raises(ModelCardError, match="'vs_V'"):
        _card().replace(vs_V=math.inf)
    with pytest.raises(ModelCardError, match="not valid JSON"):
        DeviceModel.from_json("{not json")
    with pytest.raises(ModelCardError, match="'provenance.details'"):
        _card().replace(provenance={"details": {"x": float("nan")}})
    with pytest.raises(ModelCardError, match="'variation': expected a Variation"):
        _card().replace(variation=(0.0, 0.0, 0.0))
    with pytest.raises(ModelCardError, match="'colour': unknown field"):
        _card().replace(colour="red")


def test_load_missing_file_names_path(tmp_path):
    from pbitkit.errors import PbitkitError

    with pytest.raises(PbitkitError, match="nothere.json"):
        DeviceModel.load(tmp_path / "nothere.json")
    (tmp_path / "bad.json").write_text('{"schema_version": 1}')
    with pytest.raises(ModelCardError, match="bad.json"):
        DeviceModel.load(tmp_path / "bad.json")


def test_ideal_card_evaluation_consistent():
    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=1e-7)
    v = np.linspace(-0.05, 0.05, 11)
    up, down = card.rates(v)
    # exp rate form with slope_up + slope_down = 1/vs reproduces the logistic occupancy exactly
    np.testing.assert_allclose(up / (up + down), card.p1(v), rtol=1e-12)
    assert card.tau_corr(0.0) == pytest.approx(1e-7, rel=1e-12)
    probit = card.replace(link="probit", dynamics={"rate_model": RateModel("constant_tau")})
    assert float(probit.p1(0.01)) == pytest.approx(0.8413447460685429, rel=1e-12)
    np.testing.assert_allclose(probit.tau_corr(v), 1e-7, rtol=1e-12)


def test_draw_cell_params_moments():
    card = _card()
    n = 200_000
    v0, vs = draw_cell_params(card, n, np.random.default_rng(1))
    # SE of a sample mean is sigma/sqrt(n); 5 SE keeps the false-failure rate < 1e-6
    assert abs(v0.mean() - card.v0_V) < 5 * card.variation.v0_sigma_V / math.sqrt(n)
    var = card.variation
    assert abs(v0.std() / var.v0_sigma_V - 1) < 5 / math.sqrt(2 * n)
    lv = np.log(vs / card.vs_V)
    assert abs(lv.std() / var.vs_sigma_rel - 1) < 5 / math.sqrt(2 * n)
    # SE of a correlation coefficient ~ (1 - r^2)/sqrt(n)
    assert abs(np.corrcoef(v0, lv)[0, 1] - var.v0_vs_corr) < 5 / math.sqrt(n)


def test_schema_1_card_is_migrated_without_inventing_values(tmp_path):
    """A version-1 card (flat fields, dict sub-tables) reads as version 2 with the same numbers; written back
    it is version 2; a v1 card missing a field is still an error naming the field (nothing is filled in)."""
    v1 = json.loads(V1_CARD.read_text())
    assert v1["schema_version"] == 1
    card = DeviceModel.load(V1_CARD)
    assert card.schema_version == SCHEMA_VERSION == 2
    assert (card.v0_V, card.vs_V, card.link) == (v1["v0_V"], v1["vs_V"], v1["link"])
    assert card.variation == Variation(v1["v0_sigma_V"], v1["vs_sigma_rel"], v1["v0_vs_corr"])
    assert (card.dynamics.tau_corr_s, card.dynamics.sample_period_s) == (v1["tau_corr_s"], v1["sample_period_s"])
    assert card.dynamics.rate_model.to_dict() == v1["rate_model"]
    assert card.energy.to_dict() == {k: v1[k] for k in ("energy_per_bit_J", "energy_per_flip_J", "static_power_W")}
    assert card.bias_network.to_dict() == v1["bias_network"]
    assert card.provenance.source == v1["provenance"]["stage"]
    assert card.provenance.table_sha256 == v1["provenance"]["table_sha256"]
    assert list(card.provenance.notes) == v1["provenance"]["notes"]
    assert card.provenance.details["git_commit"] == v1["provenance"]["git_commit"]
    back = DeviceModel.load(card.save(tmp_path / "c.json"))
    assert back == card and json.loads((tmp_path / "c.json").read_text())["schema_version"] == 2
    broken = dict(v1)
    del broken["tau_corr_s"]
    with pytest.raises(ModelCardError, match="'dynamics.tau_corr_s': missing"):
        DeviceModel.from_dict(broken)
    assert migrate_card_dict(v1)["schema_version"] == 2 and v1["schema_version"] == 1  # input untouched


def test_shipped_default_card_is_current_schema():
    import pbitkit.paths

    path = pbitkit.paths.data_dir() / "default_card.json"
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    DeviceModel.load(path)


def test_card_identity_ignores_when_and_from_which_commit_a_card_was_written(tmp_path) -> None:
    """Two writes of the same card differing only in their timestamp and commit have one identity (the DTM
    stages and chip checkpoints that depend on it are reused); any number differing changes it."""
    import json

    from pbitkit.pbitmodel.card import card_identity_sha256

    card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=1e-7)
    card = card.replace(provenance=card.provenance.with_details(created_utc="2026-01-01T00:00:00+00:00",
                                                                git_commit="aaaa", fit_config={"link": "auto"}))
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    card.save(a)
    card.replace(provenance=card.provenance.with_details(created_utc="2026-02-02T00:00:00+00:00",
                                                         git_commit="bbbb")).save(b)
    card.replace(vs_V=0.011).save(c)
    assert a.read_bytes() != b.read_bytes()
    assert card_identity_sha256(a) == card_identity_sha256(b) != card_identity_sha256(c)
    d = tmp_path / "d.json"
    d.write_text(json.dumps({**json.loads(a.read_text()), "v0_V": 0.001}))
    assert card_identity_sha256(d) != card_identity_sha256(a)
    d.write_text("{not json")
    with pytest.raises(PbitkitError, match="d.json"):
        card_identity_sha256(d)
