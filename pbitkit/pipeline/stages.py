"""Resumable pipeline stages: each stage's outputs live in its own folder with a completion record.

A stage is *done* when ``<out>/<stage>/stage.json`` exists and records the same input hash (the stage's
own config plus the hashes of the stages it consumes). A re-run skips done stages, so an interrupted
pipeline resumes at the first unfinished stage and a second run is fast. A stage folder holding outputs of
a *different* input hash is refused (:class:`~pbitkit.errors.ProvenanceMismatchError`) rather than mixed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.errors import ProvenanceMismatchError
from pbitkit.io import atomic_write_json, read_json, sha256_json

__all__ = ["StageRecord", "run_stage", "stage_record"]

log = logging.getLogger(__name__)

STAGE_FILE = "stage.json"


@dataclass(frozen=True)
class StageRecord:
    """What a finished stage left behind: its folder, input hash, summary and wall time (s)."""

    name: str
    path: Path
    inputs_hash: str
    summary: dict[str, Any]
    wall_time_s: float
    reused: bool


def stage_record(stage_dir: Path) -> dict[str, Any] | None:
    """The completion record of a stage folder, or ``None`` if the stage never finished."""
    f = stage_dir / STAGE_FILE
    return read_json(f) if f.exists() else None


def run_stage(
    name: str,
    out_dir: Path,
    inputs: dict[str, Any],
    body: Callable[[Path], dict[str, Any]],
    *,
    overwrite: bool = False,
) -> StageRecord:
    """Run ``body(stage_dir) -> summary`` unless the stage already finished with the same ``inputs``.

    Parameters
    ----------
    name
        Stage name; its folder is ``out_dir / name``.
    inputs
        JSON-ready description of everything the stage's result depends on (config section and the
        input hashes of upstream stages). Its hash identifies the result.
    body
        Does the work, writing files into the stage folder (atomically) and returning a JSON-ready summary.
    overwrite
        Re-run even when a finished record with another input hash exists.

    Raises
    ------
    ProvenanceMismatchError
        If the folder holds a finished stage made from other inputs and ``overwrite`` is false.
    """
    stage_dir = out_dir / name
    inputs_hash = sha256_json(inputs)
    old = stage_record(stage_dir)
    if old is not None:
        if old.get("inputs_hash") == inputs_hash:
            log.info("stage %s: reusing finished result in %s", name, stage_dir)
            return StageRecord(name, stage_dir, inputs_hash, old.get("summary", {}), old.get("wall_time_s", 0.0), True)
        if not overwrite:
            raise ProvenanceMismatchError(
                f"{stage_dir} holds a '{name}' result made from other inputs (hash {str(old.get('inputs_hash'))[:12]} "
                f"vs {inputs_hash[:12]}); refusing to mix artifacts. Use another --out directory or --overwrite."
            )
    stage_dir.mkdir(parents=True, exist_ok=True)
    log.info("stage %s: running", name)
    t0 = time.perf_counter()
    summary = body(stage_dir)
    wall = time.perf_counter() - t0
    atomic_write_json(
        stage_dir / STAGE_FILE,
        {"stage": name, "inputs_hash": inputs_hash, "inputs": inputs, "summary": summary, "wall_time_s": wall},
    )
    log.info("stage %s: done in %.1f s", name, wall)
    return StageRecord(name, stage_dir, inputs_hash, summary, wall, False)
