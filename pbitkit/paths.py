"""Where pbitkit finds its shipped files (netlists, data) and keeps its caches.

The SPICE netlists live at the repository's top level (``netlists/``) and are also shipped inside the
wheel, mapped into the package as ``pbitkit/netlists`` (``setup.py`` copies them at build time); the small
data files live in ``pbitkit/data``. Both are found through :mod:`importlib.resources`, so a plain
``pip install`` of the wheel works from any directory. Caches go to the user's cache directory, never into
the source tree or the installed package.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from pbitkit.errors import PbitkitError

__all__ = ["repo_root", "netlists_dir", "data_dir", "cache_dir", "user_cache_dir", "NETLISTS_ENV", "CACHE_ENV"]

#: Environment variable that points pbitkit at another netlist tree.
NETLISTS_ENV = "PBITKIT_NETLISTS"
#: Environment variable that overrides the cache directory.
CACHE_ENV = "PBITKIT_CACHE"


def repo_root() -> Path:
    """The directory holding the ``pbitkit`` package (the source tree root in a checkout)."""
    return Path(__file__).resolve().parent.parent


def _package_resource(name: str) -> Path | None:
    """``pbitkit/<name>`` inside the installed package as a file-system directory, or ``None``."""
    res = resources.files("pbitkit") / name
    path = Path(str(res))
    return path if res.is_dir() and path.is_dir() else None


def netlists_dir() -> Path:
    """Directory of the shipped SPICE netlists (``cells/``, ``models/``, ``testbenches/``).

    In order: ``$PBITKIT_NETLISTS``; the checkout's top-level ``netlists/`` (when running from a source
    tree, next to ``pyproject.toml``); the copy inside the installed package (``pbitkit/netlists``).

    Raises
    ------
    PbitkitError
        If ``$PBITKIT_NETLISTS`` is set but is not a directory, or no netlist tree is found.
    """
    env = os.environ.get(NETLISTS_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise PbitkitError(f"${NETLISTS_ENV} = {env!r} is not a directory")
        return path
    root = repo_root()
    if (root / "pyproject.toml").is_file() and (root / "netlists").is_dir():
        return root / "netlists"
    shipped = _package_resource("netlists")
    if shipped is None:
        raise PbitkitError(
            f"no netlist directory: neither {root / 'netlists'} (source tree) nor the package's own copy "
            f"(pbitkit/netlists) exists; reinstall pbitkit or set {NETLISTS_ENV} to the netlists/ folder"
        )
    return shipped


def data_dir() -> Path:
    """Directory of small shipped data files (default device card, classifier weights)."""
    path = _package_resource("data")
    if path is None:
        raise PbitkitError("the package's data directory pbitkit/data is missing; reinstall pbitkit")
    return path


def user_cache_dir() -> Path:
    """The platform's per-user cache directory for pbitkit (not created).

    Linux and other POSIX systems: ``$XDG_CACHE_HOME/pbitkit`` or ``~/.cache/pbitkit``; macOS:
    ``~/Library/Caches/pbitkit``; Windows: ``%LOCALAPPDATA%\\pbitkit\\Cache``.
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "pbitkit" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "pbitkit"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "pbitkit"


def cache_dir() -> Path:
    """Root of pbitkit's caches: ``$PBITKIT_CACHE``, else :func:`user_cache_dir` (created on demand)."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env) if env else user_cache_dir()
    if path.exists() and not path.is_dir():
        raise PbitkitError(f"cache directory {path} is a file (set {CACHE_ENV} to a directory)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PbitkitError(f"cannot create cache directory {path}: {exc.strerror or exc}") from exc
    return path
