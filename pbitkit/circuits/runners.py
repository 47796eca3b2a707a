"""Choosing how an ngspice job runs: batch mode (a subprocess per job) or shared mode (libngspice in a worker).

Both runners take the same :class:`~pbitkit.circuits.ngspice.SimJob` and return the same
:class:`~pbitkit.circuits.ngspice.SimResult` (same vectors bit for bit, same errors), so the choice is
only about cost and never part of a cache key:

``"batch"``
    :func:`pbitkit.circuits.ngspice.run`: ``ngspice -b`` in a fresh subprocess per job (~20 ms of start-up
    per job; exact CPU accounting from the process's rusage).
``"shared"``
    :func:`pbitkit.circuits.shared_runner.run_shared`: the job runs in a long-lived worker process that has
    libngspice loaded (through PySpice); killed at the job's timeout like a batch subprocess.
``"auto"``
    Shared mode for jobs without a transient analysis (``.op`` / ``.dc`` / ``.ac`` / ``.noise``), batch
    mode for transients: for workloads of many small DC/AC analyses, where process start-up dominates.
    The measurements behind the default (``"batch"``) are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import re

from pbitkit.circuits.ngspice import SimJob, SimResult, run
from pbitkit.errors import ConfigError

__all__ = ["RUNNERS", "DEFAULT_RUNNER", "check_runner", "run_job", "resolve_runner"]

#: The runner names accepted by sweep specs, the CLI and :func:`run_job`.
RUNNERS: tuple[str, ...] = ("batch", "shared", "auto")
#: The runner used when none is given (measured: the sweeps' sessions cost the same in both modes, see
#: ``benchmarks/README.md``; batch mode keeps one process per session and exact CPU accounting).
DEFAULT_RUNNER = "batch"

_TRAN = re.compile(r"^\s*\.?tran\b", re.IGNORECASE | re.MULTILINE)


def check_runner(runner: str, where: str = "runner") -> str:
    """``runner`` if it is one of :data:`RUNNERS`, else :class:`ConfigError` naming ``where``."""
    if runner not in RUNNERS:
        raise ConfigError(f"{where}: {runner!r} is not one of {list(RUNNERS)}")
    return runner


def resolve_runner(job: SimJob, runner: str = DEFAULT_RUNNER) -> str:
    """``"batch"`` or ``"shared"``: ``runner`` itself, or for ``"auto"`` shared unless ``job`` runs a
    transient analysis (a ``.tran`` card or a ``tran`` control command)."""
    check_runner(runner)
    if runner != "auto":
        return runner
    return "batch" if _TRAN.search(job.netlist) else "shared"


def run_job(job: SimJob, runner: str = DEFAULT_RUNNER) -> SimResult:
    """Run ``job`` with ``runner`` (see the module docstring).

    Raises
    ------
    ConfigError
        For an unknown runner.
    NgspiceNotFoundError, SimulationError, SimulationTimeoutError
        As :func:`pbitkit.circuits.ngspice.run`.
    """
    if resolve_runner(job, runner) == "shared":
        from pbitkit.circuits.shared_runner import run_shared

        return run_shared(job)
    return run(job)
