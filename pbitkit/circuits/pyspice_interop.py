"""The one place pbitkit imports PySpice: its netlist classes and its ngspice shared-library binding.

PySpice 1.5 (Python ≥ 3.8) is a core dependency. Its maintained fork InSpice has the same API under the
package name ``InSpice`` but needs Python ≥ 3.12; where it runs, switching is the one line
``PACKAGE = "InSpice"`` below. Tested: PySpice 1.5 with ngspice 39.3 (Debian ``libngspice0``), NumPy 2.4,
Python 3.11 (InSpice was not tested: it does not import on 3.11).

PySpice's shared mode needs ngspice's shared library. PySpice itself looks only for the unversioned
``libngspice.so`` (which Debian ships only in ``libngspice0-dev``); :func:`find_libngspice` finds the
library robustly (``$NGSPICE_LIBRARY_PATH``, then the dynamic loader's search, then the usual directories)
and :func:`ngspice_shared_class` points PySpice at it.
"""

from __future__ import annotations

import ctypes.util
import functools
import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from pbitkit.errors import NgspiceNotFoundError, PbitkitError

__all__ = [
    "PACKAGE",
    "LIBRARY_ENV",
    "find_libngspice",
    "pyspice_module",
    "pyspice_version",
    "circuit_class",
    "subcircuit_class",
    "ngspice_shared_class",
]

#: The PySpice-API package to use: "PySpice" (tested) or its fork "InSpice" (same API, Python >= 3.12).
PACKAGE = "PySpice"

#: Environment variable naming ngspice's shared library (PySpice's own convention).
LIBRARY_ENV = "NGSPICE_LIBRARY_PATH"

_LIB_NAMES = ("libngspice.so.0", "libngspice.so", "libngspice.dylib", "libngspice.0.dylib")
_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
             "/opt/homebrew/lib", "/opt/local/lib")


def find_libngspice() -> str:
    """Path (or loader name) of ngspice's shared library.

    Order: ``$NGSPICE_LIBRARY_PATH`` (must exist), the dynamic loader's search
    (``ctypes.util.find_library("ngspice")``, e.g. ``libngspice.so.0``), then ``libngspice.so.0`` /
    ``libngspice.so`` / ``libngspice.dylib`` in the usual library directories.

    Raises
    ------
    NgspiceNotFoundError
        Naming what to install, or the bad ``$NGSPICE_LIBRARY_PATH``.
    """
    env = os.environ.get(LIBRARY_ENV, "").strip()
    if env:
        if not Path(env).is_file():
            raise NgspiceNotFoundError(f"${LIBRARY_ENV}={env!r} is not a file (point it at libngspice.so.0, or unset it)")
        return env
    name = ctypes.util.find_library("ngspice")
    if name:
        return name
    for d in _LIB_DIRS:
        for n in _LIB_NAMES:
            if (Path(d) / n).is_file():
                return str(Path(d) / n)
    raise NgspiceNotFoundError(
        "ngspice's shared library (libngspice.so.0) was not found: install it with `apt-get install libngspice0` "
        f"(which `make test` does), or set {LIBRARY_ENV} to its path")


@functools.lru_cache(maxsize=1)
def pyspice_module() -> ModuleType:
    """The imported PySpice package (``PACKAGE``).

    Raises
    ------
    PbitkitError
        If it is not installed (with the install command).
    """
    try:
        return importlib.import_module(PACKAGE)
    except ImportError as exc:
        raise PbitkitError(f"{PACKAGE} is not installed: pip install 'PySpice>=1.5' (a pbitkit dependency; "
                           f"`make test` installs it): {exc}") from exc


def pyspice_version() -> str:
    """E.g. ``"PySpice 1.5"``."""
    mod = pyspice_module()
    return f"{PACKAGE} {getattr(mod, '__version__', '?')}"


def _sub(name: str) -> ModuleType:
    pyspice_module()
    return importlib.import_module(f"{PACKAGE}.{name}")


def circuit_class() -> type[Any]:
    """PySpice's ``Circuit`` (``PySpice.Spice.Netlist.Circuit``)."""
    return _sub("Spice.Netlist").Circuit


def subcircuit_class() -> type[Any]:
    """PySpice's ``SubCircuit`` (``PySpice.Spice.Netlist.SubCircuit``)."""
    return _sub("Spice.Netlist").SubCircuit


@functools.lru_cache(maxsize=1)
def ngspice_shared_class() -> type[Any]:
    """PySpice's ``NgSpiceShared``, pointed at :func:`find_libngspice`.

    Raises
    ------
    NgspiceNotFoundError, PbitkitError
        If the library or PySpice is missing.
    """
    lib = find_libngspice()
    cls = _sub("Spice.NgSpice.Shared").NgSpiceShared
    # PySpice formats the path with the instance id ("libngspice{}.so"); a literal path needs no field
    cls.LIBRARY_PATH = lib.replace("{", "{{").replace("}", "}}")
    return cls
