"""Provenance records: what produced an artifact (versions, platform, git commit, date, inputs)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pbitkit

__all__ = ["environment_provenance", "package_version", "git_commit"]

_PACKAGES = ("numpy", "scipy", "numba", "sympy", "scikit-learn", "matplotlib", "PySpice", "sky130", "dask")


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name`` or ``None``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """The git commit of the pbitkit source tree (with ``-dirty`` when modified), or ``None``."""
    root = Path(repo) if repo else Path(pbitkit.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def environment_provenance(**extra: Any) -> dict[str, Any]:
    """A JSON-ready record of the software environment plus ``extra`` fields (configs, hashes, seeds)."""
    record: dict[str, Any] = {
        "pbitkit_version": pbitkit.__version__,
        "git_commit": git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": {name: package_version(name) for name in _PACKAGES},
    }
    record.update(extra)
    return record
