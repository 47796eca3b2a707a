"""Provenance records: what produced an artifact (versions, platform, git commit, date, inputs)."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pbitkit

__all__ = ["environment_provenance", "package_version", "git_commit", "code_version", "source_sha256"]

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


def _tree_digest(h: Any, root: Path, patterns: Sequence[str]) -> None:
    for pattern in patterns:
        for f in sorted(root.rglob(pattern)):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")


def source_sha256(package_dir: Path, netlists: Path | None, parts: Sequence[str]) -> str:
    """SHA-256 over the top-level modules of ``package_dir`` and the listed ``parts`` (see
    :func:`code_version`): relative file names and bytes, never absolute paths."""
    h = hashlib.sha256()
    for f in sorted(package_dir.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    for part in sorted(set(parts)):
        h.update(b"[" + part.encode() + b"]")
        if part == "netlists":
            if netlists is None:
                raise ValueError("code_version: 'netlists' needs the netlist directory")
            _tree_digest(h, netlists, ("*",))
        elif part == "data":
            _tree_digest(h, package_dir / "data", ("*",))
        elif (package_dir / part).is_dir():
            _tree_digest(h, package_dir / part, ("*.py",))
        else:
            raise ValueError(f"code_version: unknown part {part!r}")
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def code_version(parts: tuple[str, ...] = ()) -> dict[str, str]:
    """The version of the code a stage runs: ``{"pbitkit": version, "source_sha256": hex}``.

    Parameters
    ----------
    parts
        Sub-packages of :mod:`pbitkit` the stage executes (``"circuits"``, ``"dtm"``, ...); ``"netlists"``
        and ``"data"`` add the shipped netlist tree and data files. The package's top-level modules
        (``io``, ``config``, ``constants``, ...) are always included.

    The digest covers file names (relative) and bytes, never absolute paths: the same code installed
    anywhere gives the same version.
    """
    from pbitkit.paths import netlists_dir

    pkg = Path(pbitkit.__file__).resolve().parent
    netlists = netlists_dir() if "netlists" in parts else None
    return {"pbitkit": pbitkit.__version__, "source_sha256": source_sha256(pkg, netlists, parts)}
