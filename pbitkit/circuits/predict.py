"""Predicted tier: fast analyses that predict a cell's sigmoid and rates without transient noise runs."""

from __future__ import annotations

import math
from collections.abc import Mapping

from pbitkit.circuits.noise import resistor_voltage_psd

__all__ = ["amplified_noise_rms"]


def amplified_noise_rms(params: Mapping[str, float], temp_C: float) -> float:
    """RMS (V) of the StrongARM cell's input noise: ``sqrt(4 k T R A^2 * (pi/2) f_p)`` (white noise
    through a single-pole low-pass of corner ``f_p``: noise bandwidth ``pi f_p / 2``)."""
    s_v = resistor_voltage_psd(params["r_noise_Ohm"], temp_C) * params["noise_gain"] ** 2
    return math.sqrt(s_v * math.pi / 2 * params["f_noise_Hz"])
