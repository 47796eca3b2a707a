"""DeviceModel card: exact round trip, validation naming the field, evaluation helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pbitkit.errors import ModelCardError
from pbitkit.pbitmodel import SCHEMA_VERSION, DeviceModel, draw_cell_params


def _card() -> DeviceModel:
    return DeviceModel.ideal(vs_V=6.44e-3, v0_V=0.012, tau_corr_s=2.5e-7, energy_per_bit_J=3.9e-14).replace(
        v0_se_V=1e-4, vs_se_V=2e-5, v0_sigma_V=0.022, vs_sigma_rel=0.05, v0_vs_corr=-0.3,
        temp_coeffs={"v0_V_per_K": 1e-4, "vs_V_per_V": 0.002}, provenance={"table_sha256": "ab" * 32},
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
        (lambda d: d.update(colour="red"), "unknown field(s) ['colour']"),
        (lambda d: d.update(v0_V="0.1"), "'v0_V': expected a number"),
        (lambda d: d.update(tau_corr_s=True), "'tau_corr_s': expected a number"),
        (lambda d: d.update(vs_V=-0.01), "'vs_V'"),
        (lambda d: d.update(v0_vs_corr=1.5), "'v0_vs_corr'"),
        (lambda d: d.update(temp_C=-300.0), "'temp_C'"),
        (lambda d: d.update(energy_per_bit_J=-1e-15), "'energy_per_bit_J'"),
        (lambda d: d.update(schema_version=2), "unknown schema version 2"),
        (lambda d: d.pop("schema_version"), "'schema_version': missing"),
        (lambda d: d.update(link="tanh"), "'link'"),
        (lambda d: d.update(cell=3), "'cell'"),
        (lambda d: d["rate_model"].update(form="magic"), "'rate_model.form'"),
        (lambda d: d["rate_model"].pop("rate0_Hz"), "'rate_model': missing key(s) ['rate0_Hz']"),
        (lambda d: d["bias_network"].update(c_node_F=-1.0), "'bias_network.c_node_F'"),
        (lambda d: d["bias_network"].pop("g_unit_S"), "'bias_network': missing key(s) ['g_unit_S']"),
        (lambda d: d["temp_coeffs"].update(v0=1.0), "'temp_coeffs.v0'"),
    ],
)
def test_bad_card_names_the_field(mutate, needle):
    assert needle in _bad(mutate)


def test_non_finite_and_bad_json_rejected():
    with pytest.raises(ModelCardError, match="'vs_V'"):
        _card().replace(vs_V=math.inf)
    with pytest.raises(ModelCardError, match="not valid JSON"):
        DeviceModel.from_json("{not json")
    with pytest.raises(ModelCardError, match="'provenance'"):
        _card().replace(provenance={"x": float("nan")})


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
    probit = card.replace(link="probit", rate_model={"form": "constant_tau"})
    assert float(probit.p1(0.01)) == pytest.approx(0.8413447460685429, rel=1e-12)
    np.testing.assert_allclose(probit.tau_corr(v), 1e-7, rtol=1e-12)


def test_draw_cell_params_moments():
    card = _card()
    n = 200_000
    v0, vs = draw_cell_params(card, n, np.random.default_rng(1))
    # SE of a sample mean is sigma/sqrt(n); 5 SE keeps the false-failure rate < 1e-6
    assert abs(v0.mean() - card.v0_V) < 5 * card.v0_sigma_V / math.sqrt(n)
    assert abs(v0.std() / card.v0_sigma_V - 1) < 5 / math.sqrt(2 * n)
    lv = np.log(vs / card.vs_V)
    assert abs(lv.std() / card.vs_sigma_rel - 1) < 5 / math.sqrt(2 * n)
    # SE of a correlation coefficient ~ (1 - r^2)/sqrt(n)
    assert abs(np.corrcoef(v0, lv)[0, 1] - card.v0_vs_corr) < 5 / math.sqrt(n)
