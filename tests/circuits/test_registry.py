"""The registry finds cells of every family; JobMeta travels with the job and keys its cache entry."""

from __future__ import annotations

import pickle
import sys

import pytest

from pbitkit.circuits import registry
from pbitkit.circuits.builtin.strongarm import StrongArmCell
from pbitkit.circuits.cache import job_key
from pbitkit.circuits.cell_base import Cell, JobMeta, SweepPoint
from pbitkit.circuits.models import generic_library
from pbitkit.circuits.ngspice import SimJob
from pbitkit.circuits.netlist_cell import NetlistCell
from pbitkit.errors import ConfigError


def _lib(corner: str, mismatch: bool):
    return generic_library()


def test_builtin_and_netlist_families() -> None:
    names = registry.list_cells()
    assert {"latch", "strongarm", "invchain"} <= set(names)
    origins = registry.cell_origins()
    assert origins["latch"].startswith("built-in (pbitkit.circuits.builtin.latch)")
    assert origins["invchain"].startswith("netlist: ") and origins["invchain"].endswith("invchain.cir")
    assert isinstance(registry.get_cell("invchain"), NetlistCell)
    with pytest.raises(ConfigError, match="unknown cell 'nope'.*known cells"):
        registry.get_cell("nope")


def test_job_meta_is_typed_hashed_and_picklable() -> None:
    cell = registry.get_cell("strongarm")
    pts = [SweepPoint("strongarm", b, params={"n_samples": 20}) for b in (-0.01, 0.01)]
    (job,) = cell.jobs(pts, library=_lib)
    meta = cell.job_meta(job)
    assert isinstance(meta, JobMeta) and meta.bias_V == (-0.01, 0.01) and meta.replica == (0, 0)
    assert meta.params["n_samples"] == 20 and meta.vdd_V == 1.8
    assert "|" not in job.label and "{" not in job.label and len(job.label) < 60
    with pytest.raises(TypeError):
        meta.params["n_samples"] = 3  # read-only
    back = pickle.loads(pickle.dumps(job))  # jobs travel to worker processes
    assert back.meta == meta and back.content_hash() == job.content_hash()
    # the cache key covers the metadata: same netlist and files, other metadata -> other key
    other = SimJob(netlist=job.netlist, files=job.files, timeout_s=job.timeout_s, label=job.label,
                   meta=JobMeta.from_points(pts[::-1], 1.8, meta.params))
    assert other.content_hash() != job.content_hash()
    assert job_key(other, ngspice_version="39") != job_key(job, ngspice_version="39")
    bare = SimJob(netlist=job.netlist, files=job.files)
    assert bare.content_hash() != job.content_hash()
    # a job without JobMeta cannot be measured by a cell
    with pytest.raises(ConfigError, match="carries no JobMeta"):
        cell.failed_rows(bare, "failed", "x")
    with pytest.raises(ConfigError, match="JSON data"):
        JobMeta.from_points(pts, 1.8, {}, bad=object())


class PlugStrongArm(StrongArmCell):
    """A plug-in cell (a renamed StrongARM) provided through an entry point."""

    name = "plugstrong"


class PlugFamily:
    name = "plug family"

    def discover(self) -> dict[str, str]:
        return {"plugfam": "test_registry.PlugFamily"}

    def load(self, name: str) -> Cell:
        cell = PlugStrongArm()
        cell.name = name
        return cell


def _install_entry_points(tmp_path, monkeypatch, lines: str) -> None:
    """A fake installed distribution declaring ``pbitkit.cells`` entry points (found by importlib.metadata)."""
    dist = tmp_path / "pbitkit_plug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pbitkit-plug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "plugmod", sys.modules[__name__])
    registry.refresh()


def test_entry_point_cells_and_families(tmp_path, monkeypatch, caplog) -> None:
    assert "plugstrong" not in registry.list_cells()
    _install_entry_points(tmp_path, monkeypatch,
                          "one = plugmod:PlugStrongArm\nfam = plugmod:PlugFamily\nbroken = plugmod:nothing_here\n")
    try:
        names = registry.list_cells()
        assert {"plugstrong", "plugfam"} <= set(names)
        assert "failed to load" in caplog.text and "broken" in caplog.text  # a broken plug-in is skipped
        cell = registry.get_cell("plugstrong")
        assert isinstance(cell, PlugStrongArm)
        (job,) = cell.jobs([SweepPoint("plugstrong", 0.0, params={"n_samples": 20})], library=_lib)
        assert cell.job_meta(job).cell == "plugstrong"
        assert registry.get_cell("plugfam").name == "plugfam"
        # a built-in name cannot be taken over
        with pytest.raises(ConfigError, match="built-in"):
            registry.register_cell(StrongArmCell())
    finally:
        monkeypatch.undo()
        registry.refresh()
    assert "plugstrong" not in registry.list_cells()


def test_register_family_in_process() -> None:
    fam = PlugFamily()
    registry.register_family(fam)
    try:
        assert registry.get_cell("plugfam").name == "plugfam"
    finally:
        registry.unregister_family(fam)
    assert "plugfam" not in registry.list_cells()
    with pytest.raises(ConfigError, match="discover"):
        registry.register_family(object())  # type: ignore[arg-type]


def test_netlist_cell_job_key_depends_on_content_not_location(tmp_path, monkeypatch) -> None:
    from pbitkit.circuits import netlist_cell as nc
    from pbitkit.paths import netlists_dir

    keys = []
    for where in ("a", "b"):
        d = tmp_path / where
        d.mkdir()
        for ext in ("cir", "toml"):
            (d / f"copied.{ext}").write_text((netlists_dir() / "cells" / f"invchain.{ext}").read_text())
        monkeypatch.setenv(nc.CELLS_ENV, str(d))
        (job,) = registry.get_cell("copied").jobs([SweepPoint("copied", 0.74)], library=_lib)
        keys.append(job_key(job, ngspice_version="39"))
    assert keys[0] == keys[1]  # a copied cell directory reuses the cached rows
