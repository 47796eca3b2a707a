"""Where evaluated designs live: a content-hash cache shared by every run, and each run's own log.

* **cache** — ``cache_dir()/explore/designs/<key[:2]>/<key>.json``, one file per design, written atomically
  as the design finishes. The key (:func:`design_key`) covers the cell, the design, the conditions, the
  area proxy, the screen, the ngspice version and the source of the code that computed the figures, so a
  changed cell or evaluation is a miss.
* **run log** — ``OUT/designs.jsonl``, one JSON line per finished design of the run (appended and flushed
  as it finishes). A killed run leaves at most a truncated last line.

Every record carries the SHA-256 of its content; :func:`read_records` and :meth:`DesignCache.get` check it
(and the key) and treat a record that fails as absent, logging the file — the design is evaluated again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pbitkit.circuits.cache import module_hash
from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_write_json, from_json_safe, read_json, sha256_json, to_json_safe
from pbitkit.paths import cache_dir

__all__ = ["design_key", "make_record", "check_record", "DesignCache", "append_record", "read_records",
           "RECORD_FORMAT"]

log = logging.getLogger(__name__)

#: schema version of a stored design record
RECORD_FORMAT = 1


def design_key(cell: str, design: Mapping[str, float], *, conditions: Mapping[str, Any], area: Mapping[str, Any],
               screen: Sequence[Mapping[str, Any]], ngspice_version: str, code_modules: Sequence[str]) -> str:
    """Hex SHA-256 of everything that determines a design's figures (see the module docstring)."""
    return sha256_json({"format": RECORD_FORMAT, "cell": cell,
                        "design": {k: repr(float(v)) for k, v in sorted(design.items())},
                        "conditions": to_json_safe(dict(conditions)), "area": to_json_safe(dict(area)),
                        "screen": to_json_safe(list(screen)), "ngspice": ngspice_version,
                        "code": {m: module_hash(m) for m in code_modules}})


def make_record(key: str, design: Mapping[str, float], metrics: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A stored record: key, design, metrics (JSON-safe), ``extra`` (round, origin, unit coordinates...) and
    the SHA-256 of all of it."""
    body = {"format": RECORD_FORMAT, "key": key, "design": to_json_safe(dict(design)), "metrics": to_json_safe(dict(metrics)),
            **{k: to_json_safe(v) for k, v in extra.items()}}
    return {**body, "sha256": sha256_json(body)}


def check_record(rec: Any) -> str:
    """Why ``rec`` is not a valid record ("" if it is)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    if rec.get("format") != RECORD_FORMAT:
        return f"format {rec.get('format')!r}, expected {RECORD_FORMAT}"
    body = {k: v for k, v in rec.items() if k != "sha256"}
    if rec.get("sha256") != sha256_json(body):
        return "checksum does not match its content"
    if not isinstance(rec.get("design"), dict) or not isinstance(rec.get("metrics"), dict):
        return "design/metrics missing"
    return ""


def restore_metrics(rec: Mapping[str, Any]) -> dict[str, Any]:
    """A record's metrics with NaN/inf restored."""
    return from_json_safe(dict(rec["metrics"]))


class DesignCache:
    """Content-hash cache of evaluated designs (``DesignCache.default()``: ``cache_dir()/explore/designs``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> DesignCache:
        return cls(cache_dir() / "explore" / "designs")

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached record of ``key``, or ``None`` (missing, unreadable or failing its checks: logged)."""
        p = self._path(key)
        if not p.is_file():
            return None
        try:
            rec = read_json(p)
        except PbitkitError as exc:
            log.warning("ignoring unreadable design cache entry %s: %s", p, exc)
            return None
        why = check_record(rec) or ("" if rec.get("key") == key else "its key differs from its file name")
        if why:
            log.warning("ignoring corrupt design cache entry %s (%s); evaluating the design again", p, why)
            return None
        return rec

    def put(self, rec: Mapping[str, Any]) -> Path:
        """Store a record (atomic)."""
        return atomic_write_json(self._path(str(rec["key"])), dict(rec))


def append_record(path: str | os.PathLike[str], rec: Mapping[str, Any]) -> None:
    """Append one record as a JSON line to a run log and flush it to disk (after a partial last line, on a new
    line)."""
    line = json.dumps(dict(rec), sort_keys=True, allow_nan=False) + "\n"
    p = Path(path)
    if p.is_file() and p.stat().st_size:
        with open(p, "rb") as fh:  # a kill mid-write left a partial last line: start on a fresh one
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = "\n" + line
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The valid records of a run log (a missing file is empty); a line that does not parse or fails its
    checks (a truncated last line after a kill, an edited record) is skipped with a warning."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s line %d is not valid JSON (an interrupted write?); ignoring it", p, n)
                continue
            why = check_record(rec)
            if why:
                log.warning("%s line %d: %s; ignoring it (the design is evaluated again)", p, n, why)
                continue
            out.append(rec)
    return out
