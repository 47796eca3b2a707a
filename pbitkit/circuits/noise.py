"""Transistor noise grounded in device physics, injected into transient simulations.

ngspice computes device noise only in the small-signal ``.noise`` analysis, not in ``.tran``. pbitkit
therefore (1) takes each noisy node's current-noise PSD from the operating point, (2) draws white
Gaussian noise with that PSD from a seeded ``numpy.random.Generator``, and (3) injects it through an
XSPICE ``filesource`` driving a voltage-controlled current source at the node (docs/theory.md §6.3: this is
reproducible, ``TRNOISE`` is not).

The approximation
-----------------
* **White.** The PSD is taken at the operating point and held constant over the transient and over
  frequency. Flicker noise (below ~1 kHz in the latch, see ``docs/cells.md``) and the PSD's dependence on
  the instantaneous state are neglected. The noise is band-limited by the sample spacing ``dt``
  (linear interpolation between samples), so ``dt`` must be ``<= tau/5`` of the fastest node it drives.
* **Channel noise per device** (drain-source current noise, one-sided, A^2/Hz):
  subthreshold / diffusion form ``S = 2 q |I_D| coth(|V_DS| / 2 U_T)`` (the sum of the forward and reverse
  shot-noise components; ``-> 2 q I_D`` in saturation, ``-> 4 k T g_ds`` at ``V_DS -> 0``), or the strong
  inversion form ``S = 4 k T gamma g_m`` (gamma = 2/3). A device's noise enters its drain node (the
  source is at a rail in every pbitkit cell).
* **Resistors**: ``S = 4 k T / R`` (current) or ``4 k T R`` (voltage).
* The reference for the test is ngspice's own ``.noise`` analysis with the BSIM4 (sky130: ``tnoimod=1``)
  noise models: ``tests/circuits/test_noise.py`` checks that the formula is within a stated factor of it
  and that the injected transient noise reproduces the ``.noise`` PSD of the node voltage.

Sampling: white noise of one-sided PSD ``S`` sampled every ``dt`` has ``sigma = sqrt(S / (2 dt))``.

Independent noise per sweep point
---------------------------------
Every sweep point draws its own noise realization from a ``numpy.random.SeedSequence`` whose entropy is
the sweep's ``noise_seed`` and a SHA-256 of the point's identity (device, conditions, parameters, tier,
bias, replica; :func:`point_seed_sequence`), so the P(1) errors of a sweep's points are independent and a
row does not depend on which other points share its ngspice session. Inside one session (models parsed
once) the ``filesource`` of each noise source reads ``noise_<name>.txt``; XSPICE ``filesource`` re-opens
its file at the start of every analysis (measured on ngspice 39.3: a ``tran`` after the file was replaced
reads the new samples), so before the transient of point ``k >= 1`` the control loop copies that point's
table ``noise_<name>.p<k>.txt`` over it (``shell cp``; :func:`session_noise_files`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pbitkit.circuits.ngspice import filesource_noise_text
from pbitkit.constants import K_B, Q_E, kelvin, thermal_voltage  # re-exported: K_B, Q_E, thermal_voltage

__all__ = [
    "K_B",
    "Q_E",
    "thermal_voltage",
    "channel_noise_psd",
    "resistor_current_psd",
    "resistor_voltage_psd",
    "sigma_for_psd",
    "noise_files",
    "point_seed_sequence",
    "session_noise_files",
    "NoiseWindow",
    "windowed_noise_text",
    "welch_psd",
]



def channel_noise_psd(
    id_A: np.ndarray | float,
    vds_V: np.ndarray | float,
    gm_S: np.ndarray | float,
    temp_C: float,
    regime: str = "subthreshold",
    gamma: float = 2.0 / 3.0,
) -> np.ndarray:
    """One-sided drain-current noise PSD (A^2/Hz) of MOSFETs at their operating point.

    Parameters
    ----------
    id_A, vds_V, gm_S : array-like, same shape
        Drain current (A), drain-source voltage (V) and transconductance (S) from the ``.op``.
    temp_C : float
    regime : {"subthreshold", "strong"}
        ``subthreshold``: ``S = 2 q |I_D| coth(|V_DS| / 2 U_T)``; ``strong``: ``S = 4 k T gamma g_m``.

    Returns
    -------
    ndarray, A^2/Hz
    """
    i = np.abs(np.asarray(id_A, dtype=float))
    v = np.abs(np.asarray(vds_V, dtype=float))
    t_k = kelvin(temp_C)
    if regime == "subthreshold":
        x = np.maximum(v / (2 * thermal_voltage(temp_C)), 1e-12)
        # 2 q I coth(x); as V_DS -> 0, I/V_DS -> g_ds and this tends to 4 k T g_ds (no division by 0:
        # x is floored at 1e-12, and I -> 0 with V_DS)
        return 2 * Q_E * i / np.tanh(x)
    if regime == "strong":
        return 4 * K_B * t_k * gamma * np.abs(np.asarray(gm_S, dtype=float))
    raise ValueError(f"channel_noise_psd: regime must be 'subthreshold' or 'strong', got {regime!r}")


def resistor_current_psd(r_Ohm: float, temp_C: float) -> float:
    """Johnson noise current PSD ``4 k T / R`` (A^2/Hz)."""
    return 4 * K_B * (kelvin(temp_C)) / r_Ohm


def resistor_voltage_psd(r_Ohm: float, temp_C: float) -> float:
    """Johnson noise voltage PSD ``4 k T R`` (V^2/Hz)."""
    return 4 * K_B * (kelvin(temp_C)) * r_Ohm


def sigma_for_psd(psd: float, dt_s: float) -> float:
    """Standard deviation of i.i.d. samples every ``dt_s`` whose one-sided PSD is ``psd``: ``sqrt(S/(2 dt))``."""
    if dt_s <= 0:
        raise ValueError(f"sigma_for_psd: dt_s must be > 0, got {dt_s}")
    if psd < 0:
        raise ValueError(f"sigma_for_psd: psd must be >= 0, got {psd}")
    return math.sqrt(psd / (2 * dt_s))


@dataclass(frozen=True)
class NoiseWindow:
    """Periodic windows in which a noise source is active: ``[t_first_s + k period_s, ... + width_s]`` for
    ``k = 0 .. n_periods - 1`` (s). A clocked circuit whose noisy devices conduct only part of each cycle
    (a comparator's input pair during evaluation) needs noise samples only there: the table stays small and
    the noise is zero where the devices carry no current."""

    t_first_s: float
    width_s: float
    period_s: float
    n_periods: int

    def __post_init__(self) -> None:
        if not (0 < self.width_s < self.period_s and self.t_first_s >= 0 and self.n_periods >= 1):
            raise ValueError(f"NoiseWindow needs 0 < width_s < period_s, t_first_s >= 0, n_periods >= 1; got {self}")


def windowed_noise_text(rng: np.random.Generator, *, dt_s: float, window: NoiseWindow) -> str:
    """A ``filesource`` table of unit-variance white noise inside ``window`` and zero outside.

    Each window holds ``m + 1`` samples every ``dt_s`` (``m = round(width_s / dt_s)``), its first and last
    set to 0 so the waveform ramps in and out (linear interpolation); the table starts with ``0 0``. The
    samples inside are i.i.d. Normal(0, 1), drawn in window order from ``rng`` (same seed -> same text).
    A last ``0`` at ``t_first_s + n_periods * period_s`` holds the waveform at zero after the last window
    (past its table's end ``filesource`` would otherwise stop the transient).
    """
    if not (dt_s > 0 and math.isfinite(dt_s)):
        raise ValueError(f"dt_s must be a positive finite time in s, got {dt_s!r}")
    m = max(2, int(round(window.width_s / dt_s)))
    starts = window.t_first_s + np.arange(window.n_periods) * window.period_s
    t = (starts[:, None] + np.arange(m + 1)[None, :] * dt_s).ravel()
    v = rng.standard_normal((window.n_periods, m + 1))
    v[:, 0] = 0.0
    v[:, -1] = 0.0
    tv = np.empty(2 * t.size, dtype=np.float64)
    tv[0::2], tv[1::2] = t, v.ravel()
    head = "" if t[0] <= 0 else "0 0\n"
    t_end = window.t_first_s + window.n_periods * window.period_s
    return head + ("%.17g %.17g\n" * t.size) % tuple(tv.tolist()) + f"{t_end:.17g} 0\n"


def noise_files(
    names: Sequence[str], rng: np.random.Generator, dt_s: float, n_steps: int, window: NoiseWindow | None = None
) -> dict[str, str]:
    """Unit-variance white-noise ``filesource`` tables ``{"noise_<name>.txt": text}``, one per name, drawn
    from independent streams spawned from ``rng`` (same seed -> identical files). With ``window`` the noise
    is confined to it (:func:`windowed_noise_text`; ``n_steps`` is then unused)."""
    streams = rng.spawn(len(names))
    if window is not None:
        return {f"noise_{n}.txt": windowed_noise_text(g, dt_s=dt_s, window=window) for n, g in zip(names, streams)}
    return {
        f"noise_{n}.txt": filesource_noise_text(g, dt_s=dt_s, n_steps=n_steps, sigma=1.0)
        for n, g in zip(names, streams)
    }


def point_seed_sequence(noise_seed: int, identity: str) -> np.random.SeedSequence:
    """The seed of one sweep point's noise: ``SeedSequence([noise_seed, w_0, ..., w_7])`` with ``w_i`` the
    eight little-endian 32-bit words of ``SHA-256(identity)``.

    ``identity`` is a canonical text of everything that makes the point distinct (see
    :meth:`pbitkit.circuits.cell_base.SweepPoint.noise_identity`): equal identities and seeds give identical
    noise (bit-identical rows), any other point gets a statistically independent stream.
    """
    if not isinstance(noise_seed, (int, np.integer)) or noise_seed < 0:
        raise ValueError(f"noise_seed must be an int >= 0, got {noise_seed!r}")
    words = np.frombuffer(hashlib.sha256(identity.encode()).digest(), dtype="<u4")
    return np.random.SeedSequence([int(noise_seed), *(int(w) for w in words)])


def session_noise_files(
    names: Sequence[str], seeds: Sequence[np.random.SeedSequence], dt_s: float, n_steps: int,
    window: NoiseWindow | None = None,
) -> tuple[dict[str, str], list[list[str]]]:
    """Noise tables and control lines giving each point of one ngspice session its own noise.

    Parameters
    ----------
    names
        The noise sources; the netlist's ``filesource`` of source ``name`` reads ``noise_<name>.txt``.
    seeds
        One seed per point, in the session's order (:func:`point_seed_sequence`).
    dt_s, n_steps
        Sample spacing (s) and number of intervals of every table.
    window
        Confine the noise to periodic windows (:class:`NoiseWindow`, :func:`windowed_noise_text`).

    Returns
    -------
    files
        ``{"noise_<name>.txt": point 0's table, "noise_<name>.p<k>.txt": point k's table (k >= 1)}``;
        point ``k``'s tables are :func:`noise_files` of ``Generator(PCG64(seeds[k]))``.
    pre
        Per point, the control lines to run before its analysis: none for point 0, ``shell cp -f
        noise_<name>.p<k>.txt noise_<name>.txt`` for point ``k >= 1`` (``filesource`` re-reads its
        file at the start of every analysis).
    """
    files: dict[str, str] = {}
    pre: list[list[str]] = []
    for k, seed in enumerate(seeds):
        # a fresh copy: spawning advances a SeedSequence's child counter, so reusing ``seed`` would not
        # reproduce the same tables
        fresh = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        tables = noise_files(names, np.random.default_rng(fresh), dt_s, n_steps, window)
        if k == 0:
            files.update(tables)
            pre.append([])
            continue
        lines = []
        for fname, text in tables.items():
            own = f"{fname[:-4]}.p{k}.txt"
            files[own] = text
            lines.append(f"shell cp -f {own} {fname}")
        pre.append(lines)
    return files, pre


def welch_psd(x: np.ndarray, dt_s: float, n_segments: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One-sided PSD of a uniformly sampled record by Welch's method (Hann window, 50 % overlap).

    Returns ``(f_Hz, psd, n_averaged)``; each bin's relative standard error is about
    ``1/sqrt(n_averaged * 0.53)`` (50 %-overlap Hann: ~1.9 segments' worth of averages per 2 segments).
    """
    from scipy.signal import welch

    x = np.asarray(x, dtype=float)
    nper = max(16, x.size // max(1, n_segments))
    f, p = welch(x, fs=1.0 / dt_s, window="hann", nperseg=nper, noverlap=nper // 2, detrend="constant")
    n_avg = max(1, (x.size - nper) // (nper // 2) + 1)
    return f, p, n_avg
