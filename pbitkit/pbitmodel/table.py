"""Reading the characterization table written by ``pbitkit characterize`` (docs/contracts.md).

The table is kept as a mapping of column name to a 1-D NumPy array (float for numeric columns, ``object``
for text columns); no pandas. Numeric columns are parsed as float, empty cells become NaN.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pbitkit.errors import PbitkitError
from pbitkit.io import read_json, sha256_file

__all__ = ["CharTable", "read_characterization", "rows_to_table", "table_to_csv", "TEXT_COLUMNS",
           "REQUIRED_COLUMNS"]

#: Columns read as text (every other column is parsed as float, empty -> NaN).
TEXT_COLUMNS = ("cell", "tier", "corner", "status", "error")
#: Columns a table must have (``n_ones`` may be derived from ``p1``).
REQUIRED_COLUMNS = ("cell", "bias_V", "n_samples", "n_ones")
CSV_NAME = "characterization.csv"
SIDECAR_NAME = "characterization.json"


@dataclass(frozen=True)
class CharTable:
    """A characterization table: ``columns[name]`` is a 1-D array of length ``n_rows``.

    ``sidecar`` is the provenance JSON (empty dict when absent); ``source`` the CSV path and ``sha256`` its
    content hash (empty for in-memory tables).
    """

    columns: dict[str, np.ndarray]
    sidecar: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    sha256: str = ""

    @property
    def n_rows(self) -> int:
        return int(next(iter(self.columns.values())).size) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise PbitkitError(
                f"characterization table {self.source or '(in memory)'} has no column '{name}'"
            ) from None

    def get(self, name: str, default: float = math.nan) -> np.ndarray:
        """Column ``name`` or an array filled with ``default`` when the table lacks it."""
        if name in self.columns:
            return self.columns[name]
        return np.full(self.n_rows, default, dtype=float)

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def select(self, mask: np.ndarray) -> CharTable:
        """Rows where ``mask`` is true (same sidecar and source)."""
        m = np.asarray(mask, dtype=bool)
        return CharTable({k: v[m] for k, v in self.columns.items()}, self.sidecar, self.source, self.sha256)


def _parse_column(name: str, values: list[str]) -> np.ndarray:
    if name in TEXT_COLUMNS:
        return np.array(values, dtype=object)
    out = np.empty(len(values), dtype=float)
    for i, s in enumerate(values):
        s = s.strip()
        if s == "" or s.lower() in ("nan", "none", "null"):
            out[i] = math.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            return np.array(values, dtype=object)  # a text column we do not know
    return out


def rows_to_table(rows: list[dict[str, Any]], *, sidecar: dict[str, Any] | None = None,
                  source: str = "") -> CharTable:
    """Build a table from row dicts (missing keys become NaN / empty)."""
    names: list[str] = []
    for r in rows:
        for k in r:
            if k not in names:
                names.append(k)
    cols: dict[str, np.ndarray] = {}
    for name in names:
        vals = [r.get(name) for r in rows]
        numeric = name not in TEXT_COLUMNS and all(
            v is None or (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
            for v in vals)
        if numeric:
            cols[name] = np.array([math.nan if v is None else float(v) for v in vals], dtype=float)
        else:
            cols[name] = np.array(["" if v is None else str(v) for v in vals], dtype=object)
    return CharTable(cols, sidecar or {}, source)


def table_to_csv(table: CharTable) -> str:
    """CSV text of a table (floats in ``repr`` precision, NaN as empty)."""
    buf = io.StringIO()
    names = list(table.columns)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for i in range(table.n_rows):
        row = []
        for n in names:
            v = table.columns[n][i]
            if isinstance(v, float) and math.isnan(v):
                row.append("")
            else:
                row.append(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v))
        w.writerow(row)
    return buf.getvalue()


def read_characterization(path: str | os.PathLike[str]) -> CharTable:
    """Read ``characterization.csv`` (and its ``characterization.json`` sidecar when present).

    Parameters
    ----------
    path
        The run directory written by ``pbitkit characterize`` or the CSV file itself.

    Raises
    ------
    PbitkitError
        If the file is missing, empty, or lacks a required column (named in the message), or holds another
        number of rows than its sidecar records as written (a cut or edited table).
    """
    p = Path(path)
    csv_path = p / CSV_NAME if p.is_dir() else p
    if not csv_path.is_file():
        raise PbitkitError(f"characterization table not found: {csv_path}")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise PbitkitError(f"{csv_path} is empty") from None
        data = [row for row in reader if row]
    if not data:
        raise PbitkitError(f"{csv_path} has a header but no rows")
    for i, row in enumerate(data):
        if len(row) != len(header):
            raise PbitkitError(f"{csv_path}: row {i + 2} has {len(row)} fields, the header has {len(header)}")
    cols = {name: _parse_column(name, [r[j] for r in data]) for j, name in enumerate(header)}
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing and not ("p1" in cols and "n_ones" in missing and len(missing) == 1):
        raise PbitkitError(f"{csv_path}: missing required column(s) {missing}")
    if "n_ones" not in cols:
        cols["n_ones"] = np.round(cols["p1"] * cols["n_samples"])
    side_path = csv_path.with_name(SIDECAR_NAME)
    sidecar = read_json(side_path) if side_path.is_file() else {}
    written = (sidecar.get("counts") or {}).get("rows") if isinstance(sidecar.get("counts"), dict) else None
    if isinstance(written, int) and not isinstance(written, bool) and written != len(data):
        # a table cut short (at a line boundary it is still valid CSV) or edited after pbitkit wrote it
        raise PbitkitError(f"{csv_path} has {len(data)} rows but {side_path.name} records {written} written: the "
                           "table was cut or edited; re-run `pbitkit characterize` (or remove the sidecar to fit "
                           "an edited table on purpose)")
    return CharTable(cols, sidecar, str(csv_path), sha256_file(csv_path))
