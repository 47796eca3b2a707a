"""Run directories: one folder per run holding its config, provenance, outputs and a log.

Layout::

    RUN_DIR/
      run.json          kind, config (as given), config hash, provenance (versions, git commit, date)
      pbitkit.log       the CLI's log of this run
      ...               the stage's outputs (tables, cards, plots, reports)

Re-opening an existing run directory with a *different* config raises
:class:`~pbitkit.errors.ProvenanceMismatchError` instead of silently mixing artifacts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.errors import PbitkitError, ProvenanceMismatchError
from pbitkit.io import atomic_write_json, read_json, sha256_json
from pbitkit.provenance import environment_provenance

__all__ = ["RunDir", "open_run_dir"]

RUN_FILE = "run.json"


@dataclass(frozen=True)
class RunDir:
    """An opened run directory. ``path / name`` gives an artifact's path."""

    path: Path
    kind: str
    config_hash: str

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def record(self) -> dict[str, Any]:
        """The ``run.json`` record."""
        return read_json(self.path / RUN_FILE)


def open_run_dir(
    path: str | os.PathLike[str], *, kind: str, config: dict[str, Any], overwrite: bool = False
) -> RunDir:
    """Create or resume a run directory for a run of ``kind`` with ``config`` (a JSON-ready dict).

    Raises
    ------
    ProvenanceMismatchError
        If ``path`` already holds a run of another kind or config and ``overwrite`` is false.
    PbitkitError
        If the directory cannot be created (names the path and the OS reason).
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise PbitkitError(f"run directory {p} is a file, not a directory (give another --out)")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PbitkitError(f"cannot create run directory {p}: {exc.strerror or exc}") from exc
    config_hash = sha256_json(config)
    run_file = p / RUN_FILE
    if run_file.exists() and not overwrite:
        old = read_json(run_file)
        if old.get("kind") != kind or old.get("config_hash") != config_hash:
            raise ProvenanceMismatchError(
                f"{p} already holds a '{old.get('kind')}' run with config hash {str(old.get('config_hash'))[:12]}; "
                f"this '{kind}' run has config hash {config_hash[:12]}. Use another --out directory or --overwrite."
            )
        return RunDir(p, kind, config_hash)
    atomic_write_json(
        run_file,
        {"kind": kind, "config_hash": config_hash, "config": config, "provenance": environment_provenance()},
    )
    return RunDir(p, kind, config_hash)
