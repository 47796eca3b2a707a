"""Characterization tables for the fit's golden-card test (generated in code, deterministic).

``python -m tests.pbitmodel.golden_tables`` rewrites ``data/fit_golden.json`` from the current fit: run it
only when a change of the fitted numbers is intended (and say why in the commit).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.pbitmodel.card import DeviceModel, RateModel
from pbitkit.pbitmodel.fit import FitConfig
from pbitkit.pbitmodel.synthetic import synthetic_table
from pbitkit.pbitmodel.table import CharTable, rows_to_table

GOLDEN = Path(__file__).parent / "data" / "fit_golden.json"
# environment entries of the provenance that differ between runs (time, commit, machine)
VOLATILE = ("pbitkit_version", "git_commit", "created_utc", "python", "platform", "machine", "cpu_count", "packages")

TRUE = DeviceModel.ideal(vs_V=0.0064, v0_V=0.01, tau_corr_s=1e-6, energy_per_bit_J=1e-15).replace(
    variation={"v0_sigma_V": 0.02, "vs_sigma_rel": 0.05, "v0_vs_corr": 0.0},
    energy={"static_power_W": 1e-9, "energy_per_flip_J": 2e-15},
    temp_coeffs={"v0_V_per_K": 1e-4, "vs_V_per_V": 0.01},
)


def _pelgrom_table() -> CharTable:
    rows: list[dict[str, Any]] = []
    for w in (1.0, 4.0, 16.0):
        card = TRUE.replace(variation={"v0_sigma_V": 3.36e-9 / math.sqrt(w * 0.15e-12), "vs_sigma_rel": 0.0})
        tab = synthetic_table(card, np.linspace(-4, 4, 7) * TRUE.vs_V, n_samples=1000, mc_seeds=list(range(6)),
                              relative_bias=True, seed=int(w))
        for i in range(tab.n_rows):
            r = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in tab.columns.items()}
            r.update(param_w_um=w, param_l_um=0.15, mc_seed=int(r["mc_seed"]) + int(100 * w))
            rows.append(r)
    return rows_to_table(rows)


def cases() -> dict[str, tuple[CharTable, FitConfig]]:
    """Named (table, config) pairs covering every step: links, instances, corners, temperature, supply,
    telegraph rates, energy vs supply, a clocked probit cell, a Pelgrom size sweep."""
    rich = synthetic_table(TRUE, np.linspace(-4, 4, 9) * TRUE.vs_V, n_samples=1500, mc_seeds=[-1] + list(range(8)),
                           temps_C=[0.0, 27.0, 85.0], vdds_V=[1.7, 1.8, 1.9], corners=["tt", "ss"],
                           corner_shift_V={"ss": 0.01}, relative_bias=True, seed=5)
    clocked = DeviceModel.ideal(vs_V=0.005, tau_corr_s=2e-8, link="probit").replace(
        dynamics={"rate_model": RateModel("constant_tau")})
    return {
        "rich_auto": (rich, FitConfig()),
        "rich_logistic_noneff": (rich, FitConfig(link="logistic", use_n_eff=False, profile=False)),
        "clocked_probit": (synthetic_table(clocked, np.linspace(-0.015, 0.015, 11), n_samples=5000,
                                           sample_period_s=1e-8, seed=2), FitConfig(link="probit", clocked="yes")),
        "instances_only": (synthetic_table(TRUE, np.linspace(-4, 4, 9) * TRUE.vs_V, n_samples=1500,
                                           mc_seeds=list(range(6)), relative_bias=True, seed=3), FitConfig(profile=False)),
        "pelgrom": (_pelgrom_table(), FitConfig(size_columns=("param_w_um", "param_l_um"), profile=False)),
    }


def comparable(card: DeviceModel) -> dict[str, Any]:
    """The card as a dict without the run-dependent environment entries of its provenance."""
    d = card.to_dict()
    d["provenance"]["details"] = {k: v for k, v in d["provenance"]["details"].items() if k not in VOLATILE}
    return d


def main() -> None:  # pragma: no cover - regenerates the golden file
    from pbitkit.pbitmodel.fit import fit_characterization

    out = {name: comparable(fit_characterization(t, cfg).card) for name, (t, cfg) in cases().items()}
    GOLDEN.write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")


if __name__ == "__main__":  # pragma: no cover
    main()
