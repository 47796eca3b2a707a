"""Device-aware hardware description of a p-bit array: cell statistics, DACs, a seeded chip instance.

The array keeps its own small card, :class:`DeviceStats`, of exactly what it needs (it imports
:mod:`pbitkit.pbitmodel` only inside the converter); :func:`from_device_model` is the one path from a
``pbitkit.pbitmodel.DeviceModel`` card (docs/contracts.md) into it, and :func:`make_hardware` draws a chip
from it with the card's own variation law.

Model of one cell ``i`` of a chip (docs/theory.md §1–§2):

* its output is a p-bit ``P(s_i = +1) = sigmoid((V_b - V0_i) / Vs_i(T))``; ``(V0_i, ln Vs_i)`` are drawn once
  per chip from a bivariate normal with means ``(v0_V, ln vs_V)``, standard deviations
  ``(v0_sigma_V, vs_sigma_rel)`` and correlation ``v0_vs_corr`` (the card's law,
  :func:`pbitkit.pbitmodel.draw_cell_params`; a probit card is mapped to the logistic with
  ``Vs = sigma / PROBIT_TO_LOGISTIC``, which agrees within 0.0095 in probability);
* temperature scales the slope: ``Vs_i(T) = Vs_i (T / T_nom) ** vs_temp_exponent`` (1 for a thermal-noise
  limited subthreshold cell whose slope is ``n kT / q``; 0.5 for ``kT/C``-noise limited comparators);
* the bias network turns the neighbours' states and the programmed (DAC-quantized) weights into
  ``V_b = clip(V0_nom + trim_i + (1 + eps_i) Vs_nom 2 beta (sum_j J_ij s_j + h_i), V0_nom -/+ V_range/2)``:
  a conductance network designed for the nominal cell, with a per-cell gain error ``eps_i`` (conductance
  mismatch) and rails set by its supply;
* the output is read every ``update_interval_s``; with correlation time ``tau_i`` the read is a two-state
  telegraph transition with memory ``lam_i = exp(-update_interval_s / tau_i)`` (bias held over the interval);
* each cell's input network has its own weight and field DACs (row ``i`` of ``J`` and ``h_i``), so the
  programming may scale a cell's whole input by an ``input_gain_i`` (set by the calibration to
  ``Vs_i / (Vs_nom (1 + eps_i))`` as measured, which makes that cell's effective input the ideal one): the
  scaled values go through the same DACs, so they saturate and quantize like any programmed value
  (:func:`program_rows`). It is a reprogramming, no extra hardware.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pbitkit.config import from_dict, to_dict
from pbitkit.constants import PROBIT_TO_LOGISTIC, ZERO_CELSIUS_K, kelvin
from pbitkit.errors import ConfigError, ModelCardError
from pbitkit.rng import SeedLike, as_generator

__all__ = ["DeviceStats", "DacSpec", "HardwareConfig", "HardwareInstance", "make_hardware", "from_device_model",
           "program_rows"]

if TYPE_CHECKING:
    from pbitkit.pbitmodel.card import DeviceModel

log = logging.getLogger(__name__)


def _pos(name: str, v: float, allow_zero: bool = False) -> None:
    if not (isinstance(v, (int, float)) and math.isfinite(v)) or (v < 0 if allow_zero else v <= 0):
        raise ConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {v!r}")


@dataclass(frozen=True)
class DeviceStats:
    """What the array needs to know about its p-bit cells (SI units).

    Attributes
    ----------
    v0_V, vs_V : nominal sigmoid offset and slope of a cell, ``P(1) = sigmoid((V - v0_V) / vs_V)``.
    v0_sigma_V : cell-to-cell standard deviation of the offset.
    vs_sigma_rel : cell-to-cell standard deviation of ``ln(Vs_i / vs_V)`` (log-normal slopes; the relative
        spread for small values).
    v0_vs_corr : correlation of (V0, ln Vs) across cells, in [-1, 1].
    tau_corr_s : output correlation time of a cell at P = 1/2; ``tau_sigma_rel`` its relative spread.
    energy_per_bit_J : RNG energy per output bit (per update). ``energy_per_flip_J``, ``static_power_W``.
    sample_period_s : clock period of clocked cells (0 for free-running cells).
    clock_energy_J : clock distribution energy per cell per update.
    bias_vdd_V : supply (output range) of the bias network; ``bias_c_node_F`` its node capacitance,
        ``bias_g_unit_S`` the conductance of one unit weight (0 = unknown: static conduction not counted), ``bias_settling_s`` its settling time constant,
        ``bias_energy_per_update_J`` its energy per cell update; ``bias_gain_sigma_rel`` relative mismatch
        of the network gain from cell to cell.
    temp_K : temperature at which the statistics were measured; ``vs_temp_exponent`` see module doc.
    wire_cap_F_per_m : wire capacitance per length (0.2–0.35 fF/um, docs/theory.md §3); ``wire_vdd_V`` swing.
    rate_form : async-mode flip-rate law: ``"redraw"`` (each cell redraws its output at rate
        ``1 / tau``; total rate bias independent) or ``"exp"`` (the DeviceModel card's law
        ``r_up = rate0_Hz exp(rate_slope_up_per_V (V - V0))``, ``r_down = rate0_Hz exp(-rate_slope_down_per_V
        (V - V0))``).
    source : where these numbers came from.
    """

    v0_V: float = 0.0
    vs_V: float = 0.025
    v0_sigma_V: float = 0.0
    vs_sigma_rel: float = 0.0
    v0_vs_corr: float = 0.0
    tau_corr_s: float = 100e-9
    tau_sigma_rel: float = 0.0
    energy_per_bit_J: float = 350e-18
    energy_per_flip_J: float = 0.0
    static_power_W: float = 0.0
    sample_period_s: float = 0.0
    clock_energy_J: float = 0.0
    bias_vdd_V: float = 0.8
    bias_c_node_F: float = 2e-15
    bias_g_unit_S: float = 0.0
    bias_settling_s: float = 2e-9
    bias_energy_per_update_J: float = 0.0
    bias_gain_sigma_rel: float = 0.0
    temp_K: float = ZERO_CELSIUS_K + 27.0
    vs_temp_exponent: float = 1.0
    wire_cap_F_per_m: float = 0.25e-9
    wire_vdd_V: float = 0.8
    v0_tempco_V_per_K: float = 0.0
    vs_tempco_V_per_K: float | None = None
    rate_form: str = "redraw"
    rate0_Hz: float = 0.0
    rate_slope_up_per_V: float = 0.0
    rate_slope_down_per_V: float = 0.0
    source: str = "typed-in parameters"

    def __post_init__(self) -> None:
        for name in ("vs_V", "tau_corr_s", "temp_K", "bias_vdd_V"):
            _pos(f"DeviceStats.{name}", getattr(self, name))
        for name in ("v0_sigma_V", "vs_sigma_rel", "tau_sigma_rel", "energy_per_bit_J", "energy_per_flip_J",
                     "static_power_W", "sample_period_s", "clock_energy_J", "bias_c_node_F", "bias_g_unit_S",
                     "bias_settling_s", "bias_energy_per_update_J", "bias_gain_sigma_rel", "wire_cap_F_per_m",
                     "wire_vdd_V", "vs_temp_exponent"):
            _pos(f"DeviceStats.{name}", getattr(self, name), allow_zero=True)
        if self.rate_form not in ("redraw", "exp"):
            raise ConfigError(f"DeviceStats.rate_form must be 'redraw' or 'exp', got {self.rate_form!r}")
        if self.rate_form == "exp":
            for name in ("rate0_Hz", "rate_slope_up_per_V", "rate_slope_down_per_V"):
                _pos(f"DeviceStats.{name}", getattr(self, name))
        if not -1.0 <= self.v0_vs_corr <= 1.0:
            raise ConfigError(f"DeviceStats.v0_vs_corr must be in [-1, 1], got {self.v0_vs_corr}")
        for name in ("v0_tempco_V_per_K", "vs_tempco_V_per_K"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ConfigError(f"DeviceStats.{name} must be finite, got {v}")
        if not math.isfinite(self.v0_V):
            raise ConfigError(f"DeviceStats.v0_V must be finite, got {self.v0_V}")

    @classmethod
    def ideal(cls, **overrides: Any) -> DeviceStats:
        """Zero variation, fast cells (tau = 1 fs), zero energies unless overridden."""
        base = dict(tau_corr_s=1e-15, energy_per_bit_J=0.0, source="ideal")
        base.update(overrides)
        return cls(**base)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceStats:
        return from_dict(cls, data, where="DeviceStats")


@dataclass(frozen=True)
class DacSpec:
    """A sign-magnitude DAC: ``bits`` total (1 sign + ``bits - 1`` magnitude), full scale ``full_scale``.

    Levels are ``k * step``, ``step = full_scale / (2**(bits-1) - 1)``, ``|k| <= 2**(bits-1) - 1``; values
    beyond full scale saturate. ``bits=None`` is an ideal (infinite-resolution, unbounded) DAC.
    ``full_scale=None`` takes the largest magnitude of what is being programmed (auto-ranging).

    A measured DAC (e.g. the ``native_latch``'s capacitive bias network,
    :func:`pbitkit.circuits.bias_network_nl.network_weight_dac`) adds its static errors: the code is chosen
    for the ideal levels (nearest ``k``) and the hardware realizes
    ``sign(k) (|k| + inl_lsb[|k|]) step (1 + gain_error_rel)`` — ``inl_lsb`` the integral nonlinearity of
    each magnitude code in LSB (``2**(bits-1)`` entries; ``inl_lsb[0]`` is not applied: a zero weight stays 0), against the
    straight line whose slope defines ``step``; ``gain_error_rel`` the relative error of that slope
    (a per-chip gain error; per-cell mismatch is ``DeviceStats.bias_gain_sigma_rel``).
    """

    bits: int | None = None
    full_scale: float | None = None
    gain_error_rel: float = 0.0
    inl_lsb: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.bits is not None and (not isinstance(self.bits, int) or self.bits < 2 or self.bits > 32):
            raise ConfigError(f"DacSpec.bits must be an integer in [2, 32] or None, got {self.bits!r}")
        if self.full_scale is not None:
            _pos("DacSpec.full_scale", self.full_scale)
        if not (isinstance(self.gain_error_rel, (int, float)) and math.isfinite(self.gain_error_rel)
                and -0.5 < self.gain_error_rel < 0.5):
            raise ConfigError(f"DacSpec.gain_error_rel must be finite and in (-0.5, 0.5), got {self.gain_error_rel!r}")
        if self.inl_lsb is not None:
            if self.bits is None or self.bits > 16:
                raise ConfigError("DacSpec.inl_lsb needs bits <= 16 (one entry per magnitude code)")
            inl = tuple(float(v) for v in self.inl_lsb)
            if len(inl) != 2 ** (self.bits - 1) or not all(math.isfinite(v) and abs(v) < 2 ** (self.bits - 1)
                                                             for v in inl):
                raise ConfigError(f"DacSpec.inl_lsb must hold 2**(bits-1) = {2 ** (self.bits - 1)} finite values "
                                  f"(LSB), got {len(inl)}")
            object.__setattr__(self, "inl_lsb", inl)

    def step(self, x: np.ndarray | None = None) -> float:
        """The LSB size (0 for an ideal DAC)."""
        if self.bits is None:
            return 0.0
        fs = self.full_scale
        if fs is None:
            fs = float(np.max(np.abs(x))) if x is not None and np.size(x) else 0.0
        return fs / (2 ** (self.bits - 1) - 1)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Nearest DAC level of each value (float64 array of the same shape).

        ``q = step * clip(round(x / step), -kmax, kmax)``, ``kmax = 2**(bits-1) - 1``; with ``inl_lsb`` /
        ``gain_error_rel`` the level the hardware realizes for that code (see the class docstring).
        """
        x = np.asarray(x, dtype=np.float64)
        if self.bits is None:
            return x.copy()
        step = self.step(x)
        if step == 0.0:
            return np.zeros_like(x)
        kmax = 2 ** (self.bits - 1) - 1
        k = np.clip(np.round(x / step), -kmax, kmax)
        if self.inl_lsb is None and self.gain_error_rel == 0.0:
            return step * k
        level = k
        if self.inl_lsb is not None:
            level = k + np.sign(k) * np.asarray(self.inl_lsb)[np.abs(k).astype(np.int64)]
        return step * (1.0 + self.gain_error_rel) * level


@dataclass(frozen=True)
class HardwareConfig:
    """How a chip is programmed and run.

    Attributes
    ----------
    weight_dac, bias_dac : DAC of the couplings ``J`` and fields ``h`` (dimensionless, before ``2 beta``).
    trim_dac : DAC of the per-cell offset trim (volts); its full scale defaults to 4 sigma of V0.
    temp_K : operating temperature (None: the stats' temperature).
    update_interval_s : time between two reads of the same cell (None: ``sample_period_s`` of a clocked
        cell, else ``tau_corr_s``, i.e. the paper's rule that a half-sweep cannot beat the correlation time).
    """

    weight_dac: DacSpec = DacSpec()
    bias_dac: DacSpec = DacSpec()
    trim_dac: DacSpec = DacSpec(bits=8)
    temp_K: float | None = None
    update_interval_s: float | None = None

    def __post_init__(self) -> None:
        if self.temp_K is not None:
            _pos("HardwareConfig.temp_K", self.temp_K)
        if self.update_interval_s is not None:
            _pos("HardwareConfig.update_interval_s", self.update_interval_s)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HardwareConfig:
        return from_dict(cls, data, where="HardwareConfig")


@dataclass(frozen=True, eq=False)
class HardwareInstance:
    """One chip: per-cell parameters drawn from :class:`DeviceStats` with a seed (see :func:`make_hardware`).

    Attributes
    ----------
    v0_V, vs_V : (N,) per-cell sigmoid offset and slope at the stats' temperature.
    tau_s : (N,) per-cell correlation time.
    gain_rel : (N,) bias-network gain factor ``1 + eps_i``.
    trim_V : (N,) programmed offset trim (already DAC-quantized); zeros until calibrated.
    input_gain : (N,) or None
        Programmed per-cell input scale (dimensionless): row ``i`` of the couplings and the field ``h_i`` are
        programmed multiplied by it (:func:`program_rows`); ``None`` (the default) programs them as given.
        Set by :func:`pbitkit.array.calibration.calibrate` (gain compensation).
    """

    stats: DeviceStats
    config: HardwareConfig
    seed: int
    v0_V: np.ndarray
    vs_V: np.ndarray
    tau_s: np.ndarray
    gain_rel: np.ndarray
    trim_V: np.ndarray
    input_gain: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.v0_V.shape[0]
        if self.input_gain is not None:
            ig = np.asarray(self.input_gain, dtype=np.float64)
            if ig.shape != (n,) or not np.all(np.isfinite(ig) & (ig > 0)):
                raise ConfigError(f"HardwareInstance.input_gain must be ({n},) positive finite values")
            object.__setattr__(self, "input_gain", ig)
        for name in ("vs_V", "tau_s", "gain_rel", "trim_V"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (n,):
                raise ConfigError(f"HardwareInstance.{name} must have shape ({n},), got {arr.shape}")
            object.__setattr__(self, name, arr)
        if np.any(self.vs_V <= 0):
            raise ConfigError("HardwareInstance.vs_V must be positive for every cell (slope spread too large?)")

    @property
    def n_nodes(self) -> int:
        return int(self.v0_V.shape[0])

    @property
    def temp_K(self) -> float:
        return self.config.temp_K if self.config.temp_K is not None else self.stats.temp_K

    @property
    def update_interval_s(self) -> float:
        if self.config.update_interval_s is not None:
            return self.config.update_interval_s
        return self.stats.sample_period_s if self.stats.sample_period_s > 0 else self.stats.tau_corr_s

    def vs_at_temp_V(self) -> np.ndarray:
        """Per-cell slope at the operating temperature: ``Vs_i (1 + dVs/dT dT / Vs_nom)`` when the card has a
        measured temperature coefficient, else ``Vs_i (T / T_nom) ** vs_temp_exponent``."""
        s = self.stats
        dT = self.temp_K - s.temp_K
        if s.vs_tempco_V_per_K is not None:
            return self.vs_V * (1.0 + s.vs_tempco_V_per_K * dT / s.vs_V)
        return self.vs_V * (self.temp_K / s.temp_K) ** s.vs_temp_exponent

    def v0_at_temp_V(self) -> np.ndarray:
        """Per-cell offset at the operating temperature, ``V0_i + dV0/dT (T - T_nom)``."""
        return self.v0_V + self.stats.v0_tempco_V_per_K * (self.temp_K - self.stats.temp_K)

    def with_trim(self, trim_V: np.ndarray) -> HardwareInstance:
        """A copy with a new offset trim, quantized through the trim DAC."""
        t = np.asarray(trim_V, dtype=np.float64)
        if t.shape != (self.n_nodes,):
            raise ConfigError(f"trim_V must have shape ({self.n_nodes},), got {t.shape}")
        return dataclasses.replace(self, trim_V=self.trim_dac().quantize(t))

    def with_input_gain(self, input_gain: np.ndarray | None) -> HardwareInstance:
        """A copy that programs row ``i`` of the couplings and field ``h_i`` scaled by ``input_gain[i]``
        (``None``: unscaled)."""
        return dataclasses.replace(self, input_gain=None if input_gain is None else np.array(input_gain, dtype=np.float64))

    def trim_dac(self) -> DacSpec:
        d = self.config.trim_dac
        if d.bits is not None and d.full_scale is None:
            fs = 4.0 * self.stats.v0_sigma_V if self.stats.v0_sigma_V > 0 else self.stats.vs_V
            d = DacSpec(d.bits, fs)
        return d

    def kernel_params(self, beta: float) -> dict[str, Any]:
        """Per-node arrays of the kernel update rule (see :mod:`pbitkit.array.kernels`)."""
        s = self.stats
        with np.errstate(under="ignore"):
            lam = np.exp(-self.update_interval_s / self.tau_s)
        return dict(
            c0=s.v0_V + self.trim_V,
            g=(2.0 * beta * s.vs_V) * self.gain_rel,
            v0=self.v0_at_temp_V(),
            ivs=1.0 / self.vs_at_temp_V(),
            lam=lam,
            v_lo=s.v0_V - 0.5 * s.bias_vdd_V,
            v_hi=s.v0_V + 0.5 * s.bias_vdd_V,
        )

    def offsets_field(self, beta: float = 1.0) -> np.ndarray:
        """Each cell's offset expressed as an equivalent field error ``(V0_i - V0_nom - trim_i)/(2 beta Vs_nom)``."""
        return (self.v0_V - self.stats.v0_V - self.trim_V) / (2.0 * beta * self.stats.vs_V)


def program_rows(dac: DacSpec, rows: np.ndarray, input_gain: np.ndarray | None) -> tuple[np.ndarray, int]:
    """What a DAC realizes for per-cell rows of values, each row scaled by its cell's input gain.

    Parameters
    ----------
    dac : the DAC (weights or fields; dimensionless values before ``2 beta``)
    rows : (N, ...) values, row ``i`` feeding cell ``i`` (the slot-weight table ``(N, D)`` or fields ``(N, C)``)
    input_gain : (N,) per-cell scale, or None (no scaling: plain ``dac.quantize``)

    Returns
    -------
    levels : array like ``rows``, ``dac.quantize(input_gain[i] * rows[i])``: a DAC with a fixed
        ``full_scale`` saturates the scaled values beyond it; an auto-ranging DAC (``full_scale=None``) is
        ranged on the scaled values (the largest of them), so its LSB grows with the largest gain and no
        value saturates
    n_clipped : number of scaled values beyond full scale (saturated; 0 for an ideal or auto-ranging DAC)
    """
    x = np.asarray(rows, dtype=np.float64)
    if input_gain is None:
        return dac.quantize(x), 0
    g = np.asarray(input_gain, dtype=np.float64).reshape((-1,) + (1,) * (x.ndim - 1))
    if dac.bits is None:
        return x * g, 0
    y = x * g
    fs = dac.full_scale if dac.full_scale is not None else (float(np.max(np.abs(y))) if y.size else 0.0)
    if fs == 0.0:
        return np.zeros_like(x), 0
    fixed = dataclasses.replace(dac, full_scale=fs)
    kmax = 2 ** (dac.bits - 1) - 1
    n_clip = int(np.count_nonzero(np.abs(y) > fs * (1.0 + 0.5 / kmax)))
    return fixed.quantize(y), n_clip


def make_hardware(
    n_nodes: int, stats: DeviceStats, config: HardwareConfig | None = None, seed: SeedLike = 0
) -> HardwareInstance:
    """Draw a chip: per-cell ``(V0_i, ln Vs_i)`` from a correlated bivariate normal (the DeviceModel card's
    variation law), ``tau_i`` and gain errors from log-normal / normal spreads, all from one seed (the same
    seed is the same chip).

    ``V0_i = v0 + sigma_0 z1``, ``Vs_i = vs exp(sigma_rel (rho z1 + sqrt(1 - rho^2) z2))``,
    ``tau_i = tau exp(sigma_tau z3 - sigma_tau^2 / 2)``, ``gain_i = 1 + sigma_g z4``, ``z ~ N(0, 1)``.
    """
    if not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
        raise ConfigError(f"n_nodes must be a positive integer, got {n_nodes!r}")
    config = config or HardwareConfig()
    seed_int = seed if isinstance(seed, (int, np.integer)) else None
    rng = as_generator(seed)
    z = rng.standard_normal((4, n_nodes))
    rho = stats.v0_vs_corr
    v0 = stats.v0_V + stats.v0_sigma_V * z[0]
    vs = stats.vs_V * np.exp(stats.vs_sigma_rel * (rho * z[0] + math.sqrt(1.0 - rho * rho) * z[1]))
    tau = stats.tau_corr_s * np.exp(stats.tau_sigma_rel * z[2] - 0.5 * stats.tau_sigma_rel**2)
    gain = 1.0 + stats.bias_gain_sigma_rel * z[3]
    if not np.all(np.isfinite(vs) & (vs > 0)):
        raise ConfigError(f"vs_sigma_rel={stats.vs_sigma_rel} draws slopes that under- or overflow; reduce it")
    return HardwareInstance(
        stats=stats, config=config, seed=-1 if seed_int is None else int(seed_int),
        v0_V=v0, vs_V=vs, tau_s=tau, gain_rel=gain, trim_V=np.zeros(n_nodes),
    )


def from_device_model(
    card: DeviceModel,
    *,
    vs_temp_exponent: float = 1.0,
    tau_sigma_rel: float = 0.0,
    bias_gain_sigma_rel: float = 0.0,
    clock_energy_J: float = 0.0,
    wire_cap_F_per_m: float = 0.25e-9,
    **overrides: Any,
) -> DeviceStats:
    """Convert a :class:`pbitkit.pbitmodel.DeviceModel` card into the array's :class:`DeviceStats`.

    This is the one path from a card to a chip. Every card field it reads exists in a valid card (the card
    validates itself), so nothing is filled in: the mapping is

    ====================================  ================================================================
    DeviceStats                           DeviceModel
    ====================================  ================================================================
    ``v0_V``, ``vs_V``                    ``v0_V``, ``vs_V`` (probit: ``vs_V / PROBIT_TO_LOGISTIC``)
    ``v0_sigma_V, vs_sigma_rel, v0_vs_corr``  ``variation.*``
    ``tau_corr_s, sample_period_s``       ``dynamics.*``; ``rate_form="exp"`` and the rate parameters when
                                          ``dynamics.rate_model.form == "exp"`` (slopes times
                                          ``PROBIT_TO_LOGISTIC`` for probit), else ``"redraw"``
    ``energy_per_bit_J`` ...              ``energy.*``
    ``bias_vdd_V, bias_c_node_F, ...``    ``bias_network.vdd_V, c_node_F, g_unit_S, settling_s,
                                          energy_per_update_J`` (0 = not modelled, kept as 0)
    ``wire_vdd_V``                        ``vdd_V``
    ``temp_K``                            ``kelvin(temp_C)``
    ``v0_tempco_V_per_K``                 ``temp_coeffs.v0_V_per_K`` (0 when not measured)
    ``vs_tempco_V_per_K``                 ``temp_coeffs.vs_V_per_K`` (None when not measured: then the
                                          slope scales as ``(T / T_nom) ** vs_temp_exponent``)
    ====================================  ================================================================

    Parameters
    ----------
    card
        A validated ``DeviceModel`` (read a JSON card with ``DeviceModel.load`` / ``from_dict`` first).
    vs_temp_exponent, tau_sigma_rel, bias_gain_sigma_rel, clock_energy_J, wire_cap_F_per_m
        Chip-level properties a card does not describe, stated explicitly (see :class:`DeviceStats`; the
        defaults are: slope proportional to T, no spread of tau or of the network gain, clock energy already
        in ``energy_per_bit_J``, 0.25 fF/um wires).
    **overrides
        Replace any resulting :class:`DeviceStats` field (e.g. ``v0_sigma_V=0.0``); unknown names raise.

    Raises
    ------
    ModelCardError
        ``card`` is not a ``DeviceModel`` (a dict, a path, ...), or its ``bias_network.vdd_V`` is 0 (the
        network's swing is needed for the bias rails) and no ``bias_vdd_V`` override is given.
    ConfigError
        An unknown override or an out-of-range value.
    """
    from pbitkit.pbitmodel.card import DeviceModel  # lazy: the array imports the card schema only when used

    if not isinstance(card, DeviceModel):
        raise ModelCardError(f"from_device_model expects a pbitkit.pbitmodel.DeviceModel, got {type(card).__name__}; "
                             "read JSON cards with DeviceModel.load(path) or DeviceModel.from_dict(data)")
    known = {f.name for f in dataclasses.fields(DeviceStats)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"from_device_model: unknown DeviceStats field(s) {unknown}")
    scale = 1.0 / PROBIT_TO_LOGISTIC if card.link == "probit" else 1.0
    var, dyn, en, bn, tc = card.variation, card.dynamics, card.energy, card.bias_network, card.temp_coeffs
    if bn.vdd_V <= 0.0 and "bias_vdd_V" not in overrides:
        raise ModelCardError("field 'bias_network.vdd_V': 0 (not modelled) but the array needs the bias network's "
                             "swing for its rails; pass bias_vdd_V=... to from_device_model")
    kw: dict[str, Any] = dict(
        v0_V=card.v0_V,
        vs_V=card.vs_V * scale,
        v0_sigma_V=var.v0_sigma_V,
        vs_sigma_rel=var.vs_sigma_rel,
        v0_vs_corr=var.v0_vs_corr,
        tau_corr_s=dyn.tau_corr_s,
        tau_sigma_rel=tau_sigma_rel,
        energy_per_bit_J=en.energy_per_bit_J,
        energy_per_flip_J=en.energy_per_flip_J,
        static_power_W=en.static_power_W,
        sample_period_s=dyn.sample_period_s,
        clock_energy_J=clock_energy_J,
        temp_K=kelvin(card.temp_C),
        vs_temp_exponent=vs_temp_exponent,
        bias_vdd_V=bn.vdd_V,
        bias_c_node_F=bn.c_node_F,
        bias_g_unit_S=bn.g_unit_S,
        bias_settling_s=bn.settling_s,
        bias_energy_per_update_J=bn.energy_per_update_J,
        bias_gain_sigma_rel=bias_gain_sigma_rel,
        wire_cap_F_per_m=wire_cap_F_per_m,
        wire_vdd_V=card.vdd_V,
        v0_tempco_V_per_K=tc.v0_V_per_K if tc.v0_V_per_K is not None else 0.0,
        vs_tempco_V_per_K=tc.vs_V_per_K * scale if tc.vs_V_per_K is not None else None,
        source=f"DeviceModel card: cell={card.cell}, process={card.process}",
    )
    rm = dyn.rate_model
    if rm.form == "exp":
        kw.update(rate_form="exp", rate0_Hz=rm.rate0_Hz, rate_slope_up_per_V=rm.slope_up_per_V / scale,
                  rate_slope_down_per_V=rm.slope_down_per_V / scale)
    else:
        kw.update(rate_form="redraw", rate0_Hz=0.0, rate_slope_up_per_V=0.0, rate_slope_down_per_V=0.0)
    kw.update(overrides)
    return DeviceStats(**kw)
