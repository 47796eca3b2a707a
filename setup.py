"""Build hook: ship the top-level ``netlists/`` tree inside the wheel as ``pbitkit/netlists``.

The netlists stay at the repository's top level (the project's layout); ``pbitkit.paths.netlists_dir``
reads them from there in a source checkout and through ``importlib.resources`` from an installed wheel.
Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithNetlists(build_py):
    """``build_py`` that also copies ``netlists/`` into the built package (not needed for editable installs,
    which read the checkout's own ``netlists/``)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        src = Path(__file__).resolve().parent / "netlists"
        if not src.is_dir():
            raise FileNotFoundError(f"netlists/ not found next to setup.py ({src}); it must ship in the wheel")
        dst = Path(self.build_lib) / "pbitkit" / "netlists"
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithNetlists})
