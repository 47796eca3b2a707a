"""pbitkit: from transistor-level p-bit circuits to denoising thermodynamic models on p-bit arrays.

Stages (sub-packages): :mod:`pbitkit.circuits` (ngspice characterization), :mod:`pbitkit.pbitmodel`
(fitted device models), :mod:`pbitkit.array` (device-aware p-bit array simulator) and
:mod:`pbitkit.dtm` (denoising thermodynamic models).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
