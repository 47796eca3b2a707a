"""Characterization orchestration: spec -> sessions -> (cache | executor) -> table + provenance + plots.

``characterize(spec, out_dir)`` writes into the run directory ``out_dir``:

* ``characterization.csv``: one row per sweep point, columns of ``docs/contracts.md`` (NaN written as an
  empty field), then ``param_*`` and any extra per-cell columns, sorted by name;
* ``characterization.json``: provenance (spec, ngspice version, simulator options, model libraries with
  file hashes, the hash and cache key of every session, seeds, counts, timings, failures);
* ``bits.npz``: the output bit sequence of every transient row, keyed by the table's ``row_id`` column
  (:mod:`pbitkit.circuits.bits`; ``keep_bits=False`` skips it). The bits travel with the rows from the
  worker and are stored in the row cache, so a cached re-run restores them without simulating;
* ``run.json`` (:func:`pbitkit.rundir.open_run_dir`) and ``plots/*.png`` (the cells' plotting module:
  P(1), tau and energy vs bias, and from the bits the autocorrelation and dwell-time histograms of the
  nominal device at the points nearest P = 1/2 and a few others).

Failures: a session that fails or times out is retried once point by point (when it held more than one
point), so one diverging bias point costs only itself; what still fails is kept in the table with
``status`` ``failed``/``timeout`` and ngspice's message in ``error``. Re-running the same command reuses
every cached session (nothing is simulated again) and retries only what failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import logging
import math
import time
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from pbitkit.circuits.bits import BITS_FILE, BITS_KEY, BitRecord, decode_bits, write_bits
from pbitkit.circuits.cache import RowCache, job_key
from pbitkit.circuits.cell_base import TABLE_COLUMNS, SweepPoint
from pbitkit.circuits.centering import centre_points
from pbitkit.circuits.device_trim import trim_points
from pbitkit.circuits.executors import TaskOutcome, default_workers, run_tasks
from pbitkit.circuits.models import ModelLibrary, get_library
from pbitkit.circuits.ngspice import SPICEINIT, SimJob, ngspice_version
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.sweep import SweepSpec, expand, group_points
from pbitkit.io import atomic_write_json, atomic_write_text
from pbitkit.progress import ProgressCallback
from pbitkit.provenance import environment_provenance
from pbitkit.rundir import open_run_dir

__all__ = ["CharacterizationResult", "characterize", "write_table", "read_table", "TABLE_FILE", "PROVENANCE_FILE",
           "BITS_FILE"]

log = logging.getLogger(__name__)

TABLE_FILE = "characterization.csv"
PROVENANCE_FILE = "characterization.json"
#: Modules whose code computes rows besides the cell's own module (their source hashes key the row cache).
_ROW_MODULES = ("pbitkit.circuits.cell_base", "pbitkit.circuits.elements", "pbitkit.circuits.measure")


@dataclass(frozen=True)
class CharacterizationResult:
    """Outcome of :func:`characterize`.

    Attributes
    ----------
    out_dir, table_path, provenance_path
        Where the run was written.
    rows
        The table rows (dicts), in sweep order.
    n_sessions, n_cached, n_simulated
        ngspice sessions in the sweep, taken from the cache, simulated in this call (including retries).
    n_failed
        Rows whose status is not ``ok``.
    wall_time_s, cpu_time_s
        Wall time of the call; ngspice CPU time summed over the sessions simulated in this call.
    plots
        Paths of the plots written (empty when the plotting module is unavailable or ``plot=False``).
    bits_path
        ``bits.npz`` with the output bits of the transient rows (``None`` when none were kept).
    """

    out_dir: Path
    table_path: Path
    provenance_path: Path
    rows: list[dict[str, Any]]
    n_sessions: int
    n_cached: int
    n_simulated: int
    n_failed: int
    wall_time_s: float
    cpu_time_s: float
    plots: list[Path]
    bits_path: Path | None = None

    @property
    def failed_rows(self) -> list[dict[str, Any]]:
        """Rows with ``status != "ok"`` (their ``error`` column holds ngspice's message)."""
        return [r for r in self.rows if r.get("status") != "ok"]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    extra = sorted({k for r in rows for k in r} - set(TABLE_COLUMNS))
    params = [k for k in extra if k.startswith("param_")]
    others = [k for k in extra if not k.startswith("param_")]
    return list(TABLE_COLUMNS) + params + others


def _fmt_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def write_table(path: str | PathLike[str], rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as the characterization CSV (atomic; NaN/None as empty fields)."""
    cols = _columns(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_fmt_cell(r.get(c)) for c in cols])
    return atomic_write_text(path, buf.getvalue())


def read_table(path: str | PathLike[str]) -> list[dict[str, Any]]:
    """Read a characterization CSV back: numbers as float/int, empty fields as NaN, text as str."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for k, v in rec.items():
                if v == "":
                    row[k] = math.nan if k not in ("error", "status", "cell", "tier", "corner") else ""
                    continue
                try:
                    row[k] = int(v) if k in ("mc_seed", "n_samples", "n_ones", "row_id", "noise_replica") else float(v)
                except ValueError:
                    row[k] = v
            out.append(row)
    return out


def _sort_key(r: dict[str, Any]) -> tuple:
    def num(x: Any) -> float:
        return x if isinstance(x, (int, float)) and not math.isnan(x) else -math.inf

    return (str(r.get("tier")), str(r.get("corner")), num(r.get("temp_C")), num(r.get("vdd_V")),
            num(r.get("mc_seed")), num(r.get("bias_V")), num(r.get("noise_replica", 0)))


def characterize(spec: SweepSpec, out_dir: str | PathLike[str], executor: cf.Executor | None = None,
                 progress: ProgressCallback | None = None, *, workers: int | None = None,
                 use_cache: bool = True, cache: RowCache | None = None, retry_split: bool = True,
                 plot: bool = True, overwrite: bool = False, keep_bits: bool = True) -> CharacterizationResult:
    """Run the sweep ``spec`` and write the characterization table, provenance and plots to ``out_dir``.

    Parameters
    ----------
    spec
        The sweep (see :mod:`pbitkit.circuits.sweep`).
    out_dir
        Run directory; re-using it with a different spec raises ``ProvenanceMismatchError`` unless
        ``overwrite``.
    executor
        Any ``concurrent.futures.Executor``; default: a local process pool of ``workers`` processes
        (default: every usable core).
    progress
        ``progress(done, total, message)`` after every session.
    use_cache, cache
        Reuse and store rows in the content-hash cache (default location ``cache_dir()/circuits/rows``).
    retry_split
        Retry a failed multi-point session point by point.
    keep_bits
        Write the transient rows' output bit sequences to ``bits.npz`` (keyed by ``row_id``; ~1.3 kB per
        10 000 bits before compression). The row cache stores them either way, so this only decides whether
        the file is written (and the autocorrelation / dwell plots drawn).

    Raises
    ------
    NgspiceNotFoundError
        Before anything runs, if ngspice is missing.
    ConfigError, PbitkitError
        For a bad spec or a missing model library.
    """
    t0 = time.perf_counter()
    version = ngspice_version()  # fail early when ngspice is missing
    run_dir = open_run_dir(out_dir, kind="characterize", config=spec.to_dict(), overwrite=overwrite)
    cell = get_cell(spec.cell)
    cache = cache or (RowCache.default() if use_cache else None)
    code = (type(cell).__module__, *_ROW_MODULES)
    n_workers = workers if workers is not None else default_workers()

    libraries: dict[tuple[str, bool], ModelLibrary] = {}

    def library(corner: str, mismatch: bool) -> ModelLibrary:
        key = (corner, mismatch)
        if key not in libraries:
            libraries[key] = get_library(spec.models, corner if spec.models != "generic" else "tt", mismatch=mismatch)
        return libraries[key]

    points = expand(spec)
    trims: list[dict[str, Any]] = []
    if spec.trim == "calibrate":
        points, trims = trim_points(points, models=spec.models, ngspice_version=version, workers=n_workers,
                                    use_cache=use_cache and cache is not None)
        dev = [t for t in trims if not t.get("die_setup")]
        log.info("characterize %s: %d corner / temperature die setup(s) applied; trimmed %d mismatch device(s) by "
                 "the cell's calibration (%d from cache)", spec.cell, len(trims) - len(dev), len(dev),
                 sum(bool(t.get("cached")) for t in dev))
    centres: list[dict[str, Any]] = []
    if spec.bias_centering == "predicted":
        points, centres = centre_points(points, models=spec.models, ngspice_version=version, executor=executor,
                                        workers=n_workers, use_cache=use_cache and cache is not None,
                                        runner=spec.runner)
        log.info("characterize %s: centred %d device(s) on their predicted V0 (%d from cache)", spec.cell,
                 len(centres), sum(c["cached"] for c in centres))
    sessions = group_points(points, max_points_per_job=spec.max_points_per_job,
                            min_jobs=n_workers if executor is None else _executor_workers(executor, n_workers))

    def make_job(pts: list[SweepPoint]) -> SimJob:
        jobs = cell.jobs(pts, library=library, timeout_s=spec.timeout_s)
        if len(jobs) != 1:  # group_points already grouped by the cell's group_key
            raise RuntimeError(f"cell {cell.name} made {len(jobs)} jobs for one session")
        return jobs[0]

    jobs = [make_job(pts) for pts in sessions]
    keys = [job_key(j, ngspice_version=version, code_modules=code) for j in jobs]
    rows_by_session: dict[int, list[dict[str, Any]]] = {}
    pending: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key, n_rows=len(sessions[i])) if cache is not None else None
        if hit is not None:
            rows_by_session[i] = hit
        else:
            pending.append(i)
    n_cached = len(jobs) - len(pending)
    log.info("characterize %s: %d points in %d sessions (%d cached, %d to simulate, %s)", spec.cell,
             len(points), len(jobs), n_cached, len(pending),
             "custom executor" if executor is not None else f"{n_workers} worker(s)")
    session_log: list[dict[str, Any]] = [
        {"label": j.label, "job_sha256": j.content_hash(), "cache_key": k,
         "n_points": len(s), "cached": i not in pending}
        for i, (j, k, s) in enumerate(zip(jobs, keys, sessions))]

    cpu_total = 0.0
    n_simulated = 0
    failures: list[dict[str, Any]] = []
    per_worker: dict[str, int] = {}
    total = len(pending)
    done = 0

    def report(_d: int, _t: int, msg: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, msg)

    def handle(out: TaskOutcome, idx: list[int], job_list: list[SimJob], key_list: list[str],
               pts_list: list[list[SweepPoint]]) -> bool:
        """Store one finished session (into the cache at once, so an interrupted sweep keeps it); return
        whether it is a failed multi-point session to retry point by point."""
        nonlocal cpu_total, n_simulated
        k = out.index
        n_simulated += 1
        cpu_total += out.cpu_time_s
        per_worker[out.worker] = per_worker.get(out.worker, 0) + 1
        if out.status == "ok":
            if cache is not None:
                cache.put(key_list[k], out.rows, label=job_list[k].label,
                          cpu_time_s=out.cpu_time_s, wall_time_s=out.wall_time_s)
            rows_by_session[idx[k]] = rows_by_session.get(idx[k], []) + out.rows
            return False
        log.warning("session %s %s: %s", job_list[k].label, out.status,
                    out.error.splitlines()[0] if out.error else "")
        if retry_split and len(pts_list[k]) > 1:
            return True
        failures.append({"label": job_list[k].label, "status": out.status, "error": out.error})
        rows_by_session[idx[k]] = rows_by_session.get(idx[k], []) + cell.failed_rows(
            job_list[k], out.status, out.error)
        return False

    if pending:
        p_jobs = [jobs[i] for i in pending]
        p_keys, p_pts = [keys[i] for i in pending], [sessions[i] for i in pending]
        split = [out.index for out in run_tasks([(cell.name, j) for j in p_jobs], executor, workers=n_workers,
                                                progress=report, runner=spec.runner)
                 if handle(out, pending, p_jobs, p_keys, p_pts)]
        if split:
            s_idx, s_jobs, s_keys, s_pts = [], [], [], []
            for k in sorted(split):
                for pt in sessions[pending[k]]:
                    j = make_job([pt])
                    s_idx.append(pending[k])
                    s_jobs.append(j)
                    s_keys.append(job_key(j, ngspice_version=version, code_modules=code))
                    s_pts.append([pt])
            log.info("retrying %d failed session(s) point by point (%d sessions)", len(split), len(s_jobs))
            total += len(s_jobs)
            for out in run_tasks([(cell.name, j) for j in s_jobs], executor, workers=n_workers, progress=report,
                                 runner=spec.runner):
                handle(out, s_idx, s_jobs, s_keys, s_pts)

    rows = sorted((r for i in range(len(jobs)) for r in rows_by_session.get(i, [])), key=_sort_key)
    records: dict[int, BitRecord] = {}
    for i, r in enumerate(rows):
        r["row_id"] = i
        enc = r.pop(BITS_KEY, None)
        if enc is not None and r.get("status") == "ok":
            records[i] = decode_bits(enc)
    table_path = write_table(run_dir / TABLE_FILE, rows)
    bits_path = write_bits(run_dir / BITS_FILE, records) if keep_bits and records else None
    n_failed = sum(1 for r in rows if r.get("status") != "ok")
    wall = time.perf_counter() - t0
    plots = _plots(rows, run_dir.path / "plots", records if keep_bits else {}) if plot else []
    prov = environment_provenance(
        kind="characterization",
        spec=spec.to_dict(),
        ngspice_version=version,
        simulator_options=SPICEINIT,
        models=[lib.provenance() for lib in libraries.values()],
        seeds={"mc_seeds": list(spec.mc_seeds), "noise_seed": spec.noise_seed},
        bias_centres=centres,
        device_trims=trims,
        sessions=session_log,
        counts={"points": len(points), "rows": len(rows), "sessions": len(jobs), "cached": n_cached,
                "simulated": n_simulated, "failed_rows": n_failed},
        timing={"wall_time_s": wall, "cpu_time_s": cpu_total,
                "workers": None if executor is not None else n_workers, "sessions_per_worker": per_worker},
        failures=failures,
        table=TABLE_FILE,
        bits=BITS_FILE if bits_path is not None else None,
        columns=_columns(rows),
    )
    prov_path = atomic_write_json(run_dir / PROVENANCE_FILE, prov)
    log.info("characterize %s: %d rows (%d failed) in %.1f s -> %s", spec.cell, len(rows), n_failed, wall, table_path)
    return CharacterizationResult(out_dir=run_dir.path, table_path=table_path, provenance_path=prov_path, rows=rows,
                                  n_sessions=len(jobs), n_cached=n_cached, n_simulated=n_simulated,
                                  n_failed=n_failed, wall_time_s=wall, cpu_time_s=cpu_total, plots=plots,
                                  bits_path=bits_path)


def _executor_workers(executor: cf.Executor, fallback: int) -> int:
    """How many tasks ``executor`` runs at once (process pools, dask clients), else ``fallback``."""
    n = getattr(executor, "_max_workers", None)
    if isinstance(n, int) and n > 0:
        return n
    client = getattr(executor, "client", None)
    if client is not None:
        try:
            return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
        except Exception:  # noqa: BLE001 - only a sizing hint
            return fallback
    return fallback


def _plots(rows: list[dict[str, Any]], plot_dir: Path, records: dict[int, BitRecord]) -> list[Path]:
    """The plotting module's ``plot_characterization`` (table columns vs bias) and, when bit sequences were
    kept, ``plot_bit_statistics`` (autocorrelation and dwell-time histograms)."""
    try:
        from pbitkit.circuits import plots as plotting
    except ImportError:
        log.info("pbitkit.circuits.plots not available: no plots written")
        return []
    fn = getattr(plotting, "plot_characterization", None)
    if fn is None:
        log.info("pbitkit.circuits.plots has no plot_characterization(rows, out_dir): no plots written")
        return []
    out = [Path(p) for p in (fn(rows, plot_dir) or [])]
    if records:
        out += [Path(p) for p in plotting.plot_bit_statistics(rows, records, plot_dir)]
    return out
