"""Resumable stages: reuse on re-run, resume after an interrupt, refusal to mix configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbitkit.errors import ProvenanceMismatchError
from pbitkit.io import atomic_write_text
from pbitkit.pipeline.stages import run_stage, stage_record


def test_second_run_reuses_and_changed_inputs_are_refused(tmp_path: Path) -> None:
    calls: list[int] = []

    def body(d: Path) -> dict:
        calls.append(1)
        atomic_write_text(d / "out.txt", "x")
        return {"n": 1}

    first = run_stage("fit", tmp_path, {"a": 1}, body)
    second = run_stage("fit", tmp_path, {"a": 1}, body)
    assert (first.reused, second.reused, len(calls)) == (False, True, 1)
    assert second.summary == {"n": 1}
    with pytest.raises(ProvenanceMismatchError, match="refusing to mix"):
        run_stage("fit", tmp_path, {"a": 2}, body)
    third = run_stage("fit", tmp_path, {"a": 2}, body, overwrite=True)
    assert not third.reused and len(calls) == 2


def test_interrupted_stage_is_rerun(tmp_path: Path) -> None:
    def interrupted(d: Path) -> dict:
        atomic_write_text(d / "partial.txt", "half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage("dtm", tmp_path, {"a": 1}, interrupted)
    assert stage_record(tmp_path / "dtm") is None
    rec = run_stage("dtm", tmp_path, {"a": 1}, lambda d: {"ok": True})
    assert rec.summary == {"ok": True} and not rec.reused
