"""README's examples run as written: the Python API block, and the tour's shell commands (the DTM and
pipeline lines are exercised with small settings by tests/dtm/test_cli.py and tests/pipeline/)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pbitkit.paths import repo_root

README = (repo_root() / "README.md").read_text()

pytestmark = [pytest.mark.ngspice, pytest.mark.slow]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_readme_names_the_two_setup_commands() -> None:
    setup = _blocks("bash")[0]
    assert re.search(r"^make demo\b", setup, re.M) and re.search(r"^make test\b", setup, re.M)


def test_python_api_block_runs(tmp_path: Path) -> None:
    code = next(b for b in _blocks("python") if "from pbitkit.circuits import" in b)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "runs" / "sa-api" / "device_card.json").exists()


def test_tour_commands_run(tmp_path: Path) -> None:
    tour = next(b for b in _blocks("bash") if "pbitkit characterize" in b)
    bindir = Path(sys.executable).parent
    ran = 0
    for line in tour.splitlines():
        cmd = line.split("#", 1)[0].strip()
        if not cmd.startswith("pbitkit ") or cmd.startswith(("pbitkit dtm", "pbitkit pipeline")):
            continue
        argv = shlex.split(cmd)
        proc = subprocess.run([str(bindir / argv[0]), *argv[1:]], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{cmd}\n{proc.stderr[-3000:]}"
        ran += 1
    assert ran >= 5
    assert (tmp_path / "runs" / "sa" / "device_card.json").exists()
