"""Resumable stages: reuse on re-run, resume after an interrupt, refusal to mix configs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbitkit.errors import ProvenanceMismatchError
from pbitkit.io import atomic_write_json, atomic_write_text, read_json
from pbitkit.pipeline import stages
from pbitkit.pipeline.stages import StageOutputError, run_stage, stage_record, verify_outputs


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


def test_partial_work_is_resumed_only_by_a_run_with_the_same_inputs(tmp_path: Path) -> None:
    """A stage's folder may hold partial work (the DTM's training checkpoints): an interrupted run resumes it
    with the same inputs; a run with other inputs (--overwrite over a finished result, or after an
    interrupted run of another config) starts from an empty folder instead of continuing stale work."""
    seen: list[bool] = []

    def resumable(d: Path) -> dict:
        seen.append((d / "ckpt.txt").exists())
        atomic_write_text(d / "ckpt.txt", "epoch 10")
        return {"ok": True}

    def interrupted(d: Path) -> dict:
        atomic_write_text(d / "ckpt.txt", "epoch 3")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage("dtm_train", tmp_path, {"card": "a"}, interrupted)
    run_stage("dtm_train", tmp_path, {"card": "a"}, resumable)  # same inputs: resumes the checkpoint
    run_stage("dtm_train", tmp_path, {"card": "b"}, resumable, overwrite=True)  # finished, other inputs: emptied
    with pytest.raises(KeyboardInterrupt):
        run_stage("dtm_train", tmp_path, {"card": "c"}, interrupted, overwrite=True)
    run_stage("dtm_train", tmp_path, {"card": "d"}, resumable)  # interrupted run of other inputs: emptied
    assert seen == [True, False, False]
    assert not (tmp_path / "dtm_train" / stages.RUNNING_FILE).exists()  # finished: no in-progress record
    assert stage_record(tmp_path / "dtm_train")["inputs"]["card"] == "d"


def _csv_body(calls: list[int]):
    def body(d: Path) -> dict:
        calls.append(1)
        atomic_write_text(d / "table.csv", "a,b\n" + "".join(f"{i},{i * i}\n" for i in range(8)))
        atomic_write_text(d / "sub" / "note.txt", "abc")
        return {"rows": 8}

    return body


def test_cut_csv_output_is_detected_and_the_stage_reruns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    run_stage("characterize_x", tmp_path, {"a": 1}, _csv_body(calls))
    table = tmp_path / "characterize_x" / "table.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:4]))  # cut at a line boundary: still a valid CSV
    with pytest.raises(StageOutputError, match=r"table.csv has 4 lines, the stage wrote 9"):
        verify_outputs(tmp_path / "characterize_x", stage_record(tmp_path / "characterize_x"))
    with caplog.at_level("WARNING", logger="pbitkit.pipeline.stages"):
        rec = run_stage("characterize_x", tmp_path, {"a": 1}, _csv_body(calls))
    assert not rec.reused and len(calls) == 2
    assert any("table.csv has 4 lines" in r.getMessage() for r in caplog.records)
    assert len(table.read_text().splitlines()) == 9
    assert run_stage("characterize_x", tmp_path, {"a": 1}, _csv_body(calls)).reused  # healed


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda d: (d / "sub" / "note.txt").write_text("abd"), "note.txt was modified"),  # same size
        (lambda d: (d / "sub" / "note.txt").unlink(), "note.txt is missing"),
        (lambda d: (d / "sub" / "note.txt").write_text("ab"), "note.txt has 2 bytes, the stage wrote 3"),
    ],
)
def test_changed_or_missing_outputs_are_named(tmp_path: Path, damage, needle: str) -> None:
    calls: list[int] = []
    run_stage("s", tmp_path, {"a": 1}, _csv_body(calls))
    damage(tmp_path / "s")
    with pytest.raises(StageOutputError, match=needle):
        verify_outputs(tmp_path / "s", stage_record(tmp_path / "s"))
    assert not run_stage("s", tmp_path, {"a": 1}, _csv_body(calls)).reused


def test_record_without_checksums_is_not_trusted(tmp_path: Path) -> None:
    calls: list[int] = []
    run_stage("s", tmp_path, {"a": 1}, _csv_body(calls))
    rec_file = tmp_path / "s" / "stage.json"
    rec = read_json(rec_file)
    del rec["outputs"]  # a record of an older pbitkit
    atomic_write_json(rec_file, rec)
    with pytest.raises(StageOutputError, match="records no output checksums"):
        verify_outputs(tmp_path / "s", rec)
    assert not run_stage("s", tmp_path, {"a": 1}, _csv_body(calls)).reused


def test_copied_stage_folder_is_reused(tmp_path: Path) -> None:
    calls: list[int] = []
    run_stage("s", tmp_path / "a", {"a": 1}, _csv_body(calls))
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    assert run_stage("s", tmp_path / "elsewhere" / "b", {"a": 1}, _csv_body(calls)).reused
    assert len(calls) == 1


def test_results_of_other_code_are_not_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    first = run_stage("s", tmp_path, {"a": 1}, _csv_body(calls), code=("dtm",))
    assert first.inputs_hash == stage_record(tmp_path / "s")["inputs_hash"]
    assert stage_record(tmp_path / "s")["inputs"]["code"] == stages.code_version(("dtm",))
    monkeypatch.setattr(stages, "code_version", lambda parts: {"pbitkit": "0.1.0", "source_sha256": "older"})
    with pytest.raises(ProvenanceMismatchError, match="made by other code"):
        run_stage("s", tmp_path, {"a": 1}, _csv_body(calls), code=("dtm",))
    assert not run_stage("s", tmp_path, {"a": 1}, _csv_body(calls), code=("dtm",), overwrite=True).reused


def test_source_hash_follows_content_not_location(tmp_path: Path) -> None:
    pkg = Path(stages.__file__).resolve().parent.parent
    a = tmp_path / "a" / "pbitkit"
    shutil.copytree(pkg, a, ignore=shutil.ignore_patterns("__pycache__"))
    b = tmp_path / "somewhere" / "else" / "pbitkit"
    shutil.copytree(a, b)
    parts = ("dtm", "array", "data")
    assert stages.source_sha256(a, None, parts) == stages.source_sha256(b, None, parts)
    assert stages.source_sha256(a, None, parts) == stages.code_version(parts)["source_sha256"]
    with open(b / "dtm" / "train.py", "a") as fh:
        fh.write("\n# changed\n")
    assert stages.source_sha256(a, None, parts) != stages.source_sha256(b, None, parts)
    assert stages.source_sha256(a, None, ("circuits",)) == stages.source_sha256(b, None, ("circuits",))
    with pytest.raises(ValueError, match="unknown part"):
        stages.source_sha256(a, None, ("nope",))
