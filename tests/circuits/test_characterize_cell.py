"""A tiny real cell for orchestration tests (not a p-bit): a nonlinear node that ngspice solves for
|bias_V| <= 0.5 V and provably cannot solve beyond (no real operating point), so a chosen bias point
fails inside an otherwise good sweep.

Circuit: ``R1 out 0 1`` and ``B1 0 out I = v(bias) * (1 + v(out)^2)``: KCL gives ``v = b (1 + v^2)``,
real solutions iff ``1 - 4 b^2 >= 0``. Rows report ``p1 = v(out)`` (a stand-in number) so the table
pipeline can be checked against the closed form ``v = (1 - sqrt(1 - 4 b^2)) / (2 b)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pbitkit.circuits import registry
from pbitkit.circuits.cell_base import Cell, JobMeta, SweepPoint, base_row
from pbitkit.circuits.ngspice import SimJob, SimResult, write_command


class NonlinearNodeCell(Cell):
    name = "test_nonlinear_node"
    description = "orchestration test cell (not a p-bit)"
    default_vdd_V = 1.0
    defaults = {"r_Ohm": 1.0}

    def default_bias_range(self, params=None) -> tuple[float, float]:
        return (-0.4, 0.4)

    def _job(self, pts: list[SweepPoint], lib, timeout_s: float) -> SimJob:
        p = self.params(pts[0].params)
        lines = ["* orchestration test cell", f".temp {pts[0].temp_C}", "Vb bias 0 0",
                 f"R1 out 0 {p['r_Ohm']}", "B1 0 out I=v(bias)*(1+v(out)*v(out))", ".control"]
        for pt in pts:
            lines += [f"alter vb dc={pt.bias_V!r}", "op", write_command(["v(out)"])]
        lines += [".endc", ".end"]
        meta = JobMeta.from_points(pts, self.supply(pts), p)
        return SimJob("\n".join(lines) + "\n", timeout_s=timeout_s, label=meta.label, meta=meta)

    def rows(self, job: SimJob, result: SimResult) -> list[dict[str, Any]]:
        meta = self.job_meta(job)
        out = []
        for k, b in enumerate(meta.bias_V):
            row = base_row(meta, b)
            row.update(p1=float(result.plots[k]["v(out)"][0].real), cpu_time_s=result.cpu_time_s)
            out.append(row)
        return out


def exact_v(b: float) -> float:
    return 0.0 if b == 0 else (1 - math.sqrt(1 - 4 * b * b)) / (2 * b)


def register(monkeypatch) -> NonlinearNodeCell:
    """Register the test cell in this process (its name cannot clash; tests run it with workers=1)."""
    cell = NonlinearNodeCell()
    registry.register_cell(cell)
    return cell


def points(biases: Sequence[float]) -> list[SweepPoint]:
    return [SweepPoint(cell=NonlinearNodeCell.name, bias_V=b) for b in biases]
