"""The DeviceModel card: the fitted, versioned description of a p-bit cell that the array simulator consumes.

A card holds the nominal sigmoid ``P(1) = link((V - v0_V) / vs_V)``, its standard errors, the cell-to-cell
variation of offset and slope, the switching dynamics (telegraph rates vs bias), energy figures, the bias
network, temperature/supply coefficients and provenance. It is a frozen dataclass; ``to_json`` /
``from_json`` round-trip it exactly, and every kind of bad card (missing or unknown field, wrong type,
out-of-range value, unknown schema version) raises :class:`~pbitkit.errors.ModelCardError` naming the field.

Rate models (``rate_model["form"]``)
------------------------------------
``"exp"``  keys ``rate0_Hz``, ``slope_up_per_V``, ``slope_down_per_V``::

    r_up(V)   = rate0_Hz * exp(+slope_up_per_V   * (V - v0_V))
    r_down(V) = rate0_Hz * exp(-slope_down_per_V * (V - v0_V))

  so that the occupancy ``r_up / (r_up + r_down) = sigmoid((V - v0_V) (slope_up + slope_down))``; a card
  consistent with its logistic sigmoid has ``slope_up_per_V + slope_down_per_V = 1 / vs_V``. The correlation
  time of the telegraph process is ``1 / (r_up + r_down)`` (REFERENCE.md §1).

``"constant_tau"``  no extra keys: the correlation time is ``tau_corr_s`` at every bias and the rates are
  ``r_up = P(1) / tau``, ``r_down = (1 - P(1)) / tau`` (the natural model of a clocked comparator cell whose
  output decorrelates in a fixed time).

Cell-to-cell variation
----------------------
:func:`draw_cell_params` draws per-cell ``(v0, vs)``: ``v0 ~ N(v0_V, v0_sigma_V)`` and
``ln(vs / vs_V) ~ N(0, vs_sigma_rel)`` (log-normal keeps ``vs > 0``), with correlation ``v0_vs_corr``
between ``v0`` and ``ln vs``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.special import expit, ndtr

from pbitkit.constants import ZERO_CELSIUS_K
from pbitkit.errors import ModelCardError, PbitkitError
from pbitkit.io import atomic_write_text

__all__ = ["DeviceModel", "SCHEMA_VERSION", "draw_cell_params", "RATE_FORMS", "BIAS_NETWORK_KEYS"]

SCHEMA_VERSION = 1

RATE_FORMS: dict[str, tuple[str, ...]] = {
    "exp": ("rate0_Hz", "slope_up_per_V", "slope_down_per_V"),
    "constant_tau": (),
}
BIAS_NETWORK_KEYS: tuple[str, ...] = ("c_node_F", "g_unit_S", "settling_s", "energy_per_update_J", "vdd_V")

_ABS_ZERO_C = -ZERO_CELSIUS_K

# (field, python type, check, expectation text). Checks run after the type check.
_FLOAT_RULES: dict[str, tuple[Any, str]] = {
    "temp_C": (lambda x: x > _ABS_ZERO_C and x < 1000.0, f"a temperature above {_ABS_ZERO_C} degC and below 1000 degC"),
    "vdd_V": (lambda x: 0.0 < x < 100.0, "a supply voltage in (0, 100) V"),
    "v0_V": (lambda x: abs(x) < 100.0, "a finite offset voltage with |v0_V| < 100 V"),
    "vs_V": (lambda x: 0.0 < x < 100.0, "a positive slope scale in (0, 100) V"),
    "v0_se_V": (lambda x: x >= 0.0, "a non-negative standard error"),
    "vs_se_V": (lambda x: x >= 0.0, "a non-negative standard error"),
    "v0_sigma_V": (lambda x: x >= 0.0, "a non-negative standard deviation"),
    "vs_sigma_rel": (lambda x: 0.0 <= x < 10.0, "a relative standard deviation in [0, 10)"),
    "v0_vs_corr": (lambda x: -1.0 <= x <= 1.0, "a correlation coefficient in [-1, 1]"),
    "tau_corr_s": (lambda x: x > 0.0, "a positive correlation time in seconds"),
    "energy_per_bit_J": (lambda x: x >= 0.0, "a non-negative energy in J"),
    "energy_per_flip_J": (lambda x: x >= 0.0, "a non-negative energy in J"),
    "static_power_W": (lambda x: x >= 0.0, "a non-negative power in W"),
    "sample_period_s": (lambda x: x >= 0.0, "a non-negative clock period in s (0 for unclocked cells)"),
}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _check_float(name: str, value: Any, rule: tuple[Any, str]) -> float:
    if not _is_number(value):
        raise ModelCardError(f"field '{name}': expected a number, got {type(value).__name__} {value!r}")
    x = float(value)
    check, expect = rule
    if not math.isfinite(x) or not check(x):
        raise ModelCardError(f"field '{name}': {x!r} is out of range; expected {expect}")
    return x


def _check_number_dict(name: str, d: Any, required: tuple[str, ...], *, nonneg: bool) -> None:
    if not isinstance(d, dict):
        raise ModelCardError(f"field '{name}': expected an object/dict, got {type(d).__name__}")
    missing = [k for k in required if k not in d]
    if missing:
        raise ModelCardError(f"field '{name}': missing key(s) {missing}; required {list(required)}")
    unknown = sorted(set(d) - set(required))
    if unknown:
        raise ModelCardError(f"field '{name}': unknown key(s) {unknown}; allowed {list(required)}")
    for k in required:
        v = d[k]
        if not _is_number(v) or not math.isfinite(float(v)):
            raise ModelCardError(f"field '{name}.{k}': expected a finite number, got {v!r}")
        if nonneg and float(v) < 0:
            raise ModelCardError(f"field '{name}.{k}': {v!r} is out of range; expected >= 0")


def _check_json_ready(name: str, obj: Any) -> None:
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelCardError(f"field '{name}': not JSON-serializable with finite numbers ({exc})") from exc


@dataclass(frozen=True)
class DeviceModel:
    """Fitted p-bit device model (schema version :data:`SCHEMA_VERSION`).

    Nominal sigmoid: ``P(1 | V) = sigmoid((V - v0_V) / vs_V)`` for ``link="logistic"`` and
    ``Phi((V - v0_V) / vs_V)`` for ``link="probit"`` (then ``vs_V`` is the Gaussian noise RMS). All fields
    are in SI units named by their suffix; see the module docstring for ``rate_model``. Construction
    validates every field and raises :class:`~pbitkit.errors.ModelCardError` naming the bad one.

    Examples
    --------
    >>> card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9, energy_per_bit_J=350e-18)
    >>> round(float(card.p1(0.01)), 4)
    0.7311
    >>> DeviceModel.from_json(card.to_json()) == card
    True
    """

    cell: str
    process: str
    temp_C: float
    vdd_V: float
    link: Literal["logistic", "probit"]
    v0_V: float
    vs_V: float
    v0_se_V: float
    vs_se_V: float
    v0_sigma_V: float
    vs_sigma_rel: float
    v0_vs_corr: float
    tau_corr_s: float
    rate_model: dict[str, Any]
    energy_per_bit_J: float
    energy_per_flip_J: float
    static_power_W: float
    sample_period_s: float
    bias_network: dict[str, float]
    temp_coeffs: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        if isinstance(self.schema_version, bool) or not isinstance(self.schema_version, int):
            raise ModelCardError(f"field 'schema_version': expected an integer, got {self.schema_version!r}")
        if self.schema_version != SCHEMA_VERSION:
            raise ModelCardError(
                f"field 'schema_version': unknown schema version {self.schema_version}; this pbitkit reads "
                f"version {SCHEMA_VERSION}"
            )
        for name in ("cell", "process"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v:
                raise ModelCardError(f"field '{name}': expected a non-empty string, got {v!r}")
        if self.link not in ("logistic", "probit"):
            raise ModelCardError(f"field 'link': {self.link!r} is not one of ['logistic', 'probit']")
        for name, rule in _FLOAT_RULES.items():
            object.__setattr__(self, name, _check_float(name, getattr(self, name), rule))
        rm = self.rate_model
        if not isinstance(rm, dict):
            raise ModelCardError(f"field 'rate_model': expected an object/dict, got {type(rm).__name__}")
        form = rm.get("form")
        if form not in RATE_FORMS:
            raise ModelCardError(f"field 'rate_model.form': {form!r} is not one of {sorted(RATE_FORMS)}")
        _check_number_dict("rate_model", {k: v for k, v in rm.items() if k != "form"}, RATE_FORMS[form],
                           nonneg=True)
        if form == "exp" and float(rm["rate0_Hz"]) <= 0:
            raise ModelCardError(f"field 'rate_model.rate0_Hz': {rm['rate0_Hz']!r} is out of range; expected > 0")
        _check_number_dict("bias_network", self.bias_network, BIAS_NETWORK_KEYS, nonneg=True)
        if not isinstance(self.temp_coeffs, dict):
            raise ModelCardError(f"field 'temp_coeffs': expected an object/dict, got {type(self.temp_coeffs).__name__}")
        for k, v in self.temp_coeffs.items():
            if not isinstance(k, str) or not (k.endswith("_per_K") or k.endswith("_per_V")):
                raise ModelCardError(
                    f"field 'temp_coeffs.{k}': keys must name a derivative ending in '_per_K' or '_per_V'"
                )
            if not _is_number(v) or not math.isfinite(float(v)):
                raise ModelCardError(f"field 'temp_coeffs.{k}': expected a finite number, got {v!r}")
        if not isinstance(self.provenance, dict):
            raise ModelCardError(f"field 'provenance': expected an object/dict, got {type(self.provenance).__name__}")
        for name in ("rate_model", "bias_network", "temp_coeffs", "provenance"):
            _check_json_ready(name, getattr(self, name))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def ideal(
        cls,
        *,
        vs_V: float = 0.01,
        v0_V: float = 0.0,
        tau_corr_s: float = 100e-9,
        energy_per_bit_J: float = 350e-18,
        energy_per_flip_J: float | None = None,
        link: Literal["logistic", "probit"] = "logistic",
        vdd_V: float = 1.8,
        temp_C: float = 27.0,
        sample_period_s: float = 0.0,
        cell: str = "ideal",
    ) -> DeviceModel:
        """A card with zero variation and exact uncertainties, for tests and the ideal baseline.

        Rates follow the ``"exp"`` form with symmetric slopes ``1 / (2 vs_V)`` and ``rate0_Hz = 1 / (2 tau)``
        so that the correlation time at ``P = 1/2`` is ``tau_corr_s``. Defaults follow REFERENCE.md §1
        (Extropic's measured RNG: ~100 ns, ~350 aJ per bit).
        """
        return cls(
            cell=cell,
            process="ideal",
            temp_C=temp_C,
            vdd_V=vdd_V,
            link=link,
            v0_V=v0_V,
            vs_V=vs_V,
            v0_se_V=0.0,
            vs_se_V=0.0,
            v0_sigma_V=0.0,
            vs_sigma_rel=0.0,
            v0_vs_corr=0.0,
            tau_corr_s=tau_corr_s,
            rate_model={"form": "exp", "rate0_Hz": 0.5 / tau_corr_s, "slope_up_per_V": 0.5 / vs_V,
                        "slope_down_per_V": 0.5 / vs_V},
            energy_per_bit_J=energy_per_bit_J,
            energy_per_flip_J=2.0 * energy_per_bit_J if energy_per_flip_J is None else energy_per_flip_J,
            static_power_W=0.0,
            sample_period_s=sample_period_s,
            bias_network={"c_node_F": 0.0, "g_unit_S": 0.0, "settling_s": 0.0, "energy_per_update_J": 0.0,
                          "vdd_V": vdd_V},
            temp_coeffs={},
            provenance={"source": "DeviceModel.ideal"},
        )

    def replace(self, **changes: Any) -> DeviceModel:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (``schema_version`` first)."""
        d = {"schema_version": self.schema_version}
        for f in dataclasses.fields(self):
            if f.name != "schema_version":
                d[f.name] = getattr(self, f.name)
        return json.loads(json.dumps(d, allow_nan=False))  # deep copy, JSON types only

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "card") -> DeviceModel:
        """Build and validate a card from a dict; errors name the field (and ``source``)."""
        if not isinstance(data, dict):
            raise ModelCardError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        if "schema_version" not in data:
            raise ModelCardError(f"{source}: field 'schema_version': missing")
        sv = data["schema_version"]
        if isinstance(sv, bool) or not isinstance(sv, int) or sv != SCHEMA_VERSION:
            raise ModelCardError(
                f"{source}: field 'schema_version': unknown schema version {sv!r}; this pbitkit reads "
                f"version {SCHEMA_VERSION}"
            )
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ModelCardError(f"{source}: unknown field(s) {unknown}")
        missing = [n for n in names if n not in data and n != "provenance"]
        if missing:
            raise ModelCardError(f"{source}: field '{missing[0]}': missing (all missing: {missing})")
        try:
            return cls(**data)
        except ModelCardError as exc:
            raise ModelCardError(f"{source}: {exc}") from None

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text of the card (finite numbers only)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "card") -> DeviceModel:
        """Parse and validate JSON text; malformed JSON or a bad card raises ``ModelCardError``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelCardError(f"{source}: not valid JSON: {exc}") from exc
        return cls.from_dict(data, source=source)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the card as JSON atomically. Returns the path."""
        return atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DeviceModel:
        """Read a card file; a missing file or a bad card raises an error naming the path."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise PbitkitError(f"card file not found: {p}") from exc
        return cls.from_json(text, source=str(p))

    # ------------------------------------------------------------------ model evaluation
    def p1(self, bias_V: Any, *, v0_V: Any = None, vs_V: Any = None) -> np.ndarray:
        """``P(1)`` at bias ``bias_V`` (any shape, V): ``link((V - v0) / vs)``; per-cell ``v0_V``/``vs_V``
        arrays broadcast against ``bias_V``."""
        v0 = self.v0_V if v0_V is None else np.asarray(v0_V, dtype=float)
        vs = self.vs_V if vs_V is None else np.asarray(vs_V, dtype=float)
        z = (np.asarray(bias_V, dtype=float) - v0) / vs
        return expit(z) if self.link == "logistic" else ndtr(z)

    def rates(self, bias_V: Any) -> tuple[np.ndarray, np.ndarray]:
        """Telegraph rates ``(r_up, r_down)`` in Hz at ``bias_V`` (see module docstring for the forms)."""
        v = np.asarray(bias_V, dtype=float)
        rm = self.rate_model
        if rm["form"] == "exp":
            dv = v - self.v0_V
            r0 = float(rm["rate0_Hz"])
            return r0 * np.exp(float(rm["slope_up_per_V"]) * dv), r0 * np.exp(-float(rm["slope_down_per_V"]) * dv)
        p = self.p1(v)
        return p / self.tau_corr_s, (1.0 - p) / self.tau_corr_s

    def tau_corr(self, bias_V: Any) -> np.ndarray:
        """Correlation time ``1 / (r_up + r_down)`` in s at ``bias_V``."""
        up, down = self.rates(bias_V)
        return 1.0 / (up + down)


def draw_cell_params(card: DeviceModel, n_cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw per-cell ``(v0_V, vs_V)`` arrays of shape ``(n_cells,)`` from the card's variation model.

    ``v0 = v0_V + v0_sigma_V * z1`` and ``vs = vs_V * exp(vs_sigma_rel * z2)`` with ``(z1, z2)`` standard
    bivariate normal of correlation ``v0_vs_corr``.
    """
    if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 0:
        raise ValueError(f"n_cells must be a non-negative integer, got {n_cells!r}")
    z1 = rng.standard_normal(n_cells)
    z2 = rng.standard_normal(n_cells)
    r = card.v0_vs_corr
    z2 = r * z1 + math.sqrt(max(0.0, 1.0 - r * r)) * z2
    return card.v0_V + card.v0_sigma_V * z1, card.vs_V * np.exp(card.vs_sigma_rel * z2)
