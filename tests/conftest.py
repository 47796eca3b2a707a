"""Suite-wide test settings.

- Tests marked ``ngspice`` need the simulator. Locally they are skipped (with a reason) when ngspice is
  missing; in CI (``CI`` set) a missing ngspice is a failure, never a silent skip.
- Numeric code runs under ``np.errstate`` that raises on overflow, invalid and divide-by-zero
  (underflow is allowed: it is benign in probabilities). Opt out with ``@pytest.mark.allow_fp_errors``
  and a one-line reason in the test.
- Matplotlib uses the non-interactive Agg backend.
"""

from __future__ import annotations

import os
import shutil

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


def ngspice_available() -> bool:
    return shutil.which("ngspice") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ngspice_available():
        return
    for item in items:
        if "ngspice" in item.keywords:
            if os.environ.get("CI"):
                item.add_marker(pytest.mark.usefixtures("_fail_missing_ngspice"))
            else:
                item.add_marker(pytest.mark.skip(reason="ngspice not installed (run `make test` to install it)"))


@pytest.fixture
def _fail_missing_ngspice() -> None:
    pytest.fail("ngspice is required in CI but is not installed")


@pytest.fixture(autouse=True)
def _fp_errors(request: pytest.FixtureRequest):
    if request.node.get_closest_marker("allow_fp_errors"):
        yield
        return
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test session gets its own pbitkit cache so tests never read a developer's cached results.

    Under pytest-xdist (``make test`` runs two workers) the workers of one session share it: the cache writes
    atomically and verifies every entry it reads, and a simulation one test file ran is reused by another."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's directory, above the worker's own popen-gwN
    monkeypatch.setenv("PBITKIT_CACHE", str(base / "pbitkit-cache"))
