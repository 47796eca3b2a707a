"""An interrupted characterization keeps its finished sessions and leaves no process behind.

A real ``pbitkit characterize`` of the StrongARM cell (3 devices, 2 workers) runs in its own session; as
soon as its log shows the first finished session, the main process is killed (SIGKILL, SIGTERM) or the
process group gets Ctrl-C (SIGINT). Then every process it had started — the pool's forkserver, the
workers and their ngspice — must be gone within seconds, and the same command run again must report the
finished sessions as cached.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pbitkit.paths import cache_dir

SPEC = """cell = "strongarm"
n_mc = 2
max_points_per_job = 1
[bias]
n = 2
[params]
n_samples = 40
"""


def _descendants(root: int) -> dict[int, str]:
    """``{pid: command}`` of every live descendant of ``root`` (from /proc)."""
    parent: dict[int, int] = {}
    comm: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        if rest[0] == "Z":  # zombie: already dead
            continue
        parent[int(d.name)] = int(rest[1])
        comm[int(d.name)] = stat[stat.index("(") + 1:stat.rindex(")")]
    out = {}
    for pid in parent:
        q = pid
        while q > 1 and q in parent:
            q = parent[q]
            if q == root:
                out[pid] = comm[pid]
                break
    return out


def _alive(pids: dict[int, str]) -> dict[int, str]:
    out = {}
    for pid, c in pids.items():
        try:
            st = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if st[st.rindex(")") + 2] != "Z" and st[st.index("(") + 1:st.rindex(")")] == c:
            out[pid] = c
    return out


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "pbitkit", "characterize", "--cell", "strongarm", "--spec",
            str(tmp_path / "spec.toml"), "--out", str(tmp_path / "run"), "--workers", "2", "--no-plots",
            "--overwrite"]


@pytest.mark.ngspice
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process-tree checks read /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])  # SIGTERM ends the process like SIGKILL
def test_interrupted_sweep_keeps_finished_sessions_and_leaves_no_processes(tmp_path, how) -> None:
    (tmp_path / "spec.toml").write_text(SPEC)
    env = dict(os.environ, PBITKIT_CACHE=str(tmp_path / "cache"))
    models = cache_dir() / "models"  # share the built model libraries, not the row cache
    if models.is_dir():
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "models").symlink_to(models, target_is_directory=True)
    log = tmp_path / "run" / "pbitkit.log"
    proc = subprocess.Popen(_command(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if log.is_file() and re.search(r": ok$", log.read_text(), re.MULTILINE):
                break
            time.sleep(0.2)
        started = _descendants(proc.pid)
        while "ngspice" not in started.values() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # between two sessions of a worker: wait for the next ngspice
            started = _descendants(proc.pid)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        assert "ngspice" in started.values(), started  # sessions were running when interrupted
        n_ok = len(re.findall(r": ok$", log.read_text(), re.MULTILINE))
        if how == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        else:
            os.kill(proc.pid, getattr(signal, how))
        proc.wait(timeout=60)
        deadline = time.monotonic() + 15
        while _alive(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(started), f"left running after {how}: {_alive(started)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # the re-run finds every session that had finished before the interrupt in the cache
    log.unlink()
    rerun = subprocess.run(_command(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    m = re.search(r"\((\d+) cached, (\d+) to simulate", log.read_text())
    assert m, log.read_text()[-2000:]
    assert int(m.group(1)) >= n_ok >= 1
