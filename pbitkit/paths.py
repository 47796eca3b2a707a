"""Where pbitkit finds its shipped files (netlists, data) and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

from pbitkit.errors import PbitkitError

__all__ = ["repo_root", "netlists_dir", "data_dir", "cache_dir"]


def repo_root() -> Path:
    """The source tree root (the directory holding ``pbitkit/`` and ``netlists/``)."""
    return Path(__file__).resolve().parent.parent


def netlists_dir() -> Path:
    """Directory of the shipped SPICE netlists (``$PBITKIT_NETLISTS`` overrides)."""
    env = os.environ.get("PBITKIT_NETLISTS")
    path = Path(env) if env else repo_root() / "netlists"
    if not path.is_dir():
        raise PbitkitError(f"netlist directory not found: {path} (set PBITKIT_NETLISTS to the netlists/ folder)")
    return path


def data_dir() -> Path:
    """Directory of small shipped data files (default device card, classifier weights)."""
    return Path(__file__).resolve().parent / "data"


def cache_dir() -> Path:
    """Root of pbitkit's caches: ``$PBITKIT_CACHE`` or ``<repo>/.cache/pbitkit`` (created on demand)."""
    env = os.environ.get("PBITKIT_CACHE")
    path = Path(env) if env else repo_root() / ".cache" / "pbitkit"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PbitkitError(f"cannot create cache directory {path}: {exc.strerror or exc}") from exc
    return path
