"""ngspice shared mode (libngspice through PySpice) behind the batch adapter's contract.

:func:`run_shared` takes the same :class:`~pbitkit.circuits.ngspice.SimJob` as
:func:`pbitkit.circuits.ngspice.run` and returns the same :class:`~pbitkit.circuits.ngspice.SimResult`
(same plots, same vector names, same errors), but the simulation runs in a long-lived **worker process**
(:mod:`pbitkit.circuits.shared_worker`) that has libngspice loaded already. That saves the ~20 ms of
process start and library initialization per run that batch mode pays, which matters for thousands of
small DC/AC analyses; for anything with a long simulation the two cost the same (``docs/circuits.md``).

Isolation: the worker is a separate process in its own process group. When a job exceeds its
``timeout_s`` the parent kills the worker (``SIGKILL``) and raises
:class:`~pbitkit.errors.SimulationTimeoutError` quoting ngspice's last output; the next job gets a fresh
worker. After an ngspice error that leaves the library unusable ("cannot recover") the worker exits and is
replaced the same way. A crash of libngspice kills only the worker.

Each calling process has its own workers: a pool keyed by the process id, one worker per concurrently
running call (threads take idle workers from it). Workers end when the calling process exits (their stdin
closes; on Linux also a parent-death signal, which fires when the *thread* that started the worker ends —
such a dead idle worker is reaped and replaced by the next call) or on :func:`shutdown_workers`.

Example
-------
>>> from pbitkit.circuits.ngspice import SimJob
>>> run_shared(SimJob("div\\nV1 in 0 1\\nR1 in out 1k\\nR2 out 0 3k\\n.op\\n.end\\n", vectors=("v(out)",))).plots[0]
... # doctest: +SKIP
{'v(out)': array([0.75])}
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pbitkit.circuits.ngspice import (
    KEEP_ENV,
    RAW_FILE,
    SimJob,
    SimResult,
    die_with_parent,
    has_control,
    output_error,
    parse_raw,
    prepare_netlist,
    select_vectors,
    write_command,
    write_job_files,
)
from pbitkit.circuits import shared_worker
from pbitkit.circuits.pyspice_interop import PACKAGE, find_libngspice, pyspice_module
from pbitkit.errors import NgspiceNotFoundError, SimulationError, SimulationTimeoutError

__all__ = ["run_shared", "shutdown_workers", "STARTUP_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: Seconds a new worker may take to import PySpice and initialize libngspice.
STARTUP_TIMEOUT_S = 60.0

_LOG_FILE = "ngspice.log"  # the worker's copy of ngspice's console (see shared_worker)


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        pyspice_module()  # a missing PySpice is reported here, with the install command
        cmd = [sys.executable, shared_worker.__file__, PACKAGE, find_libngspice()]
        parent = os.getpid()
        # its own process group (killed as a whole at a timeout), and killed when this process dies
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, start_new_session=True, cwd=tempfile.gettempdir(),
                                     preexec_fn=lambda: die_with_parent(signal.SIGKILL, parent))
        self.owner = os.getpid()
        try:
            hello = self.request(None, STARTUP_TIMEOUT_S)
        except (TimeoutError, _WorkerDied) as exc:
            self.kill()
            raise NgspiceNotFoundError(f"the ngspice shared-mode worker did not start: {exc}") from exc
        if not hello.get("ok"):
            self.kill()
            msg = hello.get("error", "")
            raise NgspiceNotFoundError(f"the ngspice shared-mode worker could not load {find_libngspice()} "
                                       f"through {PACKAGE}: {msg}")
        self.version: str = hello["version"]
        self.pyspice: str = hello["pyspice"]

    def request(self, msg: Any, timeout_s: float) -> dict[str, Any]:
        """Send ``msg`` (unless ``None``) and wait at most ``timeout_s`` for the answer."""
        if msg is not None:
            data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                self.proc.stdin.write(struct.pack(">I", len(data)) + data)  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
            except BrokenPipeError as exc:
                raise _WorkerDied(self._death()) from exc
        deadline = time.monotonic() + timeout_s
        head = self._read(4, deadline)
        (n,) = struct.unpack(">I", head)
        return pickle.loads(self._read(n, deadline))

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise _WorkerDied(self._death())
            buf += chunk
        return buf

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "worker stopped answering"
        return f"worker killed by signal {-code}" if code < 0 else f"worker exited with code {code}"

    def kill(self) -> None:
        """Kill the worker's process group, reap it and close the pipes (only from the owning process)."""
        if self.owner == os.getpid():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("shared-mode worker %d did not exit after SIGKILL", self.proc.pid)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def close(self) -> None:
        """Let the worker exit on end of input (it is killed if it does not within 5 s)."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


_idle: list[_Worker] = []
_lock = threading.Lock()


def _take() -> _Worker:
    """An idle worker of this process, or a new one. Dead workers are reaped: a worker also dies when the
    thread that started it ends (Linux delivers the parent-death signal per thread)."""
    dead: list[_Worker] = []
    found = None
    with _lock:
        while _idle and found is None:
            w = _idle.pop()
            if w.owner == os.getpid() and w.proc.poll() is None:
                found = w
            else:
                dead.append(w)
    for w in dead:
        w.kill()
    return found if found is not None else _Worker()


def _give_back(w: _Worker) -> None:
    with _lock:
        _idle.append(w)


def shutdown_workers() -> None:
    """Stop this process's idle shared-mode workers (also done at interpreter exit)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for w in workers:
        if w.owner == os.getpid():
            w.close()
        else:
            w.kill()  # another process's (inherited by fork): only close our copies of its pipes


atexit.register(shutdown_workers)


def _tail(path: Path, n: int = 5) -> str:
    try:
        lines = [ln.partition(" ")[2] for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def run_shared(job: SimJob) -> SimResult:
    """Run one ngspice session in shared mode, in a worker process, and return its plots.

    Same contract as :func:`pbitkit.circuits.ngspice.run`: the job's files are written into a fresh
    working directory; a netlist with a ``.control`` block returns what it ``write``\\ s to
    :data:`~pbitkit.circuits.ngspice.RAW_FILE`, one without returns every analysis in run order.

    Returns
    -------
    SimResult
        ``cpu_time_s`` is the worker's CPU time for this job; ``stdout`` / ``stderr`` are ngspice's
        console lines.

    Raises
    ------
    NgspiceNotFoundError
        If libngspice or PySpice is missing (naming what to install).
    SimulationTimeoutError
        If the job exceeds ``job.timeout_s``: the worker is killed, the caller carries on.
    SimulationError
        With ngspice's own error lines, as in batch mode (bad netlist, missing model/include file,
        non-convergence, unknown vector).
    """
    where = f" (session {job.label})" if job.label else ""
    workdir = Path(tempfile.mkdtemp(prefix="pbitkit-shared-"))
    keep = bool(os.environ.get(KEEP_ENV))
    try:
        write_job_files(job, workdir)
        netlist = prepare_netlist(job.netlist)
        control = has_control(netlist)
        worker = _take()
        t0 = time.perf_counter()
        try:
            reply = worker.request({"workdir": str(workdir), "netlist": netlist, "control": control,
                                    "raw": RAW_FILE}, job.timeout_s)
        except TimeoutError:
            worker.kill()
            raise SimulationTimeoutError(
                f"ngspice timed out after {job.timeout_s:g} s (shared-mode worker killed). "
                f"Last output: {_tail(workdir / _LOG_FILE, 3)}{where}") from None
        except _WorkerDied as exc:
            worker.kill()
            raise SimulationError(f"ngspice crashed in shared mode ({exc}); last output: "
                                  f"{_tail(workdir / _LOG_FILE)}{where}") from None
        wall = time.perf_counter() - t0
        if reply["fatal"]:
            worker.close()
        else:
            _give_back(worker)
        stdout, stderr = reply["stdout"], reply["stderr"]
        error = output_error(stdout, stderr, job.label)
        if error is not None:
            raise error
        if reply["exception"]:
            raise SimulationError(f"ngspice failed in shared mode: {reply['exception']}; output: "
                                  f"{' | '.join((stderr + chr(10) + stdout).strip().splitlines()[-5:])}{where}")
        raw_path = workdir / RAW_FILE
        if not raw_path.exists():
            hint = f" (a .control block must write results with `{write_command()} <vectors>`)" if control else ""
            raise SimulationError(f"ngspice wrote no results{hint}; output: "
                                  f"{' | '.join((stderr + chr(10) + stdout).strip().splitlines()[-5:])}{where}")
        names, plots = parse_raw(raw_path.read_bytes())
        if job.vectors:
            plots = select_vectors(plots, names, job.vectors, job.label)
        log.debug("ngspice shared%s: %d plot(s), wall %.4f s, cpu %.4f s", where, len(plots), wall, reply["cpu_s"])
        return SimResult(plots=plots, plot_names=tuple(names), stdout=stdout, stderr=stderr, wall_time_s=wall,
                         cpu_time_s=float(reply["cpu_s"]), ngspice_version=worker.version)
    finally:
        if keep:
            log.info("kept ngspice run directory %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
