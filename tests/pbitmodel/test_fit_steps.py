"""The fit as composed steps: same card as the monolithic fit it replaced, typed step results, bad tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pbitkit.errors import PbitkitError
from pbitkit.pbitmodel.fit import (
    Centre,
    ConditionsFit,
    DynamicsFit,
    EnergyStep,
    FitConfig,
    NominalFit,
    Selection,
    TableError,
    VariationFit,
    build_card,
    centre,
    fit_characterization,
    fit_conditions,
    fit_dynamics_step,
    fit_energy_step,
    fit_nominal,
    fit_variation,
    select_rows,
)
from pbitkit.pbitmodel.synthetic import synthetic_table
from pbitkit.pbitmodel.table import read_characterization, table_to_csv
from tests.pbitmodel.golden_tables import GOLDEN, TRUE, cases, comparable


@pytest.mark.parametrize("name", sorted(json.loads(GOLDEN.read_text())))
def test_card_identical_to_the_monolithic_fit(name):
    """``data/fit_golden.json`` holds the cards the single-function fit produced from these tables (before it
    was split into steps); the composed steps must give the same card, number for number and note for note."""
    table, cfg = cases()[name]
    golden = json.loads(GOLDEN.read_text())[name]
    assert comparable(fit_characterization(table, cfg).card) == golden


def test_golden_comparison_detects_a_changed_card():
    # negative control: a one-ulp change of one field is a difference
    table, cfg = cases()["clocked_probit"]
    d = comparable(fit_characterization(table, cfg).card)
    d["vs_V"] = float(np.nextafter(d["vs_V"], 1.0))
    assert d != json.loads(GOLDEN.read_text())["clocked_probit"]


def test_steps_return_typed_results_that_compose():
    table = synthetic_table(TRUE, np.linspace(-4, 4, 9) * TRUE.vs_V, n_samples=1500, mc_seeds=[-1, 0, 1, 2],
                            relative_bias=True, seed=11)
    cfg = FitConfig(profile=False)
    sel = select_rows(table, cfg)
    assert isinstance(sel, Selection) and sel.cell == "synthetic" and sel.at_nominal.all()
    nom = fit_nominal(sel, cfg)
    assert isinstance(nom, NominalFit) and nom.sigmoid is not None and nom.rows.n_rows == 9
    var = fit_variation(sel, nom, cfg)
    assert isinstance(var, VariationFit) and sorted(var.instances) == [0, 1, 2] and var.variation.n == 3
    ctr = centre(nom, var)
    assert isinstance(ctr, Centre) and ctr.v0_V == nom.sigmoid.v0_V
    cond = fit_conditions(sel, nom, cfg)
    assert isinstance(cond, ConditionsFit) and cond.by_temp == {} and cond.coeffs == {}
    dyn = fit_dynamics_step(nom, ctr, cfg)
    assert isinstance(dyn, DynamicsFit) and dyn.rate_model.form == "exp" and not dyn.clocked
    en = fit_energy_step(sel, nom, ctr, cond, dyn)
    assert isinstance(en, EnergyStep) and en.energy is not None
    card = build_card(table, sel, nom, ctr, var, cond, dyn, en, cfg, ())
    full = fit_characterization(table, cfg).card
    assert comparable(card.replace(provenance={"notes": full.provenance.notes})) == comparable(full)


def test_centre_without_nominal_rows_and_too_few_instances_raises():
    table = synthetic_table(TRUE, np.linspace(-4, 4, 9) * TRUE.vs_V, n_samples=800, mc_seeds=[0],
                            relative_bias=True, seed=1)
    cfg = FitConfig(profile=False)
    sel = select_rows(table, cfg)
    nom = fit_nominal(sel, cfg)
    assert nom.sigmoid is None
    with pytest.raises(PbitkitError, match="fewer than 2 Monte-Carlo instances"):
        centre(nom, fit_variation(sel, nom, cfg))


def _table_file(tmp_path, mutate):
    tab = synthetic_table(TRUE, np.linspace(-3, 3, 7) * TRUE.vs_V, n_samples=1000, seed=4)
    text = table_to_csv(tab).splitlines()
    header = text[0].split(",")
    rows = [r.split(",") for r in text[1:]]
    mutate(header, rows)
    p = tmp_path / "characterization.csv"
    p.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    return p


@pytest.mark.parametrize(
    ("column", "value", "expect"),
    [
        ("bias_V", "inf", "not a finite bias voltage"),
        ("bias_V", "-inf", "not a finite bias voltage"),
        ("bias_V", "nan", "not a finite bias voltage"),
        ("bias_V", "1e9", "not a finite bias voltage"),
        ("n_samples", "inf", "not a positive integer"),
        ("n_samples", "0", "not a positive integer"),
        ("n_samples", "-5", "not a positive integer"),
        ("n_samples", "10.5", "not a positive integer"),
        ("n_ones", "nan", "not a non-negative integer"),
        ("n_ones", "5000", "exceeds n_samples"),
        ("p1", "inf", "not a probability"),
        ("p1", "1.5", "not a probability"),
        ("p1", "0.999", "disagrees with n_ones / n_samples"),
        ("tau_corr_s", "inf", "positive correlation time"),
        ("tau_corr_s", "-1e-6", "positive correlation time"),
        ("energy_per_bit_J", "inf", "is not finite"),
    ],
)
def test_bad_value_names_row_and_column(tmp_path, column, value, expect):
    """Each bad value in row 3 (CSV line 5) raises a TableError naming the file, the row and the column;
    before, ``bias_V = inf`` was accepted and moved V0."""

    def mutate(header, rows):
        rows[3][header.index(column)] = value

    path = _table_file(tmp_path, mutate)
    with pytest.raises(TableError) as info:
        fit_characterization(read_characterization(path), FitConfig(profile=False))
    msg = str(info.value)
    assert "row 3, line 5" in msg and f"column '{column}'" in msg and expect in msg and str(path) in msg


def test_failed_rows_are_not_validated(tmp_path):
    # a failed simulation has empty measurements: it is skipped (and counted), not reported as bad data
    def mutate(header, rows):
        rows[2][header.index("status")] = "failed"
        rows[2][header.index("bias_V")] = "inf"
        rows[2][header.index("n_ones")] = ""

    rep = fit_characterization(read_characterization(_table_file(tmp_path, mutate)), FitConfig(profile=False))
    assert rep.table.n_rows == 6 and "1 row(s) with status != ok were skipped" in rep.notes


def test_cli_fit_rejects_an_infinite_bias(tmp_path, caplog):
    from pbitkit.cli import main

    def mutate(header, rows):
        rows[0][header.index("bias_V")] = "inf"

    path = _table_file(tmp_path, mutate)
    assert main(["-q", "fit", str(path.parent), "--no-plots"]) != 0
    err = caplog.text
    assert "row 0, line 2, column 'bias_V': inf is not a finite bias" in err and "Traceback" not in err
    assert not (path.parent / "device_card.json").exists()


def test_energy_parts_add_up_to_the_fitted_energy_per_bit():
    """A table whose per-part energy columns add up to ``energy_per_bit_J`` row by row gives a card whose
    ``energy_parts`` add up to its fitted ``energy_per_bit_J`` (the centre fit is linear in the data); columns
    that are not parts (per independent bit, dynamic share) stay out; a table without parts has none."""
    from pbitkit.pbitmodel.table import CharTable

    table, cfg = cases()["clocked_probit"]
    cols = dict(table.columns)
    e = np.asarray(cols["energy_per_bit_J"], dtype=float)
    u = np.linspace(0.0, 1.0, e.size)
    cols.update(core_energy_per_bit_J=0.6 * e * (1 + 0.1 * u), trim_energy_per_bit_J=np.full(e.size, 3e-19),
                energy_per_independent_bit_J=3 * e)
    cols["clock_port_energy_per_bit_J"] = e - cols["core_energy_per_bit_J"] - cols["trim_energy_per_bit_J"]
    card = fit_characterization(CharTable(cols, table.sidecar), cfg).card
    parts = card.provenance.details["energy_parts"]
    assert set(parts) == {"core", "trim", "clock_port"}
    assert sum(parts.values()) == pytest.approx(card.energy.energy_per_bit_J, rel=1e-9)
    assert parts["trim"] == pytest.approx(3e-19, rel=1e-9)
    assert "energy_parts" not in fit_characterization(table, cfg).card.provenance.details


def test_nominal_supply_is_the_nominal_corners_when_other_corners_run_at_their_own():
    """Corners characterized at their per-die supply (the native_latch's ff at 90 mV, fs at 112 mV, tt at
    123.5 mV): the nominal rows are tt's at tt's supply, not at the median supply of the whole table (fs's)."""
    from pbitkit.pbitmodel.table import CharTable

    bias = np.linspace(-3, 3, 7) * TRUE.vs_V
    v = TRUE.vdd_V
    parts = [synthetic_table(TRUE, bias, n_samples=400, corners=[c], vdds_V=[vc], seed=k)
             for k, (c, vc) in enumerate((("tt", v), ("ff", 0.9 * v), ("fs", 0.95 * v)))]
    cols = {k: np.concatenate([p.columns[k] for p in parts]) for k in parts[0].columns}
    table = CharTable(cols, parts[0].sidecar, parts[0].source, parts[0].sha256)
    sel = select_rows(table, FitConfig(profile=False))
    assert sel.nominal["corner"] == "tt" and sel.nominal["vdd_V"] == pytest.approx(v)
    assert int(sel.at_nominal.sum()) == len(bias)
