"""The exception hierarchy shared by every pbitkit stage.

Every error a user can cause derives from :class:`PbitkitError`; messages name the bad field, file or value
and what was expected.
"""

from __future__ import annotations

__all__ = [
    "PbitkitError",
    "ConfigError",
    "SimulationError",
    "NgspiceNotFoundError",
    "SimulationTimeoutError",
    "ModelCardError",
    "DatasetError",
    "ProvenanceMismatchError",
]


class PbitkitError(Exception):
    """Base class of all pbitkit errors."""


class ConfigError(PbitkitError, ValueError):
    """A configuration or specification value is missing, unknown, of the wrong type or out of range."""


class SimulationError(PbitkitError, RuntimeError):
    """ngspice failed: bad netlist, missing model, non-convergence. Carries ngspice's own message."""


class NgspiceNotFoundError(SimulationError):
    """The ngspice executable or shared library is not installed or cannot be found."""


class SimulationTimeoutError(SimulationError):
    """A simulation exceeded its wall-clock timeout."""


class ModelCardError(PbitkitError, ValueError):
    """A DeviceModel card is invalid: missing/unknown field, wrong type, out of physical range, bad schema."""


class DatasetError(PbitkitError, ValueError):
    """A dataset file is missing, unreadable or has the wrong shape."""


class ProvenanceMismatchError(PbitkitError):
    """A run directory or cache holds artifacts produced from a different configuration."""
