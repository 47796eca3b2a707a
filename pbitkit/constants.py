"""Physical constants and unit conversions shared by every stage (SI units, one definition each).

Every other module imports these names instead of writing the numbers inline (a test scans the package
for inline copies).

Constants
---------
``K_B``
    Boltzmann constant, 1.380649e-23 J/K (exact since the 2019 SI redefinition).
``Q_E``
    Elementary charge, 1.602176634e-19 C (exact since 2019).
``ZERO_CELSIUS_K``
    0 degC in kelvin, 273.15 K (exact by definition).
``PROBIT_TO_LOGISTIC``
    1.702: the scale factor with ``|Phi(x) - sigmoid(1.702 x)| < 0.0095`` for every ``x`` (Bowling et al.,
    "A logistic approximation to the cumulative normal distribution", J. Ind. Eng. Manag. 2 (2009)).
    A probit p-bit ``Phi((V - v0) / sigma)`` is the logistic ``sigmoid((V - v0) / vs)`` with
    ``vs = sigma / PROBIT_TO_LOGISTIC`` within that error.
"""

from __future__ import annotations

import numpy as np

__all__ = ["K_B", "Q_E", "ZERO_CELSIUS_K", "PROBIT_TO_LOGISTIC", "kelvin", "thermal_voltage"]

#: Boltzmann constant in J/K (exact, SI 2019).
K_B = 1.380649e-23
#: Elementary charge in C (exact, SI 2019).
Q_E = 1.602176634e-19
#: 0 degC in K.
ZERO_CELSIUS_K = 273.15
#: Probit-to-logistic scale: ``Phi(x) ~= sigmoid(PROBIT_TO_LOGISTIC * x)`` (max error 0.0095).
PROBIT_TO_LOGISTIC = 1.702


def kelvin(temp_C: float | np.ndarray) -> float | np.ndarray:
    """Absolute temperature in K of ``temp_C`` degrees Celsius: ``T = temp_C + 273.15``.

    Examples
    --------
    >>> kelvin(27.0)
    300.15
    """
    return temp_C + ZERO_CELSIUS_K


def thermal_voltage(temp_C: float | np.ndarray) -> float | np.ndarray:
    """Thermal voltage ``U_T = k_B T / q`` in V at ``temp_C`` degrees Celsius.

    Parameters
    ----------
    temp_C
        Temperature in degC (scalar or array).

    Returns
    -------
    float or ndarray
        ``U_T`` in V (25.86 mV at 27 degC).

    Examples
    --------
    >>> round(thermal_voltage(27.0) * 1e3, 2)
    25.86
    """
    return K_B * kelvin(temp_C) / Q_E
