"""Resumable pipeline stages: each stage's outputs live in its own folder with a completion record.

A stage is *done* when ``<out>/<stage>/stage.json`` exists and records the same input hash. The inputs are
the stage's own config, the hashes of the stages it consumes and the **code version** of what it runs
(:func:`code_version`): the package version plus a SHA-256 over the source of the sub-packages the stage
executes (and the shipped netlists / data it reads). They hold content, never a location, so a run
directory copied elsewhere is accepted, and a run resumed after the code changed re-runs the stages whose
code changed instead of reusing results made by older code.

A re-run skips done stages, so an interrupted pipeline resumes at the first unfinished stage and a second
run is fast. Before a done stage is reused, every file it wrote is checked against the size and SHA-256
recorded in ``stage.json`` when it was written (CSV files also by row count): a missing, truncated or
edited output makes the stage run again, with a warning naming the file. A stage folder holding outputs of
a *different* input hash is refused (:class:`~pbitkit.errors.ProvenanceMismatchError`) rather than mixed;
with ``overwrite`` its folder is emptied before the stage runs again, and so is the partial work of an
interrupted stage whose inputs differ from this run's (``.stage-running.json`` records them), so that a
stage resumes only its own work (e.g. training checkpoints made on another device card are never continued).

Why a source hash and not ``git describe``: an installed wheel has no git repository, and a dirty tree
has one description for many contents; the package version alone does not change between commits.
Hashing the source the stage executes is exact, works everywhere and costs a few milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.errors import PbitkitError, ProvenanceMismatchError
from pbitkit.io import atomic_write_json, read_json, sha256_file, sha256_json
from pbitkit.provenance import code_version, source_sha256

__all__ = ["StageRecord", "run_stage", "stage_record", "code_version", "source_sha256", "verify_outputs",
           "StageOutputError"]

log = logging.getLogger(__name__)

STAGE_FILE = "stage.json"
#: The input hash of a stage while its body runs (removed when it finishes): partial work in the folder
#: (e.g. the DTM's training checkpoints) is resumed only by a run with the same inputs.
RUNNING_FILE = ".stage-running.json"

#: Files of a stage folder that are not stage outputs (the completion record itself, logs).
_NOT_OUTPUTS = {STAGE_FILE, "pbitkit.log"}


class StageOutputError(PbitkitError):
    """A finished stage's output file is missing or differs from what the stage recorded when it wrote it."""


def _csv_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _record_outputs(stage_dir: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(stage_dir.rglob("*")):
        rel = f.relative_to(stage_dir).as_posix()
        if not f.is_file() or rel in _NOT_OUTPUTS or f.name.startswith("."):
            continue
        entry: dict[str, Any] = {"bytes": f.stat().st_size, "sha256": sha256_file(f)}
        if f.suffix == ".csv":
            entry["lines"] = _csv_rows(f)
        out[rel] = entry
    return out


def verify_outputs(stage_dir: Path, record: dict[str, Any]) -> None:
    """Check every output file listed in a stage record against its recorded size, row count and SHA-256.

    Raises
    ------
    StageOutputError
        Naming the first file that is missing, truncated or changed (or the record, if it lists no outputs).
    """
    outputs = record.get("outputs")
    if not isinstance(outputs, dict):
        raise StageOutputError(f"{stage_dir / STAGE_FILE} records no output checksums (written by an older pbitkit)")
    for rel, want in outputs.items():
        f = stage_dir / rel
        if not f.is_file():
            raise StageOutputError(f"{f} is missing (the finished stage wrote it)")
        size = f.stat().st_size
        if "lines" in want and size != want.get("bytes"):
            rows = _csv_rows(f)
            raise StageOutputError(
                f"{f} has {rows} lines, the stage wrote {want['lines']} ({size} of {want['bytes']} bytes)"
            )
        if size != want.get("bytes"):
            raise StageOutputError(f"{f} has {size} bytes, the stage wrote {want.get('bytes')}")
        if sha256_file(f) != want.get("sha256"):
            raise StageOutputError(f"{f} was modified after the stage wrote it (SHA-256 differs)")


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
    code: Sequence[str] = (),
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
    code
        The parts of pbitkit the stage runs (see :func:`code_version`); their version joins ``inputs``.

    Raises
    ------
    ProvenanceMismatchError
        If the folder holds a finished stage made from other inputs and ``overwrite`` is false.
    """
    stage_dir = out_dir / name
    inputs = {**inputs, "code": code_version(tuple(code))}
    inputs_hash = sha256_json(inputs)
    old = stage_record(stage_dir)
    if old is not None:
        if old.get("inputs_hash") == inputs_hash:
            try:
                verify_outputs(stage_dir, old)
            except StageOutputError as exc:
                log.warning("stage %s: not reusing the finished result: %s; running it again", name, exc)
            else:
                log.info("stage %s: reusing finished result in %s", name, stage_dir)
                return StageRecord(name, stage_dir, inputs_hash, old.get("summary", {}),
                                   old.get("wall_time_s", 0.0), True)
        elif not overwrite:
            old_code = (old.get("inputs") or {}).get("code")
            why = (f"made by other code (pbitkit source {str((old_code or {}).get('source_sha256'))[:12]} vs "
                   f"{inputs['code']['source_sha256'][:12]})" if old_code != inputs["code"] else "made from other inputs")
            raise ProvenanceMismatchError(
                f"{stage_dir} holds a '{name}' result {why} (hash {str(old.get('inputs_hash'))[:12]} "
                f"vs {inputs_hash[:12]}); refusing to mix artifacts. Use another --out directory or --overwrite."
            )
    running = stage_dir / RUNNING_FILE
    started = _running_hash(running)
    if (old is not None and old.get("inputs_hash") != inputs_hash) or (started is not None and started != inputs_hash):
        log.warning("stage %s: discarding %s in %s (made from other inputs)", name,
                    "its finished result" if old is not None and old.get("inputs_hash") != inputs_hash
                    else "the partial work of an interrupted run", stage_dir)
        _empty(stage_dir)
    try:
        stage_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PbitkitError(f"cannot create stage folder {stage_dir}: {exc.strerror or exc}") from exc
    (stage_dir / STAGE_FILE).unlink(missing_ok=True)  # not done until the body has finished again
    atomic_write_json(running, {"stage": name, "inputs_hash": inputs_hash})
    log.info("stage %s: running", name)
    t0 = time.perf_counter()
    summary = body(stage_dir)
    wall = time.perf_counter() - t0
    atomic_write_json(
        stage_dir / STAGE_FILE,
        {"stage": name, "inputs_hash": inputs_hash, "inputs": inputs, "summary": summary, "wall_time_s": wall,
         "outputs": _record_outputs(stage_dir)},
    )
    running.unlink(missing_ok=True)
    log.info("stage %s: done in %.1f s", name, wall)
    return StageRecord(name, stage_dir, inputs_hash, summary, wall, False)


def _running_hash(path: Path) -> str | None:
    """The input hash an interrupted stage was started with (``None``: none recorded); an unreadable record
    counts as another run's."""
    if not path.exists():
        return None
    try:
        return str(read_json(path)["inputs_hash"])
    except (PbitkitError, KeyError, TypeError):
        return "unreadable"


def _empty(stage_dir: Path) -> None:
    """Remove everything in ``stage_dir`` (the folder itself stays)."""
    import shutil

    try:
        for f in stage_dir.iterdir():
            if f.is_dir() and not f.is_symlink():
                shutil.rmtree(f)
            else:
                f.unlink()
    except OSError as exc:
        raise PbitkitError(f"cannot empty stage folder {stage_dir}: {exc.strerror or exc}") from exc
