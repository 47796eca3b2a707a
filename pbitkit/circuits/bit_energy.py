"""Energy per independent bit of a cell at P(1) ≈ 1/2, pooled over several records, with its standard error.

A single record's ``energy_per_independent_bit_J`` (the table column: energy per read × max(1, τ_int) of that
record's own bits) scatters with the record's τ_int estimate, which a few hundred reads pin down only to
±25 %. This module pools the records near the centre of the sigmoid: the energy per read is their mean,
τ_int comes from their pooled autocorrelation with a delete-one-record jackknife error
(:func:`pbitkit.circuits.measure.pooled_integrated_autocorr_time`), and

    energy per independent bit = mean energy per read × max(1, τ_int),
    SE² = (τ_eff · SE(E_read))² + (E_read · SE(τ_int))²   (τ_eff = max(1, τ_int); SE(τ_int) counted even
                                                            when τ_int < 1, so the error is never hidden).

``pbitkit characterize`` logs it for the nominal device; the strict demonstration of the native_latch's
target (tests/circuits/test_energy_per_independent_bit.py) uses the same function on many records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pbitkit.circuits.bits import BitRecord
from pbitkit.circuits.measure import pooled_integrated_autocorr_time

__all__ = ["CentreBitEnergy", "centre_bit_energy", "CENTRE_P1_RANGE"]

#: Rows whose P(1) lies in this range count as "at P ≈ 1/2".
CENTRE_P1_RANGE = (0.2, 0.8)


@dataclass(frozen=True)
class CentreBitEnergy:
    """Pooled energy per independent bit near P(1) = 1/2 (SI units; τ_int in reads).

    Attributes
    ----------
    cell : str
    n_records, n_reads : int
        Records pooled and their reads in total.
    p1 : float
        Mean P(1) of the pooled records.
    sample_period_s : float
        Time between reads.
    energy_per_read_J, energy_per_read_se_J : float
        Mean energy per read over the records (every supply the cell counts) and its standard error.
    tau_int, tau_int_se : float
        Pooled integrated autocorrelation time of the read bits (reads) and its jackknife standard error.
    tau_corr_s, tau_corr_se_s : float
        ``max(1, τ_int) · sample_period_s / 2`` (the table's definition of ``tau_corr_s``) and its error.
    energy_per_independent_bit_J, energy_per_independent_bit_se_J : float
        ``energy_per_read_J · max(1, τ_int)`` and its standard error.
    corner, temp_C, vdd_V : str, float, float or None
        Where the pooled records ran (``vdd_V`` None: the cell's default supply).
    """

    cell: str
    n_records: int
    n_reads: int
    p1: float
    sample_period_s: float
    energy_per_read_J: float
    energy_per_read_se_J: float
    tau_int: float
    tau_int_se: float
    tau_corr_s: float
    tau_corr_se_s: float
    energy_per_independent_bit_J: float
    energy_per_independent_bit_se_J: float
    corner: str = ""
    temp_C: float = math.nan
    vdd_V: float | None = None

    def including(self, extra_per_read_J: float) -> tuple[float, float]:
        """Energy per independent bit and its standard error (J) with ``extra_per_read_J`` added to every read
        (e.g. a supply generator's share per cell per read, simulated once: it carries no sampling error)."""
        if not (isinstance(extra_per_read_J, (int, float)) and math.isfinite(extra_per_read_J) and extra_per_read_J >= 0):
            raise ValueError(f"extra_per_read_J must be a finite energy >= 0 J, got {extra_per_read_J!r}")
        tau_eff = max(1.0, self.tau_int)
        e = self.energy_per_read_J + extra_per_read_J
        return e * tau_eff, math.hypot(tau_eff * self.energy_per_read_se_J, e * self.tau_int_se)

    def upper_J(self, k: float = 2.0) -> float:
        """The upper ``k``-standard-error bound of the energy per independent bit (J)."""
        return self.energy_per_independent_bit_J + k * self.energy_per_independent_bit_se_J

    def summary(self) -> str:
        """One line: what ``pbitkit characterize`` logs."""
        return (f"{self.cell} at P(1) ~ 0.5 ({self.n_records} records with {CENTRE_P1_RANGE[0]} <= P(1) <= "
                f"{CENTRE_P1_RANGE[1]}, {self.n_reads} reads, mean P(1) {self.p1:.2f}): "
                f"tau_corr = {self.tau_corr_s * 1e9:.0f} +- {self.tau_corr_se_s * 1e9:.0f} ns "
                f"(tau_int {self.tau_int:.2f} +- {self.tau_int_se:.2f} reads of {self.sample_period_s * 1e9:.0f} ns), "
                f"energy per read {self.energy_per_read_J * 1e15:.3f} fJ, "
                f"energy_per_independent_bit_J = {self.energy_per_independent_bit_J * 1e15:.2f} +- "
                f"{self.energy_per_independent_bit_se_J * 1e15:.2f} fJ")


def centre_bit_energy(rows: Iterable[Mapping[str, Any]], records: Mapping[int, BitRecord], *,
                      p1_range: tuple[float, float] = CENTRE_P1_RANGE, nominal_only: bool = True) -> CentreBitEnergy:
    """Pool the transient rows with P(1) in ``p1_range`` (and their bit records, keyed by ``row_id``).

    Parameters
    ----------
    rows
        Table rows (``status``, ``tier``, ``row_id``, ``p1``, ``energy_per_bit_J``, ``sample_period_s``; with
        ``nominal_only`` also ``mc_seed == -1``, corner, temperature and supply of the first such row).
    records
        ``{row_id: BitRecord}`` (:func:`pbitkit.circuits.bits.read_bits`).

    Raises
    ------
    ValueError
        Fewer than 2 usable records near the centre, rows of several cells, or differing read periods.
    """
    use = [r for r in rows if r.get("status") == "ok" and r.get("tier", "transient") == "transient"
           and p1_range[0] <= float(r["p1"]) <= p1_range[1] and int(r["row_id"]) in records
           and math.isfinite(float(r.get("energy_per_bit_J", math.nan)))
           and (not nominal_only or int(r.get("mc_seed", -1)) == -1)]
    if nominal_only and use:
        key = ("corner", "temp_C", "vdd_V")
        first = {k: use[0].get(k) for k in key}
        use = [r for r in use if all(r.get(k) == first[k] for k in key)]
    if len(use) < 2:
        raise ValueError(f"need >= 2 transient records with {p1_range[0]} <= P(1) <= {p1_range[1]}, got {len(use)}")
    cells = {r["cell"] for r in use}
    periods = {float(r["sample_period_s"]) for r in use}
    if len(cells) != 1 or len(periods) != 1:
        raise ValueError(f"pool one cell at one read period; got cells {sorted(cells)}, periods {sorted(periods)}")
    bits = [records[int(r["row_id"])].bits for r in use]
    pooled = pooled_integrated_autocorr_time(bits)
    e = np.array([float(r["energy_per_bit_J"]) for r in use])
    e_read, e_se = float(e.mean()), float(e.std(ddof=1) / math.sqrt(e.size))
    t_s = periods.pop()
    tau_eff = max(1.0, pooled.tau_int)
    e_ind = e_read * tau_eff
    e_ind_se = math.hypot(tau_eff * e_se, e_read * pooled.se)
    return CentreBitEnergy(
        cell=cells.pop(), n_records=len(use), n_reads=int(sum(b.size for b in bits)),
        p1=float(np.mean([float(r["p1"]) for r in use])), sample_period_s=t_s,
        energy_per_read_J=e_read, energy_per_read_se_J=e_se, tau_int=pooled.tau_int, tau_int_se=pooled.se,
        tau_corr_s=tau_eff * t_s / 2, tau_corr_se_s=pooled.se * t_s / 2,
        energy_per_independent_bit_J=e_ind, energy_per_independent_bit_se_J=e_ind_se,
        corner=str(use[0].get("corner", "")), temp_C=float(use[0].get("temp_C", math.nan)),
        vdd_V=None if _missing(use[0].get("vdd_V")) else float(use[0]["vdd_V"]))


def _missing(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))
