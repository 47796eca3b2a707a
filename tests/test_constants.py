"""pbitkit.constants: one definition of each physical constant, no inline copies elsewhere in the package."""

from __future__ import annotations

import io
import math
import tokenize
from pathlib import Path

import numpy as np
from scipy.special import expit, ndtr

import pbitkit
from pbitkit import constants as C

PKG = Path(pbitkit.__file__).parent
# literal values that must come from pbitkit.constants (as floats, so 1.702 and 1.7020 both match)
FORBIDDEN = {C.K_B: "K_B", C.Q_E: "Q_E", C.ZERO_CELSIUS_K: "ZERO_CELSIUS_K", C.PROBIT_TO_LOGISTIC: "PROBIT_TO_LOGISTIC",
             C.ZERO_CELSIUS_K + 27.0: "kelvin(27.0)"}


def _inline_constants(text: str, where: str) -> list[str]:
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NUMBER:
            try:
                x = float(tok.string.replace("_", ""))
            except ValueError:  # complex / hex literals
                continue
            for val, name in FORBIDDEN.items():
                if math.isclose(x, val, rel_tol=1e-9):
                    hits.append(f"{where}:{tok.start[0]}: {tok.string} (use pbitkit.constants.{name})")
    return hits


def test_no_inline_physics_constants_in_the_package() -> None:
    hits = [h for p in sorted(PKG.rglob("*.py")) if p.name != "constants.py"
            for h in _inline_constants(p.read_text(encoding="utf-8"), str(p.relative_to(PKG.parent)))]
    assert hits == [], "\n".join(hits)


def test_the_scan_finds_inline_copies() -> None:
    # negative control: the scanner flags code that writes the numbers inline (and not prose in strings)
    code = 'ut = 1.380649e-23 * (27 + 273.15) / 1.602176634e-19\nvs = s / 1.702\ndoc = "sigma / 1.702"\n'
    assert [h.split(": ")[1].split()[0] for h in _inline_constants(code, "probe")] == [
        "1.380649e-23", "273.15", "1.602176634e-19", "1.702"]


def test_values_and_functions() -> None:
    assert C.K_B == 1.380649e-23 and C.Q_E == 1.602176634e-19  # exact SI 2019 values
    assert C.kelvin(27.0) == 300.15
    assert math.isclose(C.thermal_voltage(27.0), 0.025864925786, rel_tol=1e-10)
    ut = C.thermal_voltage(np.array([-40.0, 27.0, 125.0]))
    assert np.allclose(ut, C.K_B * (np.array([-40.0, 27.0, 125.0]) + 273.15) / C.Q_E, rtol=1e-14, atol=0)
    # the documented maximum error of the probit-to-logistic mapping
    x = np.linspace(-8, 8, 160001)
    err = np.abs(ndtr(x) - expit(C.PROBIT_TO_LOGISTIC * x)).max()
    assert err < 0.0095
    assert np.abs(ndtr(x) - expit(1.6 * x)).max() > 0.0095  # a wrong factor misses the bound


def test_circuits_noise_reexports_the_same_objects() -> None:
    from pbitkit.circuits import noise

    assert noise.K_B is C.K_B and noise.Q_E is C.Q_E and noise.thermal_voltage is C.thermal_voltage
