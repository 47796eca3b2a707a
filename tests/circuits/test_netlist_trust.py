"""Netlist cells are data unless they opt in: no ngspice commands in a template or the files it includes.

A hostile include (``.control`` / ``shell touch PWNED`` / ``.endc``) in an ordinary-looking cell used to run
when the cell was characterized. Now the cell is refused, naming the file and line, unless its TOML says
``trusted_control = true`` (the positive control below shows that the check is what stops it).
"""

from __future__ import annotations

import pytest

from pbitkit.circuits import netlist_cell as nc
from pbitkit.circuits.cell_base import SweepPoint
from pbitkit.circuits.characterize import characterize
from pbitkit.circuits.cache import RowCache
from pbitkit.circuits.registry import get_cell
from pbitkit.circuits.sweep import load_spec
from pbitkit.errors import ConfigError
from pbitkit.paths import netlists_dir

SHIPPED = netlists_dir() / "cells"


def make_cell(tmp_path, monkeypatch, include_text: str | None, *, trusted: bool = False, extra: str = "",
              name: str = "evilcell"):
    """A copy of the shipped ``invchain`` cell named ``name`` in a ``$PBITKIT_CELLS`` directory, whose template
    includes ``evil.inc`` (holding ``include_text``) and ends with ``extra`` lines."""
    d = tmp_path / "cells"
    d.mkdir(exist_ok=True)
    inc = tmp_path / "evil.inc"
    template = (SHIPPED / "invchain.cir").read_text()
    if include_text is not None:
        inc.write_text(include_text)
        template += f'.include "{inc}"\n'
    (d / f"{name}.cir").write_text(template + extra)
    toml = (SHIPPED / "invchain.toml").read_text()
    (d / f"{name}.toml").write_text(("trusted_control = true\n" if trusted else "") + toml)
    monkeypatch.setenv(nc.CELLS_ENV, str(d))
    return inc


def hostile(tmp_path) -> str:
    return f".control\nshell touch {tmp_path / 'PWNED'}\n.endc\n"


def test_hostile_include_is_refused_naming_file_and_line(tmp_path, monkeypatch) -> None:
    inc = make_cell(tmp_path, monkeypatch, "* harmless comment\n" + hostile(tmp_path))
    with pytest.raises(ConfigError, match=rf"{inc}: line 2: '.control'.*trusted_control = true"):
        get_cell("evilcell")
    # a sweep spec of it is refused before anything runs
    with pytest.raises(ConfigError, match="evil.inc"):
        load_spec({"cell": "evilcell"})
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text", [
    "shell touch x\n",                       # a bare shell line
    "*ng_script\nshell touch x\n",           # a control script
    ".exec\nshell touch x\n.endc\n",         # an .exec block
    "  .CONTROL\n  echo hi\n  .ENDC\n",      # indented, upper case
])
def test_every_executing_construct_is_refused(tmp_path, monkeypatch, text) -> None:
    make_cell(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match="may not run ngspice commands"):
        get_cell("evilcell")


def test_nested_and_lib_includes_are_followed(tmp_path, monkeypatch) -> None:
    deeper = tmp_path / "deeper.lib"
    deeper.write_text(".lib tt\n* a section\n.endl\n.lib ff\n.control\nshell touch x\n.endc\n.endl\n")
    make_cell(tmp_path, monkeypatch, f".include 'inner.inc'\n")
    (tmp_path / "inner.inc").write_text(f'* relative include, then a .lib file section\n.lib "{deeper}" tt\n')
    with pytest.raises(ConfigError, match=rf"{deeper}: line 5"):
        get_cell("evilcell")
    # an include that cannot be read cannot be checked: refused
    make_cell(tmp_path, monkeypatch, f'.inc "{tmp_path / "missing.inc"}"\n')
    with pytest.raises(ConfigError, match="cannot read included file .*missing.inc"):
        get_cell("evilcell")
    # a shell line in the template itself
    make_cell(tmp_path, monkeypatch, None, extra="shell rm -rf x\n")
    with pytest.raises(ConfigError, match="evilcell.cir: line .*shell rm"):
        get_cell("evilcell")


def test_include_changed_after_loading_is_checked_again(tmp_path, monkeypatch) -> None:
    inc = make_cell(tmp_path, monkeypatch, "* benign for now\nRx nin 0 1G\n")
    cell = get_cell("evilcell")  # accepted: the include holds only a resistor
    assert cell.jobs([SweepPoint("evilcell", 0.74)])
    inc.write_text(hostile(tmp_path))
    with pytest.raises(ConfigError, match="may not run ngspice commands"):
        cell.jobs([SweepPoint("evilcell", 0.74)])


def test_trusted_control_must_be_a_boolean(tmp_path, monkeypatch) -> None:
    make_cell(tmp_path, monkeypatch, None)
    toml = tmp_path / "cells" / "evilcell.toml"
    toml.write_text('trusted_control = "yes"\n' + toml.read_text())
    with pytest.raises(ConfigError, match="trusted_control.*true or false"):
        get_cell("evilcell")


@pytest.mark.ngspice
def test_refused_unless_trusted_then_it_runs(tmp_path, monkeypatch) -> None:
    spec = {"cell": "evilcell", "bias": {"values_V": [0.74]}, "params": {"n_samples": 20}}
    make_cell(tmp_path, monkeypatch, hostile(tmp_path))
    with pytest.raises(ConfigError, match="trusted_control"):
        characterize(load_spec(spec), tmp_path / "run", workers=1, cache=RowCache(tmp_path / "c"), plot=False)
    assert not (tmp_path / "PWNED").exists()
    # positive control: the same cell, explicitly trusted (it is code), runs its control block
    make_cell(tmp_path, monkeypatch, hostile(tmp_path), trusted=True, name="trustedcell")
    res = characterize(load_spec({**spec, "cell": "trustedcell"}), tmp_path / "run2", workers=1,
                       cache=RowCache(tmp_path / "c"), plot=False)
    assert res.n_failed == 0 and (tmp_path / "PWNED").exists()
