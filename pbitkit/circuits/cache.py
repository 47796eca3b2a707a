"""Content-hash cache of measured table rows, one entry per ngspice session.

The key of a session is the SHA-256 of everything that determines its rows:

* the netlist text, the extra files (noise tables) and the requested vectors (:meth:`SimJob.content_hash`);
* the content hash of every model file the netlist includes (``.include`` / ``.lib`` paths are read and
  hashed, so a changed model file is a miss even under the same path);
* the ngspice version and the simulator options the adapter sets (``.spiceinit``);
* the measurement code (hash of the cell's and the measurement module's source files), so rows measured
  by older code are not reused.

Entries are JSON files under ``cache_dir()/circuits/rows/`` written atomically as each session finishes;
only successful sessions are cached, so a re-run retries failures and a killed sweep resumes where it
stopped. Every entry records its row count and the SHA-256 of its rows; :meth:`RowCache.get` checks both
(and, when the caller says how many rows to expect, that number) and treats an entry that fails as a
miss, logging the file: the session is simulated again and the entry rewritten.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbitkit.circuits.ngspice import SPICEINIT, SimJob
from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_write_json, from_json_safe, read_json, sha256_file, sha256_json, to_json_safe
from pbitkit.paths import cache_dir

__all__ = ["RowCache", "job_key", "module_hash", "CACHE_FORMAT"]

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: entries record n_rows and rows_sha256
_INCLUDE = re.compile(r'^\s*\.(?:include|inc|lib)\s+"?([^"\s]+)"?', re.IGNORECASE | re.MULTILINE)


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:  # noqa: ARG001 - mtime/size key the memo
    return sha256_file(path)


def _included_hashes(netlist: str) -> dict[str, str]:
    out = {}
    for m in _INCLUDE.finditer(netlist):
        p = m.group(1)
        try:
            st = os.stat(p)
            out[p] = _file_hash(p, st.st_mtime_ns, st.st_size)
        except OSError:
            out[p] = "missing"
    return out


def module_hash(module_name: str) -> str:
    """SHA-256 of an imported module's source file (``"unknown"`` if it has none)."""
    mod = sys.modules.get(module_name)
    path = getattr(mod, "__file__", None)
    if not path:
        return "unknown"
    st = os.stat(path)
    return _file_hash(path, st.st_mtime_ns, st.st_size)


def job_key(job: SimJob, *, ngspice_version: str, code_modules: tuple[str, ...] = ()) -> str:
    """The cache key of ``job`` (hex SHA-256); see the module docstring for what goes in."""
    return sha256_json({
        "format": CACHE_FORMAT,
        "job": job.content_hash(),
        "models": _included_hashes(job.netlist),
        "ngspice": ngspice_version,
        "options": SPICEINIT,
        "code": {m: module_hash(m) for m in code_modules},
    })


@dataclass(frozen=True)
class RowCache:
    """A directory of cached rows. ``RowCache.default()`` uses ``cache_dir()/circuits/rows``."""

    root: Path

    @classmethod
    def default(cls) -> RowCache:
        return cls(cache_dir() / "circuits" / "rows")

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, *, n_rows: int | None = None) -> list[dict[str, Any]] | None:
        """The cached rows for ``key``, or ``None`` for a miss.

        An entry that is unreadable, of another format or key, or whose rows do not match the row count
        and SHA-256 recorded when it was written (or ``n_rows``, when given) is a miss; a warning names
        the file, and the caller simulates the session again (overwriting the entry)."""
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            entry = read_json(p)
        except PbitkitError as exc:
            log.warning("ignoring unreadable cache entry %s: %s", p, exc)
            return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or entry.get("key") != key:
            return None
        rows = entry.get("rows")
        problem = ""
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            problem = "rows are not a list of tables"
        elif entry.get("n_rows") != len(rows) or entry.get("rows_sha256") != sha256_json(rows):
            problem = (f"{len(rows)} row(s) whose checksum does not match the {entry.get('n_rows')} row(s) "
                       "recorded when the entry was written")
        elif n_rows is not None and len(rows) != n_rows:
            problem = f"{len(rows)} row(s), the session has {n_rows} point(s)"
        if problem:
            log.warning("ignoring corrupt cache entry %s: %s; simulating the session again", p, problem)
            return None
        return [{k: from_json_safe(v) for k, v in row.items()} for row in rows]

    def put(self, key: str, rows: list[dict[str, Any]], **meta: Any) -> Path:
        """Store ``rows`` (NaN/inf are encoded so the file is strict JSON) atomically, with their count
        and SHA-256."""
        clean = [{k: to_json_safe(v) for k, v in row.items()} for row in rows]
        entry = {"format": CACHE_FORMAT, "key": key, "meta": meta, "n_rows": len(clean),
                 "rows_sha256": sha256_json(clean), "rows": clean}
        return atomic_write_json(self._path(key), entry)

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()
