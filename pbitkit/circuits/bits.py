"""Raw output bit sequences of a characterization: compact transport and the ``bits.npz`` file.

The characterization table keeps only summaries of each transient point's output (P(1), ``tau_corr_s``,
dwell means, rates). The bit sequences themselves are small (one bit per sample period: a 0.1 s latch
record at 10 µs is 10 000 bits = 1.25 kB packed), so the cells return them with every transient row and
:func:`pbitkit.circuits.characterize.characterize` writes them next to the table:

``DIR/bits.npz`` (``np.savez_compressed``, written atomically), keyed by the table's ``row_id`` column:

* ``row_id`` (k,) int64 — rows that have bits (transient, ``status == "ok"``);
* ``n_bits`` (k,) int64, ``dt_s`` (k,) float64 (sample period, s), ``hysteresis_V`` (k,) float64
  (Schmitt width of the flip sequence, NaN when there is none);
* ``bits_<row_id>`` — ``np.packbits`` of the output bits (0/1) whose P(1) and autocorrelation the row
  reports;
* ``flips_<row_id>`` (only when it differs from the output bits, i.e. the latch) — the Schmitt-trigger
  sequence whose dwell times give the row's flip rate, dwell means and rates.

In transit (worker -> parent, and in the row cache) the same data is a JSON-safe dict under the private
row key :data:`BITS_KEY` (base64 of the packed bits), so cached sessions restore their bits without
re-simulation. :func:`read_bits` gives ``{row_id: BitRecord}``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.errors import PbitkitError
from pbitkit.io import atomic_save_npz

__all__ = ["BITS_FILE", "BITS_KEY", "BitRecord", "encode_bits", "decode_bits", "write_bits", "read_bits"]

#: File name of the bit sequences in a characterization run directory.
BITS_FILE = "bits.npz"
#: Private row key carrying the encoded bits from the worker to the orchestrator (never a table column).
BITS_KEY = "_bits"

@dataclass(frozen=True)
class BitRecord:
    """The output bits of one transient sweep point.

    Attributes
    ----------
    bits : (n,) uint8 array of 0/1
        Output bit read every ``dt_s`` (what P(1), ``n_eff`` and ``tau_corr_s`` are measured on).
    dt_s : float
        Sample period (s).
    flip_bits : (n,) uint8 array of 0/1
        The sequence the flip rate, dwell times and telegraph rates are measured on (the latch's Schmitt
        trigger of width ``hysteresis_V``; otherwise the same array as ``bits``).
    hysteresis_V : float
        Schmitt width of ``flip_bits`` (V); NaN when ``flip_bits`` is ``bits``.
    """

    bits: np.ndarray
    dt_s: float
    flip_bits: np.ndarray
    hysteresis_V: float = math.nan

    def __post_init__(self) -> None:
        for name in ("bits", "flip_bits"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or (a.size and not np.all((a == 0) | (a == 1))):
                raise ValueError(f"BitRecord.{name}: expected a 1-D array of 0/1, got shape {a.shape}")
            object.__setattr__(self, name, a.astype(np.uint8, copy=False))
        if self.flip_bits.shape != self.bits.shape:
            raise ValueError(f"BitRecord: flip_bits has {self.flip_bits.size} samples, bits {self.bits.size}")
        if not (math.isfinite(self.dt_s) and self.dt_s > 0):
            raise ValueError(f"BitRecord.dt_s must be a positive number of seconds, got {self.dt_s!r}")


def _b64(bits: np.ndarray) -> str:
    return base64.b64encode(np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()).decode("ascii")


def _unb64(text: str, n: int) -> np.ndarray:
    packed = np.frombuffer(base64.b64decode(text.encode("ascii")), dtype=np.uint8)
    return np.unpackbits(packed, count=n)


def encode_bits(bits: np.ndarray, dt_s: float, flip_bits: np.ndarray | None = None,
                hysteresis_V: float = math.nan) -> dict[str, Any]:
    """A JSON-safe dict of the bits (packed, base64): what a cell puts under :data:`BITS_KEY` in a row.

    ``flip_bits`` equal to ``bits`` (or ``None``) is not stored twice.
    """
    b = np.asarray(bits, dtype=np.uint8)
    out: dict[str, Any] = {"n": int(b.size), "dt_s": float(dt_s), "bits": _b64(b)}
    if flip_bits is not None and not np.array_equal(flip_bits, b):
        out["flips"] = _b64(np.asarray(flip_bits, dtype=np.uint8))
        out["hysteresis_V"] = float(hysteresis_V)
    return out


def decode_bits(d: Mapping[str, Any]) -> BitRecord:
    """The :class:`BitRecord` of an :func:`encode_bits` dict (raises ``PbitkitError`` if malformed)."""
    try:
        n = int(d["n"])
        bits = _unb64(d["bits"], n)
        flips = _unb64(d["flips"], n) if "flips" in d else bits
        hyst = float(d.get("hysteresis_V", math.nan)) if "flips" in d else math.nan
        return BitRecord(bits=bits, dt_s=float(d["dt_s"]), flip_bits=flips, hysteresis_V=hyst)
    except (KeyError, TypeError, ValueError) as exc:
        raise PbitkitError(f"malformed encoded bit record: {exc}") from exc


def write_bits(path: str | PathLike[str], records: Mapping[int, BitRecord]) -> Path:
    """Write ``{row_id: BitRecord}`` to ``path`` (compressed ``.npz``, atomic; layout in the module doc)."""
    ids = sorted(records)
    arrays: dict[str, np.ndarray] = {
        "row_id": np.array(ids, dtype=np.int64),
        "n_bits": np.array([records[i].bits.size for i in ids], dtype=np.int64),
        "dt_s": np.array([records[i].dt_s for i in ids], dtype=np.float64),
        "hysteresis_V": np.array([records[i].hysteresis_V for i in ids], dtype=np.float64),
    }
    for i in ids:
        r = records[i]
        arrays[f"bits_{i}"] = np.packbits(r.bits)
        if r.flip_bits is not r.bits and not np.array_equal(r.flip_bits, r.bits):
            arrays[f"flips_{i}"] = np.packbits(r.flip_bits)
    return atomic_save_npz(path, **arrays)


def read_bits(path: str | PathLike[str]) -> dict[int, BitRecord]:
    """``{row_id: BitRecord}`` from a ``bits.npz`` (a run directory is accepted too).

    Raises
    ------
    PbitkitError
        If the file is missing or not a bits file (naming the file and the missing array).
    """
    p = Path(path)
    if p.is_dir():
        p = p / BITS_FILE
    if not p.is_file():
        raise PbitkitError(f"bit sequences not found: {p} (written by characterize() for transient rows)")
    with np.load(p) as z:
        names = set(z.files)
        for req in ("row_id", "n_bits", "dt_s", "hysteresis_V"):
            if req not in names:
                raise PbitkitError(f"{p}: not a pbitkit bits file (no array {req!r})")
        out: dict[int, BitRecord] = {}
        for rid, n, dt, hyst in zip(z["row_id"], z["n_bits"], z["dt_s"], z["hysteresis_V"]):
            key = f"bits_{int(rid)}"
            if key not in names:
                raise PbitkitError(f"{p}: row_id {int(rid)} listed but array {key!r} missing")
            bits = np.unpackbits(z[key], count=int(n))
            fk = f"flips_{int(rid)}"
            flips = np.unpackbits(z[fk], count=int(n)) if fk in names else bits
            out[int(rid)] = BitRecord(bits=bits, dt_s=float(dt), flip_bits=flips, hysteresis_V=float(hyst))
    return out
