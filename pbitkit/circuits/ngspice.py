"""The one adapter between pbitkit and the ngspice simulator.

Every ngspice detail lives here; the rest of the code builds a :class:`SimJob` (netlist text plus extra
files) and gets back a :class:`SimResult` (NumPy arrays per analysis). Moving to another ngspice
front-end (PySpice shared mode, InSpice) is a change to this module only.

Design (measured, see ``docs/circuits.md``): each job runs ``ngspice -b`` in a **subprocess** in its own
temporary working directory, in its own process group, under a wall-clock timeout. The working directory
holds a ``.spiceinit`` with ``set num_threads=1`` (Debian's ngspice evaluates BSIM4 on 2 OpenMP threads
and ignores ``OMP_NUM_THREADS``; two parallel runs then oversubscribe the cores and run 100-300x slower,
docs/theory.md §6.1). Results come back as a binary raw file, parsed here with NumPy (no PySpice).

How results are written
-----------------------
* A netlist **without** a ``.control`` block is run as ``ngspice -b -r pbk.raw``: every analysis
  (``.op``, ``.dc``, ``.tran``, ``.ac``, ``.noise``) becomes one plot, in netlist order.
* A netlist **with** a ``.control`` block must write each analysis it wants returned with
  ``write pbk.raw <vectors>`` (use :func:`write_command`); the adapter sets ``appendwrite`` so that
  every ``write`` appends one plot. This is how one session covers many sweep points (``alter`` /
  ``alterparam`` + ``reset`` in a control loop) and amortizes model loading.

Example
-------
>>> job = SimJob(netlist="divider\\nV1 in 0 1\\nR1 in out 1k\\nR2 out 0 1k\\n.op\\n.end\\n",
...              vectors=("v(out)",))
>>> run(job).plots[0]["v(out)"]          # doctest: +SKIP
array([0.5])
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

import numpy as np

from pbitkit.errors import NgspiceNotFoundError, SimulationError, SimulationTimeoutError
from pbitkit.io import sha256_bytes

__all__ = [
    "SimJob",
    "JobMetadata",
    "SimResult",
    "run",
    "ngspice_version",
    "find_ngspice",
    "write_command",
    "parse_raw",
    "output_error",
    "prepare_netlist",
    "has_control",
    "write_job_files",
    "select_vectors",
    "filesource_noise_text",
    "filesource_model",
    "die_with_parent",
    "RAW_FILE",
    "SPICEINIT",
    "NGSPICE_ENV",
]

log = logging.getLogger(__name__)

#: Name of the raw file every job writes in its working directory.
RAW_FILE = "pbk.raw"
#: Contents of the ``.spiceinit`` written into every run's working directory.
SPICEINIT = "* written by pbitkit.circuits.ngspice\nset num_threads=1\nset filetype=binary\n"
#: Environment variable naming the ngspice executable (default: ``ngspice`` on ``PATH``).
NGSPICE_ENV = "PBITKIT_NGSPICE"
#: Keep run directories for debugging when this environment variable is set to a non-empty value.
KEEP_ENV = "PBITKIT_KEEP_SIM_DIRS"

_RESERVED = {".spiceinit", "circuit.cir", RAW_FILE, "stdout.txt", "stderr.txt"}

# Lines of ngspice output that mean the run failed (matched case-insensitively per line).
_ERROR_PATTERNS = re.compile(
    r"^\s*error\b|timestep too small|simulation\(s\) aborted|circuit not parsed|fatal error"
    r"|could not find|library file .* not found|no such file|iteration limit reached"
    r"|cannot open|can't open",
    re.IGNORECASE,
)
# Lines that look like errors but are harmless in batch mode.
_BENIGN_PATTERNS = re.compile(
    r"no resource usage information|no \"\.plot\", \"\.print\"|no simulations run|no compatibility mode"
    r"|warning.*singular matrix",
    re.IGNORECASE,
)
_MISSING_FILE = re.compile(r"could not find (?:include|library) file|library file .* not found|cannot open|can't open",
                           re.IGNORECASE)
_NONCONV = re.compile(r"timestep too small|iteration limit|dc solution failed|gmin stepping failed"
                      r"|source stepping failed|convergence", re.IGNORECASE)


@runtime_checkable
class JobMetadata(Protocol):
    """What a :class:`SimJob` may carry in ``meta``: typed metadata with a canonical text form (e.g.
    :class:`pbitkit.circuits.cell_base.JobMeta`, the sweep group a cell's job simulates)."""

    def canonical_json(self) -> str:
        """A canonical text of every field (covered by :meth:`SimJob.content_hash`)."""
        ...


@dataclass(frozen=True)
class SimJob:
    """One ngspice session.

    Parameters
    ----------
    netlist
        The full netlist text (title line first, ``.end`` last), including a ``.control`` block if any.
        Paths in ``.include``/``.lib`` lines should be absolute (the run's working directory is a fresh
        temporary directory); files given in ``files`` are referenced by their bare relative name.
    files
        Extra files written into the run's working directory before ngspice starts, ``{name: content}``
        (e.g. ``filesource`` noise tables). Names are relative POSIX paths without ``..``.
    vectors
        Vectors to return from each plot, as ngspice names them (``"v(out)"``, ``"i(vdd)"``,
        ``"@m.xm1.msky130_fd_pr__nfet_01v8[gm]"``); a bare node name ``"out"`` also matches ``v(out)``.
        The plot's scale (``time``, ``frequency``, sweep variable) is always returned. Empty: return all.
    timeout_s
        Wall-clock limit for the whole session; the process group is killed when it is exceeded.
    label
        Free text used in log and error messages (e.g. the sweep point).
    meta
        Typed metadata of the job (:class:`JobMetadata`; cells attach their sweep group as a
        :class:`pbitkit.circuits.cell_base.JobMeta`). Covered by :meth:`content_hash`.
    """

    netlist: str
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    vectors: tuple[str, ...] = ()
    timeout_s: float = 120.0
    label: str = ""
    meta: JobMetadata | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.netlist, str) or not self.netlist.strip():
            raise ValueError("SimJob.netlist must be non-empty netlist text")
        if not (isinstance(self.timeout_s, (int, float)) and self.timeout_s > 0):
            raise ValueError(f"SimJob.timeout_s must be > 0 s, got {self.timeout_s!r}")
        if isinstance(self.vectors, str):
            raise ValueError("SimJob.vectors must be a tuple of vector names, not a string")
        object.__setattr__(self, "vectors", tuple(self.vectors))
        if self.meta is not None and not isinstance(self.meta, JobMetadata):
            raise ValueError(f"SimJob.meta must have a canonical_json() method, got {type(self.meta).__name__}")
        for name in self.files:
            p = PurePosixPath(name)
            if p.is_absolute() or ".." in p.parts or not p.parts or name in _RESERVED:
                raise ValueError(f"SimJob.files: bad file name {name!r} (relative, no '..', not {sorted(_RESERVED)})")

    def content_hash(self) -> str:
        """SHA-256 over the netlist, the extra files, the requested vectors and the metadata (not the
        timeout/label)."""
        h = [sha256_bytes(self.netlist.encode())]
        for name in sorted(self.files):
            data = self.files[name]
            h.append(name + ":" + sha256_bytes(data.encode() if isinstance(data, str) else bytes(data)))
        h.append("|".join(self.vectors))
        if self.meta is not None:
            h.append("meta:" + sha256_bytes(self.meta.canonical_json().encode()))
        return sha256_bytes("\n".join(h).encode())


@dataclass(frozen=True)
class SimResult:
    """What one ngspice session produced.

    Attributes
    ----------
    plots
        One ``{vector name: array}`` dict per analysis, in the order they ran. Real plots give float64
        arrays, AC/noise plots complex128; an ``.op`` plot gives arrays of length 1.
    plot_names
        ngspice's plot names (``"Operating Point"``, ``"Transient Analysis"``, ...), same order.
    stdout, stderr
        ngspice's console output.
    wall_time_s, cpu_time_s
        Wall-clock time of the session and CPU time (user + system) of the ngspice process.
    ngspice_version
        E.g. ``"39"``.
    """

    plots: list[dict[str, np.ndarray]]
    plot_names: tuple[str, ...]
    stdout: str
    stderr: str
    wall_time_s: float
    cpu_time_s: float
    ngspice_version: str

    def vector(self, name: str, plot: int = -1) -> np.ndarray:
        """Vector ``name`` of plot number ``plot`` (default: the last), with a clear error if missing."""
        d = self.plots[plot]
        if name in d:
            return d[name]
        key = _match_vector(name, list(d))
        if key is None:
            raise SimulationError(f"vector {name!r} not in plot {plot} ({self.plot_names[plot]}); has {sorted(d)}")
        return d[key]


# --------------------------------------------------------------------------------------------------
# locating ngspice


def find_ngspice(executable: str | os.PathLike[str] | None = None) -> str:
    """Path of the ngspice executable: ``executable``, else ``$PBITKIT_NGSPICE``, else ``ngspice`` on PATH.

    Raises
    ------
    NgspiceNotFoundError
        If it does not exist or is not executable (with the install command).
    """
    cand = str(executable) if executable else os.environ.get(NGSPICE_ENV) or "ngspice"
    path = shutil.which(cand)
    if path is None:
        raise NgspiceNotFoundError(
            f"ngspice executable not found: {cand!r} (install it with `apt-get install ngspice`, which "
            f"`make test` does, or set {NGSPICE_ENV} to its path)"
        )
    return path


@functools.lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    try:
        out = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=30, check=False,
                             stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise NgspiceNotFoundError(f"cannot run ngspice at {path}: {exc}") from exc
    m = re.search(r"ngspice-(\S+)", out.stdout + out.stderr)
    if not m:
        raise NgspiceNotFoundError(f"{path} -v did not report an ngspice version: {out.stdout[:200]!r}")
    return m.group(1)


def ngspice_version(executable: str | os.PathLike[str] | None = None) -> str:
    """The version of the ngspice that :func:`run` uses, e.g. ``"39"``.

    Raises
    ------
    NgspiceNotFoundError
        If ngspice is missing or does not answer ``-v``.
    """
    return _version_of(find_ngspice(executable))


def write_command(vectors: tuple[str, ...] | list[str] | str = ()) -> str:
    """The control-language line that appends the current plot to the job's raw file.

    Use it after every analysis in a ``.control`` block whose result should come back, e.g.
    ``op`` then ``write_command(["v(out)"])`` gives ``"write pbk.raw v(out)"``. Without vectors ngspice
    writes all vectors of the current plot.
    """
    if isinstance(vectors, str):
        vectors = (vectors,)
    return " ".join(["write", RAW_FILE, *vectors]).rstrip()


# --------------------------------------------------------------------------------------------------
# raw files


def parse_raw(data: bytes) -> tuple[list[str], list[dict[str, np.ndarray]]]:
    """Parse an ngspice raw file (binary or ASCII, one or many plots concatenated).

    Parameters
    ----------
    data
        The file's bytes. Anything before the first ``Title:`` line (notes some ngspice versions print)
        is skipped.

    Returns
    -------
    names, plots
        Plot names and, per plot, ``{variable name (lower case): array of shape (n_points,)}``; float64
        for real plots, complex128 for complex ones. A plot cut short (aborted run) keeps the complete
        points.

    Raises
    ------
    SimulationError
        If the header is malformed.
    """
    names: list[str] = []
    plots: list[dict[str, np.ndarray]] = []
    pos = data.find(b"Title:")
    while pos != -1 and pos < len(data):
        head_end_b = data.find(b"Binary:\n", pos)
        head_end_a = data.find(b"Values:\n", pos)
        ends = [e for e in (head_end_b, head_end_a) if e != -1]
        if not ends:
            raise SimulationError("raw file: header without 'Binary:' or 'Values:' section")
        head_end = min(ends)
        binary = head_end == head_end_b
        header = data[pos:head_end].decode("latin-1")
        plotname, flags, nvars, npoints, varnames = "", "real", 0, 0, []
        in_vars = False
        for line in header.splitlines():
            if in_vars and line.startswith(("\t", " ")) and line.strip():
                parts = line.split()
                if len(parts) >= 2:
                    varnames.append(parts[1].lower())
                continue
            in_vars = False
            key, _, val = line.partition(":")
            key = key.strip().lower()
            if key == "plotname":
                plotname = val.strip()
            elif key == "flags":
                flags = val.strip().lower()
            elif key == "no. variables":
                nvars = int(val)
            elif key == "no. points":
                npoints = int(val)
            elif key == "variables":
                in_vars = True
        if len(varnames) != nvars:
            raise SimulationError(f"raw file: plot {plotname!r} lists {len(varnames)} variables, header says {nvars}")
        is_complex = "complex" in flags
        body = head_end + len(b"Binary:\n")
        if binary:
            width = 16 if is_complex else 8
            row = width * nvars
            avail = (len(data) - body) // row if row else 0
            n = min(npoints, avail)
            arr = np.frombuffer(data, dtype="<f8", count=n * nvars * (2 if is_complex else 1), offset=body)
            if is_complex:
                arr = arr.view("<c16")
            arr = arr.reshape(n, nvars)
            nxt = body + n * row
        else:
            nxt_title = data.find(b"Title:", body)
            text = data[body: nxt_title if nxt_title != -1 else len(data)].decode("latin-1")
            arr, nxt = _parse_ascii_values(text, nvars, npoints, is_complex), (
                nxt_title if nxt_title != -1 else len(data))
        plots.append({v: np.array(arr[:, i]) for i, v in enumerate(varnames)})
        names.append(plotname)
        pos = data.find(b"Title:", nxt)
    return names, plots


def _parse_ascii_values(text: str, nvars: int, npoints: int, is_complex: bool) -> np.ndarray:
    toks = text.split()
    out = np.zeros((npoints, nvars), dtype=np.complex128 if is_complex else np.float64)
    i, p = 0, 0
    while p < npoints and i < len(toks):
        i += 1  # point index
        for v in range(nvars):
            if i >= len(toks):
                return out[:p]
            tok = toks[i]
            i += 1
            if is_complex:
                re_, _, im_ = tok.partition(",")
                out[p, v] = complex(float(re_), float(im_ or 0.0))
            else:
                out[p, v] = float(tok)
        p += 1
    return out[:p]


def _match_vector(name: str, available: list[str]) -> str | None:
    n = name.lower().strip()
    for cand in (n, f"v({n})", n.replace("#branch", "").join(("i(", ")")) if n.endswith("#branch") else None):
        if cand and cand in available:
            return cand
    return None


# --------------------------------------------------------------------------------------------------
# running


def _has_control(netlist: str) -> bool:
    return re.search(r"^\s*\.control\b", netlist, re.IGNORECASE | re.MULTILINE) is not None


def _prepare_netlist(netlist: str) -> str:
    """Make sure the netlist ends with ``.end`` and a control block appends its writes."""
    text = netlist if netlist.endswith("\n") else netlist + "\n"
    if not re.search(r"^\s*\.end\s*$", text, re.IGNORECASE | re.MULTILINE):
        text += ".end\n"
    if _has_control(text):
        text = re.sub(r"^(\s*\.control\b[^\n]*\n)", r"\1set appendwrite\n", text, count=1,
                      flags=re.IGNORECASE | re.MULTILINE)
    return text


def _error_lines(text: str) -> list[str]:
    lines = text.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if _ERROR_PATTERNS.search(line) and not _BENIGN_PATTERNS.search(line):
            # ngspice often prints the offending line and the reason on the next lines
            for extra in lines[max(0, i - 1): i + 3]:
                s = extra.strip()
                if s and s not in picked and not _BENIGN_PATTERNS.search(s):
                    picked.append(s)
    return picked[:30]


def output_error(stdout: str, stderr: str, label: str = "") -> SimulationError | None:
    """The :class:`SimulationError` that ngspice's console output reports, or ``None`` if it reports none.

    Used by every runner (batch mode here, shared mode in :mod:`pbitkit.circuits.shared_runner`), so that
    both classify failures alike: "missing model/include file", "did not converge" or "failed", followed
    by ngspice's own error lines.
    """
    errors = _error_lines(stderr + "\n" + stdout)
    if not errors:
        return None
    joined = " ".join(errors)
    if _MISSING_FILE.search(joined):
        kind = "missing model/include file"
    elif _NONCONV.search(joined):
        kind = "did not converge"
    else:
        kind = "failed"
    where = f" (session {label})" if label else ""
    cause = next((e for e in errors if _ERROR_PATTERNS.search(e)), errors[0])
    return SimulationError(f"ngspice {kind}: {cause}\n  " + "\n  ".join(errors) + where)


def prepare_netlist(netlist: str) -> str:
    """The netlist as a runner hands it to ngspice: ``.end`` appended when missing; in a ``.control``
    block, ``set appendwrite`` first (so that every ``write`` appends one plot)."""
    return _prepare_netlist(netlist)


def write_job_files(job: SimJob, workdir: Path) -> None:
    """Write a session's working directory: the ``.spiceinit`` (one OpenMP thread) and the job's input
    files (noise tables, ...; text or bytes, sub-directories created). Used by both runners."""
    (workdir / ".spiceinit").write_text(SPICEINIT)
    for name, content in job.files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(bytes(content))


def has_control(netlist: str) -> bool:
    """Whether ``netlist`` holds a ``.control`` block."""
    return _has_control(netlist)


def select_vectors(plots: list[dict[str, np.ndarray]], names: list[str] | tuple[str, ...],
                   vectors: tuple[str, ...], label: str = "") -> list[dict[str, np.ndarray]]:
    """Keep each plot's scale and the requested ``vectors`` (see :attr:`SimJob.vectors`).

    Raises
    ------
    SimulationError
        Naming the vectors that no plot holds, with the available ones.
    """
    return _select(plots, list(names), tuple(vectors), f" (session {label})" if label else "")


_PR_SET_PDEATHSIG = 1


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library symbols in this process
        return None


def die_with_parent(sig: int = signal.SIGKILL, parent_pid: int | None = None) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent exits (``prctl(PR_SET_PDEATHSIG)``).

    ``parent_pid`` closes the race where the parent died before the call: if this process has already
    been re-parented, it exits at once. Returns False where the mechanism does not exist (non-Linux).
    Used for every ngspice process (its parent: a pool worker or the main process), so an interrupted
    or killed sweep leaves no ngspice running.
    """
    libc = _libc()
    if libc is None or libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return True


def _kill_group(proc: subprocess.Popen, flag: list[bool]) -> None:
    flag.append(True)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(job: SimJob, *, executable: str | os.PathLike[str] | None = None) -> SimResult:
    """Run one ngspice session in batch mode and return its plots.

    Parameters
    ----------
    job
        The netlist, extra files, vectors and timeout.
    executable
        ngspice to use (default: :func:`find_ngspice`).

    Returns
    -------
    SimResult

    Raises
    ------
    NgspiceNotFoundError
        If ngspice cannot be found or started.
    SimulationTimeoutError
        If the session exceeds ``job.timeout_s`` (its process group is killed).
    SimulationError
        If ngspice reports an error (its own error lines are in the message): bad netlist, missing
        model/include file, non-convergence ("timestep too small"), no plot written, or a requested
        vector that no plot holds.
    """
    exe = find_ngspice(executable)
    version = _version_of(exe)
    # the cause comes first in every error; which session it was comes last
    where = f" (session {job.label})" if job.label else ""
    workdir = Path(tempfile.mkdtemp(prefix="pbitkit-ngspice-"))
    keep = bool(os.environ.get(KEEP_ENV))
    try:
        write_job_files(job, workdir)
        netlist = _prepare_netlist(job.netlist)
        (workdir / "circuit.cir").write_text(netlist)
        control = _has_control(netlist)
        cmd = [exe, "-b"] + ([] if control else ["-r", RAW_FILE]) + ["circuit.cir"]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        t0 = time.perf_counter()
        with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
            parent = os.getpid()
            try:
                # own process group (killed as a whole at the timeout); dies with this process, even on
                # SIGKILL of it (no ngspice left running for minutes after an interrupted sweep)
                proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        env=env, start_new_session=True,
                                        preexec_fn=(lambda: die_with_parent(signal.SIGKILL, parent))
                                        if _libc() is not None else None)
            except OSError as exc:
                raise NgspiceNotFoundError(f"cannot start ngspice {exe}: {exc}") from exc
            killed: list[bool] = []
            timer = threading.Timer(job.timeout_s, _kill_group, args=(proc, killed))
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:  # Ctrl-C / SystemExit while waiting: do not leave ngspice running
                _kill_group(proc, [])
                proc.wait()
                raise
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        cpu = usage.ru_utime + usage.ru_stime
        stdout = (workdir / "stdout.txt").read_text(errors="replace")
        stderr = (workdir / "stderr.txt").read_text(errors="replace")
        if killed:
            raise SimulationTimeoutError(
                f"ngspice timed out after {job.timeout_s:g} s (killed; CPU {cpu:.2f} s). "
                f"Last output: {' | '.join(stdout.strip().splitlines()[-3:])}{where}"
            )
        error = output_error(stdout, stderr, job.label)
        if error is not None:
            raise error
        if proc.returncode < 0:
            raise SimulationError(f"ngspice was killed by signal {-proc.returncode}; stderr: {stderr[-500:]}{where}")
        raw_path = workdir / RAW_FILE
        if not raw_path.exists():
            hint = (f" (a .control block must write results with `{write_command()} <vectors>`)" if control else "")
            raise SimulationError(
                f"ngspice wrote no results{hint}; exit code {proc.returncode}; "
                f"output: {' | '.join((stderr + stdout).strip().splitlines()[-5:])}{where}"
            )
        names, plots = parse_raw(raw_path.read_bytes())
        if job.vectors:
            plots = _select(plots, names, job.vectors, where)
        log.debug("ngspice%s: %d plot(s), wall %.3f s, cpu %.3f s", where, len(plots), wall, cpu)
        return SimResult(plots=plots, plot_names=tuple(names), stdout=stdout, stderr=stderr,
                         wall_time_s=wall, cpu_time_s=cpu, ngspice_version=version)
    finally:
        if keep:
            log.info("kept ngspice run directory %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _select(plots: list[dict[str, np.ndarray]], names: list[str], vectors: tuple[str, ...],
            where: str) -> list[dict[str, np.ndarray]]:
    out: list[dict[str, np.ndarray]] = []
    found: set[str] = set()
    for d in plots:
        keys = list(d)
        sel: dict[str, np.ndarray] = {}
        if keys and names and keys[0] in ("time", "frequency", "v(v-sweep)", "v-sweep", "temp-sweep", "i(i-sweep)"):
            sel[keys[0]] = d[keys[0]]
        for v in vectors:
            k = _match_vector(v, keys)
            if k is not None:
                sel[v] = d[k]
                found.add(v)
        out.append(sel)
    missing = [v for v in vectors if v not in found]
    if missing:
        avail = sorted({k for d in plots for k in d})
        raise SimulationError(f"ngspice: vector(s) {missing} not in any plot; available: {avail[:40]}{where}")
    return out


# --------------------------------------------------------------------------------------------------
# reproducible noise through the XSPICE filesource code model


def filesource_noise_text(rng: np.random.Generator, *, dt_s: float, n_steps: int, sigma: float = 1.0,
                          mean: float = 0.0) -> str:
    """A ``filesource`` table of white Gaussian noise drawn from ``rng``.

    Writes ``n_steps + 1`` lines ``t_k value_k`` with ``t_k = k * dt_s`` and
    ``value_k ~ Normal(mean, sigma)`` i.i.d. ngspice interpolates linearly between points. For a white
    noise of one-sided PSD ``S`` (unit²/Hz) sampled every ``dt_s`` use ``sigma = sqrt(S / (2 dt_s))``
    (docs/theory.md §6.3); run the transient with a maximum step ``<= dt_s``.

    Parameters
    ----------
    rng
        The generator; the same seed gives a byte-identical file (and an identical waveform).
    dt_s, n_steps
        Sample spacing (s) and number of intervals.
    sigma, mean
        Standard deviation and mean of the samples (file units; scale them in the netlist).

    Returns
    -------
    str
        The file text (17 significant digits, so the waveform is reproduced exactly).
    """
    if not (dt_s > 0 and np.isfinite(dt_s)):
        raise ValueError(f"dt_s must be a positive finite time in s, got {dt_s!r}")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps!r}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    n = int(n_steps) + 1
    t = np.arange(n, dtype=np.float64) * float(dt_s)
    v = mean + sigma * rng.standard_normal(n)
    tv = np.empty(2 * n, dtype=np.float64)
    tv[0::2], tv[1::2] = t, v
    # one %-format over the interleaved values: the same text as per-line f-strings, ~25 % faster
    return ("%.17g %.17g\n" * n) % tuple(tv.tolist())


def filesource_model(model_name: str, file_name: str) -> str:
    """The ``.model`` card of an XSPICE ``filesource`` reading ``file_name`` (absolute times, linear).

    Instantiate it as ``A<name> %vd([<node> 0]) <model_name>`` and load the node with a resistor; drive
    a ``G`` source from that node to inject the noise as a current (see ``docs/circuits.md``).
    """
    for what, val in (("model_name", model_name), ("file_name", file_name)):
        if not val or any(c.isspace() or c in '"' for c in val):
            raise ValueError(f"{what} must be a non-empty name without spaces or quotes, got {val!r}")
    return (f'.model {model_name} filesource (file="{file_name}" amploffset=[0] amplscale=[1] '
            f"timeoffset=0 timescale=1 timerelative=false amplstep=false)")

