"""Atomic file writes and content hashing.

Every cache entry, table and result file is written to a temporary file in the same directory and then
renamed over the target (``os.replace`` is atomic on POSIX), so an interrupt never leaves a half-written
file behind. Errors name the path (disk full, permission denied).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.errors import PbitkitError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_npz",
    "read_npz",
    "atomic_path",
    "read_json",
    "sha256_bytes",
    "sha256_file",
    "sha256_json",
    "canonical_json",
    "to_json_safe",
    "from_json_safe",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``, on error delete it.

    Use for writers that insist on a file name (``savefig``, ``np.savez``). ``suffix`` keeps the extension
    that such writers look at.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
    except OSError as exc:
        raise PbitkitError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PbitkitError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (fsync'd temp file + rename). Returns the path."""
    target = Path(path)
    with atomic_path(target) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise PbitkitError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically. Returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serializable")


def to_json_safe(value: Any) -> Any:
    """A strict-JSON copy of ``value``: NaN -> None, +-inf -> "inf"/"-inf", NumPy scalars -> Python, recursively.

    Dict keys become strings, tuples become lists. :func:`from_json_safe` inverts it.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): to_json_safe(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(x) for x in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return to_json_safe(value.item())
    return value


def from_json_safe(value: Any) -> Any:
    """Undo :func:`to_json_safe`: None -> NaN, "inf"/"-inf" -> +-inf, recursively through dicts and lists."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"inf": math.inf, "-inf": -math.inf}.get(value, value)
    if isinstance(value, dict):
        return {k: from_json_safe(x) for k, x in value.items()}
    if isinstance(value, list):
        return [from_json_safe(x) for x in value]
    return value


def canonical_json(obj: Any) -> str:
    """JSON text with sorted keys and no whitespace variation: the input to content hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=True)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as pretty JSON atomically (NumPy scalars and arrays are converted)."""
    text = json.dumps(obj, indent=indent, sort_keys=False, default=_json_default) + "\n"
    return atomic_write_text(path, text)


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; a missing or malformed file raises :class:`PbitkitError` naming the path."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PbitkitError(f"file not found: {p}") from exc
    except json.JSONDecodeError as exc:
        raise PbitkitError(f"{p} is not valid JSON: {exc}") from exc


def atomic_save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """``np.savez_compressed`` to ``path`` atomically."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickles), read completely.

    Raises
    ------
    PbitkitError
        Naming the file when it is missing, truncated or otherwise not a readable ``.npz`` (instead of a
        bare ``BadZipFile`` / ``EOFError`` from deep inside NumPy).
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # our handle: closed on any error
            return {k: z[k] for k in z.files}
    except FileNotFoundError as exc:
        raise PbitkitError(f"file not found: {p}") from exc
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, zipfile.LargeZipFile) as exc:
        raise PbitkitError(f"{p} is truncated or corrupt ({type(exc).__name__}: {exc}); delete it and re-run "
                           "to recreate it") from exc


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of the canonical JSON form of ``obj`` (content hash of configs and cache keys)."""
    return sha256_bytes(canonical_json(obj).encode("utf-8"))
